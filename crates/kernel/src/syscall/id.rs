//! Identity: getpid(2), getppid(2), gettid(2), getuid(2), geteuid(2),
//! getgid(2), getegid(2), getgroups(2).

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;

pub fn sys_getpid(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.process.pid as u64)
}

pub fn sys_getppid(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.process.ppid as u64)
}

pub fn sys_gettid(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.tid as u64)
}

pub fn sys_getuid(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.process.creds.uid as u64)
}

pub fn sys_geteuid(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.process.creds.euid as u64)
}

pub fn sys_getgid(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.process.creds.gid as u64)
}

pub fn sys_getegid(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.process.creds.egid as u64)
}

/// No supplementary groups.
pub fn sys_getgroups(_ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    if (a.arg(0) as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    ret(0)
}

/// getpgrp(2). setpgid, getpgid, setsid and getsid look at other
/// processes: the run loop handles them (`kernel/job.rs`).
pub fn sys_getpgrp(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(u64::from(ctx.process.job.pgid))
}

fn put_ids(ctx: &mut Ctx, addrs: [u64; 3], ids: [u32; 3]) -> SyscallResult {
    for (a, v) in addrs.iter().zip(ids) {
        ctx.user().write_val(*a, &v)?;
    }
    ret(0)
}

/// getresuid(2): real, effective, saved (the saved id is the effective
/// one: nothing changes credentials yet).
pub fn sys_getresuid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let c = ctx.process.creds;
    put_ids(ctx, [a.arg(0), a.arg(1), a.arg(2)], [c.uid, c.euid, c.euid])
}

pub fn sys_getresgid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let c = ctx.process.creds;
    put_ids(ctx, [a.arg(0), a.arg(1), a.arg(2)], [c.gid, c.egid, c.egid])
}

/// The new (real, effective) pair for setresuid/setresgid-style calls:
/// u32::MAX (-1) keeps a value. Without privilege (euid 0) each new value
/// must be the current real or effective one (no saved id is tracked, so
/// it is taken to be the effective one, as after exec without set-id).
fn new_ids(privileged: bool, cur: (u32, u32), want: [u32; 3]) -> Result<(u32, u32), Errno> {
    const KEEP: u32 = u32::MAX;
    if !privileged && want.iter().any(|&w| w != KEEP && w != cur.0 && w != cur.1) {
        return Err(Errno::EPERM);
    }
    let pick = |w: u32, old: u32| if w == KEEP { old } else { w };
    Ok((pick(want[0], cur.0), pick(want[1], cur.1)))
}

fn set_uids(ctx: &mut Ctx, want: [u32; 3]) -> SyscallResult {
    let c = &mut ctx.process.creds;
    (c.uid, c.euid) = new_ids(c.euid == 0, (c.uid, c.euid), want)?;
    ctx.process.fs.walker.0 = ctx.process.creds.euid;
    ret(0)
}

fn set_gids(ctx: &mut Ctx, want: [u32; 3]) -> SyscallResult {
    let c = &mut ctx.process.creds;
    (c.gid, c.egid) = new_ids(c.euid == 0, (c.gid, c.egid), want)?;
    ctx.process.fs.walker.1 = ctx.process.creds.egid;
    ret(0)
}

pub fn sys_setresuid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    set_uids(ctx, [a.arg(0) as u32, a.arg(1) as u32, a.arg(2) as u32])
}

pub fn sys_setresgid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    set_gids(ctx, [a.arg(0) as u32, a.arg(1) as u32, a.arg(2) as u32])
}

pub fn sys_setreuid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    set_uids(ctx, [a.arg(0) as u32, a.arg(1) as u32, u32::MAX])
}

pub fn sys_setregid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    set_gids(ctx, [a.arg(0) as u32, a.arg(1) as u32, u32::MAX])
}

/// setuid(2): privileged, sets both; otherwise only the effective id.
pub fn sys_setuid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let id = a.arg(0) as u32;
    if id == u32::MAX {
        return Err(Errno::EINVAL);
    }
    let both = ctx.process.creds.euid == 0;
    set_uids(ctx, [if both { id } else { u32::MAX }, id, u32::MAX])
}

pub fn sys_setgid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let id = a.arg(0) as u32;
    if id == u32::MAX {
        return Err(Errno::EINVAL);
    }
    let both = ctx.process.creds.euid == 0;
    set_gids(ctx, [if both { id } else { u32::MAX }, id, u32::MAX])
}

#[cfg(test)]
mod tests {
    use super::new_ids;

    #[test]
    fn set_ids_rules() {
        // Root may become anyone; -1 keeps a value.
        assert_eq!(new_ids(true, (0, 0), [1000, 1000, u32::MAX]), Ok((1000, 1000)));
        assert_eq!(new_ids(true, (0, 0), [u32::MAX, 5, u32::MAX]), Ok((0, 5)));
        // A user may only swap between its real and effective ids.
        assert_eq!(new_ids(false, (1000, 1001), [1001, 1000, u32::MAX]), Ok((1001, 1000)));
        assert!(new_ids(false, (1000, 1000), [u32::MAX, 0, u32::MAX]).is_err());
    }
}
