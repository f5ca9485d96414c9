//! Small multiples: several line charts in a grid under one title, with one legend strip for
//! all panels (the panels share their axis ranges where the caller pins them).

use super::xy::{draw_legend, LegendEntry, ResolvedXy};
use super::{DrawCtx, Figure, Style};
use plotters::coord::Shift;
use plotters::prelude::*;

pub(crate) struct Panels {
    title: String,
    panels: Vec<ResolvedXy>,
    columns: usize,
    legend: Vec<LegendEntry>,
}

impl Panels {
    pub fn new(
        title: impl Into<String>,
        panels: Vec<ResolvedXy>,
        columns: usize,
        legend: Vec<LegendEntry>,
    ) -> Self {
        Self {
            title: title.into(),
            panels,
            columns: columns.max(1),
            legend,
        }
    }
}

impl Figure for Panels {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        st: &Style,
    ) -> std::result::Result<(), String> {
        // the title and legend strip at least at the reference size
        let st = &Style {
            scale: st.scale.max(1.0),
        };
        let area = root
            .margin(st.px(12.0), 0, 0, 0)
            .titled(&self.title, st.title())
            .ctx("title")?;
        let (w, h) = area.dim_in_pixel();
        let per_row = self.legend.len().clamp(1, 4);
        let legend_rows = self.legend.len().div_ceil(per_row) as u32;
        let strip = if self.legend.is_empty() {
            0
        } else {
            legend_rows * st.px(30.0) + st.px(14.0)
        };
        let (top, grid) = area.split_vertically(strip.min(h / 3));
        if !self.legend.is_empty() {
            draw_legend(&top, &self.legend, st, st.pxi(4.0), per_row)?;
        }
        let cols = self.columns.min(self.panels.len().max(1));
        let rows = self.panels.len().div_ceil(cols).max(1);
        let cells = grid.split_evenly((rows, cols));
        let (cw, ch) = (w / cols as u32, (h - strip.min(h / 3)) / rows as u32);
        // Panels are drawn at a reading size: fonts never below 0.8 of the 1000 × 700 px
        // reference, however small the panel.
        let pst = Style {
            scale: (f64::from(cw) / 1000.0).min(f64::from(ch) / 700.0).max(0.8),
        };
        for (cell, panel) in cells.iter().zip(&self.panels) {
            panel.draw(cell, &pst)?;
        }
        Ok(())
    }
}
