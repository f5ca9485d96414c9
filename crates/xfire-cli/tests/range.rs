//! End-to-end tests of `xfire range` (layout in docs/formats/range.md).

use std::process::Command;

fn xfire(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xfire"))
        .args(args)
        .output()
        .expect("run xfire")
}

#[test]
fn alpha_json_has_documented_keys() {
    let out = xfire(&["range", "alpha", "5.8 MeV", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in [
        "particle",
        "material",
        "energy_mev",
        "csda_range_cm",
        "csda_range_um",
        "projected_range_cm",
        "stopping_power_mev_cm2_g",
    ] {
        assert!(!v[k].is_null(), "missing {k}");
    }
    assert_eq!(v["particle"], "alpha");
    assert_eq!(v["material"], "water");
    // 225Ac 5.830 MeV line: 47.5 µm (refdata quick reference); 5.8 MeV a little less
    let r = v["csda_range_um"].as_f64().unwrap();
    assert!(r > 46.5 && r < 47.5, "{r}");
}

#[test]
fn electron_text_and_two_word_energy() {
    let out = xfire(&[
        "range",
        "electron",
        "1",
        "MeV",
        "--material",
        "bone_cortical",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("CSDA range") && text.contains("bone_cortical"),
        "{text}"
    );
    let out = xfire(&["range", "electron", "1MeV", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // ESTAR water 1 MeV: 0.4367 g/cm2, collision 1.849, radiative 0.012798 MeV cm2/g
    assert!((v["csda_range_cm"].as_f64().unwrap() / 0.4367 - 1.0).abs() < 1e-3);
    let col = v["collision_stopping_power_mev_cm2_g"].as_f64().unwrap();
    assert!((col / 1.849 - 1.0).abs() < 1e-3);
    let rad = v["radiative_stopping_power_mev_cm2_g"].as_f64().unwrap();
    assert!((rad / 0.012798 - 1.0).abs() < 2e-3);
}

#[test]
fn unknown_material_lists_builtins() {
    let out = xfire(&["range", "alpha", "5 MeV", "--material", "blood"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for n in [
        "water",
        "soft_tissue_icru",
        "soft_tissue_icrp",
        "bone_cortical",
        "lung",
        "air",
    ] {
        assert!(err.contains(n), "{err}");
    }
}
