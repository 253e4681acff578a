//! stat(2), fstat(2), lstat(2), newfstatat(2), statx(2).

use super::{ret, Ctx, SyscallArgs, SyscallResult, AT_EMPTY_PATH, AT_FDCWD, AT_NO_AUTOMOUNT, AT_STATX_SYNC_TYPE, AT_SYMLINK_NOFOLLOW};
use crate::errno::Errno;
use crate::vfs::{dev_major, dev_minor, Stat, Timespec};

/// struct stat as x86-64 Linux lays it out (144 bytes).
pub fn stat_bytes(s: &Stat) -> [u8; 144] {
    let mut b = [0u8; 144];
    let mut put = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(0, s.dev);
    put(8, s.ino);
    put(16, s.nlink);
    put(24, s.mode as u64 | ((s.uid as u64) << 32));
    put(32, s.gid as u64);
    put(40, s.rdev);
    put(48, s.size);
    put(56, s.blksize);
    put(64, s.blocks);
    for (i, t) in [s.atime, s.mtime, s.ctime].iter().enumerate() {
        put(72 + 16 * i, t.sec as u64);
        put(80 + 16 * i, t.nsec as u64);
    }
    b
}

pub const STATX_BASIC_STATS: u32 = 0x7ff;
pub const STATX_BTIME: u32 = 0x800;

/// struct statx (256 bytes).
pub fn statx_bytes(s: &Stat) -> [u8; 256] {
    let mut b = [0u8; 256];
    let put32 = |b: &mut [u8; 256], off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    let put64 = |b: &mut [u8; 256], off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    let time = |b: &mut [u8; 256], off: usize, t: Timespec| {
        b[off..off + 8].copy_from_slice(&t.sec.to_le_bytes());
        b[off + 8..off + 12].copy_from_slice(&t.nsec.to_le_bytes());
    };
    let mask = STATX_BASIC_STATS | if s.btime.is_some() { STATX_BTIME } else { 0 };
    put32(&mut b, 0, mask);
    put32(&mut b, 4, s.blksize as u32);
    put32(&mut b, 16, s.nlink as u32);
    put32(&mut b, 20, s.uid);
    put32(&mut b, 24, s.gid);
    b[28..30].copy_from_slice(&(s.mode as u16).to_le_bytes());
    put64(&mut b, 32, s.ino);
    put64(&mut b, 40, s.size);
    put64(&mut b, 48, s.blocks);
    time(&mut b, 64, s.atime);
    if let Some(bt) = s.btime {
        time(&mut b, 80, bt);
    }
    time(&mut b, 96, s.ctime);
    time(&mut b, 112, s.mtime);
    put32(&mut b, 128, dev_major(s.rdev));
    put32(&mut b, 132, dev_minor(s.rdev));
    put32(&mut b, 136, dev_major(s.dev));
    put32(&mut b, 140, dev_minor(s.dev));
    b
}

/// The stat of what (dirfd, path, flags) names, for the *at calls.
fn stat_at(ctx: &mut Ctx, dirfd: i32, path_addr: u64, flags: u32) -> Result<Stat, Errno> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = ctx.path(path_addr)?;
    if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        if dirfd == AT_FDCWD {
            return ctx.process.fs.cwd.inode().stat();
        }
        return ctx.file(dirfd)?.stat();
    }
    ctx.lookup_at(dirfd, &path, flags & AT_SYMLINK_NOFOLLOW == 0)?.inode().stat()
}

fn put_stat(ctx: &mut Ctx, addr: u64, st: &Stat) -> SyscallResult {
    ctx.user().write_bytes(addr, &stat_bytes(st))?;
    ret(0)
}

pub fn sys_stat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let st = stat_at(ctx, AT_FDCWD, a.arg(0), 0)?;
    put_stat(ctx, a.arg(1), &st)
}

pub fn sys_lstat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let st = stat_at(ctx, AT_FDCWD, a.arg(0), AT_SYMLINK_NOFOLLOW)?;
    put_stat(ctx, a.arg(1), &st)
}

pub fn sys_fstat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let st = ctx.file(a.arg(0) as i32)?.stat()?;
    put_stat(ctx, a.arg(1), &st)
}

pub fn sys_newfstatat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let st = stat_at(ctx, a.arg(0) as i32, a.arg(1), a.arg(3) as u32)?;
    put_stat(ctx, a.arg(2), &st)
}

pub fn sys_statx(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (flags, mask) = (a.arg(2) as u32, a.arg(3) as u32);
    if mask & 0x8000_0000 != 0 || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE {
        return Err(Errno::EINVAL);
    }
    let st = stat_at(ctx, a.arg(0) as i32, a.arg(1), flags)?;
    ctx.user().write_bytes(a.arg(4), &statx_bytes(&st))?;
    ret(0)
}
