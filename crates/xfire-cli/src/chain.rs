//! `xfire chain NAME --times 1h,1d,10d [--activity 1MBq] [--json]`: activities and cumulated
//! decays of every member of a decay chain (layout in docs/formats/chain.md; computed by
//! `xfire_api::chain`).

use anyhow::Result;
use clap::Args as ClapArgs;
use std::fmt::Write as _;
use std::io::Write as _;
use xfire_core::units::format_time;

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

/// Run `xfire chain`.
pub fn run(args: Args) -> Result<()> {
    let record = xfire_api::chain::compute(&args.name, &args.times, &args.activity)?;
    let (times, a0, n) = (
        &record.times_s,
        record.initial_activity_bq,
        record.members.len(),
    );
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
