//! signalfd(2), signalfd4(2). The descriptor is `event::signalfd`.

use std::rc::Rc;

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;
use crate::event::signalfd::SignalFd;
use crate::vfs::file::{O_CLOEXEC, O_NONBLOCK, O_RDWR};
use crate::vfs::OpenFile;

fn signalfd(ctx: &mut Ctx, ufd: i32, user_mask: u64, size: u64, flags: u32) -> SyscallResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = ctx.user().read_val(user_mask)?;
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    // SIGKILL and SIGSTOP cannot be read: they are never blocked.
    let mask = mask & !super::signal::UNBLOCKABLE;
    if ufd == -1 {
        let ops = Rc::new(SignalFd::new(mask, ctx.sig.pending.clone(), ctx.process.pending.clone()));
        let f = OpenFile::new(ops, None, O_RDWR | (flags & O_NONBLOCK));
        let fd = ctx.process.files.borrow_mut().insert(f, flags & O_CLOEXEC != 0)?;
        return ret(fd as u64);
    }
    let f = ctx.process.files.borrow().get(ufd)?;
    let s = f.ops.as_any().and_then(|a| a.downcast_ref::<SignalFd>()).ok_or(Errno::EINVAL)?;
    s.set_mask(mask);
    ret(ufd as u64)
}

pub fn sys_signalfd(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    signalfd(ctx, a.arg(0) as i32, a.arg(1), a.arg(2), 0)
}

pub fn sys_signalfd4(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    signalfd(ctx, a.arg(0) as i32, a.arg(1), a.arg(2), a.arg(3) as u32)
}
