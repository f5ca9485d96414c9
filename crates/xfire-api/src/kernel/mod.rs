//! Dose point kernels and voxel S-values in a homogeneous medium (`xfire kernel`): a
//! [`KernelRequest`] is checked into a [`KernelPlan`] (everything that can fail before
//! transport), which runs into a [`Kernel`]: energy, dose and relative uncertainty per
//! voxel and per symmetry class, the summary of `docs/formats/kernel.md`, and the files
//! `kernel.h5`, `kernel.csv` and the radial-profile figures ([`Kernel::write`]); and radial
//! dose point kernels scored in spherical shells ([`radial`]).

mod plan;
pub mod radial;
mod result;
mod write;

pub use plan::KernelPlan;
pub use radial::{RadialKernel, RadialPlan, RadialRequest};
pub use result::{Kernel, KernelFiles, KernelMeta, PHOTON_NOTE};

use xfire_data::nuclides::RadiationSet;
use xfire_physics::csda::ElectronModel;

use crate::{ApiError, Result};

/// Smallest voxel edge [cm] for which the `auto` electron cutoff is 10 keV (CSDA range
/// 2.5 µm, a tenth of such a voxel); finer grids get 1 keV (range 0.03 µm).
pub const AUTO_CONDENSED_MIN_VOXEL_CM: f64 = 25e-4;

/// Which emissions of the nuclide are transported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emissions {
    /// β⁻ and β⁺ spectra only.
    Beta,
    /// β spectra, internal-conversion and Auger electrons.
    Electrons,
    /// α lines and their recoil nuclei.
    Alpha,
    /// Everything: β, IC and Auger electrons, α, γ, X-ray and annihilation photons.
    All,
}

impl Emissions {
    /// Every choice, in the order of their names.
    pub const ALL: [Emissions; 4] = [Self::Beta, Self::Electrons, Self::Alpha, Self::All];

    /// The radiation set transported.
    pub fn set(self) -> RadiationSet {
        match self {
            Emissions::Beta => RadiationSet::beta(),
            Emissions::Electrons => RadiationSet::electrons(),
            Emissions::Alpha => RadiationSet::alpha(),
            Emissions::All => RadiationSet::ALL,
        }
    }

    /// The name in outputs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Emissions::Beta => "beta",
            Emissions::Electrons => "electrons",
            Emissions::Alpha => "alpha",
            Emissions::All => "all",
        }
    }
}

/// A mono-energetic particle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonoParticle {
    /// Electron.
    Electron,
    /// α particle.
    Alpha,
    /// Photon.
    Photon,
}

impl MonoParticle {
    /// Every choice.
    pub const ALL: [MonoParticle; 3] = [Self::Electron, Self::Alpha, Self::Photon];

    /// The name in outputs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            MonoParticle::Electron => "electron",
            MonoParticle::Alpha => "alpha",
            MonoParticle::Photon => "photon",
        }
    }
}

/// Where decays happen inside the centre voxel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// At the centre of the centre voxel (point kernel).
    Point,
    /// Uniform in the centre voxel (the voxel S-value definition).
    Voxel,
}

impl SourceKind {
    /// Every choice.
    pub const ALL: [SourceKind; 2] = [Self::Point, Self::Voxel];

    /// The name in outputs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Point => "point",
            SourceKind::Voxel => "voxel",
        }
    }
}

/// Electron transport model asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectronModelChoice {
    /// Condensed history (the cutoff from `electron_cut`, by default scaled to the voxel).
    Auto,
    /// Straight-line continuous slowing down (no scattering).
    Csda,
    /// Class-II condensed history (docs/physics.md).
    Condensed,
}

impl ElectronModelChoice {
    /// Every choice.
    pub const ALL: [ElectronModelChoice; 3] = [Self::Auto, Self::Csda, Self::Condensed];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ElectronModelChoice::Auto => "auto",
            ElectronModelChoice::Csda => "csda",
            ElectronModelChoice::Condensed => "condensed",
        }
    }

    /// The transport model.
    pub fn model(self) -> ElectronModel {
        match self {
            ElectronModelChoice::Csda => ElectronModel::CsdaStraightLine,
            ElectronModelChoice::Condensed | ElectronModelChoice::Auto => {
                ElectronModel::CondensedHistory
            }
        }
    }
}

/// What emits: a nuclide's emissions or one mono-energetic particle per decay.
#[derive(Debug, Clone, PartialEq)]
pub enum EmitterSpec {
    /// A radionuclide (any spelling: Lu-177, 177Lu, lu177).
    Nuclide {
        /// Its name.
        name: String,
        /// Which emissions are transported.
        emissions: Emissions,
    },
    /// One particle of kinetic energy `energy` (text with its unit, "500 keV") per decay.
    Particle {
        /// The particle.
        particle: MonoParticle,
        /// Its kinetic energy with its unit.
        energy: String,
    },
}

/// A kernel to compute. Quantities with units are text ("50 um", "10 keV"), read by
/// `xfire_core::units`.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelRequest {
    /// What emits.
    pub emitter: EmitterSpec,
    /// Medium: a built-in material or one from `materials_file`.
    pub material: String,
    /// TOML file with user materials (`docs/formats/materials.md`).
    pub materials_file: Option<std::path::PathBuf>,
    /// Voxel edge length with its unit.
    pub voxel: String,
    /// Voxels per axis (odd, at most 1001).
    pub grid: usize,
    /// Where decays happen in the centre voxel.
    pub source: SourceKind,
    /// Number of decays (histories), at least 1.
    pub decays: u64,
    /// Master random seed.
    pub seed: u64,
    /// Worker threads (0: all cores); results do not depend on it.
    pub threads: usize,
    /// Histories per batch (statistics are over batches), at least 1.
    pub batch_size: u64,
    /// Sample α range straggling (Bohr).
    pub alpha_straggling: bool,
    /// Electron transport model.
    pub electron_model: ElectronModelChoice,
    /// Condensed-history cutoff with its unit (1 keV to 1 MeV) or "auto".
    pub electron_cut: String,
}

impl KernelRequest {
    /// A request with the command's defaults: water, seed 1, all cores, batches of 1000,
    /// no straggling, electron model and cutoff `auto`.
    pub fn new(
        emitter: EmitterSpec,
        voxel: &str,
        grid: usize,
        source: SourceKind,
        decays: u64,
    ) -> Self {
        Self {
            emitter,
            material: "water".into(),
            materials_file: None,
            voxel: voxel.into(),
            grid,
            source,
            decays,
            seed: 1,
            threads: 0,
            batch_size: 1000,
            alpha_straggling: false,
            electron_model: ElectronModelChoice::Auto,
            electron_cut: "auto".into(),
        }
    }

    /// The electron transport model used.
    pub fn electron_model(&self) -> ElectronModel {
        self.electron_model.model()
    }

    /// The condensed-history cutoff [MeV] from `electron_cut` when that model is used.
    pub fn condensed_cut_mev(&self) -> Result<Option<f64>> {
        if self.electron_model() != ElectronModel::CondensedHistory {
            return Ok(None);
        }
        if self.electron_cut == "auto" {
            return Ok(Some(
                match xfire_core::units::parse_length_cm(&self.voxel) {
                    Ok(v) if v >= AUTO_CONDENSED_MIN_VOXEL_CM => 0.01,
                    _ => 0.001,
                },
            ));
        }
        let cut =
            xfire_core::units::parse_energy_mev(&self.electron_cut).map_err(|e| ApiError::Arg {
                arg: "electron-cut",
                detail: format!(": {e} (or \"auto\")"),
            })?;
        if !(1e-3..1.0).contains(&cut) {
            return Err(ApiError::Arg {
                arg: "electron-cut",
                detail: format!(
                    " {:?} = {cut} MeV is outside 1 keV to 1 MeV",
                    self.electron_cut
                ),
            });
        }
        Ok(Some(cut))
    }

    /// Electrons are transported: not for an α particle or the α emissions of a nuclide
    /// (α lines and recoils only), whose electron model is then unused.
    pub fn transports_electrons(&self) -> bool {
        match &self.emitter {
            EmitterSpec::Particle { particle, .. } => *particle != MonoParticle::Alpha,
            EmitterSpec::Nuclide { emissions, .. } => *emissions != Emissions::Alpha,
        }
    }
}
