//! The files of a kernel: `kernel.csv`, `kernel.h5` and the radial-profile figures
//! (`docs/formats/kernel.md`).

use std::path::Path;

use serde_json::Value;
use xfire_io::hdf5::{Attr, H5Writer, LateData};

use super::{Kernel, KernelFiles, SourceKind, PHOTON_NOTE};
use crate::{ApiError, Result};

impl Kernel {
    /// Writes `kernel.csv`, `kernel.h5` and the profile figures into `dir` (which must
    /// exist); each file is written under a temporary name and renamed.
    pub fn write(&self, dir: &Path) -> Result<KernelFiles> {
        let csv = dir.join("kernel.csv");
        write_csv(self, &csv)?;
        let h5 = dir.join("kernel.h5");
        write_h5(self, &h5)?;
        let (profile, energy_per_radius) = write_profile_plot(self, dir)?;
        Ok(KernelFiles {
            h5,
            csv,
            profile,
            energy_per_radius,
        })
    }
}

/// Sums over the voxels of one spherical shell (one voxel thick) of a kernel.
#[derive(Debug, Clone, Copy, Default)]
struct Shell {
    /// Σ voxels × dose per decay \[Gy\].
    dose: f64,
    /// Σ (voxels × σ of the dose)² \[Gy²\].
    dose_var: f64,
    /// Number of voxels.
    voxels: f64,
    /// Σ voxels × energy per voxel per decay \[MeV\].
    energy: f64,
    /// Σ (voxels × σ of the energy)² \[MeV²\].
    energy_var: f64,
}

/// The symmetry classes summed into shells by rounded centre-to-centre distance.
fn shells(k: &Kernel) -> Vec<Shell> {
    let mut shells: Vec<Shell> = Vec::new();
    for ((o, (e, d, u)), &count) in k
        .classes
        .offsets
        .iter()
        .zip(k.class_values())
        .zip(&k.classes.counts)
    {
        let dist = ((o[0] * o[0] + o[1] * o[1] + o[2] * o[2]) as f64).sqrt();
        let shell = dist.round() as usize;
        if shells.len() <= shell {
            shells.resize(shell + 1, Shell::default());
        }
        let c = count as f64;
        let u = if u.is_finite() { u } else { 0.0 };
        let s = &mut shells[shell];
        s.dose += c * d;
        s.dose_var += (c * u * d).powi(2);
        s.voxels += c;
        s.energy += c * e;
        s.energy_var += (c * u * e).powi(2);
    }
    shells
}

/// Radial profile figures: `kernel_profile.png`/`.svg`, the dose per decay averaged over
/// spherical shells one voxel wide (voxels assigned by their centre-to-centre distance),
/// with the ±1σ band (classes treated as independent); for a point source also
/// `kernel_energy_per_radius.png`/`.svg`, the energy deposited per unit radius per decay
/// (shell energy ÷ shell thickness), which shows where particles stop (the Bragg peak of an
/// α), while the dose (that energy spread over the shell's mass, ∝ 1/r²) falls with r.
fn write_profile_plot(
    k: &Kernel,
    dir: &Path,
) -> Result<(
    xfire_report::WrittenFigure,
    Option<xfire_report::WrittenFigure>,
)> {
    let voxel_cm = k.meta.voxel_cm;
    let shells = shells(k);
    let kept: Vec<(usize, &Shell)> = shells
        .iter()
        .enumerate()
        .filter(|(_, s)| s.voxels > 0.0)
        .collect();
    let r_mm: Vec<f64> = kept
        .iter()
        .map(|(i, _)| 10.0 * voxel_cm * *i as f64)
        .collect();
    let curve = xfire_report::KernelCurve {
        label: "xfire, shell means".into(),
        r_mm: r_mm.clone(),
        gy_per_decay: kept.iter().map(|(_, s)| s.dose / s.voxels).collect(),
        sigma_gy_per_decay: Some(
            kept.iter()
                .map(|(_, s)| s.dose_var.sqrt() / s.voxels)
                .collect(),
        ),
        reference: false,
    };
    let (title, quantity) = match k.request.source {
        SourceKind::Point => (
            "Dose per decay vs distance from the point source",
            xfire_report::RadialQuantity::DosePerDecay,
        ),
        SourceKind::Voxel => (
            "Dose per decay vs distance from the source-voxel centre",
            xfire_report::RadialQuantity::DosePerDecayVoxelSource,
        ),
    };
    let target = xfire_report::FigureTarget::new(dir, "kernel_profile");
    let figure = |source| ApiError::Figure {
        what: "cannot draw the kernel profile figure",
        source,
    };
    let profile =
        xfire_report::radial_profile(&target, title, &[curve], false, quantity).map_err(figure)?;
    let de_dr = match k.request.source {
        SourceKind::Point => Some(energy_per_radius_plot(dir, voxel_cm, &kept, r_mm)?),
        SourceKind::Voxel => None,
    };
    Ok((profile, de_dr))
}

/// `kernel_energy_per_radius`: energy per shell per decay [MeV] ÷ shell thickness [µm] (one
/// voxel: the shells are centre distances rounded to whole voxels; half a voxel for shell 0).
fn energy_per_radius_plot(
    dir: &Path,
    voxel_cm: f64,
    kept: &[(usize, &Shell)],
    r_mm: Vec<f64>,
) -> Result<xfire_report::WrittenFigure> {
    let thick_um = |i: usize| voxel_cm * 1e4 * if i == 0 { 0.5 } else { 1.0 };
    let de_dr = xfire_report::KernelCurve {
        label: "xfire, per shell".into(),
        r_mm,
        gy_per_decay: kept.iter().map(|(i, s)| s.energy / thick_um(*i)).collect(),
        sigma_gy_per_decay: Some(
            kept.iter()
                .map(|(i, s)| s.energy_var.sqrt() / thick_um(*i))
                .collect(),
        ),
        reference: false,
    };
    xfire_report::radial_profile(
        &xfire_report::FigureTarget::new(dir, "kernel_energy_per_radius"),
        "Energy deposited per unit radius around the point source",
        &[de_dr],
        false,
        xfire_report::RadialQuantity::EnergyPerRadius,
    )
    .map_err(|source| ApiError::Figure {
        what: "cannot draw the energy-per-radius figure",
        source,
    })
}

fn write_csv(k: &Kernel, path: &Path) -> Result<()> {
    let mut out = String::with_capacity(k.classes.offsets.len() * 64);
    out.push_str("i,j,k,edep_mev_per_decay,dose_gy_per_decay,rel_unc\n");
    for (o, (e, d, u)) in k.classes.offsets.iter().zip(k.class_values()) {
        out.push_str(&format!(
            "{},{},{},{:.9e},{:.9e},{:.6e}\n",
            o[0], o[1], o[2], e, d, u
        ));
    }
    write_atomic(path, out.as_bytes())
}

fn file_error(verb: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ApiError {
    let path = path.display().to_string();
    move |source| ApiError::File { verb, path, source }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    xfire_io::fsutil::write_atomic(path, bytes).map_err(file_error("write", path))
}

fn vstr(s: &str) -> Attr {
    Attr::Text(s.to_string())
}

/// Root attributes of `kernel.h5`.
fn h5_attrs(b: &mut H5Writer, k: &Kernel) {
    let (m, req, r) = (&k.meta, &k.request, &k.tally);
    b.attr("format", vstr("xfire-kernel"));
    b.attr("format_version", Attr::I64(1));
    b.attr(
        "creator",
        vstr(&format!("xfire {}", env!("CARGO_PKG_VERSION"))),
    );
    for (k, v) in m.emitter.as_object().into_iter().flatten() {
        match v {
            Value::String(s) => b.attr(k, vstr(s)),
            Value::Number(x) => b.attr(k, Attr::F64(x.as_f64().unwrap_or(f64::NAN))),
            _ => {}
        }
    }
    b.attr("electron_model", vstr(req.electron_model().name()));
    if let Some(cut) = m.condensed_cut_mev {
        b.attr("condensed_cut_mev", Attr::F64(cut));
    }
    b.attr(
        "electron_model_description",
        vstr(req.electron_model().description()),
    );
    b.attr("photons", vstr(PHOTON_NOTE));
    b.attr("material", vstr(&m.material));
    b.attr("density_g_cm3", Attr::F64(m.density_g_cm3));
    b.attr("voxel_size_cm", Attr::F64(m.voxel_cm));
    b.attr("grid", Attr::I64(req.grid as i64));
    b.attr("source", vstr(req.source.name()));
    b.attr("voxel_mass_g", Attr::F64(k.voxel_mass_g()));
    b.attr("cutoff_range_cm", Attr::F64(m.cut_cm));
    b.attr("seed", Attr::U64(req.seed));
    b.attr("decays", Attr::U64(r.decays));
    b.attr("batches", Attr::U64(r.batches));
    let straggling = Attr::I64(req.alpha_straggling as i64);
    b.attr("alpha_straggling", straggling);
    let energies = [
        ("emitted_mev_per_decay", r.emitted_mev_per_decay()),
        ("deposited_mev_per_decay", r.deposited_mev_per_decay()),
        ("escaped_mev_per_decay", r.escaped_mev_per_decay()),
        (
            "escaped_photon_mev_per_decay",
            r.escaped_photon_mev_per_decay(),
        ),
        ("below_cutoff_mev_per_decay", r.below_cutoff_mev_per_decay()),
    ];
    for (name, value) in energies {
        b.attr(name, Attr::F64(value));
    }
    b.attr(
        "array_order",
        vstr("arrays shaped (nz, ny, nx), x fastest; the source is in voxel (N/2, N/2, N/2)"),
    );
}

/// The per-voxel datasets of `kernel.h5`, each computed when the file is written, after the
/// rest, one at a time (written and freed before the next).
fn h5_voxel_arrays<'a>(b: &mut H5Writer<'a>, k: &'a Kernel) {
    let n = k.grid();
    let shape = [n as u64; 3];
    let ch = [n.min(32) as u64, n.min(64) as u64, n.min(64) as u64];
    type Values = fn(&Kernel, usize) -> f64;
    let arrays: [(&str, Values, &str, &str); 3] = [
        (
            "edep_mev_per_decay",
            Kernel::edep_mev_at,
            "units",
            "MeV per decay",
        ),
        (
            "dose_gy_per_decay",
            Kernel::dose_gy_at,
            "units",
            "Gy per decay",
        ),
        (
            "rel_unc",
            Kernel::rel_unc_at,
            "description",
            "relative standard uncertainty of edep (batch method); 1 where nothing was scored",
        ),
    ];
    for (name, values, attr, text) in arrays {
        b.late(
            H5Writer::late_dataset(name, &shape)
                .chunks(&ch)
                .shuffle()
                .deflate(4)
                .attr(attr, vstr(text))
                .values(move || LateData::F64Each(Box::new(move |v| values(k, v)))),
        );
    }
}

fn write_h5(k: &Kernel, path: &Path) -> Result<()> {
    let mut b = H5Writer::new();
    h5_attrs(&mut b, k);
    h5_voxel_arrays(&mut b, k);
    let vals = k.class_values();
    let classes = &k.classes;
    let mut g = b.group("symmetric");
    let col = |a: usize| -> Vec<u32> { classes.offsets.iter().map(|o| o[a] as u32).collect() };
    g.dataset("i").u32s(&col(0));
    g.dataset("j").u32s(&col(1));
    g.dataset("k").u32s(&col(2));
    g.dataset("voxels").u32s(&classes.counts);
    let e: Vec<f64> = vals.iter().map(|v| v.0).collect();
    let d: Vec<f64> = vals.iter().map(|v| v.1).collect();
    let u: Vec<f64> = vals.iter().map(|v| v.2).collect();
    g.dataset("edep_mev_per_decay").f64s(&e);
    g.dataset("dose_gy_per_decay").f64s(&d);
    g.dataset("rel_unc").f64s(&u);
    g.attr(
        "description",
        vstr(
            "one row per symmetry class 0 <= i <= j <= k (offsets from the centre voxel); \
              means over the equivalent voxels, as kernel.csv",
        ),
    );
    b.add(g);
    xfire_io::fsutil::write_atomic_with(
        path,
        |tmp| {
            b.write(tmp).map_err(|e| ApiError::Hdf5 {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        },
        file_error("write", path),
    )
}
