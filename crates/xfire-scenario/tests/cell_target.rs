//! `transport.target_cell_uncertainty`: each part stops after the first batch, once
//! `decays` are done, at which the 95th percentile of the per-cell relative uncertainty of
//! the tumour cells and of the lymphocytes is at or below the target; the stopping point
//! and the tally do not depend on the thread count or on an interruption and resume; shards
//! are refused (`docs/kinetics.md` §9, `docs/hpc.md`).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use xfire_phantom::CellKind;
use xfire_scenario::shard::{Checkpointing, ShardOut, ShardSpec};
use xfire_scenario::{transport_all, ComponentTransport, Options, Plan, Scenario};
use xfire_tally::TallyResult;

const TARGET: f64 = 0.3;
const BATCH: u64 = 100;
const MIN: u64 = 1000;
const MAX: u64 = 200_000;

/// The tiny scenario with `transport` in place of its transport settings.
fn scenario(transport: &str) -> Scenario {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phantoms/tiny-lu177.toml");
    let text = std::fs::read_to_string(&p).expect("tiny scenario");
    let old = "decays = 4000\nbatch_size = 500";
    assert!(
        text.contains(old),
        "tiny-lu177.toml changed its transport settings"
    );
    Scenario::from_text(&text.replace(old, transport), Some(&p)).expect("scenario")
}

fn with_target() -> Scenario {
    scenario(&format!(
        "decays = {MIN}\nbatch_size = {BATCH}\ntarget_cell_uncertainty = {TARGET}\nmax_decays = {MAX}"
    ))
}

fn run(s: &Scenario, opts: &Options) -> Vec<ComponentTransport> {
    let plan = Plan::new(s.clone()).expect("plan");
    transport_all(&plan, opts).expect("transport")
}

/// 95th percentile (linear interpolation of order statistics) of the relative uncertainty of
/// the cells of `kind` in tally `t` (its "cell" map, region = cell id), computed here.
fn p95(plan: &Plan, t: &TallyResult, kind: CellKind) -> f64 {
    let mut v: Vec<f64> = plan
        .phantom
        .cells
        .cells
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| t.region_rel_unc(1, c.id as usize))
        .collect();
    assert!(!v.is_empty());
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * 0.95;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

fn worst(plan: &Plan, t: &TallyResult) -> f64 {
    p95(plan, t, CellKind::TUMOUR).max(p95(plan, t, CellKind::LYMPHOCYTE))
}

fn threads(n: usize) -> Options {
    Options {
        threads: n,
        ..Options::default()
    }
}

#[test]
fn stops_after_the_first_batch_that_reaches_it_whatever_the_thread_count() {
    let s = with_target();
    let plan = Plan::new(s.clone()).unwrap();
    let one = run(&s, &threads(1));
    let two = run(&s, &threads(2));
    let t = &one[0].parts[0].tally;
    assert_eq!(t, &two[0].parts[0].tally, "1 and 2 threads differ");
    let n = t.decays;
    assert!(
        n > MIN && n < MAX && n.is_multiple_of(BATCH),
        "stopped at {n} decays"
    );
    let u = worst(&plan, t);
    assert!(u <= TARGET, "p95 {u} at the stop");
    // the same run one batch shorter, without a target, is above it
    let short = scenario(&format!("decays = {}\nbatch_size = {BATCH}", n - BATCH));
    let s1 = run(&short, &threads(1));
    let us = worst(&plan, &s1[0].parts[0].tally);
    assert!(us > TARGET, "p95 {us} one batch before the stop");
}

#[test]
fn interrupted_and_resumed_run_stops_at_the_same_batch_with_the_same_bytes() {
    let s = with_target();
    let whole = run(&s, &threads(2));
    let d = tempfile::tempdir().unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let mut opts = Options {
        threads: 2,
        checkpoint: Some(Checkpointing {
            dir: d.path().to_path_buf(),
            every_batches: 1,
            every_s: 0.0,
            resume: false,
        }),
        stop: Some(flag.clone()),
        // stop once the minimum is done: the run is interrupted before its target
        progress: Some(Arc::new(move |_: &str, done: u64, _: u64| {
            if done >= MIN {
                f.store(true, Ordering::Relaxed);
            }
        })),
        ..Options::default()
    };
    let plan = Plan::new(s.clone()).unwrap();
    let e = transport_all(&plan, &opts).expect_err("interrupted");
    assert!(e.to_string().contains("stopped after"), "{e}");
    flag.store(false, Ordering::Relaxed);
    opts.progress = None;
    opts.checkpoint.as_mut().unwrap().resume = true;
    let resumed = transport_all(&plan, &opts).expect("resumed");
    assert_eq!(
        whole[0].parts[0].tally, resumed[0].parts[0].tally,
        "resumed run differs"
    );
}

#[test]
fn shards_are_refused_and_bad_values_named() {
    let s = with_target();
    let plan = Plan::new(s).unwrap();
    let d = tempfile::tempdir().unwrap();
    let opts = Options {
        shard: Some(ShardOut {
            spec: ShardSpec::parse("0/2").unwrap(),
            dir: d.path().to_path_buf(),
        }),
        ..Options::default()
    };
    let e = transport_all(&plan, &opts)
        .expect_err("refused")
        .to_string();
    assert!(e.contains("target_cell_uncertainty cannot"), "{e}");
    for bad in ["0", "1.5", "-0.1", "\"5 %\""] {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phantoms/tiny-lu177.toml");
        let text = std::fs::read_to_string(&p).unwrap().replace(
            "decays = 4000",
            &format!("decays = 4000\ntarget_cell_uncertainty = {bad}"),
        );
        let e = Scenario::from_text(&text, Some(&p))
            .expect_err("bad target")
            .to_string();
        assert!(e.contains("target_cell_uncertainty"), "{bad}: {e}");
    }
}
