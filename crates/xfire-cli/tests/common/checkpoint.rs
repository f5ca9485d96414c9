//! Waiting for a running `xfire run` to write its first checkpoint (the Ctrl-C and SIGKILL
//! resume tests).

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// Polls `out/checkpoints` until a `.ckpt` file appears and returns its path; fails the test
/// when the run ends first or after 60 s, and checks that the run is still going afterwards
/// (so that it can be interrupted).
pub fn wait_for_first_checkpoint(child: &mut Child, out: &Path) -> PathBuf {
    let ck = out.join("checkpoints");
    let t0 = Instant::now();
    let found = loop {
        let f = std::fs::read_dir(&ck)
            .into_iter()
            .flatten()
            .flatten()
            .find(|e| e.path().extension().is_some_and(|x| x == "ckpt"));
        if let Some(f) = f {
            break f.path();
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before writing a checkpoint"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no checkpoint after 60 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before it could be interrupted"
    );
    found
}
