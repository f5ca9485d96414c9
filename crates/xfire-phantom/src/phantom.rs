//! The phantom: a grid with per-voxel material, density, label and cell id, the material and
//! label tables, the cell registry and the source-distribution maps.

use crate::cells::CellRegistry;
use crate::grid::Grid;
use crate::labels::{LabelId, LabelTable};
use crate::source::SourceMap;
use crate::{PhantomError, Result};

/// One entry of a phantom's material table (index = the per-voxel `u8` material id).
#[derive(Debug, Clone, PartialEq)]
pub struct MaterialEntry {
    /// Material name, resolved against the material database (built-in or user TOML).
    pub name: String,
    /// Nominal density of the material \[g/cm³\] (voxels may carry other densities).
    pub density_g_cm3: f64,
}

/// A voxel phantom.
///
/// Invariants (checked by [`Phantom::validate`]): every per-voxel array has `grid.len()`
/// entries; material ids index `materials`; densities are finite and ≥ 0 \[g/cm³\]; every label
/// id is in `labels`; cell ids are 0 or a registry id; source-map weights are finite and ≥ 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Phantom {
    /// The voxel grid.
    pub grid: Grid,
    /// Material table; `material[v]` indexes it.
    pub materials: Vec<MaterialEntry>,
    /// Label-name table.
    pub labels: LabelTable,
    /// Material id per voxel.
    pub material: Vec<u8>,
    /// Mass density per voxel \[g/cm³\].
    pub density_g_cm3: Vec<f32>,
    /// Label id per voxel.
    pub label: Vec<LabelId>,
    /// Cell id per voxel (0 = not in a cell).
    pub cell_id: Vec<u32>,
    /// The cell registry.
    pub cells: CellRegistry,
    /// Source-distribution maps (relative activity weight per voxel).
    pub source_maps: Vec<SourceMap>,
    /// The generator specification (TOML text) or import description that made this phantom.
    pub provenance: String,
}

/// Voxel count, volume and mass of one label.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LabelStats {
    /// Label id.
    pub id: LabelId,
    /// Label name.
    pub name: String,
    /// Number of voxels.
    pub voxels: u64,
    /// Volume \[cm³\].
    pub volume_cm3: f64,
    /// Mass \[g\].
    pub mass_g: f64,
}

impl Phantom {
    /// A phantom of one material and label everywhere.
    pub fn uniform(grid: Grid, material: MaterialEntry, label: LabelId) -> Self {
        let n = grid.len();
        let rho = material.density_g_cm3 as f32;
        Self {
            grid,
            materials: vec![material],
            labels: LabelTable::new(),
            material: vec![0; n],
            density_g_cm3: vec![rho; n],
            label: vec![label; n],
            cell_id: vec![0; n],
            cells: CellRegistry::new(),
            source_maps: Vec::new(),
            provenance: String::new(),
        }
    }

    /// Mass of voxel `v` \[g\] (density × voxel volume; derived, not stored).
    #[inline]
    pub fn voxel_mass_g(&self, v: usize) -> f64 {
        self.density_g_cm3[v] as f64 * self.grid.voxel_volume_cm3()
    }

    /// Check all invariants; the error names the first offending value.
    pub fn validate(&self) -> Result<()> {
        let n = self.grid.len();
        for (what, len) in [
            ("material", self.material.len()),
            ("density", self.density_g_cm3.len()),
            ("label", self.label.len()),
            ("cell_id", self.cell_id.len()),
        ] {
            if len != n {
                return Err(PhantomError::Inconsistent(format!(
                    "{what} array has {len} values but the grid {}×{}×{} has {n} voxels",
                    self.grid.nx, self.grid.ny, self.grid.nz
                )));
            }
        }
        if self.materials.is_empty() || self.materials.len() > 256 {
            return Err(PhantomError::Inconsistent(format!(
                "material table must have 1 to 256 entries, has {}",
                self.materials.len()
            )));
        }
        for m in &self.materials {
            if !(m.density_g_cm3.is_finite() && m.density_g_cm3 >= 0.0) {
                return Err(PhantomError::InvalidDensity(format!(
                    "material {:?} has density {} g/cm3",
                    m.name, m.density_g_cm3
                )));
            }
        }
        if let Some((v, &m)) = self
            .material
            .iter()
            .enumerate()
            .find(|(_, &m)| m as usize >= self.materials.len())
        {
            return Err(PhantomError::UnknownMaterial(format!(
                "voxel {v} has material id {m} but the material table has {} entries",
                self.materials.len()
            )));
        }
        if let Some((v, &d)) = self
            .density_g_cm3
            .iter()
            .enumerate()
            .find(|(_, d)| !(d.is_finite() && **d >= 0.0))
        {
            return Err(PhantomError::InvalidDensity(format!(
                "voxel {v} {:?} has density {d} g/cm3 (must be finite and >= 0)",
                self.grid.ijk(v)
            )));
        }
        let max = self.labels.max_id() as usize;
        let mut known = vec![false; max + 1];
        for (id, _) in self.labels.entries() {
            known[*id as usize] = true;
        }
        if let Some((v, &l)) = self
            .label
            .iter()
            .enumerate()
            .find(|(_, &l)| !known.get(l as usize).copied().unwrap_or(false))
        {
            return Err(PhantomError::UnknownLabel(format!(
                "voxel {v} has label {l}, which is not in the label table"
            )));
        }
        let nc = self.cells.len() as u32;
        if let Some((v, &c)) = self.cell_id.iter().enumerate().find(|(_, &c)| c > nc) {
            return Err(PhantomError::Inconsistent(format!(
                "voxel {v} belongs to cell {c} but there are {nc} cells"
            )));
        }
        for (i, c) in self.cells.cells.iter().enumerate() {
            if c.id as usize != i + 1 {
                return Err(PhantomError::Inconsistent(format!(
                    "cell at position {i} has id {} (expected {})",
                    c.id,
                    i + 1
                )));
            }
            if c.kind.0 as usize >= self.cells.kind_names.len() {
                return Err(PhantomError::Inconsistent(format!(
                    "cell {} has kind {} but only {} kinds are named",
                    c.id,
                    c.kind.0,
                    self.cells.kind_names.len()
                )));
            }
            if !(c.radius_cm > 0.0
                && c.nucleus_radius_cm >= 0.0
                && c.nucleus_radius_cm <= c.radius_cm)
            {
                return Err(PhantomError::Inconsistent(format!(
                    "cell {} has radius {} cm and nucleus radius {} cm",
                    c.id, c.radius_cm, c.nucleus_radius_cm
                )));
            }
        }
        for m in &self.source_maps {
            if m.weight.len() != n {
                return Err(PhantomError::Inconsistent(format!(
                    "source map {:?} has {} values for {n} voxels",
                    m.name,
                    m.weight.len()
                )));
            }
            if let Some((v, w)) = m
                .weight
                .iter()
                .enumerate()
                .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
            {
                return Err(PhantomError::Inconsistent(format!(
                    "source map {:?} has weight {w} at voxel {v}",
                    m.name
                )));
            }
        }
        Ok(())
    }

    /// Voxel count, volume \[cm³\] and mass \[g\] per label in the label table (labels with no
    /// voxels included), sorted by id.
    pub fn label_stats(&self) -> Vec<LabelStats> {
        let max = self.labels.max_id() as usize;
        let mut count = vec![0u64; max + 1];
        let mut rho_sum = vec![0f64; max + 1];
        for (&l, &d) in self.label.iter().zip(&self.density_g_cm3) {
            if let Some(c) = count.get_mut(l as usize) {
                *c += 1;
                rho_sum[l as usize] += d as f64;
            }
        }
        let vv = self.grid.voxel_volume_cm3();
        self.labels
            .entries()
            .iter()
            .map(|(id, name)| LabelStats {
                id: *id,
                name: name.clone(),
                voxels: count[*id as usize],
                volume_cm3: count[*id as usize] as f64 * vv,
                mass_g: rho_sum[*id as usize] * vv,
            })
            .collect()
    }

    /// Bytes held by the per-voxel arrays and source maps.
    pub fn memory_bytes(&self) -> u64 {
        let n = self.grid.len() as u64;
        n * BYTES_PER_VOXEL + n * 4 * self.source_maps.len() as u64
    }

    /// Index of a material name in the material table, adding it with `density_g_cm3` if new.
    pub fn material_or_add(&mut self, name: &str, density_g_cm3: f64) -> Result<u8> {
        if let Some(p) = self.materials.iter().position(|m| m.name == name) {
            return Ok(p as u8);
        }
        if self.materials.len() >= 256 {
            return Err(PhantomError::UnknownMaterial(format!(
                "more than 256 materials (adding {name:?})"
            )));
        }
        self.materials.push(MaterialEntry {
            name: name.to_string(),
            density_g_cm3,
        });
        Ok((self.materials.len() - 1) as u8)
    }

    /// Mass of every voxel \[g\], in voxel order.
    pub fn voxel_masses_g(&self) -> Vec<f64> {
        let vv = self.grid.voxel_volume_cm3();
        self.density_g_cm3.iter().map(|&d| d as f64 * vv).collect()
    }

    /// Alias sampler over the source map `name` (decay voxel by weight, position uniform in
    /// the voxel: [`AliasSampler::sample_position`](crate::AliasSampler::sample_position)).
    pub fn source_sampler(&self, name: &str) -> Result<crate::AliasSampler> {
        let m = self.source_map(name).ok_or_else(|| {
            let names: Vec<&str> = self.source_maps.iter().map(|m| m.name.as_str()).collect();
            PhantomError::Spec(format!(
                "no source map {name:?} in this phantom; it has {names:?}"
            ))
        })?;
        crate::AliasSampler::new(&m.weight)
    }

    /// Source map by name.
    pub fn source_map(&self, name: &str) -> Option<&SourceMap> {
        self.source_maps.iter().find(|m| m.name == name)
    }
}

/// Bytes per voxel of the always-present arrays: material u8 + density f32 + label u16 +
/// cell id u32.
pub const BYTES_PER_VOXEL: u64 = 1 + 4 + 2 + 4;
