//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong when drawing a figure or writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The input holds nothing to draw (no series, no points, no rows).
    #[error("{what}: empty input, nothing to draw")]
    Empty {
        /// Which input was empty, e.g. "dose_rate_vs_time: series".
        what: String,
    },
    /// Two arrays that must be parallel differ in length.
    #[error("{what}: {a_name} has {a_len} values but {b_name} has {b_len}")]
    LengthMismatch {
        /// Which input, e.g. "series 'tumour'".
        what: String,
        /// Name of the first array.
        a_name: &'static str,
        /// Its length.
        a_len: usize,
        /// Name of the second array.
        b_name: &'static str,
        /// Its length.
        b_len: usize,
    },
    /// All values are NaN, infinite or (on a log axis) not positive.
    #[error("{what}: no plottable values ({reason})")]
    NothingPlottable {
        /// Which figure.
        what: String,
        /// Why every value was skipped.
        reason: String,
    },
    /// A parameter is out of its allowed range.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The parameter, e.g. "target survival".
        what: String,
        /// What is wrong with it, naming the value and unit.
        reason: String,
    },
    /// The plotting library failed while drawing.
    #[error("could not draw figure '{figure}': {message}")]
    Draw {
        /// File stem of the figure.
        figure: String,
        /// The plotting library's message.
        message: String,
    },
    /// A file could not be read or written.
    #[error("could not write or read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The embedded TrueType font was rejected by the font rasteriser.
    #[error("the embedded font assets/DejaVuSans.ttf could not be loaded")]
    Font,
}

/// `Result` with [`ReportError`].
pub type Result<T> = std::result::Result<T, ReportError>;
