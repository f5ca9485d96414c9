//! Reading the keyword arguments the Python layer passes as a dict; a wrong type raises
//! `TypeError`, a wrong value `ValueError`, each naming the keyword.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyString};

/// The keyword arguments of one call.
pub struct Kw<'py>(pub Bound<'py, PyDict>);

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map_or_else(|_| "?".into(), |n| n.to_string())
}

impl<'py> Kw<'py> {
    /// The value of `key`; `None` when absent or `None`.
    pub fn get(&self, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        Ok(self.0.get_item(key)?.filter(|v| !v.is_none()))
    }

    /// Text (a quantity with its unit, a name), `None` when not given.
    pub fn text(&self, key: &str, example: &str) -> PyResult<Option<String>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        if let Ok(s) = v.downcast::<PyString>() {
            return Ok(Some(s.to_string()));
        }
        Err(PyTypeError::new_err(format!(
            "{key} must be text{example}, got {} {}",
            type_name(&v),
            v.repr().map_or_else(|_| "?".into(), |r| r.to_string())
        )))
    }

    /// Text that must be given.
    pub fn required_text(&self, key: &str, example: &str) -> PyResult<String> {
        self.text(key, example)?
            .ok_or_else(|| PyTypeError::new_err(format!("missing argument {key}{example}")))
    }

    /// A list of texts (quantities with their units), `None` when not given.
    pub fn texts(&self, key: &str, example: &str) -> PyResult<Option<Vec<String>>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        if v.downcast::<PyString>().is_err() {
            if let Ok(list) = v.extract::<Vec<String>>() {
                return Ok(Some(list));
            }
        }
        Err(PyTypeError::new_err(format!(
            "{key} must be a list of texts{example}, got {} {}",
            type_name(&v),
            v.repr().map_or_else(|_| "?".into(), |r| r.to_string())
        )))
    }

    /// A real number, `None` when not given.
    pub fn number(&self, key: &str) -> PyResult<Option<f64>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        if v.is_instance_of::<PyBool>() {
            return Err(PyTypeError::new_err(format!(
                "{key} must be a number, got bool"
            )));
        }
        v.extract::<f64>().map(Some).map_err(|_| {
            PyTypeError::new_err(format!("{key} must be a number, got {}", type_name(&v)))
        })
    }

    /// A whole number >= 0, `None` when not given.
    pub fn count(&self, key: &str) -> PyResult<Option<u64>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        if v.is_instance_of::<PyBool>() {
            return Err(PyTypeError::new_err(format!(
                "{key} must be an integer, got bool"
            )));
        }
        if let Ok(n) = v.extract::<u64>() {
            return Ok(Some(n));
        }
        match v.extract::<i64>() {
            Ok(n) => Err(PyValueError::new_err(format!(
                "{key} must be >= 0, got {n}"
            ))),
            Err(_) => Err(PyTypeError::new_err(format!(
                "{key} must be an integer, got {}",
                type_name(&v)
            ))),
        }
    }

    /// A whole number >= 0 that must be given.
    pub fn required_count(&self, key: &str) -> PyResult<u64> {
        self.count(key)?
            .ok_or_else(|| PyTypeError::new_err(format!("missing argument {key} (an integer)")))
    }

    /// A flag (`True`/`False`), `false` when not given.
    pub fn flag(&self, key: &str) -> PyResult<bool> {
        match self.get(key)? {
            None => Ok(false),
            Some(v) => v.downcast::<PyBool>().map(|b| b.is_true()).map_err(|_| {
                PyTypeError::new_err(format!(
                    "{key} must be True or False, got {}",
                    type_name(&v)
                ))
            }),
        }
    }

    /// One of `choices` by name, `None` when not given.
    pub fn choice<T: Copy>(&self, key: &str, choices: &[(&str, T)]) -> PyResult<Option<T>> {
        let Some(name) = self.text(key, "")? else {
            return Ok(None);
        };
        let names: Vec<&str> = choices.iter().map(|c| c.0).collect();
        choices
            .iter()
            .find(|c| c.0 == name)
            .map(|c| Some(c.1))
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "{key} must be one of {}, got {name:?}",
                    names.join(", ")
                ))
            })
    }

    /// The progress callback, `None` when not given.
    pub fn callable(&self, key: &str) -> PyResult<Option<Py<PyAny>>> {
        match self.get(key)? {
            None => Ok(None),
            Some(v) if v.is_callable() => Ok(Some(v.unbind())),
            Some(v) => Err(PyTypeError::new_err(format!(
                "{key} must be callable (what, done, total), got {}",
                type_name(&v)
            ))),
        }
    }
}
