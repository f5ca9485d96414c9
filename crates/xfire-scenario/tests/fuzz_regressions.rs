//! Inputs the fuzzers (`fuzz/`) found or that stand for what they found, replayed against the
//! binary reader of this crate's part files (checkpoints, shard parts, cache entries: the tally
//! file format `XFTALLY4` of `xfire_tally::exact` with a JSON header): an error, never a
//! panic, an abort or an allocation sized by a count the file does not back with bytes.

use std::path::Path;
use xfire_scenario::shard::{read_part, write_part, PartHeader};
use xfire_tally::{ExactTally, RegionMap, TallyLayout};

fn le(x: u64) -> [u8; 8] {
    x.to_le_bytes()
}

fn part_file(dir: &Path, bytes: &[u8]) -> Result<(PartHeader, ExactTally), String> {
    let p = dir.join("t.bin");
    std::fs::write(&p, bytes).unwrap();
    read_part(&p).map_err(|e| e.message())
}

fn header() -> PartHeader {
    PartHeader {
        key: "00112233aabbccdd".into(),
        nuclide: "Lu-177".into(),
        site: "tumour_membrane".into(),
        part: "low_let".into(),
        batch_size: 3,
        first_batch: 0,
        next_batch: 2,
        end_batch: 2,
        stopped: false,
    }
}

/// A valid file of `l`'s empty tally as [`write_part`] writes it.
fn valid(dir: &Path, l: &TallyLayout) -> Vec<u8> {
    let p = dir.join("w.bin");
    write_part(&p, &header(), &ExactTally::new(l)).unwrap();
    let b = std::fs::read(&p).unwrap();
    assert!(b.starts_with(b"XFTALLY4"), "{:?}", &b[..8]);
    b
}

/// Magic, an empty JSON header `{}`, decays and batches: what precedes the counts tested.
fn head() -> Vec<u8> {
    [&b"XFTALLY4"[..], &le(2), b"{}", &le(6), &le(2)].concat()
}

#[test]
fn counts_larger_than_the_file_are_errors() {
    let d = tempfile::tempdir().unwrap();
    // a header length, an integer-array count or byte length whose size overflows usize
    for n in [u64::MAX / 4 + 1, u64::MAX / 8 + 1, u64::MAX] {
        let b = [&b"XFTALLY4"[..], &le(n), &[0; 64]].concat();
        assert!(part_file(d.path(), &b).is_err(), "header length {n}");
        // one voxel array whose element count, then byte length, is n
        let b = [
            head(),
            le(1).to_vec(),
            le(n).to_vec(),
            le(1).to_vec(),
            vec![0; 64],
        ]
        .concat();
        assert!(part_file(d.path(), &b).is_err(), "count {n}");
        let b = [
            head(),
            le(1).to_vec(),
            le(1).to_vec(),
            le(n).to_vec(),
            vec![0; 64],
        ]
        .concat();
        assert!(part_file(d.path(), &b).is_err(), "byte length {n}");
    }
    // an element count above the bytes behind it (every element takes at least one byte)
    let b = [
        head(),
        le(1).to_vec(),
        le(1 << 40).to_vec(),
        le(8).to_vec(),
        vec![0; 8],
    ]
    .concat();
    assert!(part_file(d.path(), &b).is_err());
    // a region count of 2^60 with no regions behind it
    let b = [head(), le(0).to_vec(), le(1 << 60).to_vec()].concat();
    assert!(part_file(d.path(), &b).is_err());
}

#[test]
fn round_trip_and_every_truncation_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let l = TallyLayout::new(3, vec![RegionMap::new("r", vec![0, 1, 1], 2).unwrap()]).unwrap();
    let b = valid(d.path(), &l);
    assert_eq!(
        part_file(d.path(), &b).unwrap(),
        (header(), ExactTally::new(&l))
    );
    for cut in 0..b.len() {
        assert!(part_file(d.path(), &b[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn spectrum_bin_counts_larger_than_the_file_are_errors() {
    // a valid file whose event-spectrum count (0, before the self-cell flag 0) is replaced by
    // one spectrum that claims `nb` bins with nothing behind them: checked before the bins
    // are read
    let d = tempfile::tempdir().unwrap();
    let v = valid(d.path(), &TallyLayout::new(2, vec![]).unwrap());
    let (head, ne) = v.split_at(v.len() - 16);
    assert_eq!(
        ne,
        [le(0), le(0)].concat(),
        "the writer ends with two counts"
    );
    for nb in [1 << 61, u64::MAX] {
        let b = [head, &le(1), &le(nb)].concat();
        assert!(part_file(d.path(), &b).is_err());
    }
}

#[test]
fn files_of_older_formats_are_refused_naming_their_version() {
    let d = tempfile::tempdir().unwrap();
    for (magic, want) in [
        (&b"XFTALLY3"[..], "format 3 (magic XFTALLY3)"),
        (b"XFTALLY2", "format 2 (magic XFTALLY2)"),
        (b"XFPART01", "format 1 (XFPART01 part file)"),
    ] {
        let e = part_file(d.path(), &[magic, &[0; 64]].concat()).unwrap_err();
        assert!(e.contains(want) && e.contains("reads format 4"), "{e}");
    }
}
