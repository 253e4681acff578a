//! ioctl(2): the generic requests here, the rest by the file.

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;

pub const FIONCLEX: u32 = 0x5450;
pub const FIOCLEX: u32 = 0x5451;
pub const FIONBIO: u32 = 0x5421;

pub fn sys_ioctl(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (fd, cmd, arg) = (a.arg(0) as i32, a.arg(1) as u32, a.arg(2));
    let f = ctx.file(fd)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    match cmd {
        FIOCLEX | FIONCLEX => {
            ctx.process.files.borrow_mut().set_cloexec(fd, cmd == FIOCLEX)?;
            ret(0)
        }
        FIONBIO => {
            let on = ctx.user().read_val::<i32>(arg)? != 0;
            let nb = crate::vfs::file::O_NONBLOCK;
            f.set_status_flags(if on { f.flags() | nb } else { f.flags() & !nb });
            ret(0)
        }
        _ => {
            if let Some(r) = f.ops.ioctl_open(cmd, arg) {
                // The new descriptor's flags come in `arg` (open(2) flags).
                let flags = arg as u32;
                let file = crate::vfs::OpenFile::new(r?, None, flags);
                let fd = ctx.process.files.borrow_mut().insert(file, flags & crate::vfs::file::O_CLOEXEC != 0)?;
                return ret(fd as u64);
            }
            let mut us = ctx.process.mm.user(ctx.mem);
            match f.ops.ioctl(ctx.host, &mut us, cmd, arg) {
                // A job-control check stopped the caller: the call restarts
                // once it continues.
                Err(e) if e == crate::tty::ERESTARTSYS => Ok(super::SyscallReturn::Block),
                r => ret(r?),
            }
        }
    }
}
