//! HTTP range requests against one image file on a web server.

use std::sync::Arc;

use crate::cache::ChunkCache;
use crate::chunked::{ChunkSource, ChunkedDevice, ChunkedOptions};
use crate::fetch::{check_range_response, parse_content_range, FetchRequest, Fetcher};
use crate::{BlockError, FetchStats, Result};

/// At most this many adjacent chunks are asked for in one request: larger
/// runs are split so a batch still has several requests in flight.
const MAX_RUN: usize = 8;

/// The chunks of an image file served over HTTP with range support.
pub struct HttpSource {
    url: String,
    size: u64,
    chunk_size: u64,
    fetcher: Arc<dyn Fetcher>,
    /// The image version seen when opened (ETag or Last-Modified): every
    /// later response must carry the same, or chunks of two versions mix.
    validator: Option<String>,
}

impl HttpSource {
    /// Learns the image size with a `bytes=0-0` request, which also proves
    /// the server honours ranges (a HEAD would not).
    pub fn open(url: &str, fetcher: Arc<dyn Fetcher>, chunk_size: u64, stats: &mut FetchStats) -> Result<Self> {
        if !chunk_size.is_power_of_two() || !(4096..=16 << 20).contains(&chunk_size) {
            return Err(BlockError::Network(format!("chunk size {chunk_size} is not a power of two from 4 KiB to 16 MiB")));
        }
        let req = FetchRequest { url: url.to_string(), range: Some(0..1), max_len: 1 };
        stats.round_trips += 1;
        stats.requests += 1;
        let resp = crate::fetch::fetch_one(&*fetcher, &req)?;
        stats.bytes_fetched += resp.body.len() as u64;
        check_range_response(&req, &resp)?;
        let size = resp.content_range.as_deref().and_then(parse_content_range).and_then(|(_, total)| total).ok_or_else(|| {
            BlockError::Network(format!("{url}: the server did not say the image size (Content-Range {:?})", resp.content_range))
        })?;
        Ok(HttpSource { url: url.to_string(), size, chunk_size, fetcher, validator: resp.validator })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn validator(&self) -> Option<&str> {
        self.validator.as_deref()
    }
}

impl ChunkSource for HttpSource {
    fn size(&self) -> u64 {
        self.size
    }

    fn chunk_size(&self) -> u64 {
        self.chunk_size
    }

    fn cache_key(&self, index: u64) -> String {
        format!("range-{}-{index}", self.chunk_size)
    }

    fn verify(&self, index: u64, data: &[u8]) -> bool {
        data.len() == self.chunk_len(index)
    }

    fn fetch(&mut self, indices: &[u64], stats: &mut FetchStats) -> Vec<Result<Vec<u8>>> {
        // Adjacent chunks share one request.
        let mut runs: Vec<(usize, usize)> = Vec::new(); // (first position in `indices`, count)
        for (i, &index) in indices.iter().enumerate() {
            match runs.last_mut() {
                Some((start, n)) if *n < MAX_RUN && indices[*start + *n - 1] + 1 == index => *n += 1,
                _ => runs.push((i, 1)),
            }
        }
        let requests: Vec<FetchRequest> = runs
            .iter()
            .map(|&(start, n)| {
                let first = indices[start];
                let last = indices[start + n - 1];
                let range = first * self.chunk_size..last * self.chunk_size + self.chunk_len(last) as u64;
                FetchRequest { url: self.url.clone(), max_len: range.end - range.start, range: Some(range) }
            })
            .collect();
        stats.requests += requests.len() as u64;
        let responses = crate::fetch::fetch_exact(&*self.fetcher, &requests);
        let mut out = Vec::with_capacity(indices.len());
        for ((&(start, n), req), resp) in runs.iter().zip(&requests).zip(responses) {
            let body = resp.and_then(|resp| {
                stats.bytes_fetched += resp.body.len() as u64;
                check_range_response(req, &resp)?;
                if let (Some(was), Some(now)) = (&self.validator, &resp.validator) {
                    if was != now {
                        return Err(BlockError::Corrupt(format!(
                            "{}: the image changed on the server since it was opened (version {was} became {now})",
                            self.url
                        )));
                    }
                }
                Ok(resp.body)
            });
            match body {
                Ok(body) => {
                    let mut at = 0;
                    for &index in &indices[start..start + n] {
                        let len = self.chunk_len(index);
                        out.push(Ok(body[at..at + len].to_vec()));
                        at += len;
                    }
                }
                Err(e) => out.extend((0..n).map(|_| Err(e.duplicate()))),
            }
        }
        out
    }
}

/// A device reading an image over HTTP ranges.
pub type HttpDevice = ChunkedDevice<HttpSource>;

/// Opens an image file served over HTTP with range support.
pub fn open_http(
    url: &str,
    fetcher: Arc<dyn Fetcher>,
    chunk_size: u64,
    cache: Option<ChunkCache>,
    opts: ChunkedOptions,
) -> Result<HttpDevice> {
    let mut stats = FetchStats::default();
    let source = HttpSource::open(url, fetcher, chunk_size, &mut stats)?;
    let mut dev = ChunkedDevice::new(source, cache, opts);
    dev.add_stats(stats);
    Ok(dev)
}
