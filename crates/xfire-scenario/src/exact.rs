//! Order-independent (exact) accumulation of batch tallies, the basis of byte-identical
//! shards, MPI ranks and checkpoints.
//!
//! A [`TallyResult`] adds batch values in `f64`, so its bytes depend on the order and
//! grouping of the additions: a run split into shards and merged would differ from the
//! single run in the last bits. [`ExactTally`] converts every batch value once to a signed
//! 128-bit fixed-point number with 2⁻⁷⁶ MeV resolution (≈ 1.3 × 10⁻²³ MeV; range
//! ± 2⁵¹ MeV ≈ 2.3 × 10¹⁵ MeV per accumulated sum) and adds integers, which is associative:
//! any split of the batches into shards, ranks or checkpoint segments, merged in any order,
//! gives the same integers, and [`ExactTally::to_result`] the same `f64` bytes. The
//! conversion of a batch value depends only on that batch, and batches are a pure function
//! of (seed, batch index, batch size), so the result depends on nothing else.
//!
//! Binary layout ([`ExactTally::to_bytes`], `docs/formats/shard.md`): little-endian, magic
//! `XFEXACT2`, then decays, batches (u64), the voxel sums and sums² (u64 count, then i128
//! each), the region maps (count; per map: name length and UTF-8 name, sums, sums²), the five
//! energy-balance statistics (sum, sum² as i128), the largest history imbalance (f64), the
//! single-event spectra (u64 class count; per class: u64 bin count, u64 counts, Σz and Σz²
//! as i128 in 2⁻⁷⁶ Gy and Gy² units).

use xfire_tally::{
    rel_uncertainty, BatchStat, BatchTally, EnergyBalance, EventSpectrum, RegionTally, TallyLayout,
    TallyResult,
};

/// Fixed-point scale: 2⁷⁶ units per MeV.
const SCALE: f64 = 75_557_863_725_914_323_419_136.0; // 2^76
const MAGIC: &[u8; 8] = b"XFEXACT2";

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

/// A tally accumulated exactly: the same data as [`TallyResult`] with fixed-point sums.
#[derive(Debug, Clone, PartialEq)]
pub struct ExactTally {
    /// Decays absorbed.
    pub decays: u64,
    /// Batches absorbed.
    pub batches: u64,
    /// Per voxel Σ batch energy (fixed point).
    pub voxel_sum: Vec<i128>,
    /// Per voxel Σ batch energy² / batch size (fixed point).
    pub voxel_sum2: Vec<i128>,
    /// One per region map of the layout.
    pub regions: Vec<ExactRegions>,
    /// Emitted, deposited, escaped (charged, photon), below-cutoff energies.
    pub balance: [ExactStat; 5],
    /// Largest |emitted − deposited − escaped| / emitted of any history.
    pub max_history_imbalance_rel: f64,
    /// Single-event spectra per target class (empty when not tallied).
    pub events: Vec<ExactEvents>,
}

impl ExactTally {
    /// An empty tally for `layout`.
    pub fn new(layout: &TallyLayout) -> Self {
        Self {
            decays: 0,
            batches: 0,
            voxel_sum: vec![0; layout.n_voxels],
            voxel_sum2: vec![0; layout.n_voxels],
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
        }
    }

    /// Adds one batch; the order of batches does not matter.
    pub fn absorb(&mut self, b: &BatchTally) {
        if b.histories == 0 {
            return;
        }
        let n = b.histories as f64;
        for &(v, e) in &b.voxels {
            let v = v as usize;
            self.voxel_sum[v] = self.voxel_sum[v].wrapping_add(fx(e));
            self.voxel_sum2[v] = self.voxel_sum2[v].wrapping_add(fx(e * e / n));
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
        self.decays += b.histories;
        self.batches += 1;
    }

    fn same_layout(&self, o: &ExactTally) -> bool {
        o.voxel_sum.len() == self.voxel_sum.len()
            && o.regions.len() == self.regions.len()
            && o.regions
                .iter()
                .zip(&self.regions)
                .all(|(a, b)| a.name == b.name && a.sum.len() == b.sum.len())
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

    /// 95th percentile over the regions `idx` of map `map` of the relative standard
    /// uncertainty of their mean energy per decay (1 for a region without energy, NaN before
    /// two batches); None when `idx` is empty. A function of the exact sums only.
    pub fn region_rel_unc_p95(&self, map: usize, idx: &[usize]) -> Option<f64> {
        crate::cellnoise::percentile_95(idx.iter().map(|&r| self.region_rel_unc(map, r)).collect())
    }

    /// Σ batch energy of region `r` of map `map` [MeV].
    pub fn region_sum_mev(&self, map: usize, r: usize) -> f64 {
        fl(self.regions[map].sum[r])
    }

    /// The tally as a [`TallyResult`] (every sum rounded once to `f64`).
    pub fn to_result(&self) -> TallyResult {
        let v = |a: &[i128]| a.iter().map(|&x| fl(x)).collect::<Vec<f64>>();
        let b = &self.balance;
        TallyResult {
            decays: self.decays,
            batches: self.batches,
            voxel_sum: v(&self.voxel_sum),
            voxel_sum2: v(&self.voxel_sum2),
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
        }
    }

    /// The binary form (see the module doc).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut o = Vec::with_capacity(64 + 32 * self.voxel_sum.len());
        o.extend_from_slice(MAGIC);
        let u = |o: &mut Vec<u8>, x: u64| o.extend_from_slice(&x.to_le_bytes());
        let arr = |o: &mut Vec<u8>, a: &[i128]| {
            o.extend_from_slice(&(a.len() as u64).to_le_bytes());
            for x in a {
                o.extend_from_slice(&x.to_le_bytes());
            }
        };
        u(&mut o, self.decays);
        u(&mut o, self.batches);
        arr(&mut o, &self.voxel_sum);
        arr(&mut o, &self.voxel_sum2);
        u(&mut o, self.regions.len() as u64);
        for r in &self.regions {
            u(&mut o, r.name.len() as u64);
            o.extend_from_slice(r.name.as_bytes());
            arr(&mut o, &r.sum);
            arr(&mut o, &r.sum2);
        }
        for s in &self.balance {
            o.extend_from_slice(&s.sum.to_le_bytes());
            o.extend_from_slice(&s.sum2.to_le_bytes());
        }
        o.extend_from_slice(&self.max_history_imbalance_rel.to_le_bytes());
        u(&mut o, self.events.len() as u64);
        for e in &self.events {
            u(&mut o, e.counts.len() as u64);
            for &c in &e.counts {
                u(&mut o, c);
            }
            o.extend_from_slice(&e.sum_z.to_le_bytes());
            o.extend_from_slice(&e.sum_z2.to_le_bytes());
        }
        o
    }

    /// Reads [`ExactTally::to_bytes`]; errs on anything else (truncated, wrong magic,
    /// trailing bytes).
    pub fn from_bytes(buf: &[u8]) -> Result<Self, String> {
        if buf.len() < 8 || &buf[..8] != MAGIC {
            return Err("not an xfire exact tally (wrong magic)".to_string());
        }
        fn bad() -> String {
            "not an xfire exact tally (truncated or corrupt)".to_string()
        }
        let mut c = Cursor::new(buf, 8);
        let decays = c.u64().ok_or_else(bad)?;
        let batches = c.u64().ok_or_else(bad)?;
        let voxel_sum = c.i128s().ok_or_else(bad)?;
        let voxel_sum2 = c.i128s().ok_or_else(bad)?;
        let nr = c.u64().ok_or_else(bad)?;
        let mut regions = Vec::new();
        for _ in 0..nr {
            let name = c.string().ok_or_else(bad)?;
            let sum = c.i128s().ok_or_else(bad)?;
            let sum2 = c.i128s().ok_or_else(bad)?;
            if sum.len() != sum2.len() {
                return Err(bad());
            }
            regions.push(ExactRegions { name, sum, sum2 });
        }
        let mut balance = [ExactStat::default(); 5];
        for s in &mut balance {
            s.sum = c.i128().ok_or_else(bad)?;
            s.sum2 = c.i128().ok_or_else(bad)?;
        }
        let m = c.f64().ok_or_else(bad)?;
        let ne = c.u64().ok_or_else(bad)?;
        // no capacity from the count: each spectrum read consumes its bytes first
        let mut events = Vec::new();
        for _ in 0..ne {
            let counts = c.u64s().ok_or_else(bad)?;
            let sum_z = c.i128().ok_or_else(bad)?;
            let sum_z2 = c.i128().ok_or_else(bad)?;
            events.push(ExactEvents {
                counts,
                sum_z,
                sum_z2,
            });
        }
        let pos = c.pos;
        if pos != buf.len() || voxel_sum.len() != voxel_sum2.len() {
            return Err(bad());
        }
        Ok(Self {
            decays,
            batches,
            voxel_sum,
            voxel_sum2,
            regions,
            balance,
            max_history_imbalance_rel: m,
            events,
        })
    }
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

    /// A u64 count, then that many f64.
    pub(crate) fn f64s(&mut self) -> Option<Vec<f64>> {
        let b = self.counted(8)?;
        Some(
            b.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        )
    }

    /// A u64 count, then that many i128.
    pub(crate) fn i128s(&mut self) -> Option<Vec<i128>> {
        let b = self.counted(16)?;
        Some(
            b.chunks_exact(16)
                .map(|c| i128::from_le_bytes(c.try_into().expect("16 bytes")))
                .collect(),
        )
    }

    /// A u64 byte length, then that many bytes of UTF-8.
    pub(crate) fn string(&mut self) -> Option<String> {
        String::from_utf8(self.counted(1)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xfire_tally::{BatchScorer, RegionMap, Scorer};

    #[test]
    fn any_split_and_order_gives_the_same_bits_and_bytes_round_trip() {
        let l = TallyLayout::new(3, vec![RegionMap::new("r", vec![0, 1, 1], 2).unwrap()])
            .unwrap()
            .with_events(xfire_tally::EventLayout::new(0, vec![0, 1], 1, vec![0.0, 2.0]).unwrap())
            .unwrap();
        let mut s = BatchScorer::with_event_spectra(&l);
        let mut batches = Vec::new();
        for b in 0..7u32 {
            for h in 0..(10 + b) {
                let e = 0.1 + f64::from(b * 31 + h).sin().abs() * 0.37;
                s.begin_history(e + 1.0 / 3.0);
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
        let bytes = whole.to_bytes();
        assert_eq!(ExactTally::from_bytes(&bytes).unwrap(), whole);
        assert!(ExactTally::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(ExactTally::from_bytes(b"XFTALLY1").is_err());
        let other = TallyLayout::new(4, vec![]).unwrap();
        assert!(m.merge(&ExactTally::new(&other)).is_err());
    }
}
