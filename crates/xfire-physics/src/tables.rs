//! [`MaterialTables`]: the stopping-power tables of one material, built once before transport.

use xfire_data::materials::Material;

use crate::alpha::AlphaStopping;
use crate::electron::ElectronStopping;
use crate::PhysicsError;

/// Electron and α tables of one material (read-only, shared by all transport threads).
#[derive(Debug, Clone, PartialEq)]
pub struct MaterialTables {
    /// The material (validated: fractions normalised, sorted by Z).
    pub material: Material,
    /// Electron stopping powers and ranges.
    pub electron: ElectronStopping,
    /// α stopping powers and ranges.
    pub alpha: AlphaStopping,
}

impl MaterialTables {
    /// Builds both tables; fails if either cannot be built (the error names the material).
    pub fn new(material: &Material) -> Result<MaterialTables, PhysicsError> {
        let material = material
            .clone()
            .validated()
            .map_err(|e| PhysicsError::InvalidMaterial(e.to_string()))?;
        Ok(MaterialTables {
            electron: ElectronStopping::new(&material)?,
            alpha: AlphaStopping::new(&material)?,
            material,
        })
    }

    /// Tables for every built-in material, in `builtin_names()` order.
    pub fn builtins() -> Result<Vec<MaterialTables>, PhysicsError> {
        xfire_data::materials::builtin_names()
            .iter()
            .filter_map(|n| xfire_data::materials::builtin(n))
            .map(|m| MaterialTables::new(&m))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_builtins_build() {
        let all = MaterialTables::builtins().unwrap();
        assert_eq!(all.len(), 6);
        for t in &all {
            assert_eq!(t.electron.material_name(), t.material.name);
            assert!(t.electron.csda_range_g_cm2(1.0) > 0.4);
            assert!(t.alpha.csda_range_g_cm2(5.0) > 3e-3);
        }
    }
}
