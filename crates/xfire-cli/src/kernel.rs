//! `xfire kernel`: dose point kernels and voxel S-values in a homogeneous medium; the
//! computation is `xfire_api::kernel`, this module adds the arguments, the output folder,
//! progress and printing. Output formats: `docs/formats/kernel.md`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use xfire_api::kernel::radial::DEFAULT_SHELLS;
use xfire_api::kernel::{
    self as api, EmitterSpec, KernelPlan, KernelRequest, RadialPlan, RadialRequest, PHOTON_NOTE,
};

/// Which emissions of the nuclide are transported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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

impl From<Emissions> for api::Emissions {
    fn from(e: Emissions) -> Self {
        match e {
            Emissions::Beta => api::Emissions::Beta,
            Emissions::Electrons => api::Emissions::Electrons,
            Emissions::Alpha => api::Emissions::Alpha,
            Emissions::All => api::Emissions::All,
        }
    }
}

/// A mono-energetic particle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KernelParticle {
    /// Electron.
    Electron,
    /// α particle.
    Alpha,
    /// Photon.
    Photon,
}

impl From<KernelParticle> for api::MonoParticle {
    fn from(p: KernelParticle) -> Self {
        match p {
            KernelParticle::Electron => api::MonoParticle::Electron,
            KernelParticle::Alpha => api::MonoParticle::Alpha,
            KernelParticle::Photon => api::MonoParticle::Photon,
        }
    }
}

/// Where decays happen, and how energy is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceKind {
    /// At the centre of the centre voxel (point kernel scored in voxels).
    Point,
    /// Uniform in the centre voxel (the voxel S-value definition).
    Voxel,
    /// A point source scored in spherical shells (radial dose point kernel, --shells).
    Radial,
}

/// Electron transport model of `xfire kernel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ElectronModelArg {
    /// Condensed history (the cutoff from `--electron-cut`, by default scaled to the voxel).
    Auto,
    /// Straight-line continuous slowing down (no scattering).
    Csda,
    /// Class-II condensed history (docs/physics.md).
    Condensed,
}

impl From<ElectronModelArg> for api::ElectronModelChoice {
    fn from(m: ElectronModelArg) -> Self {
        match m {
            ElectronModelArg::Auto => api::ElectronModelChoice::Auto,
            ElectronModelArg::Csda => api::ElectronModelChoice::Csda,
            ElectronModelArg::Condensed => api::ElectronModelChoice::Condensed,
        }
    }
}

/// Arguments of `xfire kernel`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Dose point kernel or voxel S-values of a nuclide or mono-energetic particle in a homogeneous medium",
    after_help = "Electrons: class-II condensed history with a 10 keV cutoff for voxels of 25 µm \
and more, 1 keV on finer grids (--electron-model, --electron-cut); photons are transported (Woodcock tracking), those leaving the grid counted as escaping energy.\n\nExamples:\n  \
xfire kernel --nuclide Lu-177 --emissions electrons --voxel 50um --grid 81 --source voxel --decays 1000000 --out lu177\n  \
xfire kernel --particle alpha --energy 5MeV --voxel 1um --grid 81 --source point --decays 100000 --out a5 --json\n  \
xfire kernel --nuclide Y-90 --material soft_tissue_icru --source radial --decays 100000 --out y90dpk"
)]
#[command(group(clap::ArgGroup::new("emitter").required(true).args(["nuclide", "particle"])))]
pub struct Args {
    /// Radionuclide (any spelling: Lu-177, 177Lu, lu177).
    #[arg(long)]
    pub nuclide: Option<String>,
    /// Which emissions of the nuclide to transport.
    #[arg(long, value_enum, default_value = "all", requires = "nuclide")]
    pub emissions: Emissions,
    /// Mono-energetic particle instead of a nuclide (needs --energy).
    #[arg(long, value_enum, requires = "energy", conflicts_with = "nuclide")]
    pub particle: Option<KernelParticle>,
    /// Kinetic energy of --particle with its unit, e.g. "500 keV".
    #[arg(long, requires = "particle")]
    pub energy: Option<String>,
    /// Medium: a built-in material name or one from --materials-file.
    #[arg(long, default_value = "water")]
    pub material: String,
    /// TOML file with user materials (format: docs/formats/materials.md).
    #[arg(long, value_name = "PATH")]
    pub materials_file: Option<PathBuf>,
    /// Voxel edge length with its unit, e.g. 50um, "0.5 mm" (--source point|voxel).
    #[arg(long, value_name = "LEN")]
    pub voxel: Option<String>,
    /// Voxels per axis (odd; the source is in the centre voxel) (--source point|voxel).
    #[arg(long, value_name = "N")]
    pub grid: Option<usize>,
    /// point: decays at the centre of the centre voxel; voxel: uniform in it; radial: a point
    /// source scored in spherical shells (--shells), each zone on its own grid.
    #[arg(long, value_enum)]
    pub source: SourceKind,
    /// Shell zones of --source radial: "R:n,…", n shells of equal width out to radius R
    /// (with its unit), each zone from the previous one's radius [default:
    /// 0.3mm:50,3mm:45,12mm:45,60mm:40].
    #[arg(long, value_name = "ZONES")]
    pub shells: Option<String>,
    /// Number of decays (histories).
    #[arg(long, value_name = "N")]
    pub decays: u64,
    /// Master random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (0: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Histories per batch (statistics are computed over batches).
    #[arg(long, default_value_t = 1000)]
    pub batch_size: u64,
    /// Sample α range straggling (Bohr).
    #[arg(long)]
    pub alpha_straggling: bool,
    /// Electron transport model: auto (= condensed), csda (straight line, no scattering) or
    /// condensed (class-II condensed history with scattering, δ rays, straggling).
    #[arg(long, value_enum, default_value = "auto")]
    pub electron_model: ElectronModelArg,
    /// Condensed-history electron tracking cutoff = δ-ray and bremsstrahlung thresholds, with
    /// its unit (1 keV to 1 MeV), or auto: 10 keV (EGSnrc's usual AE = 521 keV) for voxels of
    /// 25 µm and more, 1 keV on finer grids (cellular scale: validated against track
    /// structure, docs/validation.md); --source radial: 10 keV when the innermost shell is at
    /// least 5 µm wide, else 1 keV.
    #[arg(long, value_name = "ENERGY", default_value = "auto")]
    pub electron_cut: String,
    /// Output directory (created if needed) for kernel.h5 and kernel.csv; new, empty or
    /// holding this kernel's results (docs/formats/output-folder.md).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace the results of another run in --out (deleted whole before this one writes).
    #[arg(long)]
    pub force: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

impl Args {
    fn emitter(&self) -> EmitterSpec {
        match (&self.nuclide, self.particle) {
            (Some(name), _) => EmitterSpec::Nuclide {
                name: name.clone(),
                emissions: self.emissions.into(),
            },
            (None, p) => EmitterSpec::Particle {
                particle: p.unwrap_or(KernelParticle::Electron).into(),
                energy: self.energy.clone().unwrap_or_default(),
            },
        }
    }

    /// The voxel kernel request of --source point|voxel (clap has checked that one emitter
    /// is given; --voxel and --grid are checked here).
    fn request(&self) -> anyhow::Result<KernelRequest> {
        let source = match self.source {
            SourceKind::Point => api::SourceKind::Point,
            SourceKind::Voxel => api::SourceKind::Voxel,
            SourceKind::Radial => anyhow::bail!("--source radial has no voxel kernel request"),
        };
        if self.shells.is_some() {
            anyhow::bail!(
                "--shells applies to --source radial only (got --source {})",
                source.name()
            );
        }
        let (Some(voxel), Some(grid)) = (&self.voxel, self.grid) else {
            anyhow::bail!(
                "--source {} needs --voxel (edge with its unit, e.g. \"0.5 mm\") and --grid (odd number of voxels per axis)",
                source.name()
            );
        };
        Ok(KernelRequest {
            emitter: self.emitter(),
            material: self.material.clone(),
            materials_file: self.materials_file.clone(),
            voxel: voxel.clone(),
            grid,
            source,
            decays: self.decays,
            seed: self.seed,
            threads: self.threads,
            batch_size: self.batch_size,
            alpha_straggling: self.alpha_straggling,
            electron_model: self.electron_model.into(),
            electron_cut: self.electron_cut.clone(),
        })
    }

    /// The radial kernel request of --source radial (--voxel and --grid refused: each zone's
    /// grid follows from its shells).
    fn radial_request(&self) -> anyhow::Result<RadialRequest> {
        if self.voxel.is_some() || self.grid.is_some() {
            anyhow::bail!(
                "--voxel and --grid do not apply to --source radial: each zone's grid has voxels \
                 half its shell width (set the shells with --shells)"
            );
        }
        Ok(RadialRequest {
            emitter: self.emitter(),
            material: self.material.clone(),
            materials_file: self.materials_file.clone(),
            shells: self
                .shells
                .clone()
                .unwrap_or_else(|| DEFAULT_SHELLS.to_string()),
            decays: self.decays,
            seed: self.seed,
            threads: self.threads,
            batch_size: self.batch_size,
            alpha_straggling: self.alpha_straggling,
            electron_model: self.electron_model.into(),
            electron_cut: self.electron_cut.clone(),
        })
    }

    /// What defines this kernel's results (all but output, threads and printing).
    fn identity(&self) -> String {
        crate::outdir::identity(
            "kernel",
            &[&format!(
                "{:?} {:?} {:?} {:?} {} {:?} {:?} {:?} {:?} {:?} {} {} {} {} {:?} {}",
                self.nuclide,
                self.emissions,
                self.particle,
                self.energy,
                self.material,
                self.materials_file,
                self.voxel,
                self.grid,
                self.source,
                self.shells,
                self.decays,
                self.seed,
                self.batch_size,
                self.alpha_straggling,
                self.electron_model,
                self.electron_cut
            )],
        )
    }
}

/// Progress on stderr: a bar on a terminal, a plain line every few seconds otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    plain: Option<Mutex<Instant>>,
    start: Instant,
    total: u64,
}

impl Progress {
    fn new(total: u64, quiet: bool) -> Self {
        let start = Instant::now();
        if quiet {
            return Self {
                bar: None,
                plain: None,
                start,
                total,
            };
        }
        if std::io::stderr().is_terminal() {
            let bar = crate::common::decay_bar(
                total,
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} decays ({rate}, eta {eta})",
            );
            Self {
                bar: Some(bar),
                plain: None,
                start,
                total,
            }
        } else {
            Self {
                bar: None,
                plain: Some(Mutex::new(start)),
                start,
                total,
            }
        }
    }

    fn update(&self, done: u64) {
        if let Some(b) = &self.bar {
            b.set_position(done);
        }
        if let Some(last) = &self.plain {
            if let Ok(mut last) = last.lock() {
                let now = Instant::now();
                if now - *last >= Duration::from_secs(5) || done == self.total {
                    *last = now;
                    let t = (now - self.start).as_secs_f64();
                    eprintln!(
                        "kernel: {done}/{} decays ({:.0} %), {t:.1} s, {}",
                        self.total,
                        100.0 * done as f64 / self.total as f64,
                        crate::common::format_rate(done as f64 / t.max(1e-9), "decays")
                    );
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Runs `xfire kernel`: checks, output folder, transport, files; returns the summary.
pub fn run_kernel(args: &Args) -> anyhow::Result<(Value, crate::outdir::OutDir)> {
    if args.source == SourceKind::Radial {
        return run_radial(args);
    }
    let plan = KernelPlan::new(&args.request()?)?;
    let out = crate::outdir::prepare(&args.out, "kernel", &args.identity(), args.force, false)?;
    let progress = Progress::new(args.decays, args.quiet);
    let kernel = plan.run(&|done| progress.update(done), &|| false)?;
    progress.finish();
    let files = kernel.write(&args.out)?;
    Ok((kernel.summary(Some(&files)), out))
}

/// `xfire kernel --source radial`: every zone checked and planned before the output folder
/// is made; writes `radial.csv`.
fn run_radial(args: &Args) -> anyhow::Result<(Value, crate::outdir::OutDir)> {
    let plan = RadialPlan::new(&args.radial_request()?)?;
    let out = crate::outdir::prepare(&args.out, "kernel", &args.identity(), args.force, false)?;
    let progress = Progress::new(args.decays * plan.zone_count() as u64, args.quiet);
    let kernel = plan.run(&|done| progress.update(done), &|| false)?;
    progress.finish();
    let csv = kernel.write(&args.out)?;
    Ok((kernel.summary(Some(&csv)), out))
}

/// Entry point of the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (v, out) = run_kernel(&args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        out.finish()?;
        return Ok(());
    }
    if args.source == SourceKind::Radial {
        print_radial(&v);
    } else {
        print_voxel(&args.request()?, &v);
    }
    crate::outdir::finish_listing(Some(out), None)
}

/// A number of the summary (NaN if absent).
fn num(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or(f64::NAN)
}

/// The text summary of a radial kernel.
fn print_radial(v: &Value) {
    let f = |k: &str| num(v, k);
    let shells: u64 = (v["zones"].as_array().into_iter().flatten())
        .map(|z| z["shells"].as_u64().unwrap_or(0))
        .sum();
    println!(
        "radial kernel: {shells} shells ({}), {} decays per zone in {:.2} s",
        v["shells"].as_str().unwrap_or(""),
        v["decays"],
        f("wall_s")
    );
    println!(
        "energy per decay [MeV]: emitted {:.6}, in shells {:.6}, beyond {:.6}, escaped {:.6}",
        f("emitted_mev_per_decay"),
        f("shells_mev_per_decay"),
        f("beyond_mev_per_decay"),
        f("escaped_mev_per_decay")
    );
    println!(
        "first shell: {:.6e} Gy per decay; file {}",
        f("first_shell_dose_gy_per_decay"),
        v["files"]["csv"].as_str().unwrap_or("")
    );
}

/// The text summary of a voxel kernel.
fn print_voxel(req: &KernelRequest, v: &Value) {
    let f = |k: &str| num(v, k);
    let model = if req.transports_electrons() {
        req.electron_model().name().to_string()
    } else {
        "not used (no electrons transported)".to_string()
    };
    println!(
        "kernel: {} decays in {:.2} s ({}), electron model {model}",
        v["decays"],
        f("wall_s"),
        crate::common::format_rate(f("decays_per_s"), "decays"),
    );
    println!(
        "energy per decay [MeV]: emitted {:.6}, deposited {:.6}, escaped {:.6} (photons {:.6}: {})",
        f("emitted_mev_per_decay"),
        f("deposited_mev_per_decay"),
        f("escaped_mev_per_decay"),
        f("escaped_photon_mev_per_decay"),
        PHOTON_NOTE
    );
    println!(
        "centre voxel: {:.6e} Gy per decay; files {} and {}",
        f("centre_voxel_dose_gy_per_decay"),
        v["files"]["h5"].as_str().unwrap_or(""),
        v["files"]["csv"].as_str().unwrap_or("")
    );
}
