//! exit(2), exit_group(2).

use super::{Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::task::ExitStatus;

/// With one task per process, ending the task ends the process.
pub fn sys_exit(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    sys_exit_group(ctx, a)
}

pub fn sys_exit_group(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    ctx.process.exit = Some(ExitStatus::Code(a.arg(0) as u8));
    Ok(SyscallReturn::NoReturn)
}
