//! exit(2), exit_group(2), and the other calls that change the set of
//! tasks (clone, fork, vfork, wait4, waitid, futex): these need the whole
//! kernel, not one process, so `Kernel::run` handles them itself
//! (`kernel/process.rs`) before the dispatcher sees them.

use super::{Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;

/// The table's handler for the calls the kernel intercepts; never reached
/// through the dispatcher.
pub fn in_kernel(_ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    Err(Errno::ENOSYS)
}

/// Syscall numbers `Kernel::run` handles itself (timer_create among them:
/// a SIGEV_THREAD_ID timer names another thread of the process).
/// clock_gettime/clock_getres reach it too when the clock id names a
/// thread's or process's CPU clock (`kernel/cpuclock.rs`).
pub const IN_KERNEL: [u64; 22] = [56, 57, 58, 60, 61, 62, 109, 112, 121, 124, 129, 130, 200, 202, 222, 231, 234, 247, 297, 424, 434, 435];

/// A call oxvm knowingly does not offer: ENOSYS without the "unsupported"
/// warning, because its callers treat ENOSYS as "use the fallback". The
/// table's note says what is missing.
pub fn enosys_fallback(_ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    Err(Errno::ENOSYS)
}
