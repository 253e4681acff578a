//! A read-only device assembled from fixed-size chunks fetched from a
//! [`ChunkSource`] (HTTP ranges of one image, or a chunk store), with
//! readahead, batched concurrent fetches, an in-memory chunk cache and an
//! optional persistent [`ChunkCache`].
//!
//! Misses cost round trips, so fetches are planned per *batch*: everything
//! a read needs plus the readahead window (or everything a `prefetch`
//! names) goes to the source at once, and the source issues it as
//! concurrent requests. [`FetchStats::round_trips`] counts batches.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::Arc;

use crate::cache::ChunkCache;
use crate::{check_range, BlockDevice, BlockError, FetchStats, Result};

/// Where chunks come from.
pub trait ChunkSource: Send {
    /// Image size in bytes.
    fn size(&self) -> u64;

    /// Chunk size in bytes (the last chunk may be shorter).
    fn chunk_size(&self) -> u64;

    /// Chunks known to be all zeros need no fetch.
    fn is_zero(&self, _index: u64) -> bool {
        false
    }

    /// The store file name of a chunk in the persistent cache.
    fn cache_key(&self, index: u64) -> String;

    /// Checks a chunk read back from the persistent cache.
    fn verify(&self, index: u64, data: &[u8]) -> bool;

    /// Fetches these chunks as one batch of concurrent requests, returning
    /// each chunk's bytes (whole, verified) in order. Adds the requests and
    /// bytes it causes to `stats`.
    fn fetch(&mut self, indices: &[u64], stats: &mut FetchStats) -> Vec<Result<Vec<u8>>>;

    fn chunk_len(&self, index: u64) -> usize {
        self.chunk_size().min(self.size() - index * self.chunk_size()) as usize
    }

    fn chunk_count(&self) -> u64 {
        self.size().div_ceil(self.chunk_size())
    }
}

/// Tuning of a [`ChunkedDevice`].
#[derive(Clone, Debug)]
pub struct ChunkedOptions {
    /// The largest readahead window, in chunks. Sequential misses double
    /// the window from 4 up to this.
    pub readahead_max: u64,
    /// The most chunks in one batch (one round trip).
    pub batch_max: usize,
    /// Bytes of chunks kept in memory.
    pub memory_bytes: usize,
}

impl Default for ChunkedOptions {
    fn default() -> Self {
        ChunkedOptions { readahead_max: 32, batch_max: 64, memory_bytes: 32 << 20 }
    }
}

pub struct ChunkedDevice<S: ChunkSource> {
    source: S,
    cache: Option<ChunkCache>,
    opts: ChunkedOptions,
    mem: HashMap<u64, Arc<[u8]>>,
    /// Insertion order for eviction (oldest first).
    mem_order: VecDeque<u64>,
    mem_bytes: usize,
    /// The chunk after the last one read: a read starting there (or still
    /// in the last chunk) continues a sequential scan.
    next_seq: u64,
    window: u64,
    stats: FetchStats,
}

/// A chunk's bytes as a read sees them.
enum Got {
    Zero,
    Data(Arc<[u8]>),
}

impl<S: ChunkSource> ChunkedDevice<S> {
    pub fn new(source: S, cache: Option<ChunkCache>, opts: ChunkedOptions) -> Self {
        ChunkedDevice {
            source,
            cache,
            opts,
            mem: HashMap::new(),
            mem_order: VecDeque::new(),
            mem_bytes: 0,
            next_seq: u64::MAX,
            window: 0,
            stats: FetchStats::default(),
        }
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    pub fn into_source(self) -> S {
        self.source
    }

    pub fn fetch_stats(&self) -> FetchStats {
        self.stats
    }

    /// Counts traffic made on the source's behalf before the device existed
    /// (probing the size, fetching the manifest).
    pub fn add_stats(&mut self, s: FetchStats) {
        self.stats.round_trips += s.round_trips;
        self.stats.requests += s.requests;
        self.stats.bytes_fetched += s.bytes_fetched;
    }

    fn remember(&mut self, index: u64, data: Arc<[u8]>) {
        if self.mem.insert(index, data.clone()).is_none() {
            self.mem_order.push_back(index);
            self.mem_bytes += data.len();
        }
        while self.mem_bytes > self.opts.memory_bytes {
            let Some(old) = self.mem_order.pop_front() else { break };
            if let Some(d) = self.mem.remove(&old) {
                self.mem_bytes -= d.len();
            }
        }
    }

    /// The chunk from memory or the persistent cache, if held locally.
    fn local(&mut self, index: u64) -> Option<Got> {
        if self.source.is_zero(index) {
            return Some(Got::Zero);
        }
        if let Some(d) = self.mem.get(&index) {
            return Some(Got::Data(d.clone()));
        }
        let cache = self.cache.as_ref()?;
        let key = self.source.cache_key(index);
        let data = cache.get(&key, self.source.chunk_len(index))?;
        if !self.source.verify(index, &data) {
            return None;
        }
        self.stats.cache_loads += 1;
        let data: Arc<[u8]> = data.into();
        self.remember(index, data.clone());
        Some(Got::Data(data))
    }

    /// Whether fetching `index` would be wasted (cheap: no content check).
    fn held(&self, index: u64) -> bool {
        self.source.is_zero(index)
            || self.mem.contains_key(&index)
            || self.cache.as_ref().is_some_and(|c| c.contains(&self.source.cache_key(index)))
    }

    /// Fetches `indices` in batches; returns the outcome per chunk.
    fn fetch(&mut self, indices: &[u64]) -> HashMap<u64, Result<Arc<[u8]>>> {
        let mut out = HashMap::new();
        for batch in indices.chunks(self.opts.batch_max.max(1)) {
            self.stats.round_trips += 1;
            let mut results = self.source.fetch(batch, &mut self.stats).into_iter();
            for &index in batch {
                let result =
                    results.next().unwrap_or_else(|| Err(BlockError::Network(format!("chunk {index}: the source returned no result"))));
                let result = result.map(|data| {
                    self.stats.chunks_fetched += 1;
                    if let Some(cache) = &self.cache {
                        // A failed cache write costs a refetch later, not this read.
                        let _ = cache.put(&self.source.cache_key(index), &data);
                    }
                    let data: Arc<[u8]> = data.into();
                    self.remember(index, data.clone());
                    data
                });
                out.insert(index, result);
            }
        }
        out
    }
}

impl<S: ChunkSource> BlockDevice for ChunkedDevice<S> {
    fn size(&self) -> u64 {
        self.source.size()
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(offset, buf.len(), self.size())?;
        if buf.is_empty() {
            return Ok(());
        }
        let cs = self.source.chunk_size();
        let first = offset / cs;
        let last = (offset + buf.len() as u64 - 1) / cs;
        let sequential = first == self.next_seq || first.checked_add(1) == Some(self.next_seq);
        self.next_seq = last + 1;
        let mut got = Vec::with_capacity((last - first + 1) as usize);
        let mut missing = Vec::new();
        for index in first..=last {
            let local = self.local(index);
            if local.is_none() {
                missing.push(index);
            }
            got.push(local);
        }
        self.stats.hits += got.len() as u64 - missing.len() as u64;
        self.stats.misses += missing.len() as u64;
        if !missing.is_empty() {
            self.window = if sequential { (self.window * 2).clamp(4, self.opts.readahead_max.max(1)) } else { 0 };
            let ahead_end = (last + 1).saturating_add(self.window).min(self.source.chunk_count());
            let mut plan = missing.clone();
            plan.extend((last + 1..ahead_end).filter(|&i| !self.held(i)));
            let mut fetched = self.fetch(&plan);
            for index in missing {
                let data = fetched.remove(&index).expect("every planned chunk has an outcome")?;
                got[(index - first) as usize] = Some(Got::Data(data));
            }
        }
        let mut pos = offset;
        let end = offset + buf.len() as u64;
        for (i, chunk) in got.into_iter().enumerate() {
            let index = first + i as u64;
            let chunk_start = index * cs;
            let from = (pos - chunk_start) as usize;
            let n = ((index + 1) * cs).min(end) - pos;
            let dst = &mut buf[(pos - offset) as usize..][..n as usize];
            match chunk {
                Some(Got::Zero) => dst.fill(0),
                Some(Got::Data(d)) => {
                    let src = d
                        .get(from..from + n as usize)
                        .ok_or_else(|| BlockError::Corrupt(format!("chunk {index} is {} bytes, shorter than the image says", d.len())))?;
                    dst.copy_from_slice(src);
                }
                None => unreachable!("missing chunks were fetched or returned an error"),
            }
            pos += n;
        }
        Ok(())
    }

    fn write_at(&mut self, _offset: u64, _data: &[u8]) -> Result<()> {
        Err(BlockError::ReadOnly)
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    fn read_only(&self) -> bool {
        true
    }

    fn prefetch(&mut self, ranges: &[Range<u64>]) {
        let cs = self.source.chunk_size();
        let size = self.size();
        let mut plan = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for r in ranges {
            let (start, end) = (r.start.min(size), r.end.min(size));
            if start >= end {
                continue;
            }
            for index in start / cs..=(end - 1) / cs {
                if seen.insert(index) && !self.held(index) {
                    plan.push(index);
                }
            }
        }
        // Without a persistent cache, prefetched chunks must fit in memory.
        if self.cache.is_none() {
            plan.truncate(self.opts.memory_bytes / cs as usize);
        }
        // A hint: failures surface when the chunk is actually read.
        let _ = self.fetch(&plan);
    }

    fn stats(&self) -> Option<FetchStats> {
        Some(self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemStore;

    /// Chunks of an in-memory image; records each batch it is asked for.
    struct Fake {
        image: Vec<u8>,
        batches: Vec<Vec<u64>>,
        fail: Option<u64>,
        short_answers: bool,
    }

    impl ChunkSource for Fake {
        fn size(&self) -> u64 {
            self.image.len() as u64
        }
        fn chunk_size(&self) -> u64 {
            4096
        }
        fn is_zero(&self, index: u64) -> bool {
            index % 10 == 9
        }
        fn cache_key(&self, index: u64) -> String {
            format!("c{index}")
        }
        fn verify(&self, index: u64, data: &[u8]) -> bool {
            data.len() == self.chunk_len(index)
        }
        fn fetch(&mut self, indices: &[u64], stats: &mut FetchStats) -> Vec<Result<Vec<u8>>> {
            self.batches.push(indices.to_vec());
            stats.requests += indices.len() as u64;
            if self.short_answers {
                return Vec::new();
            }
            indices
                .iter()
                .map(|&i| {
                    if Some(i) == self.fail {
                        return Err(BlockError::Network(format!("chunk {i} unavailable")));
                    }
                    let start = (i * 4096) as usize;
                    Ok(self.image[start..start + self.chunk_len(i)].to_vec())
                })
                .collect()
        }
    }

    fn image() -> Vec<u8> {
        (0..100 * 4096 + 100).map(|i: usize| if (i / 4096) % 10 == 9 { 0 } else { (i % 251) as u8 + 1 }).collect()
    }

    fn device(opts: ChunkedOptions) -> ChunkedDevice<Fake> {
        ChunkedDevice::new(Fake { image: image(), batches: Vec::new(), fail: None, short_answers: false }, None, opts)
    }

    #[test]
    fn readahead_window_grows_on_sequential_misses_and_resets_on_jumps() {
        let mut d = device(ChunkedOptions::default());
        let mut buf = vec![0u8; 4096];
        for c in 0..40u64 {
            d.read_at(c * 4096, &mut buf).unwrap();
            assert!(buf[..] == image()[(c * 4096) as usize..][..4096]);
        }
        let sizes: Vec<usize> = d.source().batches.iter().map(|b| b.len()).collect();
        // First read: no history, no readahead; then 4, 8, 16 ahead (zero chunks skipped).
        assert_eq!(sizes[0], 1);
        assert!(sizes.len() <= 5, "{sizes:?}");
        assert!(d.source().batches.iter().flatten().all(|i| i % 10 != 9), "zero chunks are never fetched");
        let n = d.source().batches.len();
        d.read_at(80 * 4096, &mut buf).unwrap();
        assert_eq!(d.source().batches[n], vec![80], "a jump reads no more than it needs");
    }

    #[test]
    fn memory_is_bounded_and_batches_are_capped() {
        let mut d = device(ChunkedOptions { readahead_max: 32, batch_max: 5, memory_bytes: 8 * 4096 });
        let all: Vec<u8> = {
            let mut v = vec![0u8; d.size() as usize];
            d.read_at(0, &mut v).unwrap();
            v
        };
        assert!(all == image());
        assert!(d.mem_bytes <= 8 * 4096);
        assert!(d.source().batches.iter().all(|b| b.len() <= 5));
        let everything = 0..d.size();
        d.prefetch(std::slice::from_ref(&everything));
        assert!(d.mem_bytes <= 8 * 4096);
    }

    #[test]
    fn failures_reach_the_reader_and_readahead_failures_do_not() {
        let mut d = device(ChunkedOptions::default());
        d.source.fail = Some(3);
        let mut buf = [0u8; 10];
        d.read_at(0, &mut buf).unwrap();
        d.read_at(4096, &mut buf).unwrap(); // reads ahead over chunk 3, which fails
        d.read_at(2 * 4096, &mut buf).unwrap();
        assert!(matches!(d.read_at(3 * 4096, &mut buf), Err(BlockError::Network(m)) if m.contains("chunk 3")));
        d.source.short_answers = true;
        assert!(matches!(d.read_at(50 * 4096, &mut buf), Err(BlockError::Network(m)) if m.contains("no result")));
    }

    #[test]
    fn the_persistent_cache_is_used_and_checked() {
        let store = MemStore::new();
        let mut d = ChunkedDevice::new(
            Fake { image: image(), batches: Vec::new(), fail: None, short_answers: false },
            Some(ChunkCache::new(Box::new(store.clone()))),
            ChunkedOptions::default(),
        );
        let mut all = vec![0u8; d.size() as usize];
        d.read_at(0, &mut all).unwrap();
        // Damage one cached chunk: it is fetched again, the rest are not.
        let mut c5 = store.contents("c5").unwrap();
        c5[0] ^= 1;
        store.set_contents("c5", c5);
        let mut d = ChunkedDevice::new(
            Fake { image: image(), batches: Vec::new(), fail: None, short_answers: false },
            Some(ChunkCache::new(Box::new(store))),
            ChunkedOptions::default(),
        );
        all.fill(0);
        d.read_at(0, &mut all).unwrap();
        assert!(all == image());
        assert_eq!(d.source().batches, vec![vec![5]]);
    }
}
