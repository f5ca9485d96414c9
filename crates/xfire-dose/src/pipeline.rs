//! The dose pipeline: a [`DoseRequest`] is read and checked whole by [`prepare`] (every
//! image, grid, time point, activity value, CT number and kernel) before [`compute`] makes
//! the dose, so bad input fails before anything is written. Images are files (the command
//! line) or arrays in memory (the Python package), [`Image`]; both take the same path.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use xfire_data::nuclides::Nuclide;
use xfire_io::Volume;
use xfire_phantom::{Grid, MaterialEntry, Phantom};

use crate::hu::{phantom_from_ct, HuCalibration};
use crate::images::{self, Image, Labels};
use crate::kernels::VsvKernel;
use crate::mc::{McDose, McOptions};
use crate::stats::{self, LabelStats};
use crate::tia::{self, Fit, FitDiagnostics, LabelFit, TimePoint};
use crate::{invalid, Result};

/// What the voxel values of the activity images are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Quantity {
    /// Time-integrated activity \[Bq·s\] per voxel (= decays).
    Tia,
    /// Activity \[Bq\] per voxel at the time points (or at administration without them).
    Activity,
}

/// How the dose is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Voxel S-value convolution with density correction.
    Vsv,
    /// Monte Carlo transport in the CT phantom.
    Mc,
    /// VSV where the medium matches the kernel's, Monte Carlo elsewhere.
    Hybrid,
}

/// Whether the time-activity fit is made per voxel or per label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FitLevel {
    /// Each voxel's curve.
    Voxel,
    /// Each label's summed curve, shared by the label's voxels.
    Label,
}

/// Everything `xfire dose` (or `xfire.dose` in Python) is asked.
#[derive(Debug, Clone)]
pub struct DoseRequest {
    /// The single activity (or TIA) image, when no time points are given.
    pub activity: Option<Image>,
    /// Activity images at time points after administration.
    pub timepoints: Vec<TimePoint>,
    /// What the image values are.
    pub quantity: Quantity,
    /// Nuclide (any spelling).
    pub nuclide: String,
    /// Time-activity model.
    pub fit: Fit,
    /// Per voxel or per label.
    pub fit_level: FitLevel,
    /// CT image (HU) or xfire phantom giving materials and densities.
    pub ct: Option<Image>,
    /// HU calibration table (default: [`crate::hu::DEFAULT_TABLE`]).
    pub hu_table: Option<PathBuf>,
    /// Label image or xfire phantom.
    pub labels: Option<Image>,
    /// `id,name` CSV naming the labels.
    pub label_names: Option<PathBuf>,
    /// Label names given directly (after those of the file).
    pub label_name_map: BTreeMap<u32, String>,
    /// Medium without CT, and the kernel's medium: a built-in material.
    pub medium: String,
    /// Method.
    pub method: Method,
    /// A VSV kernel file instead of the library's.
    pub kernel: Option<PathBuf>,
    /// Monte Carlo settings.
    pub mc: McOptions,
    /// Hybrid: Monte Carlo where |ρ/ρ_kernel − 1| exceeds this or the material differs.
    pub hybrid_density_tolerance: f64,
    /// Hybrid: Monte Carlo also within this many voxels of those (along each axis).
    pub hybrid_margin: usize,
}

/// Inputs read and checked by [`prepare`].
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The common grid.
    pub grid: Grid,
    /// The nuclide.
    pub nuclide: &'static Nuclide,
    /// TIA per voxel \[Bq·s\].
    pub tia: Vec<f64>,
    /// Voxel fit diagnostics (voxel-level fits).
    pub fit_diagnostics: Option<FitDiagnostics>,
    /// Label fits (label-level fits).
    pub label_fits: Vec<LabelFit>,
    /// Materials and densities per voxel.
    pub phantom: Phantom,
    /// Labels, if given.
    pub labels: Option<Labels>,
    /// The kernel (VSV and hybrid).
    pub kernel: Option<VsvKernel>,
    /// A NIfTI input whose orientation the dose image copies.
    pub nifti_template: Option<PathBuf>,
    /// DICOM input: the series (the CT's, else the activity's) whose frame of reference the
    /// RT Dose output `dose.dcm` is placed on.
    pub dicom_reference: Option<xfire_io::dicom::SeriesInfo>,
    /// Notes for the user (daughters not included, clamped fits, …).
    pub notes: Vec<String>,
}

/// Activity values must be finite and not negative; the error names image, voxel and value.
fn check_activity(v: &Volume, name: &str, unit: &str) -> Result<()> {
    if let Some((k, &x)) = v
        .values
        .iter()
        .enumerate()
        .find(|(_, &x)| !(x >= 0.0 && x.is_finite()))
    {
        let [i, j, kk] = v.grid.ijk(k);
        return Err(invalid(format!(
            "{name}: voxel ({i}, {j}, {kk}) has {x} {unit}; activity must be finite and not \
             negative (clip reconstruction artefacts before dosimetry)"
        )));
    }
    Ok(())
}

/// The activity images and their times: (times \[s\] or empty, images).
fn image_list(req: &DoseRequest) -> Result<(Vec<f64>, Vec<&Image>)> {
    match (&req.activity, req.timepoints.is_empty()) {
        (Some(_), false) => Err(invalid(
            "give either one ACTIVITY image or --timepoints, not both",
        )),
        (None, true) => Err(invalid("no activity image: give ACTIVITY or --timepoints")),
        (Some(p), true) => Ok((vec![], vec![p])),
        (None, false) => {
            if req.quantity == Quantity::Tia {
                return Err(invalid(
                    "--timepoints give activities at times: use --quantity activity",
                ));
            }
            if req.timepoints.len() < req.fit.min_points() {
                return Err(invalid(format!(
                    "--fit {} needs at least {} time points, {} given",
                    format!("{:?}", req.fit).to_lowercase(),
                    req.fit.min_points(),
                    req.timepoints.len()
                )));
            }
            Ok((
                req.timepoints.iter().map(|t| t.t_s).collect(),
                req.timepoints.iter().map(|t| &t.image).collect(),
            ))
        }
    }
}

fn read_labels(req: &DoseRequest, grid: &Grid, reference: &str) -> Result<Option<Labels>> {
    let Some(image) = &req.labels else {
        return Ok(None);
    };
    image.check("label image")?;
    let name = image.name();
    let mut labels = match image.phantom()? {
        Some(p) => {
            images::check_same_grid(grid, reference, &p.grid, &name)?;
            images::labels_from_phantom(&p)
        }
        None => {
            let v = image.volume()?;
            images::check_same_grid(grid, reference, &v.grid, &name)?;
            images::labels_from_volume(&v, &name)?
        }
    };
    if let Some(names) = &req.label_names {
        labels.names.extend(images::read_label_names(names)?);
    }
    labels.names.extend(req.label_name_map.clone());
    Ok(Some(labels))
}

/// The medium (phantom) and, for a DICOM CT, its series header.
fn read_medium(
    req: &DoseRequest,
    grid: &Grid,
    reference: &str,
) -> Result<(Phantom, Option<xfire_io::dicom::SeriesInfo>)> {
    let Some(image) = &req.ct else {
        let m = xfire_data::materials::builtin(&req.medium).ok_or_else(|| {
            invalid(format!(
                "unknown --medium {:?}; built-in materials: {}",
                req.medium,
                xfire_data::materials::builtin_names().join(", ")
            ))
        })?;
        return Ok((
            Phantom::uniform(
                *grid,
                MaterialEntry {
                    name: m.name.clone(),
                    density_g_cm3: m.density_g_cm3,
                },
                0,
            ),
            None,
        ));
    };
    image.check("CT image")?;
    let name = image.name();
    let mut info = None;
    let mut p = match image.phantom()? {
        Some(p) => p,
        None => {
            let cal = match &req.hu_table {
                Some(t) => HuCalibration::read(t)?,
                None => HuCalibration::default_ramp(),
            };
            let ct = match image.dicom_file() {
                Some(path) => {
                    let (v, i) = crate::dicom::read_ct(path)?;
                    info = Some(i);
                    v
                }
                None => image.volume()?,
            };
            phantom_from_ct(&ct, &cal, &name)?
        }
    };
    images::check_same_grid(grid, reference, &p.grid, &name)?;
    // the activity image's grid is the reference (origins within 1e-3 voxel)
    p.grid = *grid;
    Ok((p, info))
}

fn read_kernel(req: &DoseRequest, nuclide: &Nuclide, grid: &Grid) -> Result<Option<VsvKernel>> {
    if req.method == Method::Mc {
        return Ok(None);
    }
    let k = match &req.kernel {
        Some(p) => {
            Image::File(p.clone()).check("kernel file")?;
            VsvKernel::read(p)?
        }
        None => crate::kernels::find(&nuclide.name, &req.medium, grid.voxel_cm[0])?.clone(),
    };
    if k.nuclide != nuclide.name {
        return Err(invalid(format!(
            "kernel {} is for {}, not {}",
            k.source, k.nuclide, nuclide.name
        )));
    }
    crate::vsv::check_kernel_grid(&k, grid)?;
    Ok(Some(k))
}

/// Read and check every input of `req`.
pub fn prepare(req: &DoseRequest) -> Result<Prepared> {
    if !(req.hybrid_density_tolerance > 0.0) {
        return Err(invalid(format!(
            "--hybrid-tolerance must be a positive fraction, got {}",
            req.hybrid_density_tolerance
        )));
    }
    let nuclide = xfire_data::nuclides::library()
        .resolve(&req.nuclide)
        .map_err(|e| invalid(format!("--nuclide: {e}")))?;
    let (times, images) = image_list(req)?;
    for (k, image) in images.iter().enumerate() {
        let what = if times.is_empty() {
            "activity image".to_string()
        } else {
            format!("time point {} h image", times[k] / 3600.0)
        };
        image.check(&what)?;
    }
    let unit = if req.quantity == Quantity::Tia {
        "Bq·s"
    } else {
        "Bq"
    };
    let reference = images[0].name();
    let mut vols: Vec<Volume> = Vec::with_capacity(images.len());
    let mut notes = Vec::new();
    let mut activity_info = None;
    for (k, image) in images.iter().enumerate() {
        let v = match image.dicom_file() {
            Some(p) => {
                let t = times.get(k).copied();
                let (v, info) =
                    crate::dicom::read_activity(p, nuclide, req.quantity, t, &mut notes)?;
                activity_info.get_or_insert(info);
                v
            }
            None => image.volume()?,
        };
        let name = image.name();
        if let Some(first) = vols.first() {
            images::check_same_grid(&first.grid, &reference, &v.grid, &name)?;
        }
        check_activity(&v, &name, unit)?;
        vols.push(v);
    }
    let grid = vols[0].grid;
    let labels = read_labels(req, &grid, &reference)?;
    let (phantom, ct_info) = read_medium(req, &grid, &reference)?;
    let dicom_reference = crate::dicom::reference(ct_info, activity_info)?;
    let kernel = read_kernel(req, nuclide, &grid)?;
    let lambda = std::f64::consts::LN_2 / nuclide.half_life_s;
    let (tia, fit_diagnostics, label_fits) = match (req.quantity, times.is_empty()) {
        (Quantity::Tia, _) => (vols.swap_remove(0).values, None, vec![]),
        (Quantity::Activity, true) => {
            notes.push("one activity image without time: taken at administration, physical decay only (TIA = A/λ)".into());
            (
                vols[0].values.iter().map(|a| a / lambda).collect(),
                None,
                vec![],
            )
        }
        (Quantity::Activity, false) => {
            let images: Vec<Vec<f64>> = vols.into_iter().map(|v| v.values).collect();
            match req.fit_level {
                FitLevel::Voxel => {
                    let (t, d) = tia::per_voxel(req.fit, &times, &images, lambda)?;
                    (t, Some(d), vec![])
                }
                FitLevel::Label => {
                    let ids = labels
                        .as_ref()
                        .map(|l| l.id.clone())
                        .unwrap_or_else(|| vec![0; grid.len()]);
                    let (t, f) = tia::per_label(req.fit, &times, &images, &ids, lambda);
                    (t, None, f)
                }
            }
        }
    };
    if !(tia.iter().sum::<f64>() > 0.0) {
        return Err(invalid(
            "the activity is zero everywhere: no dose to compute",
        ));
    }
    for d in &nuclide.daughters {
        if xfire_data::nuclides::library().get(&d.nuclide).is_some() {
            notes.push(format!(
                "radioactive daughter {} (branching {}) not included: the dose is that of {}'s own decays",
                d.nuclide, d.branching, nuclide.name
            ));
        }
    }
    let nifti_template = images[0].nifti_file().map(PathBuf::from);
    Ok(Prepared {
        grid,
        nuclide,
        tia,
        fit_diagnostics,
        label_fits,
        phantom,
        labels,
        kernel,
        nifti_template,
        dicom_reference,
        notes,
    })
}

/// A computed dose with its statistics.
#[derive(Debug, Clone)]
pub struct DoseResult {
    /// Dose per voxel \[Gy\].
    pub dose_gy: Vec<f64>,
    /// Relative uncertainty per voxel (Monte Carlo and hybrid: 0 in VSV voxels).
    pub rel_unc: Option<Vec<f64>>,
    /// Per label statistics.
    pub labels: Vec<LabelStats>,
    /// DVH dose axis \[Gy\] and per label volume fractions.
    pub dvh: (Vec<f64>, Vec<Vec<f64>>),
    /// The Monte Carlo run, if any.
    pub mc: Option<McDose>,
    /// Hybrid: voxels taken from Monte Carlo.
    pub hybrid_mc_voxels: Option<u64>,
    /// Wall time of the dose computation (TIA excluded) \[s\].
    pub wall_s: f64,
}

/// Voxels where the hybrid method uses Monte Carlo: material other than the kernel's, or
/// density off the kernel's by more than `tol` (relative), and every voxel within `margin`
/// voxels of those along each axis (a cube around each: the electrons crossing an interface
/// change the dose on both sides of it, as far as their range).
pub fn hybrid_mask(p: &Phantom, kernel: &VsvKernel, tol: f64, margin: usize) -> Vec<bool> {
    let mut mask: Vec<bool> = (0..p.grid.len())
        .map(|v| {
            let m = &p.materials[p.material[v] as usize].name;
            let rho = p.density_g_cm3[v] as f64;
            *m != kernel.material || (rho / kernel.density_g_cm3 - 1.0).abs() > tol
        })
        .collect();
    let dims = p.grid.dims();
    for axis in 0..3 {
        mask = dilate_axis(&mask, dims, axis, margin);
    }
    mask
}

/// `mask` dilated by `m` voxels along `axis` (x fastest layout).
fn dilate_axis(mask: &[bool], dims: [usize; 3], axis: usize, m: usize) -> Vec<bool> {
    if m == 0 {
        return mask.to_vec();
    }
    let stride = [1, dims[0], dims[0] * dims[1]][axis];
    let n = dims[axis];
    let mut out = mask.to_vec();
    for (v, &on) in mask.iter().enumerate() {
        if on {
            let c = (v / stride) % n;
            let base = v - c * stride;
            for k in c.saturating_sub(m)..(c + m + 1).min(n) {
                out[base + k * stride] = true;
            }
        }
    }
    out
}

/// Compute the dose of prepared inputs; `progress` and `stop` as in [`crate::mc::mc_dose`].
pub fn compute(
    req: &DoseRequest,
    inp: &Prepared,
    progress: &(dyn Fn(u64) + Sync),
    stop: &dyn Fn() -> bool,
) -> Result<DoseResult> {
    let t0 = std::time::Instant::now();
    let n = inp.grid.len();
    let ids: Vec<u32> = inp
        .labels
        .as_ref()
        .map(|l| l.id.clone())
        .unwrap_or_else(|| vec![0; n]);
    let vsv = match &inp.kernel {
        Some(k) => Some(crate::vsv::vsv_dose(
            &inp.tia,
            &inp.grid,
            k,
            Some(&inp.phantom.density_g_cm3),
        )?),
        None => None,
    };
    let mc = match req.method {
        Method::Vsv => None,
        _ => Some(crate::mc::mc_dose(
            &inp.phantom,
            &inp.tia,
            inp.nuclide,
            &ids,
            &req.mc,
            progress,
            stop,
        )?),
    };
    let mut hybrid_mc_voxels = None;
    let (dose_gy, rel_unc) = match (req.method, vsv, &mc) {
        (Method::Vsv, Some(d), _) => (d, None),
        (Method::Mc, _, Some(m)) => (m.dose_gy.clone(), Some(m.rel_unc.clone())),
        (Method::Hybrid, Some(mut d), Some(m)) => {
            let k = inp
                .kernel
                .as_ref()
                .ok_or_else(|| invalid("internal: no kernel"))?;
            let mask = hybrid_mask(
                &inp.phantom,
                k,
                req.hybrid_density_tolerance,
                req.hybrid_margin,
            );
            let mut u = vec![0.0; n];
            for v in 0..n {
                if mask[v] {
                    d[v] = m.dose_gy[v];
                    u[v] = m.rel_unc[v];
                }
            }
            hybrid_mc_voxels = Some(mask.iter().filter(|&&b| b).count() as u64);
            (d, Some(u))
        }
        _ => return Err(invalid("internal: method and inputs disagree")),
    };
    let groups = stats::label_voxels(inp.labels.as_ref().map(|l| l.id.as_slice()), n);
    let masses = inp.phantom.voxel_masses_g();
    let voxel_ml = inp.grid.voxel_volume_cm3();
    let labels = groups
        .iter()
        .map(|(id, vox)| {
            let name = match &inp.labels {
                Some(l) => l.name(*id),
                None => "image".to_string(),
            };
            let mut s = stats::label_stats(*id, name, vox, &dose_gy, &masses, &inp.tia, voxel_ml);
            if let (Method::Mc, Some(m)) = (req.method, &mc) {
                s.mean_rel_unc = m.region_dose.get(*id as usize).map(|r| r.1);
            }
            s
        })
        .collect();
    let dvh = stats::cumulative_dvh(&groups, &dose_gy, 200);
    Ok(DoseResult {
        dose_gy,
        rel_unc,
        labels,
        dvh,
        mc,
        hybrid_mc_voxels,
        wall_s: t0.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_margin_dilates_along_each_axis() {
        let dims = [5, 5, 1];
        let mut m = vec![false; 25];
        m[12] = true; // (2, 2)
        let mut d = m.clone();
        for a in 0..3 {
            d = dilate_axis(&d, dims, a, 1);
        }
        let on: Vec<usize> = (0..25).filter(|&v| d[v]).collect();
        assert_eq!(on, vec![6, 7, 8, 11, 12, 13, 16, 17, 18]);
        assert_eq!(dilate_axis(&m, dims, 0, 0), m);
    }
}
