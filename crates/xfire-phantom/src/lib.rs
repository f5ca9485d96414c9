//! # xfire-phantom
//!
//! The geometry side of xfire: voxel phantoms from micrometre tumour microenvironments to
//! millimetre patient images.
//!
//! * [`Grid`]: dimensions, voxel size \[cm\], origin \[cm\], index helpers, position lookup and
//!   [`Grid::traverse`], an allocation-free Amanatides–Woo ray walk yielding
//!   [`VoxelStep`]`{ index, length_cm }`.
//! * [`Geometry`]: what transport asks of a geometry; implemented by [`Grid`] and by
//!   [`NestedGrid`] (a µm grid nested in a mm grid, one index space; [`Nested`] pairs the
//!   micro and macro phantoms with one material and label table).
//! * [`Phantom`]: per voxel a material id (`u8`, into a [`MaterialEntry`] table), a density
//!   \[g/cm³\] (`f32`), a label ([`labels`], `u16`, with a [`LabelTable`]) and a cell id (`u32`);
//!   voxel masses are derived ([`Phantom::voxel_mass_g`]).
//! * [`CellRegistry`]: every generated cell (id, [`CellKind`], centre, radii, nucleus and
//!   cytoplasm voxels), so dose can be reported per cell.
//! * [`source`]: source-distribution maps (relative activity per voxel, e.g.
//!   `tumour_membrane`) and the [`AliasSampler`] that picks decay voxels by weight.
//! * [`generate()`]: tumour spheroids and tissue blocks (dense random packing, necrotic core,
//!   capillaries, infiltrating lymphocytes), single cells and clusters, box / sphere / slab,
//!   all from a TOML [`Spec`] and a seed.
//!
//! ```
//! use xfire_phantom::{generate, AliasSampler, Spec};
//! let text = r#"
//! [grid]
//! voxel = "1 um"
//! size = "30 um"
//! [cluster]
//! cell_radius = "7 um"
//! nucleus_radius = "5 um"
//! "#;
//! let spec = Spec::from_toml(text).unwrap();
//! let g = generate(&spec, text, &|m| (m == "water").then_some(1.0)).unwrap();
//! let p = &g.phantom;
//! assert_eq!(p.cells.len(), 1);
//! let sampler: AliasSampler = p.source_sampler("tumour_nucleus").unwrap();
//! assert!(p.source_sampler("no_such_map").is_err());
//! let mut rng = xfire_core::rng::Rng::for_stream(1, 0, xfire_core::rng::STREAM_SOURCE);
//! let (pos_cm, voxel) = sampler.sample_position(&p.grid, &mut rng);
//! assert_eq!(p.label[voxel], xfire_phantom::labels::TUMOUR_NUCLEUS);
//! assert_eq!(p.grid.locate(pos_cm), Some(voxel));
//! ```
//!
//! Invariants: arrays are row-major `(nz, ny, nx)`, x fastest, `index = (k*ny + j)*nx + i`;
//! `origin_cm` is the outer corner of voxel (0,0,0); internal units cm, g/cm³; a
//! [`Phantom`] that passed [`Phantom::validate`] has consistent array lengths, known material
//! and label ids, finite non-negative densities and cell ids that index the registry.
//! Generators are pure functions of the specification (seeded random numbers from
//! `xfire_core::rng` stream `STREAM_PHANTOM`). This crate does no file I/O (see `xfire-io`).

// `!(x > 0.0)` is used on purpose: it also rejects NaN. Index loops over x, y, z read best.
#![allow(clippy::neg_cmp_op_on_partial_ord, clippy::needless_range_loop)]

pub mod cells;
pub mod generate;
pub mod geometry;
pub mod grid;
pub mod labels;
pub mod nested;
pub mod phantom;
pub mod source;
pub mod spec;

pub use cells::{Cell, CellId, CellKind, CellRegistry};
pub use generate::{estimate_memory, generate, Generated, MemoryEstimate};
pub use geometry::Geometry;
pub use grid::{Grid, Traversal, VoxelStep, MAX_VOXELS};
pub use labels::{LabelId, LabelTable};
pub use nested::{Nested, NestedGrid, NestedTraversal};
pub use phantom::{LabelStats, MaterialEntry, Phantom};
pub use source::{build_source_map, AliasSampler, BoxSource, SourceBox, SourceMap};
pub use spec::Spec;

/// Errors of phantom construction and generation. Messages name the offending value and unit.
#[derive(Debug, thiserror::Error)]
pub enum PhantomError {
    /// A grid with zero voxels along an axis, a non-positive voxel size, or too many voxels.
    #[error("invalid grid: {0}")]
    InvalidGrid(String),
    /// A problem in a generator specification.
    #[error("invalid phantom specification: {0}")]
    Spec(String),
    /// A material name or id that is not known.
    #[error("unknown material: {0}")]
    UnknownMaterial(String),
    /// A label name or id that is not known, or a bad label table.
    #[error("unknown label: {0}")]
    UnknownLabel(String),
    /// A NaN, infinite or negative density.
    #[error("invalid density: {0}")]
    InvalidDensity(String),
    /// Arrays or tables that do not agree with each other.
    #[error("inconsistent phantom: {0}")]
    Inconsistent(String),
}

/// Result alias of this crate.
pub type Result<T, E = PhantomError> = std::result::Result<T, E>;
