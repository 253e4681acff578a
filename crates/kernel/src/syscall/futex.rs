//! futex(2), for a process with one task: nobody else can change the
//! word or wake the caller, so a wake finds no waiters and a wait either
//! fails at once (the word changed: EAGAIN; a zero timeout: ETIMEDOUT) or
//! waits forever, as it would on Linux. Real wait queues come with
//! threads.

use super::{ret, Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_CMD_MASK: u64 = 0x7f;

pub fn sys_futex(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (uaddr, op, val, timeout) = (a.arg(0), a.arg(1), a.arg(2) as u32, a.arg(3));
    if !uaddr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    match op & FUTEX_CMD_MASK {
        FUTEX_WAKE | FUTEX_WAKE_BITSET | FUTEX_REQUEUE | FUTEX_CMP_REQUEUE | FUTEX_WAKE_OP => {
            ctx.user().read_val::<u32>(uaddr)?;
            ret(0)
        }
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            if ctx.user().read_val::<u32>(uaddr)? != val {
                return Err(Errno::EAGAIN);
            }
            if timeout != 0 {
                let sec: i64 = ctx.user().read_val(timeout)?;
                let nsec: i64 = ctx.user().read_val(timeout.wrapping_add(8))?;
                if sec == 0 && nsec == 0 {
                    return Err(Errno::ETIMEDOUT);
                }
            }
            // Nothing can ever wake this task.
            Ok(SyscallReturn::Block)
        }
        _ => Err(Errno::ENOSYS),
    }
}
