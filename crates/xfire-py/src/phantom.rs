//! `xfire.phantom.generate(spec)` and `xfire.phantom.load(path)`: a phantom's voxel arrays
//! (label, material, density, cell id) as little-endian bytes with its grid and tables.

use std::path::Path;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use xfire_api::phantom::Phantom;

use crate::api_error;
use crate::args::Kw;

fn le<T: Copy, const N: usize>(v: &[T], bytes: fn(T) -> [u8; N]) -> Vec<u8> {
    v.iter().flat_map(|&x| bytes(x)).collect()
}

/// The phantom as a dict: `shape` (nz, ny, nx), `voxel_cm` and `origin_cm` (x, y, z) [cm],
/// `labels` (id → name), `materials` (name, nominal density [g/cm³]), and the arrays `label`
/// (u16), `material` (u8), `density_g_cm3` (f32), `cell_id` (u32) as bytes, x fastest.
fn phantom_dict<'py>(py: Python<'py>, p: &Phantom) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let g = &p.grid;
    d.set_item("shape", (g.nz, g.ny, g.nx))?;
    d.set_item("voxel_cm", g.voxel_cm.to_vec())?;
    d.set_item("origin_cm", g.origin_cm.to_vec())?;
    let labels = PyDict::new(py);
    for (id, name) in p.labels.entries() {
        labels.set_item(*id, name)?;
    }
    d.set_item("labels", labels)?;
    let materials: Vec<(String, f64)> = p
        .materials
        .iter()
        .map(|m| (m.name.clone(), m.density_g_cm3))
        .collect();
    d.set_item("materials", materials)?;
    d.set_item("label", PyBytes::new(py, &le(&p.label, u16::to_le_bytes)))?;
    d.set_item("material", PyBytes::new(py, &p.material))?;
    let rho = le(&p.density_g_cm3, f32::to_le_bytes);
    d.set_item("density_g_cm3", PyBytes::new(py, &rho))?;
    d.set_item(
        "cell_id",
        PyBytes::new(py, &le(&p.cell_id, u32::to_le_bytes)),
    )?;
    Ok(d)
}

/// Generates a phantom from a specification (keywords `toml`, the TOML text, and `base`,
/// the folder its relative file names resolve against): the phantom dict and the
/// generator's report lines.
#[pyfunction]
pub fn phantom_generate<'py>(
    py: Python<'py>,
    kw: Bound<'py, PyDict>,
) -> PyResult<(Bound<'py, PyDict>, Vec<String>)> {
    let kw = Kw(kw);
    let text = kw.required_text("toml", " (phantom specification TOML)")?;
    let base = kw.text("base", " (a folder)")?;
    let g = py
        .allow_threads(|| xfire_api::phantom::generate(&text, base.as_deref().map(Path::new)))
        .map_err(api_error)?;
    Ok((phantom_dict(py, &g.phantom)?, g.report))
}

/// Reads a phantom file (HDF5): the phantom dict.
#[pyfunction]
pub fn phantom_load<'py>(py: Python<'py>, path: &str) -> PyResult<Bound<'py, PyDict>> {
    let p = xfire_api::phantom::load(Path::new(path)).map_err(api_error)?;
    phantom_dict(py, &p)
}
