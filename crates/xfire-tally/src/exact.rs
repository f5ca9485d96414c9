//! Order-independent (exact) accumulation of batch tallies, the basis of byte-identical
//! threads, shards, MPI ranks, checkpoints and caches, and the one tally file format.
//!
//! A [`TallyResult`] adds batch values in `f64`, so its bytes depend on the order and
//! grouping of the additions: a run split into shards and merged would differ from the
//! single run in the last bits. [`ExactTally`] converts every batch value once to a signed
//! 128-bit fixed-point number with 2⁻⁷⁶ MeV resolution (≈ 1.3 × 10⁻²³ MeV; range
//! ± 2⁵¹ MeV ≈ 2.3 × 10¹⁵ MeV per accumulated sum) and adds integers, which is associative:
//! any split of the batches into shards, ranks or checkpoint segments, merged in any order,
//! gives the same integers, and [`ExactTally::to_result`] the same `f64` bytes. The
//! conversion of a batch value depends only on that batch, and batches are a pure function
//! of (seed, batch index, batch size), so the result depends on nothing else. Per-voxel sums
//! are kept only as the layout asks ([`crate::VoxelTally`]).
//!
//! File format ([`encode_file`], [`decode_file`]; `docs/formats/tally.md`): little-endian,
//! magic `XFTALLY4` (format version 4), u64 header length and the caller's header (JSON),
//! then decays and batches (u64), the per-voxel arrays (u64 count 0–2, each an integer
//! array), the region maps (u64 count; per map: u64 name length and UTF-8 name, sums and
//! sums² as integer arrays), the five energy-balance statistics (sum, sum² as i128), the
//! largest history imbalance (f64), the single-event spectra (u64 class count; per class: u64
//! bin count, u64 counts, Σz and Σz² as i128 in 2⁻⁷⁶ Gy and Gy² units), the self-cell sums
//! (u64 0 or 1; then the map index and three integer arrays). An integer array is
//! u64 element count, u64 byte length, then each element as a zigzag LEB128 varint (a voxel
//! that received nothing takes one byte). Files of other versions are refused with their
//! version named.

use crate::events::EventSpectrum;
use crate::result::{
    rel_uncertainty, BatchStat, EnergyBalance, RegionTally, SelfCellTally, TallyResult,
};
use crate::scorer::{BatchTally, TallyLayout};

/// Fixed-point scale: 2⁷⁶ units per MeV.
const SCALE: f64 = 75_557_863_725_914_323_419_136.0; // 2^76
/// Magic of the tally file format (version 4).
pub const FILE_MAGIC: &[u8; 8] = b"XFTALLY4";
/// The tally file format version this crate reads and writes.
pub const FILE_VERSION: u32 = 4;

#[inline]
fn fx(x: f64) -> i128 {
    (x * SCALE).round() as i128
}

#[inline]
fn fl(x: i128) -> f64 {
    x as f64 / SCALE
}

/// Exact sum and batch sum of squares of one scalar (fixed point, see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExactStat {
    /// Σ batch value.
    pub sum: i128,
    /// Σ batch value² / batch size.
    pub sum2: i128,
}

impl ExactStat {
    fn add(&mut self, x: f64, n: f64) {
        self.sum = self.sum.wrapping_add(fx(x));
        self.sum2 = self.sum2.wrapping_add(fx(x * x / n));
    }
    fn merge(&mut self, o: &ExactStat) {
        self.sum = self.sum.wrapping_add(o.sum);
        self.sum2 = self.sum2.wrapping_add(o.sum2);
    }
    fn stat(&self) -> BatchStat {
        BatchStat {
            sum: fl(self.sum),
            sum2: fl(self.sum2),
        }
    }
}

/// Per-region exact sums of one region map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactRegions {
    /// Name of the region map.
    pub name: String,
    /// Σ batch energy per region (fixed point).
    pub sum: Vec<i128>,
    /// Σ batch energy² / batch size per region (fixed point).
    pub sum2: Vec<i128>,
}

/// A single-event spectrum accumulated exactly (counts, fixed-point Σz and Σz²).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExactEvents {
    /// Events per bin.
    pub counts: Vec<u64>,
    /// Σ z (fixed point, Gy).
    pub sum_z: i128,
    /// Σ z² (fixed point, Gy²).
    pub sum_z2: i128,
}

fn add_events(acc: &mut Vec<ExactEvents>, add: impl Iterator<Item = (Vec<u64>, i128, i128)>) {
    for (i, (counts, z, z2)) in add.enumerate() {
        if acc.len() <= i {
            acc.push(ExactEvents {
                counts: vec![0; counts.len()],
                ..ExactEvents::default()
            });
        }
        let a = &mut acc[i];
        if a.counts.len() < counts.len() {
            a.counts.resize(counts.len(), 0);
        }
        for (x, y) in a.counts.iter_mut().zip(&counts) {
            *x += y;
        }
        a.sum_z = a.sum_z.wrapping_add(z);
        a.sum_z2 = a.sum_z2.wrapping_add(z2);
    }
}

/// The self-cell sums ([`crate::result::SelfCellTally`]) in fixed point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactSelfCell {
    /// The region map the energies are summed by.
    pub by_map: usize,
    /// Σ batch self-cell energy per region (fixed point).
    pub sum: Vec<i128>,
    /// Σ (batch self-cell energy)² / batch size per region (fixed point).
    pub sum2: Vec<i128>,
    /// Σ batch self-cell energy × batch region energy / batch size (fixed point).
    pub cross: Vec<i128>,
}

impl ExactSelfCell {
    fn arrays(&mut self) -> [&mut Vec<i128>; 3] {
        [&mut self.sum, &mut self.sum2, &mut self.cross]
    }
}

/// A tally accumulated exactly: the same data as [`TallyResult`] with fixed-point sums.
#[derive(Debug, Clone, PartialEq)]
pub struct ExactTally {
    /// Decays absorbed.
    pub decays: u64,
    /// Batches absorbed.
    pub batches: u64,
    /// Per voxel Σ batch energy (fixed point; empty when the layout keeps no per-voxel tally).
    pub voxel_sum: Vec<i128>,
    /// Per voxel Σ batch energy² / batch size (fixed point; empty unless the layout keeps
    /// sums of squares).
    pub voxel_sum2: Vec<i128>,
    /// One per region map of the layout.
    pub regions: Vec<ExactRegions>,
    /// Emitted, deposited, escaped (charged, photon), below-cutoff energies.
    pub balance: [ExactStat; 5],
    /// Largest |emitted − deposited − escaped| / emitted of any history.
    pub max_history_imbalance_rel: f64,
    /// Single-event spectra per target class (empty when not tallied).
    pub events: Vec<ExactEvents>,
    /// The self-cell sums, if the layout tallies them.
    pub self_cell: Option<ExactSelfCell>,
}

impl ExactTally {
    /// An empty tally for `layout`.
    pub fn new(layout: &TallyLayout) -> Self {
        Self {
            decays: 0,
            batches: 0,
            voxel_sum: vec![0; layout.n_voxels * usize::from(layout.voxels.arrays() >= 1)],
            voxel_sum2: vec![0; layout.n_voxels * usize::from(layout.voxels.arrays() >= 2)],
            regions: layout
                .regions
                .iter()
                .map(|r| ExactRegions {
                    name: r.name.clone(),
                    sum: vec![0; r.n_regions],
                    sum2: vec![0; r.n_regions],
                })
                .collect(),
            balance: [ExactStat::default(); 5],
            max_history_imbalance_rel: 0.0,
            events: Vec::new(),
            self_cell: layout.self_cell.map(|s| {
                let n = layout.regions[s.by_map].n_regions;
                ExactSelfCell {
                    by_map: s.by_map,
                    sum: vec![0; n],
                    sum2: vec![0; n],
                    cross: vec![0; n],
                }
            }),
        }
    }

    /// Adds one batch; the order of batches does not matter.
    pub fn absorb(&mut self, b: &BatchTally) {
        if b.histories == 0 {
            return;
        }
        let n = b.histories as f64;
        let squares = !self.voxel_sum2.is_empty();
        for &(v, e) in &b.voxels {
            let v = v as usize;
            self.voxel_sum[v] = self.voxel_sum[v].wrapping_add(fx(e));
            if squares {
                self.voxel_sum2[v] = self.voxel_sum2[v].wrapping_add(fx(e * e / n));
            }
        }
        for (r, list) in self.regions.iter_mut().zip(&b.regions) {
            for &(i, e) in list {
                let i = i as usize;
                r.sum[i] = r.sum[i].wrapping_add(fx(e));
                r.sum2[i] = r.sum2[i].wrapping_add(fx(e * e / n));
            }
        }
        for (s, x) in self.balance.iter_mut().zip([
            b.emitted_mev,
            b.deposited_mev,
            b.escaped_charged_mev,
            b.escaped_photon_mev,
            b.below_cutoff_mev,
        ]) {
            s.add(x, n);
        }
        self.max_history_imbalance_rel = self.max_history_imbalance_rel.max(b.max_imbalance_rel);
        add_events(
            &mut self.events,
            b.events
                .iter()
                .map(|e| (e.counts.clone(), fx(e.sum_z), fx(e.sum_z2))),
        );
        if let Some(sc) = &mut self.self_cell {
            for (r, s, t) in b.self_cell_pairs(sc.by_map) {
                sc.sum[r] = sc.sum[r].wrapping_add(fx(s));
                sc.sum2[r] = sc.sum2[r].wrapping_add(fx(s * s / n));
                sc.cross[r] = sc.cross[r].wrapping_add(fx(s * t / n));
            }
        }
        self.decays += b.histories;
        self.batches += 1;
    }

    fn same_layout(&self, o: &ExactTally) -> bool {
        o.voxel_sum.len() == self.voxel_sum.len()
            && o.voxel_sum2.len() == self.voxel_sum2.len()
            && o.regions.len() == self.regions.len()
            && o.regions
                .iter()
                .zip(&self.regions)
                .all(|(a, b)| a.name == b.name && a.sum.len() == b.sum.len())
            && match (&self.self_cell, &o.self_cell) {
                (Some(a), Some(b)) => a.by_map == b.by_map && a.sum.len() == b.sum.len(),
                (a, b) => a.is_none() && b.is_none(),
            }
    }

    /// Adds another tally of the same layout (disjoint batches of one run); the result does
    /// not depend on the order of merges. Errs on a different layout.
    pub fn merge(&mut self, o: &ExactTally) -> Result<(), String> {
        if !self.same_layout(o) {
            return Err("cannot merge tallies of different layouts".into());
        }
        let add = |a: &mut [i128], b: &[i128]| {
            for (x, y) in a.iter_mut().zip(b) {
                *x = x.wrapping_add(*y);
            }
        };
        add(&mut self.voxel_sum, &o.voxel_sum);
        add(&mut self.voxel_sum2, &o.voxel_sum2);
        for (r, q) in self.regions.iter_mut().zip(&o.regions) {
            add(&mut r.sum, &q.sum);
            add(&mut r.sum2, &q.sum2);
        }
        for (s, t) in self.balance.iter_mut().zip(&o.balance) {
            s.merge(t);
        }
        self.max_history_imbalance_rel = self
            .max_history_imbalance_rel
            .max(o.max_history_imbalance_rel);
        add_events(
            &mut self.events,
            o.events
                .iter()
                .map(|e| (e.counts.clone(), e.sum_z, e.sum_z2)),
        );
        if let (Some(a), Some(b)) = (&mut self.self_cell, &o.self_cell) {
            let mut b = b.clone();
            for (x, y) in a.arrays().into_iter().zip(b.arrays()) {
                add(x, y);
            }
        }
        self.decays += o.decays;
        self.batches += o.batches;
        Ok(())
    }

    /// Relative standard uncertainty of the mean energy per decay of region `r` of map
    /// `map` (as [`TallyResult::region_rel_unc`]).
    pub fn region_rel_unc(&self, map: usize, r: usize) -> f64 {
        let t = &self.regions[map];
        rel_uncertainty(fl(t.sum[r]), fl(t.sum2[r]), self.decays, self.batches)
    }

    /// Σ batch energy of region `r` of map `map` [MeV].
    pub fn region_sum_mev(&self, map: usize, r: usize) -> f64 {
        fl(self.regions[map].sum[r])
    }

    /// Σ batch energy of voxel `v` [MeV] (the layout must keep per-voxel sums).
    pub fn voxel_sum_mev(&self, v: usize) -> f64 {
        fl(self.voxel_sum[v])
    }

    /// The tally as a [`TallyResult`] (every sum rounded once to `f64`).
    pub fn to_result(&self) -> TallyResult {
        let mut r = self.region_result();
        let v = |a: &[i128]| a.iter().map(|&x| fl(x)).collect::<Vec<f64>>();
        r.voxel_sum = v(&self.voxel_sum);
        r.voxel_sum2 = v(&self.voxel_sum2);
        r
    }

    /// As [`ExactTally::to_result`] without the per-voxel arrays (left empty): regions,
    /// balance and spectra only.
    pub fn region_result(&self) -> TallyResult {
        let v = |a: &[i128]| a.iter().map(|&x| fl(x)).collect::<Vec<f64>>();
        let b = &self.balance;
        TallyResult {
            decays: self.decays,
            batches: self.batches,
            voxel_sum: Vec::new(),
            voxel_sum2: Vec::new(),
            regions: self
                .regions
                .iter()
                .map(|r| RegionTally {
                    name: r.name.clone(),
                    sum: v(&r.sum),
                    sum2: v(&r.sum2),
                })
                .collect(),
            balance: EnergyBalance {
                emitted: b[0].stat(),
                deposited: b[1].stat(),
                escaped_charged: b[2].stat(),
                escaped_photon: b[3].stat(),
                below_cutoff: b[4].stat(),
            },
            max_history_imbalance_rel: self.max_history_imbalance_rel,
            events: self
                .events
                .iter()
                .map(|e| EventSpectrum {
                    counts: e.counts.clone(),
                    sum_z: fl(e.sum_z),
                    sum_z2: fl(e.sum_z2),
                })
                .collect(),
            self_cell: self.self_cell.as_ref().map(|s| SelfCellTally {
                by_map: s.by_map,
                sum: v(&s.sum),
                sum2: v(&s.sum2),
                cross: v(&s.cross),
            }),
        }
    }

    /// The body of a tally file (everything after its header; see the module doc).
    fn write_body(&self, o: &mut Vec<u8>) {
        let u = |o: &mut Vec<u8>, x: u64| o.extend_from_slice(&x.to_le_bytes());
        u(o, self.decays);
        u(o, self.batches);
        let voxel_arrays: &[&Vec<i128>] = match (self.voxel_sum.len(), self.voxel_sum2.len()) {
            (0, _) => &[],
            (_, 0) => &[&self.voxel_sum],
            _ => &[&self.voxel_sum, &self.voxel_sum2],
        };
        u(o, voxel_arrays.len() as u64);
        for a in voxel_arrays {
            write_ints(o, a);
        }
        u(o, self.regions.len() as u64);
        for r in &self.regions {
            u(o, r.name.len() as u64);
            o.extend_from_slice(r.name.as_bytes());
            write_ints(o, &r.sum);
            write_ints(o, &r.sum2);
        }
        for s in &self.balance {
            o.extend_from_slice(&s.sum.to_le_bytes());
            o.extend_from_slice(&s.sum2.to_le_bytes());
        }
        o.extend_from_slice(&self.max_history_imbalance_rel.to_le_bytes());
        u(o, self.events.len() as u64);
        for e in &self.events {
            u(o, e.counts.len() as u64);
            for &c in &e.counts {
                u(o, c);
            }
            o.extend_from_slice(&e.sum_z.to_le_bytes());
            o.extend_from_slice(&e.sum_z2.to_le_bytes());
        }
        match &self.self_cell {
            None => u(o, 0),
            Some(s) => {
                u(o, 1);
                u(o, s.by_map as u64);
                for a in [&s.sum, &s.sum2, &s.cross] {
                    write_ints(o, a);
                }
            }
        }
    }

    /// Reads [`ExactTally::write_body`]; `None` on anything else (truncated, corrupt,
    /// trailing bytes).
    fn read_body(c: &mut Cursor<'_>) -> Option<Self> {
        let decays = c.u64()?;
        let batches = c.u64()?;
        let (voxel_sum, voxel_sum2) = match c.u64()? {
            0 => (Vec::new(), Vec::new()),
            1 => (c.ints()?, Vec::new()),
            2 => {
                let (a, b) = (c.ints()?, c.ints()?);
                (a.len() == b.len()).then_some((a, b))?
            }
            _ => return None,
        };
        let nr = c.u64()?;
        // no capacity from a count: each item read consumes its bytes first
        let mut regions = Vec::new();
        for _ in 0..nr {
            let name = c.string()?;
            let sum = c.ints()?;
            let sum2 = c.ints()?;
            if sum.len() != sum2.len() {
                return None;
            }
            regions.push(ExactRegions { name, sum, sum2 });
        }
        let mut balance = [ExactStat::default(); 5];
        for s in &mut balance {
            s.sum = c.i128()?;
            s.sum2 = c.i128()?;
        }
        let max_history_imbalance_rel = c.f64()?;
        let ne = c.u64()?;
        let mut events = Vec::new();
        for _ in 0..ne {
            let counts = c.u64s()?;
            let sum_z = c.i128()?;
            let sum_z2 = c.i128()?;
            events.push(ExactEvents {
                counts,
                sum_z,
                sum_z2,
            });
        }
        let self_cell = match c.u64()? {
            0 => None,
            1 => {
                let by_map = usize::try_from(c.u64()?).ok()?;
                let (sum, sum2, cross) = (c.ints()?, c.ints()?, c.ints()?);
                let n = regions.get(by_map)?.sum.len();
                if sum.len() != n || sum2.len() != n || cross.len() != n {
                    return None;
                }
                Some(ExactSelfCell {
                    by_map,
                    sum,
                    sum2,
                    cross,
                })
            }
            _ => return None,
        };
        Some(Self {
            decays,
            batches,
            voxel_sum,
            voxel_sum2,
            regions,
            balance,
            max_history_imbalance_rel,
            events,
            self_cell,
        })
    }
}

/// Why a tally file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// A tally file of another format version (an older or newer xfire).
    #[error(
        "tally file format {found} (magic {magic}); this xfire reads format {FILE_VERSION} \
         (XFTALLY4)"
    )]
    Version {
        /// The version found ("2", "XFPART01 (version 1 part file)", …).
        found: String,
        /// The magic found, printable.
        magic: String,
    },
    /// Not a tally file, or truncated or corrupt.
    #[error("not an xfire tally file (truncated or corrupt)")]
    Corrupt,
}

/// A tally file: magic, `header` (the caller's JSON), the tally (see the module doc).
pub fn encode_file(header: &[u8], t: &ExactTally) -> Vec<u8> {
    let cells = t.voxel_sum.len() + t.voxel_sum2.len();
    let mut o = Vec::with_capacity(64 + header.len() + 2 * cells);
    o.extend_from_slice(FILE_MAGIC);
    o.extend_from_slice(&(header.len() as u64).to_le_bytes());
    o.extend_from_slice(header);
    t.write_body(&mut o);
    o
}

/// Reads [`encode_file`]: the header bytes and the tally. Files of older formats (`XFTALLY1`,
/// `XFTALLY2` caches, `XFPART01` checkpoints and shard parts, `XFEXACT2` bodies) are refused
/// with their version named; the reader allocates in proportion to the bytes it is given.
pub fn decode_file(buf: &[u8]) -> Result<(&[u8], ExactTally), FileError> {
    let magic = buf.get(..8).ok_or(FileError::Corrupt)?;
    if magic != FILE_MAGIC {
        let found = match magic {
            b"XFPART01" => Some("1 (XFPART01 part file)".to_string()),
            b"XFEXACT1" | b"XFEXACT2" => Some("2 (exact tally body)".to_string()),
            m if m.starts_with(b"XFTALLY") => Some(String::from(char::from(m[7]))),
            _ => None,
        };
        return Err(match found {
            Some(found) => FileError::Version {
                found,
                magic: String::from_utf8_lossy(magic).into_owned(),
            },
            None => FileError::Corrupt,
        });
    }
    let mut c = Cursor::new(buf, 8);
    let n = usize::try_from(c.u64().ok_or(FileError::Corrupt)?).map_err(|_| FileError::Corrupt)?;
    let header = c.take(n).ok_or(FileError::Corrupt)?;
    let t = ExactTally::read_body(&mut c).ok_or(FileError::Corrupt)?;
    if c.pos != buf.len() {
        return Err(FileError::Corrupt);
    }
    Ok((header, t))
}

/// Zigzag: signed to unsigned with small magnitudes small.
fn zigzag(x: i128) -> u128 {
    ((x << 1) ^ (x >> 127)) as u128
}

fn unzigzag(u: u128) -> i128 {
    ((u >> 1) as i128) ^ -((u & 1) as i128)
}

/// An integer array: u64 count, u64 byte length, zigzag LEB128 varints.
fn write_ints(o: &mut Vec<u8>, a: &[i128]) {
    o.extend_from_slice(&(a.len() as u64).to_le_bytes());
    let at = o.len();
    o.extend_from_slice(&0u64.to_le_bytes());
    for &x in a {
        let mut u = zigzag(x);
        loop {
            let byte = (u & 0x7f) as u8;
            u >>= 7;
            if u == 0 {
                o.push(byte);
                break;
            }
            o.push(byte | 0x80);
        }
    }
    let len = (o.len() - at - 8) as u64;
    o[at..at + 8].copy_from_slice(&len.to_le_bytes());
}

/// Reads little-endian values from a byte buffer; every read checks the remaining length
/// first (counts read from the buffer never size an allocation before the bytes are there),
/// `None` when the buffer is too short. Shared by the binary readers of this crate.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    /// Offset of the next byte.
    pub(crate) pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at `pos`.
    pub(crate) fn new(buf: &'a [u8], pos: usize) -> Self {
        Self { buf, pos }
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    /// A u64.
    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }

    /// An f64.
    pub(crate) fn f64(&mut self) -> Option<f64> {
        self.array().map(f64::from_le_bytes)
    }

    /// An i128.
    pub(crate) fn i128(&mut self) -> Option<i128> {
        self.array().map(i128::from_le_bytes)
    }

    /// A u64 count `n`, then `n` items of `size` bytes: the bytes of the items.
    fn counted(&mut self, size: usize) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u64()?).ok()?;
        self.take(n.checked_mul(size)?)
    }

    /// A u64 count, then that many u64.
    pub(crate) fn u64s(&mut self) -> Option<Vec<u64>> {
        let b = self.counted(8)?;
        Some(
            b.chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        )
    }

    /// An integer array written by `write_ints` (at most one element per byte it holds).
    pub(crate) fn ints(&mut self) -> Option<Vec<i128>> {
        let n = usize::try_from(self.u64()?).ok()?;
        let len = usize::try_from(self.u64()?).ok()?;
        let bytes = self.take(len)?;
        if n > bytes.len() {
            return None;
        }
        let mut out = Vec::with_capacity(n);
        let mut u: u128 = 0;
        let mut shift = 0u32;
        for &b in bytes {
            if shift >= 128 {
                return None;
            }
            u |= u128::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                out.push(unzigzag(u));
                (u, shift) = (0, 0);
            } else {
                shift += 7;
            }
        }
        (shift == 0 && out.len() == n).then_some(out)
    }

    /// A u64 byte length, then that many bytes of UTF-8.
    pub(crate) fn string(&mut self) -> Option<String> {
        String::from_utf8(self.counted(1)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BatchScorer, RegionMap, Scorer, VoxelTally};

    #[test]
    fn any_split_and_order_gives_the_same_bits_and_bytes_round_trip() {
        let l = TallyLayout::new(3, vec![RegionMap::new("r", vec![0, 1, 1], 2).unwrap()])
            .unwrap()
            .with_events(crate::EventLayout::new(0, vec![0, 1], 1, vec![0.0, 2.0]).unwrap())
            .unwrap();
        let mut s = BatchScorer::with_event_spectra(&l);
        let mut batches = Vec::new();
        for b in 0..7u32 {
            for h in 0..(10 + b) {
                let e = 0.1 + f64::from(b * 31 + h).sin().abs() * 0.37;
                s.begin_history(e + 1.0 / 3.0, 0);
                s.deposit(1, e);
                s.deposit(2, 1.0 / 3.0);
                s.end_history();
            }
            batches.push(s.finish_batch());
        }
        let mut whole = ExactTally::new(&l);
        batches.iter().for_each(|b| whole.absorb(b));
        let mut parts = [
            ExactTally::new(&l),
            ExactTally::new(&l),
            ExactTally::new(&l),
        ];
        for (i, b) in batches.iter().enumerate().rev() {
            parts[i % 3].absorb(b);
        }
        let mut m = parts[2].clone();
        m.merge(&parts[0]).unwrap();
        m.merge(&parts[1]).unwrap();
        assert_eq!(m, whole);
        assert_eq!(m.to_result(), whole.to_result());
        // the f64 result agrees with plain summation to rounding
        let mut plain = TallyResult::new(&l);
        batches.iter().for_each(|b| plain.absorb(b));
        let r = whole.to_result();
        assert_eq!(r.decays, plain.decays);
        assert_eq!(r.batches, 7);
        for v in 0..3 {
            assert!((r.voxel_sum[v] - plain.voxel_sum[v]).abs() <= 1e-13 * plain.voxel_sum[v]);
            assert!((r.voxel_sum2[v] - plain.voxel_sum2[v]).abs() <= 1e-13 * plain.voxel_sum2[v]);
        }
        assert_eq!(whole.region_rel_unc(0, 1), r.region_rel_unc(0, 1));
        // single-event spectra: one event per history in region 1 (voxels 1 and 2 together)
        assert_eq!(r.events.len(), 1);
        assert_eq!(r.events[0].events(), r.decays);
        assert_eq!(r.events[0].counts, plain.events[0].counts);
        let want = 2.0 * r.regions[0].sum[1];
        assert!((r.events[0].sum_z - want).abs() < 1e-12 * want);
        assert!((r.events[0].sum_z - plain.events[0].sum_z).abs() < 1e-12 * want);
        let bytes = encode_file(b"{}", &whole);
        assert_eq!(decode_file(&bytes).unwrap(), (&b"{}"[..], whole.clone()));
        for cut in 0..bytes.len() {
            assert!(decode_file(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let other = TallyLayout::new(4, vec![]).unwrap();
        assert!(m.merge(&ExactTally::new(&other)).is_err());
    }

    /// Self-cell sums: exact and order-independent like the rest, round trip, and when every
    /// deposit is in the decay's own cell the self and total means, variances and their
    /// covariance coincide.
    #[test]
    fn self_cell_sums_merge_round_trip_and_equal_the_total_when_all_is_own() {
        let l = TallyLayout::new(3, vec![RegionMap::new("r", vec![0, 1, 1], 2).unwrap()])
            .unwrap()
            .with_self_cell(crate::SelfCellLayout {
                cell_map: 0,
                n_cells: 1,
                by_map: 0,
            })
            .unwrap();
        let mut s = BatchScorer::new(&l);
        let mut batches = Vec::new();
        for b in 0..6u32 {
            for h in 0..(8 + b) {
                let e = 0.1 + f64::from(b * 17 + h).sin().abs() * 0.5;
                s.begin_history(2.0 * e, 1 + (h as usize % 2));
                s.deposit(1, e);
                s.deposit(2, 0.5 * e);
                s.deposit(0, 0.25 * e); // outside the cell
                s.end_history();
            }
            batches.push(s.finish_batch());
        }
        let mut whole = ExactTally::new(&l);
        batches.iter().for_each(|b| whole.absorb(b));
        let (mut a, mut c) = (ExactTally::new(&l), ExactTally::new(&l));
        for (i, b) in batches.iter().enumerate().rev() {
            [&mut a, &mut c][i % 2].absorb(b);
        }
        c.merge(&a).unwrap();
        assert_eq!(c, whole);
        let bytes = encode_file(b"{}", &whole);
        assert_eq!(decode_file(&bytes).unwrap(), (&b"{}"[..], whole.clone()));
        let r = whole.to_result();
        let mut plain = TallyResult::new(&l);
        batches.iter().for_each(|b| plain.absorb(b));
        let (m, p) = (
            r.self_cell_mean(1).unwrap(),
            plain.self_cell_mean(1).unwrap(),
        );
        for (x, y) in [
            (m.self_mev, p.self_mev),
            (m.var_self, p.var_self),
            (m.cov, p.cov),
        ] {
            assert!((x - y).abs() <= 1e-12 * y.abs(), "{x} vs {y}");
        }
        // region 1 is the cell: all its energy is its own decays'
        assert!((m.self_mev - m.total_mev).abs() <= 1e-14 * m.total_mev);
        assert!(m.var_self > 0.0);
        assert!((m.var_self - m.var_total).abs() <= 1e-9 * m.var_self);
        assert!((m.cov - m.var_total).abs() <= 1e-9 * m.var_self);
        // region 0 is outside the cell: nothing own
        let o = r.self_cell_mean(0).unwrap();
        assert_eq!((o.self_mev, o.var_self, o.cov), (0.0, 0.0, 0.0));
        assert!(o.total_mev > 0.0);
        // a tally without the self-cell sums does not merge with one that has them
        let plain_layout =
            TallyLayout::new(3, vec![RegionMap::new("r", vec![0, 1, 1], 2).unwrap()]).unwrap();
        assert!(c.merge(&ExactTally::new(&plain_layout)).is_err());
    }

    #[test]
    fn voxel_modes_keep_what_the_layout_asks_and_regions_do_not_change() {
        let base =
            TallyLayout::new(3, vec![RegionMap::new("r", vec![0, 1, 1], 2).unwrap()]).unwrap();
        let run = |mode: VoxelTally| {
            let l = base.clone().with_voxels(mode);
            let mut s = BatchScorer::new(&l);
            let mut t = ExactTally::new(&l);
            for b in 0..4u32 {
                for h in 0..5u32 {
                    s.begin_history(1.0, 0);
                    s.deposit((h % 3) as usize, 0.1 + f64::from(b) / 7.0);
                    s.end_history();
                }
                t.absorb(&s.finish_batch());
            }
            t
        };
        let full = run(VoxelTally::SumAndSquares);
        let sum = run(VoxelTally::Sum);
        let none = run(VoxelTally::None);
        assert_eq!((full.voxel_sum.len(), full.voxel_sum2.len()), (3, 3));
        assert_eq!((sum.voxel_sum.len(), sum.voxel_sum2.len()), (3, 0));
        assert_eq!((none.voxel_sum.len(), none.voxel_sum2.len()), (0, 0));
        assert_eq!(sum.voxel_sum, full.voxel_sum);
        for t in [&sum, &none] {
            assert_eq!(t.regions, full.regions);
            assert_eq!(t.balance, full.balance);
            let b = encode_file(b"", t);
            assert_eq!(&decode_file(&b).unwrap().1, t);
        }
        assert_eq!(none.to_result().voxel_sum.len(), 0);
        assert_eq!(full.region_result(), {
            let mut r = full.to_result();
            r.voxel_sum.clear();
            r.voxel_sum2.clear();
            r
        });
        let mut m = sum.clone();
        assert!(
            m.merge(&full).is_err(),
            "different voxel tallies do not merge"
        );
    }

    #[test]
    fn integer_arrays_round_trip_at_the_extremes() {
        let vals = [
            0,
            1,
            -1,
            63,
            -64,
            64,
            i128::MAX,
            i128::MIN,
            1 << 90,
            -(1 << 100) + 7,
        ];
        let mut o = Vec::new();
        write_ints(&mut o, &vals);
        assert_eq!(Cursor::new(&o, 0).ints().unwrap(), vals);
        // a zero costs one byte
        let mut z = Vec::new();
        write_ints(&mut z, &[0; 10]);
        assert_eq!(z.len(), 16 + 10);
    }

    #[test]
    fn older_formats_are_refused_with_their_version() {
        for (magic, want) in [
            (&b"XFTALLY3"[..], "tally file format 3 (magic XFTALLY3)"),
            (b"XFTALLY2", "tally file format 2 (magic XFTALLY2)"),
            (b"XFTALLY1", "format 1"),
            (b"XFPART01", "format 1 (XFPART01 part file)"),
        ] {
            let b = [magic, &[0u8; 64][..]].concat();
            let e = decode_file(&b).unwrap_err().to_string();
            assert!(e.contains(want) && e.contains("reads format 4"), "{e}");
        }
        assert_eq!(decode_file(b"PNG....."), Err(FileError::Corrupt));
    }
}
