//! Per-cell Monte Carlo uncertainty (batch method) and the geometric classes of cells, the
//! inputs of the noise-corrected survival of `xfire_kinetics::noise` (`docs/kinetics.md`).
//!
//! The per-cell sums and sums² over batches are those of the "cell" region map of the exact
//! (fixed-point) tally, so the uncertainties have the same bytes for any thread count,
//! shard split or resume. A cell's standard uncertainty over all time adds the components'
//! linearly, σ = Σ_c N_c d_c u_c (N_c the decays of component c over all time, d_c its dose
//! per decay at the cell, u_c the relative uncertainty of d_c): every component part is
//! transported with the scenario's seed, so history h of every chain member starts from the
//! same random numbers — the same decay position — and their per-cell errors are positively
//! correlated; the linear sum is the fully correlated bound (the quadrature sum would
//! understate the noise of α-emitter chains several-fold). Absorbed dose = low-LET + α, also
//! added linearly.

use xfire_kinetics::noise::{CellNoise, ComponentNoise};
use xfire_kinetics::walk::WalkGrid;
use xfire_phantom::Phantom;
use xfire_tally::TallyResult;

use crate::transport::{ComponentTransport, Part};

/// Index of the "cell" region map in the tally layout.
pub(crate) const CELL_MAP: usize = 1;

/// Dose over all time and its Monte Carlo standard uncertainty per cell region, per part.
#[derive(Debug, Clone)]
pub(crate) struct CellUncertainty {
    /// `dose[part][region]` \[Gy\] (part 0 low-LET, 1 α).
    pub dose: [Vec<f64>; 2],
    /// `sd[part][region]` \[Gy\].
    pub sd: [Vec<f64>; 2],
}

impl CellUncertainty {
    /// From the transports, the cell dose per decay `cf[part][component][region]` \[Gy\] and the
    /// decays of each component over all time.
    pub fn new(tr: &[ComponentTransport], cf: &[Vec<Vec<f64>>; 2], totals: &[f64]) -> Self {
        let n = cf[0].first().map_or(0, Vec::len);
        let mut dose = [vec![0.0; n], vec![0.0; n]];
        let mut sd = [vec![0.0; n], vec![0.0; n]];
        for (ci, t) in tr.iter().enumerate() {
            for (pi, part) in [Part::LowLet, Part::Alpha].into_iter().enumerate() {
                let Some(x) = t.part(part) else { continue };
                for r in 0..n {
                    let d = cf[pi][ci][r] * totals[ci];
                    let u = x.region_rel_unc(CELL_MAP, r);
                    dose[pi][r] += d;
                    if u.is_finite() {
                        sd[pi][r] += d * u;
                    }
                }
            }
        }
        Self { dose, sd }
    }

    /// Standard uncertainty of the absorbed dose (low-LET + α) of region `r` \[Gy\]
    /// (correlated parts: linear sum).
    pub fn total_sd(&self, r: usize) -> f64 {
        self.sd[0][r] + self.sd[1][r]
    }

    /// Relative uncertainty of the absorbed dose of region `r` \[1\] (1 without dose).
    pub fn total_rel(&self, r: usize) -> f64 {
        let d = self.dose[0][r] + self.dose[1][r];
        if d > 0.0 {
            self.total_sd(r) / d
        } else {
            1.0
        }
    }

    /// The noise input of the cells `idx` (cell ids = region indices) with classes `class`.
    pub fn noise_of(&self, idx: &[usize], class: Vec<u32>) -> CellNoise {
        let rel = |p: usize| -> Vec<f64> {
            idx.iter()
                .map(|&r| {
                    if self.dose[p][r] > 0.0 {
                        self.sd[p][r] / self.dose[p][r]
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        CellNoise {
            rel_low_let: rel(0),
            rel_alpha: rel(1),
            class,
        }
    }

    /// 95th percentile of the relative uncertainty of the absorbed dose over the cells `idx`.
    pub fn rel_p95(&self, idx: &[usize]) -> Option<f64> {
        percentile_95(idx.iter().map(|&r| self.total_rel(r)).collect())
    }
}

/// 95th percentile of `v` (linear interpolation between order statistics; NaN sorts last);
/// None when `v` is empty.
pub(crate) fn percentile_95(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * 0.95;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(v[lo] + (h - lo as f64) * (v[hi] - v[lo]))
}

/// Per-component relative uncertainties of the cells `idx` (cell ids = region indices) with
/// classes `class`, for the dose over any interval (`ComponentNoise::over`: cohorts and the
/// window get the noise of their own mix of components).
pub(crate) fn component_noise(
    tr: &[ComponentTransport],
    idx: &[usize],
    class: Vec<u32>,
) -> ComponentNoise {
    let rel = |part: Part| -> Vec<Vec<f64>> {
        tr.iter()
            .map(|t| match t.part(part) {
                Some(x) => idx.iter().map(|&r| x.region_rel_unc(CELL_MAP, r)).collect(),
                None => vec![0.0; idx.len()],
            })
            .collect()
    };
    ComponentNoise {
        rel_low_let: rel(Part::LowLet),
        rel_alpha: rel(Part::Alpha),
        class,
    }
}

/// Number of radial shells of the geometric classes.
const SHELLS: usize = 4;

/// Geometric classes of the cells `idx` (ids): labelled or not × radial shell (quartiles of
/// the distance of the cell centre to the centroid of all tumour cells), so that cells that
/// share a prior see similar geometry (rim or core, self-dose or not).
pub(crate) fn geometric_classes(ph: &Phantom, idx: &[usize], labelled: &[bool]) -> Vec<u32> {
    let cells = &ph.cells.cells;
    let tumour: Vec<&xfire_phantom::Cell> = cells
        .iter()
        .filter(|c| c.kind == xfire_phantom::CellKind::TUMOUR)
        .collect();
    let pool: Vec<&xfire_phantom::Cell> = if tumour.is_empty() {
        idx.iter().map(|&i| &cells[i - 1]).collect()
    } else {
        tumour
    };
    let mut centre = [0.0; 3];
    for c in &pool {
        for (x, p) in centre.iter_mut().zip(c.centre_cm) {
            *x += p / pool.len().max(1) as f64;
        }
    }
    let dist: Vec<f64> = idx
        .iter()
        .map(|&i| {
            let p = cells[i - 1].centre_cm;
            ((p[0] - centre[0]).powi(2) + (p[1] - centre[1]).powi(2) + (p[2] - centre[2]).powi(2))
                .sqrt()
        })
        .collect();
    let mut order: Vec<usize> = (0..idx.len()).collect();
    order.sort_by(|&a, &b| dist[a].total_cmp(&dist[b]).then(a.cmp(&b)));
    let shells = SHELLS.min((idx.len() / 50).max(1));
    let mut class = vec![0u32; idx.len()];
    for (rank, &j) in order.iter().enumerate() {
        let shell = (rank * shells / idx.len().max(1)) as u32;
        class[j] = 2 * shell + u32::from(labelled[idx[j]]);
    }
    class
}

/// The single-hit spectrum of target class `class` (0 tumour cells, 1 lymphocytes) in the α
/// part of one component: the histogram's bin centres, scaled so that its mean is the exact
/// Σz/N of the tally. None without events.
fn hit_spectrum(
    t: &ComponentTransport,
    class: usize,
) -> Option<xfire_kinetics::hits::SingleHitSpectrum> {
    let e = t.part(Part::Alpha)?.events.get(class)?;
    let n = e.events();
    if n == 0 {
        return None;
    }
    let centres: Vec<f64> = (0..e.counts.len())
        .map(xfire_tally::events::event_bin_centre_gy)
        .collect();
    let w: Vec<f64> = e.counts.iter().map(|&c| c as f64).collect();
    let binned = centres.iter().zip(&w).map(|(z, w)| z * w).sum::<f64>();
    let scale = if binned > 0.0 { e.sum_z / binned } else { 1.0 };
    xfire_kinetics::hits::SingleHitSpectrum::new(
        centres.into_iter().map(|z| z * scale).collect(),
        w,
    )
    .ok()
}

/// α-hit coefficient κ \[1/Gy\] of target class `class` (0 tumour cells, 1 lymphocytes):
/// the components' κ weighted by their share of the group's α dose over all time
/// (`alpha_gy_per_decay[c]` × `totals[c]`). None when no component delivers α dose.
pub(crate) fn alpha_hit_coefficient(
    tr: &[ComponentTransport],
    alpha_gy_per_decay: &[f64],
    totals: &[f64],
    class: usize,
    alpha_alpha_per_gy: f64,
) -> Option<f64> {
    let spectra: Vec<_> = tr.iter().map(|t| hit_spectrum(t, class)).collect();
    if spectra.iter().all(Option::is_none) {
        return None;
    }
    let parts: Vec<(f64, Option<&xfire_kinetics::hits::SingleHitSpectrum>)> = spectra
        .iter()
        .enumerate()
        .map(|(c, s)| (alpha_gy_per_decay[c] * totals[c], s.as_ref()))
        .collect();
    xfire_kinetics::hits::mixed_coefficient(&parts, alpha_alpha_per_gy)
}

/// Frequency-mean single-hit specific energy z̄_F \[Gy\] of class `class` per component with
/// α events (nuclide, z̄_F, events), for the notes.
pub(crate) fn hit_summary(tr: &[ComponentTransport], class: usize) -> Vec<(String, f64, f64)> {
    tr.iter()
        .filter_map(|t| {
            hit_spectrum(t, class).map(|s| (t.nuclide.clone(), s.frequency_mean_gy(), s.events()))
        })
        .collect()
}

/// The migrating lymphocytes' walk grid `G` with the Monte Carlo uncertainty of every
/// voxel's dose per decay, from the label tallies (the transport keeps no per-voxel sums of
/// squares): each voxel carries the share of its label's exact variance proportional to its
/// mean energy, σ_v² = Var(Ē_L)·Ē_v/Ē_L (compound Poisson: variance ∝ expected energy),
/// i.e. σ of the dose per decay σ_v = u_L·√(Ē_L·d_v·g_v) (d_v the voxel's dose per decay,
/// g_v its Gy per MeV, u_L the label's relative uncertainty), per component part. Taken as
/// independent between voxels, this makes a path's variance exact for weights spread
/// evenly over a label and carries the correlation between neighbouring voxels (one track
/// deposits in many of them) in the label's exact variance (`docs/kinetics.md` §9).
pub(crate) struct NoisyWalkGrid<'a, G> {
    grid: G,
    phantom: &'a Phantom,
    /// u_L·√Ē_L per component, (low LET, α), label \[√MeV\].
    factor: Vec<[Vec<f64>; 2]>,
}

impl<'a, G: WalkGrid> NoisyWalkGrid<'a, G> {
    /// `grid` on `phantom` with the uncertainties of `tr` (components in the grid's order).
    pub fn new(grid: G, tr: &[ComponentTransport], phantom: &'a Phantom) -> Self {
        let of = |t: &TallyResult| -> Vec<f64> {
            let n = t.regions.first().map_or(0, |r| r.sum.len());
            (0..n)
                .map(|l| {
                    let (m, u) = (t.region_mean_mev(0, l), t.region_rel_unc(0, l));
                    if m > 0.0 && u.is_finite() {
                        u * m.sqrt()
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        let factor = tr
            .iter()
            .map(|t| [Part::LowLet, Part::Alpha].map(|p| t.part(p).map_or(Vec::new(), of)))
            .collect();
        Self {
            grid,
            phantom,
            factor,
        }
    }

    /// Label of voxel `v` and its Gy per MeV (0 without mass).
    fn label_and_gy_per_mev(&self, v: usize) -> (usize, f64) {
        let m = self.phantom.voxel_mass_g(v);
        let g = if m > 0.0 {
            xfire_tally::dose_gy(1.0, m)
        } else {
            0.0
        };
        (self.phantom.label[v] as usize, g)
    }

    /// σ of the dose per decay of component `c` in voxel `v` of label `label` with `g` Gy
    /// per MeV, (low LET, α).
    fn sd_of(&self, v: usize, c: usize, label: usize, g: f64) -> (f64, f64) {
        let (l, a) = self.grid.dose_per_decay(v, c);
        let sd = |pi: usize, d: f64| -> f64 {
            let f = self.factor[c][pi].get(label).copied().unwrap_or(0.0);
            f * (d * g).max(0.0).sqrt()
        };
        (sd(0, l), sd(1, a))
    }
}

impl<G: WalkGrid> WalkGrid for NoisyWalkGrid<'_, G> {
    fn dims(&self) -> [usize; 3] {
        self.grid.dims()
    }
    fn voxel_size_cm(&self) -> [f64; 3] {
        self.grid.voxel_size_cm()
    }
    fn allowed(&self, v: usize) -> bool {
        self.grid.allowed(v)
    }
    fn entry_voxels(&self) -> &[usize] {
        self.grid.entry_voxels()
    }
    fn n_components(&self) -> usize {
        self.grid.n_components()
    }
    fn dose_per_decay(&self, v: usize, c: usize) -> (f64, f64) {
        self.grid.dose_per_decay(v, c)
    }
    fn dose_sd_per_decay(&self, v: usize, c: usize) -> (f64, f64) {
        let (label, g) = self.label_and_gy_per_mev(v);
        self.sd_of(v, c, label, g)
    }
    fn dose_sd_per_decay_all(&self, v: usize, out: &mut [(f64, f64)]) {
        let (label, g) = self.label_and_gy_per_mev(v);
        for (c, x) in out.iter_mut().enumerate() {
            *x = self.sd_of(v, c, label, g);
        }
    }
}
