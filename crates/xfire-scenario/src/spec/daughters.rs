//! `[daughters]`: release rules of the daughters, one table per daughter (or `default`),
//! and their check against the agent's decay chain.

use toml_edit::Item;

use super::{get_num, get_qty, get_str, nuclide, sub, time_or_inf, Agent, Ctx, Tab};

/// Release rule of a daughter.
#[derive(Debug, Clone, PartialEq)]
pub struct DaughterSpec {
    /// Daughter nuclide (canonical), None for the `default` rule.
    pub daughter: Option<String>,
    /// Fraction released from the bound site \[1\].
    pub release: f64,
    /// Destination distribution (`uniform`, `vessels`, `label:<name>`, a map name).
    pub to: String,
    /// Clearance half-time from the destination \[s\] (∞: stays).
    pub clearance_half_time_s: f64,
    /// Line of the rule.
    pub line: Option<usize>,
}

impl DaughterSpec {
    /// The rules of `[daughters]` in the root table (none when it is absent); a `default`
    /// rule that releases nothing is dropped.
    pub(super) fn all_from_root(cx: &mut Ctx, root: &mut Tab) -> Vec<DaughterSpec> {
        let mut daughters = Vec::new();
        if let Some(dt) = sub(cx, root, "daughters") {
            // every key is a daughter name: nothing unknown, no `finish`
            let keys: Vec<String> = dt.t.iter().map(|(k, _)| k.to_string()).collect();
            for k in keys {
                let it = dt.t.get(&k).expect("key listed");
                daughters.extend(Self::from_entry(cx, &k, it));
            }
        }
        daughters
    }

    /// The rule `daughters.<k>` (None when it is wrong, or a `default` releasing nothing).
    fn from_entry(cx: &mut Ctx, k: &str, it: &Item) -> Option<DaughterSpec> {
        let line = cx.item_line(it);
        let Some(t) = it.as_table_like() else {
            cx.problem(line, format!("daughters.{k} must be a table {{ release = 0.3, to = \"uniform\", clearance_half_time = \"1 h\" }}"));
            return None;
        };
        let daughter = if k == "default" {
            None
        } else {
            Some(nuclide(cx, k, line, "daughters")?)
        };
        let mut tt = Tab {
            path: format!("daughters.{k}"),
            t,
            line,
            used: vec![],
        };
        let rel = get_num(cx, &mut tt, "release", 0.0, false, 1.0);
        let to = get_str(cx, &mut tt, "to").map(|x| x.0);
        let ch = get_qty(
            cx,
            &mut tt,
            "clearance_half_time",
            "half-time",
            false,
            &time_or_inf,
        );
        if tt.t.get("release").is_none() {
            cx.problem(
                line,
                format!("daughters.{k}.release is required (fraction released, 0..1)"),
            );
        }
        tt.finish(cx, &[]);
        let rel = rel?;
        let to = to.unwrap_or_else(|| "uniform".into());
        (rel > 0.0 || k != "default").then(|| DaughterSpec {
            daughter,
            release: rel,
            to,
            clearance_half_time_s: ch.unwrap_or(f64::INFINITY),
            line,
        })
    }
}

/// Every named daughter is in the agent's decay chain and every rule sends its atoms away
/// from the binding site; the agent's nuclide has a chain.
pub(super) fn check_chain(cx: &mut Ctx, a: &Agent, daughters: &[DaughterSpec]) {
    let Ok(chain) = xfire_kinetics::Chain::from_library(&a.nuclide) else {
        cx.problem(
            a.binding_line,
            format!("agent.nuclide: {} has no decay chain (stable?)", a.nuclide),
        );
        return;
    };
    for d in daughters {
        if let Some(n) = &d.daughter {
            if chain.index_of(n).unwrap_or(0) == 0 {
                let members: Vec<&str> = chain.members()[1..]
                    .iter()
                    .map(|m| m.nuclide.as_str())
                    .collect();
                cx.problem(
                    d.line,
                    format!(
                        "daughters: {n} is not a daughter of {} (chain: {})",
                        a.nuclide,
                        members.join(", ")
                    ),
                );
            }
        }
        if d.to == a.binding {
            cx.problem(
                d.line,
                format!(
                    "daughters: released atoms must go to a site other than the binding site {:?}",
                    a.binding
                ),
            );
        }
    }
}
