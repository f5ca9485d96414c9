//! Voxel labels: built-in tissue compartments plus user labels, and the id → name table.

use crate::{PhantomError, Result};

/// A voxel label id (stored as `u16` per voxel).
pub type LabelId = u16;

/// Background medium outside the tissue (culture medium, water, surrounding tissue).
pub const MEDIUM: LabelId = 0;
/// Tumour-cell nucleus.
pub const TUMOUR_NUCLEUS: LabelId = 1;
/// Tumour-cell cytoplasm (everything of the cell outside its nucleus).
pub const TUMOUR_CYTOPLASM: LabelId = 2;
/// Lymphocyte nucleus.
pub const LYMPHOCYTE_NUCLEUS: LabelId = 3;
/// Lymphocyte cytoplasm.
pub const LYMPHOCYTE_CYTOPLASM: LabelId = 4;
/// Stroma / interstitium between cells inside the tissue.
pub const STROMA: LabelId = 5;
/// Blood vessel (capillary lumen and wall).
pub const VESSEL: LabelId = 6;
/// Necrotic tissue.
pub const NECROSIS: LabelId = 7;
/// First id available for user labels.
pub const FIRST_USER_LABEL: LabelId = 8;

/// Names of the built-in labels, indexed by id.
pub const BUILTIN_LABEL_NAMES: [&str; 8] = [
    "medium",
    "tumour_nucleus",
    "tumour_cytoplasm",
    "lymphocyte_nucleus",
    "lymphocyte_cytoplasm",
    "stroma",
    "vessel",
    "necrosis",
];

/// The label-name table: every label id used in a phantom has a unique name.
///
/// Invariant: ids 0–7 are the built-in labels with the names in [`BUILTIN_LABEL_NAMES`];
/// names are unique, non-empty and contain no whitespace or `/`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelTable {
    entries: Vec<(LabelId, String)>,
}

impl Default for LabelTable {
    fn default() -> Self {
        Self::new()
    }
}

impl LabelTable {
    /// A table holding the built-in labels only.
    pub fn new() -> Self {
        Self {
            entries: BUILTIN_LABEL_NAMES
                .iter()
                .enumerate()
                .map(|(i, n)| (i as LabelId, n.to_string()))
                .collect(),
        }
    }

    /// Build from (id, name) pairs (as read from a file); checks uniqueness of ids and names.
    pub fn from_entries(entries: Vec<(LabelId, String)>) -> Result<Self> {
        let mut t = Self {
            entries: Vec::new(),
        };
        for (id, name) in entries {
            t.insert(id, &name)?;
        }
        t.entries.sort_by_key(|e| e.0);
        Ok(t)
    }

    fn check_name(name: &str) -> Result<()> {
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(PhantomError::UnknownLabel(format!(
                "label name {name:?} must be non-empty without spaces or '/'"
            )));
        }
        Ok(())
    }

    fn insert(&mut self, id: LabelId, name: &str) -> Result<()> {
        Self::check_name(name)?;
        if let Some((_, n)) = self.entries.iter().find(|e| e.0 == id) {
            return Err(PhantomError::UnknownLabel(format!(
                "label id {id} defined twice ({n:?} and {name:?})"
            )));
        }
        if let Some((i, _)) = self.entries.iter().find(|e| e.1 == name) {
            return Err(PhantomError::UnknownLabel(format!(
                "label name {name:?} used for ids {i} and {id}"
            )));
        }
        self.entries.push((id, name.to_string()));
        Ok(())
    }

    /// Id of `name`, adding it as a new user label if it does not exist yet.
    pub fn get_or_add(&mut self, name: &str) -> Result<LabelId> {
        if let Some(id) = self.id(name) {
            return Ok(id);
        }
        let next = self
            .entries
            .iter()
            .map(|e| e.0)
            .max()
            .unwrap_or(0)
            .max(FIRST_USER_LABEL - 1);
        if next == LabelId::MAX {
            return Err(PhantomError::UnknownLabel(format!(
                "no free label id left for {name:?}"
            )));
        }
        self.insert(next + 1, name)?;
        Ok(next + 1)
    }

    /// Add a user label with an explicit id (image import).
    pub fn add_with_id(&mut self, id: LabelId, name: &str) -> Result<()> {
        self.insert(id, name)?;
        self.entries.sort_by_key(|e| e.0);
        Ok(())
    }

    /// Id of a label name.
    pub fn id(&self, name: &str) -> Option<LabelId> {
        self.entries.iter().find(|e| e.1 == name).map(|e| e.0)
    }

    /// Name of a label id.
    pub fn name(&self, id: LabelId) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.0 == id)
            .map(|e| e.1.as_str())
    }

    /// All (id, name) pairs, sorted by id.
    pub fn entries(&self) -> &[(LabelId, String)] {
        &self.entries
    }

    /// Largest id in the table.
    pub fn max_id(&self) -> LabelId {
        self.entries.iter().map(|e| e.0).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_and_user_labels() {
        let mut t = LabelTable::new();
        assert_eq!(t.id("vessel"), Some(VESSEL));
        assert_eq!(t.name(NECROSIS), Some("necrosis"));
        let a = t.get_or_add("sphere").unwrap();
        assert_eq!(a, FIRST_USER_LABEL);
        assert_eq!(t.get_or_add("sphere").unwrap(), a);
        assert_eq!(t.get_or_add("slab").unwrap(), a + 1);
        assert!(t.get_or_add("bad name").is_err());
        assert!(LabelTable::from_entries(vec![(1, "a".into()), (1, "b".into())]).is_err());
        assert!(LabelTable::from_entries(vec![(1, "a".into()), (2, "a".into())]).is_err());
    }
}
