//! Identity: getpid(2), getppid(2), gettid(2), getuid(2), geteuid(2),
//! getgid(2), getegid(2), getgroups(2); the credential changes
//! (set*id, setgroups, setfsuid/setfsgid, capget/capset).

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

/// Process groups and sessions: each process leads its own group and
/// session until fork and job control exist.
pub fn sys_getpgrp(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.process.pid as u64)
}

fn own(ctx: &Ctx, pid: u64) -> Result<(), Errno> {
    let pid = pid as i32;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != 0 && pid as u32 != ctx.process.pid {
        return Err(Errno::ESRCH);
    }
    Ok(())
}

pub fn sys_getpgid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    own(ctx, a.arg(0))?;
    ret(ctx.process.pid as u64)
}

pub fn sys_getsid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    own(ctx, a.arg(0))?;
    ret(ctx.process.pid as u64)
}

pub fn sys_setpgid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    own(ctx, a.arg(0))?;
    let pgid = a.arg(1) as i32;
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    if pgid != 0 && pgid as u32 != ctx.process.pid {
        return Err(Errno::EPERM);
    }
    ret(0)
}

/// A group leader cannot start a session, and every process leads one.
pub fn sys_setsid(_ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    Err(Errno::EPERM)
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
    let old = (c.uid, c.euid);
    (c.uid, c.euid) = new_ids(c.euid == 0, (c.uid, c.euid), want)?;
    ctx.process.cred.uids_changed(old, (c.uid, c.euid));
    ctx.process.fs.walker.0 = ctx.process.creds.euid;
    ret(0)
}

fn set_gids(ctx: &mut Ctx, want: [u32; 3]) -> SyscallResult {
    let c = &mut ctx.process.creds;
    (c.gid, c.egid) = new_ids(c.euid == 0, (c.gid, c.egid), want)?;
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

/// setgroups(size, list): root only; the list is kept sorted, as Linux
/// keeps it, and applies to permission checks from now on.
pub fn sys_setgroups(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    if ctx.process.creds.euid != 0 {
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
    if id != u32::MAX && (c.euid == 0 || id == real || id == eff || id == cur) {
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

const CAP_V1: u32 = 0x1998_0330;
const CAP_V2: u32 = 0x2007_1026;
const CAP_V3: u32 = 0x2008_0522;

/// The header's version: how many 32-bit data words follow (1 for v1, 2
/// for v2/v3). An unknown version gets EINVAL with v3 written back.
fn cap_header(ctx: &mut Ctx, hdr: u64) -> Result<(usize, i32), Errno> {
    let version: u32 = ctx.user().read_val(hdr)?;
    let pid: i32 = ctx.user().read_val(hdr.wrapping_add(4))?;
    match version {
        CAP_V1 => Ok((1, pid)),
        CAP_V2 | CAP_V3 => Ok((2, pid)),
        _ => {
            ctx.user().write_val(hdr, &CAP_V3)?;
            Err(Errno::EINVAL)
        }
    }
}

/// capget(hdrp, datap): the caller's sets (another process's only as
/// the caller's own: oxvm does not look into other processes here).
pub fn sys_capget(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (words, pid) = match cap_header(ctx, a.arg(0)) {
        // Asking with no data pointer is how callers negotiate: the
        // preferred version is written back and that is a success.
        Err(Errno::EINVAL) if a.arg(1) == 0 => return ret(0),
        r => r?,
    };
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != 0 && pid as u32 != ctx.process.pid && pid as u32 != ctx.tid {
        return Err(Errno::ESRCH);
    }
    // A NULL data pointer only negotiates the version.
    if a.arg(1) == 0 {
        return ret(0);
    }
    let x = &ctx.process.cred;
    let (e, p, i) = (x.cap_effective, x.cap_permitted, x.cap_inheritable);
    let mut b = Vec::new();
    for w in 0..words {
        for set in [e, p, i] {
            b.extend_from_slice(&((set >> (32 * w)) as u32).to_le_bytes());
        }
    }
    ctx.user().write_bytes(a.arg(1), &b)?;
    ret(0)
}

/// capset(hdrp, datap): the caller's own sets; permitted may only shrink,
/// effective must stay within permitted, inheritable within permitted
/// (no CAP_SETPCAP-style widening).
pub fn sys_capset(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (words, pid) = cap_header(ctx, a.arg(0))?;
    if pid != 0 && pid as u32 != ctx.process.pid && pid as u32 != ctx.tid {
        return Err(Errno::EPERM);
    }
    let mut b = vec![0u8; 12 * words];
    ctx.user().read_bytes(a.arg(1), &mut b)?;
    let word = |w: usize, k: usize| u64::from(u32::from_le_bytes(b[12 * w + 4 * k..12 * w + 4 * k + 4].try_into().unwrap())) << (32 * w);
    let (mut e, mut p, mut i) = (0u64, 0u64, 0u64);
    for w in 0..words {
        e |= word(w, 0);
        p |= word(w, 1);
        i |= word(w, 2);
    }
    let full = crate::task::cred::CAP_FULL;
    let (e, p, i) = (e & full, p & full, i & full);
    let x = &mut ctx.process.cred;
    // A v1 call cannot see the upper 32 capabilities: they are kept.
    let (e, p, i) = if words == 1 {
        let hi = !0xffff_ffffu64;
        (e | x.cap_effective & hi, p | x.cap_permitted & hi, i | x.cap_inheritable & hi)
    } else {
        (e, p, i)
    };
    // CAP_SETPCAP lets inheritable grow up to the bounding set (all).
    let inh_bound = if x.cap_effective & (1 << 8) != 0 { full } else { x.cap_inheritable | x.cap_permitted };
    if p & !x.cap_permitted != 0 || e & !p != 0 || i & !inh_bound != 0 {
        return Err(Errno::EPERM);
    }
    (x.cap_effective, x.cap_permitted, x.cap_inheritable) = (e, p, i);
    ret(0)
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
