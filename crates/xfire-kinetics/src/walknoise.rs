//! Monte Carlo uncertainty of the migrating lymphocytes' survival (`docs/kinetics.md` §9).
//!
//! A walker's dose is a weighted sum of voxel doses, D̂_w = Σ_{v,c} W_wvc d̂_vc (W_wvc the decays
//! of component c while walker w was in voxel v), so its error is Σ_{v,c} W_wvc ε_vc. Model:
//! ε_vc = σ_vc Z_v with Z_v independent between voxels (σ_vc from
//! [`crate::walk::WalkGrid::dose_sd_per_decay`], which carries the allowance for correlated
//! voxels) and shared by the components and parts of a voxel (every component part is
//! transported with the same seed, so the same decay positions). Walkers that visit the same
//! voxels share its error, so the population figure is not a mean of independent cells and
//! the empirical Bayes of [`crate::noise`] (independent targets) does not apply. Instead:
//!
//! * value: the mean over walkers of S(D̂_w) − ½ tr(H_w Σ_w), the second-order removal of the
//!   noise bias (H the Hessian of S in (D_L, D_α), Σ_w the covariance of the walker's dose
//!   errors) — walkers average many voxels, so their relative noise is small and the
//!   second order suffices (it needs σ_w·|∂ln S/∂D| ≪ 1);
//! * uncertainty: the delta method on the mean, σ² = Σ_v B_v² with
//!   B_v = (1/N) Σ_w ∂S/∂D (W_wv·σ_v) — the shared voxels' covariance between walkers
//!   included.

use std::collections::HashMap;

use crate::noise::SurvivalEstimate;
use crate::radiobiology::LqParameters;
use crate::walk::WalkGrid;

/// Error weights of one path per voxel in increasing voxel order: (voxel, Σ_c W_vc σ_vc for
/// low LET and for α) \[Gy\].
pub(crate) type PathErrors = Vec<(usize, [f64; 2])>;

/// A voxel → slot index: slots are handed out in first-visit order, and `sorted` lists the
/// visited voxels in increasing order (the order every sum over voxels runs in, so results
/// do not depend on the order of the visits).
#[derive(Debug, Clone)]
struct VoxelSlots {
    slot: SlotIndex,
    /// visited voxels, by slot
    voxels: Vec<u32>,
}

/// Where [`VoxelSlots`] looks a voxel's slot up.
#[derive(Debug, Clone)]
enum SlotIndex {
    /// One entry per voxel of the grid (`u32::MAX`: not visited): for the walkers of a
    /// population, which visit a large part of the grid.
    Dense(Vec<u32>),
    /// The visited voxels only: for one walker's path, a small part of a large grid.
    Sparse(HashMap<u32, u32>),
}

impl VoxelSlots {
    /// Slots over a grid of `n_voxels` voxels, indexed densely or sparsely.
    fn new(n_voxels: usize, dense: bool) -> Self {
        assert!(
            u32::try_from(n_voxels).is_ok_and(|n| n < u32::MAX),
            "walk grids have fewer than 2³²−1 voxels"
        );
        let slot = if dense {
            SlotIndex::Dense(vec![u32::MAX; n_voxels])
        } else {
            SlotIndex::Sparse(HashMap::new())
        };
        Self {
            slot,
            voxels: Vec::new(),
        }
    }

    /// The slot of voxel `v` and whether it is new.
    fn insert(&mut self, v: usize) -> (usize, bool) {
        let next = self.voxels.len() as u32;
        let s = match &mut self.slot {
            SlotIndex::Dense(slot) => {
                if slot[v] == u32::MAX {
                    slot[v] = next;
                }
                slot[v]
            }
            SlotIndex::Sparse(slot) => *slot.entry(v as u32).or_insert(next),
        };
        let new = s == next;
        if new {
            self.voxels.push(v as u32);
        }
        (s as usize, new)
    }

    /// (voxel, slot) of every visited voxel in increasing voxel order.
    fn sorted(&self) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = (self.voxels.iter().enumerate())
            .map(|(s, &v)| (v as usize, s))
            .collect();
        out.sort_unstable();
        out
    }

    /// Forgets every visit (cost: the number of visited voxels).
    fn clear(&mut self) {
        match &mut self.slot {
            SlotIndex::Dense(slot) => {
                for &v in &self.voxels {
                    slot[v as usize] = u32::MAX;
                }
            }
            SlotIndex::Sparse(slot) => slot.clear(),
        }
        self.voxels.clear();
    }
}

/// Values per slot, `stride` per slot, in pages of [`SlotPages::PAGE`] slots: grows with the
/// visited voxels without copying, and holds at most one page that is not full.
#[derive(Debug, Clone)]
struct SlotPages<T> {
    stride: usize,
    pages: Vec<Vec<T>>,
}

impl<T: Copy + Default> SlotPages<T> {
    /// Slots per page.
    const PAGE: usize = 1 << 14;

    fn new(stride: usize) -> Self {
        Self {
            stride,
            pages: Vec::new(),
        }
    }

    /// The values of slot `s` (zero, `T::default()`, until written), mutable.
    fn at_mut(&mut self, s: usize) -> &mut [T] {
        let (p, i) = (s / Self::PAGE, (s % Self::PAGE) * self.stride);
        while self.pages.len() <= p {
            self.pages
                .push(vec![T::default(); Self::PAGE * self.stride]);
        }
        &mut self.pages[p][i..i + self.stride]
    }

    /// The values of slot `s` (`T::default()` never written).
    fn at(&self, s: usize) -> Option<&[T]> {
        let (p, i) = (s / Self::PAGE, (s % Self::PAGE) * self.stride);
        self.pages.get(p).map(|pg| &pg[i..i + self.stride])
    }
}

/// One walker's decays per (voxel, cohort, component), summed in step order, turned into
/// its [`PathErrors`] per cohort at the end of the walk; reused from walker to walker.
#[derive(Debug, Clone)]
pub(crate) struct PathAccumulator {
    n_components: usize,
    n_cohorts: usize,
    voxels: VoxelSlots,
    /// the voxel and slot of the last visit (a walker often stays in a voxel for some steps)
    last: Option<(usize, usize)>,
    /// decays of component c for cohort j in the voxel of slot s at
    /// `(s * n_cohorts + j) * n_components + c`, and whether any step added to it
    decays: Vec<(f64, bool)>,
    /// [`WalkGrid::dose_sd_per_decay`] of the voxel of slot s, component c, at
    /// `s * n_components + c`: taken at the first visit, while the walk reads that voxel's
    /// doses anyway
    sd: Vec<(f64, f64)>,
}

impl PathAccumulator {
    /// For walks on `grid` whose doses are taken for `n_cohorts` cohorts.
    pub fn new<G: WalkGrid + ?Sized>(grid: &G, n_cohorts: usize) -> Self {
        let d = grid.dims();
        Self {
            n_components: grid.n_components(),
            n_cohorts,
            voxels: VoxelSlots::new(d[0] * d[1] * d[2], false),
            last: None,
            decays: Vec::new(),
            sd: Vec::new(),
        }
    }

    /// The slot of voxel `v` of `grid` on this path, for [`PathAccumulator::add`].
    pub fn visit<G: WalkGrid + ?Sized>(&mut self, grid: &G, v: usize) -> usize {
        if let Some((_, s)) = self.last.filter(|&(u, _)| u == v) {
            return s;
        }
        let (s, new) = self.voxels.insert(v);
        self.last = Some((v, s));
        if new {
            let nc = self.n_components;
            self.decays
                .resize(self.decays.len() + self.n_cohorts * nc, (0.0, false));
            self.sd.resize(self.sd.len() + nc, (0.0, 0.0));
            grid.dose_sd_per_decay_all(v, &mut self.sd[s * nc..]);
        }
        s
    }

    /// `dn` decays of component `c` for cohort `j` while the walker was in the voxel of
    /// `slot`.
    pub fn add(&mut self, slot: usize, j: usize, c: usize, dn: f64) {
        let x = &mut self.decays[(slot * self.n_cohorts + j) * self.n_components + c];
        x.0 += dn;
        x.1 = true;
    }

    /// The error weights of the path added since the last call per cohort (components in
    /// increasing order within a voxel); clears the path.
    pub fn finish(&mut self) -> Vec<PathErrors> {
        let (nc, nj) = (self.n_components, self.n_cohorts);
        let order = self.voxels.sorted();
        let mut out: Vec<PathErrors> = vec![Vec::with_capacity(order.len()); nj];
        for (v, s) in order {
            let sd = &self.sd[s * nc..(s + 1) * nc];
            for (j, e) in out.iter_mut().enumerate() {
                let at = (s * nj + j) * nc;
                let mut x: Option<[f64; 2]> = None;
                for (&(w, seen), &(sl, sa)) in self.decays[at..at + nc].iter().zip(sd) {
                    if !seen {
                        continue;
                    }
                    match &mut x {
                        Some(x) => {
                            x[0] += w * sl;
                            x[1] += w * sa;
                        }
                        None => x = Some([w * sl, w * sa]),
                    }
                }
                e.extend(x.map(|x| (v, x)));
            }
        }
        self.voxels.clear();
        self.last = None;
        self.decays.clear();
        self.sd.clear();
        out
    }
}

/// Variances of a path's low-LET and α doses and their covariance \[Gy²\].
pub(crate) fn path_covariance(e: &PathErrors) -> [f64; 3] {
    e.iter().fold([0.0; 3], |a, (_, x)| {
        [a[0] + x[0] * x[0], a[1] + x[1] * x[1], a[2] + x[0] * x[1]]
    })
}

/// The population survival of the models (α coefficient per model \[1/Gy\]: α·RBE for the
/// mean-dose model, κ for the α-hit model) of every cohort, accumulated walker by walker.
#[derive(Debug, Clone)]
pub(crate) struct WalkerSurvival {
    n: f64,
    /// voxels of the walkers' paths; the slot of a voxel indexes `CohortSums::b`
    voxels: VoxelSlots,
    /// per cohort
    cohorts: Vec<CohortSums>,
}

/// One cohort's sums over the walkers.
#[derive(Debug, Clone)]
struct CohortSums {
    models: Vec<ModelSums>,
    /// whether a walker of this cohort has path errors in the voxel of a slot
    seen: SlotPages<bool>,
    /// per-voxel sensitivities of every model by slot; summed in voxel order in `estimates`
    b: SlotPages<f64>,
}

/// One model's sums over the walkers of a cohort.
#[derive(Debug, Clone)]
struct ModelSums {
    a_alpha: f64,
    corrected: f64,
    naive: f64,
}

impl WalkerSurvival {
    /// For `n` walkers per cohort of `n_cohorts` on `grid`, one model per α coefficient of
    /// `a_alpha`.
    pub fn new<G: WalkGrid + ?Sized>(
        grid: &G,
        a_alpha: &[f64],
        n: usize,
        n_cohorts: usize,
    ) -> Self {
        let d = grid.dims();
        let models: Vec<ModelSums> = a_alpha
            .iter()
            .map(|&a_alpha| ModelSums {
                a_alpha,
                corrected: 0.0,
                naive: 0.0,
            })
            .collect();
        Self {
            n: n as f64,
            voxels: VoxelSlots::new(d[0] * d[1] * d[2], true),
            cohorts: vec![
                CohortSums {
                    b: SlotPages::new(models.len()),
                    models,
                    seen: SlotPages::new(1),
                };
                n_cohorts
            ],
        }
    }

    /// Adds a walker of cohort `j` with low-LET dose `d_l`, G factor `g`, α dose `d_a`
    /// \[Gy\], path errors `e` and their [`path_covariance`] `cov`.
    pub fn add(
        &mut self,
        j: usize,
        (d_l, g, d_a): (f64, f64, f64),
        e: &PathErrors,
        cov: [f64; 3],
        lq: &LqParameters,
    ) {
        let cohort = &mut self.cohorts[j];
        let two_beta_g = 2.0 * lq.alpha_per_gy / lq.alpha_beta_gy * g;
        let [vl, va, cv] = cov;
        // per model: S and the dose derivatives of ln S
        let terms: Vec<(f64, f64, f64)> = (cohort.models.iter_mut())
            .map(|m| {
                let s =
                    (-m.a_alpha * d_a - lq.alpha_per_gy * d_l - 0.5 * two_beta_g * d_l * d_l).exp();
                let (k_l, k_a) = (lq.alpha_per_gy + two_beta_g * d_l, m.a_alpha);
                let trace = (k_l * k_l - two_beta_g) * vl + k_a * k_a * va + 2.0 * k_l * k_a * cv;
                m.corrected += (s - 0.5 * s * trace) / self.n;
                m.naive += s / self.n;
                (s, k_l, k_a)
            })
            .collect();
        for &(v, x) in e {
            let slot = self.voxels.insert(v).0;
            cohort.seen.at_mut(slot)[0] = true;
            for (b, &(s, k_l, k_a)) in cohort.b.at_mut(slot).iter_mut().zip(&terms) {
                *b -= s * (k_l * x[0] + k_a * x[1]) / self.n;
            }
        }
    }

    /// The estimates of every cohort and model: corrected mean (at least 0), uncorrected
    /// mean, delta-method σ.
    pub fn estimates(&self) -> Vec<Vec<SurvivalEstimate>> {
        let order = self.voxels.sorted();
        self.cohorts
            .iter()
            .map(|c| {
                let seen = |&&(_, s): &&(usize, usize)| c.seen.at(s).is_some_and(|x| x[0]);
                (c.models.iter().enumerate())
                    .map(|(mi, m)| {
                        let sd = (order.iter().filter(seen))
                            .map(|&(_, s)| c.b.at(s).map_or(0.0, |b| b[mi] * b[mi]))
                            .sum::<f64>()
                            .sqrt();
                        SurvivalEstimate::with_sd(m.corrected.max(0.0), m.naive, sd)
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use xfire_core::rng::{Rng, STREAM_KINETICS};

    use super::*;

    /// 6×5×4 voxels, 3 components, σ per decay a fixed irregular function of (voxel,
    /// component) (0 for some pairs).
    struct Grid;
    impl WalkGrid for Grid {
        fn dims(&self) -> [usize; 3] {
            [6, 5, 4]
        }
        fn voxel_size_cm(&self) -> [f64; 3] {
            [1e-4; 3]
        }
        fn allowed(&self, _: usize) -> bool {
            true
        }
        fn entry_voxels(&self) -> &[usize] {
            &[0]
        }
        fn n_components(&self) -> usize {
            3
        }
        fn dose_per_decay(&self, v: usize, c: usize) -> (f64, f64) {
            (1e-12 * (1 + v % 7) as f64, 1e-11 * ((v + c) % 3) as f64)
        }
        fn dose_sd_per_decay(&self, v: usize, c: usize) -> (f64, f64) {
            let (l, a) = self.dose_per_decay(v, c);
            (l * (0.1 + 0.37 * c as f64).sqrt(), a / 3.0)
        }
    }

    /// The definition: a path's visits sorted by (voxel, component), decays of one pair
    /// summed in step order, components added in order; sensitivities in an ordered map.
    fn reference_path(visits: &[(usize, usize, f64)]) -> PathErrors {
        let mut sorted = visits.to_vec();
        sorted.sort_by_key(|x| (x.1, x.0));
        let mut out: PathErrors = Vec::new();
        let mut i = 0;
        while i < sorted.len() {
            let (c, v) = (sorted[i].0, sorted[i].1);
            let mut w = 0.0;
            while i < sorted.len() && (sorted[i].0, sorted[i].1) == (c, v) {
                w += sorted[i].2;
                i += 1;
            }
            let (sl, sa) = Grid.dose_sd_per_decay(v, c);
            match out.last_mut() {
                Some((u, x)) if *u == v => {
                    x[0] += w * sl;
                    x[1] += w * sa;
                }
                _ => out.push((v, [w * sl, w * sa])),
            }
        }
        out
    }

    /// The reference sums of one walker: adds its survival terms to `sums` (corrected,
    /// naive) and its sensitivities to the ordered maps `b`, per model of `a`.
    fn reference_add(
        a: &[f64; 2],
        n: f64,
        (d_l, g, d_a): (f64, f64, f64),
        e: &PathErrors,
        sums: &mut [(f64, f64); 2],
        b: &mut [BTreeMap<usize, f64>; 2],
    ) {
        let lq = LqParameters::lymphocyte();
        let two_beta_g = 2.0 * lq.alpha_per_gy / lq.alpha_beta_gy * g;
        let [vl, va, cv] = path_covariance(e);
        for m in 0..2 {
            let s = (-a[m] * d_a - lq.alpha_per_gy * d_l - 0.5 * two_beta_g * d_l * d_l).exp();
            let (k_l, k_a) = (lq.alpha_per_gy + two_beta_g * d_l, a[m]);
            let trace = (k_l * k_l - two_beta_g) * vl + k_a * k_a * va + 2.0 * k_l * k_a * cv;
            sums[m].0 += (s - 0.5 * s * trace) / n;
            sums[m].1 += s / n;
            for &(v, x) in e {
                *b[m].entry(v).or_insert(0.0) -= s * (k_l * x[0] + k_a * x[1]) / n;
            }
        }
    }

    /// Dense and sparse slot indices hand out the same slots and forget them alike, and
    /// paged values keep what is written across page boundaries.
    #[test]
    fn slots_and_pages() {
        let page = SlotPages::<f64>::PAGE;
        let n = 3 * page;
        let (mut dense, mut sparse) = (VoxelSlots::new(n, true), VoxelSlots::new(n, false));
        let mut pages = SlotPages::<f64>::new(2);
        let mut want: Vec<[f64; 2]> = Vec::new();
        let mut rng = Rng::for_stream(9, 0, STREAM_KINETICS);
        for k in 0..2 * page {
            let v = (rng.uniform() * n as f64) as usize;
            let (s, new) = dense.insert(v);
            assert_eq!(sparse.insert(v), (s, new));
            assert_eq!(new, s == want.len());
            want.resize(want.len().max(s + 1), [0.0; 2]);
            want[s][k % 2] += v as f64;
            pages.at_mut(s)[k % 2] += v as f64;
        }
        assert!(want.len() > page, "more than one page");
        assert_eq!(dense.sorted(), sparse.sorted());
        for (s, w) in want.iter().enumerate() {
            assert_eq!(pages.at(s).expect("written"), w.as_slice());
        }
        assert!(pages.at(3 * page).is_none());
        dense.clear();
        sparse.clear();
        assert_eq!(dense.insert(7), (0, true));
        assert_eq!(sparse.insert(7), (0, true));
    }

    /// The accumulators give the bytes of the definition (sorted visits, ordered
    /// map) for random multi-component paths with revisits, for two cohorts on the same
    /// path (the second without component 1 and with other decays), and reuse leaves no
    /// trace from one walker to the next.
    #[test]
    fn accumulators_match_the_sorted_definition_bit_for_bit() {
        let lq = LqParameters::lymphocyte();
        let a = [lq.alpha_per_gy * lq.rbe_alpha, 0.7];
        let walkers = 25;
        let mut acc = PathAccumulator::new(&Grid, 2);
        let mut fast = WalkerSurvival::new(&Grid, &a, walkers, 2);
        let mut rng = Rng::for_stream(5, 0, STREAM_KINETICS);
        let mut sums = [[(0.0, 0.0); 2]; 2];
        let mut b: [[BTreeMap<usize, f64>; 2]; 2] = Default::default();
        for w in 0..walkers {
            // a local walk: voxels near a moving centre, so voxels recur within a path
            let mut visits = [Vec::new(), Vec::new()];
            let mut at = (w * 7) % 120;
            for _ in 0..200 {
                at = (at + (rng.uniform() * 5.0) as usize + 118) % 120;
                let s = acc.visit(&Grid, at);
                for c in 0..3 {
                    if rng.uniform() < 0.6 {
                        let dn = rng.uniform() * 1e3;
                        visits[0].push((c, at, dn));
                        acc.add(s, 0, c, dn);
                        if c != 1 {
                            visits[1].push((c, at, 0.37 * dn));
                            acc.add(s, 1, c, 0.37 * dn);
                        }
                    }
                }
            }
            let e = acc.finish();
            for j in 0..2 {
                let want = reference_path(&visits[j]);
                assert_eq!(e[j].len(), want.len());
                for (x, y) in e[j].iter().zip(&want) {
                    assert_eq!(x.0, y.0);
                    let bits = |x: [f64; 2]| x.map(f64::to_bits);
                    assert_eq!(bits(x.1), bits(y.1), "voxel {}", x.0);
                }
                let dose = (
                    2.0 + rng.uniform(),
                    0.8 + 0.2 * rng.uniform(),
                    rng.uniform(),
                );
                fast.add(j, dose, &e[j], path_covariance(&e[j]), &lq);
                reference_add(&a, walkers as f64, dose, &e[j], &mut sums[j], &mut b[j]);
            }
        }
        let est = fast.estimates();
        assert_eq!(est.len(), 2);
        for j in 0..2 {
            for m in 0..2 {
                let sd = b[j][m].values().map(|x| x * x).sum::<f64>().sqrt();
                let want = SurvivalEstimate::with_sd(sums[j][m].0.max(0.0), sums[j][m].1, sd);
                let got = est[j][m];
                assert_eq!(got.value.to_bits(), want.value.to_bits());
                assert_eq!(got.naive.to_bits(), want.naive.to_bits());
                assert_eq!(got.sd.to_bits(), want.sd.to_bits());
                assert!(got.sd > 0.0 && got.value > 0.0, "{got:?}");
            }
        }
    }
}
