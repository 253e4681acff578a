//! Names and path walking. A [`Dentry`] is an inode reached by a name from
//! its parent; the chain of parents gives `..` and getcwd. The walk goes
//! one component at a time: `.` is skipped, `..` moves to the parent but
//! never above the process root, and symlinks are expanded here (absolute
//! targets restart at the process root), at most [`MAX_SYMLINKS`] per
//! lookup. No filesystem ever sees a path, only single names.

use std::collections::HashMap;
use std::rc::Rc;

use super::{FileType, InodeRef, Result, NAME_MAX, PATH_MAX};
use crate::errno::Errno;

/// Linux's limit on symlinks followed in one lookup.
pub const MAX_SYMLINKS: u32 = 40;

struct DentryInner {
    name: Vec<u8>,
    parent: Option<Dentry>,
    inode: InodeRef,
}

/// An inode and the name it was reached by.
#[derive(Clone)]
pub struct Dentry(Rc<DentryInner>);

impl Dentry {
    /// The root of a tree (no parent).
    pub fn root(inode: InodeRef) -> Dentry {
        Dentry(Rc::new(DentryInner { name: Vec::new(), parent: None, inode }))
    }

    /// A name under this dentry for an object no directory holds (a
    /// memfd's `memfd:NAME`), which /proc/PID/fd shows.
    pub fn anon_child(&self, name: &[u8], inode: InodeRef) -> Dentry {
        self.child(name, inode)
    }

    fn child(&self, name: &[u8], inode: InodeRef) -> Dentry {
        Dentry(Rc::new(DentryInner { name: name.to_vec(), parent: Some(self.clone()), inode }))
    }

    pub fn inode(&self) -> &InodeRef {
        &self.0.inode
    }

    pub fn parent(&self) -> Option<&Dentry> {
        self.0.parent.as_ref()
    }

    pub fn name(&self) -> &[u8] {
        &self.0.name
    }

    /// Whether both name the same inode.
    pub fn same_inode(&self, other: &Dentry) -> bool {
        self.inode().id() == other.inode().id()
    }

    /// The absolute path of this dentry as seen from `root` (getcwd,
    /// /proc/PID/fd). A dentry outside `root`'s tree shows its full path.
    pub fn path_from(&self, root: &Dentry) -> Vec<u8> {
        let mut parts = Vec::new();
        let mut d = self;
        while !d.same_inode(root) {
            let Some(p) = d.parent() else { break };
            parts.push(d.name());
            d = p;
        }
        if parts.is_empty() {
            return b"/".to_vec();
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        out
    }
}

/// The mount table: which filesystem root covers which directory.
#[derive(Default)]
pub struct Vfs {
    mounts: HashMap<(u64, u64), InodeRef>,
    /// Advisory locks (flock, fcntl), per inode.
    pub locks: Rc<super::lock::LockTable>,
    /// Named pipes in use, by the FIFO inode's identity.
    pub fifos: crate::fs::pipe::FifoTable,
    /// The shared objects of files mapped MAP_SHARED (`mm/shmem.rs`).
    pub page_cache: Rc<crate::mm::PageCache>,
    /// The internal tmpfs memfd_create(2) makes its files in (Linux's
    /// shm_mnt), mounted nowhere; None: no memfds.
    pub anon_tmpfs: Option<InodeRef>,
    /// Filesystems on block devices: what sync(2) makes durable.
    pub disks: Vec<Rc<crate::fs::ext2fs::Ext2Mount>>,
}

impl Vfs {
    /// Mount `root` over the directory `at` (by identity).
    pub fn mount(&mut self, at: &InodeRef, root: InodeRef) {
        self.mounts.insert(at.id(), root);
    }

    /// The inode to use for `inode`: the root of whatever is mounted on it.
    fn cross(&self, inode: InodeRef) -> InodeRef {
        if self.mounts.is_empty() {
            return inode;
        }
        match self.mounts.get(&inode.id()) {
            Some(r) => r.clone(),
            None => inode,
        }
    }
}

/// A process's view of the filesystem: its root, working directory and
/// umask (CLONE_FS shares this), and whose search permission a walk
/// needs on each directory.
#[derive(Clone)]
pub struct FsContext {
    pub vfs: Rc<Vfs>,
    pub root: Dentry,
    pub cwd: Dentry,
    pub umask: u32,
    /// The effective (uid, gid) walks check directories against; keep it
    /// in step with the process's credentials (setuid, exec of set-id
    /// files) once those can change.
    pub walker: (u32, u32),
    /// The supplementary groups walks check with (setgroups keeps it in
    /// step with `Process::cred`).
    pub walker_groups: Rc<[u32]>,
}

/// A validated name: not empty, no `/`, not too long.
fn check_name(c: &[u8]) -> Result<()> {
    if c.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

fn components(p: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    p.split(|&b| b == b'/').filter(|c| !c.is_empty() && *c != b".")
}

/// The result of resolving all but the last component.
pub struct Parent {
    pub dir: Dentry,
    /// The last component; may be `.` or `..` (callers reject those as
    /// Linux does), or empty for "/".
    pub name: Vec<u8>,
    /// The path ended with a slash: the last component must be a directory.
    pub trailing_slash: bool,
}

impl FsContext {
    pub fn new(vfs: Rc<Vfs>, root: Dentry) -> FsContext {
        FsContext { vfs, cwd: root.clone(), root, umask: 0o022, walker: (0, 0), walker_groups: Rc::from([]) }
    }

    fn start(&self, base: &Dentry, path: &[u8]) -> Dentry {
        if path.first() == Some(&b'/') {
            self.root.clone()
        } else {
            base.clone()
        }
    }

    fn up(&self, d: &Dentry) -> Dentry {
        if d.same_inode(&self.root) {
            return d.clone();
        }
        d.parent().cloned().unwrap_or_else(|| d.clone())
    }

    /// Look `name` up in directory `dir`, crossing mounts.
    fn step(&self, dir: &Dentry, name: &[u8]) -> Result<Dentry> {
        if dir.inode().kind() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        check_name(name)?;
        // Root searches any directory; others need its x bit.
        let (uid, gid) = self.walker;
        if uid != 0 && !super::permitted(&dir.inode().stat()?, uid, gid, &self.walker_groups, 1) {
            return Err(Errno::EACCES);
        }
        let inode = dir.inode().lookup(name)?;
        Ok(dir.child(name, self.vfs.cross(inode)))
    }

    /// Walk `path` from `base` (used for relative paths). `follow` says
    /// whether a symlink in the last component is followed. `links` counts
    /// the symlinks followed so far in this lookup.
    fn walk(&self, base: &Dentry, path: &[u8], follow: bool, links: &mut u32) -> Result<Dentry> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let trailing_slash = path.last() == Some(&b'/');
        let mut at = self.start(base, path);
        let comps: Vec<&[u8]> = components(path).collect();
        for (i, c) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            if *c == b".." {
                at = self.up(&at);
                continue;
            }
            let next = self.step(&at, c)?;
            if next.inode().kind() == FileType::Symlink && (!last || follow || trailing_slash) {
                *links += 1;
                if *links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP);
                }
                if let Some(to) = next.inode().follow_link() {
                    at = to?;
                    continue;
                }
                let target = next.inode().readlink()?;
                // The rest of the path continues from wherever the link
                // leads; the link's own dentry is not part of the result.
                at = self.walk(&at, &target, true, links)?;
                continue;
            }
            at = next;
        }
        if trailing_slash && at.inode().kind() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        Ok(at)
    }

    /// Resolve `path` relative to `base`.
    pub fn resolve(&self, base: &Dentry, path: &[u8], follow: bool) -> Result<Dentry> {
        let mut links = 0;
        self.walk(base, path, follow, &mut links)
    }

    /// Resolve everything but the last component (for create, unlink,
    /// rename...).
    pub fn resolve_parent(&self, base: &Dentry, path: &[u8]) -> Result<Parent> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let trimmed_len = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
        let trailing_slash = trimmed_len < path.len();
        let trimmed = &path[..trimmed_len];
        let (dir_part, name) = match trimmed.iter().rposition(|&b| b == b'/') {
            Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
            None => (&b""[..], trimmed),
        };
        check_name(name)?;
        let dir = if dir_part.is_empty() {
            // "name" alone is relative to base; "/" alone has no name.
            if trimmed.is_empty() {
                self.root.clone()
            } else {
                base.clone()
            }
        } else {
            self.resolve(base, dir_part, true)?
        };
        if dir.inode().kind() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        Ok(Parent { dir, name: name.to_vec(), trailing_slash })
    }

    /// For O_CREAT: where a new file named by `path` would go, following a
    /// dangling symlink in the last component (as Linux does, except with
    /// O_EXCL or O_NOFOLLOW). Returns the parent and the final name.
    pub fn resolve_create(&self, base: &Dentry, path: &[u8], follow: bool) -> Result<Parent> {
        let mut p = self.resolve_parent(base, path)?;
        let mut links = 0;
        loop {
            if p.name.is_empty() || p.name == b"." || p.name == b".." {
                return Ok(p);
            }
            match self.step(&p.dir, &p.name) {
                Ok(d) if d.inode().kind() == FileType::Symlink && follow => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(Errno::ELOOP);
                    }
                    let target = d.inode().readlink()?;
                    p = self.resolve_parent(&p.dir, &target)?;
                }
                _ => return Ok(p),
            }
        }
    }

    /// Look up `name` in `dir` (one component, as [`resolve_parent`] gave).
    pub fn lookup_in(&self, dir: &Dentry, name: &[u8]) -> Result<Dentry> {
        match name {
            b"" | b"." => Ok(dir.clone()),
            b".." => Ok(self.up(dir)),
            _ => self.step(dir, name),
        }
    }
}
