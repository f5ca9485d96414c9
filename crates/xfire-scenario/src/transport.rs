//! The transport step: every source component (chain member × site) is transported once for
//! unit decays, its α part (α lines and recoils) and its low-LET part (everything else)
//! separately, and the tallies are cached on disk.
//!
//! Cache: one file per (component, part) in the cache folder, named
//! `NUCLIDE_SITE_PART_KEY.tally`, KEY a 64-bit hash of the xfire version, the phantom's
//! content hash, the source map's weights, the nuclide and part, and every transport setting
//! (decays, seed, batch size, target uncertainty, maximum decays, cutoffs, electron model,
//! straggling). Kinetics, regimen, lymphocyte and radiobiology changes do not touch the key.
//! The file is the exact tally in the one tally file format (`XFTALLY4`,
//! `docs/formats/tally.md`, the same as checkpoints and shard parts) with what the plan's
//! layout keeps: region tallies always, per-voxel sums only when the answer needs per-voxel
//! doses ([`xfire_tally::VoxelTally`]). A file of an older format is refused with a note
//! naming its version, and replaced.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use xfire_core::hash::Fnv64;
use xfire_data::nuclides::{library, EmissionSampler, Radiation, RadiationSet, Recoil};
use xfire_tally::{dose_gy, ExactTally, TallyLayout, TallyResult, VoxelTally};
use xfire_transport::{Emitter, PhysicsTables, Source, TransportSetup};

use crate::plan::Plan;
use crate::voxels::VoxelDose;
use crate::{io_error, Context, Result, ScenarioError};

/// The α part or the low-LET part of a nuclide's emissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Part {
    /// Everything but α particles and their recoils (β, conversion and Auger electrons,
    /// photons).
    LowLet,
    /// α particles and recoil nuclei.
    Alpha,
}

impl Part {
    /// Name used in files ("low_let", "alpha").
    pub fn name(self) -> &'static str {
        match self {
            Part::LowLet => "low_let",
            Part::Alpha => "alpha",
        }
    }
    /// The radiation types of the part; α recoils as `recoil` says (the blood self-dose
    /// takes the same set: `xfire_kinetics::lymphocytes::non_penetrating_energy`).
    pub fn set(self, recoil: Recoil) -> RadiationSet {
        match self {
            Part::Alpha => recoil.alpha_set(),
            Part::LowLet => RadiationSet::of(
                &Radiation::ALL
                    .iter()
                    .copied()
                    .filter(|r| !matches!(r, Radiation::Alpha | Radiation::AlphaRecoil))
                    .collect::<Vec<_>>(),
            ),
        }
    }
}

/// The transport of one part of one component.
#[derive(Debug, Clone)]
pub struct PartTransport {
    /// Which part.
    pub part: Part,
    /// The tally per region (labels, cells, groups), batch statistics, energy balance and
    /// spectra; its per-voxel arrays are empty (per-voxel doses are in `voxel_dose`), except
    /// for a part of a nested lesion, which keeps the sums of both grids (its macro map).
    pub tally: TallyResult,
    /// Absorbed dose per decay per voxel \[Gy\] (`f32`), when the plan's layout keeps
    /// per-voxel tallies: of every voxel, or of the plan's [`Plan::dose_voxels`]; shared, not
    /// copied, by the comparison's reuse of parts.
    pub voxel_dose: Option<Arc<VoxelDose>>,
    /// Read from the cache.
    pub from_cache: bool,
    /// Cache key (hex).
    pub key: String,
    /// Wall time of the transport \[s\] (0 from the cache).
    pub wall_s: f64,
    /// Why a cache file found for this part was not used (an older tally format).
    pub cache_note: Option<String>,
}

impl PartTransport {
    /// The part from its exact tally: regions in `f64`, per-voxel sums (if kept) as
    /// absorbed dose per decay per voxel in `f32`.
    pub fn from_exact(plan: &Plan, part: Part, acc: &ExactTally, key: &str) -> Self {
        let voxel_dose = (!acc.voxel_sum.is_empty()).then(|| {
            let n = acc.decays.max(1) as f64;
            voxel_dose(plan, |v| acc.voxel_sum_mev(v) / n)
        });
        Self {
            part,
            tally: acc.region_result(),
            voxel_dose,
            from_cache: false,
            key: key.to_string(),
            wall_s: 0.0,
            cache_note: None,
        }
    }
}

/// Absorbed dose per decay \[Gy\] (`f32`) of the voxels of the plan's phantom that the plan
/// keeps ([`Plan::dose_voxels`]) from the mean energy per decay `mean_mev(v)` \[MeV\].
pub(crate) fn voxel_dose(plan: &Plan, mean_mev: impl Fn(usize) -> f64) -> Arc<VoxelDose> {
    let ph = &plan.phantom;
    Arc::new(VoxelDose::new(
        ph.grid.len(),
        plan.dose_voxels.clone(),
        |v| dose_gy(mean_mev(v), ph.voxel_mass_g(v)) as f32,
    ))
}

/// The transport of one source component; a part the nuclide does not emit is absent.
#[derive(Debug, Clone)]
pub struct ComponentTransport {
    /// Nuclide.
    pub nuclide: String,
    /// Site.
    pub site: String,
    /// Low-LET and α parts.
    pub parts: Vec<PartTransport>,
}

impl ComponentTransport {
    /// The tally of `part`, if the nuclide emits it.
    pub fn part(&self, part: Part) -> Option<&TallyResult> {
        self.parts.iter().find(|p| p.part == part).map(|p| &p.tally)
    }

    /// Absorbed dose per decay per voxel of `part` \[Gy\], if the nuclide emits it and the
    /// layout keeps per-voxel tallies.
    pub fn voxel_dose(&self, part: Part) -> Option<&VoxelDose> {
        self.parts
            .iter()
            .find(|p| p.part == part)
            .and_then(|p| p.voxel_dose.as_deref())
    }
}

/// Progress callback: (what is transported, decays done, decays planned).
pub type ProgressFn = std::sync::Arc<dyn Fn(&str, u64, u64) + Send + Sync>;

/// Transport settings beyond the scenario.
#[derive(Clone, Default)]
pub struct Options {
    /// Worker threads (0: all cores).
    pub threads: usize,
    /// Cache folder (None: no cache).
    pub cache_dir: Option<PathBuf>,
    /// Keep per-voxel tallies out of the cache: a part whose layout keeps them is neither
    /// read from nor written to it (the comparison, whose disk use stays at region tallies).
    pub cache_regions_only: bool,
    /// Progress callback: (what, decays done, decays planned).
    pub progress: Option<ProgressFn>,
    /// Run only this shard's batches and write its part files (no cache; `crate::shard`).
    pub shard: Option<crate::shard::ShardOut>,
    /// Write checkpoints (and resume from them); `crate::shard`.
    pub checkpoint: Option<crate::shard::Checkpointing>,
    /// Set (e.g. by a Ctrl-C handler) to stop at the next batch boundary: the part being
    /// transported writes its checkpoint (when checkpoints are on) and the run ends with
    /// [`crate::ScenarioError::Interrupted`]; `resume` continues it with the same bytes.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("threads", &self.threads)
            .field("cache_dir", &self.cache_dir)
            .field("cache_regions_only", &self.cache_regions_only)
            .field("shard", &self.shard)
            .field("checkpoint", &self.checkpoint)
            .field("stop", &self.stop)
            .finish()
    }
}

/// The cache key of one part of one component.
pub fn cache_key(
    plan: &Plan,
    nuclide: &str,
    site: &str,
    part: Part,
    setup: &TransportSetup,
) -> String {
    let mut h = Fnv64::new();
    h.bytes(env!("CARGO_PKG_VERSION").as_bytes());
    h.u64(plan.phantom_hash);
    if let Some(s) = plan.site(site) {
        let mut w = Fnv64::new();
        for x in &s.map.weight {
            w.u64(u64::from(x.to_bits()));
        }
        h.u64(w.value());
    }
    h.bytes(nuclide.as_bytes());
    h.bytes(part.name().as_bytes());
    let t = &plan.scenario.transport;
    for x in [t.decays, t.seed, t.batch_size, t.max_decays] {
        h.u64(x);
    }
    h.u64(t.target_uncertainty.unwrap_or(-1.0).to_bits());
    if let Some(u) = t.target_cell_uncertainty {
        h.u64(u.to_bits()); // keys without it stay as they were
    }
    h.u64(setup.cutoffs.range_fraction_of_voxel.to_bits());
    h.u64(setup.cutoffs.min_energy_mev.to_bits());
    h.bytes(format!("{:?}", setup.electron_model).as_bytes());
    if t.condensed_history {
        h.u64(t.electron_cut_mev.to_bits());
    }
    h.u64(u64::from(setup.alpha_straggling));
    if part == Part::Alpha && t.recoil != Recoil::Local {
        h.bytes(t.recoil.name().as_bytes()); // keys of the default stay as they were
    }
    format!("{:016x}", h.value())
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The header of a cache file: the part's checkpoint header, complete.
fn cache_header(
    plan: &Plan,
    (nuclide, site, part): (&str, &str, Part),
    key: &str,
    t: &ExactTally,
) -> crate::shard::PartHeader {
    let nb = crate::shard::planned_batches(plan);
    crate::shard::PartHeader {
        key: key.to_string(),
        nuclide: nuclide.to_string(),
        site: site.to_string(),
        part: part.name().to_string(),
        batch_size: plan.scenario.transport.batch_size,
        first_batch: 0,
        next_batch: t.batches,
        end_batch: nb,
        stopped: t.batches < nb,
    }
}

/// Whether `t` holds what `layout` keeps (per-voxel arrays and region maps).
fn fits(t: &ExactTally, layout: &TallyLayout) -> bool {
    let nv = |k: usize| {
        if layout.voxels.arrays() >= k {
            layout.n_voxels
        } else {
            0
        }
    };
    t.voxel_sum.len() == nv(1)
        && t.voxel_sum2.len() == nv(2)
        && t.regions.len() == layout.regions.len()
        && t.regions
            .iter()
            .zip(&layout.regions)
            .all(|(a, b)| a.name == b.name && a.sum.len() == b.n_regions)
        && t.self_cell.as_ref().map(|s| (s.by_map, s.sum.len()))
            == layout
                .self_cell
                .map(|s| (s.by_map, layout.regions[s.by_map].n_regions))
}

/// The cached tally of a part in `f`, if there is one for `key` that fits `layout`; a note
/// when a file was there but is refused (older format, unreadable).
fn read_cache(f: &Path, key: &str, layout: &TallyLayout) -> (Option<ExactTally>, Option<String>) {
    if !f.exists() {
        return (None, None);
    }
    match crate::shard::read_part(f) {
        Ok((h, t)) => {
            let ok = h.key == key && h.complete() && fits(&t, layout);
            (ok.then_some(t), None)
        }
        Err(e) => (
            None,
            Some(format!(
                "cache file refused ({}); transported again, the file is replaced",
                e.message()
            )),
        ),
    }
}

/// Transport one part of one component (or read it from the cache).
pub fn transport_part(
    plan: &Plan,
    physics: &PhysicsTables,
    nuclide: &str,
    site: &str,
    part: Part,
    opts: &Options,
) -> Result<Option<PartTransport>> {
    if let Some(np) = &plan.nested {
        return crate::lesion::transport_part(plan, np, physics, (nuclide, site, part), opts);
    }
    let nuc = library()
        .resolve(nuclide)
        .context(format!("nuclide {nuclide}"))?;
    let t = &plan.scenario.transport;
    let Ok(sampler) = EmissionSampler::new(nuc, part.set(t.recoil)) else {
        return Ok(None); // the nuclide emits nothing of this part
    };
    let sm = plan
        .site(site)
        .ok_or_else(|| ScenarioError::Check(format!("no source map for site {site:?}")))?;
    let mut setup = TransportSetup::new(
        &plan.phantom,
        physics,
        Source::Map(&sm.map),
        Emitter::Nuclide(&sampler),
        t.decays,
    );
    setup.seed = t.seed;
    setup.batch_size = t.batch_size;
    setup.threads = opts.threads;
    setup.electron_model = t.electron_model();
    let key = cache_key(plan, nuclide, site, part, &setup);
    let keeps_voxels = plan.layout.voxels != VoxelTally::None;
    let cache_dir = opts
        .cache_dir
        .as_ref()
        .filter(|_| opts.shard.is_none() && !(opts.cache_regions_only && keeps_voxels));
    let file = cache_dir.map(|d| {
        d.join(format!(
            "{}_{}_{}_{key}.tally",
            sanitize(nuclide),
            sanitize(site),
            part.name()
        ))
    });
    let mut cache_note = None;
    if let Some(f) = &file {
        let (hit, note) = read_cache(f, &key, &plan.layout);
        if let Some(acc) = hit {
            let mut p = PartTransport::from_exact(plan, part, &acc, &key);
            p.from_cache = true;
            return Ok(Some(p));
        }
        cache_note = note.map(|n| format!("{nuclide} @ {site} ({}): {n}", part.name()));
    }
    let start = std::time::Instant::now();
    // batches accumulated exactly: same bytes for any thread count, shard split or resume
    let mut run_opts;
    let opts = if file.is_none() && opts.cache_dir.is_some() {
        // not cached here: the finished part is checkpointed as without a cache
        run_opts = opts.clone();
        run_opts.cache_dir = None;
        &run_opts
    } else {
        opts
    };
    let acc = crate::shard::run_part(plan, &mut setup, (nuclide, site, part), &key, opts)?;
    if let Some(f) = &file {
        if let Some(d) = f.parent() {
            std::fs::create_dir_all(d).map_err(io_error("create cache folder", d))?;
        }
        let h = cache_header(plan, (nuclide, site, part), &key, &acc);
        crate::shard::write_part(f, &h, &acc).map_err(io_error("write cache file", f))?;
    }
    let mut p = PartTransport::from_exact(plan, part, &acc, &key);
    p.wall_s = start.elapsed().as_secs_f64();
    p.cache_note = cache_note;
    Ok(Some(p))
}

/// Physics tables of `phantom` for the transport spec `t`: with the condensed-history tables
/// when `t` selects that electron model.
pub fn physics_tables(
    phantom: &xfire_phantom::Phantom,
    t: &crate::spec::TransportSpec,
) -> Result<PhysicsTables> {
    let physics = PhysicsTables::for_phantom(phantom, &xfire_data::materials::builtin, true)
        .context("physics tables")?;
    match t.condensed_params() {
        Some(params) => physics
            .with_condensed(params)
            .context("condensed-history tables"),
        None => Ok(physics),
    }
}

/// Transport every component of the plan (in component order, parts low-LET then α).
pub fn transport_all(plan: &Plan, opts: &Options) -> Result<Vec<ComponentTransport>> {
    let physics = physics_tables(&plan.phantom, &plan.scenario.transport)?;
    let mut out = Vec::new();
    for c in plan.source.components() {
        let mut parts = Vec::new();
        for part in [Part::LowLet, Part::Alpha] {
            if let Some(p) = transport_part(plan, &physics, &c.nuclide, &c.site, part, opts)? {
                parts.push(p);
            }
        }
        out.push(ComponentTransport {
            nuclide: c.nuclide.clone(),
            site: c.site.clone(),
            parts,
        });
    }
    Ok(out)
}
