//! `[agent]`: the nuclide and its binding.

use super::{get_num, get_str, nuclide, sub, Ctx, Tab};

/// The radioligand: nuclide and binding.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    /// Canonical nuclide name of the parent ("Lu-177").
    pub nuclide: String,
    /// Source distribution of the bound agent: `tumour_membrane`, `tumour_cytoplasm`,
    /// `tumour_nucleus`, `tumour_uniform`, `vessels`, `label:<name>` or a phantom map name.
    pub binding: String,
    /// Line of `binding` (for problems found once the phantom exists).
    pub binding_line: Option<usize>,
    /// Fraction of tumour cells that carry the agent \[1\] (0, 1].
    pub labelled_fraction: f64,
    /// Log-standard deviation of the lognormal per-cell uptake \[1\] (0: equal).
    pub uptake_sigma: f64,
}

/// Accepted binding names besides `label:<name>` and phantom map names.
pub const BINDINGS: [&str; 6] = [
    "tumour_membrane",
    "tumour_cytoplasm",
    "tumour_nucleus",
    "tumour_uniform",
    "uniform",
    "vessels",
];

impl Agent {
    /// `[agent]` of the root table (None, with problems, when it or a required key is
    /// missing or wrong).
    pub(super) fn from_root(cx: &mut Ctx, root: &mut Tab) -> Option<Agent> {
        let Some(mut at) = sub(cx, root, "agent") else {
            cx.problem(None, "missing table [agent] (nuclide, binding)");
            return None;
        };
        let nuc = match get_str(cx, &mut at, "nuclide") {
            Some((s, l)) => nuclide(cx, &s, l, "agent.nuclide"),
            None => {
                cx.problem(at.line, "agent.nuclide is required (e.g. \"Lu-177\")");
                None
            }
        };
        let binding = binding(cx, &mut at);
        let lf = get_num(cx, &mut at, "labelled_fraction", 0.0, true, 1.0).unwrap_or(1.0);
        let sigma = get_num(cx, &mut at, "uptake_sigma", 0.0, false, 5.0).unwrap_or(0.0);
        at.finish(cx, &[]);
        let (n, (b, bl)) = (nuc?, binding?);
        Some(Agent {
            nuclide: n,
            binding: b,
            binding_line: bl,
            labelled_fraction: lf,
            uptake_sigma: sigma,
        })
    }
}

/// `agent.binding` with the short names spelled out, and its line.
fn binding(cx: &mut Ctx, at: &mut Tab) -> Option<(String, Option<usize>)> {
    match get_str(cx, at, "binding") {
        Some((s, l)) => {
            let s = s.trim().to_string();
            let s = match s.as_str() {
                "membrane" => "tumour_membrane".to_string(),
                "cytoplasm" => "tumour_cytoplasm".to_string(),
                "nucleus" => "tumour_nucleus".to_string(),
                "uniform_in_tumour" | "uniform in tumour" => "tumour_uniform".to_string(),
                _ => s,
            };
            if s.is_empty() {
                cx.problem(l, "agent.binding must not be empty");
            }
            Some((s, l))
        }
        None => {
            cx.problem(at.line, format!("agent.binding is required (one of {}, label:<name> or a source map of the phantom)", BINDINGS.join(", ")));
            None
        }
    }
}
