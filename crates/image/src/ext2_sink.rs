//! The [`Sink`] that fills an ext2 file system, and `build`: format an
//! image file of the right size and fill it from a source.

use std::io::Read;
use std::path::{Path, PathBuf};

use oxvm_block::{BlockDevice, FileDevice};
use oxvm_ext2::{Error as FsError, Ext2, FormatOptions, SetAttr, S_IFBLK, S_IFCHR, S_IFIFO, S_IFREG, S_IFSOCK};

use crate::build::{Attrs, Builder, Sink, SinkResult, Special, Stats};
use crate::source::{walk_dir, walk_tar, Entry, Kind};

/// ext2 keeps 32-bit seconds.
fn secs(t: i64) -> u32 {
    t.clamp(0, u32::MAX as i64) as u32
}

/// Bytes read and written at a time while copying a file in.
const COPY_CHUNK: usize = 1 << 20;
const BLOCK: usize = 4096;

pub struct Ext2Sink<D: BlockDevice> {
    pub fs: Ext2<D>,
    buf: Vec<u8>,
}

impl<D: BlockDevice> Ext2Sink<D> {
    pub fn new(fs: Ext2<D>) -> Self {
        Ext2Sink { fs, buf: vec![0; COPY_CHUNK] }
    }

    fn times(&mut self, ino: u32, a: Attrs) -> SinkResult<()> {
        let t = secs(a.mtime);
        self.fs.set_attr(ino, &SetAttr { atime: Some(t), mtime: Some(t), ctime: Some(t), ..Default::default() })?;
        Ok(())
    }
}

fn ino(v: u64) -> u32 {
    v as u32
}

impl<D: BlockDevice> Sink for Ext2Sink<D> {
    fn root(&self) -> u64 {
        self.fs.root() as u64
    }

    fn lookup(&mut self, dir: u64, name: &[u8]) -> SinkResult<Option<(u64, bool)>> {
        match self.fs.lookup(ino(dir), name) {
            Ok(i) => Ok(Some((i as u64, self.fs.stat(i)?.file_type == oxvm_ext2::FileType::Directory))),
            Err(FsError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn mkdir(&mut self, dir: u64, name: &[u8], a: Attrs) -> SinkResult<u64> {
        let i = self.fs.mkdir(ino(dir), name, a.perm as u16, a.uid, a.gid)?;
        self.times(i, a)?;
        Ok(i as u64)
    }

    fn file(&mut self, dir: u64, name: &[u8], a: Attrs, size: u64, data: &mut dyn Read) -> SinkResult<u64> {
        let i = self.fs.create(ino(dir), name, S_IFREG | a.perm as u16, a.uid, a.gid, 0)?;
        let mut off = 0u64;
        while off < size {
            let want = (size - off).min(COPY_CHUNK as u64) as usize;
            let got = &mut self.buf[..want];
            data.read_exact(got).map_err(|e| format!("{}: {e}", String::from_utf8_lossy(name)))?;
            // All-zero blocks become holes: they read back the same and
            // take no space (sparse source files stay sparse).
            let mut at = 0;
            while at < want {
                let end = (at + BLOCK).min(want);
                if got[at..end].iter().all(|&b| b == 0) {
                    at = end;
                    continue;
                }
                let mut run_end = end;
                while run_end < want {
                    let next = (run_end + BLOCK).min(want);
                    if got[run_end..next].iter().all(|&b| b == 0) {
                        break;
                    }
                    run_end = next;
                }
                self.fs.write(i, off + at as u64, &got[at..run_end])?;
                at = run_end;
            }
            off += want as u64;
        }
        // A file ending in a hole still has its full size.
        self.fs.set_attr(i, &SetAttr { size: Some(size), ..Default::default() })?;
        self.times(i, a)?;
        Ok(i as u64)
    }

    fn symlink(&mut self, dir: u64, name: &[u8], target: &[u8], a: Attrs) -> SinkResult<u64> {
        let i = self.fs.symlink(ino(dir), name, target, a.uid, a.gid)?;
        self.times(i, a)?;
        Ok(i as u64)
    }

    fn special(&mut self, dir: u64, name: &[u8], kind: Special, a: Attrs) -> SinkResult<u64> {
        let (ty, rdev) = match kind {
            Special::Char(d) => (S_IFCHR, d),
            Special::Block(d) => (S_IFBLK, d),
            Special::Fifo => (S_IFIFO, 0),
            Special::Socket => (S_IFSOCK, 0),
        };
        let i = self.fs.create(ino(dir), name, ty | a.perm as u16, a.uid, a.gid, rdev)?;
        self.times(i, a)?;
        Ok(i as u64)
    }

    fn link(&mut self, dir: u64, name: &[u8], target: u64) -> SinkResult<()> {
        Ok(self.fs.link(ino(target), ino(dir), name)?)
    }

    fn remove(&mut self, dir: u64, name: &[u8], is_dir: bool) -> SinkResult<()> {
        if is_dir {
            let i = self.fs.rmdir(ino(dir), name)?;
            self.fs.evict(i)?;
        } else {
            let u = self.fs.unlink(ino(dir), name)?;
            if u.last_link {
                self.fs.evict(u.ino)?;
            }
        }
        Ok(())
    }

    fn set_attrs(&mut self, i: u64, a: Attrs) -> SinkResult<()> {
        let t = secs(a.mtime);
        let set = SetAttr {
            mode: Some(a.perm as u16),
            uid: Some(a.uid),
            gid: Some(a.gid),
            atime: Some(t),
            mtime: Some(t),
            ctime: Some(t),
            size: None,
        };
        Ok(self.fs.set_attr(ino(i), &set)?)
    }
}

/// Where an image's files come from.
#[derive(Clone, Debug)]
pub enum Source {
    Dir(PathBuf),
    /// A tar file; `owner_from_tar` keeps its uid/gid (else all root's).
    Tar {
        path: PathBuf,
        owner_from_tar: bool,
    },
}

impl Source {
    /// A directory, or else a tar file.
    pub fn from_path(path: &Path, owner_from_tar: bool) -> Source {
        if path.is_dir() {
            Source::Dir(path.to_path_buf())
        } else {
            Source::Tar { path: path.to_path_buf(), owner_from_tar }
        }
    }

    fn walk(&self, visit: &mut crate::source::Visit) -> Result<(), Box<dyn std::error::Error>> {
        match self {
            Source::Dir(d) => walk_dir(d, visit),
            Source::Tar { path, owner_from_tar } => walk_tar(path, *owner_from_tar, visit),
        }
    }
}

/// What a source needs: data blocks (with indirect blocks) and inodes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Needs {
    pub blocks: u64,
    pub inodes: u64,
    pub bytes: u64,
}

/// One pass over the source, counting what the image must hold.
pub fn measure(src: &Source) -> Result<Needs, Box<dyn std::error::Error>> {
    let mut n = Needs::default();
    src.walk(&mut |e: &Entry, _data: &mut dyn Read| {
        n.inodes += 1;
        match &e.kind {
            Kind::File { size } => {
                let b = size.div_ceil(BLOCK as u64);
                // One indirect block per 1024 data blocks, a little more
                // for the double-indirect tree.
                n.blocks += b + b.div_ceil(1024) + 1;
                n.bytes += size;
            }
            Kind::Dir => n.blocks += 1,
            Kind::Symlink { target } if target.len() >= 60 => n.blocks += 1,
            Kind::HardLink { .. } => n.inodes -= 1,
            _ => {}
        }
        Ok(())
    })?;
    Ok(n)
}

/// How big to make an image for these needs when asked for `auto`: room
/// for everything with a quarter more, and at least 256 MiB free, so a
/// user can install and write things.
pub fn auto_size(n: &Needs) -> u64 {
    let used = n.blocks * BLOCK as u64 + n.inodes * 256 + (n.inodes / 16) * BLOCK as u64;
    let size = used + (used / 4).max(256 << 20);
    size.div_ceil(1 << 20) << 20
}

/// What `build` made.
#[derive(Clone, Copy, Debug)]
pub struct Built {
    pub size: u64,
    pub stats: Stats,
}

/// Format `out` as an ext2 image of `size` bytes (None: [`auto_size`])
/// and fill it from `src`. The image is written to `out` plus `.partial`
/// and renamed when complete, so a failure never leaves a half-made image
/// under the name asked for (nor destroys an older one there).
pub fn build(src: &Source, out: &Path, size: Option<u64>, label: &[u8]) -> Result<Built, Box<dyn std::error::Error>> {
    let needs = measure(src)?;
    let size = size.unwrap_or_else(|| auto_size(&needs));
    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let result = (|| -> Result<Stats, Box<dyn std::error::Error>> {
        let dev = FileDevice::create(&partial, size)?;
        // Enough inodes for the source with room to grow.
        let inodes_by_size = size / 16384;
        let inodes = (needs.inodes * 2).max(inodes_by_size).min(u32::MAX as u64) as u32;
        let opts = FormatOptions { inodes: Some(inodes), label: label.to_vec(), ..Default::default() };
        let fs = Ext2::format(dev, &opts)?;
        let mut sink = Ext2Sink::new(fs);
        let mut b = Builder::new(&mut sink);
        src.walk(&mut |e: &Entry, data: &mut dyn Read| b.add(e, data))?;
        let stats = b.finish()?;
        let mut dev = sink.fs.into_device()?;
        dev.flush()?;
        Ok(stats)
    })();
    match result {
        Ok(stats) => {
            std::fs::rename(&partial, out).map_err(|e| format!("{}: {e}", out.display()))?;
            Ok(Built { size, stats })
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}
