//! `xfire nuclide list|show`: the ICRP-107 radionuclide library from the command line (the
//! record of `show --json` is `xfire_api::nuclide`).

use anyhow::Result;
use clap::{Args as ClapArgs, Subcommand};
use xfire_api::nuclide::{record, NuclideRecord};
use xfire_core::units::format_time;
use xfire_data::nuclides::{library, Nuclide, Radiation};

/// Arguments of `xfire nuclide`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: NuclideCommand,
}

#[derive(Subcommand, Debug)]
enum NuclideCommand {
    /// List every radionuclide in the library with its half-life and decay modes.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one radionuclide: half-life, daughters, energy per decay by radiation type,
    /// number of lines, β endpoint.
    Show {
        /// Nuclide name: Lu-177, 177Lu, lu177 or Lu177 (metastable: Tc-99m, 99mTc).
        name: String,
        /// Print JSON (layout in docs/formats/nuclide.md).
        #[arg(long)]
        json: bool,
    },
}

/// Run `xfire nuclide`.
pub fn run(args: Args) -> Result<()> {
    let lib = library();
    match args.command {
        NuclideCommand::List { json } => {
            if json {
                let v = xfire_api::nuclide::list();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!(
                    "{:<9} {:>14} {:>16}  {:<8} daughters",
                    "nuclide", "half-life", "", "modes"
                );
                for n in lib.nuclides() {
                    let d: Vec<String> = n
                        .daughters
                        .iter()
                        .map(|d| format!("{} ({:.4})", d.nuclide, d.branching))
                        .collect();
                    println!(
                        "{:<9} {:>14} {:>16}  {:<8} {}",
                        n.name,
                        format!("{} {}", n.half_life_text, n.half_life_unit),
                        format!("{:.6e} s", n.half_life_s),
                        n.decay_modes,
                        d.join(", ")
                    );
                }
                println!("{} nuclides; source: {}", lib.len(), lib.source());
            }
        }
        NuclideCommand::Show { name, json } => {
            let n = lib.resolve(&name)?;
            let r = record(n);
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print_human(n, &r);
            }
        }
    }
    Ok(())
}

fn print_human(n: &Nuclide, r: &NuclideRecord) {
    println!("{}", n.name);
    println!(
        "  half-life      {} {} = {:.6e} s ({})",
        n.half_life_text,
        n.half_life_unit,
        n.half_life_s,
        format_time(n.half_life_s)
    );
    println!("  decay modes    {}", n.decay_modes);
    for d in &r.daughters {
        println!(
            "  daughter       {:<8} branching {:.6}{}",
            d.nuclide,
            d.branching,
            if d.stable { "  (stable)" } else { "" }
        );
    }
    if let Some(ep) = r.beta_endpoint_mev {
        println!("  beta endpoint  {:.4} MeV", ep);
    }
    println!("  energy per decay [MeV] (yield per decay, lines):");
    let mut total = 0.0;
    for rad in Radiation::ALL {
        let e = r.energy_per_decay_mev[rad.key()];
        total += e;
        if r.lines[rad.key()] > 0 {
            println!(
                "    {:<13} {:>12.6e}   ({:.6}, {} lines)",
                rad.key(),
                e,
                r.yield_per_decay[rad.key()],
                r.lines[rad.key()]
            );
        }
    }
    println!("    {:<13} {:>12.6e}", "total", total);
    println!("  source: {}", r.source);
}
