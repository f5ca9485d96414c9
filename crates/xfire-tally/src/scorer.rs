//! The [`Scorer`] trait and the standard per-worker batch scorer.

use crate::events::{EventLayout, EventScorer, EventSpectrum};
use crate::{Result, TallyError};

/// Receives the events of the transport's hot loop. Energies in MeV, voxels as flat indices.
///
/// Calls come in history order: `begin_history`, then any number of deposits and escapes,
/// then `end_history`. Implementations must not allocate per call in steady state.
pub trait Scorer {
    /// A decay starts in voxel `site`; `emitted_mev` is the total energy of all its emissions
    /// [MeV]. (A scorer that tells energy from a decay's own cell from cross-fire looks up the
    /// site's cell: [`SelfCellLayout`].)
    fn begin_history(&mut self, emitted_mev: f64, site: usize);
    /// Energy lost by a charged particle along its track inside `voxel` [MeV].
    fn deposit(&mut self, voxel: usize, e_mev: f64);
    /// Residual energy of a particle whose tracking stopped at the cutoff, or a particle
    /// deposited on the spot (recoil nucleus), in `voxel` [MeV]. Counted as deposited and
    /// also in the below-cutoff sum when `below_cutoff` is true.
    fn deposit_local(&mut self, voxel: usize, e_mev: f64, below_cutoff: bool);
    /// Energy carried out of the grid by a charged particle [MeV].
    fn escape(&mut self, e_mev: f64);
    /// Energy of a photon leaving the grid (or not transported), counted as escaping [MeV].
    fn photon_escape(&mut self, e_mev: f64);
    /// The decay is finished.
    fn end_history(&mut self);
    /// The statistical weight of what is scored next: 1 at the start of every history.
    fn weight(&self) -> f64 {
        1.0
    }
    /// Sets the weight of what is scored next (photon splitting, `xfire_transport`'s
    /// `PhotonSplit`): every energy then received — deposits, escapes, the below-cutoff share
    /// — counts `w` times. Returns whether the scorer takes weights; the default takes none
    /// (returns false and ignores `w`), and the transport then stays analogue.
    fn set_weight(&mut self, w: f64) -> bool {
        let _ = w;
        false
    }
}

/// The region of every voxel, stored in the narrowest width the region count needs: no
/// array at all when there is one region (a phantom without cells, a one-label kernel),
/// `u8` up to 256 regions, `u16` up to 65 536, else `u32`.
#[derive(Debug, Clone, PartialEq)]
pub enum RegionIndex {
    /// Every one of `n` voxels is in region 0.
    Zero(usize),
    /// One byte per voxel.
    U8(Vec<u8>),
    /// Two bytes per voxel.
    U16(Vec<u16>),
    /// Four bytes per voxel.
    U32(Vec<u32>),
}

impl RegionIndex {
    /// `n` voxels, the region of voxel `v` being `region(v)` (< `n_regions`, not checked
    /// here), in the width `n_regions` needs.
    pub fn from_fn(n: usize, n_regions: usize, region: impl Fn(usize) -> u32) -> Self {
        if n_regions <= 1 {
            RegionIndex::Zero(n)
        } else if n_regions <= 1 << 8 {
            RegionIndex::U8((0..n).map(|v| region(v) as u8).collect())
        } else if n_regions <= 1 << 16 {
            RegionIndex::U16((0..n).map(|v| region(v) as u16).collect())
        } else {
            RegionIndex::U32((0..n).map(region).collect())
        }
    }

    /// Region of voxel `v`.
    #[inline]
    pub fn get(&self, v: usize) -> u32 {
        match self {
            RegionIndex::Zero(n) => {
                assert!(v < *n, "voxel {v} out of {n}");
                0
            }
            RegionIndex::U8(r) => u32::from(r[v]),
            RegionIndex::U16(r) => u32::from(r[v]),
            RegionIndex::U32(r) => r[v],
        }
    }

    /// Number of voxels.
    pub fn len(&self) -> usize {
        match self {
            RegionIndex::Zero(n) => *n,
            RegionIndex::U8(r) => r.len(),
            RegionIndex::U16(r) => r.len(),
            RegionIndex::U32(r) => r.len(),
        }
    }

    /// No voxels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The regions of the voxels in voxel order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len()).map(|v| self.get(v))
    }

    /// Bytes held per voxel (0, 1, 2 or 4).
    pub fn bytes_per_voxel(&self) -> usize {
        match self {
            RegionIndex::Zero(_) => 0,
            RegionIndex::U8(_) => 1,
            RegionIndex::U16(_) => 2,
            RegionIndex::U32(_) => 4,
        }
    }
}

/// A voxel → region map: `of_voxel.get(v)` is the region of voxel `v`, in `0..n_regions`.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionMap {
    /// Name ("label", "cell", "symmetry", …).
    pub name: String,
    /// Region index per voxel (as narrow as `n_regions` allows).
    pub of_voxel: RegionIndex,
    /// Number of regions.
    pub n_regions: usize,
}

impl RegionMap {
    /// A checked map: every region index below `n_regions`.
    pub fn new(name: &str, of_voxel: Vec<u32>, n_regions: usize) -> Result<Self> {
        if n_regions <= 1 << 16 {
            return Self::from_fn(name, of_voxel.len(), n_regions, |v| of_voxel[v]);
        }
        check_regions(name, of_voxel.iter().copied(), n_regions)?;
        Ok(Self {
            name: name.to_string(),
            of_voxel: RegionIndex::U32(of_voxel),
            n_regions,
        })
    }

    /// A checked map of `n` voxels, the region of voxel `v` being `region(v)` (stored as
    /// narrow as `n_regions` allows, with no wider copy on the way).
    pub fn from_fn(
        name: &str,
        n: usize,
        n_regions: usize,
        region: impl Fn(usize) -> u32,
    ) -> Result<Self> {
        check_regions(name, (0..n).map(&region), n_regions)?;
        Ok(Self {
            name: name.to_string(),
            of_voxel: RegionIndex::from_fn(n, n_regions, region),
            n_regions,
        })
    }
}

/// Every region of `regions` (in voxel order) is below `n_regions`.
fn check_regions(name: &str, regions: impl Iterator<Item = u32>, n_regions: usize) -> Result<()> {
    match regions.enumerate().find(|&(_, r)| r as usize >= n_regions) {
        Some((v, r)) => Err(TallyError::Layout(format!(
            "region map {name:?}: voxel {v} has region {r}, but there are {n_regions} regions"
        ))),
        None => Ok(()),
    }
}

/// Which per-voxel tallies a layout keeps (region tallies are always kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VoxelTally {
    /// None: only region maps and the energy balance (what most questions need).
    None,
    /// The sum over batches of the energy per voxel (means, maps), no sums of squares.
    Sum,
    /// Sums and batch sums of squares per voxel (means and their uncertainties: kernels).
    #[default]
    SumAndSquares,
}

impl VoxelTally {
    /// Number of per-voxel arrays kept (0, 1 or 2).
    pub fn arrays(self) -> usize {
        match self {
            VoxelTally::None => 0,
            VoxelTally::Sum => 1,
            VoxelTally::SumAndSquares => 2,
        }
    }
}

/// What is tallied: the number of voxels, which per-voxel tallies and the region maps.
#[derive(Debug, Clone, PartialEq)]
pub struct TallyLayout {
    /// Number of voxels of the grid.
    pub n_voxels: usize,
    /// Per-voxel tallies kept ([`TallyLayout::new`]: sums and sums of squares).
    pub voxels: VoxelTally,
    /// Region maps, each with one entry per voxel.
    pub regions: Vec<RegionMap>,
    /// Targets of the single-event spectra ([`crate::events`]), if tallied.
    pub events: Option<EventLayout>,
    /// Energy from decays in their own cell, if tallied ([`SelfCellLayout`]).
    pub self_cell: Option<SelfCellLayout>,
}

/// The self-cell tally of a layout: per region of region map `by_map`, the energy deposited
/// in the cell the decay happened in. A voxel's cell is its region in map `cell_map`, cells
/// being regions `1..=n_cells` (region 0 and any region above `n_cells` are outside cells:
/// decays there have no own cell). Scored in the same pass as everything else, so self-cell
/// and total energies come from the same histories (their covariance is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelfCellLayout {
    /// Region map giving each voxel's cell.
    pub cell_map: usize,
    /// Number of cells (regions `1..=n_cells` of `cell_map`).
    pub n_cells: u32,
    /// Region map the self-cell energy is summed by (e.g. cell kinds).
    pub by_map: usize,
}

impl TallyLayout {
    /// A layout; every region map must have `n_voxels` entries and the voxel count must fit
    /// in `u32`.
    pub fn new(n_voxels: usize, regions: Vec<RegionMap>) -> Result<Self> {
        if n_voxels as u64 >= u32::MAX as u64 {
            return Err(TallyError::Layout(format!(
                "{n_voxels} voxels: at most {} can be tallied",
                u32::MAX - 1
            )));
        }
        for r in &regions {
            if r.of_voxel.len() != n_voxels {
                return Err(TallyError::Layout(format!(
                    "region map {:?} has {} entries for {n_voxels} voxels",
                    r.name,
                    r.of_voxel.len()
                )));
            }
        }
        Ok(Self {
            n_voxels,
            voxels: VoxelTally::SumAndSquares,
            regions,
            events: None,
            self_cell: None,
        })
    }

    /// The layout with the self-cell tally `s` (both region maps must exist).
    pub fn with_self_cell(mut self, s: SelfCellLayout) -> Result<Self> {
        let n = self.regions.len();
        match self.regions.get(s.cell_map) {
            Some(m) if s.by_map < n && (s.n_cells as usize) < m.n_regions.max(1) => {
                self.self_cell = Some(s);
                Ok(self)
            }
            _ => Err(TallyError::Layout(format!(
                "self-cell tally: region maps {} (cells 1..={}) and {} do not exist in a layout \
                 of {n} maps",
                s.cell_map, s.n_cells, s.by_map
            ))),
        }
    }

    /// The layout keeping only the per-voxel tallies `voxels`.
    pub fn with_voxels(mut self, voxels: VoxelTally) -> Self {
        self.voxels = voxels;
        self
    }

    /// The layout with single-event spectra on the regions of `events.map`.
    pub fn with_events(mut self, events: EventLayout) -> Result<Self> {
        match self.regions.get(events.map) {
            Some(m) if m.n_regions == events.class_of_region.len() => {
                self.events = Some(events);
                Ok(self)
            }
            _ => Err(TallyError::Layout(format!(
                "event layout: region map {} with {} regions does not exist",
                events.map,
                events.class_of_region.len()
            ))),
        }
    }

    /// Index of the region map called `name`.
    pub fn region_index(&self, name: &str) -> Option<usize> {
        self.regions.iter().position(|r| r.name == name)
    }
}

/// One finished batch as sparse plain data.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchTally {
    /// Histories (decays) in the batch.
    pub histories: u64,
    /// (voxel, energy [MeV]) for every voxel that received energy, sorted by voxel (empty
    /// when the layout keeps no per-voxel tally).
    pub voxels: Vec<(u32, f64)>,
    /// Per region map, (region, energy [MeV]) for every region that received energy,
    /// sorted by region.
    pub regions: Vec<Vec<(u32, f64)>>,
    /// Energy emitted [MeV].
    pub emitted_mev: f64,
    /// Energy deposited in the grid (including local deposits) [MeV].
    pub deposited_mev: f64,
    /// Energy carried out of the grid by charged particles [MeV].
    pub escaped_charged_mev: f64,
    /// Energy of photons leaving the grid [MeV].
    pub escaped_photon_mev: f64,
    /// Energy deposited locally below the tracking cutoff [MeV] (part of `deposited_mev`).
    pub below_cutoff_mev: f64,
    /// Largest |emitted − deposited − escaped| / emitted over the batch's histories.
    pub max_imbalance_rel: f64,
    /// Single-event spectra per target class (empty unless the scorer tallies them).
    pub events: Vec<EventSpectrum>,
    /// Per region of the self-cell map, (region, energy [MeV]) deposited in the cell each
    /// decay happened in, sorted by region (empty without a self-cell tally).
    pub self_cell: Vec<(u32, f64)>,
}

impl BatchTally {
    /// The self-cell energies of the batch with the batch's energy of the same region of map
    /// `by_map`: (region, self, total) in region order.
    pub fn self_cell_pairs(&self, by_map: usize) -> impl Iterator<Item = (usize, f64, f64)> + '_ {
        let totals = self.regions.get(by_map).map_or(&[][..], Vec::as_slice);
        let mut j = 0;
        self.self_cell.iter().map(move |&(r, s)| {
            while j < totals.len() && totals[j].0 < r {
                j += 1;
            }
            let t = totals.get(j).filter(|x| x.0 == r).map_or(0.0, |x| x.1);
            (r as usize, s, t)
        })
    }
}

/// Per-history energy balance being accumulated.
#[derive(Debug, Clone, Copy, Default)]
struct HistoryBalance {
    emitted: f64,
    deposited: f64,
    escaped_charged: f64,
    escaped_photon: f64,
    below_cutoff: f64,
}

/// The standard scorer: one per worker, reused for every batch it runs.
///
/// Holds a dense per-voxel energy array (8 bytes per voxel) and the list of voxels touched
/// in the current batch; per region map a dense per-region array and its touched list. Region
/// energies of a batch are summed from the voxel energies (so they do not depend on whether
/// the layout keeps per-voxel tallies).
#[derive(Debug, Clone)]
pub struct BatchScorer<'a> {
    layout: &'a TallyLayout,
    energy: Vec<f64>,
    touched: Vec<u32>,
    region_energy: Vec<Vec<f64>>,
    region_touched: Vec<Vec<u32>>,
    history: HistoryBalance,
    batch: BatchTally,
    events: Option<(&'a EventLayout, EventScorer)>,
    weight: f64,
    /// Cell of the current decay (0: none, or no self-cell tally).
    site_cell: u32,
    self_energy: Vec<f64>,
    self_touched: Vec<u32>,
}

impl<'a> BatchScorer<'a> {
    /// A scorer for `layout`, empty.
    pub fn new(layout: &'a TallyLayout) -> Self {
        Self {
            layout,
            energy: vec![0.0; layout.n_voxels],
            touched: Vec::new(),
            region_energy: layout
                .regions
                .iter()
                .map(|r| vec![0.0; r.n_regions])
                .collect(),
            region_touched: vec![Vec::new(); layout.regions.len()],
            history: HistoryBalance::default(),
            batch: BatchTally::default(),
            events: None,
            weight: 1.0,
            site_cell: 0,
            self_energy: layout
                .self_cell
                .map_or_else(Vec::new, |s| vec![0.0; layout.regions[s.by_map].n_regions]),
            self_touched: Vec::new(),
        }
    }

    /// As [`BatchScorer::new`], also tallying the single-event spectra of the layout's
    /// event targets (if it has them; [`crate::events`]).
    pub fn with_event_spectra(layout: &'a TallyLayout) -> Self {
        let mut s = Self::new(layout);
        s.events = layout.events.as_ref().map(|l| (l, EventScorer::new(l)));
        s
    }

    /// Ends the current batch: returns it as sparse data and resets the scorer (O(touched)).
    pub fn finish_batch(&mut self) -> BatchTally {
        self.touched.sort_unstable();
        let mut voxels = Vec::with_capacity(self.touched.len());
        for &v in &self.touched {
            let e = std::mem::take(&mut self.energy[v as usize]);
            voxels.push((v, e));
        }
        self.touched.clear();
        let mut regions = Vec::with_capacity(self.layout.regions.len());
        for (m, map) in self.layout.regions.iter().enumerate() {
            let dense = &mut self.region_energy[m];
            let touched = &mut self.region_touched[m];
            regions.push(region_sums(map, &voxels, dense, touched));
        }
        let mut out = std::mem::take(&mut self.batch);
        if self.layout.voxels != VoxelTally::None {
            out.voxels = voxels;
        }
        out.regions = regions;
        if let Some((_, ev)) = &mut self.events {
            out.events = ev.take_batch();
        }
        self.self_touched.sort_unstable();
        out.self_cell = self
            .self_touched
            .drain(..)
            .map(|r| (r, std::mem::take(&mut self.self_energy[r as usize])))
            .collect();
        out
    }

    /// Adds `e` [MeV] to the self-cell tally if `voxel` is in the current decay's cell.
    #[inline]
    fn score_self(&mut self, voxel: usize, e: f64) {
        let Some(s) = self.layout.self_cell else {
            return;
        };
        if self.layout.regions[s.cell_map].of_voxel.get(voxel) == self.site_cell {
            let r = self.layout.regions[s.by_map].of_voxel.get(voxel);
            let slot = &mut self.self_energy[r as usize];
            if *slot == 0.0 {
                self.self_touched.push(r);
            }
            *slot += e;
        }
    }
}

/// The batch's energy per region of `map` from its sorted voxel list (energies > 0), in
/// region order; `dense` and `touched` are scratch, left zeroed and empty. A one-region map
/// (the cell map of a phantom without cells) is summed without its voxel look-ups: the same
/// additions in the same order, so the same bits.
fn region_sums(
    map: &RegionMap,
    voxels: &[(u32, f64)],
    dense: &mut [f64],
    touched: &mut Vec<u32>,
) -> Vec<(u32, f64)> {
    if map.n_regions == 1 {
        return if voxels.is_empty() {
            Vec::new()
        } else {
            vec![(0, voxels.iter().fold(0.0, |acc, &(_, e)| acc + e))]
        };
    }
    for &(v, e) in voxels {
        let r = map.of_voxel.get(v as usize);
        if dense[r as usize] == 0.0 {
            touched.push(r);
        }
        dense[r as usize] += e;
    }
    touched.sort_unstable();
    let list = touched
        .iter()
        .map(|&r| (r, std::mem::take(&mut dense[r as usize])))
        .collect();
    touched.clear();
    list
}

impl Scorer for BatchScorer<'_> {
    #[inline]
    fn begin_history(&mut self, emitted_mev: f64, site: usize) {
        self.history = HistoryBalance {
            emitted: emitted_mev,
            ..HistoryBalance::default()
        };
        self.weight = 1.0;
        self.site_cell = match self.layout.self_cell {
            Some(s) => {
                let c = self.layout.regions[s.cell_map].of_voxel.get(site);
                if c <= s.n_cells {
                    c
                } else {
                    0
                }
            }
            None => 0,
        };
    }

    #[inline]
    fn deposit(&mut self, voxel: usize, e_mev: f64) {
        let e_mev = e_mev * self.weight;
        if e_mev > 0.0 {
            let slot = &mut self.energy[voxel];
            if *slot == 0.0 {
                self.touched.push(voxel as u32);
            }
            *slot += e_mev;
            self.history.deposited += e_mev;
            if let Some((l, ev)) = &mut self.events {
                ev.deposit(l, self.layout.regions[l.map].of_voxel.get(voxel), e_mev);
            }
            if self.site_cell != 0 {
                self.score_self(voxel, e_mev);
            }
        }
    }

    #[inline]
    fn deposit_local(&mut self, voxel: usize, e_mev: f64, below_cutoff: bool) {
        if e_mev > 0.0 {
            self.deposit(voxel, e_mev);
            if below_cutoff {
                self.history.below_cutoff += e_mev * self.weight;
            }
        }
    }

    #[inline]
    fn escape(&mut self, e_mev: f64) {
        self.history.escaped_charged += e_mev * self.weight;
    }

    #[inline]
    fn photon_escape(&mut self, e_mev: f64) {
        self.history.escaped_photon += e_mev * self.weight;
    }

    #[inline]
    fn end_history(&mut self) {
        if let Some((l, ev)) = &mut self.events {
            ev.end_history(l);
        }
        let h = self.history;
        let b = &mut self.batch;
        b.histories += 1;
        b.emitted_mev += h.emitted;
        b.deposited_mev += h.deposited;
        b.escaped_charged_mev += h.escaped_charged;
        b.escaped_photon_mev += h.escaped_photon;
        b.below_cutoff_mev += h.below_cutoff;
        if h.emitted > 0.0 {
            let imbalance =
                (h.emitted - h.deposited - h.escaped_charged - h.escaped_photon).abs() / h.emitted;
            if imbalance > b.max_imbalance_rel {
                b.max_imbalance_rel = imbalance;
            }
        } else if h.deposited + h.escaped_charged + h.escaped_photon > 0.0 {
            b.max_imbalance_rel = f64::INFINITY;
        }
    }

    #[inline]
    fn weight(&self) -> f64 {
        self.weight
    }

    #[inline]
    fn set_weight(&mut self, w: f64) -> bool {
        self.weight = w;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> TallyLayout {
        TallyLayout::new(
            6,
            vec![
                RegionMap::new("label", vec![0, 0, 1, 1, 2, 2], 3).unwrap(),
                RegionMap::new("cell", vec![0, 1, 1, 0, 0, 2], 3).unwrap(),
            ],
        )
        .unwrap()
    }

    #[test]
    fn region_maps_are_as_narrow_as_their_region_count() {
        let widths: Vec<usize> = [1usize, 2, 256, 257, 65_536, 65_537]
            .iter()
            .map(|&n| {
                let m = RegionMap::from_fn("x", 4, n, |v| (v as u32 * 97) % n as u32).unwrap();
                assert_eq!(m.of_voxel.len(), 4);
                for v in 0..4 {
                    assert_eq!(m.of_voxel.get(v), (v as u32 * 97) % n as u32);
                }
                m.of_voxel.bytes_per_voxel()
            })
            .collect();
        assert_eq!(widths, vec![0, 1, 1, 2, 2, 4]);
        // `new` keeps the regions of a u32 list, in the narrow width
        let m = RegionMap::new("y", vec![0, 300, 2], 301).unwrap();
        assert_eq!(m.of_voxel, RegionIndex::U16(vec![0, 300, 2]));
        assert_eq!(m.of_voxel.iter().collect::<Vec<_>>(), vec![0, 300, 2]);
        let e = RegionMap::from_fn("z", 3, 1, |v| v as u32)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("voxel 1 has region 1, but there are 1 regions"),
            "{e}"
        );
    }

    #[test]
    fn bad_layouts_are_refused() {
        assert!(RegionMap::new("x", vec![0, 3], 3).is_err());
        let m = RegionMap::new("x", vec![0, 1], 2).unwrap();
        let e = TallyLayout::new(3, vec![m]).unwrap_err().to_string();
        assert!(e.contains("2 entries for 3 voxels"), "{e}");
    }

    #[test]
    fn batch_is_sparse_sorted_and_reset() {
        let l = layout();
        let mut s = BatchScorer::new(&l);
        s.begin_history(3.0, 0);
        s.deposit(5, 1.0);
        s.deposit(1, 0.5);
        s.deposit(5, 0.25);
        s.deposit_local(2, 0.25, true);
        s.deposit(3, 0.0); // zero deposits are not touched
        s.escape(0.5);
        s.photon_escape(0.5);
        s.end_history();
        let b = s.finish_batch();
        assert_eq!(b.histories, 1);
        assert_eq!(b.voxels, vec![(1, 0.5), (2, 0.25), (5, 1.25)]);
        assert_eq!(b.regions[0], vec![(0, 0.5), (1, 0.25), (2, 1.25)]);
        assert_eq!(b.regions[1], vec![(1, 0.75), (2, 1.25)]);
        assert_eq!(b.emitted_mev, 3.0);
        assert_eq!(b.deposited_mev, 2.0);
        assert_eq!(b.below_cutoff_mev, 0.25);
        assert_eq!(b.escaped_charged_mev, 0.5);
        assert_eq!(b.escaped_photon_mev, 0.5);
        assert_eq!(b.max_imbalance_rel, 0.0);
        // the scorer is clean again
        let b2 = s.finish_batch();
        assert_eq!(
            b2,
            BatchTally {
                regions: vec![vec![], vec![]],
                ..BatchTally::default()
            }
        );
    }

    #[test]
    fn without_voxel_tallies_the_batch_has_regions_only() {
        let l = layout().with_voxels(VoxelTally::None);
        let mut s = BatchScorer::new(&l);
        s.begin_history(1.0, 0);
        s.deposit(5, 0.5);
        s.deposit(1, 0.5);
        s.end_history();
        let b = s.finish_batch();
        assert!(b.voxels.is_empty());
        assert_eq!(b.regions[0], vec![(0, 0.5), (2, 0.5)]);
        assert_eq!(b.regions[1], vec![(1, 0.5), (2, 0.5)]);
        assert_eq!(b.deposited_mev, 1.0);
    }

    #[test]
    fn self_cell_energy_is_what_lands_in_the_decays_own_cell() {
        let own = |n_cells| SelfCellLayout {
            cell_map: 1,
            n_cells,
            by_map: 0,
        };
        let l = layout().with_self_cell(own(2)).unwrap();
        let mut s = BatchScorer::new(&l);
        // a decay in cell 1 (voxel 1): its deposits in voxels 1 and 2 are its own cell's
        s.begin_history(3.0, 1);
        s.deposit(1, 0.5);
        s.deposit(2, 0.25);
        s.deposit(5, 1.0); // cell 2
        s.deposit(0, 0.3); // no cell
        assert!(s.set_weight(2.0));
        s.deposit_local(2, 0.1, true);
        s.end_history();
        // a decay outside cells: nothing is its own
        s.begin_history(1.0, 3);
        s.deposit(1, 0.5);
        s.end_history();
        // a decay in cell 2 (voxel 5)
        s.begin_history(1.0, 5);
        s.deposit(5, 0.5);
        s.deposit(2, 0.5);
        s.end_history();
        let b = s.finish_batch();
        assert_eq!(b.self_cell, vec![(0, 0.5), (1, 0.45), (2, 0.5)]);
        let pairs: Vec<_> = b.self_cell_pairs(0).collect();
        assert_eq!(pairs, vec![(0, 0.5, 1.3), (1, 0.45, 0.95), (2, 0.5, 1.5)]);
        assert!(s.finish_batch().self_cell.is_empty());
        // cell 2 beyond n_cells (as the macro voxels of a nested grid): no own cell
        let l1 = layout().with_self_cell(own(1)).unwrap();
        let mut s = BatchScorer::new(&l1);
        s.begin_history(1.0, 5);
        s.deposit(5, 0.5);
        s.end_history();
        assert!(s.finish_batch().self_cell.is_empty());
        for bad in [
            SelfCellLayout {
                cell_map: 2,
                ..own(1)
            },
            SelfCellLayout {
                by_map: 2,
                ..own(1)
            },
            own(3),
        ] {
            let e = layout().with_self_cell(bad).unwrap_err().to_string();
            assert!(e.contains("self-cell tally"), "{e}");
        }
    }

    #[test]
    fn imbalance_is_detected() {
        let l = layout();
        let mut s = BatchScorer::new(&l);
        s.begin_history(1.0, 0);
        s.deposit(0, 0.9);
        s.end_history();
        let b = s.finish_batch();
        assert!((b.max_imbalance_rel - 0.1).abs() < 1e-12);
    }
}
