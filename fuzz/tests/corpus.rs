//! Replays the seed corpus (`fuzz/corpus/<harness>/`) and every input the fuzzers found
//! (`fuzz/regressions/<harness>/`) through its harness: no panic, the stated heap bound,
//! at most 5 s per input, and every valid seed (`ok-*`) accepted by its reader.

use std::path::Path;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: xfire_fuzz::alloc::Counting = xfire_fuzz::alloc::Counting;

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut v: Vec<_> = rd.map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

#[test]
fn corpus_and_regressions_replay_through_every_harness() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, harness) in xfire_fuzz::HARNESSES {
        let seeds = files(&root.join("corpus").join(name));
        let ok = seeds
            .iter()
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("ok-"))
            .count();
        assert!(ok > 0, "no valid seed fuzz/corpus/{name}/ok-*");
        let found = files(&root.join("regressions").join(name));
        for p in seeds.iter().chain(&found) {
            let data = std::fs::read(p).unwrap();
            let t = Instant::now();
            let accepted = harness(&data);
            let took = t.elapsed();
            assert!(
                took < Duration::from_secs(5),
                "{}: {took:?} (hang?)",
                p.display()
            );
            let valid = p.file_name().unwrap().to_string_lossy().starts_with("ok-");
            if valid {
                assert!(accepted, "{}: a valid seed was rejected", p.display());
            }
        }
        eprintln!(
            "{name}: {} seeds ({ok} valid), {} regressions",
            seeds.len(),
            found.len()
        );
    }
    xfire_fuzz::remove_scratch();
}
