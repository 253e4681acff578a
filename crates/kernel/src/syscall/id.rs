//! Identity: getpid(2), getppid(2), gettid(2), getuid(2), geteuid(2),
//! getgid(2), getegid(2), getgroups(2); the credential changes
//! (set*id, setgroups, setfsuid/setfsgid; capabilities are in
//! `capability.rs`).

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;
use crate::task::cred::{CAP_SETGID, CAP_SETUID};

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

/// getgroups(size, list): the supplementary groups (size 0: just count
/// them).
pub fn sys_getgroups(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let size = a.arg(0) as i32;
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    let n = ctx.process.cred.groups.len();
    if size == 0 {
        return ret(n as u64);
    }
    if (size as usize) < n {
        return Err(Errno::EINVAL);
    }
    let bytes: Vec<u8> = ctx.process.cred.groups.iter().flat_map(|g| g.to_le_bytes()).collect();
    ctx.user().write_bytes(a.arg(1), &bytes)?;
    ret(n as u64)
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
/// u32::MAX (-1) keeps a value. Without privilege (CAP_SETUID/CAP_SETGID) each new value
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
    let old = (c.uid, c.euid);
    (c.uid, c.euid) = new_ids(ctx.process.cred.capable(CAP_SETUID), (c.uid, c.euid), want)?;
    ctx.process.cred.uids_changed(old, (c.uid, c.euid));
    ctx.process.fs.walker.0 = ctx.process.creds.euid;
    ret(0)
}

fn set_gids(ctx: &mut Ctx, want: [u32; 3]) -> SyscallResult {
    let c = &mut ctx.process.creds;
    (c.gid, c.egid) = new_ids(ctx.process.cred.capable(CAP_SETGID), (c.gid, c.egid), want)?;
    ctx.process.cred.fsgid = c.egid;
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
    let both = ctx.process.cred.capable(CAP_SETUID);
    set_uids(ctx, [if both { id } else { u32::MAX }, id, u32::MAX])
}

pub fn sys_setgid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let id = a.arg(0) as u32;
    if id == u32::MAX {
        return Err(Errno::EINVAL);
    }
    let both = ctx.process.cred.capable(CAP_SETGID);
    set_gids(ctx, [if both { id } else { u32::MAX }, id, u32::MAX])
}

/// setgroups(size, list): root only; the list is kept sorted, as Linux
/// keeps it, and applies to permission checks from now on.
pub fn sys_setgroups(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    if !ctx.process.cred.capable(CAP_SETGID) {
        return Err(Errno::EPERM);
    }
    let size = a.arg(0) as i32;
    if size < 0 || size as usize > crate::task::cred::NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    let mut bytes = vec![0u8; size as usize * 4];
    ctx.user().read_bytes(a.arg(1), &mut bytes)?;
    let mut groups: Vec<u32> = bytes.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
    // (gid_t)-1 is no group.
    if groups.contains(&u32::MAX) {
        return Err(Errno::EINVAL);
    }
    groups.sort_unstable();
    ctx.process.fs.walker_groups = groups.as_slice().into();
    ctx.process.cred.groups = groups;
    ret(0)
}

/// setfsuid/setfsgid: returns the old fs id; the new one is taken when
/// privileged or when it is the real, effective (= saved here) or current
/// fs id. The fs ids follow the effective ids whenever those change.
fn set_fs_id(ctx: &mut Ctx, id: u32, group: bool) -> SyscallResult {
    let c = ctx.process.creds;
    let x = &mut ctx.process.cred;
    let (real, eff, cur) = if group { (c.gid, c.egid, x.fsgid) } else { (c.uid, c.euid, x.fsuid) };
    let cap = if group { CAP_SETGID } else { CAP_SETUID };
    if id != u32::MAX && (x.capable(cap) || id == real || id == eff || id == cur) {
        if group {
            x.fsgid = id;
            ctx.process.fs.walker.1 = id;
        } else {
            x.fsuid = id;
            x.fsuid_changed(cur, id);
            ctx.process.fs.walker.0 = id;
        }
    }
    ret(u64::from(cur))
}

pub fn sys_setfsuid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    set_fs_id(ctx, a.arg(0) as u32, false)
}

pub fn sys_setfsgid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    set_fs_id(ctx, a.arg(0) as u32, true)
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
