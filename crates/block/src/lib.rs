//! Block devices: the storage stack under oxvm's ext2 root filesystem.
//!
//! Every layer implements [`BlockDevice`], a byte-addressed device of fixed
//! size. Layers stack: a read-only base (a local image file, HTTP ranges
//! against one image file, or a chunk store on a static host), a cache of
//! fetched chunks, and a copy-on-write overlay that takes every write so the
//! base is never modified.
//!
//! The trait is synchronous: a host that fetches over the network blocks the
//! calling thread (a worker in the browser) until the bytes arrive.
//! [`BlockDevice::prefetch`] lets a caller announce ranges it will read soon
//! (a whole file extent on `execve`, readahead on sequential reads) so a
//! network-backed layer can issue those fetches together instead of paying one
//! round trip per miss.
//!
//! Layers: [`FileDevice`] and [`MemDevice`]; [`ChunkedDevice`] over a
//! [`ChunkSource`] ([`HttpSource`]: range requests against one image file;
//! [`ChunkStoreSource`]: a published chunk store) with a persistent
//! [`ChunkCache`]; [`Overlay`] (persistent, crash-consistent) and
//! [`EphemeralOverlay`]. Persistence goes through the [`Store`] trait and the
//! network through the [`Fetcher`] trait, so the browser host can supply
//! both; native implementations (and everything else that needs `std::fs`
//! or threads) are compiled only off wasm32. [`open_image`] composes a stack
//! from a source string. The README describes the on-disk and on-wire
//! formats.

pub mod cache;
pub mod chunk;
pub mod chunked;
pub mod fetch;
#[cfg(not(target_arch = "wasm32"))]
mod file;
pub mod http;
mod mem;
#[cfg(not(target_arch = "wasm32"))]
pub mod open;
pub mod overlay;
pub mod record;
pub mod store;

use std::fmt;
use std::ops::Range;

pub use cache::ChunkCache;
pub use chunk::manifest::Manifest;
#[cfg(not(target_arch = "wasm32"))]
pub use chunk::publish::{publish, publish_with_prefetch, PublishReport};
pub use chunk::store::{open_chunk_store, ChunkStoreDevice, ChunkStoreSource};
pub use chunk::Compression;
pub use chunked::{ChunkSource, ChunkedDevice, ChunkedOptions};
pub use fetch::{FetchRequest, FetchResponse, Fetcher};
#[cfg(not(target_arch = "wasm32"))]
pub use file::FileDevice;
pub use http::{open_http, HttpDevice, HttpSource};
pub use mem::MemDevice;
#[cfg(not(target_arch = "wasm32"))]
pub use open::{default_state_dir, open_image, ImageOptions, OpenedImage, OverlayMode, SourceKind};
pub use overlay::{EphemeralOverlay, Overlay, OverlayOptions, OverlayStats};
#[cfg(not(target_arch = "wasm32"))]
pub use store::FsStore;
pub use store::{MemStore, Store, StoreFile};

/// Why a block operation failed. Every variant carries enough context for a
/// user-facing message; none of them is a panic.
#[derive(Debug)]
pub enum BlockError {
    /// The access reaches past the end of the device.
    OutOfRange { offset: u64, len: u64, size: u64 },
    /// A write to a device that only reads.
    ReadOnly,
    /// The host's storage failed (file system error, quota, ...).
    Io(std::io::Error),
    /// Fetching from the network failed.
    Network(String),
    /// Data arrived but is not what the manifest promised (hash mismatch,
    /// truncated chunk, malformed manifest).
    Corrupt(String),
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockError::OutOfRange { offset, len, size } => {
                write!(f, "access of {len} bytes at offset {offset} is past the end of the device ({size} bytes)")
            }
            BlockError::ReadOnly => write!(f, "the device is read-only"),
            BlockError::Io(e) => write!(f, "storage error: {e}"),
            BlockError::Network(e) => write!(f, "network error: {e}"),
            BlockError::Corrupt(e) => write!(f, "corrupt data: {e}"),
        }
    }
}

impl std::error::Error for BlockError {}

impl BlockError {
    /// A copy of this error, for reporting one failure to several waiters
    /// (`std::io::Error` is not `Clone`).
    pub fn duplicate(&self) -> BlockError {
        match self {
            BlockError::OutOfRange { offset, len, size } => BlockError::OutOfRange { offset: *offset, len: *len, size: *size },
            BlockError::ReadOnly => BlockError::ReadOnly,
            BlockError::Io(e) => BlockError::Io(std::io::Error::new(e.kind(), e.to_string())),
            BlockError::Network(m) => BlockError::Network(m.clone()),
            BlockError::Corrupt(m) => BlockError::Corrupt(m.clone()),
        }
    }
}

impl From<std::io::Error> for BlockError {
    fn from(e: std::io::Error) -> Self {
        BlockError::Io(e)
    }
}

pub type Result<T> = std::result::Result<T, BlockError>;

/// A byte-addressed storage device of fixed size.
///
/// Methods take `&mut self`: the kernel drives storage from one host thread,
/// and caching layers change state even when they only read.
pub trait BlockDevice {
    /// Size in bytes. Fixed for the device's lifetime.
    fn size(&self) -> u64;

    /// Fills `buf` with the bytes at `offset`. The whole range must lie inside
    /// the device.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()>;

    /// Writes `data` at `offset`. Not durable until [`flush`](Self::flush)
    /// returns.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()>;

    /// A durability barrier: when it returns, every write made before it
    /// survives a crash of the process (and, where the host allows, of the
    /// machine).
    fn flush(&mut self) -> Result<()>;

    /// Whether writes are refused.
    fn read_only(&self) -> bool {
        false
    }

    /// A hint that these byte ranges will be read soon. Network-backed layers
    /// start fetching them together; others ignore it.
    fn prefetch(&mut self, _ranges: &[Range<u64>]) {}

    /// Network and cache counters of the fetching layer under this device,
    /// if there is one (layers above it pass the question down).
    fn stats(&self) -> Option<FetchStats> {
        None
    }
}

/// What a network-backed layer counts: the figures that decide how long a
/// cold start takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Batches of requests issued one after another: each costs one network
    /// round trip, whatever the number of requests in it.
    pub round_trips: u64,
    /// HTTP requests (a batch issues several concurrently).
    pub requests: u64,
    /// Bytes received in response bodies (compressed, for chunk stores).
    pub bytes_fetched: u64,
    /// Chunks received from the network.
    pub chunks_fetched: u64,
    /// Chunk accesses served from memory or the persistent cache.
    pub hits: u64,
    /// Chunk accesses that had to wait for the network.
    pub misses: u64,
    /// Chunks loaded from the persistent cache.
    pub cache_loads: u64,
}

impl<D: BlockDevice + ?Sized> BlockDevice for Box<D> {
    fn size(&self) -> u64 {
        (**self).size()
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        (**self).read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        (**self).write_at(offset, data)
    }
    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }
    fn read_only(&self) -> bool {
        (**self).read_only()
    }
    fn prefetch(&mut self, ranges: &[Range<u64>]) {
        (**self).prefetch(ranges)
    }
    fn stats(&self) -> Option<FetchStats> {
        (**self).stats()
    }
}

/// Checks that `len` bytes at `offset` fit in a device of `size` bytes.
pub fn check_range(offset: u64, len: usize, size: u64) -> Result<()> {
    let len = len as u64;
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(BlockError::OutOfRange { offset, len, size }),
    }
}
