//! A checked kernel request, ready to transport.

use std::time::Instant;

use serde_json::{json, Value};
use xfire_data::materials::Material;
use xfire_data::nuclides::{library, EmissionSampler, Particle};
use xfire_phantom::{Grid, MaterialEntry, Phantom};
use xfire_tally::kernel::SymmetryClasses;
use xfire_tally::shells::{ShellMap, ShellScorer, ShellSums};
use xfire_tally::{BatchScorer, TallyLayout, TallyResult};
use xfire_transport::{
    phantom_layout, run_batches_until, Cutoffs, Emitter, PhysicsTables, Source, TransportSetup,
};

use super::{EmitterSpec, Kernel, KernelMeta, KernelRequest, MonoParticle, SourceKind};
use crate::{ApiError, Result};

/// Everything a kernel needs before transport, checked: phantom, emitter, physics tables,
/// tally layout. Building it does all the checks that can fail, so a caller can create its
/// output folder only after [`KernelPlan::new`] succeeded.
pub struct KernelPlan {
    req: KernelRequest,
    material: Material,
    voxel_cm: f64,
    phantom: Phantom,
    emitter: PlannedEmitter,
    emitter_meta: Value,
    physics: PhysicsTables,
    condensed_cut_mev: Option<f64>,
    classes: SymmetryClasses,
    layout: TallyLayout,
}

enum PlannedEmitter {
    Nuclide(Box<EmissionSampler>),
    Mono(Particle, f64),
}

fn arg(arg: &'static str, detail: String) -> ApiError {
    ApiError::Arg { arg, detail }
}

/// Checks the numbers of `req`; returns the voxel edge [cm].
fn check_numbers(req: &KernelRequest) -> Result<f64> {
    if req.grid & 1 == 0 {
        return Err(arg(
            "grid",
            format!(
                " must be an odd number of voxels per axis (the source sits in the centre voxel), got {}",
                req.grid
            ),
        ));
    }
    if req.grid > 1001 {
        let d = format!(" {} is too large (at most 1001 voxels per axis)", req.grid);
        return Err(arg("grid", d));
    }
    let voxel_cm = xfire_core::units::parse_length_cm(&req.voxel)?;
    if voxel_cm.is_nan() || voxel_cm <= 0.0 {
        let d = format!(" must be positive, got {:?} ({voxel_cm} cm)", req.voxel);
        return Err(arg("voxel", d));
    }
    if req.decays == 0 {
        return Err(arg("decays", " must be at least 1, got 0".into()));
    }
    if req.batch_size == 0 {
        return Err(arg("batch-size", " must be at least 1, got 0".into()));
    }
    Ok(voxel_cm)
}

/// The emitter, its metadata and whether α tables are needed.
fn plan_emitter(spec: &EmitterSpec) -> Result<(PlannedEmitter, Value, bool)> {
    match spec {
        EmitterSpec::Nuclide { name, emissions } => {
            let nuc = library().resolve(name)?;
            let sampler = EmissionSampler::new(nuc, emissions.set())?;
            let meta = json!({"nuclide": nuc.name, "emissions": emissions.name()});
            Ok((
                PlannedEmitter::Nuclide(Box::new(sampler)),
                meta,
                !nuc.alpha.is_empty(),
            ))
        }
        EmitterSpec::Particle { particle, energy } => {
            let e = xfire_core::units::parse_energy_mev(energy)?;
            if e.is_nan() || e <= 0.0 {
                return Err(arg("energy", format!(" must be positive, got {energy:?}")));
            }
            let p = match particle {
                MonoParticle::Electron => Particle::Electron,
                MonoParticle::Alpha => Particle::Alpha,
                MonoParticle::Photon => Particle::Photon,
            };
            let meta = json!({"particle": particle.name(), "energy_mev": e});
            let with_alpha = *particle == MonoParticle::Alpha;
            Ok((PlannedEmitter::Mono(p, e), meta, with_alpha))
        }
    }
}

impl KernelPlan {
    /// Checks `req` and builds what its transport needs (errors name the bad value).
    pub fn new(req: &KernelRequest) -> Result<Self> {
        let voxel_cm = check_numbers(req)?;
        let material =
            crate::material::find_material(&req.material, req.materials_file.as_deref())?;
        let n = req.grid;
        let grid = Grid::centred([n; 3], [voxel_cm; 3])?;
        let entry = MaterialEntry {
            name: material.name.clone(),
            density_g_cm3: material.density_g_cm3,
        };
        let phantom = Phantom::uniform(grid, entry, 0);
        let (emitter, emitter_meta, with_alpha) = plan_emitter(&req.emitter)?;
        let mut physics = PhysicsTables::new(std::slice::from_ref(&material), with_alpha)?;
        let condensed_cut_mev = req.condensed_cut_mev()?;
        if let Some(cut) = condensed_cut_mev {
            physics =
                physics.with_condensed(xfire_physics::condensed::CondensedParams::with_cut(cut))?;
        }
        let classes = SymmetryClasses::new(n)?;
        let layout = phantom_layout(&phantom, vec![classes.map()?])?;
        Ok(Self {
            req: req.clone(),
            material,
            voxel_cm,
            phantom,
            emitter,
            emitter_meta,
            physics,
            condensed_cut_mev,
            classes,
            layout,
        })
    }

    /// The request this plan was made from.
    pub fn request(&self) -> &KernelRequest {
        &self.req
    }

    /// The medium.
    pub fn material(&self) -> &Material {
        &self.material
    }

    /// The condensed-history cutoff used [MeV] (`None`: straight-line electrons).
    pub fn condensed_cut_mev(&self) -> Option<f64> {
        self.condensed_cut_mev
    }

    /// The emitter's description (`{"nuclide", "emissions"}` or `{"particle", "energy_mev"}`).
    pub fn emitter_meta(&self) -> &Value {
        &self.emitter_meta
    }

    /// Transports the decays (a point source) scoring energy in the spherical shells of `map`
    /// (made for this plan's grid) instead of voxels; returns the sums and the transport time
    /// [s]. `progress` and `stop` as in [`KernelPlan::run`].
    pub fn run_shells(
        &self,
        map: &ShellMap,
        progress: &(dyn Fn(u64) + Sync),
        stop: &dyn Fn() -> bool,
    ) -> Result<(ShellSums, f64)> {
        if self.req.source != SourceKind::Point {
            return Err(ApiError::Invalid(
                "spherical shells are scored around a point source only".into(),
            ));
        }
        let setup = self.setup();
        let mut sums = ShellSums::new(&map.bins);
        let t0 = Instant::now();
        let stopped = run_batches_until(
            &setup,
            || ShellScorer::new(map),
            |s| s.finish_batch(),
            |b| sums.absorb(&b),
            &|d| progress(d),
            &|| stop(),
        )?;
        if stopped {
            return Err(ApiError::Interrupted {
                done: sums.decays,
                total: self.req.decays,
            });
        }
        Ok((sums, t0.elapsed().as_secs_f64()))
    }

    fn setup(&self) -> TransportSetup<'_> {
        let grid = &self.phantom.grid;
        let centre = self.req.grid / 2;
        let centre_voxel = grid.index(centre, centre, centre);
        let source = match self.req.source {
            SourceKind::Point => Source::Point(grid.centre(centre_voxel)),
            SourceKind::Voxel => Source::Voxel(centre_voxel),
        };
        let emitter = match &self.emitter {
            PlannedEmitter::Nuclide(s) => Emitter::Nuclide(s),
            PlannedEmitter::Mono(particle, e) => Emitter::Mono {
                particle: *particle,
                energy_mev: *e,
            },
        };
        let mut setup = TransportSetup::new(
            &self.phantom,
            &self.physics,
            source,
            emitter,
            self.req.decays,
        );
        setup.seed = self.req.seed;
        setup.threads = self.req.threads;
        setup.batch_size = self.req.batch_size;
        setup.alpha_straggling = self.req.alpha_straggling;
        setup.cutoffs = Cutoffs::default();
        setup.electron_model = self.req.electron_model();
        setup
    }

    /// Transports the decays. `progress` is told the decays done after each round of
    /// batches; `stop` is asked before each round (both on the calling thread), and when
    /// it answers true the run ends with [`ApiError::Interrupted`].
    pub fn run(self, progress: &(dyn Fn(u64) + Sync), stop: &dyn Fn() -> bool) -> Result<Kernel> {
        let setup = self.setup();
        let mut tally = TallyResult::new(&self.layout);
        let t0 = Instant::now();
        let stopped = run_batches_until(
            &setup,
            || BatchScorer::new(&self.layout),
            |s| s.finish_batch(),
            |b| tally.absorb(&b),
            &|d| progress(d),
            &|| stop(),
        )?;
        let wall_s = t0.elapsed().as_secs_f64();
        if stopped {
            return Err(ApiError::Interrupted {
                done: tally.decays,
                total: self.req.decays,
            });
        }
        let threads = if self.req.threads > 0 {
            self.req.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        let meta = KernelMeta {
            emitter: self.emitter_meta.clone(),
            material: self.material.name.clone(),
            density_g_cm3: self.material.density_g_cm3,
            voxel_cm: self.voxel_cm,
            cut_cm: setup.cutoffs.cut_length_cm(&self.phantom.grid),
            cutoff_min_energy_mev: setup.cutoffs.min_energy_mev,
            condensed_cut_mev: self.condensed_cut_mev,
        };
        let sym = self.layout.region_index("symmetry").ok_or_else(|| {
            xfire_transport::TransportError::Invalid("symmetry region map missing".into())
        })?;
        Ok(Kernel::new(
            self.req,
            meta,
            tally,
            self.classes,
            sym,
            wall_s,
            threads,
        ))
    }
}
