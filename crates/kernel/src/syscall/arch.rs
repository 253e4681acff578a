//! arch_prctl(2): the FS and GS segment bases (TLS).

use oxvm_cpu::mem::USER_END;

use super::{Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;
use crate::mm::UserPtr;

pub const ARCH_SET_GS: u64 = 0x1001;
pub const ARCH_SET_FS: u64 = 0x1002;
pub const ARCH_GET_FS: u64 = 0x1003;
pub const ARCH_GET_GS: u64 = 0x1004;

pub fn sys_arch_prctl(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (code, addr) = (a.arg(0), a.arg(1));
    match code {
        ARCH_SET_FS | ARCH_SET_GS => {
            // A base must be a user address, as Linux checks against
            // TASK_SIZE_MAX.
            if addr >= USER_END {
                return Err(Errno::EPERM);
            }
            if code == ARCH_SET_FS {
                ctx.cpu.fs_base = addr;
            } else {
                ctx.cpu.gs_base = addr;
            }
        }
        ARCH_GET_FS | ARCH_GET_GS => {
            let base = if code == ARCH_GET_FS { ctx.cpu.fs_base } else { ctx.cpu.gs_base };
            UserPtr::<u64>::new(addr).write(&mut ctx.user(), &base)?;
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(SyscallReturn::Return(0))
}
