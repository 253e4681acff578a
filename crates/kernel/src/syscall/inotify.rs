//! inotify_init(2), inotify_init1(2), inotify_add_watch(2),
//! inotify_rm_watch(2): real descriptors and watch ids, but no events
//! (see `event::inotify`).

use std::rc::Rc;

use super::{ret, Ctx, SyscallArgs, SyscallResult, AT_FDCWD};
use crate::errno::Errno;
use crate::event::inotify::{Inotify, IN_ALL_EVENTS, IN_DONT_FOLLOW, IN_MASK_ADD, IN_MASK_CREATE, IN_ONLYDIR};
use crate::vfs::file::{O_CLOEXEC, O_NONBLOCK, O_RDONLY};
use crate::vfs::{FileType, OpenFile};

fn init(ctx: &mut Ctx, flags: u32) -> SyscallResult {
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = OpenFile::new(Rc::new(Inotify::default()), None, O_RDONLY | (flags & O_NONBLOCK));
    let fd = ctx.process.files.borrow_mut().insert(f, flags & O_CLOEXEC != 0)?;
    ret(fd as u64)
}

pub fn sys_inotify_init(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    init(ctx, 0)
}

pub fn sys_inotify_init1(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    init(ctx, a.arg(0) as u32)
}

pub fn sys_inotify_add_watch(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (fd, path, mask) = (a.arg(0) as i32, a.arg(1), a.arg(2) as u32);
    if mask & IN_MASK_ADD != 0 && mask & IN_MASK_CREATE != 0 {
        return Err(Errno::EINVAL);
    }
    if mask & IN_ALL_EVENTS == 0 {
        return Err(Errno::EINVAL);
    }
    let f = ctx.process.files.borrow().get(fd)?;
    let ino = f.ops.as_any().and_then(|a| a.downcast_ref::<Inotify>()).ok_or(Errno::EINVAL)?;
    let path = ctx.path(path)?;
    let d = ctx.lookup_at(AT_FDCWD, &path, mask & IN_DONT_FOLLOW == 0)?;
    if mask & IN_ONLYDIR != 0 && d.inode().kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    let wd = ino.add_watch(d.inode().id(), mask)?;
    ret(wd as u64)
}

pub fn sys_inotify_rm_watch(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let f = ctx.process.files.borrow().get(a.arg(0) as i32)?;
    let ino = f.ops.as_any().and_then(|a| a.downcast_ref::<Inotify>()).ok_or(Errno::EINVAL)?;
    ino.rm_watch(a.arg(1) as i32)?;
    ret(0)
}
