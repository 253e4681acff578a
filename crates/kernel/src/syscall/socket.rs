//! socket(2): no address family exists yet. Failing cleanly lets glibc's
//! optional users (the nscd client, syslog) fall back as they do when a
//! service is absent.

use super::{Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;

pub fn sys_socket(_ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    Err(Errno::EAFNOSUPPORT)
}

/// getsockname(2), getpeername(2), getsockopt(2) and friends: with no
/// sockets, any valid descriptor is not a socket (bash asks getpeername
/// whether stdin is one).
pub fn sys_not_socket(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    ctx.file(a.arg(0) as i32)?;
    Err(Errno::ENOTSOCK)
}
