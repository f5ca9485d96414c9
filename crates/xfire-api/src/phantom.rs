//! Phantoms as data: generated from a specification (`xfire phantom generate`,
//! `docs/formats/phantom.md`) or read from a phantom file (`xfire-io`).

use std::path::Path;

pub use xfire_io::IoError;
use xfire_phantom::Spec;
pub use xfire_phantom::{Generated, Phantom};

use crate::{ApiError, Result};

/// Nominal density [g/cm³] by material name: user materials from `user_file` first, then
/// the built-in ones.
pub fn nominal_density(user_file: Option<&Path>) -> Result<impl Fn(&str) -> Option<f64>> {
    let user = match user_file {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|source| ApiError::ReadingMaterials {
                path: p.display().to_string(),
                source,
            })?;
            xfire_data::materials::parse_user_materials_toml(&text).map_err(|error| {
                ApiError::MaterialsIn {
                    path: p.display().to_string(),
                    error,
                }
            })?
        }
        None => Vec::new(),
    };
    Ok(move |name: &str| {
        user.iter()
            .find(|m| m.name == name)
            .map(|m| m.density_g_cm3)
            .or_else(|| xfire_data::materials::builtin(name).map(|m| m.density_g_cm3))
    })
}

/// Generates the phantom of specification `text` (TOML); a relative `materials_file` in it
/// resolves against `dir`.
pub fn generate(text: &str, dir: Option<&Path>) -> Result<Generated> {
    let spec = Spec::from_toml(text)?;
    let user = spec
        .materials_file
        .as_ref()
        .map(|f| dir.unwrap_or(Path::new(".")).join(f));
    let resolve = nominal_density(user.as_deref())?;
    Ok(xfire_phantom::generate(&spec, text, &resolve)?)
}

/// Reads a phantom file (HDF5, `docs/formats/phantom.md`).
pub fn load(path: &Path) -> Result<Phantom> {
    Ok(xfire_io::h5::read_phantom(path)?)
}
