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
    put_ids(ctx, [a.arg(0), a.arg(1), a.arg(2)], [c.uid, c.euid, ctx.process.cred.suid])
}

pub fn sys_getresgid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let c = ctx.process.creds;
    put_ids(ctx, [a.arg(0), a.arg(1), a.arg(2)], [c.gid, c.egid, ctx.process.cred.sgid])
}

/// -1: leave that id as it is.
const KEEP: u32 = u32::MAX;

/// The new (real, effective, saved) ids for setresuid/setresgid: without
/// privilege (CAP_SETUID/CAP_SETGID) each new value must be one of the
/// current three.
fn new_ids(privileged: bool, cur: [u32; 3], want: [u32; 3]) -> Result<[u32; 3], Errno> {
    if !privileged && want.iter().any(|&w| w != KEEP && !cur.contains(&w)) {
        return Err(Errno::EPERM);
    }
    Ok([0, 1, 2].map(|i| if want[i] == KEEP { cur[i] } else { want[i] }))
}

/// setreuid/setregid: the real id may become the real or effective one,
/// the effective id any of the three; the saved id follows the new
/// effective one when the real id is set, or the effective id is set to
/// something else than the old real one.
fn new_re_ids(privileged: bool, cur: [u32; 3], r: u32, e: u32) -> Result<[u32; 3], Errno> {
    if !privileged && ((r != KEEP && r != cur[0] && r != cur[1]) || (e != KEEP && !cur.contains(&e))) {
        return Err(Errno::EPERM);
    }
    let real = if r == KEEP { cur[0] } else { r };
    let eff = if e == KEEP { cur[1] } else { e };
    let saved = if r != KEEP || (e != KEEP && e != cur[0]) { eff } else { cur[2] };
    Ok([real, eff, saved])
}

/// setuid/setgid: privileged, all three; otherwise the effective id, to
/// the real or the saved one.
fn new_single_id(privileged: bool, cur: [u32; 3], id: u32) -> Result<[u32; 3], Errno> {
    if id == KEEP {
        return Err(Errno::EINVAL);
    }
    if privileged {
        return Ok([id; 3]);
    }
    if id != cur[0] && id != cur[2] {
        return Err(Errno::EPERM);
    }
    Ok([cur[0], id, cur[2]])
}

fn apply_uids(ctx: &mut Ctx, f: impl FnOnce(bool, [u32; 3]) -> Result<[u32; 3], Errno>) -> SyscallResult {
    let c = ctx.process.creds;
    let old = [c.uid, c.euid, ctx.process.cred.suid];
    let new = f(ctx.process.cred.capable(CAP_SETUID), old)?;
    (ctx.process.creds.uid, ctx.process.creds.euid) = (new[0], new[1]);
    ctx.process.cred.uids_changed(old, new);
    ctx.process.fs.walker.0 = new[1];
    ret(0)
}

fn apply_gids(ctx: &mut Ctx, f: impl FnOnce(bool, [u32; 3]) -> Result<[u32; 3], Errno>) -> SyscallResult {
    let c = ctx.process.creds;
    let new = f(ctx.process.cred.capable(CAP_SETGID), [c.gid, c.egid, ctx.process.cred.sgid])?;
    (ctx.process.creds.gid, ctx.process.creds.egid) = (new[0], new[1]);
    ctx.process.cred.sgid = new[2];
    ctx.process.cred.fsgid = new[1];
    ctx.process.fs.walker.1 = new[1];
    ret(0)
}

pub fn sys_setresuid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let want = [a.arg(0) as u32, a.arg(1) as u32, a.arg(2) as u32];
    apply_uids(ctx, |p, cur| new_ids(p, cur, want))
}

pub fn sys_setresgid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let want = [a.arg(0) as u32, a.arg(1) as u32, a.arg(2) as u32];
    apply_gids(ctx, |p, cur| new_ids(p, cur, want))
}

pub fn sys_setreuid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (r, e) = (a.arg(0) as u32, a.arg(1) as u32);
    apply_uids(ctx, |p, cur| new_re_ids(p, cur, r, e))
}

pub fn sys_setregid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (r, e) = (a.arg(0) as u32, a.arg(1) as u32);
    apply_gids(ctx, |p, cur| new_re_ids(p, cur, r, e))
}

pub fn sys_setuid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let id = a.arg(0) as u32;
    apply_uids(ctx, |p, cur| new_single_id(p, cur, id))
}

pub fn sys_setgid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let id = a.arg(0) as u32;
    apply_gids(ctx, |p, cur| new_single_id(p, cur, id))
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
    use super::{new_ids, new_re_ids, new_single_id, KEEP};

    #[test]
    fn set_ids_rules() {
        // Root may become anyone; -1 keeps a value.
        assert_eq!(new_ids(true, [0, 0, 0], [1000, 1000, KEEP]), Ok([1000, 1000, 0]));
        assert_eq!(new_ids(true, [0, 0, 0], [KEEP, 5, KEEP]), Ok([0, 5, 0]));
        // A user may only move among its real, effective and saved ids.
        assert_eq!(new_ids(false, [1000, 1001, 0], [1001, 0, KEEP]), Ok([1001, 0, 0]));
        assert!(new_ids(false, [1000, 1000, 1000], [KEEP, 0, KEEP]).is_err());
        // setreuid: the saved id follows a new effective id unless only
        // the effective id went back to the real one.
        assert_eq!(new_re_ids(false, [1000, 0, 0], KEEP, 1000), Ok([1000, 1000, 0]));
        assert_eq!(new_re_ids(true, [0, 0, 0], KEEP, 5), Ok([0, 5, 5]));
        assert_eq!(new_re_ids(true, [0, 0, 0], 7, KEEP), Ok([7, 0, 0]));
        assert!(new_re_ids(false, [1000, 1000, 0], 0, KEEP).is_err());
        // setuid: root sets all three; a user only the effective id, to
        // the real or saved one.
        assert_eq!(new_single_id(true, [0, 0, 0], 9), Ok([9, 9, 9]));
        assert_eq!(new_single_id(false, [1000, 1000, 0], 0), Ok([1000, 0, 0]));
        assert!(new_single_id(false, [1000, 2000, 3000], 2000).is_err());
        assert!(new_single_id(true, [0, 0, 0], KEEP).is_err());
    }
}
