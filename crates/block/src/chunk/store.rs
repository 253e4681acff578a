//! Reading a chunk store: a [`ChunkSource`] over a manifest and its chunk
//! files, fetched as whole files (no range support needed from the host).

use std::collections::HashMap;
use std::sync::Arc;

use super::manifest::{Manifest, MAX_MANIFEST_BYTES};
use super::{chunk_path, decompress, sha256_hex};
use crate::cache::ChunkCache;
use crate::chunked::{ChunkSource, ChunkedDevice, ChunkedOptions};
use crate::fetch::{FetchRequest, Fetcher};
use crate::{BlockError, FetchStats, Result};

pub struct ChunkStoreSource {
    /// The manifest's URL up to and including its last `/`.
    base: String,
    manifest: Manifest,
    /// SHA-256 of the manifest bytes: identifies this image version.
    manifest_hash: String,
    fetcher: Arc<dyn Fetcher>,
}

impl ChunkStoreSource {
    /// Fetches and validates the manifest at `manifest_url`.
    pub fn open(manifest_url: &str, fetcher: Arc<dyn Fetcher>, stats: &mut FetchStats) -> Result<Self> {
        let req = FetchRequest { url: manifest_url.to_string(), range: None, max_len: MAX_MANIFEST_BYTES };
        stats.round_trips += 1;
        stats.requests += 1;
        let resp = crate::fetch::fetch_one(&*fetcher, &req)?;
        stats.bytes_fetched += resp.body.len() as u64;
        if resp.status != 200 {
            return Err(BlockError::Network(format!("manifest {manifest_url}: HTTP status {}", resp.status)));
        }
        let manifest = Manifest::parse(&resp.body)?;
        let base = match manifest_url.rfind('/') {
            Some(i) => manifest_url[..=i].to_string(),
            None => String::new(),
        };
        Ok(ChunkStoreSource { base, manifest, manifest_hash: sha256_hex(&resp.body), fetcher })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn manifest_hash(&self) -> &str {
        &self.manifest_hash
    }

    fn hash(&self, index: u64) -> &str {
        self.manifest.chunks[index as usize].as_deref().expect("only non-zero chunks are fetched")
    }

    fn url(&self, index: u64) -> String {
        format!("{}{}", self.base, chunk_path(self.hash(index), self.manifest.compression))
    }

    /// Turns one chunk file into the chunk's bytes, checking everything.
    fn decode(&self, index: u64, status: u16, body: &[u8]) -> Result<Vec<u8>> {
        let url = self.url(index);
        if status != 200 {
            return Err(BlockError::Network(format!("chunk {index} ({url}): HTTP status {status}")));
        }
        let data = decompress(body, self.manifest.compression, self.chunk_len(index))
            .map_err(|e| BlockError::Corrupt(format!("chunk {index} ({url}): {e}")))?;
        let got = sha256_hex(&data);
        if got != self.hash(index) {
            return Err(BlockError::Corrupt(format!(
                "chunk {index} ({url}): content hashes to {got}, the manifest says {}",
                self.hash(index)
            )));
        }
        Ok(data)
    }
}

impl ChunkSource for ChunkStoreSource {
    fn size(&self) -> u64 {
        self.manifest.image_size
    }

    fn chunk_size(&self) -> u64 {
        self.manifest.chunk_size
    }

    fn is_zero(&self, index: u64) -> bool {
        self.manifest.chunks.get(index as usize).is_some_and(|h| h.is_none())
    }

    /// Content-addressed: equal chunks share one cache file.
    fn cache_key(&self, index: u64) -> String {
        format!("{}.chunk", self.hash(index))
    }

    fn verify(&self, index: u64, data: &[u8]) -> bool {
        sha256_hex(data) == self.hash(index)
    }

    fn fetch(&mut self, indices: &[u64], stats: &mut FetchStats) -> Vec<Result<Vec<u8>>> {
        // Chunks with equal content are one file: request each file once.
        let mut requests: Vec<FetchRequest> = Vec::new();
        let mut first_index: Vec<u64> = Vec::new(); // per request, the chunk it is named after
        let mut by_hash: HashMap<&str, usize> = HashMap::new();
        let mut slot = Vec::with_capacity(indices.len());
        for &index in indices {
            let i = *by_hash.entry(self.hash(index)).or_insert(requests.len());
            if i == requests.len() {
                // A compressed chunk may exceed its raw size a little.
                let len = self.chunk_len(index) as u64;
                requests.push(FetchRequest { url: self.url(index), range: None, max_len: len + 4096 + len / 64 });
                first_index.push(index);
            }
            slot.push(i);
        }
        stats.requests += requests.len() as u64;
        let responses = crate::fetch::fetch_exact(&*self.fetcher, &requests);
        let decoded: Vec<Result<Vec<u8>>> = responses
            .into_iter()
            .zip(first_index)
            .map(|(resp, index)| match resp {
                Ok(resp) => {
                    stats.bytes_fetched += resp.body.len() as u64;
                    self.decode(index, resp.status, &resp.body)
                }
                Err(BlockError::Network(m)) => Err(BlockError::Network(format!("chunk {index}: {m}"))),
                Err(e) => Err(e),
            })
            .collect();
        slot.iter().map(|&i| decoded[i].as_ref().map(|d| d.clone()).map_err(BlockError::duplicate)).collect()
    }
}

/// A device reading a chunk store.
pub type ChunkStoreDevice = ChunkedDevice<ChunkStoreSource>;

impl ChunkedDevice<ChunkStoreSource> {
    /// Fetches the chunks the manifest's `prefetch` list names (the ones a
    /// boot touches), as batches of concurrent requests.
    pub fn prefetch_listed(&mut self) {
        let cs = self.source().manifest().chunk_size;
        let ranges: Vec<std::ops::Range<u64>> = self.source().manifest().prefetch.iter().map(|&i| i * cs..(i + 1) * cs).collect();
        crate::BlockDevice::prefetch(self, &ranges);
    }
}

/// Opens the chunk store whose manifest is at `manifest_url`.
pub fn open_chunk_store(
    manifest_url: &str,
    fetcher: Arc<dyn Fetcher>,
    cache: Option<ChunkCache>,
    opts: ChunkedOptions,
) -> Result<ChunkStoreDevice> {
    let mut stats = FetchStats::default();
    let source = ChunkStoreSource::open(manifest_url, fetcher, &mut stats)?;
    let mut dev = ChunkedDevice::new(source, cache, opts);
    dev.add_stats(stats);
    Ok(dev)
}
