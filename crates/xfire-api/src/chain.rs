//! Activities and cumulated decays of every member of a decay chain (`xfire chain --json`,
//! `docs/formats/chain.md`).

use serde::Serialize;
use xfire_core::units::{parse_activity_bq, parse_time_list_s};
use xfire_kinetics::Chain;

use crate::{ApiError, Result};

/// The chain of a parent at given times (`xfire chain --json`).
#[derive(Debug, Clone, Serialize)]
pub struct ChainRecord {
    /// "xfire-chain/1".
    pub format: &'static str,
    /// The parent's name.
    pub parent: String,
    /// Activity of the parent at t = 0 [Bq].
    pub initial_activity_bq: f64,
    /// The times [s].
    pub times_s: Vec<f64>,
    /// Every member, parent first.
    pub members: Vec<ChainMember>,
}

/// One member of a chain.
#[derive(Debug, Clone, Serialize)]
pub struct ChainMember {
    /// Its name.
    pub nuclide: String,
    /// Half-life [s]; null for a stable end point.
    pub half_life_s: Option<f64>,
    /// Stable end point.
    pub stable: bool,
    /// Activity at each time [Bq].
    pub activity_bq: Vec<f64>,
    /// Decays in [0, t] for each time.
    pub cumulated_decays: Vec<f64>,
}

fn arg(arg: &'static str, detail: String) -> ApiError {
    ApiError::Arg { arg, detail }
}

/// The chain of `parent` with `activity` (text with its unit) at t = 0, at `times` (a
/// comma-separated list with units, "1h,1d,10d").
pub fn compute(parent: &str, times: &str, activity: &str) -> Result<ChainRecord> {
    let times = parse_time_list_s(times).map_err(|e| arg("times", format!(": {e}")))?;
    if times.is_empty() {
        let d = " needs at least one time, e.g. \"1h,1d,10d\"";
        return Err(arg("times", d.into()));
    }
    if let Some(t) = times.iter().find(|t| **t < 0.0) {
        let d = format!(" must be >= 0 s after the administration, got {t} s");
        return Err(arg("times", d));
    }
    let a0 = parse_activity_bq(activity).map_err(|e| arg("activity", format!(": {e}")))?;
    if a0 < 0.0 {
        return Err(arg("activity", format!(" must be >= 0 Bq, got {a0} Bq")));
    }
    let chain = Chain::from_library(parent)?;
    let n = chain.len();
    let mut activity = vec![Vec::with_capacity(times.len()); n];
    let mut decays = vec![Vec::with_capacity(times.len()); n];
    for &t in &times {
        let a = chain.activities(a0, t);
        let d = chain.cumulated_decays(a0, 0.0, t);
        for j in 0..n {
            activity[j].push(a[j]);
            decays[j].push(d[j]);
        }
    }
    Ok(ChainRecord {
        format: "xfire-chain/1",
        parent: chain.members()[0].nuclide.clone(),
        initial_activity_bq: a0,
        times_s: times,
        members: chain
            .members()
            .iter()
            .zip(activity.into_iter().zip(decays))
            .map(|(m, (a, d))| ChainMember {
                nuclide: m.nuclide.clone(),
                half_life_s: (!m.is_stable()).then(|| m.half_life_s()),
                stable: m.is_stable(),
                activity_bq: a,
                cumulated_decays: d,
            })
            .collect(),
    })
}
