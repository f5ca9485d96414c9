//! A walk over the element headers of a DICOM file before it is parsed: the transfer syntax
//! is one of the three uncompressed ones, no element (or item) claims more bytes than the
//! file has left, and items and delimiters stand only in the sequences they belong to. The parser (`dicom-parser`) reserves an element's claimed length before
//! reading it, so without this check a few bytes claiming 4 GiB would allocate 4 GiB.

use std::path::Path;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

use crate::{fmt_err, Result};

/// Implicit VR Little Endian.
pub const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
/// Explicit VR Little Endian.
pub const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
/// Explicit VR Big Endian (retired, still read).
pub const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";

/// Byte offset of the file meta group: 128-byte preamble + `DICM`.
pub const META_START: usize = 132;

/// How the data set after the meta group is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    /// Explicit VR (else implicit).
    pub explicit: bool,
    /// Big endian (else little).
    pub big_endian: bool,
}

/// Every value representation of PS3.5 6.2: an explicit VR must be one of them (parsers
/// differ on how long the length of an unknown one is).
const VRS: [&[u8; 2]; 34] = [
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB",
    b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM",
    b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
];

/// The value size of fixed-size binary VRs: a length that is not a multiple of it is
/// refused (the parser reads whole values only, and would lose its place).
fn value_size(vr: [u8; 2]) -> usize {
    match &vr {
        b"SS" | b"US" | b"OW" => 2,
        b"AT" | b"FL" | b"SL" | b"UL" | b"OF" | b"OL" => 4,
        b"FD" | b"SV" | b"UV" | b"OD" | b"OV" => 8,
        _ => 1,
    }
}

/// VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 7.1.2).
fn long_vr(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"UC"
            | b"UR"
            | b"UT"
            | b"UN"
            | b"SV"
            | b"UV"
    )
}

struct Walker<'a> {
    path: &'a Path,
    b: &'a [u8],
    pos: usize,
    enc: Encoding,
}

impl Walker<'_> {
    fn u16_at(&self, o: usize) -> u16 {
        let x = [self.b[o], self.b[o + 1]];
        if self.enc.big_endian {
            u16::from_be_bytes(x)
        } else {
            u16::from_le_bytes(x)
        }
    }

    fn u32_at(&self, o: usize) -> u32 {
        let x = [self.b[o], self.b[o + 1], self.b[o + 2], self.b[o + 3]];
        if self.enc.big_endian {
            u32::from_be_bytes(x)
        } else {
            u32::from_le_bytes(x)
        }
    }

    fn need(&self, n: usize, tag: Tag) -> Result<()> {
        if self.b.len() - self.pos < n {
            return Err(fmt_err(
                self.path,
                format!(
                    "element ({:04X},{:04X}) at byte {}: the file ends inside its header",
                    tag.0, tag.1, self.pos
                ),
            ));
        }
        Ok(())
    }

    /// One header: (tag, explicit VR or None, length, header size).
    fn header(&self) -> Result<(Tag, Option<[u8; 2]>, u32, usize)> {
        let tag = Tag(self.u16_at(self.pos), self.u16_at(self.pos + 2));
        self.need(8, tag)?;
        if tag.0 == 0xFFFE || !self.enc.explicit {
            return Ok((tag, None, self.u32_at(self.pos + 4), 8));
        }
        let vr = [self.b[self.pos + 4], self.b[self.pos + 5]];
        if !VRS.contains(&&vr) {
            return Err(fmt_err(
                self.path,
                format!(
                    "element ({:04X},{:04X}) at byte {} has VR {:?}, not a DICOM value \
                     representation",
                    tag.0,
                    tag.1,
                    self.pos,
                    String::from_utf8_lossy(&vr)
                ),
            ));
        }
        if long_vr(vr) {
            self.need(12, tag)?;
            Ok((tag, Some(vr), self.u32_at(self.pos + 8), 12))
        } else {
            Ok((tag, Some(vr), self.u16_at(self.pos + 6) as u32, 8))
        }
    }

    /// Whether a defined-length element holds items (a sequence) to step into.
    fn holds_items(tag: Tag, vr: Option<[u8; 2]>) -> bool {
        match vr {
            Some(v) => &v == b"SQ",
            None => tag.0 == 0xFFFE || implicit_is_sequence(tag),
        }
    }

    fn walk(&mut self) -> Result<()> {
        // open sequences and items, each with its end (None: undefined length)
        let mut open: Vec<(Nest, Option<usize>)> = Vec::new();
        while self.pos < self.b.len() {
            while open.last().is_some_and(|&(_, end)| end == Some(self.pos)) {
                open.pop();
            }
            if let Some(&(_, Some(end))) = open.last() {
                if self.pos > end {
                    return Err(fmt_err(
                        self.path,
                        format!(
                            "the element ending at byte {} runs past the end of its sequence \
                             or item (byte {end})",
                            self.pos
                        ),
                    ));
                }
            }
            if self.b.len() - self.pos < 4 {
                return Err(fmt_err(
                    self.path,
                    format!(
                        "{} stray bytes at the end of the file",
                        self.b.len() - self.pos
                    ),
                ));
            }
            let (tag, vr, len, hsize) = self.header()?;
            self.check_length(tag, vr, len, hsize)?;
            let end = (len != u32::MAX).then(|| self.pos + hsize + len as usize);
            self.nest(&mut open, tag, vr, end)?;
            self.pos += hsize;
            if len != u32::MAX && !Self::holds_items(tag, vr) {
                self.pos += len as usize;
            }
        }
        Ok(())
    }

    /// Items only directly inside a sequence, delimiters only closing what is open with an
    /// undefined length (the parser reads an item outside a sequence as an opaque value and
    /// would lose its place).
    fn nest(
        &self,
        open: &mut Vec<(Nest, Option<usize>)>,
        tag: Tag,
        vr: Option<[u8; 2]>,
        end: Option<usize>,
    ) -> Result<()> {
        let top = open.last().copied();
        match (tag.0, tag.1) {
            (0xFFFE, 0xE000) if matches!(top, Some((Nest::Sequence, _))) => {
                open.push((Nest::Item, end))
            }
            (0xFFFE, 0xE00D) if matches!(top, Some((Nest::Item, None))) => {
                open.pop();
            }
            (0xFFFE, 0xE0DD) if matches!(top, Some((Nest::Sequence, None))) => {
                open.pop();
            }
            (0xFFFE, e) => {
                return Err(fmt_err(
                    self.path,
                    format!(
                        "item tag (FFFE,{e:04X}) at byte {} outside the sequence or item it \
                         belongs to",
                        self.pos
                    ),
                ))
            }
            _ if Self::holds_items(tag, vr) || end.is_none() => open.push((Nest::Sequence, end)),
            _ => {}
        }
        Ok(())
    }

    /// The checks on one header's length: delimiters of length 0, undefined lengths only on
    /// SQ/UN, no length past the end of the file, whole values of fixed-size VRs.
    fn check_length(&self, tag: Tag, vr: Option<[u8; 2]>, len: u32, hsize: usize) -> Result<()> {
        let left = self.b.len() - self.pos - hsize;
        if tag.0 == 0xFFFE && tag.1 != 0xE000 && len != 0 {
            return Err(fmt_err(
                self.path,
                format!(
                    "delimiter (FFFE,{:04X}) at byte {} has length {len}, not 0",
                    tag.1, self.pos
                ),
            ));
        }
        if len == u32::MAX && vr.is_some_and(|v| &v != b"SQ" && &v != b"UN") {
            return Err(fmt_err(
                self.path,
                format!(
                    "element ({:04X},{:04X}) at byte {} has an undefined length: encapsulated \
                     (compressed) data are not read",
                    tag.0, tag.1, self.pos
                ),
            ));
        }
        if len == u32::MAX {
            if tag == Tag(0x7FE0, 0x0010) {
                return Err(fmt_err(
                    self.path,
                    "encapsulated (compressed) pixel data in an uncompressed transfer syntax",
                ));
            }
            return Ok(()); // undefined length: a sequence or item, stepped into
        }
        if len as usize > left {
            return Err(fmt_err(
                self.path,
                format!(
                    "element ({:04X},{:04X}) at byte {} claims {len} bytes but only {left} \
                     follow: the file is truncated or corrupt",
                    tag.0, tag.1, self.pos
                ),
            ));
        }
        if let Some(v) = vr.filter(|&v| !(len as usize).is_multiple_of(value_size(v))) {
            return Err(fmt_err(
                self.path,
                format!(
                    "element ({:04X},{:04X}) at byte {} of VR {} has length {len}, not a \
                     multiple of {}",
                    tag.0,
                    tag.1,
                    self.pos,
                    String::from_utf8_lossy(&v),
                    value_size(v)
                ),
            ));
        }
        Ok(())
    }
}

/// What a walker is inside of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nest {
    Sequence,
    Item,
}

fn implicit_is_sequence(tag: Tag) -> bool {
    StandardDataDictionary
        .by_tag(tag)
        .is_some_and(|e| e.vr() == VirtualVr::Exact(VR::SQ))
}

/// The end of the meta group (group 0002 elements) that starts at `from`.
fn meta_group_end(w: &Walker, from: usize) -> Result<usize> {
    let mut pos = from;
    while w.b.len() - pos >= 8 && w.u16_at(pos) == 0x0002 {
        let probe = Walker {
            path: w.path,
            b: w.b,
            pos,
            enc: w.enc,
        };
        let (_, _, len, hsize) = probe.header()?;
        pos = (pos + hsize).saturating_add(len as usize).min(w.b.len());
    }
    Ok(pos)
}

/// Check the file meta group and every element length of a whole DICOM file `b`; return
/// the transfer syntax UID and the encoding of the data set.
pub fn check(path: &Path, b: &[u8]) -> Result<(String, Encoding)> {
    if b.len() < META_START || &b[128..132] != b"DICM" {
        return Err(fmt_err(
            path,
            "not a DICOM file: no \"DICM\" after the 128-byte preamble (DICOM Part 10)",
        ));
    }
    let meta = Encoding {
        explicit: true,
        big_endian: false,
    };
    let mut w = Walker {
        path,
        b,
        pos: META_START,
        enc: meta,
    };
    let mut ts = None;
    while w.b.len() - w.pos >= 8 && w.u16_at(w.pos) == 0x0002 {
        let (tag, _, len, hsize) = w.header()?;
        let start = w.pos + hsize;
        if len as usize > b.len() - start {
            return Err(fmt_err(
                path,
                format!(
                    "meta element (0002,{:04X}) claims {len} bytes past the end",
                    tag.1
                ),
            ));
        }
        if tag == Tag(0x0002, 0x0000) && len == 4 {
            let claimed = w.u32_at(start) as usize;
            let actual = meta_group_end(&w, start + 4)? - (start + 4);
            if claimed != actual {
                return Err(fmt_err(
                    path,
                    format!(
                        "File Meta Information Group Length (0002,0000) is {claimed} but the \
                         group holds {actual} bytes"
                    ),
                ));
            }
        }
        if tag == Tag(0x0002, 0x0010) {
            let s = String::from_utf8_lossy(&b[start..start + len as usize]);
            ts = Some(s.trim_end_matches(['\0', ' ']).to_string());
        }
        w.pos = start + len as usize;
    }
    let ts =
        ts.ok_or_else(|| fmt_err(path, "no Transfer Syntax UID (0002,0010) in the meta group"))?;
    w.enc = match ts.as_str() {
        IMPLICIT_LE => Encoding {
            explicit: false,
            big_endian: false,
        },
        EXPLICIT_LE => meta,
        EXPLICIT_BE => Encoding {
            explicit: true,
            big_endian: true,
        },
        other => {
            return Err(fmt_err(
                path,
                format!(
                    "transfer syntax {other} is not supported: only uncompressed pixel data \
                     (implicit or explicit VR little endian, explicit big endian) are read; \
                     decompress first (e.g. `gdcmconv --raw` or `dcmdjpeg`)"
                ),
            ))
        }
    };
    w.walk()?;
    Ok((ts, w.enc))
}
