//! The chunk store manifest (`manifest.json`), parsed as untrusted input.
//!
//! ```json
//! {
//!   "format": "oxvm-chunks",
//!   "version": 1,
//!   "image_size": 1073741824,
//!   "chunk_size": 131072,
//!   "compression": "zstd",
//!   "hash": "sha256",
//!   "chunks": ["9f86d081…", null, …],
//!   "prefetch": [0, 1, 17]
//! }
//! ```
//!
//! `chunks` has one entry per chunk, `ceil(image_size / chunk_size)`
//! entries: the SHA-256 (lowercase hex) of the chunk's uncompressed bytes, or
//! `null` for a chunk of zeros (no file). The last chunk is
//! `image_size - (n-1) * chunk_size` bytes long and hashed at that length.
//! `prefetch` (optional) lists chunk indices a client should fetch together
//! before they are asked for (the chunks a boot touches). Unknown fields are
//! ignored so later minor additions stay readable; incompatible changes bump
//! `version`.

use serde::{Deserialize, Serialize};

use super::Compression;
use crate::{BlockError, Result};

pub const FORMAT: &str = "oxvm-chunks";
pub const VERSION: u32 = 1;
/// Images larger than this (16 TiB) are refused as implausible.
pub const MAX_IMAGE_SIZE: u64 = 1 << 44;
/// The largest manifest a client will download.
pub const MAX_MANIFEST_BYTES: u64 = 256 << 20;
pub const MIN_CHUNK_SIZE: u64 = 4096;
pub const MAX_CHUNK_SIZE: u64 = 16 << 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub image_size: u64,
    pub chunk_size: u64,
    pub compression: Compression,
    pub hash: String,
    pub chunks: Vec<Option<String>>,
    #[serde(default)]
    pub prefetch: Vec<u64>,
}

fn corrupt(msg: impl std::fmt::Display) -> BlockError {
    BlockError::Corrupt(format!("manifest: {msg}"))
}

impl Manifest {
    pub fn new(image_size: u64, chunk_size: u64, compression: Compression, chunks: Vec<Option<String>>) -> Self {
        Manifest {
            format: FORMAT.to_string(),
            version: VERSION,
            image_size,
            chunk_size,
            compression,
            hash: "sha256".to_string(),
            chunks,
            prefetch: Vec::new(),
        }
    }

    /// Parses and validates a manifest.
    pub fn parse(bytes: &[u8]) -> Result<Manifest> {
        // Format and version first, so a newer manifest gets a message about
        // its version rather than about whatever field changed.
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not valid JSON: {e}")))?;
        let format = value.get("format").and_then(|v| v.as_str());
        if format != Some(FORMAT) {
            return Err(corrupt(format!("format is {format:?}, expected {FORMAT:?}")));
        }
        let version = value.get("version").and_then(|v| v.as_u64());
        if version != Some(u64::from(VERSION)) {
            return Err(corrupt(format!("version {version:?} is not supported (this oxvm reads version {VERSION})")));
        }
        // Parsed again from the bytes so errors carry a line and column.
        let m: Manifest = serde_json::from_slice(bytes).map_err(corrupt)?;
        m.validate()?;
        Ok(m)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest always serialises")
    }

    /// Checks that the sizes add up and every entry is well-formed.
    pub fn validate(&self) -> Result<()> {
        if self.hash != "sha256" {
            return Err(corrupt(format!("hash {:?} is not supported", self.hash)));
        }
        if !self.chunk_size.is_power_of_two() || !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&self.chunk_size) {
            return Err(corrupt(format!("chunk size {} is not a power of two from 4 KiB to 16 MiB", self.chunk_size)));
        }
        if self.image_size == 0 || self.image_size > MAX_IMAGE_SIZE {
            return Err(corrupt(format!("image size {} is not between 1 byte and 16 TiB", self.image_size)));
        }
        let expected = self.image_size.div_ceil(self.chunk_size);
        if self.chunks.len() as u64 != expected {
            return Err(corrupt(format!(
                "{} chunk entries for an image of {} bytes in {}-byte chunks (needs {expected})",
                self.chunks.len(),
                self.image_size,
                self.chunk_size
            )));
        }
        for (i, h) in self.chunks.iter().enumerate() {
            if let Some(h) = h {
                if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                    return Err(corrupt(format!("chunk {i}: {h:?} is not a lowercase hex SHA-256")));
                }
            }
        }
        if let Some(bad) = self.prefetch.iter().find(|&&i| i >= expected) {
            return Err(corrupt(format!("prefetch names chunk {bad}, past the last chunk {}", expected - 1)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Manifest {
        let h = "ab".repeat(32);
        Manifest::new(3 * 4096 + 5, 4096, Compression::Zstd, vec![Some(h.clone()), None, Some(h), None])
    }

    #[test]
    fn round_trips_through_json() {
        let m = good();
        assert_eq!(Manifest::parse(m.to_json().as_bytes()).unwrap(), m);
    }

    #[test]
    fn rejects_bad_manifests_with_a_reason() {
        let with = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = serde_json::to_value(good()).unwrap();
            f(&mut v);
            serde_json::to_vec(&v).unwrap()
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"{not json".to_vec(), "not valid JSON"),
            (b"[]".to_vec(), "format"),
            (with(&|v| v["version"] = 2.into()), "version Some(2)"),
            (with(&|v| v["format"] = "zip".into()), "format"),
            (with(&|v| v["chunk_size"] = 5000.into()), "chunk size"),
            (with(&|v| v["chunk_size"] = (1u64 << 30).into()), "chunk size"),
            (with(&|v| v["image_size"] = (1u64 << 60).into()), "image size"),
            (with(&|v| v["image_size"] = 0.into()), "image size"),
            (with(&|v| v["image_size"] = (5 * 4096).into()), "needs 5"),
            (with(&|v| v["chunks"][0] = "xyz".into()), "chunk 0"),
            (with(&|v| v["chunks"][2] = "AB".repeat(32).into()), "chunk 2"),
            (with(&|v| v["compression"] = "lzma".into()), "lzma"),
            (with(&|v| v["hash"] = "md5".into()), "md5"),
            (with(&|v| v["prefetch"] = vec![9].into()), "prefetch"),
            (with(&|v| v["image_size"] = "big".into()), "expected u64"),
            (with(&|v| v["image_size"] = (-1).into()), "expected u64"),
            (with(&|v| v["chunks"] = serde_json::Value::Null), "expected a sequence"),
        ];
        for (bytes, want) in cases {
            match Manifest::parse(&bytes) {
                Err(BlockError::Corrupt(msg)) => assert!(msg.contains(want), "{msg:?} should mention {want:?}"),
                other => panic!("{:?} gave {other:?}", String::from_utf8_lossy(&bytes)),
            }
        }
    }
}
