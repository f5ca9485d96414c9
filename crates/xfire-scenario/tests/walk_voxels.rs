//! Per-voxel doses kept only on the voxels the migrating lymphocytes may walk (what
//! `xfire compare` keeps for its nuclides other than the reference, `Plan::dose_voxels`)
//! give the walkers the bytes of doses kept on every voxel, and make no maps.

use std::path::Path;
use std::sync::Arc;

use xfire_scenario::compute::walk_voxels;
use xfire_scenario::voxels::VoxelSubset;
use xfire_scenario::{compute, transport_all, Options, Plan, RunResult, Scenario};

/// The tiny scenario with migrating walkers and dose maps.
fn plan() -> Plan {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phantoms/tiny-lu177.toml");
    let text = std::fs::read_to_string(&p).expect("tiny scenario");
    let old = "arrivals = [\"0 d\", \"7 d\"]\n";
    assert!(text.contains(old), "tiny-lu177.toml changed");
    let text = text.replace(
        old,
        "arrivals = [\"0 d\", \"7 d\"]\n[lymphocytes.migrating]\nwalkers = 12\n\
         speed = \"5 um/min\"\npersistence = \"3 min\"\n",
    );
    let s = Scenario::from_text(&text, Some(&p)).expect("scenario");
    Plan::new(s).expect("plan")
}

fn run(plan: &Plan) -> xfire_scenario::Result<RunResult> {
    let tr = transport_all(plan, &Options::default()).expect("transport");
    compute(plan, &tr)
}

#[test]
fn walk_voxel_doses_give_the_walk_of_doses_on_every_voxel() {
    let mut plan = plan();
    let all = run(&plan).expect("run");
    let w = walk_voxels(&plan.phantom);
    assert!(
        !w.is_empty() && w.len() < plan.phantom.grid.len(),
        "a proper subset"
    );
    plan.dose_voxels = Some(Arc::new(w));
    let walk = run(&plan).expect("run on the walk voxels");
    let migrating = |r: &RunResult| {
        let m: Vec<_> = r
            .exposures
            .iter()
            .filter(|e| e.model == "migrating")
            .collect();
        serde_json::to_string(&m).expect("json")
    };
    assert!(migrating(&all).contains("migrating"));
    assert_eq!(migrating(&all), migrating(&walk));
    assert!(!all.dose_maps.is_empty() && walk.dose_maps.is_empty());
    assert!(all.labels.iter().any(|l| l.median_gy > 0.0));
    assert!(walk.labels.iter().all(|l| l.median_gy.is_nan()));
    assert_eq!(
        serde_json::to_string(&all.cells.dose_gy).expect("json"),
        serde_json::to_string(&walk.cells.dose_gy).expect("json")
    );
    // doses that leave out a voxel the walkers may enter are refused
    let n = plan.phantom.grid.len();
    plan.dose_voxels = Some(Arc::new(VoxelSubset::new(n, |v| v < n / 2)));
    let e = run(&plan).expect_err("doses missing walk voxels");
    assert!(e.to_string().contains("every voxel they may walk"), "{e}");
}
