//! The one door to HDF5 for the rest of the workspace: a small writer (groups, datasets of
//! `u8`/`u16`/`u32`/`i64`/`f32`/`f64`/strings/packed records with a shape, chunks, shuffle,
//! deflate and Fletcher-32, text and numeric attributes) and a small reader (root attributes,
//! `f64` datasets and shapes) for tests. The backend, the pure-Rust `hdf5-pure`, stays inside
//! `xfire-io`: no other crate names it.
//!
//! Every call is handed to the backend in the order it is made, so the bytes of a file depend
//! only on the calls (and the backend version, pinned in the workspace `Cargo.toml`). A file is
//! built in memory and written in one go; callers write it under a temporary name through
//! [`crate::fsutil`] and rename it. Large arrays (dose maps, a kernel's per-voxel values) are
//! given as *late* datasets ([`H5Writer::late`]): a closure that computes the array when the
//! file is written, after everything else, one array at a time, each committed to the file
//! and freed before the next is computed — so writing needs the memory of one such array
//! (and its compressed chunks), not of all of them.
//!
//! ```no_run
//! use xfire_io::hdf5::{Attr, H5Writer};
//! let mut w = H5Writer::new();
//! w.attr("format", Attr::text("example"));
//! let mut g = w.group("maps");
//! g.dataset("dose")
//!     .f32s(&[0.0; 8])
//!     .shape(&[2, 2, 2])
//!     .chunks(&[2, 2, 2])
//!     .shuffle()
//!     .deflate(1)
//!     .attr("units", Attr::text("Gy"));
//! w.add(g);
//! w.write("out.h5".as_ref()).unwrap();
//! ```

use std::path::Path;

use hdf5_pure::{AttrValue, CompoundTypeBuilder, DatasetBuilder, File, FileBuilder, GroupBuilder};

/// An error of the HDF5 backend, as its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H5Error(String);

impl std::fmt::Display for H5Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for H5Error {}

impl From<hdf5_pure::Error> for H5Error {
    fn from(e: hdf5_pure::Error) -> Self {
        H5Error(e.to_string())
    }
}

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    /// A variable-length UTF-8 string (what h5py reads as `str`).
    Text(String),
    /// A fixed-length ASCII string (VTKHDF's `Type`).
    Ascii(String),
    /// One `f64`.
    F64(f64),
    /// One `i64`.
    I64(i64),
    /// One `u64`.
    U64(u64),
    /// A one-dimensional `f64` array.
    F64s(Vec<f64>),
    /// A one-dimensional `i64` array.
    I64s(Vec<i64>),
}

impl Attr {
    /// A variable-length string attribute.
    pub fn text(s: &str) -> Attr {
        Attr::Text(s.to_string())
    }

    fn value(self) -> AttrValue {
        match self {
            Attr::Text(s) => AttrValue::VarLenString(s),
            Attr::Ascii(s) => AttrValue::AsciiString(s),
            Attr::F64(x) => AttrValue::F64(x),
            Attr::I64(x) => AttrValue::I64(x),
            Attr::U64(x) => AttrValue::U64(x),
            Attr::F64s(v) => AttrValue::F64Array(v),
            Attr::I64s(v) => AttrValue::I64Array(v),
        }
    }
}

/// The type of one field of a packed record (see [`H5Dataset::records`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Little-endian `u16`, 2 bytes.
    U16,
    /// Little-endian `u32`, 4 bytes.
    U32,
    /// Little-endian `f64`, 8 bytes.
    F64,
}

impl Field {
    /// Bytes the field takes in a record.
    pub fn width(self) -> usize {
        match self {
            Field::U16 => 2,
            Field::U32 => 4,
            Field::F64 => 8,
        }
    }
}

/// A file being built in memory: root attributes, datasets and groups, and the late
/// datasets computed when it is written. `'a` is what the late datasets' closures borrow.
pub struct H5Writer<'a> {
    b: FileBuilder,
    late: Vec<Late<'a>>,
}

impl Default for H5Writer<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// The values of a late dataset.
pub enum LateData<'a> {
    /// `f32` values.
    F32(Vec<f32>),
    /// `f64` values.
    F64(Vec<f64>),
    /// `f64` values given by element index (0 ≤ i < the shape's product), encoded straight
    /// into the file's bytes: no array of values beside them.
    F64Each(Box<dyn Fn(usize) -> f64 + 'a>),
}

impl LateData<'_> {
    /// The backend's type and the little-endian bytes of `n` values; `None` when a vector
    /// holds another count.
    fn encode(self, n: usize) -> Option<(hdf5_pure::Datatype, Vec<u8>)> {
        fn bytes<const W: usize>(n: usize, at: impl Fn(usize) -> [u8; W]) -> Vec<u8> {
            let mut b = Vec::with_capacity(n * W);
            for i in 0..n {
                b.extend_from_slice(&at(i));
            }
            b
        }
        match self {
            LateData::F32(v) if v.len() == n => {
                Some((hdf5_pure::make_f32_type(), bytes(n, |i| v[i].to_le_bytes())))
            }
            LateData::F64(v) if v.len() == n => {
                Some((hdf5_pure::make_f64_type(), bytes(n, |i| v[i].to_le_bytes())))
            }
            LateData::F64Each(f) => {
                Some((hdf5_pure::make_f64_type(), bytes(n, |i| f(i).to_le_bytes())))
            }
            _ => None,
        }
    }

    fn len(&self) -> Option<usize> {
        match self {
            LateData::F32(v) => Some(v.len()),
            LateData::F64(v) => Some(v.len()),
            LateData::F64Each(_) => None,
        }
    }
}

/// A dataset whose values are computed when the file is written ([`H5Writer::late`]).
pub struct Late<'a> {
    path: String,
    shape: Vec<u64>,
    chunks: Option<Vec<u64>>,
    shuffle: bool,
    deflate: Option<u32>,
    attrs: Vec<(String, Attr)>,
    make: Option<Box<dyn FnOnce() -> LateData<'a> + 'a>>,
}

impl<'a> Late<'a> {
    /// Chunked storage with this chunk shape.
    pub fn chunks(mut self, chunks: &[u64]) -> Self {
        self.chunks = Some(chunks.to_vec());
        self
    }

    /// The byte-shuffle filter (before deflate).
    pub fn shuffle(mut self) -> Self {
        self.shuffle = true;
        self
    }

    /// Deflate at `level` (0–9).
    pub fn deflate(mut self, level: u32) -> Self {
        self.deflate = Some(level);
        self
    }

    /// Sets an attribute of the dataset.
    pub fn attr(mut self, name: &str, value: Attr) -> Self {
        self.attrs.push((name.to_string(), value));
        self
    }

    /// The closure that computes the values (their count must be the shape's product).
    pub fn values(mut self, make: impl FnOnce() -> LateData<'a> + 'a) -> Self {
        self.make = Some(Box::new(make));
        self
    }

    /// Stages the dataset in `file` (the values computed now and encoded into the bytes the
    /// backend keeps, the values freed before the commit compresses them) and commits it.
    fn commit(self, file: &File) -> Result<(), H5Error> {
        let make = self
            .make
            .ok_or_else(|| H5Error(format!("late dataset {}: no values given", self.path)))?;
        let data = make();
        let n = self.shape.iter().product::<u64>();
        let count = data.len();
        let (dtype, bytes) = data.encode(n as usize).ok_or_else(|| {
            H5Error(format!(
                "late dataset {}: {} values for shape {:?}",
                self.path,
                count.unwrap_or_default(),
                self.shape
            ))
        })?;
        file.root().create_dataset(&self.path, |d| {
            d.with_raw_data(dtype, bytes, n);
            d.with_shape(&self.shape);
            if let Some(c) = &self.chunks {
                d.with_chunks(c);
            }
            if self.shuffle {
                d.with_shuffle();
            }
            if let Some(l) = self.deflate {
                d.with_deflate(l);
            }
            for (name, value) in self.attrs {
                d.set_attr(&name, value.value());
            }
        })?;
        Ok(file.commit()?)
    }
}

impl<'a> H5Writer<'a> {
    /// An empty file.
    pub fn new() -> Self {
        H5Writer {
            b: FileBuilder::new(),
            late: Vec::new(),
        }
    }

    /// Adds a late dataset at `path` ("group/name"; the group must be in the file, made with
    /// [`H5Writer::group`]) of this shape: configured, given its closure
    /// ([`Late::values`]), then computed and written by [`H5Writer::write`] after the rest
    /// of the file, in the order added.
    pub fn late(&mut self, late: Late<'a>) {
        self.late.push(late);
    }

    /// A late dataset to configure and hand to [`H5Writer::late`].
    pub fn late_dataset(path: &str, shape: &[u64]) -> Late<'a> {
        Late {
            path: path.to_string(),
            shape: shape.to_vec(),
            chunks: None,
            shuffle: false,
            deflate: None,
            attrs: Vec::new(),
            make: None,
        }
    }

    /// Sets a root attribute.
    pub fn attr(&mut self, name: &str, value: Attr) {
        self.b.set_attr(name, value.value());
    }

    /// A dataset in the root group; give it data, then shape, layout and attributes.
    pub fn dataset(&mut self, name: &str) -> H5Dataset<'_> {
        H5Dataset(self.b.create_dataset(name))
    }

    /// A group under the root, filled then added with [`H5Writer::add`].
    pub fn group(&mut self, name: &str) -> H5Group {
        H5Group(self.b.create_group(name))
    }

    /// Adds a filled group to the root.
    pub fn add(&mut self, group: H5Group) {
        self.b.add_group(group.0.finish());
    }

    /// Encodes the file and writes it to `path`, then computes and commits the late datasets
    /// one at a time (not atomically: write under a temporary name with
    /// [`crate::fsutil::write_atomic_with`]).
    pub fn write(self, path: &Path) -> Result<(), H5Error> {
        self.b.write(path)?;
        if self.late.is_empty() {
            return Ok(());
        }
        let file = File::open_rw(path)?;
        for late in self.late {
            late.commit(&file)?;
        }
        Ok(file.close()?)
    }
}

/// A group being filled: attributes, datasets and subgroups.
pub struct H5Group(GroupBuilder);

impl H5Group {
    /// Sets an attribute of the group.
    pub fn attr(&mut self, name: &str, value: Attr) {
        self.0.set_attr(name, value.value());
    }

    /// A dataset in the group.
    pub fn dataset(&mut self, name: &str) -> H5Dataset<'_> {
        H5Dataset(self.0.create_dataset(name))
    }

    /// A subgroup, filled then added with [`H5Group::add`].
    pub fn group(&mut self, name: &str) -> H5Group {
        H5Group(self.0.create_group(name))
    }

    /// Adds a filled subgroup.
    pub fn add(&mut self, group: H5Group) {
        self.0.add_group(group.0.finish());
    }
}

/// A dataset being described. Without [`H5Dataset::shape`] it is one-dimensional; without
/// [`H5Dataset::chunks`] it is stored contiguous (filters need chunks).
pub struct H5Dataset<'a>(&'a mut DatasetBuilder);

impl H5Dataset<'_> {
    /// `u8` data.
    pub fn u8s(self, data: &[u8]) -> Self {
        self.0.with_u8_data(data);
        self
    }

    /// `u16` data.
    pub fn u16s(self, data: &[u16]) -> Self {
        self.0.with_u16_data(data);
        self
    }

    /// `u32` data.
    pub fn u32s(self, data: &[u32]) -> Self {
        self.0.with_u32_data(data);
        self
    }

    /// `i64` data.
    pub fn i64s(self, data: &[i64]) -> Self {
        self.0.with_i64_data(data);
        self
    }

    /// `f32` data.
    pub fn f32s(self, data: &[f32]) -> Self {
        self.0.with_f32_data(data);
        self
    }

    /// `f64` data.
    pub fn f64s(self, data: &[f64]) -> Self {
        self.0.with_f64_data(data);
        self
    }

    /// Variable-length UTF-8 strings.
    pub fn strings(self, data: &[&str]) -> Self {
        self.0.with_vlen_strings(data);
        self
    }

    /// `rows` packed records (fields in order, no padding, little endian) in `raw`, one
    /// compound type with the named fields.
    pub fn records(
        self,
        fields: &[(&str, Field)],
        raw: Vec<u8>,
        rows: u64,
    ) -> Result<Self, H5Error> {
        let mut t = CompoundTypeBuilder::new();
        for &(name, field) in fields {
            t = match field {
                Field::U16 => t.u16_field(name),
                Field::U32 => t.u32_field(name),
                Field::F64 => t.f64_field(name),
            };
        }
        let t = t.build().map_err(|e| H5Error(e.to_string()))?;
        self.0.with_compound_data(t, raw, rows);
        Ok(self)
    }

    /// The shape (slowest axis first); the data length must be its product.
    pub fn shape(self, shape: &[u64]) -> Self {
        self.0.with_shape(shape);
        self
    }

    /// Chunked storage with this chunk shape.
    pub fn chunks(self, chunks: &[u64]) -> Self {
        self.0.with_chunks(chunks);
        self
    }

    /// The byte-shuffle filter (before deflate).
    pub fn shuffle(self) -> Self {
        self.0.with_shuffle();
        self
    }

    /// Deflate at `level` (0–9).
    pub fn deflate(self, level: u32) -> Self {
        self.0.with_deflate(level);
        self
    }

    /// A Fletcher-32 checksum per chunk.
    pub fn fletcher32(self) -> Self {
        self.0.with_fletcher32();
        self
    }

    /// Sets an attribute of the dataset.
    pub fn attr(self, name: &str, value: Attr) -> Self {
        self.0.set_attr(name, value.value());
        self
    }
}

/// A file opened for reading what tests check: root attributes, `f64` datasets, shapes.
/// (Phantom files have their own checked reader, [`crate::h5::read_phantom`].)
pub struct H5Reader {
    f: File,
}

impl H5Reader {
    /// Opens `path`.
    pub fn open(path: &Path) -> Result<Self, H5Error> {
        Ok(H5Reader {
            f: File::open(path)?,
        })
    }

    fn root_attr(&self, name: &str) -> Option<AttrValue> {
        self.f.root().attrs().ok()?.remove(name)
    }

    /// A string root attribute; None when absent or not a string.
    pub fn attr_str(&self, name: &str) -> Option<String> {
        self.root_attr(name)?.as_str().map(str::to_string)
    }

    /// A floating-point root attribute (one value); None when absent, an integer or not a
    /// number.
    pub fn attr_f64(&self, name: &str) -> Option<f64> {
        self.root_attr(name)?.as_f64()
    }

    /// All values of the dataset at `path` (`group/name`) as `f64`.
    pub fn f64s(&self, path: &str) -> Result<Vec<f64>, H5Error> {
        Ok(self.f.dataset(path)?.read_f64()?)
    }

    /// The shape of the dataset at `path`.
    pub fn shape(&self, path: &str) -> Result<Vec<u64>, H5Error> {
        Ok(self.f.dataset(path)?.shape()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_values_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.h5");
        let mut w = H5Writer::new();
        w.attr("name", Attr::text("x"));
        w.attr("cut", Attr::F64(0.002));
        w.attr("n", Attr::U64(7));
        let mut g = w.group("g");
        let v: Vec<f64> = (0..24).map(|i| i as f64 * 0.5).collect();
        g.dataset("v")
            .f64s(&v)
            .shape(&[2, 3, 4])
            .chunks(&[1, 3, 4])
            .shuffle()
            .deflate(4)
            .fletcher32()
            .attr("units", Attr::text("Gy"));
        let mut sub = g.group("s");
        sub.dataset("w").f64s(&[1.5, -2.0]);
        g.add(sub);
        w.add(g);
        w.write(&p).unwrap();
        let r = H5Reader::open(&p).unwrap();
        assert_eq!(r.attr_str("name").as_deref(), Some("x"));
        assert_eq!(r.attr_f64("cut"), Some(0.002));
        assert_eq!(r.attr_f64("n"), None);
        assert_eq!(r.attr_str("cut"), None);
        assert_eq!(r.attr_str("missing"), None);
        assert_eq!(r.f64s("g/v").unwrap(), v);
        assert_eq!(r.shape("g/v").unwrap(), vec![2, 3, 4]);
        assert_eq!(r.f64s("g/s/w").unwrap(), vec![1.5, -2.0]);
        assert!(r.f64s("g/nope").is_err());
        assert!(H5Reader::open(&dir.path().join("none.h5")).is_err());
    }

    /// A file with a small group and two late datasets (`maps/a` = `a`, `b` = `a` + 1),
    /// counting the closures' calls.
    fn late_file(p: &Path, a: &[f64], calls: &std::cell::Cell<u32>) {
        let mut w = H5Writer::new();
        w.attr("name", Attr::text("x"));
        let mut g = w.group("maps");
        g.dataset("times_s").f64s(&[1.0, 2.0]);
        w.add(g);
        for (k, name) in ["maps/a", "b"].into_iter().enumerate() {
            w.late(
                H5Writer::late_dataset(name, &[2, 3, 4])
                    .chunks(&[1, 3, 4])
                    .shuffle()
                    .deflate(1)
                    .attr("units", Attr::text("Gy"))
                    .values(move || {
                        calls.set(calls.get() + 1);
                        LateData::F64(a.iter().map(|x| x + k as f64).collect())
                    }),
            );
            assert_eq!(calls.get(), 0, "nothing computed before the write");
        }
        w.write(p).unwrap();
    }

    #[test]
    fn late_datasets_are_computed_at_write_one_at_a_time_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("late.h5");
        let calls = std::cell::Cell::new(0);
        let a: Vec<f64> = (0..24).map(|i| i as f64 * 0.25).collect();
        late_file(&p, &a, &calls);
        assert_eq!(calls.get(), 2);
        let r = H5Reader::open(&p).unwrap();
        assert_eq!(r.attr_str("name").as_deref(), Some("x"));
        assert_eq!(r.f64s("maps/times_s").unwrap(), vec![1.0, 2.0]);
        assert_eq!(r.f64s("maps/a").unwrap(), a);
        let b: Vec<f64> = a.iter().map(|x| x + 1.0).collect();
        assert_eq!(r.f64s("b").unwrap(), b);
        assert_eq!(r.shape("maps/a").unwrap(), vec![2, 3, 4]);
        // the same calls give the same bytes
        let p2 = dir.path().join("late2.h5");
        late_file(&p2, &a, &std::cell::Cell::new(0));
        assert_eq!(std::fs::read(&p).unwrap(), std::fs::read(&p2).unwrap());
    }

    #[test]
    fn a_late_dataset_of_the_wrong_size_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.h5");
        let mut w = H5Writer::new();
        w.late(H5Writer::late_dataset("v", &[2, 2]).values(|| LateData::F32(vec![0.0; 3])));
        let e = w.write(&p).unwrap_err().to_string();
        assert!(e.contains("3 values for shape [2, 2]"), "{e}");
    }

    #[test]
    fn late_values_by_index_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("each.h5");
        let mut w = H5Writer::new();
        w.late(
            H5Writer::late_dataset("v", &[3, 2])
                .chunks(&[1, 2])
                .deflate(1)
                .values(|| LateData::F64Each(Box::new(|i| i as f64 * 1.5 - 2.0))),
        );
        w.write(&p).unwrap();
        let r = H5Reader::open(&p).unwrap();
        assert_eq!(r.f64s("v").unwrap(), vec![-2.0, -0.5, 1.0, 2.5, 4.0, 5.5]);
        assert_eq!(r.shape("v").unwrap(), vec![3, 2]);
    }

    #[test]
    fn records_need_known_fields_and_match_their_width() {
        assert_eq!(
            Field::U16.width() + Field::U32.width() + Field::F64.width(),
            14
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.h5");
        let mut w = H5Writer::new();
        let mut raw = Vec::new();
        raw.extend_from_slice(&3u32.to_le_bytes());
        raw.extend_from_slice(&2.5f64.to_le_bytes());
        w.dataset("t")
            .records(&[("id", Field::U32), ("x", Field::F64)], raw, 1)
            .unwrap();
        w.write(&p).unwrap();
        let f = File::open(&p).unwrap();
        assert_eq!(f.dataset("t").unwrap().read_raw().unwrap().len(), 12);
    }
}
