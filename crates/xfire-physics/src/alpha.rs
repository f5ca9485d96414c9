//! α-particle stopping powers, CSDA and projected ranges, range straggling, and the
//! straight-track CSDA step model.
//!
//! Data: NIST ASTAR (ICRU Report 49) electronic and nuclear stopping powers and detour
//! factors, shipped for 20 tissue-like and reference compounds (`data/astar_compounds.csv`).
//! * A material whose composition and I equal an ASTAR compound's uses that table
//!   ([`AlphaSource::Astar`]): water, cortical bone, dry air among the built-ins.
//! * Any other material is a Bragg-additivity mixture of ASTAR compounds
//!   ([`AlphaSource::BraggMixture`]): S = Σ c_k S_k with non-negative mass weights c_k chosen
//!   so that the mixture matches the material's elemental composition (least squares, rows
//!   weighted per electron) and its electron-weighted ln I. ASTAR's biological materials
//!   (water, two muscles, adipose tissue, two bones) are tried first, all 20 compounds if they
//!   cannot match. Leave-one-out tests on ASTAR's own tissues give 0.3–1.3 % for muscles and
//!   bone, 3.9 % for adipose tissue (see `docs/validation.md`). The built-in soft tissues and
//!   lung come out as water + muscle (+ a little adipose/bone) with composition mismatch
//!   ≤ 0.005. Materials no mixture approximates (an elemental mass fraction off by more than
//!   [`MAX_MIXTURE_MISMATCH`]) are refused.
//!
//! Interpolation is log–log; the CSDA range integrates the total (electronic + nuclear)
//! stopping power exactly on the interpolant, and its inverse E(R) is exact, so the step
//! model E(R(E₀) − s) deposits telescope to E₀.

use xfire_core::constants::{AVOGADRO, CLASSICAL_ELECTRON_RADIUS_CM, ELECTRON_MASS_MEV};
use xfire_data::materials::{element, Material};

use crate::data::{astar, AstarCompound};
use crate::inverse::TabulatedRangeEnergy;
use crate::table::RangeTable;
use crate::PhysicsError;

/// Largest elemental mass-fraction mismatch accepted for a Bragg mixture of ASTAR compounds.
pub const MAX_MIXTURE_MISMATCH: f64 = 0.02;

/// Top of the tabulated inverse E(R) of the transport loop \[MeV\]: above every
/// radionuclide α line (212mPo's 11.65 MeV); longer ranges use the exact inverse.
pub const TABULATED_MAX_MEV: f64 = 12.0;

/// Equal steps in √R of the tabulated inverse (128 KiB per material; the step in R at
/// residual range R is 2√(R·R_top)/4096, 0.075 µm of unit-density water at R_top).
pub const TABULATED_INTERVALS: usize = 4096;

/// Lower energy limit \[MeV\] of the Bohr range-straggling integral.
pub const BOHR_STRAGGLING_MIN_ENERGY_MEV: f64 = 0.2;

/// Where a material's α stopping powers come from.
#[derive(Debug, Clone, PartialEq)]
pub enum AlphaSource {
    /// One ASTAR table, used unchanged.
    Astar {
        /// ASTAR table name ("WATER_LIQUID").
        table: String,
    },
    /// A Bragg-additivity mixture of ASTAR compounds.
    BraggMixture {
        /// (ASTAR table name, mass weight); weights sum to 1.
        components: Vec<(String, f64)>,
        /// Largest |elemental mass fraction of the mixture − the material's|.
        mismatch: f64,
    },
}

/// α stopping powers and ranges of one material.
///
/// Mass quantities (MeV cm²/g, g/cm²); multiply by the voxel density for linear ones.
/// Energies are the α kinetic energy \[MeV\] (total, not per nucleon).
#[derive(Debug, Clone, PartialEq)]
pub struct AlphaStopping {
    material: String,
    source: AlphaSource,
    electronic: RangeTable,
    nuclear: RangeTable,
    /// Total stopping power, exact range and the tabulated inverse of the transport loop.
    total: TabulatedRangeEnergy,
    ln_e: Vec<f64>,
    detour: Vec<f64>,
    /// Bohr energy-loss variance per unit mass thickness, 4π r_e² (m_ec²)² z² N_A⟨Z/A⟩
    /// [MeV² cm²/g].
    bohr_k: f64,
}

fn same_composition(a: &[(u32, f64)], b: &[(u32, f64)]) -> bool {
    let zs: std::collections::BTreeSet<u32> = a.iter().chain(b).map(|c| c.0).collect();
    let frac = |v: &[(u32, f64)], z: u32| v.iter().find(|c| c.0 == z).map_or(0.0, |c| c.1);
    zs.iter().all(|&z| (frac(a, z) - frac(b, z)).abs() < 1e-4)
}

/// Non-negative least squares by cyclic coordinate descent on the normal equations.
fn nnls(a: &[Vec<f64>], b: &[f64], sweeps: usize) -> Vec<f64> {
    let ncol = a.first().map_or(0, |r| r.len());
    let mut h = vec![vec![0.0; ncol]; ncol];
    let mut g = vec![0.0; ncol];
    for (row, &bi) in a.iter().zip(b) {
        for j in 0..ncol {
            g[j] += row[j] * bi;
            for k in 0..ncol {
                h[j][k] += row[j] * row[k];
            }
        }
    }
    let mut x = vec![0.0; ncol];
    for _ in 0..sweeps {
        let mut change = 0.0f64;
        for j in 0..ncol {
            if h[j][j] <= 0.0 {
                continue;
            }
            let grad: f64 = h[j].iter().zip(&x).map(|(hjk, xk)| hjk * xk).sum::<f64>() - g[j];
            let new = (x[j] - grad / h[j][j]).max(0.0);
            change = change.max((new - x[j]).abs());
            x[j] = new;
        }
        if change < 1e-14 {
            break;
        }
    }
    x
}

/// Mass weights of `compounds` whose mixture best matches `material`'s elemental composition
/// (rows weighted by Zᵢ/Aᵢ, i.e. per electron) and, with weight `i_weight`, its
/// electron-weighted ln I; returns (weights summing to 1, largest elemental mismatch).
fn mixture_weights(
    material: &Material,
    compounds: &[&AstarCompound],
    i_weight: f64,
) -> (Vec<f64>, f64) {
    let mut zs: Vec<u32> = material
        .composition
        .iter()
        .map(|c| c.0)
        .chain(
            compounds
                .iter()
                .flat_map(|c| c.composition.iter().map(|x| x.0)),
        )
        .collect();
    zs.sort_unstable();
    zs.dedup();
    let frac = |v: &[(u32, f64)], z: u32| v.iter().find(|c| c.0 == z).map_or(0.0, |c| c.1);
    let mut a = Vec::new();
    let mut b = Vec::new();
    for &z in &zs {
        let wz = element(z).map_or(0.5, |e| z as f64 / e.atomic_mass_g_mol);
        a.push(
            compounds
                .iter()
                .map(|c| wz * frac(&c.composition, z))
                .collect(),
        );
        b.push(wz * frac(&material.composition, z));
    }
    a.push(vec![1.0; compounds.len()]);
    b.push(1.0);
    if i_weight > 0.0 {
        let za = |comp: &[(u32, f64)]| -> f64 {
            comp.iter()
                .filter_map(|&(z, w)| element(z).map(|e| w * z as f64 / e.atomic_mass_g_mol))
                .sum()
        };
        a.push(
            compounds
                .iter()
                .map(|c| i_weight * za(&c.composition) * c.mean_excitation_ev.ln())
                .collect(),
        );
        b.push(i_weight * material.z_over_a() * material.mean_excitation_ev.ln());
    }
    let mut x = nnls(&a, &b, 20_000);
    let s: f64 = x.iter().sum();
    if s > 0.0 {
        for v in &mut x {
            *v /= s;
        }
    }
    let mismatch = zs
        .iter()
        .map(|&z| {
            let mix: f64 = compounds
                .iter()
                .zip(&x)
                .map(|(c, w)| w * frac(&c.composition, z))
                .sum();
            (mix - frac(&material.composition, z)).abs()
        })
        .fold(0.0, f64::max);
    (x, mismatch)
}

/// The ASTAR compound tables shipped: (ASTAR table name, NIST material name).
pub fn astar_tables() -> Vec<(&'static str, &'static str)> {
    astar()
        .compounds
        .iter()
        .map(|c| (c.name.as_str(), c.nist_name.as_str()))
        .collect()
}

/// ASTAR's biological materials, tried first for a Bragg mixture: mixing like with like
/// keeps the chemical-binding and phase effects of ICRU 49's compound stopping powers.
const BIOLOGICAL: &[&str] = &[
    "WATER_LIQUID",
    "MUSCLE_STRIATED_ICRU",
    "MUSCLE_SKELETAL_ICRP",
    "ADIPOSE_TISSUE_ICRP",
    "BONE_CORTICAL_ICRP",
    "BONE_COMPACT_ICRU",
];

/// Weight of the ln I row in the mixture fit.
const I_ROW_WEIGHT: f64 = 1.0;

/// Bragg-mixture weights over all of `compounds` (0 for unused ones and for `exclude`):
/// first from the biological compounds only, then, if those cannot match the composition
/// within [`MAX_MIXTURE_MISMATCH`], from all of them. Returns (weights, mismatch).
fn choose_mixture(
    material: &Material,
    compounds: &[AstarCompound],
    exclude: Option<&str>,
) -> (Vec<f64>, f64) {
    let usable = |c: &&AstarCompound| Some(c.name.as_str()) != exclude;
    let tiers: [Vec<&AstarCompound>; 2] = [
        compounds
            .iter()
            .filter(usable)
            .filter(|c| BIOLOGICAL.contains(&c.name.as_str()))
            .collect(),
        compounds.iter().filter(usable).collect(),
    ];
    let mut best: Option<(Vec<f64>, f64)> = None;
    for tier in &tiers {
        let (w, mismatch) = mixture_weights(material, tier, I_ROW_WEIGHT);
        let full: Vec<f64> = compounds
            .iter()
            .map(|c| {
                tier.iter()
                    .position(|t| t.name == c.name)
                    .map_or(0.0, |k| w[k])
            })
            .collect();
        let better = match &best {
            None => true,
            Some(b) => mismatch < b.1,
        };
        if better {
            best = Some((full, mismatch));
        }
        if mismatch <= MAX_MIXTURE_MISMATCH {
            break;
        }
    }
    best.unwrap_or_else(|| (vec![0.0; compounds.len()], f64::INFINITY))
}

impl AlphaStopping {
    /// Builds the α tables for `material` (see the module docs for the method).
    pub fn new(material: &Material) -> Result<AlphaStopping, PhysicsError> {
        let material = material
            .clone()
            .validated()
            .map_err(|e| PhysicsError::InvalidMaterial(e.to_string()))?;
        let data = astar();
        let exact = data.compounds.iter().find(|c| {
            same_composition(&c.composition, &material.composition)
                && (c.mean_excitation_ev - material.mean_excitation_ev).abs() < 0.05
        });
        let (weights, source) = match exact {
            Some(c) => (
                data.compounds
                    .iter()
                    .map(|k| if k.name == c.name { 1.0 } else { 0.0 })
                    .collect::<Vec<_>>(),
                AlphaSource::Astar {
                    table: c.name.clone(),
                },
            ),
            None => {
                let (w, mismatch) = choose_mixture(&material, &data.compounds, None);
                if mismatch > MAX_MIXTURE_MISMATCH {
                    return Err(PhysicsError::NoAlphaData {
                        material: material.name.clone(),
                        mismatch,
                    });
                }
                let components = data
                    .compounds
                    .iter()
                    .zip(&w)
                    .filter(|(_, &x)| x > 0.0)
                    .map(|(c, &x)| (c.name.clone(), x))
                    .collect();
                (
                    w,
                    AlphaSource::BraggMixture {
                        components,
                        mismatch,
                    },
                )
            }
        };
        let n = data.energy_mev.len();
        let mix = |f: &dyn Fn(&AstarCompound) -> &Vec<f64>| -> Vec<f64> {
            (0..n)
                .map(|i| {
                    data.compounds
                        .iter()
                        .zip(&weights)
                        .filter(|(_, &w)| w > 0.0)
                        .map(|(c, &w)| w * f(c)[i])
                        .sum()
                })
                .collect()
        };
        let el = mix(&|c| &c.electronic);
        let nu = mix(&|c| &c.nuclear);
        let detour = mix(&|c| &c.detour);
        let tot: Vec<f64> = el.iter().zip(&nu).map(|(a, b)| a + b).collect();
        let e = data.energy_mev.clone();
        let slope = |v: &[f64]| ((v[1] / v[0]).ln() / (e[1] / e[0]).ln()).clamp(-1.0, 0.3);
        let bad =
            || PhysicsError::InvalidMaterial(format!("material {:?}: bad α table", material.name));
        let electronic = RangeTable::new(e.clone(), el.clone(), slope(&el)).ok_or_else(bad)?;
        let nuclear = RangeTable::new(e.clone(), nu.clone(), slope(&nu)).ok_or_else(bad)?;
        let total = RangeTable::new(e.clone(), tot.clone(), slope(&tot)).ok_or_else(bad)?;
        let bohr_k = 4.0
            * std::f64::consts::PI
            * CLASSICAL_ELECTRON_RADIUS_CM.powi(2)
            * ELECTRON_MASS_MEV.powi(2)
            * 4.0
            * AVOGADRO
            * material.z_over_a();
        Ok(AlphaStopping {
            material: material.name.clone(),
            source,
            electronic,
            nuclear,
            total: TabulatedRangeEnergy::new(total, TABULATED_MAX_MEV, TABULATED_INTERVALS),
            ln_e: e.iter().map(|v| v.ln()).collect(),
            detour,
            bohr_k,
        })
    }

    /// Name of the material.
    pub fn material_name(&self) -> &str {
        &self.material
    }

    /// Where the tables come from.
    pub fn source(&self) -> &AlphaSource {
        &self.source
    }

    /// Lowest tabulated energy \[MeV\] (1 keV).
    pub fn min_energy_mev(&self) -> f64 {
        self.total.exact().min_energy_mev()
    }

    /// Highest tabulated energy \[MeV\] (1 GeV).
    pub fn max_energy_mev(&self) -> f64 {
        self.total.exact().max_energy_mev()
    }

    /// Electronic mass stopping power [MeV cm²/g] at `e_mev` \[MeV\].
    pub fn electronic_stopping_power(&self, e_mev: f64) -> f64 {
        self.electronic.stopping_power(e_mev)
    }

    /// Nuclear mass stopping power [MeV cm²/g] at `e_mev` \[MeV\].
    pub fn nuclear_stopping_power(&self, e_mev: f64) -> f64 {
        self.nuclear.stopping_power(e_mev)
    }

    /// Total (electronic + nuclear) mass stopping power [MeV cm²/g] at `e_mev` \[MeV\].
    pub fn total_stopping_power(&self, e_mev: f64) -> f64 {
        self.total.exact().stopping_power(e_mev)
    }

    /// CSDA range [g/cm²] at `e_mev` \[MeV\] (integral of 1/S_total); 0 for E ≤ 0.
    pub fn csda_range_g_cm2(&self, e_mev: f64) -> f64 {
        self.total.exact().range(e_mev)
    }

    /// Energy \[MeV\] whose CSDA range is `r_g_cm2` [g/cm²]; exact inverse of
    /// [`AlphaStopping::csda_range_g_cm2`].
    pub fn energy_from_range(&self, r_g_cm2: f64) -> f64 {
        self.total.exact().energy_from_range(r_g_cm2)
    }

    /// R(E) exact and E(R) tabulated (no logarithm or exponential per look-up), for the
    /// straight-track transport loop; see [`crate::inverse`] for the interpolation error.
    pub fn tabulated(&self) -> &TabulatedRangeEnergy {
        &self.total
    }

    /// Detour factor (mean projected range / CSDA range) at `e_mev` \[MeV\], ASTAR,
    /// interpolated linearly in ln E (clamped to the table).
    pub fn detour_factor(&self, e_mev: f64) -> f64 {
        let l = e_mev.max(self.min_energy_mev()).ln();
        let i = self
            .ln_e
            .partition_point(|&v| v <= l)
            .saturating_sub(1)
            .min(self.ln_e.len() - 2);
        let u = ((l - self.ln_e[i]) / (self.ln_e[i + 1] - self.ln_e[i])).clamp(0.0, 1.0);
        self.detour[i] + u * (self.detour[i + 1] - self.detour[i])
    }

    /// Mean projected range [g/cm²] = detour factor × CSDA range at `e_mev` \[MeV\].
    /// Straight CSDA tracks overshoot it by 1 − detour (< 1 % above 2 MeV in water).
    pub fn projected_range_g_cm2(&self, e_mev: f64) -> f64 {
        self.detour_factor(e_mev) * self.csda_range_g_cm2(e_mev)
    }

    /// Bohr range straggling σ_R [g/cm²] at `e_mev` \[MeV\]: σ_R² = ∫ K/S³ dE′ from
    /// [`BOHR_STRAGGLING_MIN_ENERGY_MEV`] to E, with K = 4π r_e² (m_ec²)² z² N_A⟨Z/A⟩.
    /// Bohr's formula is the high-velocity limit; below 0.2 MeV (the last ~2 µm in water)
    /// it does not hold and that part is left out (it would add about 10 % to σ_R at 5 MeV).
    pub fn range_straggling_g_cm2(&self, e_mev: f64) -> f64 {
        let lo = BOHR_STRAGGLING_MIN_ENERGY_MEV.min(e_mev.max(0.0));
        let var = self.total.exact().integral_of_inverse_power(e_mev, 3.0)
            - self.total.exact().integral_of_inverse_power(lo, 3.0);
        (self.bohr_k * var.max(0.0)).sqrt()
    }

    /// Energy \[MeV\] left after a straight CSDA path of `path_g_cm2` [g/cm²] starting at
    /// `e_mev` \[MeV\]: E(R(E) − s); 0 once the path reaches the CSDA range.
    pub fn energy_after_path(&self, e_mev: f64, path_g_cm2: f64) -> f64 {
        let r = self.csda_range_g_cm2(e_mev) - path_g_cm2;
        if r <= 0.0 {
            0.0
        } else {
            self.energy_from_range(r).min(e_mev)
        }
    }
}

/// An α particle slowing down along a straight CSDA track.
///
/// The deposit of each step is the energy difference at its ends, so the deposits of any
/// sequence of steps sum to the initial energy (to rounding) once the particle stops,
/// whatever the step sizes and materials; the Bragg peak appears at any voxel size.
///
/// ```
/// use xfire_data::materials::builtin;
/// use xfire_physics::alpha::{AlphaStopping, AlphaTrack};
/// let water = AlphaStopping::new(&builtin("water").unwrap()).unwrap();
/// let mut track = AlphaTrack::new(5.0);
/// let mut sum = 0.0;
/// while !track.is_stopped() {
///     sum += track.advance(&water, 1.0e-4); // 1 µm of unit-density water [g/cm²]
/// }
/// assert!((sum - 5.0).abs() < 1e-9);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlphaTrack {
    energy_mev: f64,
}

impl AlphaTrack {
    /// A track starting with kinetic energy `e0_mev` \[MeV\] (negative values start stopped).
    pub fn new(e0_mev: f64) -> AlphaTrack {
        AlphaTrack {
            energy_mev: e0_mev.max(0.0),
        }
    }

    /// Current kinetic energy \[MeV\].
    pub fn energy_mev(&self) -> f64 {
        self.energy_mev
    }

    /// Whether the particle has stopped (energy 0).
    pub fn is_stopped(&self) -> bool {
        self.energy_mev <= 0.0
    }

    /// Remaining CSDA path [g/cm²] in `stopping`'s material.
    pub fn residual_range_g_cm2(&self, stopping: &AlphaStopping) -> f64 {
        stopping.csda_range_g_cm2(self.energy_mev)
    }

    /// Remaining CSDA path \[cm\] in `stopping`'s material at density `density_g_cm3` \[g/cm³\].
    pub fn residual_range_cm(&self, stopping: &AlphaStopping, density_g_cm3: f64) -> f64 {
        stopping.csda_range_g_cm2(self.energy_mev) / density_g_cm3
    }

    /// [`AlphaTrack::advance`] for a path `path_cm` \[cm\] at density `density_g_cm3`
    /// \[g/cm³\]; returns the energy deposited \[MeV\].
    pub fn advance_cm(
        &mut self,
        stopping: &AlphaStopping,
        path_cm: f64,
        density_g_cm3: f64,
    ) -> f64 {
        self.advance(stopping, path_cm * density_g_cm3)
    }

    /// Moves the particle `path_g_cm2` [g/cm²] (= path \[cm\] × density [g/cm³]) through the
    /// material of `stopping` and returns the energy deposited \[MeV\]. A path at or beyond
    /// the residual range stops the particle and deposits all that is left.
    pub fn advance(&mut self, stopping: &AlphaStopping, path_g_cm2: f64) -> f64 {
        if self.energy_mev <= 0.0 || path_g_cm2 <= 0.0 {
            return 0.0;
        }
        let e_new = stopping.energy_after_path(self.energy_mev, path_g_cm2);
        let deposit = self.energy_mev - e_new;
        self.energy_mev = e_new;
        deposit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xfire_data::materials::builtin;

    fn water() -> AlphaStopping {
        AlphaStopping::new(&builtin("water").unwrap()).unwrap()
    }

    #[test]
    fn water_uses_astar_and_matches_physics_md() {
        let w = water();
        assert_eq!(
            w.source(),
            &AlphaSource::Astar {
                table: "WATER_LIQUID".into()
            }
        );
        assert!((w.electronic_stopping_power(5.0) / 884.757 - 1.0).abs() < 1e-5);
        let r_um = w.csda_range_g_cm2(5.0) * 1e4;
        assert!((r_um / 37.59 - 1.0).abs() < 3e-3, "{r_um}");
        let p_um = w.projected_range_g_cm2(5.0) * 1e4;
        assert!((p_um / 37.33 - 1.0).abs() < 3e-3, "{p_um}");
        assert!((w.detour_factor(5.0) - 0.9931).abs() < 2e-4);
        let s = w.range_straggling_g_cm2(5.0) * 1e4;
        assert!((s - 0.29).abs() < 0.02, "σ_R = {s} µm");
        let s8 = w.range_straggling_g_cm2(8.0) * 1e4;
        assert!((s8 - 0.60).abs() < 0.03, "σ_R(8 MeV) = {s8} µm");
    }

    #[test]
    fn range_agrees_with_astar_own_range() {
        // our integral of the interpolated S_total vs ASTAR's tabulated CSDA range
        let d = astar();
        for c in &d.compounds {
            let mat = Material::new(
                "x",
                c.density_g_cm3,
                c.mean_excitation_ev,
                c.composition.clone(),
                "test",
            )
            .unwrap();
            let a = AlphaStopping::new(&mat).unwrap();
            assert!(
                matches!(a.source(), AlphaSource::Astar { .. }),
                "{}",
                c.name
            );
            for (e, r) in d.energy_mev.iter().zip(&c.astar_range) {
                if (0.5..=10.0).contains(e) {
                    let v = a.csda_range_g_cm2(*e);
                    assert!((v / r - 1.0).abs() < 5e-3, "{} {e} MeV: {v} vs {r}", c.name);
                }
            }
        }
    }

    #[test]
    fn tissues_are_close_mixtures() {
        for n in ["soft_tissue_icru", "soft_tissue_icrp", "lung"] {
            let a = AlphaStopping::new(&builtin(n).unwrap()).unwrap();
            match a.source() {
                AlphaSource::BraggMixture {
                    components,
                    mismatch,
                } => {
                    assert!(*mismatch < 0.01, "{n}: {mismatch}");
                    let s: f64 = components.iter().map(|c| c.1).sum();
                    assert!((s - 1.0).abs() < 1e-12);
                }
                other => panic!("{n}: {other:?}"),
            }
            // tissue ranges within a few % of water's (same Z/A, similar I)
            let r = a.csda_range_g_cm2(5.0) / water().csda_range_g_cm2(5.0);
            println!("{n}: {:?}; R(5 MeV)/R_water = {r:.4}", a.source());
            assert!((r - 1.0).abs() < 0.04, "{n}: {r}");
        }
        for n in ["bone_cortical", "air"] {
            let a = AlphaStopping::new(&builtin(n).unwrap()).unwrap();
            assert!(matches!(a.source(), AlphaSource::Astar { .. }), "{n}");
        }
    }

    #[test]
    fn bragg_mixture_leave_one_out() {
        // Rebuild ASTAR tissues from the *other* compounds and compare with their own tables.
        let d = astar();
        let mut report = Vec::new();
        // tolerances: measured 0.32 %, 0.71 %, 3.9 %, 1.3 % (docs/validation.md); adipose has
        // no carbon-rich biological partner and falls back to CH2 plastics, which ICRU 49
        // itself spreads by ~4 % (polyethylene vs paraffin).
        for (name, tol) in [
            ("MUSCLE_STRIATED_ICRU", 0.01),
            ("MUSCLE_SKELETAL_ICRP", 0.01),
            ("ADIPOSE_TISSUE_ICRP", 0.05),
            ("BONE_COMPACT_ICRU", 0.02),
        ] {
            let target = d.compounds.iter().find(|c| c.name == name).unwrap();
            let mat = Material::new(
                "t",
                target.density_g_cm3,
                target.mean_excitation_ev,
                target.composition.clone(),
                "",
            )
            .unwrap();
            let (w, mismatch) = choose_mixture(&mat, &d.compounds, Some(name));
            assert!(mismatch < MAX_MIXTURE_MISMATCH, "{name}: {mismatch}");
            let mut worst = 0.0f64;
            for (i, e) in d.energy_mev.iter().enumerate() {
                if (0.5..=10.0).contains(e) {
                    let s: f64 = d
                        .compounds
                        .iter()
                        .zip(&w)
                        .map(|(c, x)| x * c.electronic[i])
                        .sum();
                    worst = worst.max((s / target.electronic[i] - 1.0).abs());
                }
            }
            report.push(format!("{name}: {:.2} %", worst * 100.0));
            assert!(worst < tol, "{name}: {worst}");
        }
        println!(
            "leave-one-out worst S_el deviation 0.5-10 MeV: {}",
            report.join(", ")
        );
    }

    /// The tabulated inverse of the transport loop against the exact one, for water, tissues,
    /// bone and air: E(R) over R(12 MeV) and the deposits of 0.5 µm (unit density) steps of
    /// 5.87 and 8.38 MeV tracks (the per-voxel dE of a straight track). Measured: E(R)
    /// within 1.5e-7 relative at residual ranges ≥ 0.1 µm (worst at 4–6 keV, where ASTAR's
    /// power-law segments meet), step deposits within 2e-8 relative.
    #[test]
    fn tabulated_inverse_matches_exact() {
        for n in ["water", "soft_tissue_icru", "lung", "bone_cortical", "air"] {
            let a = AlphaStopping::new(&builtin(n).unwrap()).unwrap();
            let t = a.tabulated();
            let top = a.csda_range_g_cm2(TABULATED_MAX_MEV);
            let (mut worst_e, mut worst_step): (f64, f64) = (0.0, 0.0);
            for k in 1..=200_000 {
                let r = top * k as f64 / 200_000.0;
                if r >= 1e-5 {
                    let e = a.energy_from_range(r);
                    worst_e = worst_e.max((t.energy(r) / e - 1.0).abs());
                }
            }
            for e0 in [5.86705, 8.37658] {
                let mut r = a.csda_range_g_cm2(e0);
                let (mut ex, mut tb) = (e0, e0);
                while r > 0.5e-4 {
                    r -= 0.5e-4;
                    let (ex1, tb1) = (a.energy_from_range(r), t.energy(r));
                    worst_step = worst_step.max(((tb - tb1) / (ex - ex1) - 1.0).abs());
                    (ex, tb) = (ex1, tb1);
                }
            }
            println!("{n}: tabulated E(R) max rel. error {worst_e:.2e}, 0.5 um step deposits {worst_step:.2e}");
            assert!(worst_e < 3e-7, "{n}: {worst_e}");
            assert!(worst_step < 5e-8, "{n}: {worst_step}");
        }
    }

    #[test]
    fn gold_is_refused() {
        let au = Material::new("gold", 19.32, 790.0, vec![(79, 1.0)], "test").unwrap();
        let e = AlphaStopping::new(&au).unwrap_err().to_string();
        assert!(e.contains("gold"), "{e}");
    }

    #[test]
    fn five_mev_track_stops_at_csda_range_and_conserves_energy() {
        let w = water();
        let r0 = w.csda_range_g_cm2(5.0);
        // exact per-segment deposits, 0.37 µm steps (not commensurate with the range)
        let ds = 0.37e-4;
        let mut t = AlphaTrack::new(5.0);
        let (mut sum, mut path, mut steps) = (0.0, 0.0, 0);
        let mut peak = (0.0, 0.0);
        while !t.is_stopped() {
            let dep = t.advance(&w, ds);
            sum += dep;
            if dep > peak.0 {
                peak = (dep, path);
            }
            path += ds;
            steps += 1;
            assert!(steps < 10_000);
        }
        let err = (sum - 5.0).abs();
        println!(
            "5 MeV α track: |Σ deposits − E0| = {err:.2e} MeV, R = {:.4} µm",
            r0 * 1e4
        );
        assert!(err < 1e-9, "sum {sum}");
        assert!(path >= r0 && path - ds < r0, "stops within the last step");
        assert!((r0 * 1e4 / 37.59 - 1.0).abs() < 3e-3);
        // Bragg peak (S maximal at 0.70-0.75 MeV) where the residual range is R(0.5-1 MeV)
        let residual = r0 - peak.1;
        assert!(
            residual > w.csda_range_g_cm2(0.5) && residual < w.csda_range_g_cm2(1.0),
            "peak at {} of {}",
            peak.1,
            r0
        );
        // one step longer than the range deposits everything
        let mut t2 = AlphaTrack::new(5.0);
        assert_eq!(t2.advance(&w, 1.0), 5.0);
        assert_eq!(t2.advance(&w, 1.0), 0.0);
        // energy after half the range equals E(R/2)
        let e_half = w.energy_after_path(5.0, 0.5 * r0);
        assert!((w.csda_range_g_cm2(e_half) - 0.5 * r0).abs() < 1e-15);
    }

    #[test]
    fn advance_cm_uses_density() {
        let b = AlphaStopping::new(&builtin("bone_cortical").unwrap()).unwrap();
        let t = AlphaTrack::new(6.0);
        let r_cm = t.residual_range_cm(&b, 1.85);
        assert!((r_cm * 1.85 - b.csda_range_g_cm2(6.0)).abs() < 1e-15);
        let mut t1 = t;
        let mut t2 = t;
        assert_eq!(t1.advance_cm(&b, 1e-4, 1.85), t2.advance(&b, 1.85e-4));
        assert_eq!(t1.energy_mev(), t2.energy_mev());
    }

    #[test]
    fn mixed_material_track_conserves_energy() {
        let w = water();
        let b = AlphaStopping::new(&builtin("bone_cortical").unwrap()).unwrap();
        let mut t = AlphaTrack::new(7.69);
        let mut sum = 0.0;
        let mut k = 0;
        while !t.is_stopped() {
            let m = if k % 3 == 0 { &b } else { &w };
            sum += t.advance(m, 2.1e-4 * if k % 3 == 0 { 1.85 } else { 1.0 });
            k += 1;
        }
        assert!((sum - 7.69).abs() < 1e-9);
    }
}
