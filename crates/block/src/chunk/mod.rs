//! Chunk stores: an image published as content-addressed, compressed chunks
//! plus a manifest, served by any static host as plain files.
//!
//! Layout under the store's base URL or directory:
//! `manifest.json` and `chunks/<sha256 of the uncompressed chunk>.zst`
//! (no suffix when uncompressed). See [`manifest`] for the schema.

pub mod manifest;
#[cfg(not(target_arch = "wasm32"))]
pub mod publish;
pub mod store;

use std::io::Read;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{BlockError, Result};

/// How chunk files are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Zstd,
}

impl Compression {
    /// The chunk file name suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Zstd => ".zst",
        }
    }
}

/// The path of a chunk file relative to the store root.
pub fn chunk_path(hash: &str, compression: Compression) -> String {
    format!("chunks/{hash}{}", compression.suffix())
}

/// SHA-256 of `data` as lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Compresses one chunk. Pure Rust (ruzstd's encoder at its fastest level)
/// so publishing needs no C toolchain; the frames are standard zstd.
pub fn compress(data: &[u8], compression: Compression) -> Vec<u8> {
    match compression {
        Compression::None => data.to_vec(),
        Compression::Zstd => ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest),
    }
}

/// Decompresses one chunk that must come out exactly `expected_len` bytes
/// long; anything else (bad frame, too short, too long) is corrupt. Output
/// is capped at `expected_len + 1` so a hostile frame cannot balloon.
pub fn decompress(data: &[u8], compression: Compression, expected_len: usize) -> Result<Vec<u8>> {
    let out = match compression {
        Compression::None => data.to_vec(),
        Compression::Zstd => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(data).map_err(|e| BlockError::Corrupt(format!("bad zstd frame: {e}")))?;
            let mut out = Vec::with_capacity(expected_len);
            decoder.take(expected_len as u64 + 1).read_to_end(&mut out).map_err(|e| BlockError::Corrupt(format!("bad zstd data: {e}")))?;
            out
        }
    };
    if out.len() != expected_len {
        return Err(BlockError::Corrupt(format!("chunk decompresses to {} bytes, expected {expected_len}", out.len())));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_round_trips_and_rejects_damage() {
        let data: Vec<u8> = (0..131072u32).map(|i| (i / 300 % 7) as u8 * 17).collect();
        let z = compress(&data, Compression::Zstd);
        assert!(z.len() < data.len() / 10, "{} bytes", z.len());
        assert_eq!(decompress(&z, Compression::Zstd, data.len()).unwrap(), data);
        assert!(matches!(decompress(&z, Compression::Zstd, data.len() - 1), Err(BlockError::Corrupt(_))));
        assert!(matches!(decompress(&z[..z.len() / 2], Compression::Zstd, data.len()), Err(BlockError::Corrupt(_))));
        assert!(matches!(decompress(b"not zstd at all", Compression::Zstd, 10), Err(BlockError::Corrupt(_))));
        assert_eq!(decompress(b"abc", Compression::None, 3).unwrap(), b"abc");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
