//! `xfire.run(scenario)`: a scenario end to end (`xfire-scenario`: plan, transport, time
//! step) without files: the summary of `summary.json`, the per-cell table and the dose
//! curves; `xfire.compare(scenario)`: `comparison.json` and the survival curves.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use xfire_scenario::compare::{self as cmp, CompareOptions, Normalise};
use xfire_scenario::{output, Options, Plan, RunResult, Scenario};

use crate::args::Kw;
use crate::scenario_error;
use crate::watch::Watch;

/// The scenario from `path` or from `toml` text (relative file names then resolve against
/// `base`, when given).
fn scenario(kw: &Kw<'_>) -> PyResult<Scenario> {
    if let Some(path) = kw.text("path", " (a scenario file)")? {
        return Scenario::from_file(Path::new(&path)).map_err(scenario_error);
    }
    let text = kw.required_text("toml", " (scenario TOML)")?;
    let base = kw.text("base", " (a folder)")?;
    let anchor = base.map(|b| Path::new(&b).join("<scenario>"));
    Scenario::from_text(&text, anchor.as_deref()).map_err(scenario_error)
}

/// Scenario TOML text from JSON text (the Python layer's `json.dumps` of a dict).
#[pyfunction]
pub fn toml_from_json(json: &str) -> PyResult<String> {
    let v: toml::Value = serde_json::from_str(json)
        .map_err(|e| PyValueError::new_err(format!("scenario dict: {e}")))?;
    toml::to_string(&v).map_err(|e| PyValueError::new_err(format!("scenario dict: {e}")))
}

pub(crate) fn bytes_f64<'py>(py: Python<'py>, v: &[f64]) -> Bound<'py, PyBytes> {
    let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    PyBytes::new(py, &b)
}

/// The per-cell table: little-endian bytes per column (`id` u32, `kind` u16, `labelled`
/// u8, the rest f64; `dose_at_gy` times × cells).
fn cells<'py>(py: Python<'py>, r: &RunResult) -> PyResult<Bound<'py, PyDict>> {
    let c = &r.cells;
    let d = PyDict::new(py);
    let ids: Vec<u8> = c.id.iter().flat_map(|x| x.to_le_bytes()).collect();
    d.set_item("id", PyBytes::new(py, &ids))?;
    let kinds: Vec<u8> = c.kind.iter().flat_map(|x| x.to_le_bytes()).collect();
    d.set_item("kind", PyBytes::new(py, &kinds))?;
    let labelled: Vec<u8> = c.labelled.iter().map(|&x| u8::from(x)).collect();
    d.set_item("labelled", PyBytes::new(py, &labelled))?;
    for (name, v) in [
        ("uptake_weight", &c.uptake_weight),
        ("dose_gy", &c.dose_gy),
        ("alpha_dose_gy", &c.alpha_gy),
        ("dose_sd_gy", &c.dose_sd_gy),
        ("alpha_dose_sd_gy", &c.alpha_sd_gy),
        ("rbe_weighted_dose_gy", &c.rbe_weighted_gy),
        ("bed_gy", &c.bed_gy),
        ("surviving_fraction", &c.survival),
    ] {
        d.set_item(name, bytes_f64(py, v))?;
    }
    let at: Vec<f64> = c.dose_at_gy.iter().flatten().copied().collect();
    d.set_item("dose_at_times_gy", bytes_f64(py, &at))?;
    d.set_item("times", c.dose_at_gy.len())?;
    Ok(d)
}

/// The dose curves: times, names, rate and cumulative dose (curves × times).
fn curves<'py>(py: Python<'py>, r: &RunResult) -> PyResult<Bound<'py, PyDict>> {
    let c = &r.curves;
    let d = PyDict::new(py);
    d.set_item("times_s", bytes_f64(py, &c.times_s))?;
    d.set_item("names", c.names.clone())?;
    let rate: Vec<f64> = c.rate_gy_per_s.iter().flatten().copied().collect();
    d.set_item("rate_gy_per_s", bytes_f64(py, &rate))?;
    let cum: Vec<f64> = c.cumulative_gy.iter().flatten().copied().collect();
    d.set_item("cumulative_gy", bytes_f64(py, &cum))?;
    Ok(d)
}

/// Transport options (no cache) whose progress calls the Python callback and checks for
/// Ctrl-C, and whose stop flag is set when either raised.
fn watched_options(kw: &Kw<'_>) -> PyResult<(Arc<Watch>, Options)> {
    let threads = kw.count("threads")?.map_or(0, |t| t as usize);
    let watch = Arc::new(Watch::new(kw.callable("progress")?));
    let stop = Arc::new(AtomicBool::new(false));
    let (w, s) = (watch.clone(), stop.clone());
    let opts = Options {
        threads,
        progress: Some(Arc::new(move |what: &str, done: u64, total: u64| {
            if w.poll(what, done, total) {
                s.store(true, Ordering::SeqCst);
            }
        })),
        stop: Some(stop),
        ..Options::default()
    };
    Ok((watch, opts))
}

/// Runs a scenario (keywords `path` or `toml` [+ `base`], `threads`, `decays`,
/// `progress`): returns a dict with `summary` (JSON text of summary.json), `cells` and
/// `curves` (column bytes, see [`cells`] and [`curves`]).
#[pyfunction]
pub fn run<'py>(py: Python<'py>, kw: Bound<'py, PyDict>) -> PyResult<Bound<'py, PyDict>> {
    let kw = Kw(kw);
    let mut sc = scenario(&kw)?;
    if let Some(d) = kw.count("decays")? {
        if d == 0 {
            return Err(PyValueError::new_err("decays must be at least 1, got 0"));
        }
        sc.transport.decays = d;
        sc.transport.max_decays = sc.transport.max_decays.max(d);
    }
    let (watch, opts) = watched_options(&kw)?;
    let plan = Plan::new(sc).map_err(scenario_error)?;
    let result = py.allow_threads(|| xfire_scenario::run(&plan, &opts));
    if let Some(e) = watch.take() {
        return Err(e);
    }
    let (_, r) = result.map_err(scenario_error)?;
    let out = PyDict::new(py);
    let summary = output::summary_json(&r).map_err(scenario_error)?;
    out.set_item("summary", summary.to_string())?;
    out.set_item("cells", cells(py, &r)?)?;
    out.set_item("curves", curves(py, &r)?)?;
    Ok(out)
}

/// Options of `xfire compare` from the keywords (defaults as the command).
fn compare_options(kw: &Kw<'_>) -> PyResult<CompareOptions> {
    let nuclides: Vec<String> = match kw.text("nuclides", " (comma-separated names)")? {
        Some(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
        None => DEFAULT_NUCLIDES.split(',').map(String::from).collect(),
    };
    let normalise = match kw.text("normalise", "")? {
        Some(n) => {
            Normalise::parse(&n).map_err(|e| PyValueError::new_err(format!("normalise: {e}")))?
        }
        None => Normalise::TumourDose,
    };
    Ok(CompareOptions {
        nuclides,
        normalise,
        reference: kw.text("reference", " (a nuclide name)")?,
        full_output: None,
        events: None,
        converge: false,
    })
}

/// The nuclides `xfire compare` compares by default.
const DEFAULT_NUCLIDES: &str = "Lu-177,Tb-161,Ac-225,Bi-213,At-211,Pb-212,Ra-223";

/// Compares nuclides on one scenario (keywords `path` or `toml` [+ `base`], `nuclides`
/// (comma-separated), `normalise`, `reference`, `decays`, `threads`,
/// `progress`): returns a dict with `comparison` (JSON text of comparison.json) and
/// `survival` (per nuclide: start days [d] and lymphocyte survival, the figure's curves).
#[pyfunction]
pub fn compare<'py>(py: Python<'py>, kw: Bound<'py, PyDict>) -> PyResult<Bound<'py, PyDict>> {
    let kw = Kw(kw);
    let mut sc = scenario(&kw)?;
    if let Some(d) = kw.count("decays")? {
        if d == 0 {
            return Err(PyValueError::new_err("decays must be at least 1, got 0"));
        }
        sc.transport.decays = d;
        sc.transport.max_decays = sc.transport.max_decays.max(d);
    }
    let copts = compare_options(&kw)?;
    let (watch, opts) = watched_options(&kw)?;
    let result = py.allow_threads(|| cmp::compare(&sc, &copts, &opts));
    if let Some(e) = watch.take() {
        return Err(e);
    }
    let c = result.map_err(scenario_error)?;
    let out = PyDict::new(py);
    let json = cmp::comparison_json(&c).map_err(scenario_error)?;
    out.set_item("comparison", json.to_string())?;
    let survival = PyDict::new(py);
    for r in &c.rows {
        let (days, s) = &r.curves.survival;
        survival.set_item(&r.nuclide, (bytes_f64(py, days), bytes_f64(py, s)))?;
    }
    out.set_item("survival", survival)?;
    Ok(out)
}
