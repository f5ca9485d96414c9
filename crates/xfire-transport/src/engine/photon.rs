//! Photon transport: Woodcock (delta) tracking through the voxel grid (both grids of a nested geometry: one majorant over all) with the interaction
//! models of [`xfire_physics::photon`]. A child module of `engine` so that it reads the
//! engine's prepared state directly.
//!
//! A photon flies −ln ξ/μ_max(E) (the [`Majorant`] over every material of the phantom at
//! its largest density), never stopping at voxel faces; at the tentative collision point the
//! interaction is real with probability μ(r, E)/μ_max(E). Real interactions hand their
//! electrons and positrons to the engine's charged-particle transport at that point, deposit
//! binding energies on the spot, and transport scattered, fluorescence and annihilation
//! photons in turn. A positron's two 511 keV annihilation photons start at its creation point
//! (positron range ≪ photon mean free path). Photons below the tracking cutoff
//! (`Cutoffs::min_energy_mev`, at least the 1 keV table limit) deposit their energy on the
//! spot; photons leaving the grid are scored with `Scorer::photon_escape`. With
//! `TransportSetup::photon_split`, photons entering a box are split into weighted copies
//! ([`crate::PhotonSplit`]).

use xfire_core::rng::Rng;
use xfire_data::nuclides::Particle;
use xfire_phantom::Geometry;
use xfire_physics::photon::{
    annihilation_photons, Majorant, PhotonTables, SecondaryKind, E_MIN_MEV,
};
use xfire_tally::Scorer;

use super::Engine;

/// The Woodcock majorant over voxels with `material` ids and `density` \[g/cm³\] (all grids
/// of a nested geometry): every material at the largest density any voxel of it has.
pub(super) fn majorant(material: &[u8], density: &[f32], tables: &[PhotonTables]) -> Majorant {
    let mut max_rho = vec![0.0f64; tables.len()];
    for (&m, &rho) in material.iter().zip(density) {
        let slot = &mut max_rho[m as usize];
        *slot = slot.max(rho as f64);
    }
    let pairs: Vec<(&PhotonTables, f64)> = tables
        .iter()
        .zip(&max_rho)
        .filter(|(_, &r)| r > 0.0)
        .map(|(t, &r)| (t, r))
        .collect();
    Majorant::new(&pairs)
}

impl<G: Geometry> Engine<'_, G> {
    /// Photon splitting ([`crate::PhotonSplit`]): when the flight of length `s` from `pos`
    /// (outside the box) crosses into the box and the photon has weight 1, the photon is
    /// moved to the entry point and `copies` photons of weight 1/`copies` are transported on
    /// from there (flights are memoryless: restarting at the entry is exact). Returns true
    /// when it split (the photon is done), false to go on with the flight unchanged (no
    /// split, no random number drawn).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn split_at_entry<S: Scorer>(
        &self,
        e: f64,
        pos: [f64; 3],
        dir: [f64; 3],
        s: f64,
        voxel: usize,
        rng: &mut Rng,
        scorer: &mut S,
    ) -> bool {
        let Some(sp) = &self.setup.photon_split else {
            return false;
        };
        if sp.copies <= 1 || scorer.weight() != 1.0 || sp.contains(pos) {
            return false;
        }
        let Some(t) = sp.entry_cm(pos, dir).filter(|&t| t < s) else {
            return false;
        };
        if !scorer.set_weight(1.0 / sp.copies as f64) {
            return false;
        }
        let at = [
            pos[0] + dir[0] * t,
            pos[1] + dir[1] * t,
            pos[2] + dir[2] * t,
        ];
        let v = self.grid.locate(at).unwrap_or(voxel);
        for _ in 0..sp.copies {
            self.transport_photon(e, at, dir, v, rng, scorer);
        }
        scorer.set_weight(1.0);
        true
    }

    /// Transports one photon of `e_mev` \[MeV\] from `pos_cm` (in `voxel`) along `dir` until it
    /// is absorbed, falls below the cutoff or leaves the grid; its secondaries are transported
    /// too.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn transport_photon<S: Scorer>(
        &self,
        e_mev: f64,
        pos_cm: [f64; 3],
        dir: [f64; 3],
        voxel: usize,
        rng: &mut Rng,
        scorer: &mut S,
    ) {
        let cut = self.setup.cutoffs.min_energy_mev.max(E_MIN_MEV);
        let (mut e, mut pos, mut dir, mut voxel) = (e_mev, pos_cm, dir, voxel);
        loop {
            if e < cut {
                scorer.deposit_local(voxel, e, true);
                return;
            }
            let mu_max = self.majorant.mu_max_per_cm(e);
            if mu_max <= 0.0 {
                // nothing in the phantom attenuates (all densities zero): straight out
                scorer.photon_escape(e);
                return;
            }
            // delta tracking to the next real interaction
            let (m, v) = loop {
                let s = -rng.uniform().ln() / mu_max;
                if self.split_at_entry(e, pos, dir, s, voxel, rng, scorer) {
                    return;
                }
                pos = [
                    pos[0] + dir[0] * s,
                    pos[1] + dir[1] * s,
                    pos[2] + dir[2] * s,
                ];
                let Some(v) = self.grid.locate(pos) else {
                    scorer.photon_escape(e);
                    return;
                };
                let m = self.material[v] as usize;
                let mu = self.photon[m].mu_total_cm2_g(e) * self.density[v] as f64;
                if rng.uniform() * mu_max < mu {
                    break (m, v);
                }
            };
            voxel = v;
            let it = self.photon[m].interact(e, dir, rng);
            scorer.deposit(voxel, it.local_mev);
            for s in it.secondaries() {
                match s.kind {
                    SecondaryKind::Electron => self.transport_particle(
                        Particle::Electron,
                        s.e_mev,
                        pos,
                        s.dir,
                        voxel,
                        rng,
                        scorer,
                    ),
                    SecondaryKind::Positron => {
                        self.transport_particle(
                            Particle::Positron,
                            s.e_mev,
                            pos,
                            s.dir,
                            voxel,
                            rng,
                            scorer,
                        );
                        for a in annihilation_photons(rng) {
                            self.transport_photon(a.e_mev, pos, a.dir, voxel, rng, scorer);
                        }
                    }
                    SecondaryKind::Photon => {
                        self.transport_photon(s.e_mev, pos, s.dir, voxel, rng, scorer)
                    }
                }
            }
            if it.photon_e_mev <= 0.0 {
                return;
            }
            e = it.photon_e_mev;
            dir = it.photon_dir;
        }
    }
}
