//! Photon interactions, 1 keV – 10 MeV: cross-section tables of any material and the
//! sampling of what happens at an interaction.
//!
//! * [`PhotonTables`]: per-material mass attenuation coefficients μ/ρ \[cm²/g\] by process
//!   (coherent, incoherent, photoelectric, pair), the energy-transfer coefficient μ_tr/ρ and
//!   the samplers of each interaction, built from the embedded per-element data.
//! * [`Majorant`]: the Woodcock (delta-tracking) majorant μ_max(E) \[1/cm\] over a set of
//!   materials and their largest densities.
//! * [`Interaction`]: the outcome of one interaction: the surviving photon (if any), up to
//!   [`MAX_SECONDARIES`] secondaries in a fixed array, the energy deposited on the spot.
//!
//! Physics model (details in `docs/physics.md`, "Photons"):
//!
//! * **Cross sections:** NIST XCOM per element (coherent, incoherent with the incoherent
//!   scattering function, photoelectric, pair in the nuclear and in the electron field), mixed
//!   by mass fraction; log–log interpolation on a grid that holds both sides of every edge.
//! * **Incoherent:** Klein–Nishina sampled by the Butcher–Messel method, accepted with the
//!   molecular incoherent scattering function S(x)/Z (Waller–Hartree binding correction, no
//!   Doppler broadening). Electron: T = E − E′ along the free-electron direction.
//! * **Coherent:** x² sampled from the molecular F²(x), accepted with (1 + cos²θ)/2
//!   (PENELOPE's method); no energy change.
//! * **Photoelectric:** the absorbing element is chosen by its partial cross section. Above
//!   its K edge the K shell absorbs with probability 1 − 1/J_K (J_K = K jump factor); a K
//!   vacancy emits a K X-ray (Kα1, Kα2, Kβ1,3 by their radiative rates) with probability ω_K
//!   (fluorescence yield) and the rest of the binding energy is deposited on the spot; Auger
//!   cascades and all other shells deposit their binding energy on the spot (L shells use the
//!   L1 edge energy). The photoelectron gets E − E_b with a Sauter direction.
//! * **Pair** (nuclear and electron field together): T = E − 2m_ec² shared uniformly between
//!   e⁻ and e⁺, both along the photon direction (DPM). The positron is returned as a
//!   secondary; its annihilation at rest ([`annihilation_photons`]) is the transport's job,
//!   and [`Interaction::rest_mass_mev`] books the 2m_ec² until then.
//!
//! Invariants: energy is conserved exactly in every interaction: `e_in = photon_e_mev +
//! Σ secondaries + local_mev + rest_mass_mev` to rounding. Tables are read-only after
//! construction; no look-up or sampler allocates.
//!
//! ```
//! use xfire_data::materials::builtin;
//! use xfire_physics::photon::PhotonTables;
//! let water = PhotonTables::new(&builtin("water").unwrap()).unwrap();
//! let mu = water.mu_total_cm2_g(0.1); // XCOM: 0.1707 cm²/g
//! assert!((mu - 0.1707).abs() < 0.0005);
//! ```

use std::sync::OnceLock;

use xfire_core::constants::{AVOGADRO, ELECTRON_MASS_MEV};
use xfire_core::rng::Rng;
use xfire_data::materials::{element, Material};

use crate::PhysicsError;

const XCOM_CSV: &str = include_str!("../data/photon_xcom.csv");
const SF_FF_CSV: &str = include_str!("../data/photon_sf_ff.csv");
const ATOMIC_CSV: &str = include_str!("../data/photon_atomic.csv");

/// Lowest photon energy of the tables \[MeV\] (1 keV).
pub const E_MIN_MEV: f64 = 1.0e-3;
/// Highest photon energy of the tables \[MeV\] (10 MeV).
pub const E_MAX_MEV: f64 = 10.0;
/// hc \[keV Å\]: x = sin(θ/2)·E/(hc) \[1/Å\].
const HC_KEV_ANGSTROM: f64 = 12.398_419_843_320_026;
/// 1 barn \[cm²\].
const BARN_CM2: f64 = 1.0e-24;
/// Points per decade of the uniform part of a material's energy grid.
const GRID_PER_DECADE: f64 = 50.0;
/// Bins per decade of the look-up accelerator and of the Woodcock majorant.
const BINS_PER_DECADE: f64 = 100.0;
/// Most secondaries one interaction produces (photoelectric: electron + X-ray; pair: e⁻ + e⁺).
pub const MAX_SECONDARIES: usize = 2;

// ---------------------------------------------------------------------------------------
// Embedded per-element data
// ---------------------------------------------------------------------------------------

/// XCOM cross sections of one element on its own grid (both sides of every edge).
#[derive(Debug, Clone)]
struct ElementXs {
    e_mev: Vec<f64>,
    /// \[barn/atom\]: coherent, incoherent, photoelectric, pair (nuclear + electron field).
    xs: [Vec<f64>; 4],
}

/// Photoelectric relaxation data of one element (xraylib).
#[derive(Debug, Clone, Copy, Default)]
struct ElementAtomic {
    k_edge_mev: f64,
    l1_edge_mev: f64,
    k_fluor_yield: f64,
    /// Probability that the K shell absorbs, given E above the K edge: 1 − 1/J_K.
    k_shell_fraction: f64,
    /// K lines (energy \[MeV\], cumulative probability) normalised over the listed lines.
    lines: [(f64, f64); 4],
}

#[derive(Debug)]
struct PhotonData {
    elements: Vec<ElementXs>,
    x_grid: Vec<f64>,
    /// Incoherent scattering function S(x) per element (index Z − 1).
    sf: Vec<Vec<f64>>,
    /// Atomic form factor F(x) per element.
    ff: Vec<Vec<f64>>,
    atomic: Vec<ElementAtomic>,
}

fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('z'))
}

fn parse_numbers(fields: &[&str]) -> Vec<f64> {
    fields
        .iter()
        .map(|f| {
            f.trim()
                .parse::<f64>()
                .expect("embedded photon data: bad number")
        })
        .collect()
}

fn photon_data() -> &'static PhotonData {
    static DATA: OnceLock<PhotonData> = OnceLock::new();
    DATA.get_or_init(|| {
        let mut elements: Vec<ElementXs> = (0..100)
            .map(|_| ElementXs {
                e_mev: Vec::new(),
                xs: [Vec::new(), Vec::new(), Vec::new(), Vec::new()],
            })
            .collect();
        for line in data_lines(XCOM_CSV) {
            let f: Vec<&str> = line.split(',').collect();
            let v = parse_numbers(&f);
            let el = &mut elements[v[0] as usize - 1];
            el.e_mev.push(v[1]);
            el.xs[0].push(v[2]);
            el.xs[1].push(v[3]);
            el.xs[2].push(v[4]);
            el.xs[3].push(v[5] + v[6]);
        }
        let mut x_grid = Vec::new();
        let mut sf = vec![Vec::new(); 100];
        let mut ff = vec![Vec::new(); 100];
        for line in data_lines(SF_FF_CSV) {
            let f: Vec<&str> = line.split(',').collect();
            let z: usize = f[0].parse().expect("embedded photon data: bad Z");
            let vals = parse_numbers(&f[2..]);
            match f[1] {
                "x" => x_grid = vals,
                "S" => sf[z - 1] = vals,
                "F" => ff[z - 1] = vals,
                other => panic!("embedded photon data: unknown row kind {other}"),
            }
        }
        let mut atomic = vec![ElementAtomic::default(); 100];
        for line in data_lines(ATOMIC_CSV) {
            let f: Vec<&str> = line.split(',').collect();
            let v = parse_numbers(&f);
            let z = v[0] as usize;
            let jump = v[4];
            let mut lines = [(0.0, 0.0); 4];
            let total: f64 = (0..4).map(|i| v[6 + 2 * i]).sum();
            let mut cum = 0.0;
            for (i, l) in lines.iter_mut().enumerate() {
                cum += v[6 + 2 * i];
                *l = (
                    v[5 + 2 * i] * 1e-3,
                    if total > 0.0 { cum / total } else { 0.0 },
                );
            }
            atomic[z - 1] = ElementAtomic {
                k_edge_mev: v[1] * 1e-3,
                l1_edge_mev: v[2] * 1e-3,
                k_fluor_yield: if total > 0.0 { v[3] } else { 0.0 },
                k_shell_fraction: if jump > 1.0 { 1.0 - 1.0 / jump } else { 0.0 },
                lines,
            };
        }
        PhotonData {
            elements,
            x_grid,
            sf,
            ff,
            atomic,
        }
    })
}

/// Interval index i with `grid[i] <= x < grid[i+1]`, clamped to `[0, len − 2]`.
#[inline]
fn interval(grid: &[f64], x: f64) -> usize {
    let n = grid.len();
    grid.partition_point(|&g| g <= x).clamp(1, n - 1) - 1
}

/// Log–log interpolation between (x0, y0) and (x1, y1); linear where a value is zero.
#[inline]
fn loglog(x0: f64, x1: f64, y0: f64, y1: f64, x: f64) -> f64 {
    if y0 > 0.0 && y1 > 0.0 && x0 > 0.0 {
        let t = (x / x0).ln() / (x1 / x0).ln();
        y0 * (y1 / y0).powf(t)
    } else if x1 > x0 {
        (y0 + (y1 - y0) * (x - x0) / (x1 - x0)).max(0.0)
    } else {
        y0
    }
}

impl ElementXs {
    /// Cross section \[barn/atom\] of process `p` at `e_mev` (log–log; extrapolated outside).
    fn sigma(&self, p: usize, e_mev: f64) -> f64 {
        let i = interval(&self.e_mev, e_mev);
        loglog(
            self.e_mev[i],
            self.e_mev[i + 1],
            self.xs[p][i],
            self.xs[p][i + 1],
            e_mev,
        )
    }
}

/// Value of a tabulated function of x (S or F) at x \[1/Å\]: log–log inside, the last value
/// beyond the grid for S (S → Z) and 0 beyond it for F.
#[inline]
fn x_function(x_grid: &[f64], y: &[f64], x: f64, beyond: Option<f64>) -> f64 {
    let n = x_grid.len();
    if x >= x_grid[n - 1] {
        return beyond.unwrap_or(y[n - 1]);
    }
    let i = interval(x_grid, x);
    loglog(x_grid[i], x_grid[i + 1], y[i], y[i + 1], x)
}

// ---------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------

/// A photon interaction process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhotonProcess {
    /// Coherent (Rayleigh) scattering.
    Coherent,
    /// Incoherent (Compton) scattering.
    Incoherent,
    /// Photoelectric absorption.
    Photoelectric,
    /// Pair production (nuclear and electron field).
    Pair,
}

impl PhotonProcess {
    /// All processes in table order.
    pub const ALL: [PhotonProcess; 4] = [
        PhotonProcess::Coherent,
        PhotonProcess::Incoherent,
        PhotonProcess::Photoelectric,
        PhotonProcess::Pair,
    ];
    fn index(self) -> usize {
        self as usize
    }
}

/// Kind of a secondary particle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondaryKind {
    /// An electron (photoelectron, Compton electron, pair electron).
    Electron,
    /// A positron (pair production); annihilates at rest after slowing down.
    Positron,
    /// A photon (fluorescence X-ray).
    Photon,
}

/// A secondary particle created at an interaction point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Secondary {
    /// What it is.
    pub kind: SecondaryKind,
    /// Kinetic energy \[MeV\].
    pub e_mev: f64,
    /// Unit direction.
    pub dir: [f64; 3],
}

const NO_SECONDARY: Secondary = Secondary {
    kind: SecondaryKind::Electron,
    e_mev: 0.0,
    dir: [0.0, 0.0, 1.0],
};

/// The outcome of one photon interaction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interaction {
    /// Which process happened.
    pub process: PhotonProcess,
    /// Energy of the photon after the interaction \[MeV\]; 0 when it was absorbed.
    pub photon_e_mev: f64,
    /// Direction of the photon after the interaction (unchanged when absorbed).
    pub photon_dir: [f64; 3],
    /// Secondaries; the first [`Interaction::n_secondaries`] are valid.
    pub secondaries: [Secondary; MAX_SECONDARIES],
    /// Number of valid secondaries.
    pub n_secondaries: usize,
    /// Energy deposited on the spot (binding energies, Auger cascades) \[MeV\].
    pub local_mev: f64,
    /// Rest energy converted into particles (2m_ec² for pair production, else 0) \[MeV\];
    /// given back as annihilation photons when the positron stops.
    pub rest_mass_mev: f64,
}

impl Interaction {
    fn new(process: PhotonProcess, dir: [f64; 3]) -> Self {
        Interaction {
            process,
            photon_e_mev: 0.0,
            photon_dir: dir,
            secondaries: [NO_SECONDARY; MAX_SECONDARIES],
            n_secondaries: 0,
            local_mev: 0.0,
            rest_mass_mev: 0.0,
        }
    }
    fn push(&mut self, kind: SecondaryKind, e_mev: f64, dir: [f64; 3]) {
        self.secondaries[self.n_secondaries] = Secondary { kind, e_mev, dir };
        self.n_secondaries += 1;
    }
    /// The valid secondaries.
    pub fn secondaries(&self) -> &[Secondary] {
        &self.secondaries[..self.n_secondaries]
    }
    /// Energy accounted for after the interaction \[MeV\]: photon + secondaries + local +
    /// rest mass (equals the incoming photon energy).
    pub fn energy_out_mev(&self) -> f64 {
        self.photon_e_mev
            + self.secondaries().iter().map(|s| s.e_mev).sum::<f64>()
            + self.local_mev
            + self.rest_mass_mev
    }
}

/// Rotates unit vector `dir` by polar angle θ (given as cos θ) and azimuth φ \[rad\]: the
/// electrons' rotation, [`crate::msc::rotate`].
pub use crate::msc::rotate;

/// Two back-to-back 511 keV photons of a positron annihilating at rest, in a random direction.
pub fn annihilation_photons(rng: &mut Rng) -> [Secondary; 2] {
    let d = rng.isotropic();
    let ph = |dir| Secondary {
        kind: SecondaryKind::Photon,
        e_mev: ELECTRON_MASS_MEV,
        dir,
    };
    [ph(d), ph([-d[0], -d[1], -d[2]])]
}

/// Samples ε = E′/E of free-electron Klein–Nishina scattering for k = E/(m_ec²)
/// (Butcher–Messel); returns (ε, cos θ).
#[inline]
pub fn sample_klein_nishina(k: f64, rng: &mut Rng) -> (f64, f64) {
    loop {
        let (eps, c) = kn_candidate(k, rng);
        let onecost = 1.0 - c;
        let sint2 = onecost * (2.0 - onecost);
        if rng.uniform() <= 1.0 - eps * sint2 / (1.0 + eps * eps) {
            return (eps, c);
        }
    }
}

#[inline]
fn kn_candidate(k: f64, rng: &mut Rng) -> (f64, f64) {
    let e0 = 1.0 / (1.0 + 2.0 * k);
    let e0sq = e0 * e0;
    let a1 = -e0.ln();
    let a2 = 0.5 * (1.0 - e0sq);
    let eps = if rng.uniform() * (a1 + a2) < a1 {
        (-a1 * rng.uniform()).exp()
    } else {
        (e0sq + (1.0 - e0sq) * rng.uniform()).sqrt()
    };
    let eps = eps.clamp(e0, 1.0);
    (eps, 1.0 - (1.0 - eps) / (eps * k))
}

/// Klein–Nishina dσ/dε up to a constant, for the tests and μ_tr: (1/ε + ε)(1 − ε sin²θ/(1+ε²)).
pub fn klein_nishina_dcs_eps(k: f64, eps: f64) -> f64 {
    let onecost = (1.0 - eps) / (eps * k);
    let sint2 = onecost * (2.0 - onecost);
    (1.0 / eps + eps) * (1.0 - eps * sint2 / (1.0 + eps * eps))
}

/// Samples cos θ of a photoelectron of kinetic energy `t_mev` from the Sauter K-shell
/// distribution.
pub fn sample_sauter(t_mev: f64, rng: &mut Rng) -> f64 {
    let gamma = 1.0 + t_mev / ELECTRON_MASS_MEV;
    let beta = (t_mev * (t_mev + 2.0 * ELECTRON_MASS_MEV)).sqrt() / (t_mev + ELECTRON_MASS_MEV);
    if beta < 1e-6 {
        return 2.0 * rng.uniform() - 1.0; // not reached for T ≥ 1 eV; isotropic limit anyway
    }
    let a = 1.0 / beta - 1.0;
    let b = 0.5 * beta * gamma * (gamma - 1.0) * (gamma - 2.0);
    let gmax = 2.0 * (1.0 / a + b);
    loop {
        let r = 2.0 * rng.uniform().sqrt() / (a + 2.0);
        let nu = a * r / (1.0 - r);
        let g = (2.0 - nu) * (1.0 / (a + nu) + b);
        if rng.uniform() * gmax <= g {
            return (1.0 - nu).clamp(-1.0, 1.0);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Material tables
// ---------------------------------------------------------------------------------------

/// Photon tables of one material (read-only, shared by all transport threads).
#[derive(Debug, Clone)]
pub struct PhotonTables {
    name: String,
    /// Energy grid \[MeV\].
    e_mev: Vec<f64>,
    /// Mass attenuation by process [cm²/g] on the grid, [`PhotonProcess`] order.
    mu: [Vec<f64>; 4],
    /// Total μ/ρ [cm²/g].
    mu_total: Vec<f64>,
    /// μ_tr/ρ [cm²/g] (energy given to electrons and deposited on the spot).
    mu_tr: Vec<f64>,
    /// Look-up accelerator: first grid index of each uniform log bin.
    bin_start: Vec<u32>,
    /// Elements (Z, atoms per gram / N_A = w/A [mol/g]).
    elements: Vec<(u32, f64)>,
    /// Molecular S(x)/Z_mol on the x grid (in [0, 1]).
    s_norm: Vec<f64>,
    /// u = x² nodes [1/Å²] of the coherent sampling table.
    u: Vec<f64>,
    /// Molecular F²(x) at the u nodes (per mole of atoms, arbitrary scale).
    f2: Vec<f64>,
    /// Power-law exponent of F² in u on each interval.
    f2_pow: Vec<f64>,
    /// Cumulative ∫F² du at the u nodes.
    f2_cum: Vec<f64>,
}

fn bin_of(e_mev: f64) -> f64 {
    (e_mev / E_MIN_MEV).ln() * (BINS_PER_DECADE / std::f64::consts::LN_10)
}

fn n_bins() -> usize {
    (BINS_PER_DECADE * (E_MAX_MEV / E_MIN_MEV).log10()).round() as usize
}

fn bin_edge(k: usize) -> f64 {
    E_MIN_MEV * 10f64.powf(k as f64 / BINS_PER_DECADE)
}

impl PhotonTables {
    /// Builds the tables of `material` (validated first; the error names the material).
    pub fn new(material: &Material) -> Result<PhotonTables, PhysicsError> {
        let material = material
            .clone()
            .validated()
            .map_err(|e| PhysicsError::InvalidMaterial(e.to_string()))?;
        let data = photon_data();
        let mut elements = Vec::new();
        for &(z, w) in &material.composition {
            let el = element(z).ok_or(PhysicsError::UnsupportedElement {
                material: material.name.clone(),
                z,
            })?;
            if z == 0
                || z as usize > data.elements.len()
                || data.elements[z as usize - 1].e_mev.len() < 2
            {
                return Err(PhysicsError::UnsupportedElement {
                    material: material.name.clone(),
                    z,
                });
            }
            if w > 0.0 {
                elements.push((z, w / el.atomic_mass_g_mol));
            }
        }
        // Energy grid: uniform log grid ∪ every element node inside [E_MIN, E_MAX].
        let n_uniform = (GRID_PER_DECADE * (E_MAX_MEV / E_MIN_MEV).log10()).round() as usize;
        let mut grid: Vec<f64> = (0..=n_uniform)
            .map(|i| E_MIN_MEV * 10f64.powf(i as f64 / GRID_PER_DECADE))
            .collect();
        for &(z, _) in &elements {
            grid.extend(
                data.elements[z as usize - 1]
                    .e_mev
                    .iter()
                    .copied()
                    .filter(|&e| (E_MIN_MEV..=E_MAX_MEV).contains(&e)),
            );
        }
        grid.sort_by(f64::total_cmp);
        grid.dedup_by(|a, b| (*a - *b).abs() <= 1e-12 * b.abs());
        let mut mu: [Vec<f64>; 4] = Default::default();
        for (p, m) in mu.iter_mut().enumerate() {
            *m = grid
                .iter()
                .map(|&e| {
                    elements
                        .iter()
                        .map(|&(z, n)| {
                            n * AVOGADRO * BARN_CM2 * data.elements[z as usize - 1].sigma(p, e)
                        })
                        .sum()
                })
                .collect();
        }
        let mu_total: Vec<f64> = (0..grid.len())
            .map(|i| mu.iter().map(|m| m[i]).sum())
            .collect();
        // Molecular S/Z and F² on the x grid.
        let x = &data.x_grid;
        let z_mol: f64 = elements.iter().map(|&(z, n)| n * z as f64).sum();
        let s_norm: Vec<f64> = (0..x.len())
            .map(|j| {
                let s: f64 = elements
                    .iter()
                    .map(|&(z, n)| n * data.sf[z as usize - 1][j])
                    .sum();
                (s / z_mol).clamp(0.0, 1.0)
            })
            .collect();
        let u: Vec<f64> = x.iter().map(|v| v * v).collect();
        let f2: Vec<f64> = (0..x.len())
            .map(|j| {
                elements
                    .iter()
                    .map(|&(z, n)| n * data.ff[z as usize - 1][j].powi(2))
                    .sum()
            })
            .collect();
        let mut f2_pow = vec![0.0; u.len()];
        let mut f2_cum = vec![0.0; u.len()];
        for j in 0..u.len() - 1 {
            // first interval [0, u1]: F² constant (= F²(u1) ≈ F²(0)); then power laws in u
            let (pw, integral) = if u[j] <= 0.0 || f2[j] <= 0.0 || f2[j + 1] <= 0.0 {
                (0.0, 0.5 * (f2[j] + f2[j + 1]) * (u[j + 1] - u[j]))
            } else {
                let pw = (f2[j + 1] / f2[j]).ln() / (u[j + 1] / u[j]).ln();
                (pw, power_integral(u[j], f2[j], pw, u[j + 1]))
            };
            f2_pow[j] = pw;
            f2_cum[j + 1] = f2_cum[j] + integral;
        }
        let mut t = PhotonTables {
            name: material.name.clone(),
            e_mev: grid,
            mu,
            mu_total,
            mu_tr: Vec::new(),
            bin_start: Vec::new(),
            elements,
            s_norm,
            u,
            f2,
            f2_pow,
            f2_cum,
        };
        t.bin_start = (0..=n_bins())
            .map(|k| interval(&t.e_mev, bin_edge(k) * (1.0 + 1e-12)) as u32)
            .collect();
        t.mu_tr = t.e_mev.iter().map(|&e| t.mu_tr_from_models(e)).collect();
        Ok(t)
    }

    /// Material name.
    pub fn material_name(&self) -> &str {
        &self.name
    }

    /// The energy grid \[MeV\] (sorted; both sides of each absorption edge).
    pub fn energy_grid_mev(&self) -> &[f64] {
        &self.e_mev
    }

    /// Interval of the grid holding `e_mev`.
    #[inline]
    fn locate(&self, e_mev: f64) -> usize {
        let n = self.e_mev.len();
        if !(E_MIN_MEV..E_MAX_MEV).contains(&e_mev) {
            return if e_mev < E_MIN_MEV { 0 } else { n - 2 };
        }
        let mut i = self.bin_start[bin_of(e_mev) as usize] as usize;
        while i + 2 < n && self.e_mev[i + 1] <= e_mev {
            i += 1;
        }
        i
    }

    #[inline]
    fn interp(&self, y: &[f64], i: usize, e_mev: f64) -> f64 {
        loglog(self.e_mev[i], self.e_mev[i + 1], y[i], y[i + 1], e_mev)
    }

    /// Total mass attenuation coefficient μ/ρ \[cm²/g\] at `e_mev` \[MeV\] (coherent included).
    #[inline]
    pub fn mu_total_cm2_g(&self, e_mev: f64) -> f64 {
        let i = self.locate(e_mev);
        self.interp(&self.mu_total, i, e_mev)
    }

    /// μ/ρ of one process \[cm²/g\] at `e_mev` \[MeV\].
    pub fn mu_cm2_g(&self, process: PhotonProcess, e_mev: f64) -> f64 {
        let i = self.locate(e_mev);
        self.interp(&self.mu[process.index()], i, e_mev)
    }

    /// Mass energy-transfer coefficient μ_tr/ρ \[cm²/g\] of this model at `e_mev` \[MeV\]:
    /// the share of the photon energy given to electrons and positrons or deposited on the
    /// spot (fluorescence X-rays, scattered photons and the 2m_ec² of pairs excluded). With
    /// the radiative losses of the secondaries neglected this is the kerma coefficient
    /// (μ_en/ρ = μ_tr/ρ·(1 − g), g < 0.5 % in water below 3 MeV).
    pub fn mu_tr_cm2_g(&self, e_mev: f64) -> f64 {
        let i = self.locate(e_mev);
        self.interp(&self.mu_tr, i, e_mev)
    }

    /// Molecular S(x)/Z at x \[1/Å\] (0 at x = 0, → 1 at large x).
    #[inline]
    pub fn incoherent_sf_norm(&self, x: f64) -> f64 {
        x_function(&photon_data().x_grid, &self.s_norm, x, None)
    }

    /// Molecular squared form factor Σ n_i F_i²(x) at x \[1/Å\] (arbitrary scale: n_i in
    /// mol of atoms per gram), the angular shape of coherent scattering.
    pub fn coherent_ff2(&self, x: f64) -> f64 {
        let u = x * x;
        let n = self.u.len();
        if u >= self.u[n - 1] {
            return 0.0;
        }
        let j = interval(&self.u, u);
        if self.u[j] <= 0.0 || self.f2[j] <= 0.0 || self.f2[j + 1] <= 0.0 {
            self.f2[j]
                + (self.f2[j + 1] - self.f2[j]) * (u - self.u[j]) / (self.u[j + 1] - self.u[j])
        } else {
            self.f2[j] * (u / self.u[j]).powf(self.f2_pow[j])
        }
    }

    /// μ_tr/ρ from the sampling models (numerical integration), used to fill the table.
    fn mu_tr_from_models(&self, e_mev: f64) -> f64 {
        let data = photon_data();
        let mut tr = 0.0;
        // photoelectric: all but the fluorescence X-rays
        for &(z, n) in &self.elements {
            let sig = data.elements[z as usize - 1].sigma(2, e_mev);
            let at = &data.atomic[z as usize - 1];
            let mut fluor = 0.0;
            if e_mev > at.k_edge_mev && at.k_fluor_yield > 0.0 {
                let mut prev = 0.0;
                let mut mean_line = 0.0;
                for &(el, cum) in &at.lines {
                    mean_line += el * (cum - prev);
                    prev = cum;
                }
                fluor = at.k_shell_fraction * at.k_fluor_yield * mean_line;
            }
            tr += n * AVOGADRO * BARN_CM2 * sig * (1.0 - fluor / e_mev);
        }
        // incoherent: mean electron energy of KN × S(x)/Z, Simpson in ε
        let mu_inc = self.interp(&self.mu[1], self.locate(e_mev), e_mev);
        let k = e_mev / ELECTRON_MASS_MEV;
        let e0 = 1.0 / (1.0 + 2.0 * k);
        let m = 400;
        let (mut num, mut den) = (0.0, 0.0);
        // integrate in ln ε (the 1/ε part dominates at high energy)
        let (l0, l1) = (e0.ln(), 0.0f64);
        for j in 0..=m {
            let le = l0 + (l1 - l0) * j as f64 / m as f64;
            let eps = le.exp();
            let c = 1.0 - (1.0 - eps) / (eps * k);
            let x = e_mev * 1e3 / HC_KEV_ANGSTROM * (0.5 * (1.0 - c)).max(0.0).sqrt();
            let w = if j == 0 || j == m {
                1.0
            } else if j % 2 == 1 {
                4.0
            } else {
                2.0
            };
            let f = w * eps * klein_nishina_dcs_eps(k, eps) * self.incoherent_sf_norm(x);
            num += f * (1.0 - eps);
            den += f;
        }
        if den > 0.0 {
            tr += mu_inc * num / den;
        }
        // pair
        let mu_pair = self.interp(&self.mu[3], self.locate(e_mev), e_mev);
        if e_mev > 2.0 * ELECTRON_MASS_MEV {
            tr += mu_pair * (1.0 - 2.0 * ELECTRON_MASS_MEV / e_mev);
        }
        tr
    }

    /// Samples which process happens at an interaction at `e_mev` \[MeV\].
    #[inline]
    pub fn sample_process(&self, e_mev: f64, rng: &mut Rng) -> PhotonProcess {
        let i = self.locate(e_mev);
        let parts = [
            self.interp(&self.mu[0], i, e_mev),
            self.interp(&self.mu[1], i, e_mev),
            self.interp(&self.mu[2], i, e_mev),
            self.interp(&self.mu[3], i, e_mev),
        ];
        let mut r = rng.uniform() * (parts[0] + parts[1] + parts[2] + parts[3]);
        for (p, v) in PhotonProcess::ALL.iter().zip(parts) {
            if r < v {
                return *p;
            }
            r -= v;
        }
        // rounding: the last process with a non-zero share
        *PhotonProcess::ALL
            .iter()
            .zip(parts)
            .rev()
            .find(|(_, v)| *v > 0.0)
            .map(|(p, _)| p)
            .unwrap_or(&PhotonProcess::Incoherent)
    }

    /// One interaction of a photon of `e_mev` \[MeV\] travelling along `dir`: samples the
    /// process, then its outcome.
    pub fn interact(&self, e_mev: f64, dir: [f64; 3], rng: &mut Rng) -> Interaction {
        match self.sample_process(e_mev, rng) {
            PhotonProcess::Coherent => self.sample_coherent(e_mev, dir, rng),
            PhotonProcess::Incoherent => self.sample_incoherent(e_mev, dir, rng),
            PhotonProcess::Photoelectric => self.sample_photoelectric(e_mev, dir, rng),
            PhotonProcess::Pair => self.sample_pair(e_mev, dir, rng),
        }
    }

    /// Incoherent scattering: Klein–Nishina × S(x)/Z; the photon and a Compton electron.
    pub fn sample_incoherent(&self, e_mev: f64, dir: [f64; 3], rng: &mut Rng) -> Interaction {
        let k = e_mev / ELECTRON_MASS_MEV;
        let x_max = e_mev * 1e3 / HC_KEV_ANGSTROM;
        let (eps, c) = loop {
            let (eps, c) = kn_candidate(k, rng);
            let onecost = 1.0 - c;
            let sint2 = onecost * (2.0 - onecost);
            let g = 1.0 - eps * sint2 / (1.0 + eps * eps);
            let s = self.incoherent_sf_norm(x_max * (0.5 * onecost).max(0.0).sqrt());
            if rng.uniform() <= g * s {
                break (eps, c);
            }
        };
        let phi = std::f64::consts::TAU * rng.uniform();
        let e1 = eps * e_mev;
        let t = e_mev - e1;
        let mut out = Interaction::new(PhotonProcess::Incoherent, rotate(dir, c, phi));
        out.photon_e_mev = e1;
        if t > 0.0 {
            let ce =
                ((1.0 + k) * ((1.0 - eps) / (k * (2.0 + k * (1.0 - eps)))).sqrt()).clamp(-1.0, 1.0);
            out.push(
                SecondaryKind::Electron,
                t,
                rotate(dir, ce, phi + std::f64::consts::PI),
            );
        }
        out
    }

    /// Coherent scattering: x² from F², accepted with (1 + cos²θ)/2.
    pub fn sample_coherent(&self, e_mev: f64, dir: [f64; 3], rng: &mut Rng) -> Interaction {
        let x_max = e_mev * 1e3 / HC_KEV_ANGSTROM;
        let u_max = x_max * x_max;
        let n = self.u.len();
        let j_max = interval(&self.u, u_max);
        let cum_max = if u_max >= self.u[n - 1] {
            self.f2_cum[n - 1]
        } else {
            self.f2_cum[j_max] + self.segment_integral(j_max, u_max)
        };
        let c = loop {
            let target = rng.uniform() * cum_max;
            let j = self
                .f2_cum
                .partition_point(|&v| v <= target)
                .clamp(1, n - 1)
                - 1;
            let u = self.invert_segment(j, target - self.f2_cum[j]).min(u_max);
            let c = 1.0 - 2.0 * u / u_max;
            if rng.uniform() * 2.0 <= 1.0 + c * c {
                break c;
            }
        };
        let phi = std::f64::consts::TAU * rng.uniform();
        let mut out = Interaction::new(PhotonProcess::Coherent, rotate(dir, c, phi));
        out.photon_e_mev = e_mev;
        out
    }

    fn segment_integral(&self, j: usize, u: f64) -> f64 {
        if self.u[j] <= 0.0 || self.f2[j] <= 0.0 || self.f2[j + 1] <= 0.0 {
            let slope = (self.f2[j + 1] - self.f2[j]) / (self.u[j + 1] - self.u[j]);
            let du = u - self.u[j];
            self.f2[j] * du + 0.5 * slope * du * du
        } else {
            power_integral(self.u[j], self.f2[j], self.f2_pow[j], u)
        }
    }

    /// u in segment j where ∫_{u_j}^{u} F² du = `a`.
    fn invert_segment(&self, j: usize, a: f64) -> f64 {
        let (u0, u1, y0, y1) = (self.u[j], self.u[j + 1], self.f2[j], self.f2[j + 1]);
        if u0 <= 0.0 || y0 <= 0.0 || y1 <= 0.0 {
            let slope = (y1 - y0) / (u1 - u0);
            let du = if slope.abs() < 1e-300 {
                a / y0
            } else {
                (-y0 + (y0 * y0 + 2.0 * slope * a).max(0.0).sqrt()) / slope
            };
            (u0 + du).clamp(u0, u1)
        } else {
            let p = self.f2_pow[j];
            let u = if (p + 1.0).abs() < 1e-9 {
                u0 * (a / (y0 * u0)).exp()
            } else {
                u0 * (1.0 + a * (p + 1.0) / (y0 * u0))
                    .max(0.0)
                    .powf(1.0 / (p + 1.0))
            };
            u.clamp(u0, u1)
        }
    }

    /// Photoelectric absorption (see the module notes for the relaxation model).
    pub fn sample_photoelectric(&self, e_mev: f64, dir: [f64; 3], rng: &mut Rng) -> Interaction {
        let data = photon_data();
        let mut out = Interaction::new(PhotonProcess::Photoelectric, dir);
        // absorbing element
        let mut z_abs = self.elements[0].0;
        if self.elements.len() > 1 {
            let mut weights = [0.0f64; 100];
            let mut total = 0.0;
            for (w, &(z, n)) in weights.iter_mut().zip(&self.elements) {
                *w = n * data.elements[z as usize - 1].sigma(2, e_mev);
                total += *w;
            }
            let mut r = rng.uniform() * total;
            for (&w, &(z, _)) in weights.iter().zip(&self.elements) {
                z_abs = z;
                if r < w {
                    break;
                }
                r -= w;
            }
        }
        let at = &data.atomic[z_abs as usize - 1];
        let mut binding = 0.0;
        if e_mev > at.k_edge_mev && at.k_edge_mev > 0.0 && rng.uniform() < at.k_shell_fraction {
            binding = at.k_edge_mev;
            if at.k_fluor_yield > 0.0 && rng.uniform() < at.k_fluor_yield {
                let r = rng.uniform();
                let line = at.lines.iter().find(|l| r < l.1).map_or(0.0, |l| l.0);
                if line > 0.0 && line < binding {
                    out.push(SecondaryKind::Photon, line, rng.isotropic());
                }
            }
        } else if e_mev > at.l1_edge_mev && at.l1_edge_mev > 0.0 {
            binding = at.l1_edge_mev;
        }
        let t = e_mev - binding;
        if t > 0.0 {
            let c = sample_sauter(t, rng);
            let phi = std::f64::consts::TAU * rng.uniform();
            out.push(SecondaryKind::Electron, t, rotate(dir, c, phi));
        }
        // exact balance: whatever rounding left goes on the spot
        out.local_mev =
            e_mev - out.secondaries().iter().map(|s| s.e_mev).sum::<f64>() - out.photon_e_mev;
        out
    }

    /// Pair production: T = E − 2m_ec² shared uniformly, e⁻ and e⁺ along the photon.
    pub fn sample_pair(&self, e_mev: f64, dir: [f64; 3], rng: &mut Rng) -> Interaction {
        let mut out = Interaction::new(PhotonProcess::Pair, dir);
        let rest = 2.0 * ELECTRON_MASS_MEV;
        if e_mev <= rest {
            // cannot happen with tabulated cross sections (zero below threshold)
            out.local_mev = e_mev;
            return out;
        }
        let t = e_mev - rest;
        let te = t * rng.uniform();
        out.push(SecondaryKind::Electron, te, dir);
        out.push(SecondaryKind::Positron, t - te, dir);
        out.rest_mass_mev = rest;
        out
    }
}

/// ∫_{u0}^{u} y0 (v/u0)^p dv.
#[inline]
fn power_integral(u0: f64, y0: f64, p: f64, u: f64) -> f64 {
    if (p + 1.0).abs() < 1e-9 {
        y0 * u0 * (u / u0).ln()
    } else {
        y0 * u0 / (p + 1.0) * ((u / u0).powf(p + 1.0) - 1.0)
    }
}

// ---------------------------------------------------------------------------------------
// Woodcock majorant
// ---------------------------------------------------------------------------------------

/// The Woodcock majorant μ_max(E) \[1/cm\]: for each bin of a uniform log grid (100 per
/// decade) the largest linear attenuation coefficient of any of the given materials at its
/// largest density anywhere in the bin. Piecewise constant, so μ_max(E) ≥ μ(r, E) holds
/// exactly (the tables are monotone between their nodes).
#[derive(Debug, Clone)]
pub struct Majorant {
    values: Vec<f64>,
    /// (tables index, max density) for energies outside the binned range.
    materials: Vec<(PhotonTables, f64)>,
}

impl Majorant {
    /// The majorant over `materials` given as (tables, largest density \[g/cm³\] of the
    /// material in the phantom).
    pub fn new(materials: &[(&PhotonTables, f64)]) -> Majorant {
        let nb = n_bins();
        let mut values = vec![0.0f64; nb];
        for &(t, rho) in materials {
            for (k, v) in values.iter_mut().enumerate() {
                let (lo, hi) = (bin_edge(k), bin_edge(k + 1));
                let mut m = t.mu_total_cm2_g(lo).max(t.mu_total_cm2_g(hi));
                // nodes inside the bin (both sides of edges)
                let start = t.locate(lo);
                for i in start..t.e_mev.len() {
                    if t.e_mev[i] > hi {
                        break;
                    }
                    if t.e_mev[i] >= lo {
                        m = m.max(t.mu_total[i]);
                    }
                }
                *v = v.max(m * rho * (1.0 + 1e-9));
            }
        }
        Majorant {
            values,
            materials: materials.iter().map(|&(t, r)| (t.clone(), r)).collect(),
        }
    }

    /// μ_max \[1/cm\] at `e_mev` \[MeV\].
    #[inline]
    pub fn mu_max_per_cm(&self, e_mev: f64) -> f64 {
        if (E_MIN_MEV..E_MAX_MEV).contains(&e_mev) {
            self.values[(bin_of(e_mev) as usize).min(self.values.len() - 1)]
        } else {
            self.materials
                .iter()
                .map(|(t, r)| t.mu_total_cm2_g(e_mev) * r)
                .fold(0.0, f64::max)
                * (1.0 + 1e-9)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xfire_data::materials::builtin;

    #[test]
    fn embedded_data_complete() {
        let d = photon_data();
        for (i, el) in d.elements.iter().enumerate() {
            assert!(el.e_mev.len() > 120, "Z = {}", i + 1);
            assert!(el.e_mev.windows(2).all(|w| w[0] <= w[1]));
            assert!((el.e_mev[0] - E_MIN_MEV).abs() < 1e-9);
            assert!((el.e_mev.last().unwrap() - E_MAX_MEV).abs() < 1e-6);
            assert_eq!(d.sf[i].len(), d.x_grid.len());
            assert_eq!(d.ff[i].len(), d.x_grid.len());
            assert!((d.ff[i][0] - (i + 1) as f64).abs() < 1e-9);
        }
        // every cross section finite; photoelectric positive everywhere and decreasing above
        // the K edge (where XCOM's spline is used; L and M sub-shell regions may rise)
        for (i, el) in d.elements.iter().enumerate() {
            for p in 0..4 {
                assert!(
                    el.xs[p].iter().all(|v| v.is_finite() && *v >= 0.0),
                    "Z = {}",
                    i + 1
                );
            }
            assert!(el.xs[2].iter().all(|v| *v > 0.0), "Z = {}", i + 1);
            let k = d.atomic[i].k_edge_mev * (1.0 + 1e-4);
            for j in 0..el.e_mev.len() - 1 {
                let (e0, e1) = (el.e_mev[j], el.e_mev[j + 1]);
                // (xraylib's and XCOM's K-edge energies differ by up to ~0.1 %; both sides
                // of an edge are 0.1 eV apart)
                if e0 > k * 1.002 && e1 > e0 * (1.0 + 1e-5) {
                    let (s0, s1) = (el.xs[2][j], el.xs[2][j + 1]);
                    assert!(
                        s1 <= s0 * 1.001,
                        "Z = {}: photo rises from {e0} to {e1} MeV",
                        i + 1
                    );
                }
            }
        }
        // iodine K edge 33.17 keV: jump ratio ≈ 6 in the photoelectric cross section
        let i53 = &d.elements[52];
        let below = i53.sigma(2, 0.033_169_3);
        let above = i53.sigma(2, 0.033_169_5);
        assert!((above / below - 6.04).abs() < 0.2, "{above} / {below}");
        // calcium: K edge 4.038 keV, fluorescence yield 0.169
        let ca = &d.atomic[19];
        assert!((ca.k_edge_mev - 4.0381e-3).abs() < 1e-7);
        assert!((ca.k_fluor_yield - 0.1687).abs() < 1e-4);
    }

    #[test]
    fn lookup_matches_bisection() {
        let t = PhotonTables::new(&builtin("bone_cortical").unwrap()).unwrap();
        let mut rng = Rng::for_stream(1, 0, 0);
        for _ in 0..20000 {
            let e = E_MIN_MEV * (E_MAX_MEV / E_MIN_MEV).powf(rng.uniform());
            let i = t.locate(e);
            assert_eq!(i, interval(&t.e_mev, e), "e = {e}");
        }
        // exactly on the accelerator's bin edges and on the grid nodes
        let nodes = t.e_mev.clone();
        for e in (0..=n_bins())
            .map(bin_edge)
            .chain(nodes)
            .chain([0.1, 0.03, 1.0, 3.0])
        {
            if (E_MIN_MEV..E_MAX_MEV).contains(&e) {
                assert_eq!(t.locate(e), interval(&t.e_mev, e), "e = {e}");
                assert!(t.mu_total_cm2_g(e).is_finite());
            }
        }
        // exactly at the K edge of Ca: the value above the edge
        let above = t.mu_cm2_g(PhotonProcess::Photoelectric, 4.0382e-3);
        let below = t.mu_cm2_g(PhotonProcess::Photoelectric, 4.0379e-3);
        assert!(above > 1.5 * below, "{above} {below}");
    }

    #[test]
    fn rotate_keeps_angle() {
        let mut rng = Rng::for_stream(2, 0, 0);
        for _ in 0..1000 {
            let d = rng.isotropic();
            let c = 2.0 * rng.uniform() - 1.0;
            let r = rotate(d, c, 6.0 * rng.uniform());
            let dot = d[0] * r[0] + d[1] * r[1] + d[2] * r[2];
            assert!((dot - c).abs() < 1e-9);
            assert!(((r[0] * r[0] + r[1] * r[1] + r[2] * r[2]) - 1.0).abs() < 1e-12);
        }
        let r = rotate([0.0, 0.0, -1.0], 0.5, 0.0);
        assert!((r[2] + 0.5).abs() < 1e-12);
    }
}
