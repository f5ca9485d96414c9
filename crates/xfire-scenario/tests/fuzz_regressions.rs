//! Inputs the fuzzers (`fuzz/`) found or that stand for what they found, replayed against the
//! binary readers of this crate: an error, never a panic, an abort or an allocation sized by
//! a count the file does not back with bytes.

use std::path::Path;
use xfire_scenario::transport::{read_tally, write_tally};
use xfire_tally::{RegionMap, TallyLayout, TallyResult};

fn le(x: u64) -> [u8; 8] {
    x.to_le_bytes()
}

fn tally_file(dir: &Path, bytes: &[u8]) -> std::io::Result<TallyResult> {
    let p = dir.join("t.bin");
    std::fs::write(&p, bytes).unwrap();
    read_tally(&p)
}

/// The magic of a tally cache file as [`write_tally`] writes it (so that the inputs below
/// reach the counts they test, not the magic check), then decays and batches.
fn head() -> Vec<u8> {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("h.bin");
    write_tally(&p, &TallyResult::new(&TallyLayout::new(1, vec![]).unwrap())).unwrap();
    let magic = std::fs::read(&p).unwrap()[..8].to_vec();
    assert!(magic.starts_with(b"XFTALLY"), "{magic:?}");
    [magic.as_slice(), &le(6), &le(2)].concat()
}

#[test]
fn tally_cache_counts_larger_than_the_file_are_errors() {
    let d = tempfile::tempdir().unwrap();
    // found by the fuzzer: an f64 array count whose byte size overflows usize
    // (`pos + 8 * n` panicked with overflow checks, wrapped to an empty slice without)
    for n in [u64::MAX / 4 + 1, u64::MAX / 8 + 1, u64::MAX] {
        let b = [head(), le(n).to_vec(), vec![0; 64]].concat();
        assert!(tally_file(d.path(), &b).is_err(), "count {n}");
    }
    // a region count of 2^60 with no regions behind it: it sized a Vec (capacity overflow
    // or an allocation of 2^60 regions, an abort) before reading them
    let b = [head(), le(0).to_vec(), le(0).to_vec(), le(1 << 60).to_vec()].concat();
    let e = tally_file(d.path(), &b).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
}

#[test]
fn tally_cache_round_trip_and_every_truncation_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let l = TallyLayout::new(3, vec![RegionMap::new("r", vec![0, 1, 1], 2).unwrap()]).unwrap();
    let t = TallyResult::new(&l);
    let p = d.path().join("w.bin");
    write_tally(&p, &t).unwrap();
    assert_eq!(read_tally(&p).unwrap(), t);
    let b = std::fs::read(&p).unwrap();
    for cut in 0..b.len() {
        assert!(tally_file(d.path(), &b[..cut]).is_err(), "cut at {cut}");
    }
}

/// A valid file whose trailing event-spectrum count (0) is replaced by one spectrum that
/// claims `nb` bins with nothing behind them.
fn with_huge_spectrum(valid: &[u8], nb: u64) -> Vec<u8> {
    let (head, ne) = valid.split_at(valid.len() - 8);
    assert_eq!(ne, le(0), "the writer ends with the spectrum count");
    [head, &le(1), &le(nb)].concat()
}

#[test]
fn spectrum_bin_counts_larger_than_the_file_are_errors() {
    // the bin count is checked against the bytes that follow before the bins are read
    // (a reader that reserved `nb` bins first would abort for nb = 2^61)
    let d = tempfile::tempdir().unwrap();
    let l = TallyLayout::new(2, vec![]).unwrap();
    let p = d.path().join("w.bin");
    write_tally(&p, &TallyResult::new(&l)).unwrap();
    let valid = std::fs::read(&p).unwrap();
    for nb in [1 << 61, u64::MAX] {
        assert!(tally_file(d.path(), &with_huge_spectrum(&valid, nb)).is_err());
    }
    let exact = xfire_scenario::exact::ExactTally::new(&l).to_bytes();
    for nb in [1 << 61, u64::MAX] {
        let b = with_huge_spectrum(&exact, nb);
        assert!(xfire_scenario::exact::ExactTally::from_bytes(&b).is_err());
    }
}
