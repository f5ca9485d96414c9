//! `xfire.dose(...)`: the pipeline of `xfire dose` (`xfire_dose::pipeline`: prepare, compute,
//! and `xfire_dose::output` when `out` is given) on image files or numpy arrays: dose,
//! uncertainty and TIA per voxel, the summary and the DVH.

use std::path::{Path, PathBuf};

use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use xfire_dose::images::Image;
use xfire_dose::mc::McOptions;
use xfire_dose::pipeline::{self, DoseRequest, DoseResult, FitLevel, Method, Prepared, Quantity};
use xfire_dose::tia::{self, Fit, TimePoint};
use xfire_dose::DoseError;
use xfire_io::{ElementType, Volume};
use xfire_phantom::Grid;

use crate::args::Kw;
use crate::python_names;
use crate::scenario::bytes_f64;
use crate::watch::Watch;

/// A dose error as `ValueError` (`OSError` for an output file), with the Python argument
/// names in place of the command-line options.
fn dose_error(e: DoseError) -> PyErr {
    let msg = python_names(&e.to_string());
    match e {
        DoseError::File { .. } => PyOSError::new_err(msg),
        _ => PyValueError::new_err(msg),
    }
}

/// The grid of array arguments: `voxel` (x, y, z) and `origin` (x, y, z, default: centred)
/// lengths with units, and the array's `shape` (nz, ny, nx).
fn array_grid(kw: &Kw<'_>, shape: [usize; 3]) -> PyResult<Grid> {
    let example = " with units, e.g. [\"4.42 mm\"] * 3";
    let lengths = |key: &str, positive: bool| -> PyResult<Option<[f64; 3]>> {
        let Some(texts) = kw.texts(key, example)? else {
            return Ok(None);
        };
        let cm: Vec<f64> = texts
            .iter()
            .map(|t| {
                let v = xfire_core::units::parse_length_cm(t)
                    .map_err(|e| PyValueError::new_err(format!("{key} {t:?}: {e}")))?;
                if positive && !(v > 0.0 && v.is_finite()) {
                    return Err(PyValueError::new_err(format!(
                        "{key} must be positive, got {t:?}"
                    )));
                }
                Ok(v)
            })
            .collect::<PyResult<_>>()?;
        <[f64; 3]>::try_from(cm).map(Some).map_err(|v| {
            PyValueError::new_err(format!("{key} needs 3 lengths (x, y, z), got {}", v.len()))
        })
    };
    let voxel = lengths("voxel", true)?.ok_or_else(|| {
        PyTypeError::new_err("an array image needs voxel: its voxel size with units (x, y, z)")
    })?;
    let dims = [shape[2], shape[1], shape[0]];
    let grid = match lengths("origin", false)? {
        Some(o) => Grid::new(dims, voxel, o),
        None => Grid::centred(dims, voxel),
    };
    grid.map_err(|e| PyValueError::new_err(e.to_string()))
}

/// An image argument: a path (text), or an array the Python layer passes as a dict
/// `{"data": little-endian f64 bytes, "shape": (nz, ny, nx)}`, named `name` in messages.
fn image(kw: &Kw<'_>, value: &Bound<'_, PyAny>, name: &str) -> PyResult<Image> {
    if let Ok(s) = value.downcast::<PyString>() {
        return Ok(Image::File(PathBuf::from(s.to_string())));
    }
    let d = value
        .downcast::<PyDict>()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be a path or a numpy array")))?;
    let get = |k: &str| {
        d.get_item(k)?
            .ok_or_else(|| PyTypeError::new_err(format!("{name}: internal: no {k}")))
    };
    let shape: [usize; 3] = get("shape")?.extract()?;
    let data = get("data")?;
    let bytes = data.downcast::<PyBytes>()?.as_bytes();
    let values: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    if values.len() != shape.iter().product::<usize>() {
        return Err(PyValueError::new_err(format!(
            "{name}: {} values for shape {shape:?}",
            values.len()
        )));
    }
    Ok(Image::Memory {
        name: name.to_string(),
        volume: Volume {
            grid: array_grid(kw, shape)?,
            values,
            element: ElementType::F64,
        },
    })
}

/// An optional image argument.
fn image_arg(kw: &Kw<'_>, key: &str) -> PyResult<Option<Image>> {
    kw.get(key)?.map(|v| image(kw, &v, key)).transpose()
}

/// `timepoints`: the command's text (`"24 h:a24.nii.gz,72 h:a72.nii.gz"`) or a list of
/// (time with unit, image) pairs.
fn timepoints(kw: &Kw<'_>) -> PyResult<Vec<TimePoint>> {
    let Some(v) = kw.get("timepoints")? else {
        return Ok(vec![]);
    };
    if let Ok(s) = v.downcast::<PyString>() {
        return tia::parse_timepoints(&s.to_string()).map_err(dose_error);
    }
    let list = v.downcast::<PyList>().map_err(|_| {
        PyTypeError::new_err(
            "timepoints must be text \"24 h:a24.nii.gz,...\" or a list of (time, image) pairs",
        )
    })?;
    let mut out: Vec<TimePoint> = Vec::with_capacity(list.len());
    for (k, item) in list.iter().enumerate() {
        let (t, img): (String, Bound<'_, PyAny>) = item.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "timepoints[{k}] must be a (time with unit, image) pair, e.g. (\"24 h\", array)"
            ))
        })?;
        let name = format!("timepoints[{k}]");
        let t_s = tia::time_point_s(&t, out.last().map(|p| p.t_s))
            .map_err(|e| PyValueError::new_err(format!("{name}: {e}")))?;
        out.push(TimePoint {
            t_s,
            image: image(kw, &img, &format!("{name} ({t})"))?,
        });
    }
    Ok(out)
}

fn required<T>(v: Option<T>, key: &str, what: &str) -> PyResult<T> {
    v.ok_or_else(|| PyTypeError::new_err(format!("missing argument {key} ({what})")))
}

/// The request from the keywords (defaults as `xfire dose`).
fn request(kw: &Kw<'_>) -> PyResult<DoseRequest> {
    let path = |key: &str| -> PyResult<Option<PathBuf>> {
        Ok(kw.text(key, " (a path)")?.map(PathBuf::from))
    };
    let quantity = kw.choice(
        "quantity",
        &[("tia", Quantity::Tia), ("activity", Quantity::Activity)],
    )?;
    let methods = [
        ("vsv", Method::Vsv),
        ("mc", Method::Mc),
        ("hybrid", Method::Hybrid),
    ];
    let fits = [
        ("trapezoid", Fit::Trapezoid),
        ("mono", Fit::Mono),
        ("bi", Fit::Bi),
    ];
    let levels = [("voxel", FitLevel::Voxel), ("label", FitLevel::Label)];
    let defaults = McOptions::default();
    Ok(DoseRequest {
        activity: image_arg(kw, "activity")?,
        timepoints: timepoints(kw)?,
        quantity: required(quantity, "quantity", "\"tia\" or \"activity\"")?,
        nuclide: kw.required_text("nuclide", " (a nuclide name, e.g. \"Lu-177\")")?,
        fit: kw.choice("fit", &fits)?.unwrap_or(Fit::Trapezoid),
        fit_level: kw.choice("fit_level", &levels)?.unwrap_or(FitLevel::Voxel),
        ct: image_arg(kw, "ct")?,
        hu_table: path("hu_table")?,
        labels: image_arg(kw, "labels")?,
        label_names: path("label_names")?,
        label_name_map: match kw.get("label_name_map")? {
            Some(m) => m.extract()?,
            None => Default::default(),
        },
        medium: kw
            .text("medium", " (a material name)")?
            .unwrap_or_else(|| "soft_tissue_icru".into()),
        method: required(
            kw.choice("method", &methods)?,
            "method",
            "\"vsv\", \"mc\" or \"hybrid\"",
        )?,
        kernel: path("kernel")?,
        mc: McOptions {
            decays: kw.count("decays")?.unwrap_or(defaults.decays),
            seed: kw.count("seed")?.unwrap_or(defaults.seed),
            threads: kw.count("threads")?.map_or(0, |t| t as usize),
            batch_size: kw.count("batch_size")?.unwrap_or(defaults.batch_size),
        },
        hybrid_density_tolerance: kw.number("hybrid_tolerance")?.unwrap_or(0.1),
        hybrid_margin: kw.count("hybrid_margin")?.map_or(2, |m| m as usize),
    })
}

/// Writes the command's files into the new folder `dir` (removed again if writing fails).
fn write_out(
    dir: &Path,
    req: &DoseRequest,
    inp: &Prepared,
    res: &DoseResult,
) -> PyResult<Vec<String>> {
    std::fs::create_dir(dir).map_err(|e| {
        PyOSError::new_err(format!(
            "out {}: {e} (give a folder that does not exist yet)",
            dir.display()
        ))
    })?;
    xfire_dose::output::write_all(dir, req, inp, res).map_err(|e| {
        let _ = std::fs::remove_dir_all(dir);
        dose_error(e)
    })
}

/// Computes a dose: returns a dict with `summary` (JSON text of summary.json), `shape`
/// (nz, ny, nx), the arrays `dose_gy`, `tia_bq_s` and `rel_unc` (None for VSV) as
/// little-endian f64 bytes (x fastest), and the DVH (`dvh_dose_gy`, `dvh_volume_fraction`
/// labels × bins). Keywords as `xfire.dose`, plus `progress`.
#[pyfunction]
pub fn dose<'py>(py: Python<'py>, kw: Bound<'py, PyDict>) -> PyResult<Bound<'py, PyDict>> {
    let kw = Kw(kw);
    let req = request(&kw)?;
    let out = kw.text("out", " (a folder)")?.map(PathBuf::from);
    let watch = Watch::new(kw.callable("progress")?);
    let total = req.mc.decays;
    let result = py.allow_threads(|| {
        let inp = pipeline::prepare(&req)?;
        let res = pipeline::compute(
            &req,
            &inp,
            &|done| {
                watch.poll("dose", done, total);
            },
            &|| watch.stop(),
        )?;
        Ok::<_, DoseError>((inp, res))
    });
    if let Some(e) = watch.take() {
        return Err(e);
    }
    let (inp, res) = result.map_err(dose_error)?;
    let files = match &out {
        Some(dir) => py.allow_threads(|| write_out(dir, &req, &inp, &res))?,
        None => vec![],
    };
    let mut summary = xfire_dose::output::summary(&req, &inp, &res, &files);
    if out.is_none() {
        if let Some(s) = summary.as_object_mut() {
            s.remove("files");
        }
    }
    let d = PyDict::new(py);
    let g = &inp.grid;
    d.set_item("summary", summary.to_string())?;
    d.set_item("shape", (g.nz, g.ny, g.nx))?;
    d.set_item("dose_gy", bytes_f64(py, &res.dose_gy))?;
    d.set_item("tia_bq_s", bytes_f64(py, &inp.tia))?;
    d.set_item("rel_unc", res.rel_unc.as_ref().map(|u| bytes_f64(py, u)))?;
    d.set_item("dvh_dose_gy", bytes_f64(py, &res.dvh.0))?;
    let fractions: Vec<f64> = res.dvh.1.iter().flatten().copied().collect();
    d.set_item("dvh_volume_fraction", bytes_f64(py, &fractions))?;
    Ok(d)
}
