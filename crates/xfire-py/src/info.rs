//! Nuclide data, decay chains and ranges: the JSON of `xfire nuclide show --json`,
//! `xfire nuclide list --json`, `xfire chain --json` and `xfire range --json`.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use xfire_api::range::RangeParticle;

use crate::api_error;
use crate::args::Kw;

fn to_json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// `xfire nuclide show NAME --json` as JSON text.
#[pyfunction]
pub fn nuclide(name: &str) -> PyResult<String> {
    to_json(&xfire_api::nuclide::show(name).map_err(api_error)?)
}

/// `xfire nuclide list --json` as JSON text.
#[pyfunction]
pub fn nuclides() -> PyResult<String> {
    to_json(&xfire_api::nuclide::list())
}

/// `xfire chain NAME --times T --activity A --json` as JSON text.
#[pyfunction]
pub fn chain(name: &str, times: &str, activity: &str) -> PyResult<String> {
    to_json(&xfire_api::chain::compute(name, times, activity).map_err(api_error)?)
}

/// `xfire range PARTICLE ENERGY --json` as JSON text; keywords `particle`, `energy`,
/// `material`, `materials_file`.
#[pyfunction]
pub fn range(kw: Bound<'_, PyDict>) -> PyResult<String> {
    let kw = Kw(kw);
    let particle = kw
        .choice(
            "particle",
            &[
                ("electron", RangeParticle::Electron),
                ("alpha", RangeParticle::Alpha),
            ],
        )?
        .unwrap_or(RangeParticle::Electron);
    let energy = kw.required_text("energy", " with its unit, e.g. \"500 keV\"")?;
    let material = kw.text("material", "")?.unwrap_or_else(|| "water".into());
    let file = kw.text("materials_file", " (a path)")?;
    let v = xfire_api::range::compute(
        particle,
        &energy,
        &material,
        file.as_ref().map(std::path::Path::new),
    )
    .map_err(api_error)?;
    to_json(&v)
}
