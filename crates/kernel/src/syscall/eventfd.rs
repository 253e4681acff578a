//! eventfd(2), eventfd2(2). The counter is `event::eventfd`.

use std::rc::Rc;

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;
use crate::event::eventfd::EventFd;
use crate::vfs::file::{O_CLOEXEC, O_NONBLOCK, O_RDWR};
use crate::vfs::OpenFile;

const EFD_SEMAPHORE: u32 = 1;

fn create(ctx: &mut Ctx, initval: u32, flags: u32) -> SyscallResult {
    if flags & !(EFD_SEMAPHORE | O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let ops = Rc::new(EventFd::new(u64::from(initval), flags & EFD_SEMAPHORE != 0));
    let f = OpenFile::new(ops, None, O_RDWR | (flags & O_NONBLOCK));
    let fd = ctx.process.files.borrow_mut().insert(f, flags & O_CLOEXEC != 0)?;
    ret(fd as u64)
}

pub fn sys_eventfd(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    create(ctx, a.arg(0) as u32, 0)
}

pub fn sys_eventfd2(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    create(ctx, a.arg(0) as u32, a.arg(1) as u32)
}
