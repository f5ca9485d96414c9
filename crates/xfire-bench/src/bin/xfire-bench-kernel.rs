//! `xfire-bench-kernel`: a point or centre-voxel source in a water cube through the public
//! transport API with either electron model, printing one JSON line (decays/s of the
//! transport loop, energy within voxelised spheres, self-voxel dose, a hash of the voxel
//! tallies). Used by `scripts/bench-vs-peer` beside `xfire kernel` (which runs condensed
//! history too, `--electron-model condensed`) for the step-parameter and hash options that
//! command does not have.
//!
//! ```text
//! xfire-bench-kernel --model csda|condensed (--lu177-electrons | --electron-mev E)
//!     --voxel-cm H --grid N --source point|voxel --decays N [--threads T] [--seed S]
//!     [--radii-cm R1,R2,...] [--c1 C] [--c2 C] [--max-loss F] [--elastic mixed|long]
//! ```
//!
//! `--c1`, `--c2`, `--max-loss`, `--elastic` override the condensed-history step parameters
//! (`CondensedParams::c1`, `c2`, `max_loss_fraction`, `elastic`; defaults those of
//! `CondensedParams::default()`: 0.1, 0.1, 0.1, mixed).

use std::time::Instant;

use xfire_bench::{layout_for, physics_for, water_phantom};
use xfire_data::nuclides::{library, EmissionSampler, Particle, RadiationSet};
use xfire_physics::condensed::{CondensedParams, ElasticScheme};
use xfire_physics::csda::ElectronModel;
use xfire_transport::{run, Emitter, Source, TransportSetup};

fn main() {
    if let Err(e) = real_main() {
        eprintln!("xfire-bench-kernel: {e}");
        std::process::exit(2);
    }
}

fn real_main() -> Result<(), String> {
    let mut model = ElectronModel::CondensedHistory;
    let mut electron_mev: Option<f64> = None;
    let mut voxel_cm = 0.005;
    let mut grid = 81usize;
    let mut voxel_source = false;
    let mut decays = 10_000u64;
    let mut threads = 1usize;
    let mut seed = 12345u64;
    let mut radii: Vec<f64> = vec![];
    let mut params = CondensedParams::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        let num = |s: String| s.parse::<f64>().map_err(|e| format!("{s:?}: {e}"));
        match a.as_str() {
            "--model" => {
                model = match val()?.as_str() {
                    "csda" => ElectronModel::CsdaStraightLine,
                    "condensed" => ElectronModel::CondensedHistory,
                    m => return Err(format!("unknown model {m:?} (csda|condensed)")),
                }
            }
            "--lu177-electrons" => electron_mev = None,
            "--electron-mev" => electron_mev = Some(num(val()?)?),
            "--voxel-cm" => voxel_cm = num(val()?)?,
            "--grid" => grid = num(val()?)? as usize,
            "--source" => voxel_source = val()? == "voxel",
            "--decays" => decays = num(val()?)? as u64,
            "--threads" => threads = num(val()?)? as usize,
            "--seed" => seed = num(val()?)? as u64,
            "--c1" => params.c1 = num(val()?)?,
            "--c2" => params.c2 = num(val()?)?,
            "--max-loss" => params.max_loss_fraction = num(val()?)?,
            "--elastic" => {
                params.elastic = match val()?.as_str() {
                    "mixed" => ElasticScheme::Mixed,
                    "long" => ElasticScheme::LongStep,
                    m => return Err(format!("unknown elastic scheme {m:?} (mixed|long)")),
                }
            }
            "--radii-cm" => {
                radii = val()?
                    .split(',')
                    .map(|s| num(s.to_string()))
                    .collect::<Result<_, _>>()?
            }
            _ => return Err(format!("unknown argument {a:?}")),
        }
    }
    if grid & 1 == 0 || voxel_cm.is_nan() || voxel_cm <= 0.0 {
        return Err("--grid must be odd and --voxel-cm positive".into());
    }
    let phantom = water_phantom(grid, voxel_cm);
    let mut physics = physics_for(&phantom, false);
    if model == ElectronModel::CondensedHistory {
        physics = physics.with_condensed(params).map_err(|e| e.to_string())?;
    }
    let lu = library().resolve("Lu-177").map_err(|e| e.to_string())?;
    let sampler = EmissionSampler::new(lu, RadiationSet::electrons()).map_err(|e| e.to_string())?;
    let emitter = match electron_mev {
        Some(e) => Emitter::Mono {
            particle: Particle::Electron,
            energy_mev: e,
        },
        None => Emitter::Nuclide(&sampler),
    };
    let g = phantom.grid;
    let c = grid / 2;
    let centre = g.index(c, c, c);
    let source = if voxel_source {
        Source::Voxel(centre)
    } else {
        Source::Point(g.centre(centre))
    };
    let mut setup = TransportSetup::new(&phantom, &physics, source, emitter, decays);
    setup.electron_model = model;
    setup.threads = threads;
    setup.seed = seed;
    let layout = layout_for(&phantom);
    let t0 = Instant::now();
    let r = run(&setup, &layout, &|_| {}).map_err(|e| e.to_string())?;
    let wall = t0.elapsed().as_secs_f64();
    let n = r.decays as f64;
    let mut within = vec![0.0; radii.len()];
    let mut deposited = 0.0;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (v, &s) in r.voxel_sum.iter().enumerate() {
        hash = (hash ^ s.to_bits()).wrapping_mul(0x0100_0000_01b3);
        if s == 0.0 {
            continue;
        }
        let e = s / n;
        deposited += e;
        let p = g.centre(v);
        let d = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        for (w, &rr) in within.iter_mut().zip(&radii) {
            if d <= rr + 1e-9 {
                *w += e;
            }
        }
    }
    let mass_g = voxel_cm.powi(3);
    let within_json: Vec<String> = radii
        .iter()
        .zip(&within)
        .map(|(r, w)| format!("\"{r}\": {w:e}"))
        .collect();
    println!(
        "{{\"electron_model\": \"{}\", \"decays\": {}, \"threads\": {threads}, \"wall_s\": {wall}, \
         \"decays_per_s\": {}, \"emitted_mev_per_decay\": {:e}, \"deposited_mev_per_decay\": {:e}, \
         \"deposited_in_voxels_mev_per_decay\": {deposited:e}, \
         \"centre_voxel_dose_gy_per_decay\": {:e}, \"within_mev_per_decay\": {{{}}}, \
         \"voxel_sum_hash\": \"{hash:016x}\"}}",
        model.name(),
        r.decays,
        n / wall.max(1e-9),
        r.emitted_mev_per_decay(),
        r.deposited_mev_per_decay(),
        r.voxel_dose_gy(centre, mass_g),
        within_json.join(", ")
    );
    Ok(())
}
