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
    // condensed history creates bremsstrahlung photons (escaping: no photon transport in
    // this model); the straight-line model deposits radiative losses along the track
    let key = "escaped_photon_mev_per_decay";
    let (a, b) = (c[key].as_f64().unwrap(), s[key].as_f64().unwrap());
    assert!(a > 1e-3 && b == 0.0, "{a} vs {b}");
}
