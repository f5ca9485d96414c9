//! `xfire kernel`: dose point kernels and voxel S-values in a homogeneous medium.
//! Output formats: `docs/formats/kernel.md`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdf5_pure::{AttrValue, FileBuilder};
use serde_json::{json, Value};
use xfire_data::nuclides::{library, EmissionSampler, Particle, RadiationSet};
use xfire_phantom::{Grid, MaterialEntry, Phantom};
use xfire_physics::csda::ElectronModel;
use xfire_tally::kernel::SymmetryClasses;
use xfire_tally::{dose_gy, rel_uncertainty, TallyResult};
use xfire_transport::{
    phantom_layout, run as transport_run, Cutoffs, Emitter, PhysicsTables, Source, TransportSetup,
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

impl Emissions {
    fn set(self) -> RadiationSet {
        match self {
            Emissions::Beta => RadiationSet::beta(),
            Emissions::Electrons => RadiationSet::electrons(),
            Emissions::Alpha => RadiationSet::alpha(),
            Emissions::All => RadiationSet::ALL,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Emissions::Beta => "beta",
            Emissions::Electrons => "electrons",
            Emissions::Alpha => "alpha",
            Emissions::All => "all",
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

/// Where decays happen inside the centre voxel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceKind {
    /// At the centre of the centre voxel (point kernel).
    Point,
    /// Uniform in the centre voxel (the voxel S-value definition).
    Voxel,
}

/// Smallest voxel edge [cm] for which `--electron-cut auto` picks the 10 keV cutoff (CSDA
/// range 2.5 µm, a tenth of such a voxel); finer grids get 1 keV (range 0.03 µm).
pub const AUTO_CONDENSED_MIN_VOXEL_CM: f64 = 25e-4;

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

/// Arguments of `xfire kernel`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Dose point kernel or voxel S-values of a nuclide or mono-energetic particle in a homogeneous medium",
    after_help = "Electrons: class-II condensed history with a 10 keV cutoff for voxels of 25 µm \
and more, 1 keV on finer grids (--electron-model, --electron-cut); photons are transported (Woodcock tracking), those leaving the grid counted as escaping energy.\n\nExamples:\n  \
xfire kernel --nuclide Lu-177 --emissions electrons --voxel 50um --grid 81 --source voxel --decays 1000000 --out lu177\n  \
xfire kernel --particle alpha --energy 5MeV --voxel 1um --grid 81 --source point --decays 100000 --out a5 --json"
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
    /// Voxel edge length with its unit, e.g. 50um, "0.5 mm".
    #[arg(long, value_name = "LEN")]
    pub voxel: String,
    /// Voxels per axis (odd; the source is in the centre voxel).
    #[arg(long, value_name = "N")]
    pub grid: usize,
    /// point: decays at the centre of the centre voxel; voxel: uniform in it.
    #[arg(long, value_enum)]
    pub source: SourceKind,
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
    /// structure, docs/validation.md).
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
    /// The condensed-history cutoff [MeV] from `--electron-cut` when that model is used.
    pub fn condensed_cut_mev(&self) -> anyhow::Result<Option<f64>> {
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
        let cut = xfire_core::units::parse_energy_mev(&self.electron_cut)
            .map_err(|e| anyhow::anyhow!("--electron-cut: {e} (or \"auto\")"))?;
        if !(1e-3..1.0).contains(&cut) {
            bail!(
                "--electron-cut {:?} = {cut} MeV is outside 1 keV to 1 MeV",
                self.electron_cut
            );
        }
        Ok(Some(cut))
    }

    /// Electrons are transported: not for an α particle or the α emissions of a nuclide
    /// (α lines and recoils only), whose electron model is then unused.
    pub fn transports_electrons(&self) -> bool {
        match (self.particle, &self.nuclide) {
            (Some(p), _) => p != KernelParticle::Alpha,
            (None, _) => self.emissions != Emissions::Alpha,
        }
    }

    /// What defines this kernel's results (all but output, threads and printing).
    fn identity(&self) -> String {
        crate::outdir::identity(
            "kernel",
            &[&format!(
                "{:?} {:?} {:?} {:?} {} {:?} {} {} {:?} {} {} {} {} {:?} {}",
                self.nuclide,
                self.emissions,
                self.particle,
                self.energy,
                self.material,
                self.materials_file,
                self.voxel,
                self.grid,
                self.source,
                self.decays,
                self.seed,
                self.batch_size,
                self.alpha_straggling,
                self.electron_model,
                self.electron_cut
            )],
        )
    }

    /// The selected electron model.
    pub fn electron_model(&self) -> ElectronModel {
        match self.electron_model {
            ElectronModelArg::Csda => ElectronModel::CsdaStraightLine,
            ElectronModelArg::Condensed | ElectronModelArg::Auto => ElectronModel::CondensedHistory,
        }
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

/// How photons are handled (written to the summary and kernel.h5).
const PHOTON_NOTE: &str =
    "transported (Woodcock tracking); photons leaving the grid counted as escaping energy";

/// What the kernel was computed for (the metadata of both files and the summary).
struct Meta {
    emitter: Value,
    material: String,
    density_g_cm3: f64,
    voxel_cm: f64,
    grid: usize,
    source: &'static str,
    cut_cm: f64,
    /// Condensed-history cutoff [MeV] (`None` for the straight-line model).
    condensed_cut_mev: Option<f64>,
}

/// Runs `xfire kernel`.
pub fn run_kernel(args: &Args) -> anyhow::Result<(Value, crate::outdir::OutDir)> {
    if args.grid & 1 == 0 {
        bail!(
            "--grid must be an odd number of voxels per axis (the source sits in the centre voxel), got {}",
            args.grid
        );
    }
    if args.grid > 1001 {
        bail!(
            "--grid {} is too large (at most 1001 voxels per axis)",
            args.grid
        );
    }
    let voxel_cm = xfire_core::units::parse_length_cm(&args.voxel)?;
    if voxel_cm.is_nan() || voxel_cm <= 0.0 {
        bail!(
            "--voxel must be positive, got {:?} ({voxel_cm} cm)",
            args.voxel
        );
    }
    if args.decays == 0 {
        bail!("--decays must be at least 1, got 0");
    }
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1, got 0");
    }
    let material = crate::common::find_material(&args.material, args.materials_file.as_deref())?;
    let rho = material.density_g_cm3;
    let n = args.grid;
    let grid = Grid::centred([n; 3], [voxel_cm; 3])?;
    let phantom = Phantom::uniform(
        grid,
        MaterialEntry {
            name: material.name.clone(),
            density_g_cm3: rho,
        },
        0,
    );
    let centre = n / 2;
    let centre_voxel = grid.index(centre, centre, centre);
    let source = match args.source {
        SourceKind::Point => Source::Point(grid.centre(centre_voxel)),
        SourceKind::Voxel => Source::Voxel(centre_voxel),
    };

    let sampler;
    let (emitter, emitter_meta, with_alpha) = match (&args.nuclide, args.particle) {
        (Some(name), _) => {
            let nuc = library().resolve(name)?;
            sampler = EmissionSampler::new(nuc, args.emissions.set())?;
            let with_alpha = !nuc.alpha.is_empty();
            (
                Emitter::Nuclide(&sampler),
                json!({"nuclide": nuc.name, "emissions": args.emissions.name()}),
                with_alpha,
            )
        }
        (None, Some(p)) => {
            let text = args.energy.as_deref().unwrap_or_default();
            let e = xfire_core::units::parse_energy_mev(text)?;
            if e.is_nan() || e <= 0.0 {
                bail!("--energy must be positive, got {text:?}");
            }
            let (particle, name, with_alpha) = match p {
                KernelParticle::Electron => (Particle::Electron, "electron", false),
                KernelParticle::Alpha => (Particle::Alpha, "alpha", true),
                KernelParticle::Photon => (Particle::Photon, "photon", false),
            };
            (
                Emitter::Mono {
                    particle,
                    energy_mev: e,
                },
                json!({"particle": name, "energy_mev": e}),
                with_alpha,
            )
        }
        (None, None) => bail!("give --nuclide NAME or --particle electron|alpha|photon --energy E"),
    };
    let mut physics = PhysicsTables::new(std::slice::from_ref(&material), with_alpha)?;
    let condensed_cut_mev = args.condensed_cut_mev()?;
    if let Some(cut) = condensed_cut_mev {
        physics =
            physics.with_condensed(xfire_physics::condensed::CondensedParams::with_cut(cut))?;
    }
    let classes = SymmetryClasses::new(n)?;
    let layout = phantom_layout(&phantom, vec![classes.map.clone()])?;
    let mut setup = TransportSetup::new(&phantom, &physics, source, emitter, args.decays);
    setup.seed = args.seed;
    setup.threads = args.threads;
    setup.batch_size = args.batch_size;
    setup.alpha_straggling = args.alpha_straggling;
    setup.cutoffs = Cutoffs::default();
    setup.electron_model = args.electron_model();

    let out = crate::outdir::prepare(&args.out, "kernel", &args.identity(), args.force, false)?;
    let progress = Progress::new(args.decays, args.quiet);
    let t0 = Instant::now();
    let result = transport_run(&setup, &layout, &|done| progress.update(done))?;
    let wall_s = t0.elapsed().as_secs_f64();
    progress.finish();

    let meta = Meta {
        emitter: emitter_meta,
        material: material.name.clone(),
        density_g_cm3: rho,
        voxel_cm,
        grid: n,
        source: match args.source {
            SourceKind::Point => "point",
            SourceKind::Voxel => "voxel",
        },
        cut_cm: setup.cutoffs.cut_length_cm(&grid),
        condensed_cut_mev,
    };
    let sym_index = layout
        .region_index("symmetry")
        .context("symmetry region map missing")?;
    let mass_g = rho * voxel_cm.powi(3);
    let csv_path = args.out.join("kernel.csv");
    write_csv(&csv_path, &result, &classes, sym_index, mass_g)?;
    let h5_path = args.out.join("kernel.h5");
    write_h5(&h5_path, &result, &classes, sym_index, mass_g, &meta, args)?;
    let plot_files = write_profile_plot(
        &args.out,
        &result,
        &classes,
        sym_index,
        mass_g,
        voxel_cm,
        args.source,
    )?;

    let threads = if args.threads > 0 {
        args.threads
    } else {
        rayon_threads()
    };
    let mut summary = json!({
        "format": "xfire-kernel-summary/1",
        "electron_model": args.electron_model().name(),
        "electrons_transported": args.transports_electrons(),
        "condensed_cut_mev": meta.condensed_cut_mev,
        "photons": PHOTON_NOTE,
        "material": meta.material,
        "density_g_cm3": rho,
        "voxel_cm": voxel_cm,
        "grid": n,
        "source": meta.source,
        "cutoff_range_cm": meta.cut_cm,
        "cutoff_min_energy_mev": setup.cutoffs.min_energy_mev,
        "seed": args.seed,
        "decays": result.decays,
        "batches": result.batches,
        "emitted_mev_per_decay": result.emitted_mev_per_decay(),
        "deposited_mev_per_decay": result.deposited_mev_per_decay(),
        "escaped_mev_per_decay": result.escaped_mev_per_decay(),
        "escaped_photon_mev_per_decay": result.escaped_photon_mev_per_decay(),
        "below_cutoff_mev_per_decay": result.below_cutoff_mev_per_decay(),
        "max_history_imbalance_rel": result.max_history_imbalance_rel,
        "centre_voxel_dose_gy_per_decay": result.voxel_dose_gy(centre_voxel, mass_g),
        "centre_voxel_rel_unc": nan_to_null(result.voxel_rel_unc(centre_voxel)),
        "threads": threads,
        "wall_s": wall_s,
        "decays_per_s": result.decays as f64 / wall_s.max(1e-9),
        "files": {
            "h5": h5_path.display().to_string(),
            "csv": csv_path.display().to_string(),
            "profile_png": plot_files[0].png.display().to_string(),
            "profile_svg": plot_files[0].svg.display().to_string(),
            "energy_per_radius_png": plot_files.get(1).map(|f| f.png.display().to_string()),
        },
    });
    if let (Value::Object(s), Value::Object(e)) = (&mut summary, meta.emitter) {
        for (k, v) in e {
            s.insert(k, v);
        }
    }
    Ok((summary, out))
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn nan_to_null(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

/// Per symmetry class: (energy per decay per voxel [MeV], dose per decay [Gy], rel. unc.).
fn class_values(
    r: &TallyResult,
    classes: &SymmetryClasses,
    sym: usize,
    mass_g: f64,
) -> Vec<(f64, f64, f64)> {
    let t = &r.regions[sym];
    classes
        .counts
        .iter()
        .enumerate()
        .map(|(c, &count)| {
            let e = r.region_mean_mev(sym, c) / count as f64;
            let u = rel_uncertainty(t.sum[c], t.sum2[c], r.decays, r.batches);
            (e, dose_gy(e, mass_g), u)
        })
        .collect()
}

/// Sums over the voxels of one spherical shell (one voxel thick) of a kernel.
#[derive(Debug, Clone, Copy, Default)]
struct Shell {
    /// Σ voxels × dose per decay \[Gy\].
    dose: f64,
    /// Σ (voxels × σ of the dose)² \[Gy²\].
    dose_var: f64,
    /// Number of voxels.
    voxels: f64,
    /// Σ voxels × energy per voxel per decay \[MeV\].
    energy: f64,
    /// Σ (voxels × σ of the energy)² \[MeV²\].
    energy_var: f64,
}

/// Radial profile figures: `kernel_profile.png`/`.svg`, the dose per decay averaged over
/// spherical shells one voxel wide (voxels assigned by their centre-to-centre distance),
/// with the ±1σ band (classes treated as independent); for a point source also
/// `kernel_energy_per_radius.png`/`.svg`, the energy deposited per unit radius per decay
/// (shell energy ÷ shell thickness), which shows where particles stop (the Bragg peak of an
/// α), while the dose (that energy spread over the shell's mass, ∝ 1/r²) falls with r.
fn write_profile_plot(
    dir: &Path,
    r: &TallyResult,
    classes: &SymmetryClasses,
    sym: usize,
    mass_g: f64,
    voxel_cm: f64,
    source: SourceKind,
) -> anyhow::Result<Vec<xfire_report::WrittenFigure>> {
    let mut shells: Vec<Shell> = Vec::new();
    for ((o, (e, d, u)), &count) in classes
        .offsets
        .iter()
        .zip(class_values(r, classes, sym, mass_g))
        .zip(&classes.counts)
    {
        let dist = ((o[0] * o[0] + o[1] * o[1] + o[2] * o[2]) as f64).sqrt();
        let shell = dist.round() as usize;
        if shells.len() <= shell {
            shells.resize(shell + 1, Shell::default());
        }
        let c = count as f64;
        let u = if u.is_finite() { u } else { 0.0 };
        let s = &mut shells[shell];
        s.dose += c * d;
        s.dose_var += (c * u * d).powi(2);
        s.voxels += c;
        s.energy += c * e;
        s.energy_var += (c * u * e).powi(2);
    }
    let kept: Vec<(usize, &Shell)> = shells
        .iter()
        .enumerate()
        .filter(|(_, s)| s.voxels > 0.0)
        .collect();
    let r_mm: Vec<f64> = kept
        .iter()
        .map(|(i, _)| 10.0 * voxel_cm * *i as f64)
        .collect();
    let curve = xfire_report::KernelCurve {
        label: "xfire, shell means".into(),
        r_mm: r_mm.clone(),
        gy_per_decay: kept.iter().map(|(_, s)| s.dose / s.voxels).collect(),
        sigma_gy_per_decay: Some(
            kept.iter()
                .map(|(_, s)| s.dose_var.sqrt() / s.voxels)
                .collect(),
        ),
        reference: false,
    };
    let (title, quantity) = match source {
        SourceKind::Point => (
            "Dose per decay vs distance from the point source",
            xfire_report::RadialQuantity::DosePerDecay,
        ),
        SourceKind::Voxel => (
            "Dose per decay vs distance from the source-voxel centre",
            xfire_report::RadialQuantity::DosePerDecayVoxelSource,
        ),
    };
    let target = xfire_report::FigureTarget::new(dir, "kernel_profile");
    let mut out = vec![
        xfire_report::radial_profile(&target, title, &[curve], false, quantity)
            .context("cannot draw the kernel profile figure")?,
    ];
    if source == SourceKind::Point {
        // energy per shell per decay [MeV] ÷ shell thickness [µm] (one voxel: the shells
        // are centre distances rounded to whole voxels; half a voxel for shell 0)
        let thick_um = |i: usize| voxel_cm * 1e4 * if i == 0 { 0.5 } else { 1.0 };
        let de_dr = xfire_report::KernelCurve {
            label: "xfire, per shell".into(),
            r_mm,
            gy_per_decay: kept.iter().map(|(i, s)| s.energy / thick_um(*i)).collect(),
            sigma_gy_per_decay: Some(
                kept.iter()
                    .map(|(i, s)| s.energy_var.sqrt() / thick_um(*i))
                    .collect(),
            ),
            reference: false,
        };
        out.push(
            xfire_report::radial_profile(
                &xfire_report::FigureTarget::new(dir, "kernel_energy_per_radius"),
                "Energy deposited per unit radius around the point source",
                &[de_dr],
                false,
                xfire_report::RadialQuantity::EnergyPerRadius,
            )
            .context("cannot draw the energy-per-radius figure")?,
        );
    }
    Ok(out)
}

fn write_csv(
    path: &Path,
    r: &TallyResult,
    classes: &SymmetryClasses,
    sym: usize,
    mass_g: f64,
) -> anyhow::Result<()> {
    let mut out = String::with_capacity(classes.offsets.len() * 64);
    out.push_str("i,j,k,edep_mev_per_decay,dose_gy_per_decay,rel_unc\n");
    for (o, (e, d, u)) in classes
        .offsets
        .iter()
        .zip(class_values(r, classes, sym, mass_g))
    {
        out.push_str(&format!(
            "{},{},{},{:.9e},{:.9e},{:.6e}\n",
            o[0], o[1], o[2], e, d, u
        ));
    }
    write_atomic(path, out.as_bytes())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

fn vstr(s: &str) -> AttrValue {
    AttrValue::VarLenString(s.to_string())
}

fn write_h5(
    path: &Path,
    r: &TallyResult,
    classes: &SymmetryClasses,
    sym: usize,
    mass_g: f64,
    meta: &Meta,
    args: &Args,
) -> anyhow::Result<()> {
    let n = meta.grid;
    let nv = n * n * n;
    let shape = [n as u64; 3];
    let ch = [n.min(32) as u64, n.min(64) as u64, n.min(64) as u64];
    let edep: Vec<f64> = (0..nv).map(|v| r.voxel_mean_mev(v)).collect();
    let dose: Vec<f64> = edep.iter().map(|&e| dose_gy(e, mass_g)).collect();
    let unc: Vec<f64> = (0..nv).map(|v| r.voxel_rel_unc(v)).collect();

    let mut b = FileBuilder::new();
    b.set_attr("format", vstr("xfire-kernel"));
    b.set_attr("format_version", AttrValue::I64(1));
    b.set_attr(
        "creator",
        vstr(&format!("xfire {}", env!("CARGO_PKG_VERSION"))),
    );
    for (k, v) in meta.emitter.as_object().into_iter().flatten() {
        match v {
            Value::String(s) => b.set_attr(k, vstr(s)),
            Value::Number(x) => b.set_attr(k, AttrValue::F64(x.as_f64().unwrap_or(f64::NAN))),
            _ => {}
        }
    }
    b.set_attr("electron_model", vstr(args.electron_model().name()));
    if let Some(cut) = meta.condensed_cut_mev {
        b.set_attr("condensed_cut_mev", AttrValue::F64(cut));
    }
    b.set_attr(
        "electron_model_description",
        vstr(args.electron_model().description()),
    );
    b.set_attr("photons", vstr(PHOTON_NOTE));
    b.set_attr("material", vstr(&meta.material));
    b.set_attr("density_g_cm3", AttrValue::F64(meta.density_g_cm3));
    b.set_attr("voxel_size_cm", AttrValue::F64(meta.voxel_cm));
    b.set_attr("grid", AttrValue::I64(n as i64));
    b.set_attr("source", vstr(meta.source));
    b.set_attr("voxel_mass_g", AttrValue::F64(mass_g));
    b.set_attr("cutoff_range_cm", AttrValue::F64(meta.cut_cm));
    b.set_attr("seed", AttrValue::U64(args.seed));
    b.set_attr("decays", AttrValue::U64(r.decays));
    b.set_attr("batches", AttrValue::U64(r.batches));
    b.set_attr(
        "alpha_straggling",
        AttrValue::I64(args.alpha_straggling as i64),
    );
    b.set_attr(
        "emitted_mev_per_decay",
        AttrValue::F64(r.emitted_mev_per_decay()),
    );
    b.set_attr(
        "deposited_mev_per_decay",
        AttrValue::F64(r.deposited_mev_per_decay()),
    );
    b.set_attr(
        "escaped_mev_per_decay",
        AttrValue::F64(r.escaped_mev_per_decay()),
    );
    b.set_attr(
        "escaped_photon_mev_per_decay",
        AttrValue::F64(r.escaped_photon_mev_per_decay()),
    );
    b.set_attr(
        "below_cutoff_mev_per_decay",
        AttrValue::F64(r.below_cutoff_mev_per_decay()),
    );
    b.set_attr(
        "array_order",
        vstr("arrays shaped (nz, ny, nx), x fastest; the source is in voxel (N/2, N/2, N/2)"),
    );
    b.create_dataset("edep_mev_per_decay")
        .with_f64_data(&edep)
        .with_shape(&shape)
        .with_chunks(&ch)
        .with_shuffle()
        .with_deflate(4)
        .set_attr("units", vstr("MeV per decay"));
    b.create_dataset("dose_gy_per_decay")
        .with_f64_data(&dose)
        .with_shape(&shape)
        .with_chunks(&ch)
        .with_shuffle()
        .with_deflate(4)
        .set_attr("units", vstr("Gy per decay"));
    b.create_dataset("rel_unc")
        .with_f64_data(&unc)
        .with_shape(&shape)
        .with_chunks(&ch)
        .with_shuffle()
        .with_deflate(4)
        .set_attr(
            "description",
            vstr(
                "relative standard uncertainty of edep (batch method); 1 where nothing was scored",
            ),
        );
    let vals = class_values(r, classes, sym, mass_g);
    let mut g = b.create_group("symmetric");
    let col = |a: usize| -> Vec<u32> { classes.offsets.iter().map(|o| o[a] as u32).collect() };
    g.create_dataset("i").with_u32_data(&col(0));
    g.create_dataset("j").with_u32_data(&col(1));
    g.create_dataset("k").with_u32_data(&col(2));
    g.create_dataset("voxels").with_u32_data(&classes.counts);
    let e: Vec<f64> = vals.iter().map(|v| v.0).collect();
    let d: Vec<f64> = vals.iter().map(|v| v.1).collect();
    let u: Vec<f64> = vals.iter().map(|v| v.2).collect();
    g.create_dataset("edep_mev_per_decay").with_f64_data(&e);
    g.create_dataset("dose_gy_per_decay").with_f64_data(&d);
    g.create_dataset("rel_unc").with_f64_data(&u);
    g.set_attr(
        "description",
        vstr(
            "one row per symmetry class 0 <= i <= j <= k (offsets from the centre voxel); \
              means over the equivalent voxels, as kernel.csv",
        ),
    );
    b.add_group(g.finish());
    let tmp = path.with_extension("h5.tmp");
    b.write(&tmp)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Entry point of the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (v, out) = run_kernel(&args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        out.finish()?;
    } else {
        let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        let model = if args.transports_electrons() {
            args.electron_model().name().to_string()
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
        crate::run::finish_listing(Some(out), None)?;
    }
    Ok(())
}
