//! End-to-end tests of `xfire chain` (layout in docs/formats/chain.md).

use std::process::Command;

fn xfire(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xfire"))
        .args(args)
        .output()
        .expect("run xfire")
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn json_matches_radioactivedecay_for_ac225() {
    // radioactivedecay 0.6.1 InventoryHP({'Ac-225': 1e6}, 'Bq') at 1 d and 10 d (values
    // from crates/xfire-kinetics/tests/rd_refs/mod.rs, scaled by 1e6)
    let out = xfire(&[
        "chain",
        "225Ac",
        "--times",
        "1d,10d",
        "--activity",
        "1MBq",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "xfire-chain/1");
    assert_eq!(v["parent"], "Ac-225");
    assert_eq!(v["times_s"], serde_json::json!([86400.0, 864000.0]));
    let members = v["members"].as_array().unwrap();
    let names: Vec<&str> = members
        .iter()
        .map(|m| m["nuclide"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Ac-225", "Fr-221", "At-217", "Bi-213", "Po-213", "Tl-209", "Pb-209", "Bi-209"]
    );
    let expect = [
        ("Ac-225", 0.9330329915368074, 0.5, 83473.60695524684),
        (
            "Bi-213",
            0.9362026139416385,
            0.5016985587767276,
            79373.12997461986,
        ),
        (
            "Po-213",
            0.9166359793147142,
            0.4912130589006819,
            77714.23155259612,
        ),
        (
            "Tl-209",
            0.01956957142573066,
            0.010487073667752776,
            1655.2377355893263,
        ),
    ];
    for (name, a1d, a10d, n1d) in expect {
        let m = members.iter().find(|m| m["nuclide"] == name).unwrap();
        let a = m["activity_bq"].as_array().unwrap();
        let n = m["cumulated_decays"].as_array().unwrap();
        assert!(rel(a[0].as_f64().unwrap(), 1e6 * a1d) < 1e-9, "{name}");
        assert!(rel(a[1].as_f64().unwrap(), 1e6 * a10d) < 1e-9, "{name}");
        assert!(rel(n[0].as_f64().unwrap(), 1e6 * n1d) < 1e-9, "{name}");
    }
    let bi209 = members.last().unwrap();
    assert_eq!(bi209["stable"], true);
    assert!(bi209["half_life_s"].is_null());
    assert_eq!(bi209["activity_bq"], serde_json::json!([0.0, 0.0]));
}

#[test]
fn table_output_and_default_activity() {
    let out = xfire(&["chain", "I-131", "--times", "1h"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("1.000000e0 Bq of I-131"), "{text}");
    assert!(
        text.contains("Xe-131m") && text.contains("stable"),
        "{text}"
    );
}

#[test]
fn bad_input_fails_with_the_offending_value() {
    let out = xfire(&["chain", "Qq-12", "--times", "1h"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Qq-12"));
    let out = xfire(&["chain", "Lu-177", "--times", "1 fortnight"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fortnight"));
    let out = xfire(&["chain", "Lu-177", "--times", "-2h"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-7200 s"));
}

/// Issue 16: SI prefixes are case-exact ("1 mBq" is a millibecquerel, not a megabecquerel)
/// and a wrongly cased unit is refused with the exact spelling suggested.
#[test]
fn activity_prefixes_are_case_exact() {
    for (text, want) in [
        ("1 mBq", 1e-3),
        ("1 MBq", 1e6),
        ("1 MCi", 3.7e16),
        ("1 mCi", 3.7e7),
    ] {
        let out = xfire(&[
            "chain",
            "Lu-177",
            "--times",
            "1s",
            "--activity",
            text,
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let a0 = v["initial_activity_bq"].as_f64().unwrap();
        assert!(rel(a0, want) < 1e-12, "{text}: {a0} != {want}");
    }
    let out = xfire(&["chain", "Lu-177", "--times", "1s", "--activity", "1 gbq"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"1 gbq\"") && err.contains("\"GBq\""),
        "{err}"
    );
    let out = xfire(&["chain", "Lu-177", "--times", "1m", "--activity", "1 GBq"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"min\""), "{err}");
}
