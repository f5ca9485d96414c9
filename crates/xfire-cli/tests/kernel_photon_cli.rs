//! End-to-end tests of `xfire kernel` with photons: `--particle photon --energy E` and a
//! nuclide's full emission (`--emissions all`) at mm voxels.

use std::process::Command;

fn xfire(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xfire"))
        .args(args)
        .output()
        .expect("run xfire")
}

fn ok(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn balance(v: &serde_json::Value) -> (f64, f64, f64, f64) {
    let e = v["emitted_mev_per_decay"].as_f64().unwrap();
    let d = v["deposited_mev_per_decay"].as_f64().unwrap();
    let x = v["escaped_mev_per_decay"].as_f64().unwrap();
    let p = v["escaped_photon_mev_per_decay"].as_f64().unwrap();
    assert!(
        (e - d - x).abs() < 1e-9 * e,
        "emitted {e}, deposited {d}, escaped {x}"
    );
    (e, d, x, p)
}

/// 208 keV photons from the centre voxel of a 15³ box of 4.42 mm water voxels: part of the
/// energy is deposited (Compton electrons), most escapes as photons, energy balance closes.
#[test]
fn photon_particle_kernel() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g208");
    let v = ok(&xfire(&[
        "kernel",
        "--particle",
        "photon",
        "--energy",
        "208 keV",
        "--voxel",
        "4.42mm",
        "--grid",
        "15",
        "--source",
        "voxel",
        "--decays",
        "20000",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--json",
    ]));
    let (e, d, _, p) = balance(&v);
    assert!((e - 0.208).abs() < 1e-12);
    // a 6.6 cm water cube keeps roughly a quarter of a 208 keV photon's energy
    assert!(d > 0.1 * e && d < 0.5 * e, "deposited {d}");
    assert!(p > 0.5 * e, "escaped photons {p}");
    assert!(v["photons"].as_str().unwrap().starts_with("transported"));
    assert!(out.join("kernel.csv").exists() && out.join("kernel.h5").exists());
}

/// 177Lu, all emissions, 4.42 mm voxels: the photons now deposit energy (more than with the
/// electrons only) and the balance closes.
#[test]
fn lu177_all_emissions_kernel() {
    let dir = tempfile::tempdir().unwrap();
    let run = |emissions: &str| {
        let out = dir.path().join(emissions);
        ok(&xfire(&[
            "kernel",
            "--nuclide",
            "Lu-177",
            "--emissions",
            emissions,
            "--voxel",
            "4.42mm",
            "--grid",
            "15",
            "--source",
            "voxel",
            "--decays",
            "50000",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
            "--json",
        ]))
    };
    let all = run("all");
    let el = run("electrons");
    let (e_all, d_all, _, p_all) = balance(&all);
    let (e_el, d_el, _, _) = balance(&el);
    // 177Lu photons: 0.03509 MeV/decay emitted (ICRP-107 γ + X; β energy differs by sampling)
    let photon_emitted = e_all - e_el;
    assert!((photon_emitted - 0.03509).abs() < 0.003, "{photon_emitted}");
    let photon_deposited = d_all - d_el;
    assert!(
        photon_deposited > 0.1 * photon_emitted && photon_deposited < 0.6 * photon_emitted,
        "photons deposit {photon_deposited} of {photon_emitted} MeV/decay"
    );
    assert!(p_all > 0.3 * photon_emitted && p_all < photon_emitted);
}
