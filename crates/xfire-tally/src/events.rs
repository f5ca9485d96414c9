//! Single-event specific-energy spectra: per history (decay), the energy each target region
//! (a cell) received, as specific energy z \[Gy\], histogrammed per target class (cell type).
//! For the α part of a nuclide one history is one α particle (and its recoil), so these are
//! the single-hit spectra f₁(z) of microdosimetry (the α-hit model of
//! `xfire_kinetics::hits`).
//!
//! Histogram: [`EVENT_BINS`] logarithmic bins, 10 per decade from 10⁻⁵ Gy (bin 0 also holds
//! smaller z, the last bin larger); per class also Σz and Σz² (exact first two moments).

use crate::{Result, TallyError};

/// Number of histogram bins.
pub const EVENT_BINS: usize = 80;
const Z_MIN_GY: f64 = 1e-5;
const PER_DECADE: f64 = 10.0;

/// The bin of specific energy `z_gy` \[Gy\].
#[inline]
pub fn event_bin(z_gy: f64) -> usize {
    if z_gy <= Z_MIN_GY {
        return 0;
    }
    (((z_gy / Z_MIN_GY).log10() * PER_DECADE) as usize).min(EVENT_BINS - 1)
}

/// Geometric centre of bin `b` \[Gy\].
pub fn event_bin_centre_gy(b: usize) -> f64 {
    Z_MIN_GY * 10f64.powf((b as f64 + 0.5) / PER_DECADE)
}

/// Which regions of which map are event targets, their class and their Gy per MeV.
#[derive(Debug, Clone, PartialEq)]
pub struct EventLayout {
    /// Index of the region map whose regions are the targets.
    pub map: usize,
    /// Class of each region, 1-based (0: not a target).
    pub class_of_region: Vec<u8>,
    /// Number of classes.
    pub n_classes: usize,
    /// Specific energy per deposited energy of each region \[Gy/MeV\] (1/mass).
    pub gy_per_mev: Vec<f64>,
}

impl EventLayout {
    /// A checked layout (lengths agree, classes ≤ `n_classes`, finite non-negative factors).
    pub fn new(
        map: usize,
        class_of_region: Vec<u8>,
        n_classes: usize,
        gy_per_mev: Vec<f64>,
    ) -> Result<Self> {
        if class_of_region.len() != gy_per_mev.len() {
            return Err(TallyError::Layout(format!(
                "event layout: {} classes for {} regions",
                class_of_region.len(),
                gy_per_mev.len()
            )));
        }
        if let Some(c) = class_of_region.iter().find(|&&c| c as usize > n_classes) {
            return Err(TallyError::Layout(format!(
                "event layout: class {c} above the {n_classes} classes"
            )));
        }
        if let Some(g) = gy_per_mev.iter().find(|g| !(g.is_finite() && **g >= 0.0)) {
            return Err(TallyError::Layout(format!(
                "event layout: {g} Gy/MeV is not a finite non-negative factor"
            )));
        }
        Ok(Self {
            map,
            class_of_region,
            n_classes,
            gy_per_mev,
        })
    }
}

/// The single-event spectrum of one class.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventSpectrum {
    /// Events per bin.
    pub counts: Vec<u64>,
    /// Σ z over events \[Gy\].
    pub sum_z: f64,
    /// Σ z² over events \[Gy²\].
    pub sum_z2: f64,
}

impl EventSpectrum {
    /// Empty spectrum.
    pub fn new() -> Self {
        Self {
            counts: vec![0; EVENT_BINS],
            sum_z: 0.0,
            sum_z2: 0.0,
        }
    }

    /// Number of events.
    pub fn events(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Adds another spectrum.
    pub fn add(&mut self, o: &EventSpectrum) {
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
        self.sum_z += o.sum_z;
        self.sum_z2 += o.sum_z2;
    }
}

/// Per-worker accumulation of the events of the current history and batch.
#[derive(Debug, Clone)]
pub(crate) struct EventScorer {
    energy: Vec<f64>,
    touched: Vec<u32>,
    pub(crate) spectra: Vec<EventSpectrum>,
}

impl EventScorer {
    pub(crate) fn new(l: &EventLayout) -> Self {
        Self {
            energy: vec![0.0; l.class_of_region.len()],
            touched: Vec::new(),
            spectra: vec![EventSpectrum::new(); l.n_classes],
        }
    }

    #[inline]
    pub(crate) fn deposit(&mut self, l: &EventLayout, region: u32, e_mev: f64) {
        if l.class_of_region[region as usize] == 0 {
            return;
        }
        let slot = &mut self.energy[region as usize];
        if *slot == 0.0 {
            self.touched.push(region);
        }
        *slot += e_mev;
    }

    #[inline]
    pub(crate) fn end_history(&mut self, l: &EventLayout) {
        for &r in &self.touched {
            let r = r as usize;
            let z = std::mem::take(&mut self.energy[r]) * l.gy_per_mev[r];
            let s = &mut self.spectra[l.class_of_region[r] as usize - 1];
            s.counts[event_bin(z)] += 1;
            s.sum_z += z;
            s.sum_z2 += z * z;
        }
        self.touched.clear();
    }

    pub(crate) fn take_batch(&mut self) -> Vec<EventSpectrum> {
        let n = self.spectra.len();
        std::mem::replace(&mut self.spectra, vec![EventSpectrum::new(); n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_logarithmic_and_clamped() {
        assert_eq!(event_bin(0.0), 0);
        assert_eq!(event_bin(1e-9), 0);
        assert_eq!(event_bin(1.5e-5), 1);
        assert_eq!(event_bin(1.0), 50);
        assert_eq!(event_bin(1e9), EVENT_BINS - 1);
        for b in 0..EVENT_BINS - 1 {
            assert_eq!(event_bin(event_bin_centre_gy(b)), b);
        }
        assert!(EventLayout::new(0, vec![0, 3], 2, vec![1.0, 1.0]).is_err());
        assert!(EventLayout::new(0, vec![0, 1], 2, vec![1.0]).is_err());
        assert!(EventLayout::new(0, vec![0, 1], 2, vec![1.0, f64::NAN]).is_err());
    }
}

#[cfg(test)]
mod scorer_tests {
    use crate::{BatchScorer, EventLayout, RegionMap, Scorer, TallyLayout};

    /// One history's deposits in the voxels of one region are one event; regions of class 0
    /// are not targets; the plain scorer tallies no events.
    #[test]
    fn events_are_per_history_and_region() {
        let l = TallyLayout::new(
            4,
            vec![RegionMap::new("cell", vec![0, 1, 1, 2], 3).unwrap()],
        )
        .unwrap()
        .with_events(EventLayout::new(0, vec![0, 1, 2], 2, vec![0.0, 10.0, 100.0]).unwrap())
        .unwrap();
        let mut s = BatchScorer::with_event_spectra(&l);
        s.begin_history(1.0, 0);
        s.deposit(1, 0.02);
        s.deposit(2, 0.03);
        s.deposit(0, 0.5);
        s.end_history();
        s.begin_history(1.0, 0);
        s.deposit(3, 0.01);
        s.deposit(2, 0.1);
        s.end_history();
        let b = s.finish_batch();
        assert_eq!(b.events.len(), 2);
        assert_eq!(b.events[0].events(), 2);
        assert!((b.events[0].sum_z - (0.5 + 1.0)).abs() < 1e-12);
        assert!((b.events[0].sum_z2 - (0.25 + 1.0)).abs() < 1e-12);
        assert_eq!(b.events[1].events(), 1);
        assert!((b.events[1].sum_z - 1.0).abs() < 1e-12);
        assert_eq!(b.events[1].counts[super::event_bin(1.0)], 1);
        // the next batch starts empty
        assert_eq!(s.finish_batch().events[0].events(), 0);
        let mut plain = BatchScorer::new(&l);
        plain.begin_history(1.0, 0);
        plain.deposit(1, 0.02);
        plain.end_history();
        assert!(plain.finish_batch().events.is_empty());
        let bad = TallyLayout::new(4, vec![]).unwrap();
        assert!(bad
            .with_events(EventLayout::new(0, vec![0], 1, vec![1.0]).unwrap())
            .is_err());
    }
}
