//! Time-integrated activity (TIA, Bq·s = number of decays) from activity images at time
//! points after administration.
//!
//! Models (`docs/formats/dose.md`, "Time-integrated activity"):
//!
//! * [`Fit::Trapezoid`]: the activity before the first time point is taken as A(t₁)
//!   (instant uptake, a rectangle from 0 to t₁), trapezoids between time points, and after
//!   the last one physical decay only: A(tₙ)/λ_phys.
//! * [`Fit::Mono`]: A(t) = A₀·e^(−λt) by least squares on ln A weighted by A² (the usual
//!   linearisation of a least-squares fit in A), over the positive points (at least 2);
//!   λ is never below λ_phys (a slower fitted clearance is clamped to physical decay and
//!   A₀ refitted); TIA = A₀/λ, the integral from 0 to ∞.
//! * [`Fit::Bi`] (per label only): uptake and washout, A(t) = a·(e^(−λ₁t) − e^(−λ₂t)) with
//!   λ₂ > λ₁ ≥ λ_phys, least squares in A by a zooming grid search over (ln λ₁, ln λ₂) with
//!   a linear in closed form; TIA = a·(1/λ₁ − 1/λ₂). Needs at least 3 time points.
//!
//! Per voxel, a voxel with fewer positive points than the fit needs falls back to the
//! trapezoid (counted in [`FitDiagnostics`]). Per label, the fit is made on the label's summed
//! activity and its TIA shared among the label's voxels in proportion to each voxel's
//! trapezoid TIA (the label's spatial pattern, integrated over time).

use crate::images::Image;
use crate::{invalid, Result};

/// An activity image at a time after administration.
#[derive(Debug, Clone, PartialEq)]
pub struct TimePoint {
    /// Time after administration \[s\].
    pub t_s: f64,
    /// The image.
    pub image: Image,
}

/// The time of a time point from `t` with its unit \[s\]: positive (after administration)
/// and after the `previous` time point's \[s\] (time points must increase).
pub fn time_point_s(t: &str, previous: Option<f64>) -> Result<f64> {
    let t_s =
        xfire_core::units::parse_time_s(t).map_err(|e| invalid(format!("time {t:?}: {e}")))?;
    if !(t_s > 0.0) || !t_s.is_finite() {
        return Err(invalid(format!(
            "time {t:?} = {t_s} s must be positive (after administration)"
        )));
    }
    match previous {
        Some(prev) if t_s <= prev => Err(invalid(format!(
            "time points must increase: {t:?} ({t_s} s) comes after {prev} s"
        ))),
        _ => Ok(t_s),
    }
}

/// Parse `"24 h:a24.nii.gz,72 h:a72.nii.gz"`: comma-separated `TIME:FILE` pairs, times with
/// units (`xfire_core::units`) checked by [`time_point_s`]; a pair without a file or a time
/// is an error naming it.
pub fn parse_timepoints(spec: &str) -> Result<Vec<TimePoint>> {
    let mut out: Vec<TimePoint> = Vec::new();
    for item in spec.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(invalid(format!(
                "--timepoints {spec:?}: an empty entry (two commas or a trailing comma)"
            )));
        }
        let (t, path) = item.split_once(':').ok_or_else(|| {
            invalid(format!(
                "--timepoints entry {item:?} is not TIME:FILE (e.g. \"24 h:a24.nii.gz\")"
            ))
        })?;
        let (t, path) = (t.trim(), path.trim());
        if path.is_empty() {
            return Err(invalid(format!(
                "--timepoints entry {item:?}: the image file of time point {t:?} is missing"
            )));
        }
        let t_s = time_point_s(t, out.last().map(|p| p.t_s))
            .map_err(|e| invalid(format!("--timepoints entry {item:?}: {e}")))?;
        out.push(TimePoint {
            t_s,
            image: Image::File(path.into()),
        });
    }
    Ok(out)
}

/// The time-activity model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// Trapezoids, rectangle before the first point, physical-decay tail.
    Trapezoid,
    /// Mono-exponential clearance (λ ≥ λ_phys).
    Mono,
    /// Uptake–washout bi-exponential (per label only).
    Bi,
}

impl Fit {
    /// The fewest time points the model needs.
    pub fn min_points(self) -> usize {
        match self {
            Fit::Trapezoid => 1,
            Fit::Mono => 2,
            Fit::Bi => 3,
        }
    }
}

/// Integral of the trapezoid model \[Bq·s\] for activities `a` \[Bq\] at times `t` \[s\].
pub fn trapezoid(t: &[f64], a: &[f64], lambda_phys: f64) -> f64 {
    let n = t.len();
    let mut s = a[0] * t[0];
    for k in 1..n {
        s += 0.5 * (a[k] + a[k - 1]) * (t[k] - t[k - 1]);
    }
    s + a[n - 1] / lambda_phys
}

/// A fitted mono-exponential A₀·e^(−λt).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MonoFit {
    /// A₀ \[Bq\].
    pub a0_bq: f64,
    /// λ \[1/s\].
    pub lambda_per_s: f64,
    /// λ was clamped to λ_phys.
    pub clamped: bool,
}

impl MonoFit {
    /// ∫₀^∞ A dt \[Bq·s\].
    pub fn tia(&self) -> f64 {
        self.a0_bq / self.lambda_per_s
    }
}

/// Weighted log-linear least squares; `None` with fewer than 2 positive points.
pub fn fit_mono(t: &[f64], a: &[f64], lambda_phys: f64) -> Option<MonoFit> {
    let (mut sw, mut st, mut sy, mut stt, mut sty) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut n = 0;
    for (&ti, &ai) in t.iter().zip(a) {
        if ai > 0.0 {
            let (w, y) = (ai * ai, ai.ln());
            sw += w;
            st += w * ti;
            sy += w * y;
            stt += w * ti * ti;
            sty += w * ti * y;
            n += 1;
        }
    }
    if n < 2 {
        return None;
    }
    let det = sw * stt - st * st;
    let slope = (sw * sty - st * sy) / det;
    let mut lambda = -slope;
    let clamped = !(lambda >= lambda_phys);
    if clamped {
        lambda = lambda_phys;
    }
    // ln A0 = weighted mean of (ln A + λ t) for the chosen λ
    let ln_a0 = (sy + lambda * st) / sw;
    Some(MonoFit {
        a0_bq: ln_a0.exp(),
        lambda_per_s: lambda,
        clamped,
    })
}

/// A fitted uptake–washout curve a·(e^(−λ₁t) − e^(−λ₂t)).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BiFit {
    /// a \[Bq\].
    pub a_bq: f64,
    /// Washout λ₁ \[1/s\] (≥ λ_phys).
    pub lambda_washout_per_s: f64,
    /// Uptake λ₂ \[1/s\] (> λ₁).
    pub lambda_uptake_per_s: f64,
    /// Sum of squared residuals \[Bq²\].
    pub ssr: f64,
}

impl BiFit {
    /// ∫₀^∞ A dt \[Bq·s\].
    pub fn tia(&self) -> f64 {
        self.a_bq * (1.0 / self.lambda_washout_per_s - 1.0 / self.lambda_uptake_per_s)
    }
}

fn bi_eval(t: &[f64], a: &[f64], l1: f64, l2: f64) -> (f64, f64) {
    let (mut sff, mut sfa) = (0.0, 0.0);
    for (&ti, &ai) in t.iter().zip(a) {
        let f = (-l1 * ti).exp() - (-l2 * ti).exp();
        sff += f * f;
        sfa += f * ai;
    }
    let amp = if sff > 0.0 { (sfa / sff).max(0.0) } else { 0.0 };
    let ssr = t
        .iter()
        .zip(a)
        .map(|(&ti, &ai)| {
            let r = ai - amp * ((-l1 * ti).exp() - (-l2 * ti).exp());
            r * r
        })
        .sum();
    (amp, ssr)
}

/// Least-squares uptake–washout fit (λ₁ from λ_phys to 1/(0.01·t₁) … see module docs);
/// `None` with fewer than 3 points or no positive activity.
pub fn fit_bi(t: &[f64], a: &[f64], lambda_phys: f64) -> Option<BiFit> {
    if t.len() < 3 || !a.iter().any(|&x| x > 0.0) {
        return None;
    }
    // search box in ln λ: λ₁ ∈ [λ_phys, 100/t₁], λ₂ ∈ (λ₁, 1000/t₁]
    let lo = lambda_phys.ln();
    let hi = (1000.0 / t[0]).ln();
    let (mut c1, mut c2, mut half) = (0.5 * (lo + hi), 0.5 * (lo + hi), 0.5 * (hi - lo));
    let mut best = (f64::INFINITY, 0.0, 0.0, 0.0);
    const STEPS: i32 = 40;
    for _round in 0..6 {
        for i in -STEPS..=STEPS {
            for j in -STEPS..=STEPS {
                let x1 = (c1 + half * i as f64 / STEPS as f64).clamp(lo, hi);
                let x2 = (c2 + half * j as f64 / STEPS as f64).clamp(lo, hi);
                if x2 <= x1 {
                    continue;
                }
                let (l1, l2) = (x1.exp(), x2.exp());
                let (amp, ssr) = bi_eval(t, a, l1, l2);
                if ssr < best.0 {
                    best = (ssr, amp, x1, x2);
                }
            }
        }
        (c1, c2) = (best.2, best.3);
        half *= 0.15;
    }
    (best.1 > 0.0).then(|| BiFit {
        a_bq: best.1,
        lambda_washout_per_s: best.2.exp(),
        lambda_uptake_per_s: best.3.exp(),
        ssr: best.0,
    })
}

/// What a voxel-wise TIA computation did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FitDiagnostics {
    /// Voxels with any activity.
    pub voxels_with_activity: u64,
    /// Voxels fitted by the model asked for.
    pub fitted: u64,
    /// Fitted voxels whose clearance was slower than physical decay (clamped to it).
    pub clamped_to_physical: u64,
    /// Voxels with too few positive points for the model, integrated by trapezoids.
    pub fell_back_to_trapezoid: u64,
}

/// TIA of every voxel \[Bq·s\] from `images` (one per time `t`) by `fit` per voxel
/// (`Fit::Bi` is per label only: an error).
pub fn per_voxel(
    fit: Fit,
    t: &[f64],
    images: &[Vec<f64>],
    lambda_phys: f64,
) -> Result<(Vec<f64>, FitDiagnostics)> {
    if fit == Fit::Bi {
        return Err(invalid(
            "--fit bi is fitted per label (--fit-level label): a 3-parameter fit per voxel \
             of noisy images is not supported",
        ));
    }
    let n = images[0].len();
    let mut out = vec![0.0; n];
    let mut d = FitDiagnostics::default();
    let mut a = vec![0.0; t.len()];
    for v in 0..n {
        for (k, img) in images.iter().enumerate() {
            a[k] = img[v];
        }
        if !a.iter().any(|&x| x > 0.0) {
            continue;
        }
        d.voxels_with_activity += 1;
        out[v] = match (fit, fit_mono(t, &a, lambda_phys)) {
            (Fit::Mono, Some(m)) => {
                d.fitted += 1;
                d.clamped_to_physical += m.clamped as u64;
                m.tia()
            }
            (Fit::Mono, None) => {
                d.fell_back_to_trapezoid += 1;
                trapezoid(t, &a, lambda_phys)
            }
            _ => {
                d.fitted += 1;
                trapezoid(t, &a, lambda_phys)
            }
        };
    }
    Ok((out, d))
}

/// The fit of one label's summed activity.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LabelFit {
    /// Label id (0: unlabelled voxels).
    pub id: u32,
    /// Summed activity at each time point \[Bq\].
    pub activity_bq: Vec<f64>,
    /// The model used (the trapezoid when the fit asked for failed).
    pub model: Fit,
    /// The mono-exponential fit, when used.
    pub mono: Option<MonoFit>,
    /// The bi-exponential fit, when used.
    pub bi: Option<BiFit>,
    /// TIA of the label \[Bq·s\].
    pub tia_bq_s: f64,
    /// Effective half-life of the mono-exponential fit \[h\].
    pub effective_half_life_h: Option<f64>,
}

fn fit_label(id: u32, fit: Fit, t: &[f64], a: Vec<f64>, lambda_phys: f64) -> LabelFit {
    let mut lf = LabelFit {
        id,
        tia_bq_s: trapezoid(t, &a, lambda_phys),
        activity_bq: a,
        model: Fit::Trapezoid,
        mono: None,
        bi: None,
        effective_half_life_h: None,
    };
    let a = &lf.activity_bq;
    match fit {
        Fit::Mono => {
            if let Some(m) = fit_mono(t, a, lambda_phys) {
                lf.tia_bq_s = m.tia();
                lf.effective_half_life_h = Some(std::f64::consts::LN_2 / m.lambda_per_s / 3600.0);
                lf.mono = Some(m);
                lf.model = Fit::Mono;
            }
        }
        Fit::Bi => {
            if let Some(b) = fit_bi(t, a, lambda_phys) {
                lf.tia_bq_s = b.tia();
                lf.bi = Some(b);
                lf.model = Fit::Bi;
            }
        }
        Fit::Trapezoid => {}
    }
    lf
}

/// TIA of every voxel \[Bq·s\] by fitting each label's summed activity (label 0, the
/// unlabelled voxels, is a region too) and sharing the label's TIA among its voxels in
/// proportion to their trapezoid TIA.
pub fn per_label(
    fit: Fit,
    t: &[f64],
    images: &[Vec<f64>],
    labels: &[u32],
    lambda_phys: f64,
) -> (Vec<f64>, Vec<LabelFit>) {
    let n = images[0].len();
    let n_ids = labels.iter().copied().max().unwrap_or(0) as usize + 1;
    let mut sums = vec![vec![0.0; t.len()]; n_ids];
    let mut trap = vec![0.0; n];
    let mut trap_sum = vec![0.0; n_ids];
    let mut a = vec![0.0; t.len()];
    for v in 0..n {
        let l = labels[v] as usize;
        for (k, img) in images.iter().enumerate() {
            a[k] = img[v];
            sums[l][k] += img[v];
        }
        trap[v] = trapezoid(t, &a, lambda_phys);
        trap_sum[l] += trap[v];
    }
    let fits: Vec<LabelFit> = sums
        .into_iter()
        .enumerate()
        .filter(|(l, _)| trap_sum[*l] > 0.0)
        .map(|(l, s)| fit_label(l as u32, fit, t, s, lambda_phys))
        .collect();
    let mut scale = vec![0.0; n_ids];
    for f in &fits {
        scale[f.id as usize] = f.tia_bq_s / trap_sum[f.id as usize];
    }
    let out = (0..n)
        .map(|v| trap[v] * scale[labels[v] as usize])
        .collect();
    (out, fits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: f64 = 3600.0;

    #[test]
    fn mono_fit_recovers_an_exact_exponential() {
        let lp = std::f64::consts::LN_2 / (6.647 * 24.0 * H);
        let l = std::f64::consts::LN_2 / (40.0 * H);
        let t = [24.0 * H, 72.0 * H, 168.0 * H];
        let a: Vec<f64> = t.iter().map(|&x| 1e6 * (-l * x).exp()).collect();
        let m = fit_mono(&t, &a, lp).unwrap();
        assert!((m.lambda_per_s / l - 1.0).abs() < 1e-12);
        assert!((m.tia() / (1e6 / l) - 1.0).abs() < 1e-12);
        assert!(!m.clamped);
    }

    #[test]
    fn mono_fit_is_clamped_to_physical_decay() {
        let lp = std::f64::consts::LN_2 / (6.647 * 24.0 * H);
        let t = [24.0 * H, 72.0 * H];
        let a = [1e6, 1.1e6]; // rising: slower than physical decay
        let m = fit_mono(&t, &a, lp).unwrap();
        assert!(m.clamped);
        assert_eq!(m.lambda_per_s, lp);
    }

    #[test]
    fn trapezoid_integrates_physical_decay_tail_exactly() {
        // a single point: rectangle 0..t1 plus A/λ
        let lp = 1e-5;
        assert!((trapezoid(&[100.0], &[2.0], lp) - (200.0 + 2.0 / lp)).abs() < 1e-9);
    }

    #[test]
    fn bi_fit_recovers_uptake_and_washout() {
        let lp = std::f64::consts::LN_2 / (6.647 * 24.0 * H);
        let (l1, l2) = (
            std::f64::consts::LN_2 / (50.0 * H),
            std::f64::consts::LN_2 / (5.0 * H),
        );
        let t = [4.0 * H, 24.0 * H, 72.0 * H, 168.0 * H];
        let a: Vec<f64> = t
            .iter()
            .map(|&x| 1e6 * ((-l1 * x).exp() - (-l2 * x).exp()))
            .collect();
        let b = fit_bi(&t, &a, lp).unwrap();
        let exact = 1e6 * (1.0 / l1 - 1.0 / l2);
        assert!(
            (b.tia() / exact - 1.0).abs() < 1e-3,
            "{} vs {exact}",
            b.tia()
        );
    }

    #[test]
    fn timepoints_are_checked() {
        let ok = parse_timepoints("24 h:a.nii.gz, 3 d:b.nii.gz").unwrap();
        assert_eq!(ok[1].t_s, 72.0 * H);
        for (bad, want) in [
            ("72 h:a.nii,24 h:b.nii", "must increase"),
            ("24 h:a.nii,24 h:b.nii", "must increase"),
            ("24 h:", "missing"),
            ("24 h", "TIME:FILE"),
            ("24 fortnights:a.nii", "24 fortnights"),
            ("0 h:a.nii", "positive"),
            ("24 h:a.nii,", "empty"),
        ] {
            let e = parse_timepoints(bad).unwrap_err().to_string();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn per_label_keeps_the_label_total() {
        let lp = 1e-6;
        let t: [f64; 3] = [1e4, 5e4, 2e5];
        let l: f64 = 2e-5;
        let img = |k: usize| -> Vec<f64> {
            [1.0, 3.0, 0.0, 2.0]
                .iter()
                .map(|w| w * (-l * t[k]).exp())
                .collect()
        };
        let images: Vec<Vec<f64>> = (0..3).map(img).collect();
        let labels = [1, 1, 0, 2];
        let (tia, fits) = per_label(Fit::Mono, &t, &images, &labels, lp);
        let l1: f64 = tia[0] + tia[1];
        let f1 = fits.iter().find(|f| f.id == 1).unwrap();
        assert!((l1 / f1.tia_bq_s - 1.0).abs() < 1e-12);
        assert!((f1.tia_bq_s / (4.0 / l) - 1.0).abs() < 1e-9);
        assert!((tia[1] / tia[0] - 3.0).abs() < 1e-12);
        assert_eq!(tia[2], 0.0);
    }
}
