//! The project's content hash: 64-bit FNV-1a over bytes (Fowler–Noll–Vo; offset basis
//! 0xcbf29ce484222325, prime 0x100000001b3). Not cryptographic: it keys caches (transport
//! cache keys, scenario text hashes of shard manifests), where a change of the hashed content
//! must change the key. (The phantom file's `content_hash` is a word-wise variant fixed by
//! that file format: `xfire_io::h5::content_hash`.)

/// FNV-1a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Self::new()
    }
}

impl Fnv64 {
    const PRIME: u64 = 0x0000_0100_0000_01B3;

    /// The empty hash (the offset basis).
    pub fn new() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }

    /// Adds raw bytes.
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
        self
    }

    /// Adds a u64 (little-endian bytes).
    pub fn u64(&mut self, x: u64) -> &mut Self {
        self.raw(&x.to_le_bytes())
    }

    /// Adds bytes and then their length (so that concatenations differ).
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.raw(b).u64(b.len() as u64)
    }

    /// The hash value.
    pub fn value(&self) -> u64 {
        self.0
    }
}

/// FNV-1a of `text` as 16 hex digits.
pub fn text_hash(text: &str) -> String {
    format!("{:016x}", Fnv64::new().raw(text.as_bytes()).value())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_test_vectors() {
        // FNV-1a 64 test vectors (Fowler, Noll, Vo: "FNV hash" reference test suite)
        assert_eq!(Fnv64::new().value(), 0xcbf2_9ce4_8422_2325);
        assert_eq!(Fnv64::new().raw(b"a").value(), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(Fnv64::new().raw(b"foobar").value(), 0x8594_4171_f739_67e8);
        assert_eq!(text_hash("a"), "af63dc4c8601ec8c");
        let mut a = Fnv64::new();
        a.bytes(b"ab").bytes(b"c");
        let mut b = Fnv64::new();
        b.bytes(b"a").bytes(b"bc");
        assert_ne!(a.value(), b.value());
    }
}
