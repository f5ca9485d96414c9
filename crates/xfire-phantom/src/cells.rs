//! The cell registry: every generated cell with its kind, geometry and voxels, so that dose
//! can be reported per cell and not only per voxel.

use crate::labels::{self, LabelId, LabelTable};
use crate::{PhantomError, Result};

/// Kind of a cell. `0` is a tumour cell, `1` a lymphocyte, ids ≥ 2 are user kinds whose names
/// are in [`CellRegistry::kind_names`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKind(pub u16);

impl CellKind {
    /// A tumour cell.
    pub const TUMOUR: CellKind = CellKind(0);
    /// A lymphocyte.
    pub const LYMPHOCYTE: CellKind = CellKind(1);
}

/// A cell id: `1..=n` (0 in the per-voxel cell-id map means "no cell").
pub type CellId = u32;

/// One cell: a sphere with a concentric spherical nucleus, and the voxels it owns.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Id, equal to (position in the registry) + 1.
    pub id: CellId,
    /// Kind (tumour, lymphocyte, user kind).
    pub kind: CellKind,
    /// Centre \[cm\].
    pub centre_cm: [f64; 3],
    /// Cell radius \[cm\].
    pub radius_cm: f64,
    /// Nucleus radius \[cm\] (< cell radius).
    pub nucleus_radius_cm: f64,
    /// Flat indices of the voxels of the nucleus (centre of voxel inside the nucleus sphere).
    pub nucleus_voxels: Vec<u32>,
    /// Flat indices of the voxels of the cytoplasm (centre inside the cell, outside the nucleus).
    pub cytoplasm_voxels: Vec<u32>,
}

/// All cells of a phantom, with the kind-name table and the labels each kind uses.
///
/// Invariant: `cells[n].id == n + 1`; `kind_names[0] == "tumour"`, `kind_names[1] == "lymphocyte"`.
#[derive(Debug, Clone, PartialEq)]
pub struct CellRegistry {
    /// The cells, ordered by id.
    pub cells: Vec<Cell>,
    /// Name of each kind, indexed by [`CellKind`]`.0`.
    pub kind_names: Vec<String>,
}

impl Default for CellRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl CellRegistry {
    /// An empty registry with the built-in kinds.
    pub fn new() -> Self {
        Self {
            cells: Vec::new(),
            kind_names: vec!["tumour".into(), "lymphocyte".into()],
        }
    }

    /// Kind id for a kind name, adding a user kind if needed.
    pub fn kind_or_add(&mut self, name: &str) -> Result<CellKind> {
        if let Some(p) = self.kind_names.iter().position(|n| n == name) {
            return Ok(CellKind(p as u16));
        }
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(PhantomError::Spec(format!(
                "cell kind {name:?} must be non-empty without spaces or '/'"
            )));
        }
        self.kind_names.push(name.to_string());
        Ok(CellKind((self.kind_names.len() - 1) as u16))
    }

    /// Name of a kind.
    pub fn kind_name(&self, kind: CellKind) -> &str {
        self.kind_names
            .get(kind.0 as usize)
            .map(|s| s.as_str())
            .unwrap_or("?")
    }

    /// Append a cell (without voxels); returns its id.
    pub fn push(
        &mut self,
        kind: CellKind,
        centre_cm: [f64; 3],
        radius_cm: f64,
        nucleus_radius_cm: f64,
    ) -> CellId {
        let id = self.cells.len() as CellId + 1;
        self.cells.push(Cell {
            id,
            kind,
            centre_cm,
            radius_cm,
            nucleus_radius_cm,
            nucleus_voxels: Vec::new(),
            cytoplasm_voxels: Vec::new(),
        });
        id
    }

    /// Cell with id `id`.
    pub fn get(&self, id: CellId) -> Option<&Cell> {
        if id == 0 {
            return None;
        }
        self.cells.get(id as usize - 1)
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// True when there are no cells.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Number of cells of each kind, indexed like `kind_names`.
    pub fn count_by_kind(&self) -> Vec<usize> {
        let mut n = vec![0; self.kind_names.len()];
        for c in &self.cells {
            if let Some(x) = n.get_mut(c.kind.0 as usize) {
                *x += 1;
            }
        }
        n
    }

    /// Rebuild every cell's voxel lists from the per-voxel cell-id map and labels: a voxel of
    /// cell `c` is a nucleus voxel when its label is the nucleus label of `c`'s kind.
    pub fn rebuild_voxel_lists(
        &mut self,
        cell_id: &[u32],
        label: &[LabelId],
        table: &LabelTable,
    ) -> Result<()> {
        let nucleus_labels: Vec<Option<LabelId>> = (0..self.kind_names.len())
            .map(|k| nucleus_label(table, self, CellKind(k as u16)))
            .collect();
        for c in &mut self.cells {
            c.nucleus_voxels.clear();
            c.cytoplasm_voxels.clear();
        }
        for (v, (&cid, &lab)) in cell_id.iter().zip(label).enumerate() {
            if cid == 0 {
                continue;
            }
            let n = self.cells.len();
            let c = self.cells.get_mut(cid as usize - 1).ok_or_else(|| {
                PhantomError::Inconsistent(format!(
                    "voxel {v} belongs to cell {cid} but the registry has {n} cells"
                ))
            })?;
            if Some(lab) == nucleus_labels[c.kind.0 as usize] {
                c.nucleus_voxels.push(v as u32);
            } else {
                c.cytoplasm_voxels.push(v as u32);
            }
        }
        Ok(())
    }
}

/// Label names used for the nucleus and cytoplasm of a cell kind.
pub fn kind_label_names(kind_name: &str) -> (String, String) {
    match kind_name {
        "tumour" => ("tumour_nucleus".into(), "tumour_cytoplasm".into()),
        "lymphocyte" => ("lymphocyte_nucleus".into(), "lymphocyte_cytoplasm".into()),
        k => (format!("{k}_nucleus"), format!("{k}_cytoplasm")),
    }
}

/// Nucleus label id of a kind, if present in the label table.
pub fn nucleus_label(table: &LabelTable, reg: &CellRegistry, kind: CellKind) -> Option<LabelId> {
    match kind {
        CellKind::TUMOUR => Some(labels::TUMOUR_NUCLEUS),
        CellKind::LYMPHOCYTE => Some(labels::LYMPHOCYTE_NUCLEUS),
        k => table.id(&kind_label_names(reg.kind_name(k)).0),
    }
}
