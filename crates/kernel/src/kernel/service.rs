//! The kernel as a long-lived machine (the browser VM): programs started
//! one after another or side by side on the same file systems, files put in
//! and taken out by the host. The native runner does not use this: there
//! the first process's exit ends the run.

use super::{Kernel, SpawnPath};
use crate::errno::Errno;
use crate::task::{ExitStatus, Pid};
use crate::vfs::file::{O_RDONLY, O_RDWR, O_WRONLY};
use crate::vfs::{FdTable, FileType, Io, OpenFile};
use crate::{Creds, ExecError};

/// The most a host read of a guest file returns (`read_file`): what the
/// page's "download" can hold in memory at once.
pub const READ_FILE_MAX: u64 = 1 << 30;

impl Kernel {
    /// Make this a long-lived machine: no process's exit ends [`Kernel::run`]
    /// (it goes on returning `Idle` with nothing to run); the statuses of
    /// the programs the host started are collected for [`Kernel::take_exits`],
    /// and orphans are reaped by the kernel.
    pub fn set_service_mode(&mut self) {
        self.service = true;
    }

    /// The top-level processes that ended since the last call.
    pub fn take_exits(&mut self) -> Vec<(Pid, ExitStatus)> {
        std::mem::take(&mut self.exits)
    }

    /// The processes created since the last call (pid, command name), for
    /// the host's process-creation callback.
    pub fn take_created(&mut self) -> Vec<(Pid, String)> {
        self.created.drain(..).collect()
    }

    pub(super) fn note_created(&mut self, pid: Pid) {
        /// A host that never asks must not make the list grow forever.
        const KEEP: usize = 256;
        if !self.service {
            return;
        }
        if self.created.len() == KEEP {
            self.created.pop_front();
        }
        let name = self.processes.get(&pid).map(|p| {
            let n = &p.prctl.name;
            String::from_utf8_lossy(&n[..n.iter().position(|&b| b == 0).unwrap_or(n.len())]).into_owned()
        });
        self.created.push_back((pid, name.unwrap_or_default()));
    }

    /// Whether any guest task is still alive.
    pub fn has_tasks(&self) -> bool {
        !self.tasks.is_empty()
    }

    /// Start a program, as [`Kernel::spawn_path`]; with `console` its
    /// standard streams are the console and it leads a session that the
    /// console controls (a login shell), else they are /dev/null.
    pub fn spawn_program(&mut self, s: &SpawnPath, console: bool) -> Result<Pid, ExecError> {
        self.spawn_console = console;
        let r = self.spawn_path(s);
        self.spawn_console = true;
        r
    }

    /// Mount an empty tmpfs of at most `max_bytes` on the directory `path`
    /// (the page's in-memory data mounts, filled with [`Kernel::write_file`]).
    /// Only before the first program starts: EBUSY after.
    pub fn mount_tmpfs(&mut self, path: &[u8], max_bytes: u64) -> Result<(), Errno> {
        let at = self.mount_point(path)?;
        let root = crate::fs::tmpfs::new_root(0o755, max_bytes, true, self.procfs.clone());
        let dev = root.stat().map_or(0, |s| s.dev);
        let vfs = std::rc::Rc::get_mut(&mut self.vfs).ok_or(Errno::EBUSY)?;
        vfs.mount(&at, root);
        self.note_mount("tmpfs", path, "tmpfs", "rw,nosuid,nodev,relatime", dev);
        Ok(())
    }

    /// Mount another ext2 image on the directory `path` (the page's extra
    /// ext2 mounts). It is written back with the root's (sync, the
    /// periodic writeback, shutdown). Only before the first program
    /// starts: EBUSY after.
    pub fn mount_image(&mut self, path: &[u8], fs: oxvm_ext2::Ext2<crate::fs::ext2fs::Device>) -> Result<(), Errno> {
        let at = self.mount_point(path)?;
        // vda is the root; vdb, vdc... the others, as a VM's disks.
        let n = u32::try_from(self.vfs.disks.len()).unwrap_or(u32::MAX);
        let (major, minor) = crate::fs::ext2fs::IMAGE_DEV;
        let dev = crate::vfs::makedev(major, minor.saturating_add(n.saturating_mul(16)));
        let m = crate::fs::ext2fs::Ext2Mount::new(fs, dev, self.procfs.clone());
        let vfs = std::rc::Rc::get_mut(&mut self.vfs).ok_or(Errno::EBUSY)?;
        vfs.disks.push(m.clone());
        vfs.mount(&at, m.root());
        let letter = char::from(b'a' + u8::try_from(n.min(25)).unwrap_or(25));
        self.note_mount(&format!("/dev/vd{letter}"), path, "ext2", "rw,relatime", dev);
        Ok(())
    }

    /// The directory `path` as a mount point (resolved from the root).
    /// The lookup's context holds the mount table: it is let go before the
    /// caller changes the table.
    pub(super) fn mount_point(&mut self, path: &[u8]) -> Result<crate::vfs::InodeRef, Errno> {
        self.proc_note_time();
        let at = {
            let fs = self.fs_context(b"/", Creds::default());
            fs.resolve(&fs.root, path, true)?.inode().clone()
        };
        if at.kind() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        Ok(at)
    }

    /// Add a mount to what /proc/mounts shows.
    pub(super) fn note_mount(&self, source: &str, path: &[u8], fstype: &str, options: &str, dev: u64) {
        let mut table = self.procfs.mounts();
        table.push(crate::fs::procfs::MountEntry {
            source: source.into(),
            target: String::from_utf8_lossy(path).into_owned(),
            fstype: fstype.into(),
            options: options.into(),
            dev,
        });
        self.procfs.set_mounts(table);
    }

    /// Descriptors 0, 1 and 2 on /dev/null.
    pub(super) fn null_files(&mut self) -> FdTable {
        let mut t = FdTable::default();
        let fs = self.fs_context(b"/", Creds::default());
        if let Ok(d) = fs.resolve(&fs.root, b"/dev/null", true) {
            for stream in 0..3 {
                let flags = if stream == 0 { O_RDONLY } else { O_WRONLY };
                if let Ok(ops) = d.inode().open(flags) {
                    let _ = t.install(stream, OpenFile::new(ops, Some(d.clone()), flags), false);
                }
            }
        }
        t
    }

    /// Put a file into the guest's file systems (a file dropped on the
    /// page): created or replaced at the absolute `path`, owned by
    /// `uid`/`gid`, with permission bits `mode`. The parent directory
    /// must exist.
    pub fn write_file(&mut self, path: &[u8], data: &[u8], uid: u32, gid: u32, mode: u32) -> Result<(), Errno> {
        self.proc_note_time();
        let fs = self.fs_context(b"/", Creds::default());
        let parent = fs.resolve_create(&fs.root, path, true)?;
        if parent.name.is_empty() || parent.trailing_slash {
            return Err(Errno::EISDIR);
        }
        let inode = match fs.lookup_in(&parent.dir, &parent.name) {
            Ok(d) if d.inode().kind() == FileType::Directory => return Err(Errno::EISDIR),
            Ok(d) if d.inode().kind() != FileType::Regular => return Err(Errno::EINVAL),
            Ok(d) => {
                let inode = d.inode().clone();
                inode.truncate(0)?;
                inode
            }
            Err(Errno::ENOENT) => parent.dir.inode().create(&parent.name, mode & 0o7777)?,
            Err(e) => return Err(e),
        };
        inode.chown(Some(uid), Some(gid))?;
        inode.chmod(mode & 0o7777)?;
        let file = inode.open(O_RDWR)?;
        let mut off = 0usize;
        while off < data.len() {
            match file.write(&mut *self.host, off as u64, &data[off..])? {
                Io::Done(0) | Io::Block => return Err(Errno::EIO),
                Io::Done(n) => off += n,
            }
        }
        file.sync()?;
        Ok(())
    }

    /// Make the directory `path` and any missing parents (a folder dropped
    /// on the page), the new ones owned by `uid`/`gid` with permission bits
    /// `mode`. An existing directory is fine; an existing non-directory is
    /// ENOTDIR (or EEXIST for the last component).
    pub fn make_dirs(&mut self, path: &[u8], uid: u32, gid: u32, mode: u32) -> Result<(), Errno> {
        self.proc_note_time();
        if path.first() != Some(&b'/') {
            return Err(Errno::EINVAL);
        }
        let fs = self.fs_context(b"/", Creds::default());
        let mut dir = fs.root.clone();
        let parts: Vec<&[u8]> = path.split(|&b| b == b'/').filter(|p| !p.is_empty()).collect();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            match fs.lookup_in(&dir, part) {
                Ok(d) => {
                    // Follow a symlink to a directory, as mkdir -p does.
                    let d = if d.inode().kind() == FileType::Symlink { fs.resolve(&dir, part, true)? } else { d };
                    if d.inode().kind() != FileType::Directory {
                        return Err(if last { Errno::EEXIST } else { Errno::ENOTDIR });
                    }
                    dir = d;
                }
                Err(Errno::ENOENT) => {
                    dir.inode().mkdir(part, mode & 0o7777)?;
                    let d = fs.lookup_in(&dir, part)?;
                    d.inode().chown(Some(uid), Some(gid))?;
                    d.inode().chmod(mode & 0o7777)?;
                    dir = d;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Read a whole regular file of the guest's (a download from the page).
    pub fn read_file(&mut self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        let fs = self.fs_context(b"/", Creds::default());
        let d = fs.resolve(&fs.root, path, true)?;
        match d.inode().kind() {
            FileType::Regular => {}
            FileType::Directory => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        }
        let size = d.inode().stat()?.size;
        if size > READ_FILE_MAX {
            return Err(Errno::EFBIG);
        }
        let file = d.inode().open(O_RDONLY)?;
        let mut out = vec![0u8; size as usize];
        let mut off = 0usize;
        while off < out.len() {
            match file.read(&mut *self.host, off as u64, &mut out[off..])? {
                Io::Done(0) => break,
                Io::Done(n) => off += n,
                Io::Block => return Err(Errno::EIO),
            }
        }
        out.truncate(off);
        Ok(out)
    }
}
