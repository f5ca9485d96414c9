//! `xfire.kernel(...)`: the kernel pipeline of `xfire kernel` (`xfire_api::kernel`) without
//! files: summary and per-voxel arrays.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use xfire_api::kernel::{
    ElectronModelChoice, Emissions, EmitterSpec, KernelPlan, KernelRequest, MonoParticle,
    SourceKind,
};

use crate::api_error;
use crate::args::Kw;
use crate::watch::Watch;

const QUANTITY: &str = " with its unit, e.g. ";

fn named<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<(&'static str, T)> {
    all.iter().map(|&t| (name(t), t)).collect()
}

/// The emitter: `nuclide` (with `emissions`) or `particle` with `energy`.
fn emitter(kw: &Kw<'_>) -> PyResult<EmitterSpec> {
    let nuclide = kw.text("nuclide", " (a nuclide name, e.g. \"Lu-177\")")?;
    let particle = kw.choice("particle", &named(&MonoParticle::ALL, MonoParticle::name))?;
    let emissions = kw.choice("emissions", &named(&Emissions::ALL, Emissions::name))?;
    let energy = kw.text("energy", &format!("{QUANTITY}\"500 keV\""))?;
    match (nuclide, particle, energy) {
        (Some(name), None, None) => Ok(EmitterSpec::Nuclide {
            name,
            emissions: emissions.unwrap_or(Emissions::All),
        }),
        (None, Some(particle), Some(energy)) if emissions.is_none() => {
            Ok(EmitterSpec::Particle { particle, energy })
        }
        _ => Err(pyo3::exceptions::PyTypeError::new_err(
            "give nuclide=NAME (and emissions=beta|electrons|alpha|all) or particle=electron|alpha|photon with energy=\"E unit\", not both",
        )),
    }
}

/// The request from the keywords (defaults as `xfire kernel`).
fn request(kw: &Kw<'_>) -> PyResult<KernelRequest> {
    let source = kw
        .choice("source", &named(&SourceKind::ALL, SourceKind::name))?
        .ok_or_else(|| {
            pyo3::exceptions::PyTypeError::new_err(
                "missing argument source (\"point\" or \"voxel\")",
            )
        })?;
    let voxel = kw.required_text("voxel", &format!("{QUANTITY}\"50 um\""))?;
    let grid = usize::try_from(kw.required_count("grid")?).unwrap_or(usize::MAX);
    let mut req = KernelRequest::new(
        emitter(kw)?,
        &voxel,
        grid,
        source,
        kw.required_count("decays")?,
    );
    if let Some(m) = kw.text("material", " (a material name)")? {
        req.material = m;
    }
    req.materials_file = kw.text("materials_file", " (a path)")?.map(Into::into);
    req.seed = kw.count("seed")?.unwrap_or(1);
    req.threads = kw.count("threads")?.map_or(0, |t| t as usize);
    req.batch_size = kw.count("batch_size")?.unwrap_or(1000);
    req.alpha_straggling = kw.flag("alpha_straggling")?;
    let models = named(&ElectronModelChoice::ALL, ElectronModelChoice::name);
    req.electron_model = kw
        .choice("electron_model", &models)?
        .unwrap_or(ElectronModelChoice::Auto);
    if let Some(cut) = kw.text(
        "electron_cut",
        &format!("{QUANTITY}\"10 keV\", or \"auto\""),
    )? {
        req.electron_cut = cut;
    }
    Ok(req)
}

fn le_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Runs a kernel: returns a dict with `summary` (JSON text), `grid`, and the arrays
/// `edep_mev_per_decay`, `dose_gy_per_decay`, `rel_unc` as little-endian f64 bytes in the
/// grid's order (x fastest). Keywords as `xfire.kernel`, plus `progress`.
#[pyfunction]
pub fn kernel<'py>(py: Python<'py>, kw: Bound<'py, PyDict>) -> PyResult<Bound<'py, PyDict>> {
    let kw = Kw(kw);
    let req = request(&kw)?;
    let watch = Watch::new(kw.callable("progress")?);
    let plan = KernelPlan::new(&req).map_err(api_error)?;
    let total = req.decays;
    let result = py.allow_threads(|| {
        plan.run(
            &|done| {
                watch.poll("kernel", done, total);
            },
            &|| watch.stop(),
        )
    });
    if let Some(e) = watch.take() {
        return Err(e);
    }
    let k = result.map_err(api_error)?;
    let out = PyDict::new(py);
    out.set_item("summary", k.summary(None).to_string())?;
    out.set_item("grid", k.grid())?;
    for (name, v) in [
        ("edep_mev_per_decay", k.edep_mev_per_decay()),
        ("dose_gy_per_decay", k.dose_gy_per_decay()),
        ("rel_unc", k.rel_unc()),
    ] {
        out.set_item(name, PyBytes::new(py, &le_bytes(&v)))?;
    }
    Ok(out)
}
