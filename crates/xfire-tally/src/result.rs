//! The run's tally as plain, mergeable data.

use crate::events::EventSpectrum;
use crate::scorer::{BatchTally, TallyLayout};
use crate::{Result, TallyError};
use xfire_core::constants::MEV_PER_G_TO_GY;

/// Relative standard uncertainty of the mean per decay from batch sums: `sum` = Σ E_b
/// [MeV], `sum2` = Σ E_b²/n_b [MeV²], `decays` = N = Σ n_b, `batches` = K.
///
/// Returns NaN when K < 2 (no estimate possible) and 1 when nothing was scored (sum = 0).
pub fn rel_uncertainty(sum: f64, sum2: f64, decays: u64, batches: u64) -> f64 {
    if batches < 2 || decays == 0 {
        return f64::NAN;
    }
    if sum <= 0.0 {
        return 1.0;
    }
    let n = decays as f64;
    let var_history = ((sum2 - sum * sum / n) / (batches - 1) as f64).max(0.0);
    (var_history / n).sqrt() / (sum / n)
}

/// Sum and batch sum of squares of one scalar quantity.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct BatchStat {
    /// Σ over batches of the batch value [MeV].
    pub sum: f64,
    /// Σ over batches of batch value² / batch size [MeV²].
    pub sum2: f64,
}

impl BatchStat {
    #[inline]
    fn add(&mut self, x: f64, n: f64) {
        self.sum += x;
        self.sum2 += x * x / n;
    }

    fn merge(&mut self, o: &BatchStat) {
        self.sum += o.sum;
        self.sum2 += o.sum2;
    }
}

/// The energy balance of a run, as batch statistics [MeV].
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct EnergyBalance {
    /// Energy emitted by the decays.
    pub emitted: BatchStat,
    /// Energy deposited in the grid (including local and below-cutoff deposits).
    pub deposited: BatchStat,
    /// Energy carried out of the grid by charged particles.
    pub escaped_charged: BatchStat,
    /// Energy of photons leaving the grid (escaping).
    pub escaped_photon: BatchStat,
    /// Energy deposited on the spot below the tracking cutoff (part of `deposited`).
    pub below_cutoff: BatchStat,
}

/// Per-region sums of one region map.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionTally {
    /// Name of the region map.
    pub name: String,
    /// Σ over batches of the batch energy per region [MeV].
    pub sum: Vec<f64>,
    /// Σ over batches of batch energy² / batch size per region [MeV²].
    pub sum2: Vec<f64>,
}

/// The self-cell tally ([`crate::SelfCellLayout`]) per region of map `by_map`: sums over
/// batches of the energy deposited in the decays' own cells, of its square and of its product
/// with the batch's total energy of the region, each over the batch size.
#[derive(Debug, Clone, PartialEq)]
pub struct SelfCellTally {
    /// The region map the energies are summed by.
    pub by_map: usize,
    /// Σ batch self-cell energy per region [MeV].
    pub sum: Vec<f64>,
    /// Σ (batch self-cell energy)² / batch size per region [MeV²].
    pub sum2: Vec<f64>,
    /// Σ batch self-cell energy × batch energy of the region / batch size [MeV²].
    pub cross: Vec<f64>,
}

impl SelfCellTally {
    /// Empty sums for `layout`'s self-cell tally, if it has one.
    pub fn new(layout: &TallyLayout) -> Option<Self> {
        layout.self_cell.map(|s| {
            let n = layout.regions[s.by_map].n_regions;
            Self {
                by_map: s.by_map,
                sum: vec![0.0; n],
                sum2: vec![0.0; n],
                cross: vec![0.0; n],
            }
        })
    }
}

/// Self-cell and total energy per decay of one region with their sampling (co)variances
/// ([`TallyResult::self_cell_mean`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SelfCellMean {
    /// Mean energy per decay deposited in the decay's own cell [MeV].
    pub self_mev: f64,
    /// Mean energy per decay deposited in the region [MeV].
    pub total_mev: f64,
    /// Variance of `self_mev` [MeV²].
    pub var_self: f64,
    /// Variance of `total_mev` [MeV²].
    pub var_total: f64,
    /// Covariance of `self_mev` and `total_mev` [MeV²].
    pub cov: f64,
}

/// Variance (or covariance) of the means per decay of two quantities from their batch sums
/// `a`, `b` and Σ a_k b_k / n_k (`ab`), `n` decays in `k` batches (the estimator of
/// [`rel_uncertainty`]); 0 with fewer than two batches.
pub fn mean_covariance(a: f64, b: f64, ab: f64, n: u64, k: u64) -> f64 {
    if k < 2 || n == 0 {
        return 0.0;
    }
    let n = n as f64;
    (ab - a * b / n) / ((k - 1) as f64 * n)
}

/// The tally of a run: plain data, mergeable by adding (see the crate documentation for the
/// statistics).
#[derive(Debug, Clone, PartialEq)]
pub struct TallyResult {
    /// Decays (histories) run.
    pub decays: u64,
    /// Batches absorbed.
    pub batches: u64,
    /// Σ over batches of the batch energy per voxel [MeV] (empty when the layout keeps no
    /// per-voxel tally: [`crate::VoxelTally`]).
    pub voxel_sum: Vec<f64>,
    /// Σ over batches of batch energy² / batch size per voxel [MeV²] (empty unless the layout
    /// keeps sums of squares per voxel).
    pub voxel_sum2: Vec<f64>,
    /// One per region map of the layout, in its order.
    pub regions: Vec<RegionTally>,
    /// Emitted, deposited, escaped and below-cutoff energies.
    pub balance: EnergyBalance,
    /// Largest |emitted − deposited − escaped| / emitted of any single history.
    pub max_history_imbalance_rel: f64,
    /// Single-event spectra per target class of the layout's event targets (empty when not
    /// tallied; [`crate::events`]).
    pub events: Vec<EventSpectrum>,
    /// The self-cell tally, if the layout has one.
    pub self_cell: Option<SelfCellTally>,
}

impl TallyResult {
    /// An empty result for `layout`.
    pub fn new(layout: &TallyLayout) -> Self {
        Self {
            decays: 0,
            batches: 0,
            voxel_sum: vec![0.0; layout.n_voxels * usize::from(layout.voxels.arrays() >= 1)],
            voxel_sum2: vec![0.0; layout.n_voxels * usize::from(layout.voxels.arrays() >= 2)],
            regions: layout
                .regions
                .iter()
                .map(|r| RegionTally {
                    name: r.name.clone(),
                    sum: vec![0.0; r.n_regions],
                    sum2: vec![0.0; r.n_regions],
                })
                .collect(),
            balance: EnergyBalance::default(),
            max_history_imbalance_rel: 0.0,
            events: Vec::new(),
            self_cell: SelfCellTally::new(layout),
        }
    }

    fn add_events(&mut self, events: &[EventSpectrum]) {
        if self.events.len() < events.len() {
            self.events.resize(events.len(), EventSpectrum::new());
        }
        for (a, b) in self.events.iter_mut().zip(events) {
            a.add(b);
        }
    }

    /// Adds one batch (O(voxels it touched)). For bit-identical results absorb batches in
    /// batch-index order.
    pub fn absorb(&mut self, b: &BatchTally) {
        if b.histories == 0 {
            return;
        }
        let n = b.histories as f64;
        let squares = !self.voxel_sum2.is_empty();
        for &(v, e) in &b.voxels {
            self.voxel_sum[v as usize] += e;
            if squares {
                self.voxel_sum2[v as usize] += e * e / n;
            }
        }
        for (r, list) in self.regions.iter_mut().zip(&b.regions) {
            for &(i, e) in list {
                r.sum[i as usize] += e;
                r.sum2[i as usize] += e * e / n;
            }
        }
        self.balance.emitted.add(b.emitted_mev, n);
        self.balance.deposited.add(b.deposited_mev, n);
        self.balance.escaped_charged.add(b.escaped_charged_mev, n);
        self.balance.escaped_photon.add(b.escaped_photon_mev, n);
        self.balance.below_cutoff.add(b.below_cutoff_mev, n);
        self.max_history_imbalance_rel = self.max_history_imbalance_rel.max(b.max_imbalance_rel);
        self.add_events(&b.events);
        if let Some(sc) = &mut self.self_cell {
            for (r, s, t) in b.self_cell_pairs(sc.by_map) {
                sc.sum[r] += s;
                sc.sum2[r] += s * s / n;
                sc.cross[r] += s * t / n;
            }
        }
        self.decays += b.histories;
        self.batches += 1;
    }

    /// Adds another result of the same layout (shards of one run: same seed, disjoint
    /// history ranges). Merging in shard order gives reproducible bytes.
    pub fn merge(&mut self, o: &TallyResult) -> Result<()> {
        if o.voxel_sum.len() != self.voxel_sum.len()
            || o.voxel_sum2.len() != self.voxel_sum2.len()
            || o.regions.len() != self.regions.len()
            || o.regions
                .iter()
                .zip(&self.regions)
                .any(|(a, b)| a.name != b.name || a.sum.len() != b.sum.len())
        {
            return Err(TallyError::Layout(
                "cannot merge tallies of different layouts".into(),
            ));
        }
        for (a, b) in self.voxel_sum.iter_mut().zip(&o.voxel_sum) {
            *a += b;
        }
        for (a, b) in self.voxel_sum2.iter_mut().zip(&o.voxel_sum2) {
            *a += b;
        }
        for (r, q) in self.regions.iter_mut().zip(&o.regions) {
            for (a, b) in r.sum.iter_mut().zip(&q.sum) {
                *a += b;
            }
            for (a, b) in r.sum2.iter_mut().zip(&q.sum2) {
                *a += b;
            }
        }
        let (s, t) = (&mut self.balance, &o.balance);
        s.emitted.merge(&t.emitted);
        s.deposited.merge(&t.deposited);
        s.escaped_charged.merge(&t.escaped_charged);
        s.escaped_photon.merge(&t.escaped_photon);
        s.below_cutoff.merge(&t.below_cutoff);
        self.max_history_imbalance_rel = self
            .max_history_imbalance_rel
            .max(o.max_history_imbalance_rel);
        self.add_events(&o.events);
        match (&mut self.self_cell, &o.self_cell) {
            (Some(a), Some(b)) if a.sum.len() == b.sum.len() => {
                for (x, y) in [(&mut a.sum, &b.sum), (&mut a.sum2, &b.sum2)]
                    .into_iter()
                    .chain([(&mut a.cross, &b.cross)])
                {
                    x.iter_mut().zip(y).for_each(|(x, y)| *x += y);
                }
            }
            (None, None) => {}
            _ => {
                return Err(TallyError::Layout(
                    "cannot merge tallies with and without a self-cell tally".into(),
                ))
            }
        }
        self.decays += o.decays;
        self.batches += o.batches;
        Ok(())
    }

    /// The self-cell and total energy per decay of region `r` of the self-cell map, with
    /// their (co)variances; `None` without a self-cell tally.
    pub fn self_cell_mean(&self, r: usize) -> Option<SelfCellMean> {
        let sc = self.self_cell.as_ref()?;
        let t = &self.regions[sc.by_map];
        let (n, k) = (self.decays, self.batches);
        let (s, tt) = (sc.sum[r], t.sum[r]);
        Some(SelfCellMean {
            self_mev: self.per_decay(s),
            total_mev: self.per_decay(tt),
            var_self: mean_covariance(s, s, sc.sum2[r], n, k),
            var_total: mean_covariance(tt, tt, t.sum2[r], n, k),
            cov: mean_covariance(s, tt, sc.cross[r], n, k),
        })
    }

    fn per_decay(&self, sum: f64) -> f64 {
        if self.decays == 0 {
            0.0
        } else {
            sum / self.decays as f64
        }
    }

    /// Mean energy per decay deposited in voxel `v` [MeV] (the layout must keep per-voxel
    /// sums).
    pub fn voxel_mean_mev(&self, v: usize) -> f64 {
        self.per_decay(self.voxel_sum[v])
    }

    /// Relative standard uncertainty of [`TallyResult::voxel_mean_mev`] (NaN with < 2
    /// batches, 1 where nothing was scored; the layout must keep sums of squares).
    pub fn voxel_rel_unc(&self, v: usize) -> f64 {
        rel_uncertainty(
            self.voxel_sum[v],
            self.voxel_sum2[v],
            self.decays,
            self.batches,
        )
    }

    /// Mean energy per decay deposited in region `r` of region map `map` [MeV].
    pub fn region_mean_mev(&self, map: usize, r: usize) -> f64 {
        self.per_decay(self.regions[map].sum[r])
    }

    /// Relative standard uncertainty of [`TallyResult::region_mean_mev`].
    pub fn region_rel_unc(&self, map: usize, r: usize) -> f64 {
        let t = &self.regions[map];
        rel_uncertainty(t.sum[r], t.sum2[r], self.decays, self.batches)
    }

    /// Mean emitted energy per decay [MeV].
    pub fn emitted_mev_per_decay(&self) -> f64 {
        self.per_decay(self.balance.emitted.sum)
    }

    /// Mean energy deposited in the grid per decay [MeV].
    pub fn deposited_mev_per_decay(&self) -> f64 {
        self.per_decay(self.balance.deposited.sum)
    }

    /// Mean energy escaping per decay [MeV]: charged particles and photons leaving the grid.
    pub fn escaped_mev_per_decay(&self) -> f64 {
        self.per_decay(self.balance.escaped_charged.sum + self.balance.escaped_photon.sum)
    }

    /// Mean photon energy per decay leaving the grid [MeV].
    pub fn escaped_photon_mev_per_decay(&self) -> f64 {
        self.per_decay(self.balance.escaped_photon.sum)
    }

    /// Mean energy per decay deposited below the tracking cutoff [MeV].
    pub fn below_cutoff_mev_per_decay(&self) -> f64 {
        self.per_decay(self.balance.below_cutoff.sum)
    }

    /// Absorbed dose per decay of voxel `v` of mass `mass_g` [g] [Gy]; 0 for a massless voxel.
    pub fn voxel_dose_gy(&self, v: usize, mass_g: f64) -> f64 {
        dose_gy(self.voxel_mean_mev(v), mass_g)
    }

    /// Absorbed dose per decay of region `r` of map `map` with mass `mass_g` [g] [Gy].
    pub fn region_dose_gy(&self, map: usize, r: usize, mass_g: f64) -> f64 {
        dose_gy(self.region_mean_mev(map, r), mass_g)
    }
}

/// Dose [Gy] of `e_mev` [MeV] in `mass_g` [g]; 0 when the mass is not positive.
#[inline]
pub fn dose_gy(e_mev: f64, mass_g: f64) -> f64 {
    if mass_g > 0.0 {
        e_mev / mass_g * MEV_PER_G_TO_GY
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scorer::{BatchScorer, RegionMap, Scorer};
    use xfire_core::rng::Rng;

    fn layout() -> TallyLayout {
        TallyLayout::new(3, vec![RegionMap::new("r", vec![0, 1, 1], 2).unwrap()]).unwrap()
    }

    #[test]
    fn uncertainty_matches_the_spread_of_independent_runs() {
        // voxel 0 receives an exponential energy (mean 1) in 30 % of histories.
        let l = layout();
        let run = |seed: u64| {
            let mut res = TallyResult::new(&l);
            let mut s = BatchScorer::new(&l);
            let mut rng = Rng::for_stream(seed, 0, 0);
            for b in 0..40 {
                let size = if b == 39 { 37 } else { 100 }; // one short batch
                for _ in 0..size {
                    let e = if rng.uniform() < 0.3 {
                        -rng.uniform().ln()
                    } else {
                        0.0
                    };
                    s.begin_history(e, 0);
                    s.deposit(0, e);
                    s.end_history();
                }
                res.absorb(&s.finish_batch());
            }
            res
        };
        let n_runs = 200;
        let means: Vec<f64> = (0..n_runs).map(|k| run(k).voxel_mean_mev(0)).collect();
        let m = means.iter().sum::<f64>() / n_runs as f64;
        let sd = (means.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n_runs - 1) as f64).sqrt();
        let est: f64 = (0..20).map(|k| run(1000 + k).voxel_rel_unc(0)).sum::<f64>() / 20.0 * m;
        // exact: p(2-p)/N with p = 0.3 → σ_h² = 0.51, N = 3937
        let exact = (0.51f64 / 3937.0).sqrt();
        assert!(
            (sd / exact - 1.0).abs() < 0.15,
            "observed sd {sd} vs {exact}"
        );
        assert!(
            (est / exact - 1.0).abs() < 0.1,
            "estimated {est} vs {exact}"
        );
        assert!((m - 0.3).abs() < 4.0 * exact / (n_runs as f64).sqrt());
    }

    #[test]
    fn merge_equals_single_run_and_checks_layout() {
        let l = layout();
        let mut s = BatchScorer::new(&l);
        let mut batches = Vec::new();
        for b in 0..6 {
            for h in 0..10 {
                let e = (b * 10 + h) as f64 * 0.01;
                s.begin_history(e + 0.5, 0);
                s.deposit(1, e);
                s.deposit(2, 0.5);
                s.end_history();
            }
            batches.push(s.finish_batch());
        }
        let mut whole = TallyResult::new(&l);
        batches.iter().for_each(|b| whole.absorb(b));
        let mut a = TallyResult::new(&l);
        let mut c = TallyResult::new(&l);
        batches[..2].iter().for_each(|b| a.absorb(b));
        batches[2..].iter().for_each(|b| c.absorb(b));
        a.merge(&c).unwrap();
        assert_eq!(a.decays, 60);
        assert_eq!(a.batches, 6);
        for v in 0..3 {
            assert!((a.voxel_sum[v] - whole.voxel_sum[v]).abs() < 1e-12);
            assert!((a.voxel_sum2[v] - whole.voxel_sum2[v]).abs() < 1e-12);
        }
        assert!((a.region_mean_mev(0, 1) - whole.region_mean_mev(0, 1)).abs() < 1e-12);
        assert_eq!(a.voxel_rel_unc(0), 1.0);
        assert!((a.deposited_mev_per_decay() - a.emitted_mev_per_decay()).abs() < 1e-12);
        let other = TallyLayout::new(4, vec![]).unwrap();
        assert!(a.merge(&TallyResult::new(&other)).is_err());
    }

    #[test]
    fn dose_conversion() {
        assert!((dose_gy(1.0, 1.0) - 1.602176634e-10).abs() < 1e-22);
        assert_eq!(dose_gy(1.0, 0.0), 0.0);
        assert!(rel_uncertainty(1.0, 1.0, 10, 1).is_nan());
    }
}
