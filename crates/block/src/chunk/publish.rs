//! Publishing an image as a chunk store (native: writes a directory).

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use super::manifest::{Manifest, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE};
use super::{chunk_path, compress, sha256_hex, Compression};
use crate::{BlockDevice, BlockError, Result};

/// What a publish produced.
#[derive(Clone, Debug)]
pub struct PublishReport {
    pub manifest: Manifest,
    /// Chunk files written by this run.
    pub files_written: u64,
    /// Chunks whose file already existed (repeated content, or an earlier
    /// publish into the same directory).
    pub chunks_shared: u64,
    /// All-zero chunks (no file).
    pub zero_chunks: u64,
    /// Bytes of chunk files written.
    pub bytes_written: u64,
}

/// Writes `out` atomically: a reader (or a crash) sees the old file or the
/// new one, never half of it.
fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, data)?;
    fs::rename(&tmp, path)?;
    Ok(())
}

/// Splits `image` into `chunk_size` chunks under `out_dir/chunks/`, named by
/// the SHA-256 of their uncompressed content, each stored once; all-zero
/// chunks are not stored. Writes `out_dir/manifest.json` last, so a
/// directory with a manifest is always complete.
pub fn publish(image: &mut dyn BlockDevice, out_dir: &Path, chunk_size: u64, compression: Compression) -> Result<PublishReport> {
    let invalid = |m: String| BlockError::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, m));
    if !chunk_size.is_power_of_two() || !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
        return Err(invalid(format!("chunk size {chunk_size} is not a power of two from 4 KiB to 16 MiB")));
    }
    let size = image.size();
    if size == 0 {
        return Err(invalid("the image is empty".into()));
    }
    fs::create_dir_all(out_dir.join("chunks"))?;
    let mut report = PublishReport {
        manifest: Manifest::new(size, chunk_size, compression, Vec::new()),
        files_written: 0,
        chunks_shared: 0,
        zero_chunks: 0,
        bytes_written: 0,
    };
    let mut seen = HashSet::new();
    let mut buf = vec![0u8; chunk_size as usize];
    let mut chunks = Vec::with_capacity(size.div_ceil(chunk_size) as usize);
    let mut offset = 0;
    while offset < size {
        let len = chunk_size.min(size - offset) as usize;
        let data = &mut buf[..len];
        image.read_at(offset, data)?;
        offset += len as u64;
        if data.iter().all(|&b| b == 0) {
            report.zero_chunks += 1;
            chunks.push(None);
            continue;
        }
        let hash = sha256_hex(data);
        let path = out_dir.join(chunk_path(&hash, compression));
        if seen.contains(&hash) || path.exists() {
            report.chunks_shared += 1;
        } else {
            let packed = compress(data, compression);
            write_atomic(&path, &packed)?;
            report.files_written += 1;
            report.bytes_written += packed.len() as u64;
        }
        seen.insert(hash.clone());
        chunks.push(Some(hash));
    }
    report.manifest.chunks = chunks;
    report.manifest.validate()?;
    write_atomic(&out_dir.join("manifest.json"), report.manifest.to_json().as_bytes())?;
    Ok(report)
}
