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
            let mut us = ctx.process.mm.user(ctx.mem);
            ret(f.ops.ioctl(ctx.host, &mut us, cmd, arg)?)
        }
    }
}
