//! `xfire chain NAME --times 1h,1d,10d [--activity 1MBq] [--json]`: activities and cumulated
//! decays of every member of a decay chain (layout in docs/formats/chain.md).

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;
use serde::Serialize;
use std::fmt::Write as _;
use std::io::Write as _;
use xfire_core::units::{format_time, parse_activity_bq, parse_time_list_s};
use xfire_kinetics::Chain;

/// Arguments of `xfire chain`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Parent nuclide: Ac-225, 225Ac, ac225 or Ac225 (metastable: Xe-131m, 131mXe).
    name: String,
    /// Comma-separated times after the administration, with units: "1h,1d,10d", "30 min".
    #[arg(long, allow_hyphen_values = true)]
    times: String,
    /// Activity of the parent at t = 0, with unit: "1 MBq", "7.4GBq", "200 mCi".
    #[arg(long, default_value = "1 Bq")]
    activity: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// JSON record of `xfire chain --json` (documented in docs/formats/chain.md).
#[derive(Serialize)]
struct Record {
    format: &'static str,
    parent: String,
    initial_activity_bq: f64,
    times_s: Vec<f64>,
    members: Vec<MemberOut>,
}

#[derive(Serialize)]
struct MemberOut {
    nuclide: String,
    /// Half-life [s]; null for a stable end point.
    half_life_s: Option<f64>,
    stable: bool,
    activity_bq: Vec<f64>,
    cumulated_decays: Vec<f64>,
}

/// Run `xfire chain`.
pub fn run(args: Args) -> Result<()> {
    let times = parse_time_list_s(&args.times).context("--times")?;
    if times.is_empty() {
        bail!("--times needs at least one time, e.g. \"1h,1d,10d\"");
    }
    if let Some(t) = times.iter().find(|t| **t < 0.0) {
        bail!("--times must be >= 0 s after the administration, got {t} s");
    }
    let a0 = parse_activity_bq(&args.activity).context("--activity")?;
    if a0 < 0.0 {
        bail!("--activity must be >= 0 Bq, got {a0} Bq");
    }
    let chain = Chain::from_library(&args.name)?;
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
    let record = Record {
        format: "xfire-chain/1",
        parent: chain.members()[0].nuclide.clone(),
        initial_activity_bq: a0,
        times_s: times.clone(),
        members: chain
            .members()
            .iter()
            .zip(activity.into_iter().zip(decays))
            .map(|(m, (a, d))| MemberOut {
                nuclide: m.nuclide.clone(),
                half_life_s: (!m.is_stable()).then(|| m.half_life_s()),
                stable: m.is_stable(),
                activity_bq: a,
                cumulated_decays: d,
            })
            .collect(),
    };
    let mut out = String::new();
    if args.json {
        out = serde_json::to_string_pretty(&record)?;
        out.push('\n');
        return emit(&out);
    }
    writeln!(
        out,
        "Decay chain of {} ({} members), {} Bq of {} at t = 0",
        record.parent,
        n,
        fmt_num(a0),
        record.parent
    )?;
    writeln!(out, "activity [Bq] at t; cumulated decays in [0, t]\n")?;
    for (k, &t) in times.iter().enumerate() {
        writeln!(out, "t = {} ({t} s)", format_time(t))?;
        writeln!(
            out,
            "  {:10} {:>12} {:>16} {:>16}",
            "nuclide", "half-life", "activity [Bq]", "decays in [0,t]"
        )?;
        for m in &record.members {
            let hl = m
                .half_life_s
                .map_or_else(|| "stable".to_string(), format_time);
            writeln!(
                out,
                "  {:10} {:>12} {:>16} {:>16}",
                m.nuclide,
                hl,
                fmt_num(m.activity_bq[k]),
                fmt_num(m.cumulated_decays[k])
            )?;
        }
        writeln!(out)?;
    }
    emit(&out)
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> Result<()> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

fn fmt_num(x: f64) -> String {
    if x == 0.0 {
        "0".to_string()
    } else {
        format!("{x:.6e}")
    }
}
