//! Every figure function on small synthetic data: PNG signature and size, SVG text, errors.

use std::path::Path;
use xfire_report::*;

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert!(
        b.len() > 1000,
        "{} is only {} bytes",
        path.display(),
        b.len()
    );
    assert_eq!(
        &b[..8],
        b"\x89PNG\r\n\x1a\n",
        "not a PNG: {}",
        path.display()
    );
    assert_eq!(&b[12..16], b"IHDR");
    let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
    let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
    (w, h)
}

fn svg_text(path: &Path) -> String {
    let s = std::fs::read_to_string(path).unwrap();
    assert!(s.contains("<svg"), "{} is not an SVG", path.display());
    s
}

/// Checks both files, that the SVG holds every expected text, and that no temporary file is
/// left in the directory.
fn check(w: &WrittenFigure, size: (u32, u32), texts: &[&str]) {
    assert_eq!(png_size(&w.png), size);
    let svg = svg_text(&w.svg);
    for t in texts {
        assert!(svg.contains(t), "{} lacks the text {t:?}", w.svg.display());
    }
    let dir = w.png.parent().unwrap();
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp"), "temporary file left: {name}");
    }
}

fn days() -> Vec<f64> {
    (0..50).map(|i| 0.5 * f64::from(i)).collect()
}

#[test]
fn dose_rate_and_cumulative_dose() {
    let dir = tempfile::tempdir().unwrap();
    let t = days();
    let mut rate: Vec<f64> = t.iter().map(|d| 0.2 * (-0.1 * d).exp()).collect();
    rate[0] = 0.0; // skipped on the log axis
    rate[3] = f64::NAN; // a gap
    let series = [
        TimeSeries::new("tumour cells", t.clone(), rate.clone()),
        TimeSeries::from_seconds(
            "lymphocytes",
            &t.iter().map(|d| d * 86_400.0).collect::<Vec<_>>(),
            rate.iter().map(|r| r / 5.0).collect(),
        ),
    ];
    let w =
        dose_rate_vs_time(&FigureTarget::new(dir.path(), "rate"), "Dose rate", &series).unwrap();
    check(
        &w,
        (1000, 700),
        &[
            "Dose rate (Gy/h)",
            "Time after administration (d)",
            "tumour cells",
            "lymphocytes",
            "10⁻¹",
        ],
    );

    let cum: Vec<f64> = t.iter().map(|d| 48.0 * (1.0 - (-0.1 * d).exp())).collect();
    let w = cumulative_dose_vs_time(
        &FigureTarget::new(dir.path(), "cum").with_size(800, 500),
        "Cumulative",
        &[TimeSeries::new("tumour cells", t.clone(), cum)],
    )
    .unwrap();
    check(
        &w,
        (800, 500),
        &[
            "Cumulative absorbed dose (Gy)",
            "Time after administration (d)",
        ],
    );
}

#[test]
fn text_comes_from_the_embedded_font() {
    // With no text renderer the two PNGs would be identical: only the titles differ.
    let dir = tempfile::tempdir().unwrap();
    let s = [TimeSeries::new(
        "a",
        vec![0.0, 1.0, 2.0],
        vec![1.0, 2.0, 3.0],
    )];
    let a = cumulative_dose_vs_time(&FigureTarget::new(dir.path(), "a"), "Title one", &s).unwrap();
    let b =
        cumulative_dose_vs_time(&FigureTarget::new(dir.path(), "b"), "Another title", &s).unwrap();
    assert_ne!(std::fs::read(a.png).unwrap(), std::fs::read(b.png).unwrap());
}

#[test]
fn time_plots_reject_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let target = FigureTarget::new(dir.path(), "x");
    assert!(matches!(
        dose_rate_vs_time(&target, "t", &[]),
        Err(ReportError::Empty { .. })
    ));
    let short = [TimeSeries::new("s", vec![0.0, 1.0], vec![1.0])];
    let e = dose_rate_vs_time(&target, "t", &short).unwrap_err();
    assert!(
        matches!(
            e,
            ReportError::LengthMismatch {
                a_len: 2,
                b_len: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("series 's'"), "{e}");
    let nothing = [TimeSeries::new("s", vec![0.0, 1.0], vec![0.0, f64::NAN])];
    let e = dose_rate_vs_time(&target, "t", &nothing).unwrap_err();
    assert!(matches!(e, ReportError::NothingPlottable { .. }), "{e}");
    let no_points = [TimeSeries::new("s", vec![], vec![])];
    assert!(matches!(
        cumulative_dose_vs_time(&target, "t", &no_points),
        Err(ReportError::Empty { .. })
    ));
    let bad_stem = FigureTarget::new(dir.path(), "a/b");
    let ok = [TimeSeries::new("s", vec![0.0, 1.0], vec![1.0, 2.0])];
    assert!(matches!(
        cumulative_dose_vs_time(&bad_stem, "t", &ok),
        Err(ReportError::Invalid { .. })
    ));
    let tiny = FigureTarget::new(dir.path(), "tiny").with_size(10, 10);
    assert!(matches!(
        cumulative_dose_vs_time(&tiny, "t", &ok),
        Err(ReportError::Invalid { .. })
    ));
    // Nothing was written by the failed calls.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn survival_with_target_and_windows() {
    let dir = tempfile::tempdir().unwrap();
    let d = days();
    let s1: Vec<f64> = d.iter().map(|x| 1.0 - 0.9 * (-0.2 * x).exp()).collect();
    let mut s2: Vec<f64> = d.iter().map(|x| 1.0 - (-0.05 * x).exp()).collect();
    s2[4] = f64::NAN;
    let curves = [
        SurvivalCurve {
            label: "177Lu".into(),
            start_days: d.clone(),
            survival: s1,
            window_day: Some(11.0),
            window_end_day: Some(20.0),
        },
        SurvivalCurve {
            label: "225Ac".into(),
            start_days: d.clone(),
            survival: s2,
            window_day: None,
            window_end_day: None,
        },
    ];
    let w = survival_vs_start_day(
        &FigureTarget::new(dir.path(), "surv"),
        "Survival",
        &curves,
        Some(0.9),
    )
    .unwrap();
    check(
        &w,
        (1000, 700),
        &[
            "Lymphocyte survival (%)",
            "Immunotherapy start (d after administration)",
            "target 90 %",
            "177Lu: window d 11–20",
            "225Ac: target not reached",
            "window opens",
            "window closes",
        ],
    );
    // the legend sits right of the plot area, never over the curves
    let svg = std::fs::read_to_string(&w.svg).unwrap();
    let x_of = |text: &str| -> f64 {
        let i = svg.find(&format!(">\n{text}\n<")).expect(text);
        let tag = &svg[svg[..i].rfind("<text").unwrap()..i];
        let x = tag.split("x=\"").nth(1).unwrap();
        x[..x.find('"').unwrap()].parse().unwrap()
    };
    for entry in ["target 90 %", "window closes", "177Lu: window d 11–20"] {
        assert!(
            x_of(entry) > 700.0,
            "legend entry {entry:?} at x {}",
            x_of(entry)
        );
    }

    let bad = [SurvivalCurve {
        label: "x".into(),
        start_days: vec![0.0],
        survival: vec![1.5],
        window_day: None,
        window_end_day: None,
    }];
    let e =
        survival_vs_start_day(&FigureTarget::new(dir.path(), "bad"), "S", &bad, None).unwrap_err();
    assert!(e.to_string().contains("1.5"), "{e}");
    let e = survival_vs_start_day(
        &FigureTarget::new(dir.path(), "bad"),
        "S",
        &curves,
        Some(90.0),
    )
    .unwrap_err();
    assert!(matches!(e, ReportError::Invalid { .. }), "{e}");
    assert!(matches!(
        survival_vs_start_day(&FigureTarget::new(dir.path(), "bad"), "S", &[], None),
        Err(ReportError::Empty { .. })
    ));
}

#[test]
fn histograms_linear_log_counts_and_fraction() {
    let dir = tempfile::tempdir().unwrap();
    let tumour: Vec<f64> = (0..300)
        .map(|i| 5.0 + 10.0 * f64::from(i % 17) / 17.0)
        .collect();
    let mut lymph: Vec<f64> = (0..50).map(|i| 0.5 + f64::from(i % 7) / 7.0).collect();
    lymph.push(f64::NAN);
    lymph.push(-1.0);
    let groups = [
        DoseGroup {
            name: "tumour cells".into(),
            doses_gy: tumour,
        },
        DoseGroup {
            name: "lymphocytes".into(),
            doses_gy: lymph,
        },
    ];
    let w = dose_histograms(
        &FigureTarget::new(dir.path(), "h"),
        "Histogram",
        &groups,
        &HistogramOptions::default(),
    )
    .unwrap();
    check(
        &w,
        (1000, 700),
        &[
            "Absorbed dose per cell (Gy)",
            "Fraction of cells per bin",
            "tumour cells (n = 300",
            "lymphocytes (n = 50",
            "2 invalid skipped",
        ],
    );

    // Doses over many decades, with zeros: log bins, zeros reported.
    let wide = [DoseGroup {
        name: "cells".into(),
        doses_gy: vec![0.0, 0.0, 1e-4, 1e-2, 1.0, 30.0],
    }];
    let opts = HistogramOptions {
        bins: 12,
        fraction: false,
        log_bins: None,
    };
    let w = dose_histograms(&FigureTarget::new(dir.path(), "hlog"), "Log", &wide, &opts).unwrap();
    check(
        &w,
        (1000, 700),
        &["Number of cells per bin", "2 at 0 Gy not shown", "10⁻²"],
    );

    let target = FigureTarget::new(dir.path(), "bad");
    assert!(matches!(
        dose_histograms(&target, "t", &[], &HistogramOptions::default()),
        Err(ReportError::Empty { .. })
    ));
    let all_nan = [DoseGroup {
        name: "n".into(),
        doses_gy: vec![f64::NAN],
    }];
    assert!(matches!(
        dose_histograms(&target, "t", &all_nan, &HistogramOptions::default()),
        Err(ReportError::NothingPlottable { .. })
    ));
    let zeros = [DoseGroup {
        name: "z".into(),
        doses_gy: vec![0.0, 0.0],
    }];
    let log = HistogramOptions {
        log_bins: Some(true),
        ..HistogramOptions::default()
    };
    assert!(matches!(
        dose_histograms(&target, "t", &zeros, &log),
        Err(ReportError::NothingPlottable { .. })
    ));
    // All-zero doses on linear bins are fine.
    assert!(dose_histograms(&target, "t", &zeros, &HistogramOptions::default()).is_ok());
    let no_bins = HistogramOptions {
        bins: 0,
        ..HistogramOptions::default()
    };
    assert!(matches!(
        dose_histograms(&target, "t", &groups, &no_bins),
        Err(ReportError::Invalid { .. })
    ));
}

#[test]
fn dose_slice_log_and_linear_with_outlines() {
    let dir = tempfile::tempdir().unwrap();
    let (nx, ny) = (40, 30);
    let mut values = vec![0.0; nx * ny];
    let mut ids = vec![0u32; nx * ny];
    for j in 0..ny {
        for i in 0..nx {
            let r = ((i as f64 - 20.0).powi(2) + (j as f64 - 15.0).powi(2)).sqrt();
            values[i + nx * j] = 5.0 * (-r / 4.0).exp();
            if r < 8.0 {
                ids[i + nx * j] = 1;
            }
        }
    }
    values[0] = f64::NAN;
    let mut s = DoseSlice::new(nx, ny, &values, (2.0, 2.0));
    s.outlines = Some(&ids);
    let w = dose_slice(&FigureTarget::new(dir.path(), "slice"), "Slice", &s).unwrap();
    check(
        &w,
        (1000, 700),
        &["x (µm)", "y (µm)", "Absorbed dose (Gy)", "<image"],
    );
    s.scale = ColourScale::Linear;
    s.range = Some((0.0, 6.0));
    s.value_label = "Dose per decay (Gy)".into();
    let w = dose_slice(&FigureTarget::new(dir.path(), "slice_lin"), "Slice", &s).unwrap();
    check(&w, (1000, 700), &["Dose per decay (Gy)"]);

    let t = FigureTarget::new(dir.path(), "bad");
    let short = DoseSlice::new(nx, ny, &values[..10], (2.0, 2.0));
    assert!(matches!(
        dose_slice(&t, "s", &short),
        Err(ReportError::LengthMismatch { .. })
    ));
    let mut bad_ids = DoseSlice::new(nx, ny, &values, (2.0, 2.0));
    bad_ids.outlines = Some(&ids[..5]);
    assert!(matches!(
        dose_slice(&t, "s", &bad_ids),
        Err(ReportError::LengthMismatch { .. })
    ));
    assert!(matches!(
        dose_slice(&t, "s", &DoseSlice::new(0, 3, &[], (1.0, 1.0))),
        Err(ReportError::Empty { .. })
    ));
    assert!(matches!(
        dose_slice(&t, "s", &DoseSlice::new(nx, ny, &values, (0.0, 2.0))),
        Err(ReportError::Invalid { .. })
    ));
    let zeros = vec![0.0; 4];
    assert!(matches!(
        dose_slice(&t, "s", &DoseSlice::new(2, 2, &zeros, (1.0, 1.0))),
        Err(ReportError::NothingPlottable { .. })
    ));
    let mut lin0 = DoseSlice::new(2, 2, &zeros, (1.0, 1.0));
    lin0.scale = ColourScale::Linear;
    assert!(
        dose_slice(&t, "s", &lin0).is_ok(),
        "an all-zero map is drawable on a linear scale"
    );
    let mut bad_range = DoseSlice::new(nx, ny, &values, (2.0, 2.0));
    bad_range.range = Some((0.0, 1.0));
    assert!(
        matches!(
            dose_slice(&t, "s", &bad_range),
            Err(ReportError::Invalid { .. })
        ),
        "log range must be positive"
    );
}

#[test]
fn kernel_profile_with_band_and_reference() {
    let dir = tempfile::tempdir().unwrap();
    let r: Vec<f64> = (1..60).map(|i| 0.005 * f64::from(i)).collect();
    let d: Vec<f64> = r
        .iter()
        .map(|r| 1e-8 / (r * r) * (-r / 0.1).exp())
        .collect();
    let sigma: Vec<f64> = d.iter().map(|d| 0.1 * d).collect();
    let mut with_zero = d.clone();
    with_zero[58] = 0.0;
    let curves = [
        KernelCurve {
            label: "xfire".into(),
            r_mm: r.clone(),
            gy_per_decay: with_zero,
            sigma_gy_per_decay: Some(sigma),
            reference: false,
        },
        KernelCurve {
            label: "reference".into(),
            r_mm: r.clone(),
            gy_per_decay: d.clone(),
            sigma_gy_per_decay: None,
            reference: true,
        },
    ];
    let w = kernel_radial_profile(
        &FigureTarget::new(dir.path(), "k"),
        "Kernel",
        &curves,
        false,
    )
    .unwrap();
    // r below 0.5 mm is shown in µm.
    check(
        &w,
        (1000, 700),
        &[
            "Distance from the point source (µm)",
            "Absorbed dose per decay (Gy)",
            "xfire (band: ±1σ)",
            "reference",
        ],
    );
    let mm: Vec<f64> = r.iter().map(|r| r * 20.0).collect();
    let one = [KernelCurve {
        label: "k".into(),
        r_mm: mm,
        gy_per_decay: d,
        sigma_gy_per_decay: None,
        reference: false,
    }];
    let w = kernel_radial_profile(&FigureTarget::new(dir.path(), "k_mm"), "Kernel", &one, true)
        .unwrap();
    check(&w, (1000, 700), &["Distance from the point source (mm)"]);

    let t = FigureTarget::new(dir.path(), "bad");
    assert!(matches!(
        kernel_radial_profile(&t, "k", &[], false),
        Err(ReportError::Empty { .. })
    ));
    let bad_sigma = [KernelCurve {
        label: "k".into(),
        r_mm: vec![1.0, 2.0],
        gy_per_decay: vec![1.0, 2.0],
        sigma_gy_per_decay: Some(vec![0.1]),
        reference: false,
    }];
    assert!(matches!(
        kernel_radial_profile(&t, "k", &bad_sigma, false),
        Err(ReportError::LengthMismatch { .. })
    ));
    let zeros = [KernelCurve {
        label: "k".into(),
        r_mm: vec![1.0, 2.0],
        gy_per_decay: vec![0.0, 0.0],
        sigma_gy_per_decay: None,
        reference: false,
    }];
    assert!(matches!(
        kernel_radial_profile(&t, "k", &zeros, false),
        Err(ReportError::NothingPlottable { .. })
    ));
}

#[test]
fn tick_numbers_are_compact() {
    assert_eq!(format_number(0.25), "0.25");
    assert_eq!(format_number(1200.0), "1200");
    assert_eq!(format_number(3e-5), "3×10⁻⁵");
    assert_eq!(format_number(1e6), "10⁶");
    assert_eq!(format_number(0.0), "0");
}

/// Small multiples: one panel per nuclide, common axes (the same tick labels in every
/// panel), one legend strip; histograms of every panel on one set of bins.
#[test]
fn panels_share_axes_and_one_legend() {
    let dir = tempfile::tempdir().unwrap();
    let t: Vec<f64> = (1..200).map(|i| 0.01 * 1.05f64.powi(i)).collect();
    let panel = |name: &str, half_d: f64, peak: f64| TimePanel {
        title: name.into(),
        series: vec![
            TimeSeries::new(
                "tumour cells",
                t.clone(),
                t.iter().map(|d| peak * (-d / half_d).exp()).collect(),
            ),
            TimeSeries::new(
                "resident lymphocytes",
                t.clone(),
                t.iter().map(|d| 0.3 * peak * (-d / half_d).exp()).collect(),
            )
            .dashed(),
        ],
    };
    let panels = [
        panel("Lu-177", 6.6, 0.15),
        panel("Bi-213", 0.03, 6.0),
        panel("Ac-225", 10.0, 0.13),
    ];
    let w = time_panels(
        &FigureTarget::new(dir.path(), "rate").with_size(1400, 670),
        "Dose rate",
        &panels,
        TimeQuantity::DoseRate,
        4,
    )
    .unwrap();
    check(
        &w,
        (1400, 670),
        &[
            "Dose rate",
            "Lu-177",
            "Bi-213",
            "Ac-225",
            "tumour cells",
            "resident lymphocytes",
            "Time after administration (h)",
        ],
    );
    // one legend strip, not one per panel
    let svg = svg_text(&w.svg);
    assert_eq!(svg.matches(">\nresident lymphocytes\n<").count(), 1);
    // common axes: the top decade (10 Gy/h, above Bi-213's 6 Gy/h) in all three panels
    assert_eq!(
        svg.matches(">\n10\n<").count(),
        3 + 3,
        "10 Gy/h and 10 h in each panel"
    );
    assert!(matches!(
        time_panels(
            &FigureTarget::new(dir.path(), "none"),
            "x",
            &[],
            TimeQuantity::CumulativeDose,
            4
        ),
        Err(ReportError::Empty { .. })
    ));

    let hp = |name: &str, scale: f64| HistogramPanel {
        title: name.into(),
        groups: vec![DoseGroup {
            name: "tumour cells".into(),
            doses_gy: (1..100).map(|i| scale * f64::from(i)).collect(),
        }],
    };
    let w = dose_histogram_panels(
        &FigureTarget::new(dir.path(), "hist").with_size(1400, 670),
        "Per-cell dose",
        &[hp("Lu-177", 1.0), hp("Ac-225", 0.01)],
        &HistogramOptions::default(),
        4,
    )
    .unwrap();
    check(&w, (1400, 670), &["Per-cell dose", "Lu-177", "Ac-225"]);
    // one common log dose axis from 10⁻² to 10² Gy in both panels
    let svg = svg_text(&w.svg);
    assert_eq!(svg.matches(">\n10⁻²\n<").count(), 2, "common lower edge");
    assert_eq!(svg.matches(">\n10²\n<").count(), 2, "common upper edge");
}

/// The kernel's dE/dr figure: linear axis in MeV/µm, distance from the point source; the
/// voxel-source dose profile says so on its axis.
#[test]
fn radial_profiles_name_quantity_and_source() {
    let dir = tempfile::tempdir().unwrap();
    let r: Vec<f64> = (0..40).map(|i| 1e-3 * f64::from(i)).collect();
    let c = KernelCurve {
        label: "xfire".into(),
        r_mm: r.clone(),
        gy_per_decay: r.iter().map(|x| 0.1 + 3.0 * x).collect(),
        sigma_gy_per_decay: None,
        reference: false,
    };
    let w = radial_profile(
        &FigureTarget::new(dir.path(), "dedr"),
        "Energy per radius",
        std::slice::from_ref(&c),
        false,
        RadialQuantity::EnergyPerRadius,
    )
    .unwrap();
    check(
        &w,
        (1000, 700),
        &[
            "dE/dr (MeV/µm per decay)",
            "Distance from the point source (µm)",
        ],
    );
    let w = radial_profile(
        &FigureTarget::new(dir.path(), "vox"),
        "Dose",
        &[c],
        false,
        RadialQuantity::DosePerDecayVoxelSource,
    )
    .unwrap();
    check(
        &w,
        (1000, 700),
        &[
            "Absorbed dose per decay (Gy)",
            "Distance from the source-voxel centre (µm)",
        ],
    );
}
