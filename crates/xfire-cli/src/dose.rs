//! `xfire dose`: dose from millimetre activity images (the pipeline is `xfire-dose`; this
//! module parses arguments, takes the output folder and prints).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Context;
use clap::ValueEnum;
use xfire_dose::images::Image;
use xfire_dose::mc::McOptions;
use xfire_dose::pipeline::{self, DoseRequest, FitLevel, Method, Quantity};
use xfire_dose::tia::{parse_timepoints, Fit};

/// What the image values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QuantityArg {
    /// Time-integrated activity [Bq·s] per voxel.
    Tia,
    /// Activity [Bq] per voxel (at --timepoints, or at administration).
    Activity,
}

/// Dose method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Voxel S-value convolution (FFT) with density correction.
    Vsv,
    /// Monte Carlo transport in the CT phantom.
    Mc,
    /// VSV where the medium matches the kernel's, Monte Carlo elsewhere (lung, bone).
    Hybrid,
}

/// Time-activity model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FitArg {
    /// Trapezoids, rectangle before the first point, physical decay after the last.
    Trapezoid,
    /// Mono-exponential (clearance never slower than physical decay).
    Mono,
    /// Uptake–washout bi-exponential (per label only, ≥ 3 time points).
    Bi,
}

/// Fit per voxel or per label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FitLevelArg {
    /// Each voxel's time-activity curve.
    Voxel,
    /// Each label's summed curve, shared among its voxels.
    Label,
}

/// `xfire dose` arguments.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples (phantoms/patient-lu177, docs/formats/dose.md):\n  \
xfire dose --nuclide Lu-177 --quantity activity \\\n    --timepoints \"24 h:a24.nii.gz,72 h:a72.nii.gz,168 h:a168.nii.gz\" --fit mono \\\n    \
--ct ct.nii.gz --labels labels.nii.gz --label-names labels.csv --method vsv --out dose/\n  \
xfire dose tia.nii.gz --nuclide Y-90 --quantity tia --method mc --decays 2000000 --out mc/"
)]
pub struct Args {
    /// Activity (Bq) or time-integrated activity (Bq·s) image, NIfTI or MetaImage, or a
    /// DICOM SPECT/PET series (folder or .dcm, Bq/ml); omit with --timepoints.
    pub activity: Option<PathBuf>,
    /// Radionuclide (Lu-177, 177Lu, ...).
    #[arg(long)]
    pub nuclide: String,
    /// What the voxel values are.
    #[arg(long, value_enum)]
    pub quantity: QuantityArg,
    /// Activity images at times after administration: "24 h:a24.nii.gz,72 h:a72.nii.gz".
    #[arg(long, value_name = "LIST")]
    pub timepoints: Option<String>,
    /// Time-activity model for --timepoints.
    #[arg(long, value_enum, default_value = "trapezoid")]
    pub fit: FitArg,
    /// Fit each voxel or each label (bi: label only).
    #[arg(long, value_enum, default_value = "voxel")]
    pub fit_level: FitLevelArg,
    /// CT image in HU (NIfTI/MetaImage, or a DICOM CT series folder: the dose is then also
    /// written as RT Dose on its frame of reference) or an xfire phantom (.h5) on the
    /// activity's grid.
    #[arg(long, value_name = "CT")]
    pub ct: Option<PathBuf>,
    /// HU calibration table "hu,density_g_cm3,material" (default: the built-in ramp).
    #[arg(long, value_name = "CSV", requires = "ct")]
    pub hu_table: Option<PathBuf>,
    /// Label image (organs, lesions; 0 = none) or an xfire phantom (.h5).
    #[arg(long, value_name = "SEG")]
    pub labels: Option<PathBuf>,
    /// Label names, "id,name" lines.
    #[arg(long, value_name = "CSV", requires = "labels")]
    pub label_names: Option<PathBuf>,
    /// Medium of the kernel, and of the whole image without --ct.
    #[arg(long, default_value = "soft_tissue_icru")]
    pub medium: String,
    /// Dose method.
    #[arg(long, value_enum)]
    pub method: MethodArg,
    /// A voxel S-value file (docs/formats/kernel-library.md) instead of the built-in library.
    #[arg(long, value_name = "FILE")]
    pub kernel: Option<PathBuf>,
    /// Monte Carlo decays (mc, hybrid).
    #[arg(long, default_value_t = 1_000_000)]
    pub decays: u64,
    /// Monte Carlo seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Monte Carlo histories per batch.
    #[arg(long, default_value_t = 10_000)]
    pub batch_size: u64,
    /// Worker threads (0: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Hybrid: Monte Carlo where the density departs from the kernel's by more than this
    /// fraction (or the material differs).
    #[arg(long, default_value_t = 0.1)]
    pub hybrid_tolerance: f64,
    /// Hybrid: Monte Carlo also within this many voxels (along each axis) of those voxels,
    /// where electrons crossing the interface change the dose; about the electrons' range.
    #[arg(long, default_value_t = 2)]
    pub hybrid_margin: usize,
    /// Output folder: dose.nii.gz, tia.nii.gz, uncertainty.nii.gz, dose.dcm (DICOM input),
    /// dvh.csv/png, summary.json, report.md.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace another run's results in --out.
    #[arg(long)]
    pub force: bool,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

impl Args {
    fn request(&self) -> anyhow::Result<DoseRequest> {
        Ok(DoseRequest {
            activity: self.activity.clone().map(Image::File),
            timepoints: match &self.timepoints {
                Some(s) => parse_timepoints(s)?,
                None => vec![],
            },
            quantity: match self.quantity {
                QuantityArg::Tia => Quantity::Tia,
                QuantityArg::Activity => Quantity::Activity,
            },
            nuclide: self.nuclide.clone(),
            fit: match self.fit {
                FitArg::Trapezoid => Fit::Trapezoid,
                FitArg::Mono => Fit::Mono,
                FitArg::Bi => Fit::Bi,
            },
            fit_level: match self.fit_level {
                FitLevelArg::Voxel => FitLevel::Voxel,
                FitLevelArg::Label => FitLevel::Label,
            },
            ct: self.ct.clone().map(Image::File),
            hu_table: self.hu_table.clone(),
            labels: self.labels.clone().map(Image::File),
            label_names: self.label_names.clone(),
            label_name_map: Default::default(),
            medium: self.medium.clone(),
            method: match self.method {
                MethodArg::Vsv => Method::Vsv,
                MethodArg::Mc => Method::Mc,
                MethodArg::Hybrid => Method::Hybrid,
            },
            kernel: self.kernel.clone(),
            mc: McOptions {
                decays: self.decays,
                seed: self.seed,
                threads: self.threads,
                batch_size: self.batch_size,
            },
            hybrid_density_tolerance: self.hybrid_tolerance,
            hybrid_margin: self.hybrid_margin,
        })
    }

    fn identity(&self) -> String {
        crate::outdir::identity("dose", &[&format!("{self:?}")])
    }
}

/// Entry point of the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let req = args.request()?;
    // every input is read and checked before the output folder is touched
    let inp = pipeline::prepare(&req)?;
    let out = crate::outdir::prepare(&args.out, "dose", &args.identity(), args.force, false)?;
    let last = Mutex::new(Instant::now());
    let total = req.mc.decays;
    let quiet = args.quiet;
    let progress = move |done: u64| {
        if quiet {
            return;
        }
        if let Ok(mut t) = last.lock() {
            if t.elapsed().as_secs_f64() >= 5.0 || done == total {
                eprintln!("monte carlo: {done}/{total} decays");
                *t = Instant::now();
            }
        }
    };
    let res = match pipeline::compute(&req, &inp, &progress, &|| false) {
        Ok(r) => r,
        Err(e) => {
            out.discard_if_empty();
            return Err(e.into());
        }
    };
    xfire_dose::output::write_all(&args.out, &req, &inp, &res)
        .with_context(|| format!("writing results to {}", args.out.display()))?;
    for l in &res.labels {
        println!(
            "{:<16} {:>10.2} g  mean {:>10.4} Gy  D50 {:>10.4}  D90 {:>10.4}  D98 {:>10.4} Gy{}",
            format!("{} ({})", l.name, l.id),
            l.mass_g,
            l.mean_gy,
            l.d50_gy,
            l.d90_gy,
            l.d98_gy,
            l.mean_rel_unc
                .map(|u| format!("  (±{:.2} %)", 100.0 * u))
                .unwrap_or_default()
        );
    }
    for n in &inp.notes {
        println!("note: {n}");
    }
    crate::outdir::finish_listing(Some(out), None)?;
    Ok(())
}
