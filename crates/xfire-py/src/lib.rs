//! The extension module `xfire._xfire`: the xfire library calls (`xfire-api`,
//! `xfire-scenario`) for Python. Arguments come as a dict of Python values (the typed,
//! documented signatures are in `python/xfire/__init__.py`); numbers come back as JSON text
//! and arrays as little-endian bytes, which the Python layer turns into dicts and numpy
//! arrays. Transport runs with the GIL released; between rounds of batches the progress
//! callback is called and Ctrl-C is checked (`watch`).

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;

mod args;
mod info;
mod kernel;
mod phantom;
mod scenario;
mod watch;

/// A library error as the Python exception carrying its message: `OSError` for files that
/// cannot be read, `ValueError` for the rest. Arguments are named by their Python keyword.
pub(crate) fn api_error(e: xfire_api::ApiError) -> PyErr {
    let msg = e.message_naming(|a| a.replace('-', "_"));
    match e {
        xfire_api::ApiError::MaterialsFile { .. }
        | xfire_api::ApiError::ReadingMaterials { .. }
        | xfire_api::ApiError::File { .. } => PyOSError::new_err(msg),
        _ => PyValueError::new_err(msg),
    }
}

/// A scenario error (invalid file: every problem with its line) as `ValueError`.
pub(crate) fn scenario_error(e: xfire_scenario::ScenarioError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The module.
#[pymodule]
fn _xfire(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(info::nuclide, m)?)?;
    m.add_function(wrap_pyfunction!(info::nuclides, m)?)?;
    m.add_function(wrap_pyfunction!(info::chain, m)?)?;
    m.add_function(wrap_pyfunction!(info::range, m)?)?;
    m.add_function(wrap_pyfunction!(kernel::kernel, m)?)?;
    m.add_function(wrap_pyfunction!(phantom::phantom_generate, m)?)?;
    m.add_function(wrap_pyfunction!(phantom::phantom_load, m)?)?;
    m.add_function(wrap_pyfunction!(scenario::run, m)?)?;
    m.add_function(wrap_pyfunction!(scenario::compare, m)?)?;
    m.add_function(wrap_pyfunction!(scenario::toml_from_json, m)?)?;
    Ok(())
}
