//! Web directories: `oxvm image index DIR` writes the `index.json` that
//! describes a directory tree for webfs, and `oxvm run --web-dir
//! GUEST_PATH=URL` fetches one and mounts the tree it describes.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use oxvm_kernel::fs::webfs::{EntryKind, Index, IndexEntry, INDEX_VERSION, MAX_ENTRIES};
use oxvm_kernel::Kernel;

/// The index's name in the directory.
pub const INDEX_NAME: &str = "index.json";
/// The largest index.json `--web-dir` accepts.
const MAX_INDEX_BYTES: u64 = 256 << 20;

/// What `oxvm image index` counted.
#[derive(Default)]
pub struct IndexStats {
    pub files: u64,
    pub bytes: u64,
    pub dirs: u64,
    pub symlinks: u64,
    /// FIFOs, sockets and device nodes: not servable, left out.
    pub skipped: u64,
}

/// Describe the tree under `root` (without the top-level index.json).
pub fn build_index(root: &Path) -> Result<(Index, IndexStats), String> {
    let meta = std::fs::metadata(root).map_err(|e| format!("{}: {e}", root.display()))?;
    if !meta.is_dir() {
        return Err(format!("{}: not a directory", root.display()));
    }
    let mut entries = Vec::new();
    let mut stats = IndexStats::default();
    walk(root, "", &mut entries, &mut stats)?;
    Ok((Index { version: INDEX_VERSION, entries }, stats))
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<IndexEntry>, stats: &mut IndexStats) -> Result<(), String> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    names.sort();
    for path in names {
        let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| format!("{}: the name is not UTF-8", path.display()))?;
        if prefix.is_empty() && name == INDEX_NAME {
            continue;
        }
        let rel = if prefix.is_empty() { name.to_string() } else { format!("{prefix}/{name}") };
        let m = std::fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mode = Some(m.permissions().mode() & 0o7777);
        let mtime = Some(m.mtime());
        let ft = m.file_type();
        let entry = if ft.is_dir() {
            stats.dirs += 1;
            IndexEntry { path: rel.clone(), kind: EntryKind::Dir, size: None, mode, mtime, target: None }
        } else if ft.is_file() {
            stats.files += 1;
            stats.bytes += m.len();
            IndexEntry { path: rel.clone(), kind: EntryKind::File, size: Some(m.len()), mode, mtime, target: None }
        } else if ft.is_symlink() {
            stats.symlinks += 1;
            let t = std::fs::read_link(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let t = t.to_str().ok_or_else(|| format!("{}: the symlink's target is not UTF-8", path.display()))?;
            IndexEntry { path: rel.clone(), kind: EntryKind::Symlink, size: None, mode: None, mtime, target: Some(t.to_string()) }
        } else {
            stats.skipped += 1;
            continue;
        };
        out.push(entry);
        if out.len() > MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} entries"));
        }
        if ft.is_dir() {
            walk(&path, &rel, out, stats)?;
        }
    }
    Ok(())
}

/// `oxvm image index DIR`: write DIR/index.json; the exit code.
pub fn index_cmd(dir: &Path) -> i32 {
    let (index, s) = match build_index(dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("oxvm image index: {e}");
            return 2;
        }
    };
    let out = dir.join(INDEX_NAME);
    let tmp = dir.join(format!(".{INDEX_NAME}.tmp"));
    if let Err(e) = std::fs::write(&tmp, index.to_json()).and_then(|()| std::fs::rename(&tmp, &out)) {
        let _ = std::fs::remove_file(&tmp);
        eprintln!("oxvm image index: {}: {e}", out.display());
        return 1;
    }
    println!(
        "indexed {} files ({} bytes), {} directories, {} symlinks{} in {}",
        s.files,
        s.bytes,
        s.dirs,
        s.symlinks,
        if s.skipped > 0 { format!(" ({} FIFOs, sockets or device nodes left out)", s.skipped) } else { String::new() },
        out.display()
    );
    0
}

/// A `--web-dir` value: GUEST_PATH=URL.
pub fn web_dir_arg(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((p, u)) if p.starts_with('/') && (u.starts_with("http://") || u.starts_with("https://")) => {
            Ok((p.to_string(), u.trim_end_matches('/').to_string()))
        }
        _ => Err(format!("expected GUEST_PATH=URL (an absolute guest path and an http(s) URL), got {s:?}")),
    }
}

/// Fetch each web directory's index and mount it; a message on failure.
pub fn mount_all(kernel: &mut Kernel, dirs: &[(String, String)]) -> Result<(), String> {
    if dirs.is_empty() {
        return Ok(());
    }
    let fetcher: Arc<dyn oxvm_block::Fetcher> = Arc::new(oxvm_block::fetch::HttpFetcher::default());
    for (path, url) in dirs {
        let index_url = format!("{url}/{INDEX_NAME}");
        let req = oxvm_block::FetchRequest { url: index_url.clone(), range: None, max_len: MAX_INDEX_BYTES };
        let resp = oxvm_block::fetch::fetch_one(&*fetcher, &req).map_err(|e| format!("--web-dir {path}={url}: {e}"))?;
        if resp.status != 200 {
            return Err(format!("--web-dir {path}={url}: {index_url}: HTTP status {}", resp.status));
        }
        kernel.mount_web_checked(path.as_bytes(), url, &resp.body, fetcher.clone()).map_err(|e| match e {
            oxvm_kernel::WebMountError::Errno(_) => {
                format!("--web-dir {path}={url}: {path}: {e} (the mount point must be a directory in the guest)")
            }
            oxvm_kernel::WebMountError::Index(_) => format!("--web-dir {path}={url}: {e}"),
        })?;
    }
    Ok(())
}
