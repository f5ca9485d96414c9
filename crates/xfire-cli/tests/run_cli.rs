//! End-to-end tests of `xfire run` on the tiny shipped scenario.

use std::path::{Path, PathBuf};
use std::process::Command;

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
