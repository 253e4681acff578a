//! Turning a stream of source [`Entry`]s into a file system: parents made
//! when a source omits them, later entries replacing earlier ones of the
//! same name (tar semantics), hard links resolved to the inode of their
//! first name, and directory attributes applied last (adding children
//! would otherwise move their times).
//!
//! The file system side is the [`Sink`] trait, so the same walk fills an
//! ext2 image (`ext2_sink.rs`) or, in tests, a model.

use std::collections::HashMap;
use std::io::Read;

use crate::source::{Entry, Kind};

/// Attributes of a new inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attrs {
    /// Permission, set-id and sticky bits (the file type comes from the
    /// call).
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
}

impl Attrs {
    fn of(e: &Entry) -> Attrs {
        Attrs { perm: e.perm, uid: e.uid, gid: e.gid, mtime: e.mtime }
    }
}

/// The special files an entry can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    Char(u64),
    Block(u64),
    Fifo,
    Socket,
}

pub type SinkResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The file system being filled, by inode number.
pub trait Sink {
    fn root(&self) -> u64;
    /// The inode `name` names in `dir`, and whether it is a directory.
    fn lookup(&mut self, dir: u64, name: &[u8]) -> SinkResult<Option<(u64, bool)>>;
    fn mkdir(&mut self, dir: u64, name: &[u8], a: Attrs) -> SinkResult<u64>;
    /// A regular file of `size` bytes read from `data`.
    fn file(&mut self, dir: u64, name: &[u8], a: Attrs, size: u64, data: &mut dyn Read) -> SinkResult<u64>;
    fn symlink(&mut self, dir: u64, name: &[u8], target: &[u8], a: Attrs) -> SinkResult<u64>;
    fn special(&mut self, dir: u64, name: &[u8], kind: Special, a: Attrs) -> SinkResult<u64>;
    fn link(&mut self, dir: u64, name: &[u8], target: u64) -> SinkResult<()>;
    /// Remove a name (a directory only when empty).
    fn remove(&mut self, dir: u64, name: &[u8], is_dir: bool) -> SinkResult<()>;
    fn set_attrs(&mut self, ino: u64, a: Attrs) -> SinkResult<()>;
}

/// What a build did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    pub specials: u64,
    pub bytes: u64,
}

/// Feeds entries into a [`Sink`].
pub struct Builder<'s, S: Sink> {
    sink: &'s mut S,
    /// Inode of every path made so far (for hard links and parents).
    inodes: HashMap<Vec<u8>, u64>,
    /// Directory attributes to apply at the end, by inode.
    dir_attrs: HashMap<u64, Attrs>,
    pub stats: Stats,
}

fn err(path: &[u8], why: &str) -> Box<dyn std::error::Error> {
    format!("{}: {why}", String::from_utf8_lossy(path)).into()
}

impl<'s, S: Sink> Builder<'s, S> {
    pub fn new(sink: &'s mut S) -> Self {
        let root = sink.root();
        let mut inodes = HashMap::new();
        inodes.insert(Vec::new(), root);
        Builder { sink, inodes, dir_attrs: HashMap::new(), stats: Stats::default() }
    }

    /// The directory at `path`, made (root-owned, 0755) with its parents
    /// if the source has not listed it yet.
    fn dir(&mut self, path: &[u8]) -> SinkResult<u64> {
        if let Some(&ino) = self.inodes.get(path) {
            return Ok(ino);
        }
        let (parent, name) = split(path);
        let p = self.dir(parent)?;
        let ino = match self.sink.lookup(p, name)? {
            Some((ino, true)) => ino,
            Some(_) => return Err(err(path, "a parent is not a directory")),
            None => {
                self.stats.dirs += 1;
                self.sink.mkdir(p, name, Attrs { perm: 0o755, uid: 0, gid: 0, mtime: 0 })?
            }
        };
        self.inodes.insert(path.to_vec(), ino);
        Ok(ino)
    }

    /// Add one entry, reading a regular file's bytes from `data`.
    pub fn add(&mut self, e: &Entry, data: &mut dyn Read) -> SinkResult<()> {
        let a = Attrs::of(e);
        if e.path.is_empty() {
            // The root itself: only its attributes.
            let root = self.sink.root();
            self.dir_attrs.insert(root, a);
            return Ok(());
        }
        let (parent, name) = split(&e.path);
        let dir = self.dir(parent)?;
        if let Some((old, is_dir)) = self.sink.lookup(dir, name)? {
            if is_dir && e.kind == Kind::Dir {
                // Listed again (or made as a parent earlier): new attributes.
                self.dir_attrs.insert(old, a);
                self.inodes.insert(e.path.clone(), old);
                return Ok(());
            }
            // A later entry replaces the earlier one, as tar extracts.
            self.sink.remove(dir, name, is_dir).map_err(|x| err(&e.path, &format!("cannot replace: {x}")))?;
            self.inodes.retain(|p, _| !(p == &e.path || p.starts_with(&[e.path.as_slice(), b"/"].concat())));
        }
        let ino = match &e.kind {
            Kind::Dir => {
                self.stats.dirs += 1;
                let ino = self.sink.mkdir(dir, name, a)?;
                self.dir_attrs.insert(ino, a);
                ino
            }
            Kind::File { size } => {
                self.stats.files += 1;
                self.stats.bytes += size;
                self.sink.file(dir, name, a, *size, data)?
            }
            Kind::Symlink { target } => {
                self.stats.symlinks += 1;
                self.sink.symlink(dir, name, target, a)?
            }
            Kind::HardLink { target } => {
                let Some(&t) = self.inodes.get(target) else {
                    return Err(err(&e.path, &format!("hard link to {} which is not (yet) in the image", String::from_utf8_lossy(target))));
                };
                self.stats.hardlinks += 1;
                self.sink.link(dir, name, t)?;
                t
            }
            Kind::CharDev { rdev } => self.special(dir, name, Special::Char(*rdev), a)?,
            Kind::BlockDev { rdev } => self.special(dir, name, Special::Block(*rdev), a)?,
            Kind::Fifo => self.special(dir, name, Special::Fifo, a)?,
            Kind::Socket => self.special(dir, name, Special::Socket, a)?,
        };
        self.inodes.insert(e.path.clone(), ino);
        Ok(())
    }

    fn special(&mut self, dir: u64, name: &[u8], kind: Special, a: Attrs) -> SinkResult<u64> {
        self.stats.specials += 1;
        self.sink.special(dir, name, kind, a)
    }

    /// Apply the directories' own attributes, now that no child will be
    /// added to them.
    pub fn finish(self) -> SinkResult<Stats> {
        for (ino, a) in self.dir_attrs {
            self.sink.set_attrs(ino, a)?;
        }
        Ok(self.stats)
    }
}

/// (parent, last component) of a normalised path.
fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model file system: enough to check what the builder asks for.
    #[derive(Default)]
    struct Model {
        next: u64,
        /// (dir, name) -> ino
        names: HashMap<(u64, Vec<u8>), u64>,
        /// ino -> (kind, attrs, content, links)
        nodes: HashMap<u64, (String, Attrs, Vec<u8>, u32)>,
    }

    impl Model {
        fn new() -> Model {
            let mut m = Model { next: 3, ..Default::default() };
            m.nodes.insert(2, ("dir".into(), Attrs { perm: 0o755, uid: 0, gid: 0, mtime: 0 }, vec![], 2));
            m
        }
        fn add(&mut self, dir: u64, name: &[u8], kind: &str, a: Attrs, content: Vec<u8>) -> u64 {
            let ino = self.next;
            self.next += 1;
            self.names.insert((dir, name.to_vec()), ino);
            self.nodes.insert(ino, (kind.into(), a, content, 1));
            ino
        }
        fn path(&self, p: &str) -> Option<&(String, Attrs, Vec<u8>, u32)> {
            let mut ino = 2;
            for part in p.split('/').filter(|s| !s.is_empty()) {
                ino = *self.names.get(&(ino, part.as_bytes().to_vec()))?;
            }
            self.nodes.get(&ino)
        }
    }

    impl Sink for Model {
        fn root(&self) -> u64 {
            2
        }
        fn lookup(&mut self, dir: u64, name: &[u8]) -> SinkResult<Option<(u64, bool)>> {
            Ok(self.names.get(&(dir, name.to_vec())).map(|&i| (i, self.nodes[&i].0 == "dir")))
        }
        fn mkdir(&mut self, dir: u64, name: &[u8], a: Attrs) -> SinkResult<u64> {
            Ok(self.add(dir, name, "dir", a, vec![]))
        }
        fn file(&mut self, dir: u64, name: &[u8], a: Attrs, size: u64, data: &mut dyn Read) -> SinkResult<u64> {
            let mut v = Vec::new();
            data.read_to_end(&mut v)?;
            assert_eq!(v.len() as u64, size);
            Ok(self.add(dir, name, "file", a, v))
        }
        fn symlink(&mut self, dir: u64, name: &[u8], target: &[u8], a: Attrs) -> SinkResult<u64> {
            Ok(self.add(dir, name, "symlink", a, target.to_vec()))
        }
        fn special(&mut self, dir: u64, name: &[u8], kind: Special, a: Attrs) -> SinkResult<u64> {
            Ok(self.add(dir, name, &format!("{kind:?}"), a, vec![]))
        }
        fn link(&mut self, dir: u64, name: &[u8], target: u64) -> SinkResult<()> {
            self.names.insert((dir, name.to_vec()), target);
            self.nodes.get_mut(&target).unwrap().3 += 1;
            Ok(())
        }
        fn remove(&mut self, dir: u64, name: &[u8], is_dir: bool) -> SinkResult<()> {
            let ino = self.names[&(dir, name.to_vec())];
            if is_dir && self.names.keys().any(|(d, _)| *d == ino) {
                return Err("not empty".into());
            }
            self.names.remove(&(dir, name.to_vec()));
            Ok(())
        }
        fn set_attrs(&mut self, ino: u64, a: Attrs) -> SinkResult<()> {
            self.nodes.get_mut(&ino).unwrap().1 = a;
            Ok(())
        }
    }

    fn e(path: &str, kind: Kind, perm: u32) -> Entry {
        Entry { path: path.as_bytes().to_vec(), kind, perm, uid: 1000, gid: 100, mtime: 77 }
    }

    #[test]
    fn parents_links_replacement_and_dir_attributes() {
        let mut m = Model::new();
        let mut b = Builder::new(&mut m);
        b.add(&e("usr/bin/tool", Kind::File { size: 3 }, 0o4755), &mut &b"abc"[..]).unwrap();
        b.add(&e("usr/bin/alias", Kind::HardLink { target: b"usr/bin/tool".to_vec() }, 0), &mut std::io::empty()).unwrap();
        b.add(&e("usr", Kind::Dir, 0o700), &mut std::io::empty()).unwrap();
        b.add(&e("etc/motd", Kind::File { size: 2 }, 0o644), &mut &b"v1"[..]).unwrap();
        b.add(&e("etc/motd", Kind::Symlink { target: b"/run/motd".to_vec() }, 0o777), &mut std::io::empty()).unwrap();
        b.add(&e("dev/null", Kind::CharDev { rdev: 0x103 }, 0o666), &mut std::io::empty()).unwrap();
        let err = b.add(&e("x", Kind::HardLink { target: b"nowhere".to_vec() }, 0), &mut std::io::empty()).unwrap_err();
        assert!(err.to_string().contains("not (yet) in the image"), "{err}");
        let stats = b.finish().unwrap();
        assert_eq!((stats.files, stats.hardlinks, stats.symlinks, stats.specials, stats.bytes), (2, 1, 1, 1, 5));
        let tool = m.path("usr/bin/tool").unwrap();
        assert_eq!((tool.2.as_slice(), tool.3, tool.1.perm), (&b"abc"[..], 2, 0o4755));
        assert_eq!(m.path("usr").unwrap().1.perm, 0o700, "attributes of a dir listed after its children");
        assert_eq!(m.path("usr/bin").unwrap().1, Attrs { perm: 0o755, uid: 0, gid: 0, mtime: 0 }, "an unlisted parent");
        assert_eq!(m.path("etc/motd").unwrap().0, "symlink", "a later entry replaces");
        assert_eq!(m.path("dev/null").unwrap().0, "Char(259)");
    }
}
