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

/// For each chunk: `None` if all zeros, else its hash and its compressed
/// bytes (`None` when the file already exists in `out_dir`).
type Packed = Option<(String, Option<Vec<u8>>)>;

fn pack_all(datas: &[Vec<u8>], out_dir: &Path, compression: Compression, workers: usize) -> Vec<Packed> {
    let pack = |data: &Vec<u8>| -> Packed {
        if data.iter().all(|&b| b == 0) {
            return None;
        }
        let hash = sha256_hex(data);
        let exists = out_dir.join(chunk_path(&hash, compression)).exists();
        Some((hash, (!exists).then(|| compress(data, compression))))
    };
    if workers <= 1 {
        return datas.iter().map(pack).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(vec![None; datas.len()]);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(data) = datas.get(i) else { break };
                let packed = pack(data);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = packed;
            });
        }
    });
    results.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// Splits `image` into `chunk_size` chunks under `out_dir/chunks/`, named by
/// the SHA-256 of their uncompressed content, each stored once; all-zero
/// chunks are not stored. Writes `out_dir/manifest.json` last, so a
/// directory with a manifest is always complete.
pub fn publish(image: &mut dyn BlockDevice, out_dir: &Path, chunk_size: u64, compression: Compression) -> Result<PublishReport> {
    publish_with_prefetch(image, out_dir, chunk_size, compression, &[])
}

/// [`publish`], listing in the manifest's `prefetch` the non-zero chunks
/// that hold any of `boot` (byte ranges a start of the image reads, from
/// `oxvm run --record-reads`), so a client fetches them in one batch.
pub fn publish_with_prefetch(
    image: &mut dyn BlockDevice,
    out_dir: &Path,
    chunk_size: u64,
    compression: Compression,
    boot: &[std::ops::Range<u64>],
) -> Result<PublishReport> {
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
    let mut chunks = Vec::with_capacity(size.div_ceil(chunk_size) as usize);
    // Chunks are read in groups and hashed and compressed on all cores;
    // reading and writing stay sequential.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let group = workers * 8;
    let mut offset = 0;
    while offset < size {
        let mut datas = Vec::with_capacity(group);
        while datas.len() < group && offset < size {
            let len = chunk_size.min(size - offset) as usize;
            let mut data = vec![0u8; len];
            image.read_at(offset, &mut data)?;
            offset += len as u64;
            datas.push(data);
        }
        for packed in pack_all(&datas, out_dir, compression, workers) {
            let Some((hash, packed)) = packed else {
                report.zero_chunks += 1;
                chunks.push(None);
                continue;
            };
            match packed {
                Some(packed) if seen.insert(hash.clone()) => {
                    write_atomic(&out_dir.join(chunk_path(&hash, compression)), &packed)?;
                    report.files_written += 1;
                    report.bytes_written += packed.len() as u64;
                }
                _ => report.chunks_shared += 1,
            }
            chunks.push(Some(hash));
        }
    }
    let mut prefetch: Vec<u64> = boot
        .iter()
        .filter(|r| r.start < r.end)
        .flat_map(|r| r.start / chunk_size..=(r.end.min(size) - 1) / chunk_size)
        .filter(|&i| chunks.get(i as usize).is_some_and(Option::is_some))
        .collect();
    prefetch.sort_unstable();
    prefetch.dedup();
    report.manifest.prefetch = prefetch;
    report.manifest.chunks = chunks;
    report.manifest.validate()?;
    write_atomic(&out_dir.join("manifest.json"), report.manifest.to_json().as_bytes())?;
    Ok(report)
}
