//! File attributes and data: chmod(2)/fchmod/fchmodat, truncate(2)/
//! ftruncate, fsync(2)/fdatasync, fadvise64(2), umask(2).

use super::{ret, Ctx, SyscallArgs, SyscallResult, AT_FDCWD, AT_SYMLINK_NOFOLLOW};
use crate::errno::Errno;
use crate::vfs::{Dentry, FileType, Timespec};

fn chmod(ctx: &mut Ctx, d: &Dentry, mode: u64) -> SyscallResult {
    let st = d.inode().stat()?;
    let c = ctx.process.creds;
    if c.euid != 0 && c.euid != st.uid {
        return Err(Errno::EPERM);
    }
    d.inode().chmod(mode as u32 & 0o7777)?;
    ret(0)
}

fn chmod_at(ctx: &mut Ctx, dirfd: i32, path: u64, mode: u64, flags: u32) -> SyscallResult {
    if flags & !AT_SYMLINK_NOFOLLOW != 0 {
        return Err(Errno::EINVAL);
    }
    let path = ctx.path(path)?;
    let d = ctx.lookup_at(dirfd, &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
    chmod(ctx, &d, mode)
}

pub fn sys_chmod(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    chmod_at(ctx, AT_FDCWD, a.arg(0), a.arg(1), 0)
}

pub fn sys_fchmodat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    // The syscall has no flags argument; fchmodat2 (452) adds one.
    chmod_at(ctx, a.arg(0) as i32, a.arg(1), a.arg(2), 0)
}

pub fn sys_fchmod(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let f = ctx.file(a.arg(0) as i32)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    let st = f.stat()?;
    let c = ctx.process.creds;
    if c.euid != 0 && c.euid != st.uid {
        return Err(Errno::EPERM);
    }
    if let Some(r) = f.ops.chmod(a.arg(1) as u32 & 0o7777) {
        r?;
        return ret(0);
    }
    let d = f.dentry.clone().ok_or(Errno::EPERM)?;
    chmod(ctx, &d, a.arg(1))
}

pub fn sys_truncate(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let path = ctx.path(a.arg(0))?;
    let len = a.arg(1) as i64;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let d = ctx.lookup_at(AT_FDCWD, &path, true)?;
    if d.inode().kind() == FileType::Directory {
        return Err(Errno::EISDIR);
    }
    let key = d.inode().stat().map(|st| (st.dev, st.ino));
    if let Ok(key) = key {
        if let Some(obj) = ctx.process.fs.vfs.page_cache.lookup_key(key) {
            let _ = obj.writeback(ctx.host, ctx.mem);
        }
    }
    d.inode().truncate(len as u64)?;
    if let Ok(key) = key {
        super::mm::truncated(ctx, key, len as u64);
    }
    ret(0)
}

pub fn sys_ftruncate(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let f = ctx.file(a.arg(0) as i32)?;
    let len = a.arg(1) as i64;
    if len < 0 || !f.writable() {
        return Err(if f.is_path_only() { Errno::EBADF } else { Errno::EINVAL });
    }
    let d = f.dentry.clone().ok_or(Errno::EINVAL)?;
    if d.inode().kind() != FileType::Regular {
        return Err(Errno::EINVAL);
    }
    let _ = super::mm::writeback_file(ctx, &f);
    match f.ops.truncate(len as u64) {
        Some(r) => r?,
        None => d.inode().truncate(len as u64)?,
    }
    if let Ok(st) = f.stat() {
        super::mm::truncated(ctx, (st.dev, st.ino), len as u64);
    }
    ret(0)
}

pub fn sys_fsync(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let f = ctx.file(a.arg(0) as i32)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    super::mm::writeback_file(ctx, &f)?;
    f.ops.sync()?;
    ret(0)
}

/// sync(2): disk images are written back and made durable; writes to a
/// host directory root went to the host filesystem, which owns durability
/// from there. sync(2) cannot fail.
pub fn sys_sync(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    for d in &ctx.process.fs.vfs.disks {
        let _ = d.sync();
    }
    ret(0)
}

/// syncfs(2): as sync, reporting a write-back error.
pub fn sys_syncfs(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    ctx.file(a.arg(0) as i32)?;
    for d in &ctx.process.fs.vfs.disks {
        d.sync()?;
    }
    ret(0)
}

/// readahead(2): a hint; the file must be readable and seekable.
pub fn sys_readahead(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let f = ctx.file(a.arg(0) as i32)?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    if !f.ops.seekable() {
        return Err(Errno::EINVAL);
    }
    ret(0)
}

/// sync_file_range(2): writes already reached the host; only the
/// arguments are checked.
pub fn sys_sync_file_range(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let f = ctx.file(a.arg(0) as i32)?;
    let (off, len, flags) = (a.arg(1) as i64, a.arg(2) as i64, a.arg(3));
    if flags & !7 != 0 || off < 0 || len < 0 || off.checked_add(len).is_none() {
        return Err(Errno::EINVAL);
    }
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    ret(0)
}

pub fn sys_fadvise64(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let f = ctx.file(a.arg(0) as i32)?;
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if a.arg(3) > 5 {
        return Err(Errno::EINVAL);
    }
    ret(0)
}

pub fn sys_umask(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let old = ctx.process.fs.umask;
    ctx.process.fs.umask = a.arg(0) as u32 & 0o777;
    ret(old as u64)
}

const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;

/// utimensat(2): times from a struct timespec[2] (NULL: both now), with
/// UTIME_NOW and UTIME_OMIT; a NULL path with a descriptor is futimens.
pub fn sys_utimensat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (dirfd, path, times, flags) = (a.arg(0) as i32, a.arg(1), a.arg(2), a.arg(3) as u32);
    if flags & !(AT_SYMLINK_NOFOLLOW | super::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let now = now(ctx);
    let mut set = [Some(now), Some(now)];
    let mut explicit = false;
    if times != 0 {
        for (i, t) in set.iter_mut().enumerate() {
            let sec: i64 = ctx.user().read_val(times.wrapping_add(16 * i as u64))?;
            let nsec: i64 = ctx.user().read_val(times.wrapping_add(16 * i as u64 + 8))?;
            *t = match nsec {
                UTIME_NOW => Some(now),
                UTIME_OMIT => None,
                0..=999_999_999 => {
                    explicit = true;
                    Some(Timespec { sec, nsec: nsec as u32 })
                }
                _ => return Err(Errno::EINVAL),
            };
        }
    }
    apply_times(ctx, dirfd, path, flags, set, explicit)
}

fn now(ctx: &mut Ctx) -> Timespec {
    let ns = ctx.host.now(crate::host::Clock::Realtime);
    Timespec { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as u32 }
}

/// Set the access and modification times of what (`dirfd`, `path`)
/// names (a NULL path: the descriptor itself).
fn apply_times(ctx: &mut Ctx, dirfd: i32, path: u64, flags: u32, set: [Option<Timespec>; 2], explicit: bool) -> SyscallResult {
    let d = if path == 0 {
        ctx.file(dirfd)?.dentry.clone().ok_or(Errno::EPERM)?
    } else {
        let p = ctx.path(path)?;
        if p.is_empty() && flags & super::AT_EMPTY_PATH != 0 {
            ctx.file(dirfd)?.dentry.clone().ok_or(Errno::EPERM)?
        } else {
            ctx.lookup_at(dirfd, &p, flags & AT_SYMLINK_NOFOLLOW == 0)?
        }
    };
    if set == [None, None] {
        return ret(0);
    }
    // Explicit times need ownership; "now" needs write access or ownership.
    let st = d.inode().stat()?;
    let c = ctx.process.creds;
    if c.euid != 0 && c.euid != st.uid && (explicit || !crate::vfs::permitted(&st, c.euid, c.egid, &ctx.process.cred.groups, 2)) {
        return Err(if explicit { Errno::EPERM } else { Errno::EACCES });
    }
    d.inode().set_times(set[0], set[1])?;
    ret(0)
}

/// The older calls with struct timeval[2] (utimes, futimesat): NULL
/// means now; microseconds must be in range.
fn timevals(ctx: &mut Ctx, times: u64) -> Result<([Option<Timespec>; 2], bool), Errno> {
    if times == 0 {
        let n = now(ctx);
        return Ok(([Some(n), Some(n)], false));
    }
    let mut set = [None, None];
    for (i, t) in set.iter_mut().enumerate() {
        let sec: i64 = ctx.user().read_val(times.wrapping_add(16 * i as u64))?;
        let usec: i64 = ctx.user().read_val(times.wrapping_add(16 * i as u64 + 8))?;
        if !(0..1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
        *t = Some(Timespec { sec, nsec: usec as u32 * 1000 });
    }
    Ok((set, true))
}

pub fn sys_utimes(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (set, explicit) = timevals(ctx, a.arg(1))?;
    apply_times(ctx, super::AT_FDCWD, a.arg(0), 0, set, explicit)
}

pub fn sys_futimesat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (set, explicit) = timevals(ctx, a.arg(2))?;
    apply_times(ctx, a.arg(0) as i32, a.arg(1), 0, set, explicit)
}

/// utime(2): struct utimbuf { actime, modtime } in whole seconds.
pub fn sys_utime(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let times = a.arg(1);
    if times == 0 {
        let n = now(ctx);
        return apply_times(ctx, super::AT_FDCWD, a.arg(0), 0, [Some(n), Some(n)], false);
    }
    let at: i64 = ctx.user().read_val(times)?;
    let mt: i64 = ctx.user().read_val(times.wrapping_add(8))?;
    let set = [Some(Timespec { sec: at, nsec: 0 }), Some(Timespec { sec: mt, nsec: 0 })];
    apply_times(ctx, super::AT_FDCWD, a.arg(0), 0, set, true)
}

/// Who may change what: root anything; the owner only the group, and
/// only to its own group (no supplementary groups yet).
fn chown(ctx: &mut Ctx, d: &Dentry, uid: u64, gid: u64) -> SyscallResult {
    let (uid, gid) = ((uid as u32 != u32::MAX).then_some(uid as u32), (gid as u32 != u32::MAX).then_some(gid as u32));
    let st = d.inode().stat()?;
    let c = ctx.process.creds;
    if c.euid != 0 {
        let uid_ok = uid.is_none_or(|u| u == st.uid);
        let gid_ok = gid.is_none_or(|g| g == st.gid || (c.euid == st.uid && ctx.process.cred.in_group(c.egid, g)));
        if c.euid != st.uid || !uid_ok || !gid_ok {
            return Err(Errno::EPERM);
        }
    }
    d.inode().chown(uid, gid)?;
    ret(0)
}

fn chown_at(ctx: &mut Ctx, dirfd: i32, path: u64, uid: u64, gid: u64, flags: u32) -> SyscallResult {
    if flags & !(AT_SYMLINK_NOFOLLOW | super::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = ctx.path(path)?;
    let d = if p.is_empty() && flags & super::AT_EMPTY_PATH != 0 {
        if dirfd == AT_FDCWD {
            ctx.process.fs.cwd.clone()
        } else {
            ctx.file(dirfd)?.dentry.clone().ok_or(Errno::EPERM)?
        }
    } else {
        ctx.lookup_at(dirfd, &p, flags & AT_SYMLINK_NOFOLLOW == 0)?
    };
    chown(ctx, &d, uid, gid)
}

pub fn sys_chown(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    chown_at(ctx, AT_FDCWD, a.arg(0), a.arg(1), a.arg(2), 0)
}

pub fn sys_lchown(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    chown_at(ctx, AT_FDCWD, a.arg(0), a.arg(1), a.arg(2), AT_SYMLINK_NOFOLLOW)
}

pub fn sys_fchownat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    chown_at(ctx, a.arg(0) as i32, a.arg(1), a.arg(2), a.arg(3), a.arg(4) as u32)
}

pub fn sys_fchown(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let f = ctx.file(a.arg(0) as i32)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    let d = f.dentry.clone().ok_or(Errno::EPERM)?;
    chown(ctx, &d, a.arg(1), a.arg(2))
}

/// fallocate(2): mode 0 (make sure [offset, offset+len) is part of the
/// file, growing it) and KEEP_SIZE (a no-op: space is not reserved); the
/// hole-punching, zeroing and collapsing modes are not offered.
pub fn sys_fallocate(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let f = ctx.file(a.arg(0) as i32)?;
    let (mode, off, len) = (a.arg(1), a.arg(2) as i64, a.arg(3) as i64);
    if off < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    // FALLOC_FL_KEEP_SIZE alone only preallocates: nothing to do here.
    const FALLOC_FL_KEEP_SIZE: u64 = 1;
    match mode {
        0 => {}
        FALLOC_FL_KEEP_SIZE => {}
        _ => return Err(Errno::EOPNOTSUPP),
    }
    let d = f.dentry.clone().ok_or(Errno::ESPIPE)?;
    match d.inode().kind() {
        FileType::Regular => {}
        FileType::Directory => return Err(Errno::EISDIR),
        _ => return Err(Errno::ENODEV),
    }
    let end = off.checked_add(len).ok_or(Errno::EFBIG)? as u64;
    if mode == 0 && end > f.stat()?.size {
        match f.ops.truncate(end) {
            Some(r) => r?,
            None => d.inode().truncate(end)?,
        }
    }
    ret(0)
}
