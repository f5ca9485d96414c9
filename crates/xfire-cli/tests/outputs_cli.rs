//! What users see around a run (issue 16): output folders that never mix runs
//! (`docs/formats/output-folder.md`), Ctrl-C that keeps the work, checks before transport,
//! the final list of files with sizes, `xfire cache prune`, and progress lines.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
mod common;

fn xfire() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xfire"))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tiny() -> PathBuf {
    root().join("phantoms/tiny-lu177.toml")
}

fn output(c: &mut Command) -> (bool, String, String) {
    let o = c.output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ok(c: &mut Command) -> (String, String) {
    let (good, out, err) = output(c);
    assert!(good, "{c:?} failed: {err}");
    (out, err)
}

fn fails(c: &mut Command) -> String {
    let (good, _, err) = output(c);
    assert!(!good, "{c:?} should fail");
    err
}

fn run(scenario: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = xfire();
    c.arg("run").arg(scenario).arg("--out").arg(out).args(extra);
    c
}

fn compare(out: &Path, extra: &[&str]) -> Command {
    let mut c = xfire();
    c.arg("compare")
        .arg(tiny())
        .args(["--nuclides", "Lu-177", "--threads", "1"])
        .arg("--out")
        .arg(out)
        .args(extra);
    c
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A copy of the tiny scenario in `dir` with `from` replaced by `to`.
fn variant(dir: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(tiny()).unwrap();
    assert!(text.contains(from), "{from}");
    let text = text.replace(from, to);
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn output_folders_never_mix_runs() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s);
    // a run with figures writes report.html
    let figs = variant(d.path(), "figs.toml", "figures = false", "figures = true");
    let (stdout, _) = ok(&mut run(&figs, &p("out"), &[]));
    assert!(p("out/report.html").is_file());
    assert!(p("out/xfire-output.json").is_file());
    let marker: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p("out/xfire-output.json")).unwrap()).unwrap();
    assert_eq!(marker["kind"], "run");
    assert_eq!(marker["complete"], true);
    // the final list names every entry with its size, the cache included
    assert!(stdout.contains("written to"), "{stdout}");
    for e in ["results.h5", "summary.json", "report.html", "cache/"] {
        assert!(stdout.contains(e), "{e} not listed: {stdout}");
    }
    let before = names(&p("out"));

    // another scenario (figures = false) into the same folder: refused, nothing touched
    let e = fails(&mut run(&tiny(), &p("out"), &[]));
    assert!(
        e.contains("holds the complete results of") && e.contains("--force"),
        "{e}"
    );
    assert_eq!(names(&p("out")), before);
    // a comparison into it: refused too
    let e = fails(&mut compare(&p("out"), &[]));
    assert!(e.contains("not of this run"), "{e}");
    assert_eq!(names(&p("out")), before);
    // --resume into another run's folder: refused
    let e = fails(&mut run(&tiny(), &p("out"), &["--resume"]));
    assert!(e.contains("--resume continues only the same run"), "{e}");

    // --force: the old outputs go whole (no report.html of the old run beside the new
    // results); the content-keyed cache stays and is reused
    let (stdout, _) = ok(&mut run(&tiny(), &p("out"), &["--force"]));
    assert!(
        !p("out/report.html").exists(),
        "old report left beside new results"
    );
    assert!(p("out/results.h5").is_file());
    assert!(stdout.contains("1 from the cache"), "{stdout}");
    // the same run again is its own folder: allowed
    ok(&mut run(&tiny(), &p("out"), &[]));

    // a folder xfire did not write: refused, even with --force, and left as it was
    std::fs::create_dir(p("mine")).unwrap();
    std::fs::write(p("mine/notes.txt"), "mine").unwrap();
    for extra in [&[][..], &["--force"][..]] {
        let e = fails(&mut run(&tiny(), &p("mine"), extra));
        assert!(
            e.contains("was not written by xfire") && e.contains("notes.txt"),
            "{e}"
        );
    }
    assert_eq!(names(&p("mine")), vec!["notes.txt".to_string()]);
    // the same for a kernel
    let e = fails(
        xfire()
            .args([
                "kernel",
                "--particle",
                "alpha",
                "--energy",
                "5 MeV",
                "--voxel",
                "1um",
                "--grid",
                "11",
                "--source",
                "point",
                "--decays",
                "10",
                "--quiet",
                "--out",
            ])
            .arg(p("mine")),
    );
    assert!(e.contains("was not written by xfire"), "{e}");
}

#[test]
fn checks_before_transport() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s);
    // an output folder that cannot be created fails at once, before any transport
    std::fs::write(p("file"), "x").unwrap();
    let e = fails(&mut run(&tiny(), &p("file/out"), &[]));
    assert!(e.contains("cannot create output folder"), "{e}");
    assert!(
        !e.contains("transport"),
        "transport ran before the failure: {e}"
    );
    // a phantom specification is not a scenario, and the converse
    let e = fails(&mut run(
        &root().join("phantoms/til-spheroid.toml"),
        &p("o1"),
        &[],
    ));
    assert!(
        e.contains("this is a phantom specification") && e.contains("xfire phantom generate"),
        "{e}"
    );
    assert!(!e.contains("unknown key"), "{e}");
    assert!(!p("o1").exists(), "nothing written for bad input");
    // bad input found after the folder was taken (compare checks its nuclides then)
    let e = fails(
        xfire()
            .arg("compare")
            .arg(tiny())
            .args(["--nuclides", "Xx-1", "--out"])
            .arg(p("c1")),
    );
    assert!(e.contains("Xx-1"), "{e}");
    assert!(!p("c1").exists(), "output folder left after bad input");
    let e = fails(
        xfire()
            .args(["phantom", "generate"])
            .arg(tiny())
            .arg("-o")
            .arg(p("x.h5")),
    );
    assert!(
        e.contains("this is a scenario") && e.contains("xfire run"),
        "{e}"
    );
    // a voxel larger than the grid is blamed on grid.voxel, not on the binding
    let big = variant(d.path(), "big.toml", "voxel = \"4 um\"", "voxel = \"4 mm\"");
    let e = fails(&mut run(&big, &p("o2"), &[]));
    assert!(e.contains("grid.voxel = \"4 mm\""), "{e}");
    assert!(!e.contains("agent.binding"), "{e}");
}

#[test]
fn progress_lines_are_printed_once_and_timings_only_with_verbose() {
    let d = tempfile::tempdir().unwrap();
    let (_, err) = ok(&mut run(&tiny(), &d.path().join("a"), &["--no-cache"]));
    let lines: Vec<&str> = err.lines().collect();
    for w in lines.windows(2) {
        assert_ne!(w[0], w[1], "line printed twice:\n{err}");
    }
    assert!(err.contains("transport Lu-177"), "{err}");
    assert!(
        !err.contains("times:"),
        "developer timings without -v:\n{err}"
    );
    // --no-cache: no cache folder, and the final list says so
    assert!(!d.path().join("a/cache").exists());
    let (_, err) = ok(&mut run(
        &tiny(),
        &d.path().join("b"),
        &["--no-cache", "-v"],
    ));
    assert!(err.contains("times: plan"), "{err}");
}

#[test]
fn cache_prune_frees_the_cache_and_keeps_the_results() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    ok(&mut run(&tiny(), &out, &[]));
    let results = std::fs::read(out.join("results.h5")).unwrap();
    assert!(out.join("cache").is_dir());
    let (stdout, _) = ok(xfire().args(["cache", "prune"]).arg(&out));
    assert!(
        stdout.contains("freed") && stdout.contains("transport cache file"),
        "{stdout}"
    );
    assert!(!out.join("cache").exists());
    assert_eq!(std::fs::read(out.join("results.h5")).unwrap(), results);
    let marker = std::fs::read_to_string(out.join("xfire-output.json")).unwrap();
    assert!(!marker.contains("cache/"), "{marker}");
    let (stdout, _) = ok(xfire().args(["cache", "prune"]).arg(&out));
    assert!(stdout.contains("nothing to free"), "{stdout}");
    // --no-cache gives the same results
    ok(&mut run(&tiny(), &d.path().join("nc"), &["--no-cache"]));
    assert_eq!(
        std::fs::read(d.path().join("nc/results.h5")).unwrap(),
        results
    );
}

#[test]
fn alpha_kernel_does_not_report_an_electron_model() {
    let d = tempfile::tempdir().unwrap();
    let (stdout, _) = ok(xfire()
        .args([
            "kernel",
            "--particle",
            "alpha",
            "--energy",
            "5 MeV",
            "--voxel",
            "1um",
            "--grid",
            "11",
            "--source",
            "point",
            "--decays",
            "20",
            "--quiet",
            "--out",
        ])
        .arg(d.path().join("k")));
    assert!(stdout.contains("electron model not used"), "{stdout}");
    assert!(!stdout.contains("condensed-history"), "{stdout}");
}

fn same_files(a: &Path, b: &Path) {
    for f in ["results.h5", "summary.json", "summary.csv"] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs between the resumed and the uninterrupted run"
        );
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_writes_a_checkpoint_and_resume_gives_the_uninterrupted_bytes() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s);
    // 200 000 decays in 400 batches: seconds on one core, checkpoints every 10 batches
    let sc = variant(d.path(), "long.toml", "decays = 4000", "decays = 200000");
    ok(&mut run(
        &sc,
        &p("whole"),
        &["--no-cache", "--threads", "2"],
    ));

    let out = p("stopped");
    let args = ["--no-cache", "--threads", "1", "--checkpoint-batches", "10"];
    let mut child = run(&sc, &out, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let found = common::checkpoint::wait_for_first_checkpoint(&mut child, &out);
    // kill(2) itself: a `kill` program (procps) is not on every machine that runs the tests
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.contains("stopped after") && err.contains("checkpoint"),
        "{err}"
    );
    assert!(err.contains("--resume"), "no resume hint: {err}");
    let (h, t) = xfire_scenario::shard::read_part(&found).unwrap();
    assert!(h.next_batch > 0 && h.next_batch < h.end_batch, "{h:?}");
    assert_eq!(t.batches, h.next_batch);
    assert!(!out.join("results.h5").exists());
    // without --resume the interrupted folder is not silently started over
    let e = fails(&mut run(&sc, &out, &["--no-cache"]));
    assert!(e.contains("--resume"), "{e}");
    let (_, err) = ok(&mut run(
        &sc,
        &out,
        &["--no-cache", "--threads", "2", "--resume"],
    ));
    assert!(err.contains("resuming Lu-177"), "{err}");
    same_files(&p("whole"), &out);
}

#[test]
fn merge_refuses_another_runs_folder() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s);
    ok(&mut run(&tiny(), &p("s0"), &["--shard", "0/1"]));
    ok(&mut run(&tiny(), &p("whole"), &[]));
    let merge = |out: &Path, extra: &[&str]| {
        let mut c = xfire();
        c.arg("merge")
            .arg(p("s0"))
            .arg("--out")
            .arg(out)
            .args(extra);
        c
    };
    // a run's folder is not a merge's: refused, then replaced whole with --force
    let e = fails(&mut merge(&p("whole"), &[]));
    assert!(
        e.contains("not of this run") && e.contains("xfire run"),
        "{e}"
    );
    ok(&mut merge(&p("whole"), &["--force"]));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p("whole/xfire-output.json")).unwrap()).unwrap();
    assert_eq!(m["kind"], "merge");
    assert!(!p("whole/cache").exists() || p("whole/cache").is_dir());
    // the merge of one shard is the run: same bytes as a fresh run
    ok(&mut run(&tiny(), &p("again"), &["--no-cache"]));
    same_files(&p("again"), &p("whole"));
}
