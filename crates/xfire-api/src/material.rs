//! A material by name: from the user materials file when it defines it, else built in.

use std::path::Path;

use xfire_data::materials::{builtin, builtin_names, parse_user_materials_toml, Material};

use crate::{ApiError, Result};

/// The material `name`: from the user materials file (`docs/formats/materials.md`) if it
/// defines it, else built in.
pub fn find_material(name: &str, materials_file: Option<&Path>) -> Result<Material> {
    if let Some(path) = materials_file {
        let text = std::fs::read_to_string(path).map_err(|source| ApiError::MaterialsFile {
            path: path.display().to_string(),
            source,
        })?;
        let user =
            parse_user_materials_toml(&text).map_err(|source| ApiError::MaterialsFileContent {
                path: path.display().to_string(),
                source,
            })?;
        if let Some(m) = user.into_iter().find(|m| m.name == name) {
            return Ok(m);
        }
    }
    builtin(name).ok_or_else(|| {
        ApiError::UnknownMaterial(format!(
            "unknown material {:?}; built-in materials: {}{}",
            name,
            builtin_names().join(", "),
            if materials_file.is_some() {
                " (nor is it defined in the materials file)"
            } else {
                " (user materials: --materials-file)"
            }
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_material_names_the_built_in_ones() {
        let e = find_material("watr", None).unwrap_err().to_string();
        assert!(e.contains("unknown material \"watr\""), "{e}");
        assert!(e.contains("water"), "{e}");
        assert_eq!(find_material("water", None).unwrap().name, "water");
    }
}
