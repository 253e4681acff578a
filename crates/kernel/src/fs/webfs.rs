//! webfs: a read-only directory served over plain HTTP, mounted into the
//! guest (the browser VM's "web directory", `oxvm run --web-dir`). The
//! tree comes from the directory's `index.json` (see [`Index`]; written by
//! `oxvm image index`), read once at mount; file contents are fetched only
//! when read, in [`RANGE`]-byte HTTP range requests through the host's
//! [`Fetcher`], and kept in a bounded in-memory cache (least recently used
//! ranges go first).
//!
//! Consistency: a file's version (ETag, else Last-Modified) is pinned by
//! its first fetch; a later answer naming another version, a size other
//! than the index's, a missing file, a wrong range or a short body is an
//! EIO for that read (the cached ranges of the first version stay
//! usable), never a panic.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::rc::Rc;
use std::sync::Arc;

use oxvm_block::fetch::{fetch_exact, parse_content_range};
use oxvm_block::{FetchRequest, FetchResponse, Fetcher};
use serde::{Deserialize, Serialize};

use crate::errno::Errno;
use crate::host::Host;
use crate::vfs::file::{O_ACCMODE, O_PATH, O_TRUNC};
use crate::vfs::{DirEntry, FileOps, FileType, Inode, InodeRef, Io, PathOnly, Result, Stat, StatFs, Timespec, NAME_MAX, PATH_MAX};

/// The unit of fetching and caching.
pub const RANGE: u64 = 128 << 10;
/// Ranges fetched beyond the one a sequential reader needs, in the same
/// batch, at first: the window doubles at each further sequential miss, up
/// to a whole batch.
pub const READAHEAD: u64 = 4;
/// The most ranges one batch asks for (a large read or an mmap hint).
pub const MAX_BATCH: u64 = 32;
/// The default bound of the range cache.
pub const DEFAULT_CACHE_BYTES: u64 = 64 << 20;
/// The largest file size an index may claim (1 TiB).
pub const MAX_FILE_SIZE: u64 = 1 << 40;
/// The most entries an index may list.
pub const MAX_ENTRIES: usize = 1 << 20;
/// The only index format version.
pub const INDEX_VERSION: u32 = 1;
/// What statfs calls it: FUSE's magic, as a user-space HTTP file system
/// (httpdirfs and the like) shows on Linux.
pub const FUSE_SUPER_MAGIC: u64 = 0x6573_5546;

/// `index.json`: every file, directory and symlink of the tree by its
/// relative, '/'-separated path. Parent directories not listed are
/// implied (mode 0755).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Index {
    pub version: u32,
    pub entries: Vec<IndexEntry>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: EntryKind,
    /// A file's size in bytes (files only, required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Permission bits (default 0644 for files, 0755 for directories).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Modification time, seconds since the epoch (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<i64>,
    /// A symlink's target text (symlinks only, required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

impl Index {
    /// The index as `index.json` holds it: one entry per line.
    pub fn to_json(&self) -> String {
        let mut out = format!("{{\"version\":{},\"entries\":[\n", self.version);
        for (i, e) in self.entries.iter().enumerate() {
            out.push_str(&serde_json::to_string(e).unwrap_or_default());
            out.push_str(if i + 1 < self.entries.len() { ",\n" } else { "\n" });
        }
        out.push_str("]}\n");
        out
    }
}

/// Why an index was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexError(pub String);

impl std::fmt::Display for IndexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "index.json: {}", self.0)
    }
}

impl std::error::Error for IndexError {}

/// One node of the tree. Index 0 is the root.
struct Node {
    kind: FileType,
    mode: u32,
    size: u64,
    mtime: i64,
    target: Vec<u8>,
    children: BTreeMap<Vec<u8>, usize>,
    /// The node's path relative to the base URL, percent-encoded.
    url_path: String,
    /// Whether the index listed it (not only implied by a child).
    listed: bool,
}

impl Node {
    fn dir(url_path: String) -> Node {
        Node {
            kind: FileType::Directory,
            mode: 0o755,
            size: 0,
            mtime: 0,
            target: Vec::new(),
            children: BTreeMap::new(),
            url_path,
            listed: false,
        }
    }
}

/// A path's components, checked: relative, no empty, `.` or `..`
/// components, names of at most NAME_MAX bytes, no NUL.
fn components(path: &str) -> std::result::Result<Vec<&str>, String> {
    if path.is_empty() {
        return Err("an empty path".into());
    }
    if path.len() >= PATH_MAX {
        return Err(format!("{path:?}: the path is longer than {} bytes", PATH_MAX - 1));
    }
    if path.starts_with('/') {
        return Err(format!("{path:?}: paths are relative (no leading '/')"));
    }
    let parts: Vec<&str> = path.split('/').collect();
    for p in &parts {
        match *p {
            "" => return Err(format!("{path:?}: empty path component")),
            "." | ".." => return Err(format!("{path:?}: '.' and '..' are not allowed")),
            p if p.len() > NAME_MAX => return Err(format!("{path:?}: a name is longer than {NAME_MAX} bytes")),
            p if p.contains('\0') => return Err(format!("{path:?}: NUL in a name")),
            _ => {}
        }
    }
    Ok(parts)
}

/// Percent-encode one path component for a URL (all but RFC 3986's
/// unreserved characters).
fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parse and check an index, building the tree.
fn build_tree(json: &[u8]) -> std::result::Result<Vec<Node>, IndexError> {
    let err = |m: String| IndexError(m);
    let index: Index = serde_json::from_slice(json).map_err(|e| err(format!("not a valid index: {e}")))?;
    if index.version != INDEX_VERSION {
        return Err(err(format!("version {} is not supported (only {INDEX_VERSION})", index.version)));
    }
    if index.entries.len() > MAX_ENTRIES {
        return Err(err(format!("{} entries: at most {MAX_ENTRIES}", index.entries.len())));
    }
    let mut nodes = vec![Node::dir(String::new())];
    nodes[0].listed = true;
    for e in &index.entries {
        let parts = components(&e.path).map_err(err)?;
        let p = &e.path;
        if e.mode.is_some_and(|m| m > 0o7777) {
            return Err(err(format!("{p:?}: mode {:#o} has more than permission bits", e.mode.unwrap_or(0))));
        }
        if e.kind != EntryKind::File && e.size.is_some() {
            return Err(err(format!("{p:?}: only files have a size")));
        }
        if e.kind != EntryKind::Symlink && e.target.is_some() {
            return Err(err(format!("{p:?}: only symlinks have a target")));
        }
        // Walk to the parent, creating implied directories.
        let mut at = 0usize;
        let mut url = String::new();
        for name in &parts[..parts.len() - 1] {
            if !url.is_empty() {
                url.push('/');
            }
            url.push_str(&encode(name));
            at = match nodes[at].children.get(name.as_bytes()) {
                Some(&i) if nodes[i].kind == FileType::Directory => i,
                Some(_) => return Err(err(format!("{p:?}: {name:?} on its path is not a directory"))),
                None => {
                    nodes.push(Node::dir(url.clone()));
                    let i = nodes.len() - 1;
                    nodes[at].children.insert(name.as_bytes().to_vec(), i);
                    i
                }
            };
        }
        let name = parts[parts.len() - 1];
        if !url.is_empty() {
            url.push('/');
        }
        url.push_str(&encode(name));
        let existing = nodes[at].children.get(name.as_bytes()).copied();
        let (kind, mode, size, target) = match e.kind {
            EntryKind::File => {
                let size = e.size.ok_or_else(|| err(format!("{p:?}: a file needs its size")))?;
                if size > MAX_FILE_SIZE {
                    return Err(err(format!("{p:?}: size {size} is beyond the limit of {MAX_FILE_SIZE}")));
                }
                (FileType::Regular, e.mode.unwrap_or(0o644), size, Vec::new())
            }
            EntryKind::Dir => (FileType::Directory, e.mode.unwrap_or(0o755), 0, Vec::new()),
            EntryKind::Symlink => {
                let t = e.target.as_deref().ok_or_else(|| err(format!("{p:?}: a symlink needs its target")))?;
                if t.is_empty() || t.len() >= PATH_MAX || t.contains('\0') {
                    return Err(err(format!("{p:?}: the target must be 1 to {} bytes without NUL", PATH_MAX - 1)));
                }
                (FileType::Symlink, e.mode.unwrap_or(0o777), t.len() as u64, t.as_bytes().to_vec())
            }
        };
        let mtime = e.mtime.unwrap_or(0);
        match existing {
            Some(i) if nodes[i].listed => return Err(err(format!("{p:?} is listed twice"))),
            // Implied by an earlier entry under it: a directory.
            Some(i) if kind != FileType::Directory => {
                let _ = i;
                return Err(err(format!("{p:?} is listed as a {:?} but other entries lie under it", e.kind)));
            }
            Some(i) => {
                let n = &mut nodes[i];
                (n.mode, n.mtime, n.listed) = (mode, mtime, true);
            }
            None => {
                nodes.push(Node { kind, mode, size, mtime, target, children: BTreeMap::new(), url_path: url, listed: true });
                let i = nodes.len() - 1;
                nodes[at].children.insert(name.as_bytes().to_vec(), i);
            }
        }
    }
    Ok(nodes)
}

/// Fetch counters, for tests and `--stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebStats {
    /// `fetch_batch` calls.
    pub batches: u64,
    /// Requests in them.
    pub requests: u64,
    /// Body bytes accepted.
    pub bytes: u64,
    /// Reads answered from the cache alone.
    pub hits: u64,
}

/// A cached range: (node, range number).
type RangeKey = (usize, u64);

/// The cached ranges, least recently used first out.
struct RangeCache {
    cap: u64,
    used: u64,
    tick: u64,
    /// Each range's bytes and last use.
    map: HashMap<RangeKey, (Rc<[u8]>, u64)>,
    lru: BTreeMap<u64, RangeKey>,
}

impl RangeCache {
    fn get(&mut self, key: RangeKey) -> Option<Rc<[u8]>> {
        self.tick += 1;
        let tick = self.tick;
        let (data, t) = self.map.get_mut(&key)?;
        self.lru.remove(t);
        *t = tick;
        self.lru.insert(tick, key);
        Some(data.clone())
    }

    fn contains(&self, key: RangeKey) -> bool {
        self.map.contains_key(&key)
    }

    fn insert(&mut self, key: RangeKey, data: Rc<[u8]>) {
        if let Some((old, t)) = self.map.remove(&key) {
            self.used -= old.len() as u64;
            self.lru.remove(&t);
        }
        while self.used + data.len() as u64 > self.cap {
            let Some((_, victim)) = self.lru.pop_first() else { break };
            if let Some((old, _)) = self.map.remove(&victim) {
                self.used -= old.len() as u64;
            }
        }
        self.tick += 1;
        self.used += data.len() as u64;
        self.lru.insert(self.tick, key);
        self.map.insert(key, (data, self.tick));
    }
}

/// One mounted web directory.
pub struct WebMount {
    base: String,
    fetcher: Arc<dyn Fetcher>,
    dev: u64,
    nodes: Vec<Node>,
    cache: RefCell<RangeCache>,
    /// Each file's version, pinned by its first answer that named one.
    validators: RefCell<HashMap<usize, String>>,
    stats: Cell<WebStats>,
    /// The last fetch failure, for the host to show.
    last_error: RefCell<Option<String>>,
}

impl WebMount {
    /// Mount the tree `index` describes, served under `base_url`; ranges
    /// are cached up to `cache_bytes`.
    pub fn new(base_url: &str, index: &[u8], fetcher: Arc<dyn Fetcher>, cache_bytes: u64) -> std::result::Result<Rc<WebMount>, IndexError> {
        let nodes = build_tree(index)?;
        let cap = cache_bytes.max(2 * RANGE);
        Ok(Rc::new(WebMount {
            base: base_url.trim_end_matches('/').to_string(),
            fetcher,
            dev: super::tmpfs::new_dev(),
            nodes,
            cache: RefCell::new(RangeCache { cap, used: 0, tick: 0, map: HashMap::new(), lru: BTreeMap::new() }),
            validators: RefCell::default(),
            stats: Cell::default(),
            last_error: RefCell::default(),
        }))
    }

    pub fn root(self: &Rc<Self>) -> InodeRef {
        Rc::new(WebInode { m: self.clone(), idx: 0 })
    }

    pub fn dev(&self) -> u64 {
        self.dev
    }

    pub fn stats(&self) -> WebStats {
        self.stats.get()
    }

    /// The last fetch failure (an EIO's reason).
    pub fn last_error(&self) -> Option<String> {
        self.last_error.borrow().clone()
    }

    /// The most ranges one batch may hold: also no more than half the
    /// cache, so a batch's ranges are all still there to be copied out.
    fn batch_limit(&self) -> u64 {
        (self.cache.borrow().cap / RANGE / 2).clamp(1, MAX_BATCH)
    }

    fn range_of(&self, idx: usize, k: u64) -> Range<u64> {
        let size = self.nodes[idx].size;
        k * RANGE..((k + 1) * RANGE).min(size)
    }

    /// Check an answer to the request for `range` of file `idx`; its body.
    /// None: the whole file was asked for.
    fn accept(&self, idx: usize, range: Option<&Range<u64>>, resp: FetchResponse) -> std::result::Result<Vec<u8>, String> {
        let node = &self.nodes[idx];
        let size = node.size;
        let whole = 0..size;
        let range = range.unwrap_or(&whole);
        match resp.status {
            206 => match resp.content_range.as_deref().and_then(parse_content_range) {
                Some((_, Some(total))) if total != size => {
                    return Err(format!("the file has {total} bytes on the server, the index says {size}"))
                }
                Some((r, _)) if r == *range && resp.body.len() as u64 == range.end - range.start => {}
                _ => {
                    return Err(format!(
                        "asked for bytes {}-{}, got Content-Range {:?} with {} bytes",
                        range.start,
                        range.end - 1,
                        resp.content_range,
                        resp.body.len()
                    ))
                }
            },
            // A server ignoring ranges: fine when the whole file is what
            // was asked for.
            200 if *range == whole && resp.body.len() as u64 == size => {}
            200 if *range == whole => return Err(format!("the file has {} bytes on the server, the index says {size}", resp.body.len())),
            200 => {
                return Err(format!(
                    "the server sent the whole file ({} bytes) for a range request: it does not support ranges",
                    resp.body.len()
                ))
            }
            s => return Err(format!("HTTP status {s}")),
        }
        if let Some(v) = resp.validator {
            let mut pins = self.validators.borrow_mut();
            match pins.get(&idx) {
                Some(pinned) if *pinned != v => return Err(format!("the file changed on the server (version {v:?}, was {pinned:?})")),
                Some(_) => {}
                None => {
                    pins.insert(idx, v);
                }
            }
        }
        Ok(resp.body)
    }

    /// Make ranges `need` of file `idx` cached, fetching those missing
    /// plus `ahead` more ranges after them in one batch. An error when the
    /// first one could not be had (a later one failing shows when the
    /// reader gets to it).
    fn ensure(&self, idx: usize, need: Range<u64>, ahead: u64) -> Result<()> {
        let size = self.nodes[idx].size;
        let ranges = size.div_ceil(RANGE);
        let limit = self.batch_limit();
        let want_end = need.end.saturating_add(ahead).min(ranges);
        let missing: Vec<u64> = {
            let cache = self.cache.borrow();
            (need.start..want_end).filter(|&k| !cache.contains((idx, k))).take(limit as usize).collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        let url = format!("{}/{}", self.base, self.nodes[idx].url_path);
        let requests: Vec<FetchRequest> = missing
            .iter()
            .map(|&k| {
                let r = self.range_of(idx, k);
                // A file of one range is fetched whole, with a plain GET:
                // any server answers that, ranges or not.
                let range = (r != (0..size)).then_some(r.clone());
                FetchRequest { url: url.clone(), max_len: r.end - r.start, range }
            })
            .collect();
        let results = fetch_exact(&*self.fetcher, &requests);
        let mut st = self.stats.get();
        st.batches += 1;
        st.requests += requests.len() as u64;
        let mut failed = None;
        for ((k, req), result) in missing.iter().zip(&requests).zip(results) {
            let body = match result {
                Ok(resp) => self.accept(idx, req.range.as_ref(), resp),
                Err(e) => Err(e.to_string()),
            };
            match body {
                Ok(body) => {
                    st.bytes += body.len() as u64;
                    self.cache.borrow_mut().insert((idx, *k), body.into());
                }
                Err(e) => {
                    if *k == need.start {
                        failed = Some(format!("{url}: {e}"));
                    }
                }
            }
        }
        self.stats.set(st);
        if let Some(e) = failed {
            *self.last_error.borrow_mut() = Some(e);
            return Err(Errno::EIO);
        }
        Ok(())
    }

    /// Read file `idx` at `off` into `buf`; `seq` is where this reader
    /// was (for readahead). A failure after some bytes is a short
    /// read, as on Linux.
    fn read(&self, idx: usize, off: u64, buf: &mut [u8], seq: &Reader) -> Result<usize> {
        let size = self.nodes[idx].size;
        if off >= size || buf.is_empty() {
            return Ok(0);
        }
        let end = off.saturating_add(buf.len() as u64).min(size);
        let limit = self.batch_limit();
        let mut pos = off;
        let short = |pos: u64, e: Errno| if pos > off { Ok((pos - off) as usize) } else { Err(e) };
        while pos < end {
            let k = pos / RANGE;
            let cached = self.cache.borrow_mut().get((idx, k));
            let data = match cached {
                Some(d) => {
                    let mut st = self.stats.get();
                    st.hits += 1;
                    self.stats.set(st);
                    d
                }
                None => {
                    // The ranges this read still needs go in one batch,
                    // with readahead for a sequential reader.
                    let last = ((end - 1) / RANGE).min(k + limit - 1);
                    let sequential = k == 0 || seq.last.get().is_some_and(|s| s + 1 == k || s == k);
                    let ahead = match (sequential, seq.window.get()) {
                        (false, _) => 0,
                        (true, 0) => READAHEAD,
                        (true, w) => (w * 2).min(limit),
                    };
                    seq.window.set(ahead);
                    if let Err(e) = self.ensure(idx, k..last + 1, ahead) {
                        return short(pos, e);
                    }
                    match self.cache.borrow_mut().get((idx, k)) {
                        Some(d) => d,
                        None => return short(pos, Errno::EIO),
                    }
                }
            };
            let r = self.range_of(idx, k);
            let from = (pos - r.start) as usize;
            let n = ((end.min(r.end) - pos) as usize).min(data.len().saturating_sub(from));
            if n == 0 {
                return short(pos, Errno::EIO);
            }
            let at = (pos - off) as usize;
            buf[at..at + n].copy_from_slice(&data[from..from + n]);
            pos += n as u64;
            seq.last.set(Some(k));
        }
        Ok((pos - off) as usize)
    }

    fn stat_of(&self, idx: usize) -> Stat {
        let n = &self.nodes[idx];
        let t = Timespec { sec: n.mtime, nsec: 0 };
        let nlink = match n.kind {
            FileType::Directory => 2 + n.children.values().filter(|&&c| self.nodes[c].kind == FileType::Directory).count() as u64,
            _ => 1,
        };
        let size = match n.kind {
            FileType::Directory => 4096,
            _ => n.size,
        };
        Stat {
            dev: self.dev,
            ino: idx as u64 + 1,
            mode: n.kind.mode_bits() | n.mode,
            nlink,
            uid: 0,
            gid: 0,
            rdev: 0,
            size,
            blksize: 4096,
            blocks: size.div_ceil(512),
            atime: t,
            mtime: t,
            ctime: t,
            btime: None,
        }
    }

    fn statfs(&self) -> StatFs {
        let bytes: u64 = self.nodes.iter().map(|n| n.size.div_ceil(4096)).sum();
        StatFs {
            fs_type: FUSE_SUPER_MAGIC,
            bsize: 4096,
            blocks: bytes,
            bfree: 0,
            bavail: 0,
            files: self.nodes.len() as u64,
            ffree: 0,
            fsid: self.dev,
            namelen: NAME_MAX as u64,
            // ST_RDONLY | ST_NOSUID | ST_NODEV | ST_RELATIME.
            flags: 0x1 | 0x2 | 0x4 | 0x400,
        }
    }
}

/// A node of a mounted web directory.
pub struct WebInode {
    m: Rc<WebMount>,
    idx: usize,
}

impl WebInode {
    fn node(&self) -> &Node {
        &self.m.nodes[self.idx]
    }

    fn child(&self, name: &[u8]) -> Option<usize> {
        self.node().children.get(name).copied()
    }

    /// What Linux answers a change on a read-only mount that names an
    /// entry: the lookup's verdict first (EEXIST for a name to create,
    /// ENOENT for one to remove), then EROFS.
    fn create_like(&self, name: &[u8]) -> Result<()> {
        if self.node().kind != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        if self.child(name).is_some() {
            return Err(Errno::EEXIST);
        }
        Err(Errno::EROFS)
    }

    fn remove_like(&self, name: &[u8]) -> Result<()> {
        if self.node().kind != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        self.child(name).ok_or(Errno::ENOENT)?;
        Err(Errno::EROFS)
    }
}

impl Inode for WebInode {
    fn id(&self) -> (u64, u64) {
        (self.m.dev, self.idx as u64 + 1)
    }
    fn kind(&self) -> FileType {
        self.node().kind
    }
    fn stat(&self) -> Result<Stat> {
        Ok(self.m.stat_of(self.idx))
    }
    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        if self.node().kind != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        let idx = self.child(name).ok_or(Errno::ENOENT)?;
        Ok(Rc::new(WebInode { m: self.m.clone(), idx }))
    }
    fn readlink(&self) -> Result<Vec<u8>> {
        match self.node().kind {
            FileType::Symlink => Ok(self.node().target.clone()),
            _ => Err(Errno::EINVAL),
        }
    }
    fn open(&self, flags: u32) -> Result<Rc<dyn FileOps>> {
        if flags & O_PATH != 0 {
            return Ok(Rc::new(PathOnly));
        }
        let writes = flags & O_ACCMODE != 0 || flags & O_TRUNC != 0;
        match self.node().kind {
            FileType::Directory if flags & O_ACCMODE != 0 => Err(Errno::EISDIR),
            FileType::Directory => {
                let entries = self
                    .node()
                    .children
                    .iter()
                    .map(|(name, &i)| DirEntry { ino: i as u64 + 1, kind: Some(self.m.nodes[i].kind), name: name.clone() })
                    .collect();
                Ok(Rc::new(WebDir { m: self.m.clone(), entries }))
            }
            FileType::Regular if writes => Err(Errno::EROFS),
            FileType::Regular => {
                Ok(Rc::new(WebFile { m: self.m.clone(), idx: self.idx, seq: Reader::default(), page_seq: Reader::default() }))
            }
            _ => Err(Errno::ELOOP),
        }
    }
    fn create(&self, name: &[u8], _mode: u32) -> Result<InodeRef> {
        self.create_like(name)?;
        Err(Errno::EROFS)
    }
    fn mkdir(&self, name: &[u8], _mode: u32) -> Result<()> {
        self.create_like(name)
    }
    fn tmpfile(&self, _mode: u32, _linkable: bool) -> Result<InodeRef> {
        Err(Errno::EROFS)
    }
    fn mknod(&self, name: &[u8], _kind: FileType, _perm: u32, _rdev: u64) -> Result<()> {
        self.create_like(name)
    }
    fn unlink(&self, name: &[u8]) -> Result<()> {
        self.remove_like(name)
    }
    fn rmdir(&self, name: &[u8]) -> Result<()> {
        self.remove_like(name)
    }
    fn symlink(&self, name: &[u8], _target: &[u8]) -> Result<()> {
        self.create_like(name)
    }
    fn link(&self, name: &[u8], _target: &InodeRef) -> Result<()> {
        self.create_like(name)
    }
    fn rename(&self, old: &[u8], _new_dir: &InodeRef, _new: &[u8], _flags: u32) -> Result<()> {
        self.remove_like(old)
    }
    fn chmod(&self, _mode: u32) -> Result<()> {
        Err(Errno::EROFS)
    }
    fn truncate(&self, _len: u64) -> Result<()> {
        Err(Errno::EROFS)
    }
    fn statfs(&self) -> Result<StatFs> {
        Ok(self.m.statfs())
    }
    fn chown(&self, _uid: Option<u32>, _gid: Option<u32>) -> Result<()> {
        Err(Errno::EROFS)
    }
    fn set_times(&self, _atime: Option<Timespec>, _mtime: Option<Timespec>) -> Result<()> {
        Err(Errno::EROFS)
    }
    fn setxattr(&self, _name: &[u8], _value: &[u8], _flags: u32) -> Result<()> {
        Err(Errno::EROFS)
    }
    fn removexattr(&self, _name: &[u8]) -> Result<()> {
        Err(Errno::EROFS)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct WebDir {
    m: Rc<WebMount>,
    entries: Vec<DirEntry>,
}

impl FileOps for WebDir {
    fn readdir(&self) -> Result<Vec<DirEntry>> {
        Ok(self.entries.clone())
    }
    fn statfs(&self) -> StatFs {
        self.m.statfs()
    }
}

/// Where a reader was: the last range it read and its readahead window
/// (0: none yet).
#[derive(Default)]
struct Reader {
    last: Cell<Option<u64>>,
    window: Cell<u64>,
}

/// An open file: the mount, the node, and where this reader (and its
/// mappings) last read, for readahead.
struct WebFile {
    m: Rc<WebMount>,
    idx: usize,
    seq: Reader,
    page_seq: Reader,
}

impl FileOps for WebFile {
    fn read(&self, _host: &mut dyn Host, off: u64, buf: &mut [u8]) -> Result<Io> {
        self.m.read(self.idx, off, buf, &self.seq).map(Io::Done)
    }
    fn write(&self, _host: &mut dyn Host, _off: u64, _data: &[u8]) -> Result<Io> {
        Err(Errno::EBADF)
    }
    fn seekable(&self) -> bool {
        true
    }
    fn prefetch(&self, off: u64, len: u64) {
        let size = self.m.nodes[self.idx].size;
        if len == 0 || off >= size {
            return;
        }
        let end = off.saturating_add(len).min(size);
        // Only a hint: a failure shows when the pages are read.
        let _ = self.m.ensure(self.idx, off / RANGE..end.div_ceil(RANGE), 0);
    }
    fn read_page(&self, off: u64, buf: &mut [u8]) -> Result<usize> {
        self.m.read(self.idx, off, buf, &self.page_seq)
    }
    fn stat(&self) -> Option<Result<Stat>> {
        Some(Ok(self.m.stat_of(self.idx)))
    }
    fn truncate(&self, _len: u64) -> Option<Result<()>> {
        Some(Err(Errno::EROFS))
    }
    fn chmod(&self, _mode: u32) -> Option<Result<()>> {
        Some(Err(Errno::EROFS))
    }
    fn statfs(&self) -> StatFs {
        self.m.statfs()
    }
}

#[cfg(test)]
mod tests;
