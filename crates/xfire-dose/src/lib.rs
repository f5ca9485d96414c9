//! # xfire-dose
//!
//! Absorbed dose from millimetre activity images (SPECT/PET-like, one or several time
//! points) and an optional CT and label image: the pipeline behind `xfire dose`
//! (`docs/formats/dose.md`).
//!
//! * [`images`]: reading NIfTI / MetaImage / xfire HDF5 images (through `xfire-io`) and the
//!   grid checks between them.
//! * [`dicom`]: DICOM SPECT/PET (activity, with header checks) and CT series in, the dose
//!   as RT Dose on the CT's frame of reference out (through `xfire-io`).
//! * [`tia`]: time-integrated activity (Bq·s per voxel) from activity images at time points:
//!   trapezoid, mono- or bi-exponential fits per voxel or per label, physical-decay tail.
//! * [`hu`]: CT numbers (HU) → mass density and material by a calibration table (a default
//!   ramp and user tables).
//! * [`kernels`]: the voxel S-value library (`kernels/vsv/`, embedded at build time; format
//!   `docs/formats/kernel-library.md`), its reader and its expansion to a 3-D kernel.
//! * [`convolve`]: 3-D linear convolution by FFT (`rustfft`).
//! * [`vsv`]: dose by voxel S-value convolution with the density correction.
//! * [`mc`]: dose by Monte Carlo (`xfire-transport`) on the phantom made from the CT, with
//!   the TIA as source map; per-voxel relative uncertainty.
//! * [`stats`]: label masses, mean dose, D50/D90/D98, cumulative dose–volume histograms.
//! * [`synthetic`]: the synthetic torso and validation phantoms (tests, `phantoms/patient-lu177`).
//! * [`pipeline`]: a [`pipeline::DoseRequest`] checked whole before anything is computed,
//!   run into a [`pipeline::DoseResult`]; [`output`] writes it (dose image, DVH CSV and
//!   figure, `summary.json`, `report.md`).
//!
//! Units: MeV, cm, g, s, Bq, Gy inside; times and lengths from text through
//! `xfire_core::units`.
//!
//! Invariants: every input is checked (grids equal, time points increasing, activities
//! finite and non-negative, CT numbers inside the calibration) before any output is written;
//! errors name the file, the value and its unit; results do not depend on the thread count.

// `!(x > 0.0)` is used on purpose: it also rejects NaN.
#![allow(clippy::neg_cmp_op_on_partial_ord, clippy::needless_range_loop)]

pub mod convolve;
pub mod dicom;
pub mod hu;
pub mod images;
pub mod kernels;
pub mod mc;
pub mod output;
pub mod pipeline;
pub mod stats;
pub mod synthetic;
pub mod tia;
pub mod vsv;

/// Errors of the dose pipeline; each message names the value, its unit and the file.
#[derive(Debug, thiserror::Error)]
pub enum DoseError {
    /// An invalid input value or combination of inputs.
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] xfire_io::IoError),
    /// An error writing a figure or report.
    #[error(transparent)]
    Report(#[from] xfire_report::ReportError),
    /// A transport set-up error (Monte Carlo method).
    #[error(transparent)]
    Transport(#[from] xfire_transport::TransportError),
    /// A phantom error (Monte Carlo method).
    #[error(transparent)]
    Phantom(#[from] xfire_phantom::PhantomError),
    /// The caller asked the Monte Carlo transport to stop (Ctrl-C); nothing was kept.
    #[error("interrupted after {done} of {total} decays")]
    Interrupted {
        /// Decays transported before the stop.
        done: u64,
        /// Decays asked for.
        total: u64,
    },
    /// An operating-system error on an output file.
    #[error("{path}: {error}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
}

/// Result alias of this crate.
pub type Result<T, E = DoseError> = std::result::Result<T, E>;

pub(crate) fn invalid(msg: impl Into<String>) -> DoseError {
    DoseError::Invalid(msg.into())
}
