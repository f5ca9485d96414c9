//! Ctrl-C (SIGINT) and SIGTERM during a scenario's transport: the first one asks the batch
//! loop to stop at the next batch boundary (`xfire_scenario::Options::stop`), so the part
//! being transported is written to its checkpoint and the command can say how to resume; a
//! second one ends the process at once. Commands without batch checkpoints (`kernel`,
//! `phantom`, ...) do not install the handler and keep the default behaviour.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// Exit status of a command stopped by a signal (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The stop flag, with the handler installed on first use (`None` if it cannot be installed:
/// the default behaviour of the signals then stays).
pub fn stop_flag() -> Option<Arc<AtomicBool>> {
    let flag = FLAG
        .get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone();
    let f = flag.clone();
    let installed = ctrlc::set_handler(move || {
        if f.swap(true, Ordering::SeqCst) {
            eprintln!("\nsecond interrupt: quitting without a checkpoint of the current batches");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        eprintln!(
            "\ninterrupt: stopping at the next batch boundary and writing a checkpoint \
             (interrupt again to quit at once)"
        );
    });
    match installed {
        Ok(()) | Err(ctrlc::Error::MultipleHandlers) => Some(flag),
        Err(_) => None,
    }
}

/// A stop was asked for.
pub fn requested() -> bool {
    FLAG.get().is_some_and(|f| f.load(Ordering::SeqCst))
}

/// A command ended by a signal; `main` prints it and exits with [`EXIT_INTERRUPTED`].
#[derive(Debug)]
pub struct Interrupted(pub String);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Interrupted {}

/// `err` (the failure of a command whose stop was asked for) as an [`Interrupted`] error
/// whose message ends with `how_to_continue`.
pub fn interrupted(err: anyhow::Error, how_to_continue: &str) -> anyhow::Error {
    let msg = format!("{err:#}");
    let msg = if msg.starts_with("interrupted") {
        msg
    } else {
        format!("interrupted: {msg}")
    };
    anyhow::Error::new(Interrupted(format!("{msg}\n{how_to_continue}")))
}

/// The command line as typed with `--resume` added (once).
pub fn resume_command() -> String {
    let c = crate::outdir::command_line();
    if c.split(' ').any(|a| a == "--resume") {
        c
    } else {
        format!("{c} --resume")
    }
}
