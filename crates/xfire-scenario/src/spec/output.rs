//! `[output]`: report times, maps and figures.

use super::{get_array, get_bool, get_time_list, sub, Ctx, Tab};

/// What to write.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSpec {
    /// Times after the first administration at which to report cumulative doses \[s\].
    pub times_s: Vec<f64>,
    /// Maps to write in results.h5: "dose" (cumulative dose at each time), "dose_per_decay".
    pub maps: Vec<String>,
    /// Write figures and report.md/html.
    pub figures: bool,
}

impl OutputSpec {
    /// `[output]` of the root table (the defaults when it is absent).
    pub(super) fn from_root(cx: &mut Ctx, root: &mut Tab) -> Self {
        let mut out = OutputSpec {
            times_s: vec![86400.0, 7.0 * 86400.0, 14.0 * 86400.0, 28.0 * 86400.0],
            maps: vec!["dose".into()],
            figures: true,
        };
        if let Some(mut ot) = sub(cx, root, "output") {
            if let Some(t) = get_time_list(cx, &mut ot, "times", false) {
                out.times_s = t;
                out.times_s.sort_by(f64::total_cmp);
                out.times_s.dedup();
            }
            if let Some((a, line)) = get_array(cx, &mut ot, "maps") {
                out.maps.clear();
                for v in a {
                    match v.as_str() {
                        Some(s @ ("dose" | "dose_per_decay")) => out.maps.push(s.to_string()),
                        _ => cx.problem(
                            line,
                            format!(
                                "output.maps: unknown map {v} (known: \"dose\", \"dose_per_decay\")"
                            ),
                        ),
                    }
                }
            }
            if let Some(f) = get_bool(cx, &mut ot, "figures") {
                out.figures = f;
            }
            ot.finish(cx, &[]);
        }
        out
    }
}
