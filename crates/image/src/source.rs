//! Where an image's files come from: a directory tree on the host, or a
//! tar stream (plain, gzip or zstd) such as `docker export` or a
//! debootstrap tarball writes. Both are read as one sequence of
//! [`Entry`]s, each file's bytes streamed to the consumer as they are
//! read, so a multi-gigabyte tar is never held in memory.
//!
//! Paths are normalised to be relative to the image root; a tar entry
//! whose path climbs out of it (`..`) is an error, not a file written
//! somewhere else.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// What kind of file an entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A regular file of this many bytes (its data follows in the reader).
    File {
        size: u64,
    },
    Dir,
    Symlink {
        target: Vec<u8>,
    },
    /// Another name for an earlier entry's file (its normalised path).
    HardLink {
        target: Vec<u8>,
    },
    CharDev {
        rdev: u64,
    },
    BlockDev {
        rdev: u64,
    },
    Fifo,
    Socket,
}

/// One file of the source, with the attributes it gets in the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the image root, `/`-separated, no `.`/`..`; empty for
    /// the root itself.
    pub path: Vec<u8>,
    pub kind: Kind,
    /// Permission bits with set-id and sticky bits (the low 12 bits).
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
}

/// Why a source could not be read.
#[derive(Debug)]
pub enum SourceError {
    Io {
        path: String,
        err: io::Error,
    },
    /// A tar that cannot be parsed, or an entry this builder refuses.
    Bad {
        path: String,
        why: String,
    },
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceError::Io { path, err } => write!(f, "{path}: {err}"),
            SourceError::Bad { path, why } => write!(f, "{path}: {why}"),
        }
    }
}

impl std::error::Error for SourceError {}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SourceError + '_ {
    move |err| SourceError::Io { path: path.display().to_string(), err }
}

/// The consumer of entries: called once per entry, in source order, with
/// the file's bytes readable from `data` for regular files.
pub type Visit<'a> = dyn FnMut(&Entry, &mut dyn Read) -> Result<(), Box<dyn std::error::Error>> + 'a;

/// A relative, normalised path from a source path: `./a//b/` → `a/b`.
/// `..` anywhere, or a path that is only `..`, is refused.
pub fn normalise(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::new();
    for part in raw.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return Err("path leaves the image root (`..`)".into()),
            p => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(p);
            }
        }
    }
    Ok(out)
}

/// Every file under `root` (the root first, then depth-first in name
/// order, so images built twice from the same tree are identical).
/// Ownership and modes are the tree's own; files with several links come
/// once as files and then as hard links to that first name.
pub fn walk_dir(root: &Path, visit: &mut Visit) -> Result<(), Box<dyn std::error::Error>> {
    let mut seen: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
    let meta = std::fs::symlink_metadata(root).map_err(io_err(root))?;
    if !meta.is_dir() {
        return Err(Box::new(SourceError::Bad { path: root.display().to_string(), why: "not a directory".into() }));
    }
    walk(root, Vec::new(), &meta, &mut seen, visit)
}

fn entry_of(path: Vec<u8>, meta: &std::fs::Metadata, full: &Path) -> Result<Entry, SourceError> {
    let ft = meta.file_type();
    let kind = if ft.is_dir() {
        Kind::Dir
    } else if ft.is_file() {
        Kind::File { size: meta.len() }
    } else if ft.is_symlink() {
        Kind::Symlink { target: std::fs::read_link(full).map_err(io_err(full))?.as_os_str().as_bytes().to_vec() }
    } else if ft.is_char_device() {
        Kind::CharDev { rdev: meta.rdev() }
    } else if ft.is_block_device() {
        Kind::BlockDev { rdev: meta.rdev() }
    } else if ft.is_fifo() {
        Kind::Fifo
    } else {
        Kind::Socket
    };
    Ok(Entry { path, kind, perm: meta.mode() & 0o7777, uid: meta.uid(), gid: meta.gid(), mtime: meta.mtime() })
}

fn walk(
    full: &Path,
    rel: Vec<u8>,
    meta: &std::fs::Metadata,
    seen: &mut HashMap<(u64, u64), Vec<u8>>,
    visit: &mut Visit,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut entry = entry_of(rel.clone(), meta, full)?;
    if let Kind::File { .. } = entry.kind {
        if meta.nlink() > 1 {
            if let Some(first) = seen.get(&(meta.dev(), meta.ino())) {
                entry.kind = Kind::HardLink { target: first.clone() };
                return visit(&entry, &mut io::empty());
            }
            seen.insert((meta.dev(), meta.ino()), rel.clone());
        }
        let mut f = BufReader::with_capacity(1 << 20, File::open(full).map_err(io_err(full))?);
        return visit(&entry, &mut f);
    }
    visit(&entry, &mut io::empty())?;
    if entry.kind != Kind::Dir {
        return Ok(());
    }
    let mut names: Vec<_> =
        std::fs::read_dir(full).map_err(io_err(full))?.map(|d| d.map(|d| d.file_name())).collect::<Result<_, _>>().map_err(io_err(full))?;
    names.sort();
    for name in names {
        let child = full.join(&name);
        let cmeta = std::fs::symlink_metadata(&child).map_err(io_err(&child))?;
        let mut crel = rel.clone();
        if !crel.is_empty() {
            crel.push(b'/');
        }
        crel.extend_from_slice(name.as_bytes());
        walk(&child, crel, &cmeta, seen, visit)?;
    }
    Ok(())
}

/// The compression of a tar file, from its first bytes.
fn decompressed(path: &Path) -> Result<Box<dyn Read>, SourceError> {
    let mut f = BufReader::with_capacity(1 << 20, File::open(path).map_err(io_err(path))?);
    let magic = {
        use std::io::BufRead;
        f.fill_buf().map_err(io_err(path))?.get(..4).map(<[u8]>::to_vec).unwrap_or_default()
    };
    Ok(if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(f))
    } else if magic == [0x28, 0xb5, 0x2f, 0xfd] {
        let d = ruzstd::decoding::StreamingDecoder::new(f)
            .map_err(|e| SourceError::Bad { path: path.display().to_string(), why: format!("zstd: {e}") })?;
        Box::new(d)
    } else {
        Box::new(f)
    })
}

/// Every entry of the tar file at `path` (plain, .gz or .zst, told apart
/// by content). `owner_from_tar`: keep the archive's uid/gid; otherwise
/// everything belongs to root, as when a non-root user unpacks it.
pub fn walk_tar(path: &Path, owner_from_tar: bool, visit: &mut Visit) -> Result<(), Box<dyn std::error::Error>> {
    let name = path.display().to_string();
    let bad = |why: String| SourceError::Bad { path: name.clone(), why };
    let mut archive = tar::Archive::new(decompressed(path)?);
    let entries = archive.entries().map_err(|e| bad(format!("not a tar archive: {e}")))?;
    for item in entries {
        let mut item = item.map_err(|e| bad(format!("corrupt tar: {e}")))?;
        let raw = item.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let at = |why: String| SourceError::Bad { path: format!("{name}: {shown}"), why };
        let rel = normalise(&raw).map_err(&at)?;
        let h = item.header();
        let perm = h.mode().map_err(|e| at(format!("bad mode: {e}")))? & 0o7777;
        let (uid, gid) = if owner_from_tar {
            let uid = h.uid().map_err(|e| at(format!("bad uid: {e}")))?;
            let gid = h.gid().map_err(|e| at(format!("bad gid: {e}")))?;
            (u32::try_from(uid).map_err(|_| at("uid out of range".into()))?, u32::try_from(gid).map_err(|_| at("gid out of range".into()))?)
        } else {
            (0, 0)
        };
        let mtime = h.mtime().map_or(0, |t| t.min(i64::MAX as u64) as i64);
        // The tar's major/minor as a glibc dev_t (what stat reports).
        let dev = |h: &tar::Header| {
            let major = h.device_major().ok().flatten().unwrap_or(0) as u64;
            let minor = h.device_minor().ok().flatten().unwrap_or(0) as u64;
            ((major & 0xfff) << 8) | ((major & !0xfff) << 32) | (minor & 0xff) | ((minor & !0xff) << 12)
        };
        let link = || -> Result<Vec<u8>, SourceError> {
            item.link_name_bytes().map(|l| l.into_owned()).ok_or_else(|| at("link without a target".into()))
        };
        use tar::EntryType as T;
        let kind = match h.entry_type() {
            T::Regular | T::Continuous => Kind::File { size: item.size() },
            T::Directory => Kind::Dir,
            T::Symlink => Kind::Symlink { target: link()? },
            T::Link => Kind::HardLink { target: normalise(&link()?).map_err(&at)? },
            T::Char => Kind::CharDev { rdev: dev(h) },
            T::Block => Kind::BlockDev { rdev: dev(h) },
            T::Fifo => Kind::Fifo,
            // Metadata the tar crate already applied (long names, PAX).
            T::GNULongName | T::GNULongLink | T::XHeader | T::XGlobalHeader => continue,
            other => return Err(Box::new(at(format!("unsupported tar entry type {:?}", other.as_byte() as char)))),
        };
        let entry = Entry { path: rel, kind, perm, uid, gid, mtime };
        visit(&entry, &mut item)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalise_and_never_climb() {
        assert_eq!(normalise(b"./a//b/").unwrap(), b"a/b");
        assert_eq!(normalise(b"/etc/passwd").unwrap(), b"etc/passwd");
        assert_eq!(normalise(b".").unwrap(), b"");
        assert!(normalise(b"a/../../etc").is_err());
        assert!(normalise(b"..").is_err());
    }
}
