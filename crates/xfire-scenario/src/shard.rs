//! Runs split over processes and time: shards and their merge, checkpoints and resume, and
//! the batch loop of the transport step that makes them exact (`docs/formats/shard.md`,
//! `docs/hpc.md`).
//!
//! Every part (component × low-LET/α) is a sequence of batches: batch `b` holds histories
//! `b·batch_size .. (b+1)·batch_size` of the run, and its random numbers are a pure function
//! of (seed, history, stream). Shard K of N owns the contiguous batches
//! `⌊K·B/N⌋ .. ⌊(K+1)·B/N⌋` of the B batches the single run does. Batches are accumulated in
//! an [`ExactTally`] (fixed-point integers), so the sum over any split — threads, shards,
//! MPI ranks, checkpoint segments — is the same integers, and the `f64` tally (rounded once
//! at the end) the same bytes as the single run.
//!
//! Stop at uncertainty (`transport.target_uncertainty`, `transport.target_cell_uncertainty`):
//! after at least `transport.decays` decays, the run stops after the first batch at which
//! every target set is met (at most `transport.max_decays`): the relative uncertainty of the
//! tumour-cell mean energy, and the 95th percentile of the per-cell relative uncertainty of
//! the tumour cells and of the lymphocytes ([`target_reached`]); the result records the
//! decays actually run. The decision is taken on the exact sums after each batch, in batch
//! order, so it does not depend on the thread count. The stop point depends on every batch
//! before it, so a target cannot be combined with shards (refused with a message);
//! checkpoints and resume work with it (the checkpoint records that the target was reached).
//!
//! Checkpoints: every `every_batches` batches and/or `every_s` seconds the tally of the batches
//! done so far and the next batch index are written atomically (temporary file, fsync,
//! rename) to `DIR/NUCLIDE_SITE_PART_KEY[_kK-N].ckpt`, and once more when the part is
//! complete (unless the transport cache keeps it); `resume` continues from them.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

use xfire_tally::exact::{decode_file, encode_file};
use xfire_tally::{BatchScorer, BatchTally, ExactTally};
use xfire_transport::TransportSetup;

use crate::cellnoise::CELL_MAP;
use crate::plan::{Plan, GROUP_MAP, GROUP_TUMOUR};
use crate::spec::TransportSpec;
use crate::transport::{ComponentTransport, Options, Part, PartTransport};
use crate::{io_error, Context, Result, ScenarioError};

/// Shard K of N (K counted from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    /// This shard, 0..count.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl ShardSpec {
    /// Parses `"K/N"` with 0 ≤ K < N.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let bad = || format!("shard must be K/N with 0 <= K < N (e.g. 0/4), got {text:?}");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }

    /// The batches `[first, end)` of this shard out of `batches`.
    pub fn range(&self, batches: u64) -> (u64, u64) {
        let at = |k: u64| ((u128::from(batches) * u128::from(k)) / u128::from(self.count)) as u64;
        (at(self.index), at(self.index + 1))
    }
}

impl std::fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Where a shard run writes its part files and manifest.
#[derive(Debug, Clone)]
pub struct ShardOut {
    /// Which shard.
    pub spec: ShardSpec,
    /// Output folder of the shard.
    pub dir: PathBuf,
}

/// Checkpoint settings.
#[derive(Debug, Clone)]
pub struct Checkpointing {
    /// Folder of the checkpoint files.
    pub dir: PathBuf,
    /// Write after every this many batches (0: not by count).
    pub every_batches: u64,
    /// Write when this much wall time \[s\] has passed since the last one (0: not by time).
    pub every_s: f64,
    /// Continue from the checkpoints found in `dir`.
    pub resume: bool,
}

/// Header of a part file (checkpoint or shard part), JSON inside the binary file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PartHeader {
    /// Transport cache key of the part (version, phantom, source, nuclide, part, settings).
    pub key: String,
    /// Nuclide.
    pub nuclide: String,
    /// Site.
    pub site: String,
    /// "low_let" or "alpha".
    pub part: String,
    /// Histories per batch.
    pub batch_size: u64,
    /// First batch of the range this file belongs to.
    pub first_batch: u64,
    /// Next batch to run (= end_batch when complete, or earlier if the target was reached).
    pub next_batch: u64,
    /// End (exclusive) of the range.
    pub end_batch: u64,
    /// The uncertainty target was reached after batch next_batch − 1.
    pub stopped: bool,
}

impl PartHeader {
    /// No batch is left to run.
    pub fn complete(&self) -> bool {
        self.stopped || self.next_batch >= self.end_batch
    }
}

/// Writes `bytes` to `path` atomically: temporary file in the same folder, fsync, rename
/// (the project's one atomic write, re-exported).
pub use xfire_io::fsutil::write_atomic;

/// Writes a part file (checkpoint, shard part or cache entry): the tally file format
/// (`XFTALLY4`, [`xfire_tally::exact`]) with the header as JSON.
pub fn write_part(path: &Path, h: &PartHeader, t: &ExactTally) -> std::io::Result<()> {
    let head = serde_json::to_vec(h).map_err(std::io::Error::other)?;
    write_atomic(path, &encode_file(&head, t))
}

/// Reads a part file written by [`write_part`]; a file of an older format is refused with
/// its version named.
pub fn read_part(path: &Path) -> Result<(PartHeader, ExactTally)> {
    let buf = std::fs::read(path).map_err(io_error("read", path))?;
    let (head, t) = decode_file(&buf).map_err(|source| ScenarioError::TallyFile {
        path: path.to_path_buf(),
        source,
    })?;
    let h: PartHeader = serde_json::from_slice(head).map_err(|_| {
        ScenarioError::Check(format!(
            "{} is not an xfire part file (bad header)",
            path.display()
        ))
    })?;
    Ok((h, t))
}

/// File stem of a part: `NUCLIDE_SITE_PART`.
pub fn part_stem(nuclide: &str, site: &str, part: Part) -> String {
    let s = |t: &str| -> String {
        t.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}_{}_{}", s(nuclide), s(site), part.name())
}

/// Number of batches the single run of a part plans (with a target: up to max_decays).
pub fn planned_batches(plan: &Plan) -> u64 {
    let t = &plan.scenario.transport;
    decay_limit(t).div_ceil(t.batch_size)
}

/// The cells `transport.target_cell_uncertainty` bounds: the "cell" map's regions (= cell
/// ids) of the tumour cells and of the lymphocytes.
fn target_cells(plan: &Plan) -> [Vec<usize>; 2] {
    let of = |k: xfire_phantom::CellKind| -> Vec<usize> {
        let cells = &plan.phantom.cells.cells;
        cells
            .iter()
            .filter(|c| c.kind == k)
            .map(|c| c.id as usize)
            .collect()
    };
    [
        of(xfire_phantom::CellKind::TUMOUR),
        of(xfire_phantom::CellKind::LYMPHOCYTE),
    ]
}

/// Every uncertainty target set in `t` is met by the batches in `acc` (and at least
/// `t.decays` decays are done): the relative uncertainty of the tumour-cell mean energy
/// per decay ≤ `target_uncertainty`; the 95th percentile of the per-cell relative
/// uncertainty ≤ `target_cell_uncertainty` for the tumour cells and for the lymphocytes
/// (a population the phantom does not have is skipped; a cell without energy counts as
/// 100 %). A function of the exact sums only.
pub(crate) fn target_reached(t: &TransportSpec, acc: &ExactTally, cells: &[Vec<usize>; 2]) -> bool {
    if acc.decays < t.decays {
        return false;
    }
    if let Some(target) = t.target_uncertainty {
        let u = acc.region_rel_unc(GROUP_MAP, GROUP_TUMOUR);
        if !(u.is_finite() && u <= target && acc.region_sum_mev(GROUP_MAP, GROUP_TUMOUR) > 0.0) {
            return false;
        }
    }
    if let Some(target) = t.target_cell_uncertainty {
        for idx in cells {
            if let Some(u) = region_rel_unc_p95(acc, CELL_MAP, idx) {
                if !(u.is_finite() && u <= target) {
                    return false;
                }
            }
        }
    }
    true
}

/// 95th percentile over the regions `idx` of map `map` of the relative standard uncertainty
/// of their mean energy per decay (1 for a region without energy, NaN before two batches);
/// None when `idx` is empty. A function of the exact sums only.
fn region_rel_unc_p95(acc: &ExactTally, map: usize, idx: &[usize]) -> Option<f64> {
    crate::cellnoise::percentile_95(idx.iter().map(|&r| acc.region_rel_unc(map, r)).collect())
}

/// The batch loop of one part: the part's batch range (all, or the shard's), resumed from a
/// checkpoint when asked, checkpointed, stopped at the uncertainty target; returns the exact
/// tally of the batches run.
pub(crate) fn run_part(
    plan: &Plan,
    setup: &mut TransportSetup,
    (nuclide, site, part): (&str, &str, Part),
    key: &str,
    opts: &Options,
) -> Result<ExactTally> {
    let what = &format!("{nuclide} @ {site} ({})", part.name());
    let stem = &part_stem(nuclide, site, part);
    let t = &plan.scenario.transport;
    let (bs, limit) = (t.batch_size, decay_limit(t));
    let (first, end) = batch_range(plan, opts)?;
    let r = PartRange {
        key,
        nuclide,
        site,
        part,
        batch_size: bs,
        first,
        end,
    };
    let ck_file = opts
        .checkpoint
        .as_ref()
        .map(|c| checkpoint_file(c, opts, stem, key));
    let ck = opts.checkpoint.as_ref().zip(ck_file.as_deref());
    let mut st = BatchLoop::resumed(plan, &r, ck)?;
    let planned = (end * bs).min(limit) - (first * bs).min(limit);
    let cells = target_cells(plan);
    while st.next < end && !st.stopped {
        let seg_end = segment_end(t, st.next, end, setup.threads);
        setup.first_history = st.next * bs;
        setup.decays = (seg_end * bs).min(limit) - st.next * bs;
        let base = st.next * bs - (first * bs).min(limit);
        let cb = |d: u64| {
            if let Some(p) = &opts.progress {
                p(what, base + d, planned);
            }
        };
        let stop = || {
            opts.stop
                .as_ref()
                .is_some_and(|f| f.load(Ordering::Relaxed))
        };
        let interrupted = xfire_transport::run_batches_until(
            setup,
            || {
                // single-event (single-hit) spectra for the α part only: the low-LET hot loop
                // stays as it was
                if part == Part::Alpha {
                    BatchScorer::with_event_spectra(&plan.layout)
                } else {
                    BatchScorer::new(&plan.layout)
                }
            },
            |s| s.finish_batch(),
            |b| st.absorb(&b, &r, t, &cells, ck),
            &cb,
            &stop,
        )
        .context(format!("transport of {what}"))?;
        if let Some(e) = st.ck_err.take() {
            return Err(e);
        }
        if interrupted && st.next < end && !st.stopped {
            let header = || r.header(st.next, false);
            let (done, total) = (st.next - first, end - first);
            return Err(interrupted_at(
                what,
                done,
                total,
                ck_file.as_deref(),
                header,
                &st.acc,
            ));
        }
    }
    st.write_finished(&r, opts, ck_file.as_deref(), stem)?;
    Ok(st.acc)
}

/// The checkpoint file of the part `stem` with cache key `key` (and shard, if any).
fn checkpoint_file(c: &Checkpointing, opts: &Options, stem: &str, key: &str) -> PathBuf {
    let tag = opts
        .shard
        .as_ref()
        .map(|s| format!("_k{}-{}", s.spec.index, s.spec.count))
        .unwrap_or_default();
    c.dir.join(format!("{stem}_{key}{tag}.ckpt"))
}

/// The decays a part runs at most: `max_decays` with an uncertainty target, else `decays`.
fn decay_limit(t: &TransportSpec) -> u64 {
    if t.has_target() {
        t.max_decays
    } else {
        t.decays
    }
}

/// The batches `[first, end)` of a part in this run: all, or the shard's (a shard with an
/// uncertainty target is refused).
fn batch_range(plan: &Plan, opts: &Options) -> Result<(u64, u64)> {
    let nb = planned_batches(plan);
    let Some(s) = &opts.shard else {
        return Ok((0, nb));
    };
    if plan.scenario.transport.has_target() {
        return Err(ScenarioError::Check(
            "transport.target_uncertainty and transport.target_cell_uncertainty cannot \
             be combined with shards: where the run stops depends on every batch before \
             it. Remove the target (set transport.decays) or run without --shard \
             (checkpoints and --resume work with a target)"
                .into(),
        ));
    }
    Ok(s.spec.range(nb))
}

/// The end of the next segment of batches from `next`: with a target, the minimum
/// (transport.decays) in one go, then smaller segments so that the stop wastes little work
/// (each segment re-prepares the engine; the stop wastes at most one); else `end`.
fn segment_end(t: &TransportSpec, next: u64, end: u64, setup_threads: usize) -> u64 {
    if !t.has_target() {
        return end;
    }
    let min_b = t.decays.div_ceil(t.batch_size);
    let threads = rayon::current_num_threads().max(setup_threads) as u64;
    let seg = (16 * threads).max(min_b / 4).max(8);
    if next < min_b {
        min_b.min(end)
    } else {
        (next + seg).min(end)
    }
}

/// A part and its batch range: what its checkpoint, shard and cache files record.
struct PartRange<'a> {
    key: &'a str,
    nuclide: &'a str,
    site: &'a str,
    part: Part,
    batch_size: u64,
    first: u64,
    end: u64,
}

impl PartRange<'_> {
    /// The header of a file holding the batches before `next`.
    fn header(&self, next: u64, stopped: bool) -> PartHeader {
        PartHeader {
            key: self.key.to_string(),
            nuclide: self.nuclide.to_string(),
            site: self.site.to_string(),
            part: self.part.name().to_string(),
            batch_size: self.batch_size,
            first_batch: self.first,
            next_batch: next,
            end_batch: self.end,
            stopped,
        }
    }
}

/// The state of a part's batch loop: the exact tally of the batches done, the next batch,
/// whether the target stopped it, and the checkpoint schedule.
struct BatchLoop {
    acc: ExactTally,
    next: u64,
    stopped: bool,
    since_ck: u64,
    last_ck: Instant,
    /// A checkpoint that could not be written (the loop ends after the segment).
    ck_err: Option<ScenarioError>,
}

impl BatchLoop {
    /// The loop at the start of the range `r`, or where the checkpoint `ck` (settings, file)
    /// left it when resuming; the checkpoint folder is created.
    fn resumed(plan: &Plan, r: &PartRange, ck: Option<(&Checkpointing, &Path)>) -> Result<Self> {
        let mut st = Self {
            acc: ExactTally::new(&plan.layout),
            next: r.first,
            stopped: false,
            since_ck: 0,
            last_ck: Instant::now(),
            ck_err: None,
        };
        let Some((c, f)) = ck else {
            return Ok(st);
        };
        if c.resume && f.exists() {
            let (h, tally) = read_part(f)?;
            let want = r.header(h.next_batch, h.stopped);
            if h != want || tally.batches != h.next_batch - r.first {
                return Err(ScenarioError::Check(format!(
                    "checkpoint {} does not belong to this run (batches {}..{} of key {}, \
                     expected {}..{} of key {}); remove it to start afresh",
                    f.display(),
                    h.first_batch,
                    h.end_batch,
                    h.key,
                    r.first,
                    r.end,
                    r.key
                )));
            }
            st.acc = tally;
            st.next = h.next_batch;
            st.stopped = h.stopped;
        }
        std::fs::create_dir_all(&c.dir).map_err(io_error("create", &c.dir))?;
        // the schedule starts when the loop does
        st.last_ck = Instant::now();
        Ok(st)
    }

    /// Adds batch `b` (in batch order), stops at the target, writes a checkpoint when due.
    fn absorb(
        &mut self,
        b: &BatchTally,
        r: &PartRange,
        t: &TransportSpec,
        cells: &[Vec<usize>; 2],
        ck: Option<(&Checkpointing, &Path)>,
    ) {
        if self.stopped {
            return; // batches after the one that reached the target are not used
        }
        self.acc.absorb(b);
        self.next += 1;
        self.since_ck += 1;
        if t.has_target() && target_reached(t, &self.acc, cells) {
            self.stopped = true;
        }
        if let Some((c, f)) = ck {
            let due = (c.every_batches > 0 && self.since_ck >= c.every_batches)
                || (c.every_s > 0.0 && self.last_ck.elapsed().as_secs_f64() >= c.every_s);
            if due && self.next < r.end && !self.stopped && self.ck_err.is_none() {
                if let Err(e) = write_part(f, &r.header(self.next, false), &self.acc) {
                    self.ck_err = Some(io_error("write checkpoint", f)(e));
                }
                self.since_ck = 0;
                self.last_ck = Instant::now();
            }
        }
    }

    /// The finished part: a checkpoint (`ck_file`) lets --resume skip it, unless the cache
    /// holds it; a shard writes its part file.
    fn write_finished(
        &self,
        r: &PartRange,
        opts: &Options,
        ck_file: Option<&Path>,
        stem: &str,
    ) -> Result<()> {
        let header = r.header(self.next, self.stopped);
        let cached = opts.cache_dir.is_some() && opts.shard.is_none();
        if let (Some(f), false) = (ck_file, cached) {
            write_part(f, &header, &self.acc).map_err(io_error("write checkpoint", f))?;
        }
        if let Some(s) = &opts.shard {
            std::fs::create_dir_all(&s.dir).map_err(io_error("create", &s.dir))?;
            let f = s.dir.join(shard_part_file(stem, r.key));
            write_part(&f, &header, &self.acc).map_err(io_error("write", &f))?;
        }
        Ok(())
    }
}

/// The error of a part stopped by [`Options::stop`] after `done` of `total` batches, with the
/// tally written to the checkpoint `ck` when checkpoints are on.
fn interrupted_at(
    what: &str,
    done: u64,
    total: u64,
    ck: Option<&Path>,
    header: impl Fn() -> PartHeader,
    acc: &ExactTally,
) -> ScenarioError {
    let kept = match ck {
        Some(f) => match write_part(f, &header(), acc) {
            Ok(()) => format!("checkpoint {}", f.display()),
            Err(e) => format!("no checkpoint (cannot write {}: {e})", f.display()),
        },
        None => "no checkpoint (checkpoints are off)".to_string(),
    };
    ScenarioError::Interrupted(format!(
        "transport of {what} stopped after {done} of {total} batches; {kept}"
    ))
}

/// The manifest of a shard folder (`manifest.json`, `docs/formats/shard.md`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShardManifest {
    /// "xfire-shard".
    pub format: String,
    /// 1.
    pub format_version: u32,
    /// Version of the xfire that ran the shard.
    pub xfire_version: String,
    /// The scenario file (absolute path when it could be resolved).
    pub scenario_path: String,
    /// 64-bit FNV-1a hash of the scenario text (hex).
    pub scenario_hash: String,
    /// Master seed.
    pub seed: u64,
    /// Content hash of the phantom (hex).
    pub phantom_hash: String,
    /// Histories per batch.
    pub batch_size: u64,
    /// This shard (0-based).
    pub shard: u64,
    /// Number of shards.
    pub shards: u64,
    /// The parts of every component, in transport order.
    pub parts: Vec<ShardPart>,
}

/// One part in a shard manifest.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShardPart {
    /// Nuclide.
    pub nuclide: String,
    /// Site.
    pub site: String,
    /// "low_let" or "alpha".
    pub part: String,
    /// Transport cache key (hex).
    pub key: String,
    /// Part file inside the shard folder.
    pub file: String,
    /// First batch of the shard's range.
    pub first_batch: u64,
    /// End (exclusive) of the shard's range.
    pub end_batch: u64,
    /// Batches of the whole run.
    pub total_batches: u64,
    /// Decays run by this shard.
    pub decays: u64,
}

/// 64-bit FNV-1a of `text` as 16 hex digits (the project's content hash).
pub use xfire_core::hash::text_hash;

/// File name of a part inside a shard folder.
pub fn shard_part_file(stem: &str, key: &str) -> String {
    format!("{stem}_{key}.part")
}

/// Writes `manifest.json` of a shard run whose parts [`crate::transport_all`] has written.
pub fn write_manifest(
    plan: &Plan,
    scenario_path: &Path,
    out: &ShardOut,
    tr: &[ComponentTransport],
) -> Result<ShardManifest> {
    let t = &plan.scenario.transport;
    let nb = planned_batches(plan);
    let (first, end) = out.spec.range(nb);
    let mut parts = Vec::new();
    for c in tr {
        for p in &c.parts {
            let stem = part_stem(&c.nuclide, &c.site, p.part);
            parts.push(ShardPart {
                nuclide: c.nuclide.clone(),
                site: c.site.clone(),
                part: p.part.name().into(),
                key: p.key.clone(),
                file: shard_part_file(&stem, &p.key),
                first_batch: first,
                end_batch: end,
                total_batches: nb,
                decays: p.tally.decays,
            });
        }
    }
    let m = ShardManifest {
        format: "xfire-shard".into(),
        format_version: 1,
        xfire_version: env!("CARGO_PKG_VERSION").into(),
        scenario_path: std::fs::canonicalize(scenario_path)
            .unwrap_or_else(|_| scenario_path.to_path_buf())
            .display()
            .to_string(),
        scenario_hash: text_hash(&plan.scenario.text),
        seed: t.seed,
        phantom_hash: format!("{:016x}", plan.phantom_hash),
        batch_size: t.batch_size,
        shard: out.spec.index,
        shards: out.spec.count,
        parts,
    };
    let text = serde_json::to_string_pretty(&m).context("manifest.json")?;
    let f = out.dir.join("manifest.json");
    write_atomic(&f, text.as_bytes()).map_err(io_error("write", &f))?;
    Ok(m)
}

/// Reads a shard folder's manifest.
pub fn read_manifest(dir: &Path) -> Result<ShardManifest> {
    let f = dir.join("manifest.json");
    let text = std::fs::read_to_string(&f).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ScenarioError::Check(format!(
                "{} is not a shard folder (no manifest.json)",
                dir.display()
            ))
        } else {
            io_error("read", &f)(e)
        }
    })?;
    let m: ShardManifest = serde_json::from_str(&text)
        .context(format_args!("{}: not an xfire shard manifest", f.display()))?;
    if m.format != "xfire-shard" || m.format_version != 1 {
        return Err(ScenarioError::Check(format!(
            "{}: format {:?} version {} is not xfire-shard version 1",
            f.display(),
            m.format,
            m.format_version
        )));
    }
    Ok(m)
}

/// Checks that the manifests are the shards 0..N of one run: same xfire version (this
/// one), scenario, seed, phantom, batch size, shard count and parts; every shard once; part
/// ranges contiguous from 0 to the end. Returns them ordered by shard index.
pub fn check_manifests(
    dirs: &[PathBuf],
    ms: Vec<ShardManifest>,
) -> Result<Vec<(PathBuf, ShardManifest)>> {
    if ms.is_empty() {
        return Err(ScenarioError::Check("no shard folders given".into()));
    }
    cannot_merge(same_run_problems(dirs, &ms))?;
    let (slots, problems) = shard_slots(dirs, &ms);
    cannot_merge(problems)?;
    let mut ordered: Vec<(PathBuf, ShardManifest)> = Vec::new();
    let mut ms: Vec<Option<ShardManifest>> = ms.into_iter().map(Some).collect();
    for i in slots.into_iter().flatten() {
        ordered.push((dirs[i].clone(), ms[i].take().expect("each once")));
    }
    cannot_merge(coverage_problems(&ordered))?;
    Ok(ordered)
}

/// The merge refused with every problem, if there is one.
fn cannot_merge(problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(ScenarioError::Check(format!(
        "cannot merge:\n  {}",
        problems.join("\n  ")
    )))
}

/// Why the manifests `ms` of the folders `dirs` are not shards of one run of this xfire:
/// another version, scenario, seed, phantom, batch size, shard count or parts than the
/// first.
fn same_run_problems(dirs: &[PathBuf], ms: &[ShardManifest]) -> Vec<String> {
    let mut problems = Vec::new();
    let (m0, d0) = (&ms[0], &dirs[0]);
    let here = env!("CARGO_PKG_VERSION");
    let ids = |m: &ShardManifest| {
        m.parts
            .iter()
            .map(|p| format!("{} @ {} {} key {}", p.nuclide, p.site, p.part, p.key))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (d, m) in dirs.iter().zip(ms) {
        let mut diffs: Vec<String> = Vec::new();
        let mut differ = |what: &str, a: &dyn std::fmt::Display, b: &dyn std::fmt::Display| {
            diffs.push(format!(
                "{} and {} are shards of different runs: {what} {a} vs {b}",
                d0.display(),
                d.display()
            ));
        };
        if m.xfire_version != here {
            problems.push(format!(
                "{} was made by xfire {}, this is xfire {here}; rerun the shard or merge with \
                 that version",
                d.display(),
                m.xfire_version
            ));
        }
        if m.scenario_hash != m0.scenario_hash {
            differ("scenario (text hash)", &m0.scenario_hash, &m.scenario_hash);
        }
        if m.seed != m0.seed {
            differ("seed", &m0.seed, &m.seed);
        }
        if m.phantom_hash != m0.phantom_hash {
            differ("phantom data (hash)", &m0.phantom_hash, &m.phantom_hash);
        }
        if m.batch_size != m0.batch_size {
            differ("batch size", &m0.batch_size, &m.batch_size);
        }
        if m.shards != m0.shards {
            differ("shard count", &m0.shards, &m.shards);
        }
        if ids(m) != ids(m0) {
            differ("parts (transport settings or data)", &ids(m0), &ids(m));
        }
        problems.extend(diffs);
    }
    problems
}

/// Which manifest of `ms` (same shard count) is shard k, for every k; problems: a shard
/// given twice, shards missing.
fn shard_slots(dirs: &[PathBuf], ms: &[ShardManifest]) -> (Vec<Option<usize>>, Vec<String>) {
    let mut problems = Vec::new();
    let n = ms[0].shards;
    let mut slots: Vec<Option<usize>> = vec![None; n as usize];
    for (i, m) in ms.iter().enumerate() {
        let Some(s) = slots.get_mut(m.shard as usize) else {
            problems.push(format!(
                "{}: shard {} is not one of the {n} shards (0..{n}) of the first folder's run",
                dirs[i].display(),
                m.shard
            ));
            continue;
        };
        if let Some(j) = *s {
            problems.push(format!(
                "overlapping shards: shard {}/{n} is given twice ({} and {})",
                m.shard,
                dirs[j].display(),
                dirs[i].display()
            ));
        } else {
            *s = Some(i);
        }
    }
    let missing: Vec<String> = slots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(k, _)| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "missing shard(s): {} (have {} of {n})",
            missing.join(", "),
            n as usize - missing.len()
        ));
    }
    (slots, problems)
}

/// Why the shards `ordered` (by shard index) do not cover every part's batches from 0 to its
/// end once: gaps, overlaps, a short end.
fn coverage_problems(ordered: &[(PathBuf, ShardManifest)]) -> Vec<String> {
    let mut problems = Vec::new();
    for pi in 0..ordered[0].1.parts.len() {
        let mut at = 0;
        for (d, m) in ordered {
            let p = &m.parts[pi];
            if p.first_batch != at || p.end_batch < p.first_batch {
                problems.push(format!(
                    "{}: {} @ {} {} covers batches {}..{}, expected to start at {at} (gap or \
                     overlap)",
                    d.display(),
                    p.nuclide,
                    p.site,
                    p.part,
                    p.first_batch,
                    p.end_batch
                ));
            }
            at = p.end_batch;
        }
        let p = &ordered[0].1.parts[pi];
        if at != p.total_batches {
            problems.push(format!(
                "{} @ {} {}: the shards cover batches 0..{at} of {}",
                p.nuclide, p.site, p.part, p.total_batches
            ));
        }
    }
    problems
}

/// Merges validated shards (see [`check_manifests`]) into the transport of the whole run,
/// in the plan's component order; checks the plan (scenario hash, phantom) against them.
pub fn merge_shards(
    plan: &Plan,
    shards: &[(PathBuf, ShardManifest)],
) -> Result<Vec<ComponentTransport>> {
    let m0 = &shards[0].1;
    if text_hash(&plan.scenario.text) != m0.scenario_hash {
        return Err(ScenarioError::Check(format!(
            "the scenario file {} changed since the shards were run (text hash {} vs {})",
            m0.scenario_path,
            text_hash(&plan.scenario.text),
            m0.scenario_hash
        )));
    }
    if format!("{:016x}", plan.phantom_hash) != m0.phantom_hash {
        return Err(ScenarioError::Check(format!(
            "the phantom differs from the shards' (content hash {:016x} vs {})",
            plan.phantom_hash, m0.phantom_hash
        )));
    }
    let mut out = Vec::new();
    let mut used = 0;
    for c in plan.source.components() {
        let mut parts = Vec::new();
        for part in [Part::LowLet, Part::Alpha] {
            let Some(pi) = m0
                .parts
                .iter()
                .position(|p| p.nuclide == c.nuclide && p.site == c.site && p.part == part.name())
            else {
                continue;
            };
            used += 1;
            let mp = &m0.parts[pi];
            let mut acc = ExactTally::new(&plan.layout);
            for (d, m) in shards {
                let p = &m.parts[pi];
                let f = d.join(&p.file);
                let (h, t) = read_part(&f)?;
                if h.key != p.key
                    || h.first_batch != p.first_batch
                    || h.end_batch != p.end_batch
                    || !h.complete()
                    || t.batches != p.end_batch - p.first_batch
                {
                    return Err(ScenarioError::Check(format!(
                        "{} does not match its manifest (key, batch range or incomplete)",
                        f.display()
                    )));
                }
                acc.merge(&t)
                    .map_err(|e| ScenarioError::Check(format!("{}: {e}", f.display())))?;
            }
            parts.push(PartTransport::from_exact(plan, part, &acc, &mp.key));
        }
        out.push(ComponentTransport {
            nuclide: c.nuclide.clone(),
            site: c.site.clone(),
            parts,
        });
    }
    if used != m0.parts.len() {
        return Err(ScenarioError::Check(
            "the shards hold parts that the scenario does not have (different scenario)".into(),
        ));
    }
    Ok(out)
}
