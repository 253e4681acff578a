//! dup(2), dup2(2), dup3(2), fcntl(2).

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;
use crate::fs::pipe::PipeEnd;
use crate::vfs::file::O_CLOEXEC;
use crate::vfs::FileType;

pub const F_DUPFD: u64 = 0;
pub const F_GETFD: u64 = 1;
pub const F_SETFD: u64 = 2;
pub const F_GETFL: u64 = 3;
pub const F_SETFL: u64 = 4;
pub use super::lock::{F_GETLK, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_SETLK, F_SETLKW};
pub const F_DUPFD_CLOEXEC: u64 = 1030;
pub const F_NOTIFY: u64 = 1026;
pub const F_SETPIPE_SZ: u64 = 1031;
pub const F_GETPIPE_SZ: u64 = 1032;
/// dnotify's "keep the registration after the first event" bit: alone
/// (no event bits) F_NOTIFY only drops the registrations.
const DN_MULTISHOT: u64 = 0x8000_0000;
const CAP_SYS_RESOURCE: u32 = 24;
const FD_CLOEXEC: u64 = 1;

pub fn sys_dup(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let f = ctx.file(a.arg(0) as i32)?;
    let fd = ctx.process.files.borrow_mut().insert(f, false)?;
    ret(fd as u64)
}

fn dup_to(ctx: &mut Ctx, old: i32, new: i32, cloexec: bool) -> SyscallResult {
    let f = ctx.file(old)?;
    ctx.process.files.borrow_mut().install(new, f, cloexec)?;
    ret(new as u64)
}

pub fn sys_dup2(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (old, new) = (a.arg(0) as i32, a.arg(1) as i32);
    if old == new {
        ctx.file(old)?;
        return ret(new as u64);
    }
    dup_to(ctx, old, new, false)
}

pub fn sys_dup3(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (old, new, flags) = (a.arg(0) as i32, a.arg(1) as i32, a.arg(2) as u32);
    if flags & !O_CLOEXEC != 0 || old == new {
        return Err(Errno::EINVAL);
    }
    dup_to(ctx, old, new, flags & O_CLOEXEC != 0)
}

pub fn sys_fcntl(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (fd, cmd, arg) = (a.arg(0) as i32, a.arg(1), a.arg(2));
    let f = ctx.file(fd)?;
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let min = usize::try_from(arg as i32).map_err(|_| Errno::EINVAL)?;
            let fd = ctx.process.files.borrow_mut().insert_from(min, f, cmd == F_DUPFD_CLOEXEC)?;
            ret(fd as u64)
        }
        F_GETFD => ret(ctx.process.files.borrow().cloexec(fd)? as u64),
        F_SETFD => {
            ctx.process.files.borrow_mut().set_cloexec(fd, arg & FD_CLOEXEC != 0)?;
            ret(0)
        }
        F_GETFL => ret(f.flags() as u64),
        F_SETFL => {
            f.set_status_flags(arg as u32);
            ret(0)
        }
        F_GETLK | F_SETLK | F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW => super::lock::fcntl_lock(ctx, f, cmd, arg),
        F_NOTIFY => {
            // No event bits: drop this descriptor's registrations (it has
            // none), on any file. Delivering dnotify's signals is not
            // implemented; like a kernel built without CONFIG_DNOTIFY,
            // asking a directory for events is EINVAL.
            if arg as u32 as u64 & !DN_MULTISHOT == 0 {
                return ret(0);
            }
            if f.stat()?.file_type() != Some(FileType::Directory) {
                return Err(Errno::ENOTDIR);
            }
            Err(Errno::EINVAL)
        }
        F_GETPIPE_SZ | F_SETPIPE_SZ => {
            let pipe = f.ops.as_any().and_then(|a| a.downcast_ref::<PipeEnd>()).ok_or(Errno::EBADF)?;
            if cmd == F_GETPIPE_SZ {
                return ret(pipe.size() as u64);
            }
            let privileged = ctx.process.cred.capable(CAP_SYS_RESOURCE);
            ret(pipe.set_size(arg as u32, privileged)? as u64)
        }
        _ => Err(Errno::EINVAL),
    }
}
