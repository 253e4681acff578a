//! Resolving guest paths inside the root directory, confined: the walk is
//! done one component at a time, symlinks are followed by hand (absolute
//! ones relative to the root, as in a chroot), and a `..` that would climb
//! above the root is refused rather than followed.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Linux's limit on symlinks followed in one lookup.
const MAX_SYMLINKS: u32 = 40;

#[derive(Debug)]
pub enum ResolveError {
    NotFound,
    NotADirectory,
    /// A `..` (given or inside a symlink) would leave the root.
    Escapes,
    TooManyLinks,
    Io(io::Error),
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::NotFound => write!(f, "No such file or directory"),
            ResolveError::NotADirectory => write!(f, "Not a directory"),
            ResolveError::Escapes => write!(f, "path escapes the root directory"),
            ResolveError::TooManyLinks => write!(f, "Too many levels of symbolic links"),
            ResolveError::Io(e) => write!(f, "{e}"),
        }
    }
}

fn components(p: &[u8]) -> impl Iterator<Item = OsString> + '_ {
    p.split(|&b| b == b'/').filter(|c| !c.is_empty() && *c != b".").map(|c| OsStr::from_bytes(c).to_os_string())
}

/// Resolve guest path `path` (relative paths start at guest directory
/// `cwd`, itself absolute) to a host path inside `root`, following every
/// symlink, including in the last component.
pub fn resolve(root: &Path, cwd: &[u8], path: &[u8]) -> Result<PathBuf, ResolveError> {
    let mut at: Vec<OsString> = if path.first() == Some(&b'/') { Vec::new() } else { components(cwd).collect() };
    let mut pending: VecDeque<OsString> = components(path).collect();
    let mut links = 0;
    while let Some(c) = pending.pop_front() {
        if c == ".." {
            at.pop().ok_or(ResolveError::Escapes)?;
            continue;
        }
        let mut host = root.to_path_buf();
        host.extend(&at);
        host.push(&c);
        let meta = match std::fs::symlink_metadata(&host) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ResolveError::NotFound),
            Err(e) if e.raw_os_error() == Some(20) => return Err(ResolveError::NotADirectory),
            Err(e) => return Err(ResolveError::Io(e)),
        };
        if meta.file_type().is_symlink() {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(ResolveError::TooManyLinks);
            }
            let target = std::fs::read_link(&host).map_err(ResolveError::Io)?;
            let target = target.as_os_str().as_bytes();
            if target.first() == Some(&b'/') {
                at.clear();
            }
            for t in components(target).collect::<Vec<_>>().into_iter().rev() {
                pending.push_front(t);
            }
            continue;
        }
        if !pending.is_empty() && !meta.is_dir() {
            return Err(ResolveError::NotADirectory);
        }
        at.push(c);
    }
    let mut host = root.to_path_buf();
    host.extend(&at);
    Ok(host)
}

/// The guest's working directory: the host's, if it lies inside the root,
/// else "/".
pub fn guest_cwd(root: &Path) -> Vec<u8> {
    let (Ok(root), Ok(cwd)) = (root.canonicalize(), std::env::current_dir().and_then(|d| d.canonicalize())) else {
        return b"/".to_vec();
    };
    match cwd.strip_prefix(&root) {
        Ok(rel) => {
            let mut g = b"/".to_vec();
            g.extend_from_slice(rel.as_os_str().as_bytes());
            g
        }
        Err(_) => b"/".to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> PathBuf {
        let base = std::env::temp_dir().join(format!("oxvm-root-test-{}-{:?}", std::process::id(), std::thread::current().id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        std::fs::create_dir_all(root.join("usr/bin")).unwrap();
        std::fs::write(root.join("usr/bin/prog"), b"x").unwrap();
        std::fs::write(base.join("secret"), b"s").unwrap();
        symlink("usr/bin", root.join("bin")).unwrap();
        symlink("/usr/bin/prog", root.join("abs")).unwrap();
        symlink("../../secret", root.join("usr/esc")).unwrap();
        symlink("/../secret", root.join("absesc")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        root
    }

    #[test]
    fn confined_resolution() {
        let root = tree();
        let r = |p: &str| resolve(&root, b"/", p.as_bytes());
        assert_eq!(r("/usr/bin/prog").unwrap(), root.join("usr/bin/prog"));
        assert_eq!(r("bin/prog").unwrap(), root.join("usr/bin/prog"));
        assert_eq!(r("/bin/./prog").unwrap(), root.join("usr/bin/prog"));
        assert_eq!(r("/abs").unwrap(), root.join("usr/bin/prog"), "absolute symlinks resolve inside the root");
        assert_eq!(r("/usr/bin/../bin/prog").unwrap(), root.join("usr/bin/prog"));
        assert_eq!(resolve(&root, b"/usr", b"bin/prog").unwrap(), root.join("usr/bin/prog"));
        assert!(matches!(r("/../secret"), Err(ResolveError::Escapes)));
        assert!(matches!(r("/usr/esc"), Err(ResolveError::Escapes)));
        assert!(matches!(r("/absesc"), Err(ResolveError::Escapes)));
        assert!(matches!(r("/loop"), Err(ResolveError::TooManyLinks)));
        assert!(matches!(r("/nope"), Err(ResolveError::NotFound)));
        assert!(matches!(r("/usr/bin/prog/x"), Err(ResolveError::NotADirectory)));
        let _ = std::fs::remove_dir_all(root.parent().unwrap());
    }
}
