//! The comparison as a table: the printed side-by-side table (quantities down, nuclides
//! across, grouped in sections that name each quantity's time frame), `comparison.csv` and
//! `comparison.json`.
//!
//! Precision: the printed table (and the report's copy of it) rounds to 3 significant
//! figures; doses and surviving fractions below 10⁻⁶ are shown as `<1e-6` ([`crate::fmt`]).
//! The CSV and JSON keep full double precision.
//!
//! To add a quantity, add one [`Lines::add`] call in the section it belongs to (the CSV has
//! its own column list in [`comparison_csv`]).

use super::{Comparison, ExposureRow, NuclideRow, WithSigma, DAY};
use crate::fmt::{fmt_dose, fmt_estimate, fmt_sig, fmt_sig_short, fmt_survival};
use crate::{Context, Result};
use xfire_kinetics::noise::SurvivalEstimate;

/// A fraction as a percentage with one decimal ("16.5 %").
fn fmt_percent(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1} %", 100.0 * v)
    } else {
        "-".into()
    }
}

/// A surviving fraction with its interval when there is one.
fn survival_text(e: Option<SurvivalEstimate>, value: f64) -> String {
    e.map_or_else(|| fmt_survival(value), |e| fmt_estimate(&e))
}

/// A fraction as a whole percentage ("12 %"); "-" when unknown.
fn percent0(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map_or("-".into(), |u| format!("{:.0} %", 100.0 * u))
}

/// How survival figures are made, and the legend of the " !" mark when a value has it.
pub(crate) fn survival_legend(lines: &[Line]) -> String {
    let mut s = String::from(
        "Survival: noise-corrected mean over cells with its 95 % interval (docs/kinetics.md).\n",
    );
    let flagged = lines
        .iter()
        .filter_map(|l| l.values.as_ref())
        .any(|v| v.iter().any(|x| x.ends_with(" !")));
    if flagged {
        s.push_str(xfire_kinetics::noise::TOO_WIDE_LEGEND);
        s.push('\n');
    }
    s
}

/// A day number: integer when whole, else 2 decimals.
pub(crate) fn fmt_day(d: f64) -> String {
    if (d - d.round()).abs() < 1e-9 {
        format!("{}", d.round() as i64)
    } else {
        format!("{d:.2}")
    }
}

fn opt(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

/// A value ± σ: σ to one significant digit, the value to the same decimals (at least 3).
fn fmt_pm(v: Option<WithSigma>) -> String {
    match v {
        Some(w) if w.sigma > 0.0 => {
            let d = ((-w.sigma.log10()).ceil() as i64).clamp(3, 6) as usize;
            format!("{:.d$} ± {:.d$}", w.value, w.sigma)
        }
        Some(w) => format!("{:.3}", w.value),
        None => "-".into(),
    }
}

/// One exposure column group (a model over an interval) as it appears over the rows.
pub(crate) struct ExposureKey {
    /// Key in CSV column names ("resident", "cohort_d7", "migrating_d14", "blood").
    pub key: String,
    /// Section heading naming the model and its time frame.
    pub heading: String,
}

/// The exposure groups over all rows, in order of first appearance.
pub(crate) fn exposure_keys(c: &Comparison) -> Vec<ExposureKey> {
    let mut keys: Vec<ExposureKey> = Vec::new();
    for r in &c.rows {
        for e in &r.lymphocytes {
            let k = e.key();
            if keys.iter().any(|x| x.key == k) {
                continue;
            }
            let span = format!("d {}–{}", fmt_day(e.from_day), fmt_day(e.to_day));
            let heading = match e.model.as_str() {
                "resident" => {
                    "Resident lymphocytes (the phantom's TILs), whole treatment (day 0 until < 1e-4 of the decays remain)".to_string()
                }
                "cohort" => format!(
                    "Lymphocyte cohort arriving on day {} at the TIL positions, staying {} d ({span})",
                    fmt_day(e.from_day),
                    fmt_day(e.to_day - e.from_day)
                ),
                "migrating" => format!(
                    "Migrating lymphocytes entering on day {}, walking {} d ({span})",
                    fmt_day(e.from_day),
                    fmt_day(e.to_day - e.from_day)
                ),
                "circulating" => format!("Circulating (blood) lymphocytes ({span})"),
                m => format!("{m} ({span})"),
            };
            keys.push(ExposureKey { key: k, heading });
        }
    }
    keys
}

/// A line of the side-by-side table: a section heading (no values) or a quantity with one
/// value per nuclide.
pub(crate) struct Line {
    /// Heading or quantity (with its unit).
    pub label: String,
    /// One formatted value per nuclide; `None` for a section heading.
    pub values: Option<Vec<String>>,
}

/// Builds the table lines over the rows of a comparison.
struct Lines<'a> {
    rows: &'a [NuclideRow],
    out: Vec<Line>,
}

impl<'a> Lines<'a> {
    fn section(&mut self, heading: impl Into<String>) {
        self.out.push(Line {
            label: heading.into(),
            values: None,
        });
    }
    fn add(&mut self, label: impl Into<String>, f: impl Fn(&'a NuclideRow) -> String) {
        self.out.push(Line {
            label: format!("  {}", label.into()),
            values: Some(self.rows.iter().map(f).collect()),
        });
    }
}

/// The RBE of α particles used for the lymphocytes (from the parameters), for labels.
fn rbe_alpha(c: &Comparison, who: &str) -> Option<f64> {
    c.parameters
        .iter()
        .find(|p| p.name == format!("{who}.rbe_alpha"))
        .map(|p| p.value)
}

fn rbe_label(c: &Comparison, who: &str) -> String {
    match rbe_alpha(c, who) {
        Some(r) => format!("RBE-weighted dose, low LET + {} × α (Gy)", fmt_sig_short(r)),
        None => "RBE-weighted dose (Gy)".into(),
    }
}

pub(crate) fn table_lines(c: &Comparison) -> Vec<Line> {
    let mut l = Lines {
        rows: &c.rows,
        out: Vec::new(),
    };
    amount_lines(&mut l, c);
    tumour_lines(&mut l, c);
    for k in &exposure_keys(c) {
        lymphocyte_lines(&mut l, c, k);
    }
    rate_and_window_lines(&mut l, c);
    l.out
}

/// The amount of every nuclide: half-life, scale, activity, parent decays.
fn amount_lines(l: &mut Lines<'_>, c: &Comparison) {
    l.section(format!("Amount (normalised to {})", normalisation_text(c)));
    l.add("half-life of the parent (d)", |r| {
        fmt_sig(r.half_life_s / DAY)
    });
    l.add("scale on the scenario's amount", |r| fmt_sig(r.scale));
    l.add("activity per administration (GBq)", |r| {
        fmt_sig(r.activity_per_administration_bq / 1e9)
    });
    l.add("parent decays in the phantom, whole treatment", |r| {
        fmt_sig(r.parent_decays)
    });
}

/// The tumour cells over the whole treatment.
fn tumour_lines(l: &mut Lines<'_>, c: &Comparison) {
    l.section("Tumour cells, whole treatment");
    l.add("absorbed dose (Gy)", |r| fmt_dose(r.tumour_gy));
    l.add("its Monte Carlo uncertainty (1 σ)", |r| {
        format!("{:.2} %", 100.0 * r.tumour_rel_unc)
    });
    l.add("α part of the absorbed dose (Gy)", |r| {
        fmt_dose(r.tumour_alpha_gy)
    });
    l.add(rbe_label(c, "tumour"), |r| {
        fmt_dose(r.tumour_rbe_weighted_gy)
    });
    l.add("mean surviving fraction (LQ) [95 % interval]", |r| {
        survival_text(r.tumour_survival, opt(r.tumour_surviving_fraction))
    });
    if c.rows.iter().any(|r| r.tumour_alpha_hit_survival.is_some()) {
        l.add("mean surviving fraction, α-hit model", |r| {
            r.tumour_alpha_hit_survival
                .map_or("-".into(), |e| fmt_estimate(&e))
        });
    }
    l.add("per-cell dose MC uncertainty, 95th percentile", |r| {
        percent0(r.cell_rel_unc_p95[0])
    });
    l.add("cross-fire fraction of the dose", |r| {
        fmt_pm(r.crossfire_tumour)
    });
}

/// One lymphocyte model `k` (resident, a cohort, migrating, blood); the resident section
/// also has the per-cell uncertainty, the tumour/lymphocyte ratios and the cross-fire.
fn lymphocyte_lines(l: &mut Lines<'_>, c: &Comparison, k: &ExposureKey) {
    let any_alpha = c.rows.iter().any(|r| r.alpha_emitter);
    let lymph_rbe = rbe_label(c, "lymphocyte");
    let key = k.key.as_str();
    let find = move |r: &NuclideRow| -> Option<ExposureRow> {
        r.lymphocytes.iter().find(|e| e.key() == key).cloned()
    };
    l.section(k.heading.clone());
    if k.key == "resident" {
        l.add("end of the whole-treatment interval (d)", move |r| {
            find(r).map_or("-".into(), |e| fmt_sig(e.to_day))
        });
    }
    l.add("absorbed (physical) dose, mean (Gy)", move |r| {
        find(r).map_or("-".into(), |e| fmt_dose(e.mean_gy))
    });
    if any_alpha {
        l.add(format!("{lymph_rbe}, mean"), move |r| {
            find(r).map_or("-".into(), |e| fmt_dose(e.rbe_weighted_gy))
        });
    }
    l.add("mean surviving fraction (LQ) [95 % interval]", move |r| {
        find(r).map_or("-".into(), |e| {
            survival_text(e.survival, e.surviving_fraction)
        })
    });
    if c.rows
        .iter()
        .any(|r| find(r).is_some_and(|e| e.alpha_hit_survival.is_some()))
    {
        l.add("mean surviving fraction, α-hit model", move |r| {
            find(r)
                .and_then(|e| e.alpha_hit_survival)
                .map_or("-".into(), |x| fmt_estimate(&x))
        });
    }
    if k.key == "resident" {
        l.add("per-cell dose MC uncertainty, 95th percentile", |r| {
            percent0(r.cell_rel_unc_p95[1])
        });
        l.add("tumour/lymphocyte absorbed dose ratio", |r| {
            fmt_sig(r.tumour_to_lymphocyte[0])
        });
        if any_alpha {
            l.add("tumour/lymphocyte RBE-weighted dose ratio", |r| {
                fmt_sig(r.tumour_to_lymphocyte[1])
            });
        }
        l.add("cross-fire fraction of the dose", |r| {
            fmt_pm(r.crossfire_lymphocyte)
        });
    }
}

/// The tumour-cell dose rate and the immunotherapy window.
fn rate_and_window_lines(l: &mut Lines<'_>, c: &Comparison) {
    l.section("Tumour-cell dose rate after the first administration");
    l.add("peak (Gy/h)", |r| fmt_sig(r.peak_dose_rate_gy_per_h));
    l.add("time from the peak to half the peak (h)", |r| {
        r.dose_rate_half_time_h.map_or("-".into(), fmt_sig)
    });
    let target = c.rows.first().map_or(0.9, |r| r.survival_target);
    l.section(format!(
        "Immunotherapy window (cohorts staying {} d; safe: mean survival >= {} %)",
        fmt_day(c.residence_d),
        fmt_sig_short(100.0 * target)
    ));
    l.add("opens: first safe start day", |r| {
        r.window_day.map_or("none".into(), fmt_day)
    });
    l.add("closes: last safe start day of that run", |r| {
        match (r.window_end_day, r.window_open_at_scan_end) {
            (Some(d), false) => fmt_day(d),
            (Some(d), true) => format!(">= {}", fmt_day(d)),
            (None, _) => "-".into(),
        }
    });
    l.add("lymphocyte survival on the opening day", |r| {
        survival_text(r.window_survival_estimate, opt(r.window_survival))
    });
    l.add("tumour dose delivered by the opening day", |r| {
        r.window_tumour_dose_fraction
            .map_or("-".into(), fmt_percent)
    });
}

/// What is held equal, in words.
pub fn normalisation_text(c: &Comparison) -> String {
    use super::Normalise;
    match c.normalise {
        Normalise::TumourDose => format!(
            "equal mean tumour-cell absorbed dose, {} Gy (that of {} at the scenario's amount)",
            fmt_sig(c.normalised_value),
            c.reference
        ),
        Normalise::Activity => format!(
            "equal administered activity, {} GBq per administration (the scenario's regimen)",
            fmt_sig(c.normalised_value / 1e9)
        ),
        Normalise::Decays => format!(
            "equal parent decays in the phantom, {} (those of {} at the scenario's amount)",
            fmt_sig(c.normalised_value),
            c.reference
        ),
    }
}

/// The side-by-side table as text (quantities down, nuclides across), for the terminal.
pub fn text_table(c: &Comparison) -> String {
    let lines = table_lines(c);
    let w0 = lines
        .iter()
        .filter(|l| l.values.is_some())
        .map(|l| l.label.chars().count())
        .max()
        .unwrap_or(10);
    let w: Vec<usize> = (0..c.rows.len())
        .map(|j| {
            lines
                .iter()
                .filter_map(|l| l.values.as_ref())
                .map(|v| v[j].chars().count())
                .chain(std::iter::once(c.rows[j].nuclide.len()))
                .max()
                .unwrap_or(6)
        })
        .collect();
    let mut s = format!(
        "{} bound to {}\n",
        c.description.as_deref().unwrap_or("scenario"),
        c.binding,
    );
    s.push_str(&format!("{:<w0$}", ""));
    for (j, r) in c.rows.iter().enumerate() {
        s.push_str(&format!("  {:>w$}", r.nuclide, w = w[j]));
    }
    s.push('\n');
    for l in &lines {
        let Some(values) = &l.values else {
            s.push_str(&l.label);
            s.push('\n');
            continue;
        };
        let pad = w0 - l.label.chars().count();
        s.push_str(&l.label);
        s.push_str(&" ".repeat(pad));
        for (j, x) in values.iter().enumerate() {
            let p = w[j].saturating_sub(x.chars().count());
            s.push_str("  ");
            s.push_str(&" ".repeat(p));
            s.push_str(x);
        }
        s.push('\n');
    }
    s.push_str("Doses are absorbed (physical) unless called RBE-weighted; <1e-6: below 10⁻⁶. Full precision in comparison.csv / comparison.json.\n");
    s.push_str(&survival_legend(&lines));
    s
}

/// Units and time frames of `comparison.json` and `comparison.csv`.
const UNITS: &str = "doses Gy (absorbed unless named rbe_weighted: low LET + RBE_alpha x alpha), dose rates Gy/h, half-lives s (CSV: d), times h or d as named, activities Bq, fractions 0-1; full double precision (the printed table rounds to 3 significant figures); time frames: tumour and resident lymphocytes the whole treatment, cohort and migrating lymphocytes from_day to to_day (arrival + residence)";

/// `comparison.json`: the [`Comparison`] plus format, version and units.
pub fn comparison_json(c: &Comparison) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(c).context("comparison.json")?;
    v["format"] = serde_json::json!("xfire-comparison");
    v["format_version"] = serde_json::json!(3);
    v["xfire_version"] = serde_json::json!(env!("CARGO_PKG_VERSION"));
    v["units"] = serde_json::json!(UNITS);
    Ok(v)
}

fn csv_num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:e}")
    } else {
        String::new()
    }
}

/// `comparison.csv`: one row per nuclide.
pub fn comparison_csv(c: &Comparison) -> String {
    let keys = exposure_keys(c);
    let mut s = format!(
        "# xfire comparison: {}; normalised to {}\n# {UNITS}\n",
        c.description.as_deref().unwrap_or("scenario"),
        normalisation_text(c)
    );
    s.push_str(&csv_header(&keys).join(","));
    s.push('\n');
    for r in &c.rows {
        let mut f = csv_values(r, &keys);
        f.extend(csv_estimates(r, &keys));
        s.push_str(&f.join(","));
        s.push('\n');
    }
    s
}

/// The column names of `comparison.csv`, for the lymphocyte models `keys`.
fn csv_header(keys: &[ExposureKey]) -> Vec<String> {
    let mut head = vec![
        "nuclide",
        "half_life_d",
        "alpha_emitter",
        "scale",
        "activity_per_administration_bq",
        "administrations",
        "parent_decays",
        "tumour_gy",
        "tumour_rel_unc",
        "tumour_alpha_gy",
        "tumour_rbe_weighted_gy",
        "tumour_surviving_fraction",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    for k in keys {
        let k = &k.key;
        for suffix in [
            "from_day",
            "to_day",
            "gy",
            "rbe_weighted_gy",
            "surviving_fraction",
        ] {
            head.push(format!("lymphocyte_{k}_{suffix}"));
        }
    }
    for h in [
        "tumour_to_lymphocyte",
        "tumour_to_lymphocyte_rbe_weighted",
        "crossfire_fraction_tumour",
        "crossfire_fraction_tumour_sigma",
        "crossfire_fraction_lymphocyte",
        "crossfire_fraction_lymphocyte_sigma",
        "peak_dose_rate_gy_per_h",
        "peak_time_h",
        "dose_rate_half_time_h",
        "survival_target",
        "window_day",
        "window_end_day",
        "window_open_at_scan_end",
        "window_surviving_fraction",
        "window_tumour_dose_fraction",
    ] {
        head.push(h.into());
    }
    // survival intervals, flags and the α-hit model, after the columns above
    let mut est_names = vec!["tumour".to_string(), "tumour_alpha_hit".to_string()];
    for k in keys {
        est_names.push(format!("lymphocyte_{}", k.key));
        est_names.push(format!("lymphocyte_{}_alpha_hit", k.key));
    }
    est_names.push("window".into());
    for n in &est_names {
        for suffix in ["surviving_fraction_est", "lo95", "hi95", "too_wide"] {
            head.push(format!("{n}_{suffix}"));
        }
    }
    head
}

/// The values of nuclide row `r` before the survival estimates.
fn csv_values(r: &NuclideRow, keys: &[ExposureKey]) -> Vec<String> {
    let mut f: Vec<String> = vec![
        r.nuclide.clone(),
        csv_num(r.half_life_s / DAY),
        r.alpha_emitter.to_string(),
        csv_num(r.scale),
        csv_num(r.activity_per_administration_bq),
        r.administrations.to_string(),
        csv_num(r.parent_decays),
        csv_num(r.tumour_gy),
        csv_num(r.tumour_rel_unc),
        csv_num(r.tumour_alpha_gy),
        csv_num(r.tumour_rbe_weighted_gy),
        csv_num(opt(r.tumour_surviving_fraction)),
    ];
    for k in keys {
        match r.lymphocytes.iter().find(|e| e.key() == k.key) {
            Some(e) => f.extend([
                csv_num(e.from_day),
                csv_num(e.to_day),
                csv_num(e.mean_gy),
                csv_num(e.rbe_weighted_gy),
                csv_num(e.surviving_fraction),
            ]),
            None => f.extend(std::iter::repeat_n(String::new(), 5)),
        }
    }
    let ws = |w: Option<WithSigma>| {
        (
            csv_num(w.map_or(f64::NAN, |x| x.value)),
            csv_num(w.map_or(f64::NAN, |x| x.sigma)),
        )
    };
    let (ct, cts) = ws(r.crossfire_tumour);
    let (cl, cls) = ws(r.crossfire_lymphocyte);
    f.extend([
        csv_num(r.tumour_to_lymphocyte[0]),
        csv_num(r.tumour_to_lymphocyte[1]),
        ct,
        cts,
        cl,
        cls,
        csv_num(r.peak_dose_rate_gy_per_h),
        csv_num(r.peak_time_h),
        csv_num(opt(r.dose_rate_half_time_h)),
        csv_num(r.survival_target),
        csv_num(opt(r.window_day)),
        csv_num(opt(r.window_end_day)),
        r.window_open_at_scan_end.to_string(),
        csv_num(opt(r.window_survival)),
        csv_num(opt(r.window_tumour_dose_fraction)),
    ]);
    f
}

/// The survival estimates of nuclide row `r` (value, 95 % interval, too-wide flag): the
/// tumour cells, every lymphocyte model of `keys`, the window.
fn csv_estimates(r: &NuclideRow, keys: &[ExposureKey]) -> Vec<String> {
    let mut est = vec![r.tumour_survival, r.tumour_alpha_hit_survival];
    for k in keys {
        let e = r.lymphocytes.iter().find(|e| e.key() == k.key);
        est.push(e.and_then(|e| e.survival));
        est.push(e.and_then(|e| e.alpha_hit_survival));
    }
    est.push(r.window_survival_estimate);
    let mut f = Vec::new();
    for e in est {
        match e {
            Some(e) => f.extend([
                csv_num(e.value),
                csv_num(e.interval[0]),
                csv_num(e.interval[1]),
                u8::from(e.too_wide).to_string(),
            ]),
            None => f.extend(std::iter::repeat_n(String::new(), 4)),
        }
    }
    f
}
