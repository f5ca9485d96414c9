//! `[radiobiology]` with its `[radiobiology.tumour]` and `[radiobiology.lymphocyte]` LQ
//! parameters.

use xfire_kinetics::radiobiology::LqParameters;

use super::{get_num, get_qty, show, sub, time, Ctx, Tab};

/// Radiobiology parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct RadiobiologySpec {
    /// Tumour-cell LQ parameters.
    pub tumour: LqParameters,
    /// Lymphocyte LQ parameters.
    pub lymphocyte: LqParameters,
    /// Lymphocyte surviving fraction that opens the window \[1\].
    pub survival_target: f64,
    /// Candidate start days \[d\].
    pub start_days: Vec<f64>,
    /// Which keys were given in the file (the rest are graded defaults).
    pub overridden: Vec<String>,
}

impl RadiobiologySpec {
    /// `[radiobiology]` of the root table (the graded defaults when it is absent).
    pub(super) fn from_root(cx: &mut Ctx, root: &mut Tab) -> Self {
        let mut rb = RadiobiologySpec {
            tumour: LqParameters::tumour(),
            lymphocyte: LqParameters::lymphocyte(),
            survival_target: 0.9,
            start_days: (0..=56).map(f64::from).collect(),
            overridden: vec![],
        };
        if let Some(mut bt) = sub(cx, root, "radiobiology") {
            if let Some(r) = get_num(cx, &mut bt, "rbe_alpha", 0.0, false, 100.0) {
                rb.tumour.rbe_alpha = r;
                rb.lymphocyte.rbe_alpha = r;
                rb.overridden.push("rbe_alpha".into());
            }
            if let Some(s) = get_num(cx, &mut bt, "survival_target", 0.0, true, 1.0) {
                rb.survival_target = s;
            }
            rb.read_start_days(cx, &mut bt);
            for (key, which) in [("tumour", 0), ("lymphocyte", 1)] {
                if let Some(pt) = sub(cx, &mut bt, key) {
                    rb.read_lq(cx, pt, key, which);
                }
            }
            bt.finish(cx, &[]);
        }
        rb
    }

    /// `start_days`: a range string ("0..56", "0..56 step 2") or an array of days.
    fn read_start_days(&mut self, cx: &mut Ctx, bt: &mut Tab) {
        let Some(it) = bt.get("start_days") else {
            return;
        };
        let line = cx.item_line(it);
        let days: Option<Vec<f64>> = if let Some(s) = it.as_str() {
            // "0..56" or "0..56 step 2"
            parse_day_range(s)
        } else {
            it.as_array().and_then(|a| {
                a.iter()
                    .map(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
                    .collect()
            })
        };
        match days {
            Some(d)
                if !d.is_empty()
                    && d.iter().all(|x| x.is_finite() && *x >= 0.0)
                    && d.windows(2).all(|w| w[1] > w[0]) =>
            {
                self.start_days = d
            }
            _ => cx.problem(
                line,
                format!(
                    "radiobiology.start_days = {}: expected increasing days >= 0, as \"0..56\" or [0, 7, 14]",
                    show(it)
                ),
            ),
        }
    }

    /// `[radiobiology.tumour]` (`which` 0) or `[radiobiology.lymphocyte]` (1): overrides of
    /// the LQ parameters, noted in `overridden`.
    fn read_lq(&mut self, cx: &mut Ctx, pt: Tab, key: &str, which: u8) {
        let mut pt = pt;
        let p = if which == 0 {
            &mut self.tumour
        } else {
            &mut self.lymphocyte
        };
        if let Some(a) = get_num(cx, &mut pt, "alpha", 0.0, false, 100.0) {
            p.alpha_per_gy = a;
            self.overridden.push(format!("{key}.alpha"));
        }
        if let Some(a) = get_qty(cx, &mut pt, "alpha_beta", "dose", false, &|s| parse_gy(s)) {
            p.alpha_beta_gy = a;
            self.overridden.push(format!("{key}.alpha_beta"));
        }
        if let Some(t) = get_qty(cx, &mut pt, "repair_half_time", "time", false, &time) {
            p.repair_half_time_s = t;
            self.overridden.push(format!("{key}.repair_half_time"));
        }
        pt.finish(cx, &[]);
    }
}

/// A dose ("10 Gy") in Gy.
fn parse_gy(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let n = t
        .strip_suffix("Gy")
        .ok_or_else(|| format!("expected a dose in Gy like \"10 Gy\", got {s:?}"))?;
    n.trim()
        .parse::<f64>()
        .map_err(|_| format!("cannot read a dose from {s:?}"))
}

/// The days of "a..b" or "a..b step s" (None when malformed or over 1e5 days).
fn parse_day_range(s: &str) -> Option<Vec<f64>> {
    let (range, step) = match s.split_once("step") {
        Some((r, st)) => (r.trim(), st.trim().parse::<f64>().ok()?),
        None => (s.trim(), 1.0),
    };
    let (a, b) = range.split_once("..")?;
    let (a, b): (f64, f64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    if !(step > 0.0 && b >= a && (b - a) / step < 1e5) {
        return None;
    }
    let n = ((b - a) / step + 1e-9).floor() as usize;
    Some((0..=n).map(|i| a + i as f64 * step).collect())
}
