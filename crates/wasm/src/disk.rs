//! The disk in the browser: the same block stack as natively (a chunk store
//! or HTTP ranges, a chunk cache, a copy-on-write overlay), with the network
//! and the persistent stores supplied by the JavaScript host through
//! `host_io` (`fetch()` on another thread; OPFS, IndexedDB, or files under
//! Node).

use std::sync::Arc;

use oxvm_block::chunk::sha256_hex;
use oxvm_block::store::{Store, StoreFile};
use oxvm_block::{
    open_chunk_store, open_http, BlockDevice, BlockError, ChunkCache, ChunkedDevice, ChunkedOptions, EphemeralOverlay, FetchRequest,
    FetchResponse, Fetcher, Overlay, OverlayOptions, Result,
};
use serde::Deserialize;
use serde_json::json;

use crate::abi;

/// Which image and where its writes go (the boot config's `disk`).
#[derive(Deserialize, Debug, Clone)]
pub struct DiskConfig {
    /// "chunks": a chunk store's manifest; "http": one image file read with
    /// range requests.
    pub kind: String,
    pub url: String,
    /// The persistent overlay's name; None: writes live in memory only.
    #[serde(default)]
    pub overlay: Option<String>,
    /// Keep fetched chunks in a persistent store too.
    #[serde(default)]
    pub cache: bool,
}

/// What [`open_disk`] built.
pub struct OpenedDisk {
    pub device: Box<dyn BlockDevice>,
    /// Identifies the image and its version (as natively: `m-…` for a
    /// chunk store, `h-…` for an HTTP image).
    pub id: String,
    /// The store holding the overlay, if persistent (for "reset disk").
    pub overlay_store: Option<String>,
}

fn host_err(e: String) -> BlockError {
    BlockError::Io(std::io::Error::other(e))
}

/// Chunk size of HTTP range images, as natively.
const HTTP_CHUNK: u64 = 128 * 1024;

pub fn open_disk(cfg: &DiskConfig) -> std::result::Result<OpenedDisk, String> {
    let fetcher: Arc<dyn Fetcher> = Arc::new(HostFetcher);
    let opts = ChunkedOptions::default();
    let cache_for = |id: &str| cfg.cache.then(|| ChunkCache::new(Box::new(HostStore::new(&format!("{id}.cache")))));
    let (base, id): (Box<dyn BlockDevice + Send>, String) = match cfg.kind.as_str() {
        "chunks" => {
            let mut dev = open_chunk_store(&cfg.url, fetcher, None, opts.clone()).map_err(|e| format!("{}: {e}", cfg.url))?;
            let id = format!("m-{}", &sha256_hex(dev.source().manifest_hash().as_bytes())[..16]);
            if let Some(cache) = cache_for(&id) {
                let stats = dev.fetch_stats();
                dev = ChunkedDevice::new(dev.into_source(), Some(cache), opts);
                dev.add_stats(stats);
            }
            // The chunks the manifest says a start reads: one batch now.
            dev.prefetch_listed();
            (Box::new(dev), id)
        }
        "http" => {
            let probe = open_http(&cfg.url, fetcher, HTTP_CHUNK, None, opts.clone()).map_err(|e| format!("{}: {e}", cfg.url))?;
            let version = probe.source().validator().unwrap_or("").to_string();
            let id = format!("h-{}", &sha256_hex(format!("{} {} {HTTP_CHUNK} {version}", cfg.url, probe.size()).as_bytes())[..16]);
            let stats = probe.fetch_stats();
            let mut dev = ChunkedDevice::new(probe.into_source(), cache_for(&id), opts);
            dev.add_stats(stats);
            (Box::new(dev), id)
        }
        other => return Err(format!("disk kind {other:?}: expected \"chunks\" or \"http\"")),
    };
    // The overlay belongs to one version of the image: a new version of
    // the image starts a new overlay rather than corrupting itself.
    let overlay_store = cfg.overlay.as_ref().map(|name| format!("{name}.{id}"));
    let device: Box<dyn BlockDevice> = match &overlay_store {
        Some(store) => Box::new(
            Overlay::open(base, Box::new(HostStore::new(store)), OverlayOptions::default())
                .map_err(|e| format!("the disk's overlay: {e}"))?,
        ),
        None => Box::new(EphemeralOverlay::new(base)),
    };
    Ok(OpenedDisk { device, id, overlay_store })
}

/// The largest `index.json` a web directory may have.
const MAX_INDEX_BYTES: u64 = 256 << 20;

/// Mount the read-only web directory at `url` (its `index.json`, see
/// `oxvm image index`) on `path`; files are fetched when read.
pub fn mount_web(kernel: &mut oxvm_kernel::Kernel, path: &str, url: &str) -> std::result::Result<(), String> {
    let base = url.trim_end_matches('/');
    let index_url = format!("{base}/index.json");
    let req = FetchRequest { url: index_url.clone(), range: None, max_len: MAX_INDEX_BYTES };
    let res = oxvm_block::fetch::fetch_one(&HostFetcher, &req).map_err(|e| e.to_string())?;
    if res.status != 200 {
        return Err(format!("{index_url}: HTTP {}", res.status));
    }
    kernel.mount_web_checked(path.as_bytes(), base, &res.body, Arc::new(HostFetcher)).map_err(|e| format!("{index_url}: {e}"))
}

/// Fetches through the host: `fetch()` calls in flight together.
pub struct HostFetcher;

#[derive(Deserialize)]
struct ResponseMeta {
    #[serde(default)]
    status: u16,
    #[serde(default, rename = "contentRange")]
    content_range: Option<String>,
    #[serde(default)]
    validator: Option<String>,
    #[serde(default)]
    len: u64,
    #[serde(default)]
    error: Option<String>,
}

impl Fetcher for HostFetcher {
    fn fetch_batch(&self, requests: &[FetchRequest]) -> Vec<Result<FetchResponse>> {
        let reqs: Vec<_> = requests
            .iter()
            .map(|r| match &r.range {
                Some(range) => json!({"url": r.url, "start": range.start, "end": range.end, "max": r.max_len}),
                None => json!({"url": r.url, "max": r.max_len}),
            })
            .collect();
        let fail = |msg: &str| requests.iter().map(|r| Err(BlockError::Network(format!("{}: {msg}", r.url)))).collect();
        let out = match abi::io(&json!({"op": "fetch", "reqs": reqs}), &[]) {
            Ok(o) => o,
            Err(e) => return fail(&e),
        };
        // [u32 LE: length of the JSON array of metas][metas][bodies, in order]
        let Some(meta_len) = out.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize) else {
            return fail("the host's fetch result is truncated");
        };
        let Some(metas) = out.get(4..4 + meta_len).and_then(|m| serde_json::from_slice::<Vec<ResponseMeta>>(m).ok()) else {
            return fail("the host's fetch result is malformed");
        };
        let mut at = 4 + meta_len;
        let mut results = Vec::with_capacity(requests.len());
        for (r, m) in requests.iter().zip(metas) {
            if let Some(e) = m.error {
                results.push(Err(BlockError::Network(format!("{}: {e}", r.url))));
                continue;
            }
            let Some(body) = usize::try_from(m.len).ok().and_then(|n| out.get(at..at.checked_add(n)?)) else {
                results.push(Err(BlockError::Network(format!("{}: the host's fetch result is truncated", r.url))));
                break;
            };
            at += body.len();
            results.push(Ok(FetchResponse {
                status: m.status,
                content_range: m.content_range,
                body: body.to_vec(),
                validator: m.validator,
            }));
        }
        results
    }
}

/// A named store of the host's: an OPFS directory, an IndexedDB database,
/// or a directory under Node.
pub struct HostStore {
    name: String,
}

impl HostStore {
    pub fn new(name: &str) -> HostStore {
        HostStore { name: name.to_string() }
    }
}

impl Store for HostStore {
    fn open(&self, name: &str, create: bool) -> Result<Option<Box<dyn StoreFile>>> {
        oxvm_block::store::check_name(name)?;
        let v = abi::io_json(&json!({"op": "store.open", "store": self.name, "name": name, "create": create}), &[]).map_err(host_err)?;
        match v["handle"].as_u64() {
            Some(h) => Ok(Some(Box::new(HostFile { handle: h }))),
            None if v["handle"].is_null() && !create => Ok(None),
            None => Err(host_err(format!("store {}: opening {name} gave no handle", self.name))),
        }
    }

    fn list(&self) -> Result<Vec<String>> {
        let v = abi::io_json(&json!({"op": "store.list", "store": self.name}), &[]).map_err(host_err)?;
        serde_json::from_value(v).map_err(|e| host_err(format!("store {}: bad listing: {e}", self.name)))
    }

    fn remove(&self, name: &str) -> Result<()> {
        abi::io(&json!({"op": "store.remove", "store": self.name, "name": name}), &[]).map(drop).map_err(host_err)
    }
}

/// One open file of a [`HostStore`], by the host's handle number.
pub struct HostFile {
    handle: u64,
}

impl StoreFile for HostFile {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let out = abi::io(&json!({"op": "store.read", "h": self.handle, "off": offset, "len": buf.len()}), &[]).map_err(host_err)?;
        let n = out.len().min(buf.len());
        buf[..n].copy_from_slice(&out[..n]);
        Ok(n)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        abi::io(&json!({"op": "store.write", "h": self.handle, "off": offset}), data).map(drop).map_err(host_err)
    }

    fn len(&self) -> Result<u64> {
        let v = abi::io_json(&json!({"op": "store.len", "h": self.handle}), &[]).map_err(host_err)?;
        v.as_u64().ok_or_else(|| host_err("store.len gave no number".into()))
    }

    fn set_len(&mut self, len: u64) -> Result<()> {
        abi::io(&json!({"op": "store.setLen", "h": self.handle, "len": len}), &[]).map(drop).map_err(host_err)
    }

    fn sync(&mut self) -> Result<()> {
        abi::io(&json!({"op": "store.sync", "h": self.handle}), &[]).map(drop).map_err(host_err)
    }
}

impl Drop for HostFile {
    fn drop(&mut self) {
        let _ = abi::io(&json!({"op": "store.close", "h": self.handle}), &[]);
    }
}
