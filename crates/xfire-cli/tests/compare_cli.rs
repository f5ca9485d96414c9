//! End-to-end tests of `xfire compare` on the tiny shipped scenario: two nuclides (a β⁻ and
//! an α emitter), few decays; checks the table, comparison.csv/json, the normalisations, the
//! figures and the report.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

fn xfire() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xfire"))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn compare(out: &Path, extra: &[&str]) -> std::process::Output {
    xfire()
        .arg("compare")
        .arg(root().join("phantoms/tiny-lu177.toml"))
        .args(["--nuclides", "Lu-177,At-211", "--decays", "2000"])
        .args(["--threads", "2", "--quiet"])
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn ok(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "xfire compare failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs())
}

#[test]
fn two_nuclides_equal_tumour_dose_table_files_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp");
    let text = ok(&compare(&out, &[]));
    // the printed table: one column per nuclide, the main rows
    for s in [
        "Lu-177",
        "At-211",
        "Tumour cells, whole treatment",
        "absorbed dose (Gy)",
        "RBE-weighted dose, low LET + 5 × α (Gy)",
        "Resident lymphocytes (the phantom's TILs), whole treatment",
        "Lymphocyte cohort arriving on day 7 at the TIL positions, staying 3 d (d 7–10)",
        "absorbed (physical) dose, mean (Gy)",
        "cross-fire fraction of the dose",
        "time from the peak to half the peak (h)",
        "opens: first safe start day",
        "closes: last safe start day of that run",
    ] {
        assert!(text.contains(s), "table lacks {s:?}:\n{text}");
    }
    // 3 significant figures, floors instead of 1e-173 or 16-digit floats
    for line in text.lines() {
        for w in line.split_whitespace() {
            // significant digits of a number: the mantissa without sign, point and leading
            // zeros (3, and 4 for a cross-fire fraction given to the decimal of its σ)
            let mantissa = w.split('e').next().unwrap_or("");
            if w.contains('.') && mantissa.parse::<f64>().is_ok() {
                let digits = mantissa
                    .trim_start_matches('-')
                    .replace('.', "")
                    .trim_start_matches('0')
                    .len();
                assert!(digits <= 4, "over-long number {w:?} in {line:?}");
            }
            assert!(
                !w.contains("e-1") || w.starts_with("<1e-6"),
                "unfloored tiny number {w:?} in {line:?}"
            );
        }
    }

    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("comparison.json")).unwrap())
            .unwrap();
    assert_eq!(j["format"], "xfire-comparison");
    assert_eq!(j["normalise"], "tumour-dose");
    assert_eq!(j["reference"], "Lu-177");
    let rows = j["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let f = |r: &serde_json::Value, k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    let (lu, at) = (&rows[0], &rows[1]);
    assert_eq!(lu["nuclide"], "Lu-177");
    assert_eq!(at["nuclide"], "At-211");
    // equal mean tumour dose, the reference at the scenario's amount
    assert!(f(lu, "tumour_gy") > 0.0);
    assert!(
        rel(f(lu, "tumour_gy"), f(at, "tumour_gy")) < 1e-9,
        "tumour doses {} vs {}",
        f(lu, "tumour_gy"),
        f(at, "tumour_gy")
    );
    assert!((f(lu, "scale") - 1.0).abs() < 1e-15);
    assert!(rel(f(&j, "normalised_value"), f(lu, "tumour_gy")) < 1e-9);
    // physics sanity: Lu-177 has no α dose, At-211's tumour dose is mostly α, so its
    // RBE-weighted dose is higher; the scale follows the dose per decay
    assert_eq!(f(lu, "tumour_alpha_gy"), 0.0);
    assert!(f(at, "tumour_alpha_gy") > 0.9 * f(at, "tumour_gy"));
    assert!(f(at, "tumour_rbe_weighted_gy") > 2.0 * f(lu, "tumour_rbe_weighted_gy"));
    assert!(f(at, "scale") < 0.1, "At-211 needs far fewer decays per Gy");
    // cross-fire fractions are fractions with an uncertainty; lymphocytes carry no agent,
    // so all their dose is cross-fire
    for r in rows {
        let ct = &r["crossfire_tumour"];
        let v = ct["value"].as_f64().unwrap();
        assert!(v > 0.0 && v < 1.0, "cross-fire {v}");
        assert!(ct["sigma"].as_f64().unwrap() < 0.05);
        assert!((r["crossfire_lymphocyte"]["value"].as_f64().unwrap() - 1.0).abs() < 1e-12);
        // dose-rate half-time: shorter than the nuclide's physical half-life plus uptake
        let h = f(r, "dose_rate_half_time_h");
        assert!(
            h > 0.0 && h * 3600.0 < f(r, "half_life_s") * 1.01,
            "half-time {h} h"
        );
        assert!(!r["lymphocytes"].as_array().unwrap().is_empty());
    }
    // 7.2 h At-211 clears faster than 6.6 d Lu-177
    assert!(f(at, "dose_rate_half_time_h") < f(lu, "dose_rate_half_time_h"));

    // CSV: header and one row per nuclide, same tumour doses
    let csv = std::fs::read_to_string(out.join("comparison.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines.len(), 3, "{csv}");
    let head: Vec<&str> = lines[0].split(',').collect();
    for col in [
        "nuclide",
        "tumour_gy",
        "tumour_rbe_weighted_gy",
        "lymphocyte_resident_gy",
        "lymphocyte_cohort_d7_gy",
        "tumour_to_lymphocyte",
        "crossfire_fraction_tumour",
        "dose_rate_half_time_h",
        "window_day",
        "window_end_day",
        "window_surviving_fraction",
        "lymphocyte_cohort_d7_from_day",
        "lymphocyte_cohort_d7_rbe_weighted_gy",
    ] {
        assert!(head.contains(&col), "CSV lacks column {col}: {}", lines[0]);
    }
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let d: Vec<f64> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(col("tumour_gy")).unwrap().parse().unwrap())
        .collect();
    assert!(rel(d[0], d[1]) < 1e-6);
    for l in &lines[1..] {
        assert_eq!(l.split(',').count(), head.len());
    }

    // figures and the report with the images embedded
    for stem in [
        "survival_vs_start_day",
        "dose_rate",
        "cumulative_dose",
        "cell_dose_histograms",
        "dose_slice",
    ] {
        for ext in ["png", "svg"] {
            let p = out.join(format!("{stem}.{ext}"));
            assert!(
                std::fs::metadata(&p)
                    .map(|m| m.len() > 1000)
                    .unwrap_or(false),
                "{} missing or empty",
                p.display()
            );
        }
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("survival_vs_start_day.png"));
    assert!(md.contains("Seed") || md.contains("seed"));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(common::report_html::validate(&out), 5);
    for s in [
        "How to read this",
        "lymphocyte α = ",
        " Gy⁻¹ (grade A)",
        "RBE_α = 5",
        "Why the models differ",
    ] {
        assert!(html.contains(s), "report lacks {s:?}");
    }
    // the window closes: a JSON day or "still open at the end of the scan"
    for r in rows {
        if r["window_day"].is_number() {
            let (a, b) = (f(r, "window_day"), f(r, "window_end_day"));
            assert!(b >= a, "window {a}..{b}");
            assert!(!r["windows"].as_array().unwrap().is_empty());
        }
    }
}

#[test]
fn equal_decays_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dec");
    ok(&compare(&out, &["--normalise", "decays"]));
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("comparison.json")).unwrap())
            .unwrap();
    let rows = j["rows"].as_array().unwrap();
    let p: Vec<f64> = rows
        .iter()
        .map(|r| r["parent_decays"].as_f64().unwrap())
        .collect();
    assert!(rel(p[0], p[1]) < 1e-9, "parent decays {p:?}");
    // the cross-fire fraction comes from the run's own pass, whatever the normalisation
    let cf = rows[1]["crossfire_tumour"]["value"].as_f64().unwrap();
    assert!(cf > 0.0 && cf < 1.0, "{cf}");

    // equal activity needs an amount given as an activity; the tiny scenario gives decays
    let o = compare(&dir.path().join("act"), &["--normalise", "activity"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("activity"), "{err}");
    // unknown nuclide: named in the message
    let o = xfire()
        .arg("compare")
        .arg(root().join("phantoms/tiny-lu177.toml"))
        .args(["--nuclides", "Lu-177,Xx-999", "--out"])
        .arg(dir.path().join("bad"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("Xx-999"));
}

#[test]
fn completions_and_help() {
    let o = xfire().args(["completions", "bash"]).output().unwrap();
    let s = ok(&o);
    assert!(s.contains("xfire") && s.contains("compare"), "{s}");
    let o = xfire().args(["compare", "--help"]).output().unwrap();
    let s = ok(&o);
    for w in [
        "--nuclides",
        "--normalise",
        "tumour-dose",
        "--out",
        "Examples",
    ] {
        assert!(s.contains(w), "help lacks {w}:\n{s}");
    }
}

/// A short-lived nuclide (213Bi, 46 min, with its chain) against 177Lu: the window opens
/// within two days, the dose-rate half-time is about an hour, and every exposure has a
/// surviving fraction in [0, 1] although the late cohorts of the scan get vanishing doses.
#[test]
fn short_lived_nuclide_late_cohorts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bi");
    let o = xfire()
        .arg("compare")
        .arg(root().join("phantoms/tiny-lu177.toml"))
        .args(["--nuclides", "Lu-177,Bi-213", "--decays", "2000"])
        .args(["--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    ok(&o);
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("comparison.json")).unwrap())
            .unwrap();
    let bi = &j["rows"][1];
    assert_eq!(bi["nuclide"], "Bi-213");
    assert!(bi["window_day"].as_f64().unwrap() <= 2.0);
    assert!(bi["window_survival"].as_f64().unwrap() >= 0.9);
    for e in bi["lymphocytes"].as_array().unwrap() {
        let s = e["surviving_fraction"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&s), "{e}");
    }
    assert!(bi["dose_rate_half_time_h"].as_f64().unwrap() < 1.5);
}
