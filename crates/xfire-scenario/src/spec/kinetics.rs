//! `[kinetics]`: the time-activity curve of the parent (clearance exponentials or a table
//! of points) and the one key that sets its amount.

use toml_edit::{Item, Value};
use xfire_kinetics::{ExpTerm, Tac, Tail};

use super::{get_num, get_qty, get_str, parse_bq_per_g, parse_mass_g, qty_text, show, sub};
use super::{time, time_or_inf, Ctx, Tab};

/// What sets the amount of activity in the phantom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AmountSpec {
    /// Cumulated decays of the parent per labelled cell, for the first administration \[1\].
    DecaysPerLabelledCell(f64),
    /// Activity concentration in the tumour at t = 0 of the first administration \[Bq/g\].
    BqPerGram(f64),
    /// Administered activity × tumour uptake fraction, spread over a tumour of this mass.
    UptakeFraction {
        /// Fraction of the administered activity in the whole tumour \[1\].
        fraction: f64,
        /// Mass of the whole tumour \[g\]; the phantom's tumour gets its share by mass.
        tumour_mass_g: f64,
    },
}

/// A `tail` key given with its line.
type TailKey = Option<(String, Option<usize>)>;

/// `[kinetics]` of the root table: the curve and the amount (each None, with problems,
/// when wrong; both None when the table is missing).
pub(super) fn from_root(cx: &mut Ctx, root: &mut Tab) -> (Option<Tac>, Option<AmountSpec>) {
    let Some(mut kt) = sub(cx, root, "kinetics") else {
        cx.problem(
            None,
            "missing table [kinetics] (clearance or table, and one amount)",
        );
        return (None, None);
    };
    let uptake = get_qty(cx, &mut kt, "uptake_half_time", "time", false, &time);
    let clear = kt.get("clearance");
    let table = kt.get("table");
    let tail = get_str(cx, &mut kt, "tail");
    let tac = match (clear, table) {
        (Some(_), Some(_)) => {
            cx.problem(
                kt.line,
                "kinetics: give either clearance (exponentials) or table (points), not both",
            );
            None
        }
        (Some(c), None) => clearance_tac(cx, c, uptake, &tail),
        (None, Some(tb)) => table_tac(cx, tb, uptake, tail),
        (None, None) => Some(Tac::Exponentials {
            terms: vec![ExpTerm {
                fraction: 1.0,
                half_time_s: f64::INFINITY,
            }],
            uptake_half_time_s: uptake,
        }),
    };
    let amount = AmountSpec::from_table(cx, &mut kt);
    kt.finish(cx, &[]);
    (tac, amount)
}

/// `clearance`: one half-time, a list of them, or a list of `{ fraction, half_time }`.
fn clearance_tac(cx: &mut Ctx, c: &Item, uptake: Option<f64>, tail: &TailKey) -> Option<Tac> {
    let line = cx.item_line(c);
    let mut terms = Vec::new();
    let mut ok = true;
    let entries: Vec<Item> = if let Some(s) = c.as_str() {
        vec![Item::Value(Value::from(s))]
    } else if let Some(a) = c.as_array() {
        a.iter().map(|v| Item::Value(v.clone())).collect()
    } else if let Some(a) = c.as_array_of_tables() {
        a.iter().map(|t| Item::Table(t.clone())).collect()
    } else {
        cx.problem(line, "kinetics.clearance must be a half-time (\"60 h\", \"inf\") or a list of { fraction, half_time }");
        vec![]
    };
    for e in &entries {
        match clearance_term(cx, e, line) {
            Some(t) => terms.push(t),
            None => ok = false,
        }
    }
    let mut tac = None;
    if ok && !terms.is_empty() {
        if terms.iter().map(|t| t.fraction).sum::<f64>() <= 0.0 {
            cx.problem(line, "kinetics.clearance: the fractions sum to 0");
        } else {
            tac = Some(Tac::Exponentials {
                terms,
                uptake_half_time_s: uptake,
            });
        }
    }
    if tail.is_some() {
        cx.problem(line, "kinetics.tail applies to a table only");
    }
    tac
}

/// One clearance term: a half-time string (fraction 1) or `{ fraction, half_time }`.
fn clearance_term(cx: &mut Ctx, e: &Item, line: Option<usize>) -> Option<ExpTerm> {
    if let Some(s) = e.as_str() {
        let h = qty_text(
            cx,
            "kinetics.clearance",
            s,
            line,
            "half-time",
            false,
            &time_or_inf,
        )?;
        return Some(ExpTerm {
            fraction: 1.0,
            half_time_s: h,
        });
    }
    let Some(t) = e.as_table_like() else {
        cx.problem(
            line,
            format!("kinetics.clearance: cannot read term {}", show(e)),
        );
        return None;
    };
    let mut tt = Tab {
        path: "kinetics.clearance[]".into(),
        t,
        line,
        used: vec![],
    };
    let f = get_num(cx, &mut tt, "fraction", 0.0, false, f64::INFINITY);
    let h = get_qty(cx, &mut tt, "half_time", "half-time", false, &time_or_inf);
    let mut ok = true;
    if tt.t.get("fraction").is_none() || tt.t.get("half_time").is_none() {
        cx.problem(
            line,
            "kinetics.clearance: each term needs fraction and half_time",
        );
        ok = false;
    }
    tt.finish(cx, &[]);
    match (f, h, ok) {
        (Some(f), Some(h), true) => Some(ExpTerm {
            fraction: f,
            half_time_s: h,
        }),
        _ => None,
    }
}

/// `table`: increasing `["time", relative activity]` points and the `tail` after them.
fn table_tac(cx: &mut Ctx, tb: &Item, uptake: Option<f64>, tail: TailKey) -> Option<Tac> {
    let line = cx.item_line(tb);
    let (pts, mut ok) = table_points(cx, tb, line);
    if ok && pts.windows(2).any(|w| w[1].0 <= w[0].0) {
        cx.problem(line, "kinetics.table: times must increase");
        ok = false;
    }
    if ok && pts.is_empty() {
        cx.problem(line, "kinetics.table has no points");
        ok = false;
    }
    let tail_v = match tail {
        None => Some(Tail::Physical),
        Some((s, l)) => match s.trim() {
            "physical" => Some(Tail::Physical),
            "fit" | "fit_last_two" => Some(Tail::FitLastTwo),
            x => qty_text(
                cx,
                "kinetics.tail",
                x,
                l,
                "effective half-time",
                false,
                &time,
            )
            .map(Tail::EffectiveHalfTime),
        },
    };
    if uptake.is_some() {
        cx.problem(
            line,
            "kinetics.uptake_half_time applies to clearance exponentials only",
        );
    }
    match (ok, tail_v) {
        (true, Some(tail)) => Some(Tac::Table { points: pts, tail }),
        _ => None,
    }
}

/// The points of `table` \[s, 1\] and whether every one was read.
fn table_points(cx: &mut Ctx, tb: &Item, line: Option<usize>) -> (Vec<(f64, f64)>, bool) {
    let mut pts = Vec::new();
    let mut ok = true;
    let Some(a) = tb.as_array() else {
        cx.problem(
            line,
            "kinetics.table must be a list of [\"time\", relative activity] points",
        );
        return (pts, false);
    };
    for p in a.iter() {
        let pair = p.as_array().filter(|x| x.len() == 2);
        let parsed = pair.and_then(|x| {
            let t = x.get(0)?.as_str()?.to_string();
            let v = x.get(1)?;
            let v = v.as_float().or_else(|| v.as_integer().map(|i| i as f64))?;
            Some((t, v))
        });
        let Some((t, v)) = parsed else {
            cx.problem(
                line,
                format!("kinetics.table: each point must be [\"time\", value], got {p}"),
            );
            ok = false;
            continue;
        };
        let ts = qty_text(cx, "kinetics.table", &t, line, "time", true, &time);
        if !(v.is_finite() && v >= 0.0) {
            cx.problem(
                line,
                format!("kinetics.table: relative activity {v} must be finite and >= 0"),
            );
            ok = false;
        }
        match ts {
            Some(ts) => pts.push((ts, v)),
            None => ok = false,
        }
    }
    (pts, ok)
}

impl AmountSpec {
    /// The one amount key of `[kinetics]`: `decays_per_labelled_cell`,
    /// `activity_concentration` or `uptake_fraction` with `tumour_mass`.
    fn from_table(cx: &mut Ctx, kt: &mut Tab) -> Option<AmountSpec> {
        let dpc = get_num(
            cx,
            kt,
            "decays_per_labelled_cell",
            0.0,
            false,
            f64::INFINITY,
        );
        let bqg = get_qty(
            cx,
            kt,
            "activity_concentration",
            "activity concentration",
            true,
            &parse_bq_per_g,
        );
        let uf = get_num(cx, kt, "uptake_fraction", 0.0, false, 1.0);
        let tm = get_qty(cx, kt, "tumour_mass", "mass", false, &parse_mass_g);
        let given = usize::from(dpc.is_some() || kt.t.contains_key("decays_per_labelled_cell"))
            + usize::from(bqg.is_some() || kt.t.contains_key("activity_concentration"))
            + usize::from(uf.is_some() || kt.t.contains_key("uptake_fraction"));
        if given != 1 {
            cx.problem(kt.line, "kinetics needs exactly one amount: decays_per_labelled_cell, activity_concentration (\"1 MBq/g\") or uptake_fraction with tumour_mass");
        }
        let mut amount = None;
        if let Some(d) = dpc {
            amount = Some(AmountSpec::DecaysPerLabelledCell(d));
        } else if let Some(c) = bqg {
            amount = Some(AmountSpec::BqPerGram(c));
        } else if let Some(f) = uf {
            match tm {
                Some(m) => {
                    amount = Some(AmountSpec::UptakeFraction {
                        fraction: f,
                        tumour_mass_g: m,
                    })
                }
                None => {
                    if !kt.t.contains_key("tumour_mass") {
                        cx.problem(kt.line, "kinetics.uptake_fraction needs kinetics.tumour_mass (\"10 g\"): the phantom gets the share of its tumour mass")
                    }
                }
            }
        }
        if tm.is_some() && uf.is_none() && kt.t.get("uptake_fraction").is_none() {
            cx.problem(
                kt.line,
                "kinetics.tumour_mass is used only with uptake_fraction",
            );
        }
        amount
    }
}
