//! socket(2): no address family exists yet. Failing cleanly lets glibc's
//! optional users (the nscd client, syslog) fall back as they do when a
//! service is absent.

use super::{Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;

pub fn sys_socket(_ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    Err(Errno::EAFNOSUPPORT)
}
