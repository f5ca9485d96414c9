//! End-to-end tests of `xfire kernel` (layout in docs/formats/kernel.md).

use std::path::Path;
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

/// Number of voxels equivalent to the sorted offset (i ≤ j ≤ k): permutations × signs.
fn class_size(o: [usize; 3]) -> f64 {
    let perms = if o[0] == o[1] && o[1] == o[2] {
        1
    } else if o[0] == o[1] || o[1] == o[2] {
        3
    } else {
        6
    };
    let signs = o.iter().filter(|&&x| x > 0).count();
    (perms << signs) as f64
}

fn read_csv(path: &Path) -> Vec<([usize; 3], [f64; 3])> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "i,j,k,edep_mev_per_decay,dose_gy_per_decay,rel_unc"
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 6, "{l}");
            let o = [0, 1, 2].map(|a| f[a].parse::<usize>().unwrap());
            let v = [3, 4, 5].map(|a| f[a].parse::<f64>().unwrap());
            (o, v)
        })
        .collect()
}

#[test]
fn alpha_point_kernel_conserves_energy_and_files_agree() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("a5");
    let v = ok(&xfire(&[
        "kernel",
        "--particle",
        "alpha",
        "--energy",
        "5 MeV",
        "--voxel",
        "2um",
        "--grid",
        "41",
        "--source",
        "point",
        "--decays",
        "20000",
        "--out",
        out_dir.to_str().unwrap(),
        "--json",
        "--quiet",
    ]));
    // auto: condensed history, 1 keV cutoff below 25 µm voxels
    assert_eq!(v["electron_model"], "condensed-history");
    assert_eq!(v["condensed_cut_mev"], 0.001);
    assert_eq!(v["particle"], "alpha");
    assert_eq!(v["decays"], 20000);
    let e = v["emitted_mev_per_decay"].as_f64().unwrap();
    let d = v["deposited_mev_per_decay"].as_f64().unwrap();
    let x = v["escaped_mev_per_decay"].as_f64().unwrap();
    assert!((e - 5.0).abs() < 1e-12);
    // 41 µm from the centre to a face > 37.6 µm range: nothing escapes
    assert!((d - 5.0).abs() < 1e-9 && x.abs() < 1e-12, "{d} {x}");
    assert!(v["wall_s"].as_f64().unwrap() > 0.0);
    // figures: the dose profile around the point source and dE/dr, which peaks (the Bragg
    // peak) before the 37.6 µm range while the dose falls with r
    let svg = |name: &str| std::fs::read_to_string(out_dir.join(name)).unwrap();
    let profile = svg("kernel_profile.svg");
    assert!(profile.contains("Distance from the point source (µm)"));
    assert!(profile.contains("Dose per decay vs distance from the point source"));
    let de_dr = svg("kernel_energy_per_radius.svg");
    assert!(de_dr.contains("dE/dr (MeV/µm per decay)"));
    assert!(v["files"]["energy_per_radius_png"].is_string());
    assert!(v["decays_per_s"].as_f64().unwrap() > 0.0);
    let rows = read_csv(&out_dir.join("kernel.csv"));
    assert_eq!(rows.len(), 21 * 22 * 23 / 6);
    assert!(rows.iter().all(|(o, _)| o[0] <= o[1] && o[1] <= o[2]));
    let total: f64 = rows.iter().map(|(o, v)| v[0] * class_size(*o)).sum();
    assert!((total / d - 1.0).abs() < 1e-6, "{total} vs {d}");
    // dose = energy / (1 g/cm3 × (2 µm)³)
    let mass = 8e-12;
    for (_, v) in &rows {
        assert!((v[1] - v[0] / mass * 1.602176634e-10).abs() <= 1e-9 * v[1].abs() + 1e-30);
    }
    // the HDF5 file: full grid and the same symmetric table
    let f = xfire_io::hdf5::H5Reader::open(&out_dir.join("kernel.h5")).unwrap();
    assert_eq!(
        f.attr_str("electron_model").as_deref(),
        Some("condensed-history")
    );
    let edep = f.f64s("edep_mev_per_decay").unwrap();
    assert_eq!(edep.len(), 41 * 41 * 41);
    assert!((edep.iter().sum::<f64>() / d - 1.0).abs() < 1e-9);
    let sym = f.f64s("symmetric/edep_mev_per_decay").unwrap();
    assert_eq!(sym.len(), rows.len());
    for (a, (_, v)) in sym.iter().zip(&rows) {
        assert!((a - v[0]).abs() <= 1e-8 * a.abs());
    }
}

#[test]
fn electron_kernel_bytes_do_not_depend_on_threads() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = Vec::new();
    for t in ["1", "2"] {
        let d = dir.path().join(format!("t{t}"));
        let v = ok(&xfire(&[
            "kernel",
            "--nuclide",
            "177Lu",
            "--emissions",
            "all",
            "--voxel",
            "50 um",
            "--grid",
            "21",
            "--source",
            "voxel",
            "--decays",
            "30000",
            "--threads",
            t,
            "--out",
            d.to_str().unwrap(),
            "--json",
        ]));
        assert_eq!(v["nuclide"], "Lu-177");
        assert_eq!(v["emissions"], "all");
        let e = v["emitted_mev_per_decay"].as_f64().unwrap();
        let d_ = v["deposited_mev_per_decay"].as_f64().unwrap();
        let x = v["escaped_mev_per_decay"].as_f64().unwrap();
        assert!((e - d_ - x).abs() < 1e-9 * e);
        // 177Lu emits 0.148 MeV in electrons and 0.035 MeV in photons per decay
        assert!((e - 0.1834).abs() < 0.01, "{e}");
        assert!(v["escaped_photon_mev_per_decay"].as_f64().unwrap() > 0.02);
        csv.push(std::fs::read(d.join("kernel.csv")).unwrap());
    }
    assert!(
        csv[0] == csv[1],
        "kernel.csv differs between 1 and 2 threads"
    );
}

#[test]
fn bad_input_gives_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().to_str().unwrap();
    let base = |extra: &[&str]| {
        let mut a = vec![
            "kernel", "--voxel", "10um", "--grid", "11", "--source", "point", "--decays", "10",
            "--out", o,
        ];
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let fails_with = |args: Vec<String>, text: &str| {
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let out = xfire(&args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(text), "{args:?}: {err}");
    };
    fails_with(base(&["--nuclide", "Xx-999"]), "unknown radionuclide");
    let mut a = base(&["--nuclide", "Lu-177"]);
    a[4] = "40".into();
    fails_with(a, "odd");
    let mut a = base(&["--nuclide", "Lu-177"]);
    a[2] = "0 um".into();
    fails_with(a, "--voxel must be positive");
    let mut a = base(&["--nuclide", "Lu-177"]);
    a[8] = "0".into();
    fails_with(a, "--decays must be at least 1");
    fails_with(
        base(&["--particle", "alpha", "--energy=-5 MeV"]),
        "--energy must be positive",
    );
    fails_with(base(&[]), "--nuclide");
    fails_with(
        base(&["--nuclide", "Lu-177", "--emissions", "alpha"]),
        "emits no",
    );
}

/// `--source radial`: a small radial kernel (two zones) writes `radial.csv` whose shells
/// hold the summary's energy, byte-identical with 1 and 3 threads; bad radial input is
/// refused naming the value, nothing written.
#[test]
fn radial_kernel_writes_shells_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let o = out.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut a = vec![
            "kernel",
            "--particle",
            "electron",
            "--energy",
            "200 keV",
            "--source",
            "radial",
            "--decays",
            "2000",
            "--out",
            o,
            "--json",
            "--quiet",
        ];
        a.extend_from_slice(extra);
        xfire(&a)
    };
    let fails_with = |extra: &[&str], text: &str| {
        let r = run(extra);
        assert!(!r.status.success(), "{extra:?} should fail");
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(err.contains(text), "{extra:?}: {err}");
        assert!(!out.exists(), "{extra:?}: nothing may be written");
    };
    fails_with(&["--voxel", "1mm"], "--voxel and --grid do not apply");
    fails_with(&["--shells", "0.5mm:0"], "--shells \"0.5mm:0\"");
    fails_with(&["--shells", "0.5mm:10,0.2mm:5"], "beyond 0.05 cm");
    fails_with(&["--shells", "0.5 parsec:10"], "--shells");
    fails_with(&["--shells", "100cm:1000"], "at most 1001");
    let v = ok(&run(&["--shells", "0.2mm:20,0.6mm:10"]));
    assert_eq!(v["format"], "xfire-radial-kernel-summary/1");
    let text = std::fs::read_to_string(out.join("radial.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "r_in_mm,r_out_mm,edep_mev_per_decay,dose_gy_per_decay,rel_unc"
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 30);
    assert_eq!((rows[19][1], rows[20][0], rows[29][1]), (0.2, 0.2, 0.6));
    let sum: f64 = rows.iter().map(|r| r[2]).sum();
    let want = v["shells_mev_per_decay"].as_f64().unwrap();
    assert!((sum / want - 1.0).abs() < 1e-8, "{sum} vs {want}");
    let e = v["emitted_mev_per_decay"].as_f64().unwrap();
    assert!((e - 0.2).abs() < 1e-12);
    let rest = want
        + v["beyond_mev_per_decay"].as_f64().unwrap()
        + v["escaped_mev_per_decay"].as_f64().unwrap();
    assert!((rest / e - 1.0).abs() < 0.01, "{rest} vs {e}");
    // the same bytes with any thread count
    let csv_with = |threads: &str| {
        let d = dir.path().join(format!("t{threads}"));
        let r = xfire(&[
            "kernel",
            "--particle",
            "electron",
            "--energy",
            "200 keV",
            "--source",
            "radial",
            "--shells",
            "0.2mm:20,0.6mm:10",
            "--decays",
            "2000",
            "--threads",
            threads,
            "--out",
            d.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        std::fs::read(d.join("radial.csv")).unwrap()
    };
    assert_eq!(csv_with("1"), csv_with("3"));
    assert_eq!(csv_with("1"), text.as_bytes());
    let r = xfire(&[
        "kernel",
        "--nuclide",
        "Lu-177",
        "--source",
        "point",
        "--decays",
        "10",
        "--out",
        dir.path().join("p").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&r.stderr).contains("--source point needs --voxel"));
}
