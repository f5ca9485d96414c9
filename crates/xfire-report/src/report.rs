//! `report.md` and `report.html` built from one structured description.
//!
//! The HTML is generated from the same [`Report`] value as the Markdown (nothing parses
//! Markdown); figures are embedded in the HTML as base64 PNG data URIs, so the HTML file
//! stands alone, while the Markdown links the PNG files beside it.

use crate::error::{ReportError, Result};
use crate::fsutil;
use base64::Engine as _;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The whole report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// Title (first heading).
    pub title: String,
    /// The run block: versions, seed, decays, wall time, command line.
    pub run: RunInfo,
    /// Sections in order.
    pub sections: Vec<Section>,
}

/// Facts about the run, shown first as a key–value table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunInfo {
    /// xfire version, e.g. "0.1.0".
    pub xfire_version: String,
    /// Master random seed.
    pub seed: Option<u64>,
    /// Number of simulated decays (histories).
    pub decays: Option<u64>,
    /// Wall-clock time of the run \[s\].
    pub wall_time_s: Option<f64>,
    /// The command line that produced the run.
    pub command_line: Option<String>,
    /// Further entries (key, value), shown after the ones above, e.g. ("threads", "16").
    pub extra: Vec<(String, String)>,
}

/// A titled section.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Section heading.
    pub heading: String,
    /// Content in order.
    pub blocks: Vec<Block>,
}

/// One piece of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A paragraph of plain text: written verbatim to Markdown, HTML-escaped into `<p>`.
    Text(String),
    /// A bulleted list of plain-text items.
    List(Vec<String>),
    /// Preformatted text (a scenario file, a command).
    Code(String),
    /// A table.
    Table(Table),
    /// A figure written beside the report.
    Figure(FigureRef),
}

/// A table with a header row.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Optional caption shown above the table.
    pub caption: Option<String>,
    /// Column headings, with units, e.g. "mean dose (Gy)".
    pub header: Vec<String>,
    /// Rows, each with as many cells as the header.
    pub rows: Vec<Vec<Cell>>,
}

/// One table cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text as given.
    Text(String),
    /// An integer (counts, seeds).
    Int(i64),
    /// A number shown with 4 significant digits (scientific notation outside 10⁻³–10⁶).
    Num(f64),
    /// A value with its one-σ uncertainty, shown as `value ± σ`.
    NumSigma(f64, f64),
    /// A value already formatted by the caller (e.g. "83.4", "<1e-6"), right-aligned.
    Value(String),
    /// A section heading inside a table: as the first cell of a row, the row is drawn as
    /// one heading spanning the table (its other cells are ignored).
    Section(String),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.into())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}
impl From<f64> for Cell {
    fn from(v: f64) -> Self {
        Cell::Num(v)
    }
}
impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}

/// A figure drawn by this crate: `DIR/STEM.png` (and `STEM.svg`) beside the report.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureRef {
    /// File stem relative to the report directory, e.g. "dose_rate" or "figures/dose_rate".
    pub stem: String,
    /// Caption.
    pub caption: String,
}

/// The two files [`write_report`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiles {
    /// `DIR/report.md`.
    pub markdown: PathBuf,
    /// `DIR/report.html`.
    pub html: PathBuf,
}

/// A number with 4 significant digits; scientific (`1.235e-5`) outside [10⁻³, 10⁶).
pub fn format_sig(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "∞".into()
        } else {
            "−∞".into()
        };
    }
    let a = v.abs();
    if (1e-3..1e6).contains(&a) {
        let digits = (3 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.digits$}")
    } else {
        let s = format!("{v:.3e}");
        // Rust writes 1.235e-5; keep it (machine readable and unambiguous).
        s
    }
}

/// A value with its uncertainty: σ to 2 significant digits and the value to the same decimal
/// place (`10.412 ± 0.052`); scientific with a shared exponent outside [10⁻³, 10⁶)
/// (`(1.234 ± 0.052)e-12`). A σ that is zero, negative or not finite is shown as it is.
pub fn format_with_sigma(v: f64, s: f64) -> String {
    if !(v.is_finite() && s.is_finite() && s > 0.0) {
        return format!("{} ± {}", format_sig(v), format_sig(s));
    }
    let a = v.abs().max(s);
    let e_s = s.log10().floor() as i32;
    if (1e-3..1e6).contains(&a) {
        let d = (1 - e_s).max(0) as usize;
        format!("{v:.d$} ± {s:.d$}")
    } else {
        let e = a.log10().floor() as i32;
        let scale = 10f64.powi(e);
        let d = (1 - (e_s - e)).max(0) as usize;
        format!("({:.d$} ± {:.d$})e{e}", v / scale, s / scale)
    }
}

impl Cell {
    fn render(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Num(v) => format_sig(*v),
            Cell::NumSigma(v, s) => format_with_sigma(*v, *s),
            Cell::Value(s) | Cell::Section(s) => s.clone(),
        }
    }
}

/// Wall time as "12.3 s", "4 min 05 s" or "2 h 03 min".
pub fn format_duration(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return format!("{s} s");
    }
    if s < 60.0 {
        format!("{} s", format_sig(s))
    } else if s < 3600.0 {
        let t = s.round() as u64;
        format!("{} min {:02} s", t / 60, t % 60)
    } else {
        let t = (s / 60.0).round() as u64;
        format!("{} h {:02} min", t / 60, t % 60)
    }
}

impl RunInfo {
    /// The run block as (key, value) rows, in display order.
    pub fn rows(&self) -> Vec<(String, String)> {
        let mut rows = vec![("xfire version".to_string(), self.xfire_version.clone())];
        if let Some(s) = self.seed {
            rows.push(("seed".into(), s.to_string()));
        }
        if let Some(d) = self.decays {
            rows.push(("decays simulated".into(), d.to_string()));
        }
        if let Some(w) = self.wall_time_s {
            rows.push(("wall time".into(), format_duration(w)));
        }
        if let Some(c) = &self.command_line {
            rows.push(("command line".into(), c.clone()));
        }
        rows.extend(self.extra.iter().cloned());
        rows
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn validate(report: &Report) -> Result<()> {
    if report.title.trim().is_empty() {
        return Err(ReportError::Invalid {
            what: "report title".into(),
            reason: "it is empty".into(),
        });
    }
    for sec in &report.sections {
        for b in &sec.blocks {
            match b {
                Block::Table(t) => {
                    if t.header.is_empty() {
                        return Err(ReportError::Empty {
                            what: format!("table header in section '{}'", sec.heading),
                        });
                    }
                    for (k, row) in t.rows.iter().enumerate() {
                        if row.len() != t.header.len() {
                            return Err(ReportError::Invalid {
                                what: format!("table row {} in section '{}'", k + 1, sec.heading),
                                reason: format!(
                                    "it has {} cells but the header has {} columns",
                                    row.len(),
                                    t.header.len()
                                ),
                            });
                        }
                    }
                }
                Block::Figure(f) => {
                    let bad = f.stem.is_empty()
                        || f.stem.split(['/', '\\']).any(|p| p == ".." || p.is_empty());
                    if bad {
                        return Err(ReportError::Invalid {
                            what: "figure stem".into(),
                            reason: format!(
                                "'{}' must be a relative path inside the report directory",
                                f.stem
                            ),
                        });
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The Markdown text of a report (figures linked as `STEM.png`, with the SVG beside).
pub fn to_markdown(report: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", report.title);
    md.push_str("| run | |\n|---|---|\n");
    for (k, v) in report.run.rows() {
        let _ = writeln!(md, "| {} | {} |", md_cell(&k), md_cell(&v));
    }
    md.push('\n');
    let mut fig_no = 0;
    for sec in &report.sections {
        let _ = writeln!(md, "## {}\n", sec.heading);
        for b in &sec.blocks {
            match b {
                Block::Text(t) => {
                    let _ = writeln!(md, "{}\n", t.trim_end());
                }
                Block::List(items) => {
                    for it in items {
                        let _ = writeln!(md, "- {}", it.replace('\n', " "));
                    }
                    md.push('\n');
                }
                Block::Code(c) => {
                    let fence = if c.contains("```") { "~~~~" } else { "```" };
                    let _ = writeln!(md, "{fence}\n{}\n{fence}\n", c.trim_end());
                }
                Block::Table(t) => {
                    if let Some(c) = &t.caption {
                        let _ = writeln!(md, "*{}*\n", c.trim());
                    }
                    let head: Vec<String> = t.header.iter().map(|h| md_cell(h)).collect();
                    let _ = writeln!(md, "| {} |", head.join(" | "));
                    let _ = writeln!(md, "|{}", "---|".repeat(t.header.len()));
                    for row in &t.rows {
                        if let Some(Cell::Section(s)) = row.first() {
                            let rest = "  |".repeat(t.header.len() - 1);
                            let _ = writeln!(md, "| **{}** |{rest}", md_cell(s));
                            continue;
                        }
                        let cells: Vec<String> = row.iter().map(|c| md_cell(&c.render())).collect();
                        let _ = writeln!(md, "| {} |", cells.join(" | "));
                    }
                    md.push('\n');
                }
                Block::Figure(f) => {
                    fig_no += 1;
                    let _ = writeln!(
                        md,
                        "![Figure {fig_no}. {cap}]({stem}.png)\n\n*Figure {fig_no}.* {cap} ([SVG]({stem}.svg))\n",
                        cap = f.caption.replace('\n', " "),
                        stem = f.stem
                    );
                }
            }
        }
    }
    md
}

const CSS: &str = "body{font-family:system-ui,-apple-system,'DejaVu Sans',sans-serif;max-width:1100px;\
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
table{border-collapse:collapse;margin:0.6em 0 1.2em}th,td{border:1px solid #bbb;padding:0.3em 0.7em;\
text-align:left}th{background:#f0f0f0}tr.section th{background:#e4ecf4;padding-top:0.5em}td.n{text-align:right;font-variant-numeric:tabular-nums}\
table.run th{width:12em}figure{margin:1.2em 0}figure img{max-width:100%;border:1px solid #ddd}\
figcaption{font-size:0.95em;color:#444}pre{background:#f6f6f6;padding:0.6em;overflow-x:auto}\
.caption{font-style:italic;margin-bottom:0.2em}";

/// The HTML text of a report; every figure's PNG is read from `dir` and embedded.
pub fn to_html(report: &Report, dir: &Path) -> Result<String> {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{t}</h1>\n",
        t = html_escape(&report.title)
    );
    h.push_str("<table class=\"run\">\n");
    for (k, v) in report.run.rows() {
        let _ = writeln!(
            h,
            "<tr><th>{}</th><td>{}</td></tr>",
            html_escape(&k),
            html_escape(&v)
        );
    }
    h.push_str("</table>\n");
    let mut fig_no = 0;
    for sec in &report.sections {
        let _ = writeln!(h, "<h2>{}</h2>", html_escape(&sec.heading));
        for b in &sec.blocks {
            match b {
                Block::Text(t) => {
                    for para in t.split("\n\n").filter(|p| !p.trim().is_empty()) {
                        let _ = writeln!(h, "<p>{}</p>", html_escape(para.trim()));
                    }
                }
                Block::List(items) => {
                    h.push_str("<ul>\n");
                    for it in items {
                        let _ = writeln!(h, "<li>{}</li>", html_escape(it));
                    }
                    h.push_str("</ul>\n");
                }
                Block::Code(c) => {
                    let _ = writeln!(h, "<pre><code>{}</code></pre>", html_escape(c.trim_end()));
                }
                Block::Table(t) => {
                    if let Some(c) = &t.caption {
                        let _ = writeln!(h, "<div class=\"caption\">{}</div>", html_escape(c));
                    }
                    h.push_str("<table>\n<tr>");
                    for c in &t.header {
                        let _ = write!(h, "<th>{}</th>", html_escape(c));
                    }
                    h.push_str("</tr>\n");
                    for row in &t.rows {
                        if let Some(Cell::Section(s)) = row.first() {
                            let _ = writeln!(
                                h,
                                "<tr class=\"section\"><th colspan=\"{}\">{}</th></tr>",
                                t.header.len(),
                                html_escape(s)
                            );
                            continue;
                        }
                        h.push_str("<tr>");
                        for c in row {
                            let class = if matches!(c, Cell::Text(_)) {
                                ""
                            } else {
                                " class=\"n\""
                            };
                            let _ = write!(h, "<td{class}>{}</td>", html_escape(&c.render()));
                        }
                        h.push_str("</tr>\n");
                    }
                    h.push_str("</table>\n");
                }
                Block::Figure(f) => {
                    fig_no += 1;
                    let path = dir.join(format!("{}.png", f.stem));
                    let bytes = std::fs::read(&path).map_err(|source| ReportError::Io {
                        path: path.clone(),
                        source,
                    })?;
                    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
                    let _ = writeln!(
                        h,
                        "<figure>\n<img src=\"data:image/png;base64,{b64}\" alt=\"Figure {fig_no}. {cap}\">\n<figcaption><b>Figure {fig_no}.</b> {cap}</figcaption>\n</figure>",
                        cap = html_escape(&f.caption)
                    );
                }
            }
        }
    }
    h.push_str("</body>\n</html>\n");
    Ok(h)
}

/// Writes `DIR/report.md` and `DIR/report.html` (each atomically). Figures must already be
/// in `DIR` as `STEM.png`.
///
/// Errors: empty title, a table row whose length differs from its header, a figure stem
/// outside `DIR`, a missing figure PNG, or a write failure.
pub fn write_report(dir: &Path, report: &Report) -> Result<ReportFiles> {
    validate(report)?;
    fsutil::ensure_dir(dir)?;
    let html = to_html(report, dir)?;
    let md = to_markdown(report);
    let files = ReportFiles {
        markdown: dir.join("report.md"),
        html: dir.join("report.html"),
    };
    fsutil::write_atomic(&files.markdown, md.as_bytes())?;
    fsutil::write_atomic(&files.html, html.as_bytes())?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_four_significant_digits() {
        assert_eq!(format_sig(7.65432), "7.654");
        assert_eq!(format_sig(12345.6), "12346");
        assert_eq!(format_sig(0.0123456), "0.01235");
        assert_eq!(format_sig(1.23456e-5), "1.235e-5");
        assert_eq!(format_sig(0.0), "0");
        assert_eq!(format_sig(f64::NAN), "NaN");
    }

    #[test]
    fn values_with_sigma() {
        assert_eq!(format_with_sigma(10.41234, 0.0523), "10.412 ± 0.052");
        assert_eq!(format_with_sigma(1234.5, 56.0), "1234 ± 56");
        assert_eq!(
            format_with_sigma(1.2341e-12, 5.2e-14),
            "(1.234 ± 0.052)e-12"
        );
        assert_eq!(format_with_sigma(2.0, 0.0), "2.000 ± 0");
        assert_eq!(format_with_sigma(0.0, 0.5), "0.00 ± 0.50");
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(12.34), "12.34 s");
        assert_eq!(format_duration(245.0), "4 min 05 s");
        assert_eq!(format_duration(7380.0), "2 h 03 min");
    }

    #[test]
    fn escaping() {
        assert_eq!(html_escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(md_cell("a|b"), "a\\|b");
    }
}
