//! The phantom generator specification (`SPEC.toml`), as read from TOML.
//!
//! Lengths are strings with units ("2 um", "0.3 mm"); densities are numbers in g/cm³.
//! Exactly one of `[tumour]`, `[cluster]`, `[shape]` must be present. See
//! `docs/formats/phantom.md` for the full reference and `phantoms/*.toml` for examples.

use std::collections::BTreeMap;

use serde::Deserialize;
use xfire_core::units::parse_length_cm;

use crate::grid::Grid;
use crate::{PhantomError, Result};

/// One length or three (x, y, z), each a string with a unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Length3 {
    /// The same length on all three axes.
    One(String),
    /// Lengths along x, y, z.
    Three([String; 3]),
}

impl Length3 {
    /// The three texts as written.
    pub fn texts(&self) -> [&str; 3] {
        match self {
            Length3::One(s) => [s, s, s],
            Length3::Three(a) => [&a[0], &a[1], &a[2]],
        }
    }

    /// The three lengths \[cm\].
    pub fn to_cm(&self, what: &str) -> Result<[f64; 3]> {
        match self {
            Length3::One(s) => {
                let v = len(s, what)?;
                Ok([v; 3])
            }
            Length3::Three(a) => Ok([len(&a[0], what)?, len(&a[1], what)?, len(&a[2], what)?]),
        }
    }
}

/// Parse a length string \[cm\]; the error names the field.
pub fn len(text: &str, what: &str) -> Result<f64> {
    parse_length_cm(text).map_err(|e| PhantomError::Spec(format!("{what}: {e}")))
}

/// Parse a strictly positive length \[cm\].
pub fn pos_len(text: &str, what: &str) -> Result<f64> {
    let v = len(text, what)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(PhantomError::Spec(format!(
            "{what} must be positive, got {text:?} ({v} cm)"
        )))
    }
}

/// The whole specification.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Free text saying what the phantom represents.
    pub description: Option<String>,
    /// Seed of the generator's random numbers (default 1).
    pub seed: Option<u64>,
    /// The voxel grid.
    pub grid: GridSpec,
    /// Background medium (label `medium`); default material `water`.
    pub medium: Option<MaterialSpec>,
    /// A tumour spheroid or tissue block, with optional necrotic core and capillaries.
    pub tumour: Option<TumourSpec>,
    /// Lymphocytes infiltrating the tumour (needs `[tumour]`).
    pub lymphocytes: Option<LymphocyteSpec>,
    /// A single cell or a cell with neighbours.
    pub cluster: Option<ClusterSpec>,
    /// A simple shape: box, sphere in a medium, or slab.
    pub shape: Option<ShapeSpec>,
    /// Material and density per label name (default: `water` at its nominal density).
    #[serde(default)]
    pub labels: BTreeMap<String, MaterialSpec>,
    /// Source maps to compute and store (default: the standard ones that are non-empty).
    pub sources: Option<Vec<String>>,
    /// Path of a user-materials TOML file (relative to the spec file).
    pub materials_file: Option<String>,
}

/// The voxel grid: voxel size and total size; centred on (0, 0, 0) unless `origin` is given.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    /// Voxel edge (one, or x, y, z).
    pub voxel: Length3,
    /// Total edge lengths (one, or x, y, z); rounded up to whole voxels.
    pub size: Length3,
    /// Lower corner of the grid (x, y, z); default: grid centred on the origin.
    pub origin: Option<[String; 3]>,
}

impl GridSpec {
    /// The grid this specification describes.
    pub fn grid(&self) -> Result<Grid> {
        let h = self.voxel.to_cm("grid.voxel")?;
        let s = self.size.to_cm("grid.size")?;
        let mut dims = [0usize; 3];
        for a in 0..3 {
            if !(h[a] > 0.0) {
                return Err(PhantomError::Spec(format!(
                    "grid.voxel must be positive, got {:?} ({} cm)",
                    self.voxel.texts()[a],
                    h[a]
                )));
            }
            if !(s[a] > 0.0) {
                return Err(PhantomError::Spec(format!(
                    "grid.size must be positive, got {:?} ({} cm)",
                    self.size.texts()[a],
                    s[a]
                )));
            }
            if h[a] > s[a] {
                return Err(PhantomError::Spec(format!(
                    "grid.voxel = {:?} is larger than grid.size = {:?}: the grid would be one \
                     voxel wide; give a voxel smaller than the size (cellular phantoms: a few µm)",
                    self.voxel.texts()[a],
                    self.size.texts()[a]
                )));
            }
            let n = (s[a] / h[a] - 1e-9).ceil();
            if n > 1e7 {
                return Err(PhantomError::Spec(format!(
                    "grid.size / grid.voxel gives {n} voxels along one axis: too many"
                )));
            }
            dims[a] = (n as usize).max(1);
        }
        match &self.origin {
            None => Grid::centred(dims, h),
            Some(o) => Grid::new(
                dims,
                h,
                [
                    len(&o[0], "grid.origin")?,
                    len(&o[1], "grid.origin")?,
                    len(&o[2], "grid.origin")?,
                ],
            ),
        }
    }
}

/// A material name and optional density override.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaterialSpec {
    /// Material name (built-in or from `materials_file`).
    pub material: String,
    /// Mass density \[g/cm³\]; default: the material's nominal density.
    pub density: Option<f64>,
}

/// Tumour tissue: spheroid or block of densely packed cells.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TumourSpec {
    /// `"spheroid"` (default) or `"block"`.
    pub shape: Option<String>,
    /// Spheroid radius (spheroid only).
    pub radius: Option<String>,
    /// Block edge lengths (block only; default: the whole grid).
    pub size: Option<Length3>,
    /// Tumour-cell radius.
    pub cell_radius: String,
    /// Tumour-cell nucleus radius.
    pub nucleus_radius: String,
    /// Target volume fraction of cells (0.05–0.70, default 0.60).
    pub packing_fraction: Option<f64>,
    /// Smallest gap between neighbouring cells (default "0 um").
    pub min_gap: Option<String>,
    /// Radius of the necrotic core (spheroid centre), if any.
    pub necrotic_radius: Option<String>,
    /// Straight capillaries on a square lattice.
    pub capillaries: Option<CapillarySpec>,
    /// Number of relaxation sweeps of the random packing (default 30).
    pub sweeps: Option<u32>,
}

/// Straight capillaries parallel to one axis, on a square lattice.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapillarySpec {
    /// Capillary radius.
    pub radius: String,
    /// Centre-to-centre spacing of the lattice.
    pub spacing: String,
    /// Axis the capillaries run along: "x", "y" or "z" (default "z").
    pub axis: Option<String>,
}

/// Lymphocyte infiltration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LymphocyteSpec {
    /// Lymphocytes as a fraction of all cells (0–0.9).
    pub fraction_of_cells: Option<f64>,
    /// Lymphocytes per mm³ of tumour region.
    pub density_per_mm3: Option<f64>,
    /// An explicit number of lymphocytes.
    pub count: Option<usize>,
    /// Lymphocyte radius (default "3.5 um").
    pub radius: Option<String>,
    /// Lymphocyte nucleus radius (default "3 um").
    pub nucleus_radius: Option<String>,
    /// `"uniform"` (default), `"rim"`, `"vessels"` or `"stroma"`.
    pub placement: Option<String>,
    /// Rim thickness for `rim` (default: 3 tumour-cell diameters).
    pub rim_thickness: Option<String>,
    /// Largest distance from a capillary wall to a lymphocyte's surface for `vessels`
    /// (default "15 um").
    pub vessel_distance: Option<String>,
    /// Stroma clearance kept around each lymphocyte for `stroma` (default "2 um").
    pub stroma_margin: Option<String>,
}

/// A central cell and neighbours at given centre-to-centre distances.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// Kind of the central cell (default "tumour"; other names create user kinds).
    pub kind: Option<String>,
    /// Radius of the central cell.
    pub cell_radius: String,
    /// Nucleus radius of the central cell.
    pub nucleus_radius: String,
    /// Centre of the central cell (default the origin).
    pub centre: Option<[String; 3]>,
    /// Label of the space around the cells (default "medium").
    pub surrounding: Option<String>,
    /// Neighbours.
    #[serde(default)]
    pub neighbours: Vec<NeighbourSpec>,
}

/// One neighbour of the central cell.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeighbourSpec {
    /// Centre-to-centre distance from the central cell.
    pub distance: String,
    /// Kind (default: the central cell's kind).
    pub kind: Option<String>,
    /// Radius (default: the central cell's, or 3.5 µm for a lymphocyte of another kind).
    pub cell_radius: Option<String>,
    /// Nucleus radius (default: the central cell's, or 3 µm for a lymphocyte).
    pub nucleus_radius: Option<String>,
    /// Direction from the central cell (default: ±x, ±y, ±z, then cube diagonals, in order).
    pub direction: Option<[f64; 3]>,
}

/// A homogeneous box, a sphere in a medium, or a slab.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapeSpec {
    /// `"box"`, `"sphere"` or `"slab"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Label name of the shape (default: the shape type).
    pub label: Option<String>,
    /// Material of the shape (default "water").
    pub material: Option<String>,
    /// Density of the shape \[g/cm³\] (default: the material's).
    pub density: Option<f64>,
    /// Sphere radius.
    pub radius: Option<String>,
    /// Sphere centre, or slab centre (only the component along `axis` is used).
    pub centre: Option<[String; 3]>,
    /// Slab thickness.
    pub thickness: Option<String>,
    /// Slab normal axis "x", "y" or "z" (default "z").
    pub axis: Option<String>,
}

impl Spec {
    /// Cells of `radius` must span at least one voxel (else every cell is lost between
    /// voxel centres and the phantom has no cells to bind to).
    fn check_resolved(&self, radius: &str, what: &str) -> Result<()> {
        let r = len(radius, what)?;
        let h = self.grid.voxel.to_cm("grid.voxel")?;
        let hmax = h.iter().copied().fold(0.0, f64::max);
        if hmax > 2.0 * r {
            let i = h.iter().position(|x| *x == hmax).unwrap_or(0);
            return Err(PhantomError::Spec(format!(
                "grid.voxel = {:?} is larger than the cells ({what} = {radius:?}, diameter \
                 {:.3e} cm): cells would not be resolved; give grid.voxel at most the cell \
                 diameter",
                self.grid.voxel.texts()[i],
                2.0 * r
            )));
        }
        Ok(())
    }

    /// Parse a specification from TOML text.
    pub fn from_toml(text: &str) -> Result<Self> {
        if let Ok(t) = text.parse::<toml::Table>() {
            let scenario = ["agent", "regimen", "phantom", "kinetics"]
                .iter()
                .any(|k| t.contains_key(*k));
            if scenario && !t.contains_key("grid") {
                return Err(PhantomError::Spec(
                    "this is a scenario (it has [phantom] or [agent] and no [grid]), not a \
                     phantom specification: run it with `xfire run SCENARIO --out DIR`, which \
                     builds its phantom (docs/formats/scenario.md)"
                        .into(),
                ));
            }
        }
        let spec: Spec = toml::from_str(text).map_err(|e| PhantomError::Spec(e.to_string()))?;
        if let Some(t) = &spec.tumour {
            spec.check_resolved(&t.cell_radius, "tumour.cell_radius")?;
        }
        if let Some(c) = &spec.cluster {
            spec.check_resolved(&c.cell_radius, "cluster.cell_radius")?;
        }
        let n = [
            spec.tumour.is_some(),
            spec.cluster.is_some(),
            spec.shape.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if n != 1 {
            return Err(PhantomError::Spec(format!(
                "exactly one of [tumour], [cluster], [shape] must be given, found {n}"
            )));
        }
        if spec.lymphocytes.is_some() && spec.tumour.is_none() {
            return Err(PhantomError::Spec(
                "[lymphocytes] needs a [tumour] to infiltrate".into(),
            ));
        }
        Ok(spec)
    }

    /// Names of the source maps to store.
    pub fn source_names(&self) -> Vec<String> {
        match &self.sources {
            Some(s) => s.clone(),
            None => {
                let mut v = Vec::new();
                if self.tumour.is_some() || self.cluster.is_some() {
                    for s in [
                        "tumour_membrane",
                        "tumour_cytoplasm",
                        "tumour_nucleus",
                        "tumour_uniform",
                    ] {
                        v.push(s.to_string());
                    }
                }
                if let Some(t) = &self.tumour {
                    if t.capillaries.is_some() {
                        v.push("vessels".into());
                    }
                }
                v
            }
        }
    }
}

/// Parse an axis name into 0, 1, 2.
pub fn axis(name: &str, what: &str) -> Result<usize> {
    match name {
        "x" | "X" => Ok(0),
        "y" | "Y" => Ok(1),
        "z" | "Z" => Ok(2),
        _ => Err(PhantomError::Spec(format!(
            "{what} must be \"x\", \"y\" or \"z\", got {name:?}"
        ))),
    }
}
