//! Experiments with the switches of the condensed-history electron model (not a test: the
//! tests run the defaults only). A mono-energetic electron point source at the centre of a
//! water box; prints the energy per decay within voxelised spheres (voxel centres within r),
//! the quantity the ompMC comparisons of `tests/condensed.rs` use, for the default model and
//! for the model with the chosen switches.
//!
//! ```text
//! cargo run --release -p xfire-transport --example condensed_switches -- \
//!     [energy_MeV=0.5] [voxel_cm=0.01] [grid=41] [decays=20000] [seed=1] \
//!     [straggling=0|1] [spin=0|1] [hcc=0|1] [cut_MeV=0.01]
//! ```
//! e.g. `… -- 0.5 0.01 41 20000 1 0 1 1` compares the default with straggling switched off.

use xfire_data::materials::builtin;
use xfire_data::nuclides::Particle;
use xfire_phantom::{Grid, MaterialEntry, Phantom};
use xfire_physics::condensed::CondensedParams;
use xfire_physics::csda::ElectronModel;
use xfire_transport::{phantom_layout, run, Emitter, PhysicsTables, Source, TransportSetup};

/// Argument `i` (after the program name) as a number, `default` when absent.
fn arg(i: usize, default: f64) -> f64 {
    std::env::args().nth(i + 1).map_or(default, |s| {
        s.parse()
            .unwrap_or_else(|_| panic!("argument {} = {s:?} is not a number", i + 1))
    })
}

/// Energy per decay [MeV] within spheres of radius 1, 2, 4, … voxels.
fn spheres(p: &Phantom, params: CondensedParams, e: f64, decays: u64, seed: u64) -> Vec<f64> {
    let phys = PhysicsTables::for_phantom(p, &builtin, false)
        .and_then(|t| t.with_condensed(params))
        .expect("physics tables");
    let n = p.grid.dims()[0];
    let c = n / 2;
    let emitter = Emitter::Mono {
        particle: Particle::Electron,
        energy_mev: e,
    };
    let mut setup = TransportSetup::new(
        p,
        &phys,
        Source::Point(p.grid.centre_ijk(c, c, c)),
        emitter,
        decays,
    );
    setup.electron_model = ElectronModel::CondensedHistory;
    setup.seed = seed;
    let layout = phantom_layout(p, vec![]).expect("layout");
    let r = run(&setup, &layout, &|_| {}).expect("run");
    let radii: Vec<usize> = (0..).map(|k| 1 << k).take_while(|&r| r <= c).collect();
    radii
        .iter()
        .map(|&rv| {
            (0..p.grid.len())
                .filter(|&v| {
                    let d2: usize = p.grid.ijk(v).iter().map(|&a| a.abs_diff(c).pow(2)).sum();
                    d2 <= rv * rv
                })
                .map(|v| r.voxel_mean_mev(v))
                .sum()
        })
        .collect()
}

fn main() {
    let (e, voxel, n) = (arg(0, 0.5), arg(1, 0.01), arg(2, 41.0) as usize);
    let (decays, seed) = (arg(3, 20_000.0) as u64, arg(4, 1.0) as u64);
    let d = CondensedParams::default();
    let flag = |i: usize, def: bool| arg(i, f64::from(u8::from(def))) != 0.0;
    let cut = arg(8, d.cut_mev);
    let chosen = CondensedParams {
        straggling: flag(5, d.straggling),
        spin: flag(6, d.spin),
        hard_collision_correction: flag(7, d.hard_collision_correction),
        ..CondensedParams::with_cut(cut)
    };
    chosen.validate().expect("valid parameters");
    let grid = Grid::centred([n, n, n], [voxel; 3]).expect("grid");
    let p = Phantom::uniform(
        grid,
        MaterialEntry {
            name: "water".into(),
            density_g_cm3: 1.0,
        },
        0,
    );
    println!("{e} MeV electrons, {n}³ × {voxel} cm water, {decays} decays");
    println!("default: {d:?}\nchosen:  {chosen:?}");
    let a = spheres(&p, d, e, decays, seed);
    let b = spheres(&p, chosen, e, decays, seed);
    for (k, (x, y)) in a.iter().zip(&b).enumerate() {
        println!(
            "r ≤ {:>3} voxels: default {x:.5} MeV, chosen {y:.5} MeV ({:+.2} %)",
            1 << k,
            (y / x - 1.0) * 100.0
        );
    }
}
