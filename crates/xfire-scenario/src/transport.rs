//! The transport step: every source component (chain member × site) is transported once for
//! unit decays, its α part (α lines and recoils) and its low-LET part (everything else)
//! separately, and the tallies are cached on disk.
//!
//! Cache: one file per (component, part) in the cache folder, named
//! `NUCLIDE_SITE_PART_KEY.tally`, KEY a 64-bit hash of the xfire version, the phantom's
//! content hash, the source map's weights, the nuclide and part, and every transport setting
//! (decays, seed, batch size, target uncertainty, maximum decays, cutoffs, electron model,
//! straggling). Kinetics, regimen, lymphocyte and radiobiology changes do not touch the key.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use xfire_data::nuclides::{library, EmissionSampler, Radiation, RadiationSet, Recoil};
use xfire_tally::{BatchStat, EnergyBalance, EventSpectrum, RegionTally, TallyResult};
use xfire_transport::{Emitter, PhysicsTables, Source, TransportSetup};

use crate::plan::Plan;
use crate::{Result, ScenarioError};

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
    /// The tally (energy per voxel and region, batch statistics).
    pub tally: TallyResult,
    /// Read from the cache.
    pub from_cache: bool,
    /// Cache key (hex).
    pub key: String,
    /// Wall time of the transport \[s\] (0 from the cache).
    pub wall_s: f64,
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
            .field("shard", &self.shard)
            .field("checkpoint", &self.checkpoint)
            .field("stop", &self.stop)
            .finish()
    }
}

fn failed(what: impl std::fmt::Display) -> ScenarioError {
    ScenarioError::Failed(what.to_string())
}

struct Fnv(u64);
impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01B3);
        }
        self.u64(b.len() as u64);
    }
    fn u64(&mut self, x: u64) {
        for byte in x.to_le_bytes() {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01B3);
        }
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
    let mut h = Fnv::new();
    h.bytes(env!("CARGO_PKG_VERSION").as_bytes());
    h.u64(plan.phantom_hash);
    if let Some(s) = plan.site(site) {
        let mut w = Fnv::new();
        for x in &s.map.weight {
            w.u64(u64::from(x.to_bits()));
        }
        h.u64(w.0);
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
    format!("{:016x}", h.0)
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

const MAGIC: &[u8; 8] = b"XFTALLY2";

/// Write a tally to `path` atomically (raw little-endian; see the module doc).
pub fn write_tally(path: &Path, t: &TallyResult) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let res = (|| {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        f.write_all(MAGIC)?;
        let u = |f: &mut std::io::BufWriter<std::fs::File>, x: u64| f.write_all(&x.to_le_bytes());
        let arr = |f: &mut std::io::BufWriter<std::fs::File>, a: &[f64]| -> std::io::Result<()> {
            f.write_all(&(a.len() as u64).to_le_bytes())?;
            for x in a {
                f.write_all(&x.to_le_bytes())?;
            }
            Ok(())
        };
        u(&mut f, t.decays)?;
        u(&mut f, t.batches)?;
        arr(&mut f, &t.voxel_sum)?;
        arr(&mut f, &t.voxel_sum2)?;
        u(&mut f, t.regions.len() as u64)?;
        for r in &t.regions {
            u(&mut f, r.name.len() as u64)?;
            f.write_all(r.name.as_bytes())?;
            arr(&mut f, &r.sum)?;
            arr(&mut f, &r.sum2)?;
        }
        let b = &t.balance;
        for s in [
            &b.emitted,
            &b.deposited,
            &b.escaped_charged,
            &b.escaped_photon,
            &b.below_cutoff,
        ] {
            arr(&mut f, &[s.sum, s.sum2])?;
        }
        arr(&mut f, &[t.max_history_imbalance_rel])?;
        u(&mut f, t.events.len() as u64)?;
        for e in &t.events {
            u(&mut f, e.counts.len() as u64)?;
            for &c in &e.counts {
                u(&mut f, c)?;
            }
            arr(&mut f, &[e.sum_z, e.sum_z2])?;
        }
        f.flush()?;
        Ok(())
    })();
    match res {
        Ok(()) => std::fs::rename(&tmp, path),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Read a tally written by [`write_tally`].
pub fn read_tally(path: &Path) -> std::io::Result<TallyResult> {
    let mut buf = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut buf)?;
    let bad = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not an xfire tally cache file",
        )
    };
    if buf.len() < 8 || &buf[..8] != MAGIC {
        return Err(bad());
    }
    let mut c = crate::exact::Cursor::new(&buf, 8);
    let decays = c.u64().ok_or_else(bad)?;
    let batches = c.u64().ok_or_else(bad)?;
    let voxel_sum = c.f64s().ok_or_else(bad)?;
    let voxel_sum2 = c.f64s().ok_or_else(bad)?;
    let nr = c.u64().ok_or_else(bad)?;
    // no capacity from the count: each region read consumes its bytes first
    let mut regions = Vec::new();
    for _ in 0..nr {
        let name = c.string().ok_or_else(bad)?;
        let sum = c.f64s().ok_or_else(bad)?;
        let sum2 = c.f64s().ok_or_else(bad)?;
        regions.push(RegionTally { name, sum, sum2 });
    }
    let mut st = || -> std::io::Result<BatchStat> {
        match c.f64s().ok_or_else(bad)?[..] {
            [sum, sum2] => Ok(BatchStat { sum, sum2 }),
            _ => Err(bad()),
        }
    };
    let balance = EnergyBalance {
        emitted: st()?,
        deposited: st()?,
        escaped_charged: st()?,
        escaped_photon: st()?,
        below_cutoff: st()?,
    };
    let m = c.f64s().ok_or_else(bad)?;
    let ne = c.u64().ok_or_else(bad)?;
    let mut events = Vec::new();
    for _ in 0..ne {
        let counts = c.u64s().ok_or_else(bad)?;
        let [sum_z, sum_z2] = c.f64s().ok_or_else(bad)?[..] else {
            return Err(bad());
        };
        events.push(EventSpectrum {
            counts,
            sum_z,
            sum_z2,
        });
    }
    if c.pos != buf.len() {
        return Err(bad());
    }
    Ok(TallyResult {
        decays,
        batches,
        voxel_sum,
        voxel_sum2,
        regions,
        balance,
        max_history_imbalance_rel: *m.first().ok_or_else(bad)?,
        events,
    })
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
        .map_err(|e| failed(format!("nuclide {nuclide}: {e}")))?;
    let t = &plan.scenario.transport;
    let Ok(sampler) = EmissionSampler::new(nuc, part.set(t.recoil)) else {
        return Ok(None); // the nuclide emits nothing of this part
    };
    let sm = plan
        .site(site)
        .ok_or_else(|| failed(format!("no source map for site {site:?}")))?;
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
    let cache_dir = opts.cache_dir.as_ref().filter(|_| opts.shard.is_none());
    let file = cache_dir.map(|d| {
        d.join(format!(
            "{}_{}_{}_{key}.tally",
            sanitize(nuclide),
            sanitize(site),
            part.name()
        ))
    });
    if let Some(f) = &file {
        if let Ok(tally) = read_tally(f) {
            if tally.voxel_sum.len() == plan.phantom.grid.len()
                && tally.regions.len() == plan.layout.regions.len()
            {
                return Ok(Some(PartTransport {
                    part,
                    tally,
                    from_cache: true,
                    key,
                    wall_s: 0.0,
                }));
            }
        }
    }
    let start = std::time::Instant::now();
    // batches accumulated exactly: same bytes for any thread count, shard split or resume
    let tally =
        crate::shard::run_part(plan, &mut setup, (nuclide, site, part), &key, opts)?.to_result();
    if let Some(f) = &file {
        if let Some(d) = f.parent() {
            std::fs::create_dir_all(d)
                .map_err(|e| failed(format!("cannot create cache folder {}: {e}", d.display())))?;
        }
        write_tally(f, &tally)
            .map_err(|e| failed(format!("cannot write cache file {}: {e}", f.display())))?;
    }
    Ok(Some(PartTransport {
        part,
        tally,
        from_cache: false,
        key,
        wall_s: start.elapsed().as_secs_f64(),
    }))
}

/// Physics tables of `phantom` for the transport spec `t`: with the condensed-history tables
/// when `t` selects that electron model.
pub fn physics_tables(
    phantom: &xfire_phantom::Phantom,
    t: &crate::spec::TransportSpec,
) -> Result<PhysicsTables> {
    let physics = PhysicsTables::for_phantom(phantom, &xfire_data::materials::builtin, true)
        .map_err(|e| failed(format!("physics tables: {e}")))?;
    match t.condensed_params() {
        Some(params) => physics
            .with_condensed(params)
            .map_err(|e| failed(format!("condensed-history tables: {e}"))),
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
