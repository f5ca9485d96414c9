//! End-to-end tests of `xfire svalue` (formats in docs/formats/svalue.md).

use std::process::Command;

fn xfire(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xfire"))
        .args(args)
        .output()
        .expect("run xfire")
}

/// `xfire svalue` for 177Lu in cells of 5/3 µm by `method`, with `extra` arguments.
fn lu177(method: &str, extra: &[&str]) -> std::process::Output {
    let mut a = vec![
        "svalue",
        "--nuclide",
        "Lu-177",
        "--cell-radius",
        "5um",
        "--nucleus-radius",
        "3um",
        "--method",
        method,
    ];
    a.extend_from_slice(extra);
    xfire(&a)
}

/// [`lu177`] by the CSDA method.
fn lu177_csda(extra: &[&str]) -> std::process::Output {
    lu177("csda", extra)
}

const COLUMNS: [&str; 5] = [
    "S_N_from_N",
    "S_N_from_Cy",
    "S_N_from_CS",
    "S_C_from_C",
    "S_C_from_CS",
];

#[test]
fn csda_table_writes_csv_json_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("i125");
    let out = xfire(&[
        "svalue",
        "--nuclide",
        "125I",
        "--cell-radius",
        "5um",
        "--nucleus-radius",
        "3um",
        "--method",
        "csda",
        "--distance",
        "10um,20 um,50um",
        "--json",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "xfire-svalue/1");
    assert_eq!(v["nuclide"], "I-125");
    assert_eq!(v["method"], "csda");
    assert_eq!(v["units"], "Gy/(Bq s)");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows[0]["distance_um"].is_null());
    assert_eq!(rows[3]["distance_um"], serde_json::json!(50.0));
    for r in rows {
        for c in COLUMNS {
            assert!(r[c].as_f64().unwrap() >= 0.0, "{c}");
            assert_eq!(r[format!("{c}_rel_unc")], serde_json::json!(0.0));
        }
    }
    // self-dose from the nucleus falls off with distance
    let nn: Vec<f64> = rows
        .iter()
        .map(|r| r["S_N_from_N"].as_f64().unwrap())
        .collect();
    assert!(nn[0] > nn[1] && nn[1] > nn[2] && nn[2] >= nn[3]);
    for f in [
        "svalues.csv",
        "svalues.json",
        "svalues_vs_distance.png",
        "svalues_vs_distance.svg",
        "xfire-output.json",
    ] {
        assert!(out_dir.join(f).is_file(), "missing {f}");
    }
    let csv = std::fs::read_to_string(out_dir.join("svalues.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5);
    assert!(csv.starts_with("distance_um,S_N_from_N,S_N_from_N_rel_unc,"));
}

#[test]
fn mc_table_has_uncertainties() {
    let out = lu177(
        "mc",
        &[
            "--distance",
            "10um",
            "--decays",
            "400",
            "--voxel",
            "0.5um",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["method"], "mc");
    assert_eq!(v["voxel_um"], serde_json::json!(0.5));
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let u = rows[0]["S_N_from_N_rel_unc"].as_f64().unwrap();
    assert!(u > 0.0 && u < 0.2, "{u}");
    assert!(v["mc"]["max_history_imbalance_rel"].as_f64().unwrap() < 1e-9);
}

/// Runs a bad command with --out and checks the message and that no folder is left.
fn refused(extra: &[&str], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("bad");
    let mut args = vec![
        "svalue",
        "--method",
        "csda",
        "--out",
        out_dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = xfire(&args);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for n in needles {
        assert!(err.contains(n), "{n:?} not in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out_dir.exists(), "output folder left behind");
}

#[test]
fn bad_input_is_refused_with_the_value_and_unit() {
    let geometry = |rc: &'static str, rn: &'static str| {
        vec![
            "--nuclide",
            "Lu-177",
            "--cell-radius",
            rc,
            "--nucleus-radius",
            rn,
        ]
    };
    refused(
        &geometry("5um", "6um"),
        &["nucleus radius 6 µm", "cell radius 5 µm"],
    );
    let mut a = geometry("5um", "3um");
    a.extend(["--distance", "10um,8um"]);
    refused(&a, &["distance 8 µm", "two cell radii (10 µm)"]);
    refused(
        &[
            "--nuclide",
            "Lu-999",
            "--cell-radius",
            "5um",
            "--nucleus-radius",
            "3um",
        ],
        &["unknown radionuclide \"Lu-999\""],
    );
    refused(&geometry("5 parsecs", "3um"), &["--cell-radius", "parsecs"]);
    refused(
        &geometry("0um", "3um"),
        &["cell radius 0 µm must be positive"],
    );
}

#[test]
fn cluster_adds_shell_rows_and_the_central_cell_dose() {
    let out = lu177_csda(&[
        "--cluster",
        "fcc:2",
        "--labelled-fraction",
        "0.5",
        "--distance",
        "10um",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // self, 10 µm (given and first fcc shell, once), 14.14 µm
    assert_eq!(v["rows"].as_array().unwrap().len(), 3);
    let c = &v["cluster"];
    assert_eq!(c["shells"][0]["cells"], 12);
    assert_eq!(c["shells"][1]["cells"], 6);
    let nn = &c["central_cell"]["S_N_from_N"];
    let rows = v["rows"].as_array().unwrap();
    let s = |i: usize| rows[i]["S_N_from_N"].as_f64().unwrap();
    let cross = 0.5 * (12.0 * s(1) + 6.0 * s(2));
    assert!((nn["cross"].as_f64().unwrap() / cross - 1.0).abs() < 1e-12);
    assert!((nn["total"].as_f64().unwrap() / (s(0) + cross) - 1.0).abs() < 1e-12);
    let bad = lu177_csda(&["--cluster", "hcp:2"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cluster \"hcp:2\""));
}

#[test]
fn cole_energy_loss_is_a_csda_option() {
    let run = |el: &str| {
        let out = xfire(&[
            "svalue",
            "--nuclide",
            "I-125",
            "--cell-radius",
            "5um",
            "--nucleus-radius",
            "3um",
            "--method",
            "csda",
            "--energy-loss",
            el,
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let (icru, cole) = (run("icru37"), run("cole"));
    assert!(cole["model"].as_str().unwrap().contains("Cole 1969"));
    let s = |v: &serde_json::Value| v["rows"][0]["S_N_from_N"].as_f64().unwrap();
    // same emissions, different range-energy relation: close but not equal
    assert!((s(&cole) / s(&icru) - 1.0).abs() < 0.05 && s(&cole) != s(&icru));
    let out = xfire(&[
        "svalue",
        "--nuclide",
        "I-125",
        "--cell-radius",
        "5um",
        "--nucleus-radius",
        "3um",
        "--energy-loss",
        "cole",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--energy-loss cole applies to --method csda"));
}

#[test]
fn cluster_of_cells_from_a_file_weights_each_cell_by_its_activity() {
    let dir = tempfile::tempdir().unwrap();
    let cells = dir.path().join("cells.csv");
    // target at (1,1,1) µm with activity 2; neighbours at 12 µm (two, one unlabelled) and 20 µm
    std::fs::write(
        &cells,
        "# x, y, z in µm\nx_um,y_um,z_um,activity\n1,1,1,2\n13,1,1,1\n1,-11,1,0\n1,1,21,0.5\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut a = vec!["--cluster", cells.to_str().unwrap()];
        a.extend_from_slice(extra);
        lu177_csda(&a)
    };
    let out = run(&["--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "self, 12 µm, 20 µm");
    assert_eq!(rows[1]["distance_um"], serde_json::json!(12.0));
    let c = &v["cluster"];
    assert!(c["lattice"].is_null());
    assert_eq!(c["target_weight"], serde_json::json!(2.0));
    assert_eq!(c["shells"][0]["cells"], 2);
    assert_eq!(c["shells"][0]["weight"], serde_json::json!(1.0));
    for col in COLUMNS {
        let s = |i: usize| rows[i][col].as_f64().unwrap();
        let want_cross = 1.0 * s(1) + 0.5 * s(2);
        let got = &c["central_cell"][col];
        assert!((got["self"].as_f64().unwrap() / (2.0 * s(0)) - 1.0).abs() < 1e-12);
        assert!((got["cross"].as_f64().unwrap() / want_cross - 1.0).abs() < 1e-12);
    }
    // text output names the file and the target
    let out = run(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("target: its first cell, activity 2"),
        "{text}"
    );
    // a lattice-only option is refused with a file
    let out = run(&["--labelled-fraction", "0.5"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("activity column"));
}

#[test]
fn bad_cells_files_are_refused_with_the_line_before_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let check = |body: &str, want: &str| {
        let cells = dir.path().join("bad.csv");
        std::fs::write(&cells, body).unwrap();
        let out_dir = dir.path().join("out");
        let out = lu177_csda(&[
            "--cluster",
            cells.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert!(!out.status.success(), "{body:?} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{body:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!out_dir.exists(), "output folder created for {body:?}");
    };
    check(
        "x_um,y_um,z_um\n0,0,0\n10,zero,0\n",
        "line 3: y_um \"zero\" is not a number",
    );
    check(
        "x_um,y_um,z_um\n0,0,0\n10,0\n",
        "line 3: 2 fields, the header has 3",
    );
    check(
        "x_um,y_um,z_um\n0,0,0\n9,0,0\n",
        "the cells of lines 2 and 3 overlap: centres 9 µm apart, less than two cell radii (10 µm)",
    );
    check(
        "x_um,y_um,z_um,activity\n0,0,0,1\n10,0,0,-2\n",
        "line 3: activity -2 must not be negative",
    );
    check(
        "x_um,y_um,radius\n0,0,0\n",
        "line 1: unknown column \"radius\"",
    );
    check("x_um,y_um,z_um\n0,0,0\n", "1 cell(s)");
    let missing = dir.path().join("missing.csv");
    let out = lu177_csda(&["--cluster", missing.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the cells file"));
}
