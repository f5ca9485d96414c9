//! Between rounds of batches (on the thread that runs the transport, with the GIL released
//! elsewhere): call the Python progress callback and check for Ctrl-C. A Python exception
//! from either (KeyboardInterrupt, an error in the callback) is kept and asks the transport
//! to stop at the next batch boundary; the caller raises it.

use std::sync::Mutex;

use pyo3::prelude::*;

/// The progress callback and the first exception raised.
pub struct Watch {
    progress: Option<Py<PyAny>>,
    error: Mutex<Option<PyErr>>,
}

impl Watch {
    /// A watch calling `progress(what, done, total)` when given.
    pub fn new(progress: Option<Py<PyAny>>) -> Self {
        Self {
            progress,
            error: Mutex::new(None),
        }
    }

    fn keep(&self, e: PyErr) {
        if let Ok(mut slot) = self.error.lock() {
            slot.get_or_insert(e);
        }
    }

    /// An exception was raised (the transport should stop).
    pub fn failed(&self) -> bool {
        self.error.lock().map_or(true, |e| e.is_some())
    }

    /// Reports progress and checks signals; true when the transport should stop.
    pub fn poll(&self, what: &str, done: u64, total: u64) -> bool {
        if self.failed() {
            return true;
        }
        let outcome = Python::with_gil(|py| -> PyResult<()> {
            py.check_signals()?;
            if let Some(f) = &self.progress {
                f.call1(py, (what, done, total))?;
            }
            Ok(())
        });
        if let Err(e) = outcome {
            self.keep(e);
        }
        self.failed()
    }

    /// Checks signals only; true when the transport should stop.
    pub fn stop(&self) -> bool {
        if self.failed() {
            return true;
        }
        if let Err(e) = Python::with_gil(|py| py.check_signals()) {
            self.keep(e);
        }
        self.failed()
    }

    /// The exception kept, if any.
    pub fn take(&self) -> Option<PyErr> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }
}
