//! HPC end-to-end tests of `xfire run --shard`, `xfire merge`, `--resume` after a real
//! SIGKILL, and the stop at a target uncertainty (docs/hpc.md).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
mod common;

fn xfire() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xfire"))
}

fn tiny() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phantoms/tiny-lu177.toml")
}

fn ok(c: &mut Command) -> std::process::Output {
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "{c:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn fails(c: &mut Command) -> String {
    let o = c.output().unwrap();
    assert!(!o.status.success(), "{c:?} should fail");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn run(scenario: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = xfire();
    c.arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .arg("--quiet");
    c.args(extra);
    c
}

const FILES: [&str; 3] = ["results.h5", "summary.json", "summary.csv"];

fn same_files(a: &Path, b: &Path, what: &str) {
    for f in FILES {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs: {what}"
        );
    }
}

fn merge(out: &Path, shards: &[&Path]) -> Command {
    let mut c = xfire();
    c.arg("merge")
        .args(shards)
        .arg("--out")
        .arg(out)
        .arg("--quiet");
    c
}

#[test]
fn shards_merge_to_the_bytes_of_the_single_run_and_bad_sets_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s);
    ok(&mut run(
        &tiny(),
        &p("single"),
        &["--no-cache", "--threads", "1"],
    ));
    // 3 shards (8 batches: 2 + 3 + 3), 2 threads each
    for k in 0..3 {
        let sh = format!("{k}/3");
        ok(&mut run(
            &tiny(),
            &p(&format!("k{k}")),
            &["--shard", &sh, "--threads", "2"],
        ));
    }
    let (k0, k1, k2) = (p("k0"), p("k1"), p("k2"));
    // any order of the folders
    ok(&mut merge(&p("merged"), &[&k2, &k0, &k1]));
    same_files(&p("single"), &p("merged"), "3 shards merged vs single run");
    // 2 shards too
    for k in 0..2 {
        let sh = format!("{k}/2");
        ok(&mut run(&tiny(), &p(&format!("h{k}")), &["--shard", &sh]));
    }
    ok(&mut merge(&p("merged2"), &[&p("h0"), &p("h1")]));
    same_files(&p("single"), &p("merged2"), "2 shards merged vs single run");

    let e = fails(&mut merge(&p("x"), &[&k0, &k1]));
    assert!(e.contains("missing shard(s): 2/3"), "{e}");
    let e = fails(&mut merge(&p("x"), &[&k0, &k1, &k2, &k1]));
    assert!(
        e.contains("overlapping shards: shard 1/3 is given twice"),
        "{e}"
    );
    let e = fails(&mut merge(&p("x"), &[&k0, &k1, &p("h1")]));
    assert!(e.contains("shard count"), "{e}");
    // a manifest whose shard index is beyond its shard count: refused, not a panic
    let bad = p("h1bad");
    std::fs::create_dir(&bad).unwrap();
    for f in std::fs::read_dir(p("h1")).unwrap().flatten() {
        std::fs::copy(f.path(), bad.join(f.file_name())).unwrap();
    }
    let mt = std::fs::read_to_string(bad.join("manifest.json")).unwrap();
    let edited = mt.replacen("\"shard\": 1", "\"shard\": 5", 1);
    assert_ne!(edited, mt, "the manifest names its shard index");
    std::fs::write(bad.join("manifest.json"), edited).unwrap();
    let e = fails(&mut merge(&p("x"), &[&p("h0"), &bad]));
    assert!(e.contains("shard 5 is not one of the 2 shards"), "{e}");
    // a shard of another seed
    let text = std::fs::read_to_string(tiny()).unwrap();
    let other = p("seed8.toml");
    std::fs::write(&other, text.replace("seed = 7", "seed = 8")).unwrap();
    ok(&mut run(&other, &p("s8"), &["--shard", "2/3"]));
    let e = fails(&mut merge(&p("x"), &[&k0, &k1, &p("s8")]));
    assert!(e.contains("seed 7 vs 8") && e.contains("scenario"), "{e}");
    // another xfire version
    let m = p("s8/manifest.json");
    let mt = std::fs::read_to_string(p("k2/manifest.json")).unwrap();
    std::fs::write(&m, mt.replace(env!("CARGO_PKG_VERSION"), "0.0.0-other")).unwrap();
    std::fs::copy(
        std::fs::read_dir(&k2)
            .unwrap()
            .flatten()
            .find(|e| e.path().extension().is_some_and(|x| x == "part"))
            .unwrap()
            .path(),
        p("s8").join("copied.part"),
    )
    .unwrap();
    let e = fails(&mut merge(&p("x"), &[&k0, &k1, &p("s8")]));
    assert!(e.contains("made by xfire 0.0.0-other"), "{e}");
    assert!(!p("x").exists(), "nothing written on a refused merge");
    // bad shard spec
    let e = fails(&mut run(&tiny(), &p("y"), &["--shard", "3/3"]));
    assert!(e.contains("0 <= K < N"), "{e}");
}

#[test]
fn resume_after_sigkill_gives_the_bytes_of_an_uninterrupted_run() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s);
    // 400 000 decays in 800 batches: about a second on one core of a fast machine
    let text = std::fs::read_to_string(tiny())
        .unwrap()
        .replace("decays = 4000", "decays = 400000");
    let sc = p("long.toml");
    std::fs::write(&sc, text).unwrap();
    ok(&mut run(
        &sc,
        &p("whole"),
        &["--no-cache", "--threads", "2"],
    ));

    let out = p("killed");
    let args = ["--no-cache", "--threads", "1", "--checkpoint-batches", "10"];
    let mut child = run(&sc, &out, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let found = common::checkpoint::wait_for_first_checkpoint(&mut child, &out);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (h, t) = xfire_scenario::shard::read_part(&found).unwrap();
    assert!(
        h.next_batch > 0 && h.next_batch < h.end_batch && !h.stopped,
        "{h:?}"
    );
    assert_eq!(t.batches, h.next_batch);
    assert!(!out.join("results.h5").exists());
    // resume with another thread count
    let mut c = xfire();
    c.arg("run").arg(&sc).arg("--out").arg(&out);
    c.args([
        "--no-cache",
        "--threads",
        "2",
        "--resume",
        "--checkpoint-batches",
        "10",
    ]);
    let o = c.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("resuming Lu-177 @ tumour_membrane (low_let)"),
        "{err}"
    );
    same_files(&p("whole"), &out, "resumed after SIGKILL vs uninterrupted");
    assert!(
        !out.join("checkpoints").exists(),
        "checkpoints removed after a complete run"
    );
}

#[test]
fn target_uncertainty_stops_after_the_batch_that_reaches_it_and_refuses_shards() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s);
    let text = std::fs::read_to_string(tiny()).unwrap().replace(
        "decays = 4000\nbatch_size = 500",
        "decays = 2000\nbatch_size = 200\ntarget_uncertainty = 0.02\nmax_decays = 400000",
    );
    let sc = p("target.toml");
    std::fs::write(&sc, text).unwrap();
    ok(&mut run(&sc, &p("t1"), &["--no-cache", "--threads", "1"]));
    ok(&mut run(&sc, &p("t2"), &["--no-cache", "--threads", "2"]));
    same_files(&p("t1"), &p("t2"), "target run with 1 and 2 threads");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p("t1/summary.json")).unwrap()).unwrap();
    let c = &v["components"][0];
    let n = c["transported_decays"][0].as_u64().unwrap();
    let u = c["tumour_rel_unc"][0].as_f64().unwrap();
    assert!(n > 2000 && n < 400_000 && n.is_multiple_of(200), "{n}");
    assert!(u <= 0.02, "{u}");
    // one batch less would not have reached the target: the same run with a fixed number
    // of decays one batch short has a larger uncertainty
    let short = std::fs::read_to_string(&sc).unwrap().replace(
        "decays = 2000\nbatch_size = 200\ntarget_uncertainty = 0.02\nmax_decays = 400000",
        &format!("decays = {}\nbatch_size = 200", n - 200),
    );
    std::fs::write(p("short.toml"), short).unwrap();
    ok(&mut run(&p("short.toml"), &p("s"), &["--no-cache"]));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p("s/summary.json")).unwrap()).unwrap();
    let us = v["components"][0]["tumour_rel_unc"][0].as_f64().unwrap();
    assert!(us > 0.02, "{us}");
    let e = fails(&mut run(&sc, &p("k"), &["--shard", "0/2"]));
    assert!(e.contains("cannot be combined with shards"), "{e}");
}

/// A scenario with `[phantom.lesion]` is refused under `--shard`, `--resume` and mpirun (its
/// environment) with a message naming the option, before any output folder is made.
#[test]
fn nested_scenarios_refuse_shards_resume_and_mpirun_before_writing() {
    let dir = std::env::temp_dir().join(format!("xfire-hpc-lesion-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(tiny()).unwrap().replacen(
        "[agent]",
        "[phantom.lesion]\nradius = \"1 mm\"\nvoxel = \"0.25 mm\"\nbody_radius = \"2 mm\"\n\n[agent]",
        1,
    );
    let sc = dir.join("lesion.toml");
    std::fs::write(&sc, text).unwrap();
    let out = dir.join("out");
    for (extra, env, want) in [
        (vec!["--shard", "0/2"], None, "--shard"),
        (vec!["--resume"], None, "--resume"),
        (vec![], Some(("OMPI_COMM_WORLD_SIZE", "2")), "mpirun"),
    ] {
        let mut c = run(&sc, &out, &extra);
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        let e = fails(&mut c);
        assert!(
            e.contains(&format!("{want}: a scenario with [phantom.lesion]")),
            "{e}"
        );
        assert!(!out.exists(), "{want}: the output folder was made");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
