//! Filesystem implementations, one folder (or file) each, behind the
//! [`crate::vfs`] traits, and the standard mounts every root gets.

pub mod devpts;
pub mod devtmpfs;
pub mod ext2fs;
#[cfg(target_os = "linux")]
pub mod hostfs;
pub mod pipe;
pub mod procfs;
pub mod sysfs;
pub mod tmpfs;
pub mod webfs;

use crate::vfs::{FileType, InodeRef, Vfs};
use procfs::{MountEntry, ProcRegistry};

/// Mount what a Debian container sees over the root's directories (those
/// that exist): devtmpfs on /dev with a tmpfs on /dev/shm, procfs on
/// /proc, sysfs on /sys. /run and /tmp stay the root's own directories,
/// as in a Docker container. Returns the mount table for /proc/mounts.
pub fn mount_standard(
    vfs: &mut Vfs,
    root: &InodeRef,
    reg: &std::rc::Rc<ProcRegistry>,
    ttys: Option<std::rc::Rc<crate::tty::TtyRegistry>>,
) -> Vec<MountEntry> {
    let entry = |source: &str, target: &str, fstype: &str, options: &str, dev: u64| MountEntry {
        source: source.into(),
        target: target.into(),
        fstype: fstype.into(),
        options: options.into(),
        dev,
    };
    let dev_of = |i: &InodeRef| i.stat().map_or(0, |s| s.dev);
    let (source, fstype) = if root.as_any().is::<ext2fs::Ext2Inode>() { ("/dev/vda1", "ext2") } else { ("/dev/root", "ext4") };
    let ro = root.statfs().is_ok_and(|s| s.flags & 1 != 0);
    let mut table = vec![entry(source, "/", fstype, if ro { "ro,relatime" } else { "rw,relatime" }, dev_of(root))];
    // memfd_create's files: no size limit but memory, as Linux's internal
    // shm mount.
    vfs.anon_tmpfs = Some(tmpfs::new_root(0o1777, u64::MAX / 2, true, reg.clone()));
    let dir = |name: &[u8]| root.lookup(name).ok().filter(|d| d.kind() == FileType::Directory);
    if let Some(proc) = dir(b"proc") {
        vfs.mount(&proc, procfs::new_root(reg.clone()));
        table.push(entry("proc", "/proc", "proc", "rw,nosuid,nodev,noexec,relatime", procfs::DEV));
    }
    if let Some(dev) = dir(b"dev") {
        // Docker's default /dev/shm: 64 MiB.
        let shm = tmpfs::new_root(0o1777, 64 << 20, true, reg.clone());
        let shm_dev = dev_of(&shm);
        vfs.mount(&dev, devtmpfs::new_root(Some(dev.clone()), Some(shm), ttys));
        table.push(entry("devtmpfs", "/dev", "devtmpfs", "rw,nosuid,relatime,mode=755", devtmpfs::DEV));
        table.push(entry("shm", "/dev/shm", "tmpfs", "rw,nosuid,nodev,noexec,relatime,size=65536k", shm_dev));
    }
    if let Some(sys) = dir(b"sys") {
        vfs.mount(&sys, sysfs::new_root());
        table.push(entry("sysfs", "/sys", "sysfs", "ro,nosuid,nodev,noexec,relatime", sysfs::DEV));
    }
    table
}
