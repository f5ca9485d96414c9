//! End-to-end tests of `xfire run` on the tiny shipped scenario.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

fn xfire() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xfire"))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run_tiny(out: &Path, threads: usize, cache: &Path) -> std::process::Output {
    let o = xfire()
        .arg("run")
        .arg(root().join("phantoms/tiny-lu177.toml"))
        .arg("--out")
        .arg(out)
        .arg("--cache")
        .arg(cache)
        .arg("--threads")
        .arg(threads.to_string())
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "xfire run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

#[test]
fn tiny_scenario_runs_is_thread_independent_and_reuses_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let o1 = run_tiny(&a, 1, &dir.path().join("cache1"));
    let text = String::from_utf8_lossy(&o1.stdout);
    assert!(text.contains("tumour cells"), "{text}");
    assert!(text.contains("0 from the cache"), "{text}");
    for f in ["results.h5", "summary.json", "summary.csv"] {
        assert!(a.join(f).is_file(), "{f} missing");
    }
    // another thread count, fresh cache: identical bytes
    run_tiny(&b, 2, &dir.path().join("cache2"));
    for f in ["results.h5", "summary.json", "summary.csv"] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs between 1 and 2 threads"
        );
    }
    // second run with the same cache: transport read back, same results
    let o3 = run_tiny(&b, 2, &dir.path().join("cache1"));
    let t3 = String::from_utf8_lossy(&o3.stdout);
    assert!(t3.contains("1 from the cache"), "{t3}");
    for f in ["results.h5", "summary.json", "summary.csv"] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs when the transport comes from the cache"
        );
    }
    // the summary answers the question
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("summary.json")).unwrap()).unwrap();
    let tum = v["tumour"]["mean_gy"].as_f64().unwrap();
    let lym = v["lymphocytes"]["mean_gy"].as_f64().unwrap();
    assert!(tum > 0.0 && lym > 0.0 && tum > lym, "{tum} {lym}");
    let ratio = v["tumour_to_lymphocyte_ratio"][0].as_f64().unwrap();
    assert!((ratio - tum / lym).abs() < 1e-12 * ratio);
    let days = v["window"]["days"].as_array().unwrap();
    assert_eq!(days.len(), 21); // start_days = "0..20"
    let s0 = days[0]["surviving_fraction"].as_f64().unwrap();
    let s20 = days[20]["surviving_fraction"].as_f64().unwrap();
    assert!(s20 > s0, "later cohorts must survive better: {s0} {s20}");
    assert!(v["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "lymphocyte.alpha" && p["grade"] == "A"));
}

#[test]
fn bad_scenario_lists_every_problem_with_its_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("phantoms/tiny-lu177.toml"))
        .unwrap()
        .replace("nuclide = \"Lu-177\"", "nuclide = \"Lu-178x\"")
        .replace("labelled_fraction = 0.8", "labelled_fraction = -0.8")
        .replace("residence = \"3 d\"", "residence = \"3 parsecs\"")
        .replace("[transport]", "[transport]\nthreds = 2");
    let f = dir.path().join("bad.toml");
    std::fs::write(&f, &text).unwrap();
    let out = dir.path().join("out");
    let o = xfire()
        .arg("run")
        .arg(&f)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    let line_of = |needle: &str| 1 + text.lines().position(|l| l.contains(needle)).unwrap();
    for (needle, what) in [
        ("Lu-178x", "unknown nuclide"),
        ("labelled_fraction", "labelled_fraction"),
        ("parsecs", "parsecs"),
        ("threds", "unknown key"),
    ] {
        let l = line_of(needle);
        assert!(
            err.contains(&format!("line {l}:")) && err.contains(what),
            "missing {what} at line {l} in:\n{err}"
        );
    }
    assert!(err.contains("did you mean"), "{err}");
    assert!(!out.exists(), "no output on a bad scenario");
}

/// The tiny scenario with `[transport] electron_model` / `electron_cut` set in the file.
fn run_tiny_with(dir: &Path, name: &str, transport_lines: &str) -> std::process::Output {
    let text = std::fs::read_to_string(root().join("phantoms/tiny-lu177.toml")).unwrap();
    let text = text.replace("[transport]\n", &format!("[transport]\n{transport_lines}"));
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, text).unwrap();
    xfire()
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(dir.join(name))
        .arg("--no-cache")
        .arg("--quiet")
        .output()
        .unwrap()
}

fn h5_str(path: &Path, key: &str) -> Option<String> {
    xfire_io::hdf5::H5Reader::open(path).unwrap().attr_str(key)
}

/// Scenarios use condensed history (1 keV cutoff) by default; `electron_model = "csda"` selects
/// the straight-line model, which gives lower doses at this micrometre scale (no scattering
/// back into the cells); both are recorded in results.h5; bad values are refused with the key
/// and value named, writing nothing.
#[test]
fn scenario_electron_model_option() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, lines) in [
        ("default", ""),
        (
            "ch2",
            "electron_model = \"condensed\"\nelectron_cut = \"2 keV\"\n",
        ),
        ("csda", "electron_model = \"csda\"\n"),
    ] {
        let o = run_tiny_with(d, name, lines);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let h5 = |n: &str| d.join(n).join("results.h5");
    assert_eq!(
        h5_str(&h5("default"), "electron_model").as_deref(),
        Some("condensed-history")
    );
    assert_eq!(
        h5_str(&h5("csda"), "electron_model").as_deref(),
        Some("csda-straight-line")
    );
    let cut = xfire_io::hdf5::H5Reader::open(&h5("ch2"))
        .unwrap()
        .attr_f64("electron_cut_mev");
    assert_eq!(cut, Some(0.002));
    let tumour = |n: &str| -> f64 {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join(n).join("summary.json")).unwrap())
                .unwrap();
        v["tumour"]["mean_gy"].as_f64().unwrap()
    };
    let (ch, st) = (tumour("default"), tumour("csda"));
    assert!(ch > st, "condensed {ch} Gy vs straight line {st} Gy");
    for (name, lines, needle) in [
        (
            "bad1",
            "electron_model = \"mc\"\n",
            "transport.electron_model",
        ),
        (
            "bad2",
            "electron_cut = \"0.1 keV\"\n",
            "transport.electron_cut",
        ),
        (
            "bad3",
            "electron_cut = \"ten keV\"\n",
            "transport.electron_cut",
        ),
    ] {
        let o = run_tiny_with(d, name, lines);
        assert!(!o.status.success(), "{name} accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{name}: {err}");
        assert!(!d.join(name).join("results.h5").exists());
    }
}

/// The run report (figures on): one lymphocyte mean printed, numbers rounded, parameters
/// with units and grades, the window's start and end, a well-formed report.html.
#[test]
fn run_report_reads_like_a_paper() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("phantoms/tiny-lu177.toml")).unwrap();
    let file = dir.path().join("fig.toml");
    std::fs::write(&file, text.replace("figures = false", "figures = true")).unwrap();
    let out = dir.path().join("out");
    let o = xfire()
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .arg("--no-cache")
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    // the resident lymphocytes once (not a second, slightly different per-cell mean)
    assert_eq!(
        stdout.matches("resident lymphocytes (TILs)").count(),
        1,
        "{stdout}"
    );
    assert!(!stdout.contains("resident    day"), "{stdout}");
    assert!(!stdout.contains("0.0000"), "{stdout}");
    assert_eq!(common::report_html::validate(&out), 5);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for s in [
        "How to read this",
        "lymphocyte α = ",
        " Gy⁻¹ (grade A)",
        "lymphocyte RBE_α = 5 (grade A)",
        "resident lymphocytes (TILs)",
        "Immunotherapy window:",
    ] {
        assert!(html.contains(s), "run report lacks {s:?}");
    }
    assert!(!html.contains("1.3888"), "unrounded parameter");
}
