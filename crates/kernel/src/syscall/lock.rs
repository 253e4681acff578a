//! flock(2) and fcntl(2)'s record-lock commands (F_GETLK, F_SETLK,
//! F_SETLKW and the OFD variants), over [`crate::vfs::lock`].

use std::rc::Rc;

use super::{ret, Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;
use crate::vfs::lock::{InodeId, Kind, Owner};
use crate::vfs::OpenFile;

const LOCK_SH: u64 = 1;
const LOCK_EX: u64 = 2;
const LOCK_NB: u64 = 4;
const LOCK_UN: u64 = 8;

pub const F_GETLK: u64 = 5;
pub const F_SETLK: u64 = 6;
pub const F_SETLKW: u64 = 7;
pub const F_OFD_GETLK: u64 = 36;
pub const F_OFD_SETLK: u64 = 37;
pub const F_OFD_SETLKW: u64 = 38;

const F_RDLCK: i16 = 0;
const F_WRLCK: i16 = 1;
const F_UNLCK: i16 = 2;

/// struct flock on x86-64: l_type, l_whence (i16 each), padding, l_start,
/// l_len (i64), l_pid (i32), padding.
const FLOCK_SIZE: usize = 32;

fn inode_of(f: &OpenFile) -> Result<InodeId, Errno> {
    let st = f.stat()?;
    Ok((st.dev, st.ino))
}

/// Wait for a release in the lock table: the call restarts from scratch.
fn block(ctx: &Ctx) -> SyscallResult {
    ctx.wait_on(vec![ctx.process.fs.vfs.locks.queue()], true);
    Ok(SyscallReturn::Block)
}

pub fn sys_flock(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (fd, op) = (a.arg(0) as i32, a.arg(1));
    let f = ctx.file(fd)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    let kind = match op & !LOCK_NB {
        LOCK_SH => Some(Kind::Read),
        LOCK_EX => Some(Kind::Write),
        LOCK_UN => None,
        _ => return Err(Errno::EINVAL),
    };
    let table = ctx.process.fs.vfs.locks.clone();
    let ino = inode_of(&f)?;
    let owner = Owner::Flock(f.lock_key());
    match kind {
        None => table.unlock(ino, owner, 0, u64::MAX),
        Some(kind) => {
            if table.set(ino, owner, kind, 0, u64::MAX).is_err() {
                return if op & LOCK_NB != 0 { Err(Errno::EAGAIN) } else { block(ctx) };
            }
            f.note_locks(&table);
        }
    }
    ret(0)
}

/// The byte range a struct flock names, as (start, end inclusive).
fn range(f: &OpenFile, whence: i16, start: i64, len: i64) -> Result<(u64, u64), Errno> {
    let base = match whence {
        0 => 0,
        1 => f.offset() as i64,
        2 => f.stat()?.size as i64,
        _ => return Err(Errno::EINVAL),
    };
    let start = base.checked_add(start).ok_or(Errno::EOVERFLOW)?;
    let (s, e) = match len {
        0 => (start, i64::MAX),
        l if l > 0 => (start, start.checked_add(l - 1).ok_or(Errno::EOVERFLOW)?),
        l => (start.checked_add(l).ok_or(Errno::EINVAL)?, start - 1),
    };
    if s < 0 {
        return Err(Errno::EINVAL);
    }
    // "To the end of the file, however it grows" is the whole range.
    Ok((s as u64, if e == i64::MAX { u64::MAX } else { e as u64 }))
}

/// fcntl's lock commands on descriptor `fd` (its open file `f`).
pub fn fcntl_lock(ctx: &mut Ctx, f: Rc<OpenFile>, cmd: u64, arg: u64) -> SyscallResult {
    let mut raw = [0u8; FLOCK_SIZE];
    ctx.user().read_bytes(arg, &mut raw)?;
    let l_type = i16::from_le_bytes([raw[0], raw[1]]);
    let whence = i16::from_le_bytes([raw[2], raw[3]]);
    let start = i64::from_le_bytes(raw[8..16].try_into().unwrap());
    let len = i64::from_le_bytes(raw[16..24].try_into().unwrap());
    let l_pid = i32::from_le_bytes(raw[24..28].try_into().unwrap());
    let ofd = matches!(cmd, F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW);
    if ofd && l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    let owner = if ofd { Owner::Ofd(f.lock_key()) } else { Owner::Posix(ctx.process.pid) };
    let kind = match l_type {
        F_RDLCK => Some(Kind::Read),
        F_WRLCK => Some(Kind::Write),
        F_UNLCK => None,
        _ => return Err(Errno::EINVAL),
    };
    let (s, e) = range(&f, whence, start, len)?;
    let table = ctx.process.fs.vfs.locks.clone();
    let ino = inode_of(&f)?;
    if matches!(cmd, F_GETLK | F_OFD_GETLK) {
        let Some(kind) = kind else { return Err(Errno::EINVAL) };
        let mut out = raw;
        match table.conflict(ino, owner, kind, s, e) {
            None => out[0..2].copy_from_slice(&F_UNLCK.to_le_bytes()),
            Some(c) => {
                let t = if c.kind == Kind::Write { F_WRLCK } else { F_RDLCK };
                out[0..2].copy_from_slice(&t.to_le_bytes());
                out[2..4].copy_from_slice(&0i16.to_le_bytes());
                out[8..16].copy_from_slice(&(c.start as i64).to_le_bytes());
                let l = if c.end == u64::MAX { 0 } else { (c.end - c.start + 1) as i64 };
                out[16..24].copy_from_slice(&l.to_le_bytes());
                let pid = match c.owner {
                    Owner::Posix(p) => p as i32,
                    _ => -1,
                };
                out[24..28].copy_from_slice(&pid.to_le_bytes());
            }
        }
        ctx.user().write_bytes(arg, &out)?;
        return ret(0);
    }
    match kind {
        None => table.unlock(ino, owner, s, e),
        Some(kind) => {
            // A read lock needs a readable descriptor, a write lock a
            // writable one.
            if (kind == Kind::Read && !f.readable()) || (kind == Kind::Write && !f.writable()) {
                return Err(Errno::EBADF);
            }
            if table.set(ino, owner, kind, s, e).is_err() {
                return if matches!(cmd, F_SETLKW | F_OFD_SETLKW) { block(ctx) } else { Err(Errno::EAGAIN) };
            }
            if ofd {
                f.note_locks(&table);
            }
        }
    }
    ret(0)
}

/// A process closed `f`: its POSIX locks on that file are released.
pub fn on_close(ctx: &Ctx, f: &OpenFile) {
    if let Ok(ino) = inode_of(f) {
        ctx.process.fs.vfs.locks.release_posix(ino, ctx.process.pid);
    }
}
