//! Radial scoring in spherical shells around a point source at the centre of the centre
//! voxel of a cubic kernel grid (radial dose point kernels, `xfire kernel --source radial`).
//!
//! The transport reports deposits per voxel; [`ShellMap`] splits each voxel's energy over the
//! shells ([`ShellBins`]: uniform width between two radii, plus a bin for everything inside
//! the inner radius and one for everything beyond the outer) in proportion to the voxel volume
//! in each shell (8³ sub-points per voxel that straddles a shell edge), so shell edges are at
//! exact radii and do not snap to voxel centres; energy is located to within the voxel, and
//! with voxels half a shell wide that smooths the profile over about one shell. By the grid's
//! symmetry the split depends only on the voxel's sorted offsets from the centre, so it is
//! computed once per symmetry class ([`crate::kernel::SymmetryClasses`]).
//!
//! [`ShellScorer`] keeps, per history, the energy in each bin; per batch, the sums over
//! histories of each bin's energy and its square, of the cumulative energy within each shell's
//! outer radius and its square, and the energy balance ([`ShellSums`]). Every deposit lands in
//! exactly one set of bins whose fractions sum to 1, so per history emitted = Σ bins + escaped.

use crate::kernel::SymmetryClasses;
use crate::{RegionMap, Result, Scorer, TallyError};

/// Sub-points per axis used to split a voxel that straddles a shell edge.
const SUB: usize = 8;

/// Shells of equal width `width_cm` from `r_in_cm` to `r_in_cm + n·width_cm`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShellBins {
    /// Inner radius of the first shell [cm].
    pub r_in_cm: f64,
    /// Shell width [cm].
    pub width_cm: f64,
    /// Number of shells.
    pub n: usize,
}

impl ShellBins {
    /// `n` shells between `r_in_cm` and `r_out_cm` (0 ≤ r_in < r_out, 1 ≤ n ≤ 10 000).
    pub fn new(r_in_cm: f64, r_out_cm: f64, n: usize) -> Result<Self> {
        let ok = r_in_cm >= 0.0 && r_out_cm > r_in_cm && r_out_cm.is_finite();
        if !ok || n == 0 || n > 10_000 {
            return Err(TallyError::Layout(format!(
                "shells need 0 <= r_in < r_out and 1 to 10000 shells, got {n} from {r_in_cm} cm to {r_out_cm} cm"
            )));
        }
        Ok(Self {
            r_in_cm,
            width_cm: (r_out_cm - r_in_cm) / n as f64,
            n,
        })
    }

    /// Outer radius of the last shell [cm].
    pub fn r_out_cm(&self) -> f64 {
        self.r_in_cm + self.n as f64 * self.width_cm
    }

    /// Inner and outer radius of shell `k` (0-based) [cm].
    pub fn edges_cm(&self, k: usize) -> (f64, f64) {
        let a = self.r_in_cm + k as f64 * self.width_cm;
        (
            a,
            if k + 1 == self.n {
                self.r_out_cm()
            } else {
                a + self.width_cm
            },
        )
    }

    /// Mass of shell `k` [g] in a medium of `density_g_cm3`.
    pub fn mass_g(&self, k: usize, density_g_cm3: f64) -> f64 {
        let (a, b) = self.edges_cm(k);
        density_g_cm3 * 4.0 / 3.0 * std::f64::consts::PI * (b.powi(3) - a.powi(3))
    }

    /// Bin of radius `r_cm`: 0 inside `r_in_cm`, 1..=n the shells, n + 1 beyond.
    pub fn bin(&self, r_cm: f64) -> usize {
        if r_cm < self.r_in_cm {
            return 0;
        }
        let k = ((r_cm - self.r_in_cm) / self.width_cm) as usize;
        k.min(self.n) + 1
    }

    /// Number of bins (shells, inside and beyond).
    pub fn bins(&self) -> usize {
        self.n + 2
    }
}

/// Voxel → (bin, volume fraction) of a cubic grid of odd side `n` and voxel edge `voxel_cm`
/// around a point at the centre of its centre voxel.
#[derive(Debug, Clone)]
pub struct ShellMap {
    /// The bins.
    pub bins: ShellBins,
    class: RegionMap,
    first: Vec<u32>,
    entries: Vec<(u32, f64)>,
}

/// Nearest and farthest distance [voxels] from the centre voxel's centre to a voxel at
/// absolute offsets `o`.
fn near_far(o: [usize; 3]) -> (f64, f64) {
    let (mut near, mut far) = (0.0_f64, 0.0_f64);
    for x in o {
        let x = x as f64;
        near += (x - 0.5).max(0.0).powi(2);
        far += (x + 0.5).powi(2);
    }
    (near.sqrt(), far.sqrt())
}

/// (bin, volume fraction) of a voxel at absolute offsets `o` (voxel edge `h` [cm]).
fn split_voxel(bins: &ShellBins, o: [usize; 3], h: f64) -> Vec<(u32, f64)> {
    let (near, far) = near_far(o);
    let (b0, b1) = (bins.bin(near * h), bins.bin(far * h));
    if b0 == b1 {
        return vec![(b0 as u32, 1.0)];
    }
    let mut count = vec![0u32; b1 - b0 + 1];
    let f = |i: usize, x: usize| (x as f64 - 0.5 + (i as f64 + 0.5) / SUB as f64) * h;
    for i in 0..SUB * SUB * SUB {
        let p = [
            f(i % SUB, o[0]),
            f((i / SUB) % SUB, o[1]),
            f(i / (SUB * SUB), o[2]),
        ];
        let r = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        count[bins.bin(r).clamp(b0, b1) - b0] += 1;
    }
    let total = (SUB * SUB * SUB) as f64;
    (count.iter().enumerate())
        .filter(|(_, &c)| c > 0)
        .map(|(k, &c)| ((b0 + k) as u32, c as f64 / total))
        .collect()
}

impl ShellMap {
    /// The map of an `n`³ grid (odd `n`) of voxel edge `voxel_cm` for `bins`.
    pub fn new(n: usize, voxel_cm: f64, bins: ShellBins) -> Result<Self> {
        if !(voxel_cm > 0.0 && voxel_cm.is_finite()) {
            return Err(TallyError::Layout(format!(
                "a shell map needs a positive voxel edge, got {voxel_cm} cm"
            )));
        }
        let classes = SymmetryClasses::new(n)?;
        let (mut first, mut entries) = (Vec::with_capacity(classes.offsets.len() + 1), vec![]);
        for &o in &classes.offsets {
            first.push(entries.len() as u32);
            entries.extend(split_voxel(&bins, o, voxel_cm));
        }
        first.push(entries.len() as u32);
        Ok(Self {
            bins,
            class: classes.map()?,
            first,
            entries,
        })
    }

    /// The (bin, fraction) pairs of voxel `v`.
    #[inline]
    pub fn of(&self, v: usize) -> &[(u32, f64)] {
        let c = self.class.of_voxel.get(v) as usize;
        &self.entries[self.first[c] as usize..self.first[c + 1] as usize]
    }
}

/// Sums over histories of a shell run (mergeable; absorb batches in batch order for results
/// independent of the thread count).
#[derive(Debug, Clone, PartialEq)]
pub struct ShellSums {
    /// Histories.
    pub decays: u64,
    /// Σ energy per bin [MeV] (bins of [`ShellBins::bin`]).
    pub sum: Vec<f64>,
    /// Σ energy² per bin [MeV²].
    pub sum2: Vec<f64>,
    /// Σ energy within the outer radius of each shell, inside bin included [MeV].
    pub cum_sum: Vec<f64>,
    /// Σ of its square [MeV²].
    pub cum_sum2: Vec<f64>,
    /// Σ energy emitted [MeV].
    pub emitted: f64,
    /// Σ energy leaving the grid (charged particles and photons) [MeV].
    pub escaped: f64,
}

impl ShellSums {
    /// Empty sums for `bins`.
    pub fn new(bins: &ShellBins) -> Self {
        Self {
            decays: 0,
            sum: vec![0.0; bins.bins()],
            sum2: vec![0.0; bins.bins()],
            cum_sum: vec![0.0; bins.n],
            cum_sum2: vec![0.0; bins.n],
            emitted: 0.0,
            escaped: 0.0,
        }
    }

    /// Adds `o` (same bins).
    pub fn absorb(&mut self, o: &ShellSums) {
        self.decays += o.decays;
        let pairs = [
            (&mut self.sum, &o.sum),
            (&mut self.sum2, &o.sum2),
            (&mut self.cum_sum, &o.cum_sum),
            (&mut self.cum_sum2, &o.cum_sum2),
        ];
        for (a, b) in pairs {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        self.emitted += o.emitted;
        self.escaped += o.escaped;
    }

    /// Mean per decay and its standard uncertainty of Σ `s`, Σ `s2` (per-history variance).
    pub fn mean_sigma(&self, s: f64, s2: f64) -> (f64, f64) {
        let n = self.decays.max(1) as f64;
        let m = s / n;
        (m, ((s2 / n - m * m).max(0.0) / n).sqrt())
    }

    /// Energy per decay in bin `b` [MeV] and its standard uncertainty.
    pub fn bin_mev(&self, b: usize) -> (f64, f64) {
        self.mean_sigma(self.sum[b], self.sum2[b])
    }

    /// Energy per decay within the outer radius of shell `k` [MeV] and its σ.
    pub fn cumulative_mev(&self, k: usize) -> (f64, f64) {
        self.mean_sigma(self.cum_sum[k], self.cum_sum2[k])
    }
}

/// The scorer of a shell run: one per worker.
pub struct ShellScorer<'a> {
    map: &'a ShellMap,
    history: Vec<f64>,
    sums: ShellSums,
}

impl<'a> ShellScorer<'a> {
    /// A scorer for `map`.
    pub fn new(map: &'a ShellMap) -> Self {
        Self {
            map,
            history: vec![0.0; map.bins.bins()],
            sums: ShellSums::new(&map.bins),
        }
    }

    /// The sums of the batch, resetting them.
    pub fn finish_batch(&mut self) -> ShellSums {
        std::mem::replace(&mut self.sums, ShellSums::new(&self.map.bins))
    }
}

impl Scorer for ShellScorer<'_> {
    fn begin_history(&mut self, emitted_mev: f64, _site: usize) {
        self.sums.emitted += emitted_mev;
    }
    #[inline]
    fn deposit(&mut self, voxel: usize, e_mev: f64) {
        for &(b, w) in self.map.of(voxel) {
            self.history[b as usize] += w * e_mev;
        }
    }
    fn deposit_local(&mut self, voxel: usize, e_mev: f64, _below_cutoff: bool) {
        self.deposit(voxel, e_mev);
    }
    fn escape(&mut self, e_mev: f64) {
        self.sums.escaped += e_mev;
    }
    fn photon_escape(&mut self, e_mev: f64) {
        self.sums.escaped += e_mev;
    }
    fn end_history(&mut self) {
        let s = &mut self.sums;
        let mut c = self.history[0];
        for (b, e) in self.history.iter_mut().enumerate() {
            s.sum[b] += *e;
            s.sum2[b] += *e * *e;
            if (1..=s.cum_sum.len()).contains(&b) {
                c += *e;
                s.cum_sum[b - 1] += c;
                s.cum_sum2[b - 1] += c * c;
            }
            *e = 0.0;
        }
        s.decays += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_and_edges() {
        let b = ShellBins::new(0.3, 6.0, 57).unwrap();
        assert!((b.width_cm - 0.1).abs() < 1e-12);
        assert_eq!(b.bin(0.1), 0);
        assert_eq!(b.bin(0.35), 1);
        assert_eq!(b.bin(5.95), 57);
        assert_eq!(b.bin(6.5), 58);
        assert!((b.edges_cm(56).1 - 6.0).abs() < 1e-12);
        assert!(ShellBins::new(1.0, 1.0, 3).is_err());
        assert!(ShellBins::new(0.0, 1.0, 0).is_err());
    }

    /// The volume fractions of all voxels add up, shell by shell, to the shells' volumes
    /// (within the 8³ sub-sampling), and every voxel's fractions sum to 1.
    #[test]
    fn map_volumes_match_shell_volumes() {
        let (n, h) = (41, 0.05);
        let bins = ShellBins::new(0.0, 0.9, 9).unwrap();
        let map = ShellMap::new(n, h, bins).unwrap();
        let mut vol = vec![0.0; bins.bins()];
        for v in 0..n * n * n {
            let s: f64 = map.of(v).iter().map(|e| e.1).sum();
            assert!((s - 1.0).abs() < 1e-12);
            for &(b, w) in map.of(v) {
                vol[b as usize] += w * h * h * h;
            }
        }
        for k in 0..bins.n {
            let exact = bins.mass_g(k, 1.0);
            let rel = vol[k + 1] / exact - 1.0;
            assert!(rel.abs() < 0.01, "shell {k}: {rel}");
        }
    }

    #[test]
    fn scorer_balance_and_cumulative() {
        let bins = ShellBins::new(0.0, 0.3, 3).unwrap();
        let map = ShellMap::new(7, 0.1, bins).unwrap();
        let mut s = ShellScorer::new(&map);
        s.begin_history(2.0, 0);
        s.deposit(3 * 49 + 3 * 7 + 3, 1.0); // centre voxel: shell 0 (bin 1)
        s.escape(1.0);
        s.end_history();
        let sums = s.finish_batch();
        assert_eq!(sums.decays, 1);
        assert_eq!(sums.bin_mev(1).0, 1.0);
        assert_eq!(sums.cumulative_mev(2).0, 1.0);
        assert_eq!(sums.emitted, 2.0);
        assert_eq!(sums.escaped, 1.0);
    }
}
