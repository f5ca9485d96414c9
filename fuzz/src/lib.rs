//! # xfire-fuzz
//!
//! One harness per reader of user input (`fuzz/README.md`). Each takes the raw bytes of a
//! file, hands them to the real reader through its public entry point (writing them to a
//! scratch file where the reader takes a path) and checks the two properties a reader
//! must hold on any input besides "no panic" (a panic aborts the fuzzer, fails the test):
//!
//! * **bounded allocation**: the peak live heap of the call is at most
//!   [`FACTOR`] × the input length × the format's largest decompression ratio (1 for
//!   uncompressed formats, [`DEFLATE_MAX_RATIO`] where deflate/zlib/gzip data are allowed)
//!   plus [`SLACK`]; no single allocation exceeds [`alloc::HARD_CAP`]. A reader that sizes
//!   a buffer from an unchecked header field breaks this at once.
//! * **no hang**: the engine runs with `-timeout`, the corpus test times each input.
//!
//! Each harness returns whether the reader accepted the input, so the corpus test can
//! check that the valid seeds are read (the harness really reaches the reader).
//!
//! The checks need [`alloc::Counting`] installed as the global allocator (the fuzz targets
//! and the corpus test do); [`measure`] asserts that it is.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

pub mod alloc;

/// Peak heap per input byte (after decompression) that a reader may use: the decoded
/// `f64` values are 8 bytes per 1-byte element, plus the raw bytes and one copy.
pub const FACTOR: usize = 16;
/// Largest expansion of deflate data (RFC 1951: 258 bytes from 2 bits, ≈1032×).
pub const DEFLATE_MAX_RATIO: usize = 1032;
/// Largest expansion of the tally file format's varint integer arrays over [`FACTOR`]: a
/// one-byte varint becomes a 16-byte `i128` (and the file's bytes are read first).
pub const VARINT_RATIO: usize = 2;
/// Fixed allowance per call (lazily built tables, error strings, TOML documents) \[bytes\].
pub const SLACK: usize = 32 << 20;
/// Peak heap per input byte of a text format (parsed TOML / JSON documents).
pub const TEXT_FACTOR: usize = 256;

static SCRATCH: OnceLock<PathBuf> = OnceLock::new();
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A folder of this process for the scratch files of the harnesses.
fn scratch() -> &'static Path {
    SCRATCH.get_or_init(|| {
        // tmpfs where there is one: a file rewritten per input on a disk (ext4 with discard)
        // costs milliseconds, on tmpfs microseconds
        if let Some(d) = std::env::var_os("XFIRE_FUZZ_SCRATCH") {
            let d = PathBuf::from(d);
            std::fs::create_dir_all(&d).expect("scratch folder");
            return d;
        }
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let d = base.join(format!("xfire-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch folder");
        d
    })
}

/// Removes the scratch folder (the corpus test calls it at its end).
pub fn remove_scratch() {
    if let Some(d) = SCRATCH.get() {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Writes `data` to the scratch file `name` and returns its path.
fn put(name: &str, data: &[u8]) -> PathBuf {
    let p = scratch().join(name);
    std::fs::write(&p, data).expect("scratch file");
    p
}

/// Runs `read` on an input of `len` bytes whose content may expand `ratio` times, and
/// panics if the peak heap of the call exceeds `factor × len × ratio + SLACK`.
pub fn measure(
    what: &str,
    len: usize,
    factor: usize,
    ratio: usize,
    read: impl FnOnce() -> bool,
) -> bool {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let base = alloc::reset_peak();
    let probe = std::hint::black_box(vec![0u8; 64]);
    assert!(
        alloc::peak() >= base + 64,
        "xfire-fuzz: the counting allocator is not installed"
    );
    drop(probe);
    let base = alloc::reset_peak();
    let ok = read();
    let used = alloc::peak().saturating_sub(base);
    let bound = factor * len.max(1) * ratio + SLACK;
    assert!(
        used <= bound,
        "{what}: peak heap {used} bytes for a {len}-byte input exceeds the bound {bound} bytes"
    );
    ok
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Scenario TOML: `Scenario::from_text` (file names resolve in the scratch folder).
pub fn scenario(data: &[u8]) -> bool {
    let Some(t) = text(data) else { return false };
    let path = scratch().join("scenario.toml");
    measure("scenario", data.len(), TEXT_FACTOR, 1, || {
        xfire_scenario::Scenario::from_text(t, Some(&path)).is_ok()
    })
}

/// Phantom specification TOML: `Spec::from_toml`, then its grid.
pub fn phantom_spec(data: &[u8]) -> bool {
    let Some(t) = text(data) else { return false };
    measure("phantom_spec", data.len(), TEXT_FACTOR, 1, || {
        xfire_phantom::Spec::from_toml(t).is_ok_and(|s| s.grid.grid().is_ok())
    })
}

/// User materials TOML: `parse_user_materials_toml`.
pub fn materials(data: &[u8]) -> bool {
    let Some(t) = text(data) else { return false };
    measure("materials", data.len(), TEXT_FACTOR, 1, || {
        xfire_data::materials::parse_user_materials_toml(t).is_ok()
    })
}

/// Label → material import table TOML: `ImportTable::read`.
pub fn import_table(data: &[u8]) -> bool {
    let p = put("table.toml", data);
    measure("import_table", data.len(), TEXT_FACTOR, 1, || {
        xfire_io::ImportTable::read(&p).is_ok()
    })
}

/// Phantom HDF5: `h5::read_phantom` (chunks may be deflated).
pub fn h5_phantom(data: &[u8]) -> bool {
    let p = put("phantom.h5", data);
    measure(
        "h5_phantom",
        data.len(),
        FACTOR * 2,
        DEFLATE_MAX_RATIO,
        || xfire_io::h5::read_phantom(&p).is_ok(),
    )
}

/// Separates a `.mhd` header from its data file in one fuzz input.
pub const MHD_SPLIT: &[u8] = b"\n@@raw@@\n";

/// MetaImage: `.mha` (one file), or `.mhd` + `img.raw` when the input holds [`MHD_SPLIT`]
/// (header before it, data file after it).
pub fn metaimage(data: &[u8]) -> bool {
    let split = data.windows(MHD_SPLIT.len()).position(|w| w == MHD_SPLIT);
    let p = match split {
        Some(i) => {
            put("img.raw", &data[i + MHD_SPLIT.len()..]);
            put("img.mhd", &data[..i])
        }
        None => {
            let _ = std::fs::remove_file(scratch().join("img.raw"));
            put("img.mha", data)
        }
    };
    measure("metaimage", data.len(), FACTOR, DEFLATE_MAX_RATIO, || {
        xfire_io::metaimage::read_metaimage(&p).is_ok()
    })
}

/// NIfTI-1: the first byte picks `.nii` (even) or `.nii.gz` (odd), the rest is the file.
pub fn nifti(data: &[u8]) -> bool {
    let Some((&pick, file)) = data.split_first() else {
        return false;
    };
    let p = put(
        if pick & 1 == 1 {
            "img.nii.gz"
        } else {
            "img.nii"
        },
        file,
    );
    measure("nifti", data.len(), FACTOR, DEFLATE_MAX_RATIO, || {
        xfire_io::nifti::read_nifti(&p).is_ok()
    })
}

/// Largest expansion of a DICOM file over [`FACTOR`]: multi-valued strings (`1\\1\\1…`)
/// become one `String` (24 bytes + its text) per value, about 13 bytes per input byte,
/// while the file itself is held.
pub const DICOM_RATIO: usize = 4;

/// DICOM: the input is one file (a series of one multi-frame object), read by
/// `xfire_io::dicom::read_series`.
pub fn dicom(data: &[u8]) -> bool {
    let p = put("img.dcm", data);
    measure("dicom", data.len(), FACTOR, DICOM_RATIO, || {
        xfire_io::dicom::read_series(&p).is_ok()
    })
}

/// Checkpoint / shard part file: `shard::read_part`.
pub fn part_file(data: &[u8]) -> bool {
    let p = put("part.xfpart", data);
    // varint integers: a byte of the file may become a 16-byte integer (ratio 2 × FACTOR)
    measure("part_file", data.len(), FACTOR, VARINT_RATIO, || {
        xfire_scenario::shard::read_part(&p).is_ok()
    })
}

/// Tally file (the format of the transport cache, checkpoints and shard parts) without the
/// part header: `xfire_tally::exact::decode_file`.
pub fn tally_cache(data: &[u8]) -> bool {
    measure("tally_cache", data.len(), FACTOR, VARINT_RATIO, || {
        xfire_tally::exact::decode_file(data).is_ok()
    })
}

/// Shard folder manifest JSON: `shard::read_manifest`.
pub fn shard_manifest(data: &[u8]) -> bool {
    put("manifest.json", data);
    measure("shard_manifest", data.len(), TEXT_FACTOR, 1, || {
        xfire_scenario::shard::read_manifest(scratch()).is_ok()
    })
}

/// A harness: input bytes → whether the reader accepted them.
pub type Harness = fn(&[u8]) -> bool;

/// Every harness by name (the folder names under `fuzz/corpus/`).
pub const HARNESSES: &[(&str, Harness)] = &[
    ("scenario", scenario),
    ("phantom_spec", phantom_spec),
    ("materials", materials),
    ("import_table", import_table),
    ("h5_phantom", h5_phantom),
    ("metaimage", metaimage),
    ("nifti", nifti),
    ("dicom", dicom),
    ("part_file", part_file),
    ("tally_cache", tally_cache),
    ("shard_manifest", shard_manifest),
];
