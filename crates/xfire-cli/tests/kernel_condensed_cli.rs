//! `xfire kernel --electron-model condensed` end to end: the model is reported, energy is
//! conserved, and bremsstrahlung photons are created (the straight-line model creates none).

use std::process::Command;

fn kernel(model: &str, dir: &std::path::Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_xfire"))
        .args([
            "kernel",
            "--particle",
            "electron",
            "--energy",
            "1 MeV",
            "--voxel",
            "0.25 mm",
            "--grid",
            "41",
            "--source",
            "point",
            "--decays",
            "4000",
            "--electron-model",
            model,
            "--out",
            dir.join(model).to_str().unwrap(),
            "--json",
            "--quiet",
        ])
        .output()
        .expect("run xfire");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn condensed_history_kernel_runs_and_conserves_energy() {
    let dir = tempfile::tempdir().unwrap();
    let c = kernel("condensed", dir.path());
    assert_eq!(c["electron_model"], "condensed-history");
    let e = c["emitted_mev_per_decay"].as_f64().unwrap();
    let d = c["deposited_mev_per_decay"].as_f64().unwrap();
    let x = c["escaped_mev_per_decay"].as_f64().unwrap();
    assert!((e - d - x).abs() < 1e-9 * e, "{e} {d} {x}");
    assert!((e - 1.0).abs() < 1e-12);
    let s = kernel("csda", dir.path());
    assert_eq!(s["electron_model"], "csda-straight-line");
    // condensed history creates bremsstrahlung photons (transported, Woodcock tracking; most
    // leave the 1 cm cube); the straight-line model deposits radiative losses along the track
    let key = "escaped_photon_mev_per_decay";
    let (a, b) = (c[key].as_f64().unwrap(), s[key].as_f64().unwrap());
    assert!(a > 1e-3 && b == 0.0, "{a} vs {b}");
}

fn kernel_with_cut(cut: &str, dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xfire"))
        .args([
            "kernel",
            "--particle",
            "electron",
            "--energy",
            "20 keV",
            "--voxel",
            "0.5um",
            "--grid",
            "41",
            "--source",
            "point",
            "--decays",
            "2000",
            "--electron-model",
            "condensed",
            "--electron-cut",
            cut,
            "--out",
            dir.to_str().unwrap(),
            "--json",
            "--quiet",
        ])
        .output()
        .expect("run xfire")
}

/// `--electron-cut` sets the condensed-history cutoff (reported in the summary; a 1 keV cutoff
/// tracks the 20 keV electron's δ rays below 10 keV, so fewer keV end below the cutoff than
/// with 10 keV), and values outside 1 keV–1 MeV are refused with the value and its unit
/// named, writing nothing.
#[test]
fn electron_cut_option() {
    let dir = tempfile::tempdir().unwrap();
    let low = kernel_with_cut("1 keV", &dir.path().join("a"));
    assert!(
        low.status.success(),
        "{}",
        String::from_utf8_lossy(&low.stderr)
    );
    let a: serde_json::Value = serde_json::from_slice(&low.stdout).unwrap();
    assert_eq!(a["condensed_cut_mev"], 0.001);
    let high = kernel_with_cut("10keV", &dir.path().join("b"));
    assert!(high.status.success());
    let b: serde_json::Value = serde_json::from_slice(&high.stdout).unwrap();
    assert_eq!(b["condensed_cut_mev"], 0.01);
    let key = "below_cutoff_mev_per_decay";
    assert!(a[key].as_f64().unwrap() < b[key].as_f64().unwrap());
    for bad in ["0.5 keV", "2 MeV", "ten keV"] {
        let out = kernel_with_cut(bad, &dir.path().join("c"));
        assert!(!out.status.success(), "{bad} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--electron-cut"), "{err}");
        assert!(!dir.path().join("c").join("kernel.h5").exists());
    }
}
