//! Composing the stack from one image source string (native).
//!
//! `SOURCE` is a local image file, an `http(s)://` URL of an image file
//! (read with range requests), or a chunk store given by its manifest: a
//! path or URL ending in `.json`, a local directory holding
//! `manifest.json`, or a local file whose content is a JSON object.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::chunk::sha256_hex;
use crate::chunk::store::open_chunk_store;
use crate::fetch::{Fetcher, HttpFetcher, LocalFetcher};
use crate::http::open_http;
use crate::{BlockDevice, ChunkCache, ChunkedOptions, EphemeralOverlay, FileDevice, FsStore, Overlay, OverlayOptions, Result};

/// What takes the writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OverlayMode {
    /// No overlay: the device refuses writes.
    ReadOnly,
    /// Writes live in memory and vanish at exit (`--ephemeral`).
    Ephemeral,
    /// A persistent overlay in this directory (`--overlay DIR`).
    Dir(PathBuf),
    /// A persistent overlay in the image's state directory
    /// ([`default_state_dir`]).
    Default,
}

/// How the source was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    LocalImage,
    HttpImage,
    ChunkStore,
}

#[derive(Clone)]
pub struct ImageOptions {
    pub overlay: OverlayMode,
    /// Where fetched chunks are cached; `None`: `<state dir>/cache`.
    pub cache_dir: Option<PathBuf>,
    /// Keep fetched chunks in memory only.
    pub no_cache: bool,
    /// Chunk size for HTTP range images (chunk stores say their own).
    pub http_chunk_size: u64,
    pub chunked: ChunkedOptions,
    pub overlay_options: OverlayOptions,
    /// The network client; `None`: [`HttpFetcher`] with 8 parallel requests.
    pub fetcher: Option<Arc<dyn Fetcher>>,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            overlay: OverlayMode::Default,
            cache_dir: None,
            no_cache: false,
            http_chunk_size: 128 * 1024,
            chunked: ChunkedOptions::default(),
            overlay_options: OverlayOptions::default(),
            fetcher: None,
        }
    }
}

pub struct OpenedImage {
    pub device: Box<dyn BlockDevice + Send>,
    pub kind: SourceKind,
    /// Identifies the image (and its version): names its state directory.
    pub id: String,
}

/// `$XDG_CACHE_HOME/oxvm/<id>`, or `~/.cache/oxvm/<id>`: where an image's
/// chunk cache (`cache/`) and default overlay (`overlay/`) live.
pub fn default_state_dir(image_id: &str) -> Option<PathBuf> {
    let root = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))?;
    Some(root.join("oxvm").join(image_id))
}

fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

/// Decides whether a local path names a chunk store; returns its manifest.
fn local_manifest(path: &Path) -> Option<PathBuf> {
    if path.is_dir() {
        return Some(path.join("manifest.json"));
    }
    if path.extension().is_some_and(|e| e == "json") {
        return Some(path.to_path_buf());
    }
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path).and_then(|mut f| std::io::Read::read(&mut f, &mut head)).ok()?;
    head[..n].iter().find(|b| !b.is_ascii_whitespace()).filter(|&&b| b == b'{').map(|_| path.to_path_buf())
}

fn short_id(prefix: &str, material: &[u8]) -> String {
    format!("{prefix}-{}", &sha256_hex(material)[..16])
}

/// Opens `source` with its cache and overlay as `opts` says.
pub fn open_image(source: &str, opts: &ImageOptions) -> Result<OpenedImage> {
    let net: Arc<dyn Fetcher> = opts.fetcher.clone().unwrap_or_else(|| Arc::new(HttpFetcher::default()));
    let manifest = if is_url(source) {
        Path::new(source.split(['?', '#']).next().unwrap_or(source)).extension().is_some_and(|e| e == "json").then(|| source.to_string())
    } else {
        local_manifest(Path::new(source)).map(|p| p.to_string_lossy().into_owned())
    };
    let (base, kind, id): (Box<dyn BlockDevice + Send>, SourceKind, String) = match manifest {
        Some(manifest_url) => {
            let fetcher: Arc<dyn Fetcher> = if is_url(&manifest_url) { net } else { Arc::new(LocalFetcher) };
            // Open without a cache first to learn the image id from the
            // manifest, then attach the cache of that id.
            let mut dev = open_chunk_store(&manifest_url, fetcher.clone(), None, opts.chunked.clone())?;
            let id = short_id("m", dev.source().manifest_hash().as_bytes());
            if let Some(cache) = cache_for(&id, opts)? {
                let stats = dev.fetch_stats();
                dev = crate::ChunkedDevice::new(take_source(dev), Some(cache), opts.chunked.clone());
                dev.add_stats(stats);
            }
            // What a start of the image's default command reads (recorded
            // by `oxvm image publish --prefetch-from`): one batch now
            // instead of a round trip per miss later.
            dev.prefetch_listed();
            (Box::new(dev), SourceKind::ChunkStore, id)
        }
        None if is_url(source) => {
            let probe = open_http(source, net.clone(), opts.http_chunk_size, None, opts.chunked.clone())?;
            // The server's version of the file (if it names one) is part of the
            // id, so a changed image gets a fresh cache and overlay.
            let version = probe.source().validator().unwrap_or("").to_string();
            let id = short_id("h", format!("{source} {} {} {version}", probe.size(), opts.http_chunk_size).as_bytes());
            let stats = probe.fetch_stats();
            let mut dev = crate::ChunkedDevice::new(take_source(probe), cache_for(&id, opts)?, opts.chunked.clone());
            dev.add_stats(stats);
            (Box::new(dev), SourceKind::HttpImage, id)
        }
        None => {
            let path = Path::new(source);
            let dev = FileDevice::open_read_only(path)?;
            let canonical = std::fs::canonicalize(path)?;
            let mtime = std::fs::metadata(path)?.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            let id = short_id("f", format!("{} {} {mtime:?}", canonical.display(), dev.size()).as_bytes());
            (Box::new(dev), SourceKind::LocalImage, id)
        }
    };
    let device: Box<dyn BlockDevice + Send> = match &opts.overlay {
        OverlayMode::ReadOnly => base,
        OverlayMode::Ephemeral => Box::new(EphemeralOverlay::new(base)),
        OverlayMode::Dir(dir) => Box::new(Overlay::open(base, Box::new(FsStore::new(dir)?), opts.overlay_options.clone())?),
        OverlayMode::Default => {
            let dir = default_state_dir(&id).ok_or_else(no_home)?.join("overlay");
            Box::new(Overlay::open(base, Box::new(FsStore::new(&dir)?), opts.overlay_options.clone())?)
        }
    };
    Ok(OpenedImage { device, kind, id })
}

fn no_home() -> crate::BlockError {
    crate::BlockError::Io(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "neither XDG_CACHE_HOME nor HOME is set: give the overlay and cache directories explicitly",
    ))
}

fn cache_for(id: &str, opts: &ImageOptions) -> Result<Option<ChunkCache>> {
    if opts.no_cache {
        return Ok(None);
    }
    let dir = match &opts.cache_dir {
        Some(d) => d.clone(),
        None => default_state_dir(id).ok_or_else(no_home)?.join("cache"),
    };
    Ok(Some(ChunkCache::new(Box::new(FsStore::new(&dir)?))))
}

fn take_source<S: crate::ChunkSource>(dev: crate::ChunkedDevice<S>) -> S {
    dev.into_source()
}
