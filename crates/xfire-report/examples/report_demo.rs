//! Renders every figure and a report from synthetic data, to look at them:
//! `cargo run -p xfire-report --example report_demo [OUT_DIR]`
//! (default `target/report-demo/` at the workspace root).

use std::f64::consts::LN_2;
use std::path::PathBuf;
use xfire_report::*;

/// A small deterministic generator (xorshift64*) for synthetic per-cell doses.
struct Gen(u64);
impl Gen {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let dir: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/report-demo")
        });
    let t0 = std::time::Instant::now();

    // Dose rate and cumulative dose: uptake then physical decay (177Lu, T½ = 6.647 d).
    let times: Vec<f64> = (0..=600).map(|i| 0.05 * f64::from(i)).collect();
    let lam = LN_2 / 6.647;
    let curve = |d0: f64, k_up: f64, k_cl: f64| -> Vec<f64> {
        times
            .iter()
            .map(|t| d0 * (1.0 - (-k_up * t).exp()) * (-(lam + k_cl) * t).exp())
            .collect()
    };
    let rate_tumour = curve(0.35, 8.0, 0.02);
    let rate_lymph = curve(0.06, 20.0, 0.15);
    let mut rate_blood = curve(0.02, 50.0, 0.6);
    rate_blood[0] = 0.0; // a zero on the log axis: skipped
    rate_blood[10] = f64::NAN; // a gap
    let series = vec![
        TimeSeries::new("tumour cells", times.clone(), rate_tumour.clone()),
        TimeSeries::new("lymphocytes in tumour", times.clone(), rate_lymph.clone()),
        TimeSeries::new("blood lymphocytes", times.clone(), rate_blood.clone()),
    ];
    let written = dose_rate_vs_time(
        &FigureTarget::new(&dir, "dose_rate"),
        "177Lu: mean dose rate per target",
        &series,
    )?;
    println!("{}", written.png.display());
    let cumulative = |rate: &[f64]| -> Vec<f64> {
        let mut acc = 0.0;
        let mut out = vec![0.0];
        for k in 1..rate.len() {
            let (a, b) = (rate[k - 1], rate[k]);
            if a.is_finite() && b.is_finite() {
                acc += 0.5 * (a + b) * (times[k] - times[k - 1]) * 24.0;
            }
            out.push(acc);
        }
        out
    };
    let cum = vec![
        TimeSeries::new("tumour cells", times.clone(), cumulative(&rate_tumour)),
        TimeSeries::new(
            "lymphocytes in tumour",
            times.clone(),
            cumulative(&rate_lymph),
        ),
        TimeSeries::new("blood lymphocytes", times.clone(), cumulative(&rate_blood)),
    ];
    cumulative_dose_vs_time(
        &FigureTarget::new(&dir, "cumulative_dose"),
        "177Lu: cumulative absorbed dose",
        &cum,
    )?;

    // Survival of lymphocytes arriving on day d, for three nuclides.
    let days: Vec<f64> = (0..=60).map(|i| 0.5 * f64::from(i)).collect();
    let surv = |d_per_day0: f64, half_life_d: f64| -> (Vec<f64>, Option<f64>) {
        let l = LN_2 / half_life_d;
        let s: Vec<f64> = days
            .iter()
            .map(|d| (-0.3 * d_per_day0 / l * (-l * d).exp()).exp())
            .collect();
        let w = days
            .iter()
            .zip(&s)
            .find(|(_, s)| **s >= 0.9)
            .map(|(d, _)| *d);
        (s, w)
    };
    let (s1, w1) = surv(0.9, 6.647);
    let (s2, w2) = surv(3.0, 9.92);
    let (s3, w3) = surv(0.4, 6.9);
    let curves = vec![
        SurvivalCurve {
            label: "177Lu".into(),
            start_days: days.clone(),
            survival: s1,
            window_day: w1,
            window_end_day: None,
        },
        SurvivalCurve {
            label: "225Ac".into(),
            start_days: days.clone(),
            survival: s2,
            window_day: w2,
            window_end_day: None,
        },
        SurvivalCurve {
            label: "161Tb".into(),
            start_days: days.clone(),
            survival: s3,
            window_day: w3,
            window_end_day: None,
        },
    ];
    survival_vs_start_day(
        &FigureTarget::new(&dir, "survival"),
        "Lymphocyte survival vs immunotherapy start",
        &curves,
        Some(0.9),
    )?;

    // The same figure small (640 × 448 px): fonts and spacing scale with the size.
    survival_vs_start_day(
        &FigureTarget::new(&dir, "survival_small").with_size(640, 448),
        "Lymphocyte survival vs immunotherapy start",
        &curves,
        Some(0.9),
    )?;

    // Per-cell dose histograms.
    let mut g = Gen(0x1234_5678_9abc_def1);
    let tumour: Vec<f64> = (0..2000).map(|_| (2.3 + 0.35 * g.normal()).exp()).collect();
    let mut lymph: Vec<f64> = (0..400).map(|_| (0.6 + 0.6 * g.normal()).exp()).collect();
    lymph[0] = f64::NAN;
    let groups = vec![
        DoseGroup {
            name: "tumour cells".into(),
            doses_gy: tumour,
        },
        DoseGroup {
            name: "lymphocytes".into(),
            doses_gy: lymph,
        },
    ];
    dose_histograms(
        &FigureTarget::new(&dir, "dose_histogram"),
        "Absorbed dose per cell, 177Lu, day 0–∞",
        &groups,
        &HistogramOptions::default(),
    )?;

    // Doses over many decades with some zeros: logarithmic bins, counts.
    let mut wide: Vec<f64> = (0..600).map(|_| (0.5 + 2.0 * g.normal()).exp()).collect();
    wide.extend([0.0; 25]);
    dose_histograms(
        &FigureTarget::new(&dir, "dose_histogram_log"),
        "Absorbed dose per lymphocyte, 225Ac",
        &[DoseGroup {
            name: "lymphocytes".into(),
            doses_gy: wide,
        }],
        &HistogramOptions {
            bins: 30,
            fraction: false,
            log_bins: None,
        },
    )?;

    // A dose slice: cells on a grid, activity in the tumour cells' membranes.
    let (nx, ny, dx) = (160usize, 120usize, 2.0);
    let mut ids = vec![0u32; nx * ny];
    let mut centres = Vec::new();
    for cy in 0..5 {
        for cx in 0..7 {
            let jitter = (g.uniform() - 0.5) * 8.0;
            centres.push((
                24.0 + 44.0 * f64::from(cx) + jitter,
                26.0 + 46.0 * f64::from(cy) - jitter,
                15.0 + 4.0 * g.uniform(),
            ));
        }
    }
    let mut values = vec![0.0; nx * ny];
    for j in 0..ny {
        for i in 0..nx {
            let (x, y) = ((i as f64 + 0.5) * dx, (j as f64 + 0.5) * dx);
            for (k, &(cx, cy, r)) in centres.iter().enumerate() {
                let d = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
                if d < r {
                    ids[i + nx * j] = k as u32 + 1;
                }
                // Uptake only in cells of the left half (a gradient across the tumour).
                if cx < 150.0 {
                    values[i + nx * j] += 3.0 * (-d / 12.0).exp();
                }
            }
        }
    }
    values[5] = f64::NAN;
    let mut slice = DoseSlice::new(nx, ny, &values, (dx, dx));
    slice.outlines = Some(&ids);
    dose_slice(
        &FigureTarget::new(&dir, "dose_slice"),
        "Dose map, central slice z = 40 µm",
        &slice,
    )?;
    slice.scale = ColourScale::Linear;
    dose_slice(
        &FigureTarget::new(&dir, "dose_slice_linear"),
        "Dose map, linear scale",
        &slice,
    )?;

    // Kernel radial profile with a reference curve.
    let r: Vec<f64> = (0..150).map(|i| 0.01 * (f64::from(i) + 0.5)).collect();
    let kernel = |r: f64| 4e-9 / (r * r) * (-(r / 0.6).powi(2)).exp() * (1.0 - (r / 1.6).min(1.0));
    let d: Vec<f64> = r
        .iter()
        .map(|&r| kernel(r) * (1.0 + 0.03 * (17.0 * r).sin()))
        .collect();
    let sigma: Vec<f64> = d
        .iter()
        .zip(&r)
        .map(|(d, r)| d * (0.02 + 0.3 * r))
        .collect();
    let reference: Vec<f64> = r.iter().map(|&r| kernel(r)).collect();
    kernel_radial_profile(
        &FigureTarget::new(&dir, "kernel_profile"),
        "177Lu dose point kernel in water",
        &[
            KernelCurve {
                label: "xfire".into(),
                r_mm: r.clone(),
                gy_per_decay: d,
                sigma_gy_per_decay: Some(sigma),
                reference: false,
            },
            KernelCurve {
                label: "reference".into(),
                r_mm: r,
                gy_per_decay: reference,
                sigma_gy_per_decay: None,
                reference: true,
            },
        ],
        false,
    )?;

    // The same kernel on log-log axes, r in µm, single curve with its band.
    let r_um: Vec<f64> = (0..80).map(|i| 1e-3 * 1.08f64.powi(i)).collect();
    let k: Vec<f64> = r_um.iter().map(|&r| kernel(r)).collect();
    let s: Vec<f64> = k.iter().map(|v| 0.1 * v).collect();
    kernel_radial_profile(
        &FigureTarget::new(&dir, "kernel_profile_loglog"),
        "177Lu dose point kernel (log–log)",
        &[KernelCurve {
            label: "xfire".into(),
            r_mm: r_um.iter().map(|r| r * 0.2).collect(),
            gy_per_decay: k,
            sigma_gy_per_decay: Some(s),
            reference: false,
        }],
        true,
    )?;

    let report = Report {
        title: "xfire run: TIL spheroid, 177Lu (demo data)".into(),
        run: RunInfo {
            xfire_version: env!("CARGO_PKG_VERSION").into(),
            seed: Some(20_261_127),
            decays: Some(10_000_000),
            wall_time_s: Some(t0.elapsed().as_secs_f64()),
            command_line: Some("cargo run -p xfire-report --example report_demo".into()),
            extra: vec![("threads".into(), "2".into())],
        },
        sections: vec![
            Section {
                heading: "Scenario".into(),
                blocks: vec![
                    Block::Text("Synthetic data standing in for a run: a tumour spheroid with tumour-infiltrating lymphocytes, 7.4 GBq of 177Lu.".into()),
                    Block::List(vec!["phantom: 160 × 120 × 80 voxels of 2 µm".into(), "nuclide: 177Lu (T½ = 6.647 d)".into()]),
                    Block::Code("xfire run phantoms/til-spheroid.toml --seed 20261127".into()),
                ],
            },
            Section {
                heading: "Absorbed dose".into(),
                blocks: vec![
                    Block::Table(Table {
                        caption: Some("Mean absorbed dose per target, to infinity".into()),
                        header: vec!["target".into(), "cells".into(), "mean dose (Gy)".into(), "dose per decay (Gy)".into()],
                        rows: vec![
                            vec!["tumour cells".into(), Cell::Int(2000), Cell::NumSigma(10.41, 0.052), Cell::Num(1.234e-12)],
                            vec!["lymphocytes | in tumour".into(), Cell::Int(400), Cell::NumSigma(2.113, 0.031), Cell::Num(2.5e-13)],
                        ],
                    }),
                    Block::Figure(FigureRef { stem: "dose_rate".into(), caption: "Mean dose rate per target.".into() }),
                    Block::Figure(FigureRef { stem: "cumulative_dose".into(), caption: "Cumulative absorbed dose.".into() }),
                    Block::Figure(FigureRef { stem: "dose_histogram".into(), caption: "Per-cell dose distribution.".into() }),
                    Block::Figure(FigureRef { stem: "dose_slice".into(), caption: "Central slice of the dose map with cell outlines.".into() }),
                ],
            },
            Section {
                heading: "Immunotherapy window".into(),
                blocks: vec![Block::Figure(FigureRef { stem: "survival".into(), caption: "Lymphocyte survival against immunotherapy start day.".into() })],
            },
            Section {
                heading: "Kernel".into(),
                blocks: vec![Block::Figure(FigureRef { stem: "kernel_profile".into(), caption: "Radial dose profile of the point kernel.".into() })],
            },
        ],
    };
    let files = write_report(&dir, &report)?;
    println!("{}\n{}", files.markdown.display(), files.html.display());
    Ok(())
}
