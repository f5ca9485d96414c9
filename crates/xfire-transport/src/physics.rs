//! Per-material physics tables, built once per run.

use crate::{Result, TransportError};
use xfire_data::materials::Material;
use xfire_phantom::Phantom;
use xfire_physics::alpha::AlphaStopping;
use xfire_physics::condensed::{CondensedParams, CondensedTables};
use xfire_physics::electron::ElectronStopping;
use xfire_physics::photon::PhotonTables;

/// Stopping-power and range tables for every material of a phantom, indexed like the
/// phantom's material table. Mass quantities; the voxel density scales them.
#[derive(Debug, Clone)]
pub struct PhysicsTables {
    /// Material names, in phantom material-table order.
    pub names: Vec<String>,
    /// Electron tables per material.
    pub electron: Vec<ElectronStopping>,
    /// α tables per material; empty when built without α.
    pub alpha: Vec<AlphaStopping>,
    /// Condensed-history electron tables per material; empty unless built with
    /// [`PhysicsTables::with_condensed`] (needed by `ElectronModel::CondensedHistory`).
    pub condensed: Vec<CondensedTables>,
    /// Photon cross-section tables per material (always built).
    pub photon: Vec<PhotonTables>,
    materials: Vec<Material>,
}

impl PhysicsTables {
    /// Tables for `materials`; α tables too when `with_alpha` (an error names a material
    /// without α data).
    pub fn new(materials: &[Material], with_alpha: bool) -> Result<Self> {
        let mut electron = Vec::with_capacity(materials.len());
        let mut alpha = Vec::new();
        let mut photon = Vec::with_capacity(materials.len());
        for m in materials {
            let err = |source| TransportError::Physics {
                material: m.name.clone(),
                source,
            };
            electron.push(ElectronStopping::new(m).map_err(err)?);
            photon.push(PhotonTables::new(m).map_err(err)?);
            if with_alpha {
                alpha.push(AlphaStopping::new(m).map_err(err)?);
            }
        }
        Ok(Self {
            names: materials.iter().map(|m| m.name.clone()).collect(),
            electron,
            alpha,
            condensed: Vec::new(),
            photon,
            materials: materials.to_vec(),
        })
    }

    /// Adds the condensed-history electron tables of every material, built with `params`.
    pub fn with_condensed(mut self, params: CondensedParams) -> Result<Self> {
        let mut out = Vec::with_capacity(self.materials.len());
        for m in &self.materials {
            out.push(CondensedTables::new(m, params).map_err(|source| {
                TransportError::Physics {
                    material: m.name.clone(),
                    source,
                }
            })?);
        }
        self.condensed = out;
        Ok(self)
    }

    /// Tables for every entry of `phantom`'s material table, each name resolved by
    /// `resolve` (e.g. `xfire_data::materials::builtin`).
    pub fn for_phantom(
        phantom: &Phantom,
        resolve: &dyn Fn(&str) -> Option<Material>,
        with_alpha: bool,
    ) -> Result<Self> {
        let mut mats = Vec::with_capacity(phantom.materials.len());
        for e in &phantom.materials {
            mats.push(resolve(&e.name).ok_or_else(|| {
                TransportError::Invalid(format!(
                    "phantom material {:?} is not a known material",
                    e.name
                ))
            })?);
        }
        Self::new(&mats, with_alpha)
    }

    /// Number of materials.
    pub fn len(&self) -> usize {
        self.electron.len()
    }

    /// True when there is no material.
    pub fn is_empty(&self) -> bool {
        self.electron.is_empty()
    }

    /// Whether α tables were built.
    pub fn has_alpha(&self) -> bool {
        !self.alpha.is_empty()
    }
}
