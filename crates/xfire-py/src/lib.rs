//! The extension module `xfire._xfire`: the xfire library calls (`xfire-api`,
//! `xfire-scenario`, `xfire-dose`) for Python. Arguments come as a dict of Python values (the typed,
//! documented signatures are in `python/xfire/__init__.py`); numbers come back as JSON text
//! and arrays as little-endian bytes, which the Python layer turns into dicts and numpy
//! arrays. Transport runs with the GIL released; between rounds of batches the progress
//! callback is called and Ctrl-C is checked (`watch`).

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;

mod args;
mod dose;
mod info;
mod kernel;
mod phantom;
mod scenario;
mod watch;

/// `msg` with the command-line options it names (`--materials-file`, at the start of a
/// word) written as the Python keywords (`materials_file`), and the command's positional
/// `ACTIVITY` as `activity`.
pub(crate) fn python_names(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(k) = rest.find("--") {
        let (before, after) = rest.split_at(k);
        out.push_str(before);
        let at_word_start =
            !matches!(out.chars().last(), Some(c) if c.is_alphanumeric() || "-_./\\".contains(c));
        let name_len = after[2..]
            .find(|c: char| !(c.is_ascii_lowercase() || c == '-'))
            .unwrap_or(after.len() - 2);
        let name = &after[2..2 + name_len];
        if at_word_start && name.starts_with(|c: char| c.is_ascii_lowercase()) {
            out.push_str(&name.replace('-', "_"));
        } else {
            out.push_str(&after[..2 + name_len]);
        }
        rest = &after[2 + name_len..];
    }
    out.push_str(rest);
    out.replace("ACTIVITY", "activity")
}

/// A library error as the Python exception carrying its message: `OSError` for files that
/// cannot be read, `ValueError` for the rest. Arguments are named by their Python keyword.
pub(crate) fn api_error(e: xfire_api::ApiError) -> PyErr {
    let msg = python_names(&e.message_naming(|a| a.replace('-', "_")));
    match e {
        xfire_api::ApiError::MaterialsFile { .. }
        | xfire_api::ApiError::ReadingMaterials { .. }
        | xfire_api::ApiError::File { .. } => PyOSError::new_err(msg),
        _ => PyValueError::new_err(msg),
    }
}

/// A scenario error (invalid file: every problem with its line) as `ValueError`, with its
/// causes (`ScenarioError::message`), options named as Python keywords.
pub(crate) fn scenario_error(e: xfire_scenario::ScenarioError) -> PyErr {
    PyValueError::new_err(python_names(&e.message()))
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
    m.add_function(wrap_pyfunction!(dose::dose, m)?)?;
    m.add_function(wrap_pyfunction!(phantom::phantom_generate, m)?)?;
    m.add_function(wrap_pyfunction!(phantom::phantom_load, m)?)?;
    m.add_function(wrap_pyfunction!(scenario::run, m)?)?;
    m.add_function(wrap_pyfunction!(scenario::compare, m)?)?;
    m.add_function(wrap_pyfunction!(scenario::toml_from_json, m)?)?;
    Ok(())
}
