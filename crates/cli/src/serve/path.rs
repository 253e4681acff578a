//! Mapping a request path to a file inside the served directory, refusing
//! anything that could reach outside it.
//!
//! The request path is split on `/` and each segment percent-decoded on its
//! own, so an encoded `%2f` can never create a new segment and an encoded
//! `%2e%2e` is seen as `..`. Segments that are `.` or `..`, or that contain
//! `/`, `\` or NUL after decoding, are refused outright (no normalisation:
//! a well-behaved client never sends them). Hidden names (a leading `.`)
//! are not found, except `.well-known`. The joined path is then
//! canonicalised, which resolves symlinks, and must still lie under the
//! canonical root: a symlink pointing outside is refused like `..`.

use std::ffi::OsStr;
use std::fs::{File, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;

/// Why a path is not served.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Traversal syntax, a symlink leading outside the root, or something
    /// that is not a regular file (a FIFO would block, a device is not ours).
    Forbidden,
    /// Nothing there, or a directory without index.html.
    NotFound,
}

/// What a request path names.
#[derive(Debug)]
pub enum Target {
    /// A regular file, opened.
    File(Box<Opened>),
    /// A directory with an index.html asked for without the trailing
    /// slash: redirect, so the page's relative links resolve inside it.
    AddSlash,
}

/// An opened regular file and what the response needs to know about it.
#[derive(Debug)]
pub struct Opened {
    pub file: File,
    pub meta: Metadata,
    /// The file name, for its Content-Type (index.html for a directory).
    pub name: String,
    /// The decoded URL segments, for the cache policy (which looks at the
    /// URL, not the disk).
    pub segments: Vec<String>,
}

/// Split and decode the URL path; refuse traversal syntax.
pub fn segments(raw: &str) -> Result<Vec<String>, Refused> {
    // Origin-form paths start with '/'; anything else (`*`, an authority)
    // names no file.
    let rest = raw.strip_prefix('/').ok_or(Refused::Forbidden)?;
    let mut out = Vec::new();
    for seg in rest.split('/') {
        if seg.is_empty() {
            continue;
        }
        let bytes: Vec<u8> = percent_decode_str(seg).collect();
        if bytes == b"." || bytes == b".." || bytes.iter().any(|&b| b == b'/' || b == b'\\' || b == 0) {
            return Err(Refused::Forbidden);
        }
        // Hidden files (a `.git` in the served directory, editor state) are
        // not part of a site; `.well-known` is, by RFC 8615.
        if bytes.first() == Some(&b'.') && bytes != b".well-known" {
            return Err(Refused::NotFound);
        }
        // Non-UTF-8 names are not something the web app uses; refusing them
        // keeps the segments printable strings.
        out.push(String::from_utf8(bytes).map_err(|_| Refused::NotFound)?);
    }
    Ok(out)
}

/// Resolve `raw` (the request's URL path, still percent-encoded) under
/// `root`, which must already be canonical. Blocking: call it off the
/// async threads.
pub fn resolve(root: &Path, raw: &str) -> Result<Target, Refused> {
    let segments = segments(raw)?;
    let mut joined = root.to_path_buf();
    for s in &segments {
        joined.push(OsStr::from_bytes(s.as_bytes()));
    }
    let canon = inside(root, &joined)?;
    let meta = std::fs::metadata(&canon).map_err(|_| Refused::NotFound)?;
    let (path, name) = if meta.is_dir() {
        let index = inside(root, &canon.join("index.html"))?;
        if !raw.ends_with('/') {
            return if std::fs::metadata(&index).is_ok_and(|m| m.is_file()) { Ok(Target::AddSlash) } else { Err(Refused::NotFound) };
        }
        (index, "index.html".to_string())
    } else {
        (canon, segments.last().cloned().unwrap_or_default())
    };
    let file = File::open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => Refused::Forbidden,
        _ => Refused::NotFound,
    })?;
    // Metadata of the open file, not of the path: what we serve is what we
    // describe, even if the path is replaced meanwhile.
    let meta = file.metadata().map_err(|_| Refused::NotFound)?;
    if meta.is_dir() {
        return Err(Refused::NotFound);
    }
    if !meta.is_file() {
        return Err(Refused::Forbidden);
    }
    Ok(Target::File(Box::new(Opened { file, meta, name, segments })))
}

/// Canonicalise `path` and check it is still under `root`.
fn inside(root: &Path, path: &Path) -> Result<PathBuf, Refused> {
    let canon = path.canonicalize().map_err(|_| Refused::NotFound)?;
    if canon.starts_with(root) {
        Ok(canon)
    } else {
        Err(Refused::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_syntax_is_refused() {
        for p in ["/..", "/a/../b", "/%2e%2e/x", "/%2E%2e/x", "/a/%2e%2e", "/./a", "/%2e/a", "/a%2fb", "/a%5cb", "/a\\b", "/a%00", "*", "x"]
        {
            assert_eq!(segments(p).unwrap_err(), Refused::Forbidden, "{p}");
        }
    }

    #[test]
    fn segments_decode() {
        assert_eq!(segments("/").unwrap(), Vec::<String>::new());
        assert_eq!(segments("//a///b%20c/").unwrap(), ["a", "b c"]);
        assert_eq!(segments("/...").unwrap_err(), Refused::NotFound);
        assert_eq!(segments("/.git/config").unwrap_err(), Refused::NotFound);
        assert_eq!(segments("/.well-known/x").unwrap(), [".well-known", "x"]);
        assert_eq!(segments("/%ff").unwrap_err(), Refused::NotFound);
    }
}
