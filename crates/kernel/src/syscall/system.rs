//! The system's identity and resources: uname(2), sethostname(2),
//! setdomainname(2), sysinfo(2),
//! getrandom(2), sched_getaffinity(2), prlimit64(2), getrlimit(2),
//! setrlimit(2).

use std::cell::RefCell;

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;
use crate::host::Clock;
use crate::task::{Rlimit, RLIMIT_NOFILE, RLIM_NLIMITS};

/// What uname reports: a Debian bookworm kernel's identity.
pub const SYSNAME: &str = "Linux";
pub const NODENAME: &str = "oxvm";
pub const RELEASE: &str = "6.1.0-oxvm";
pub const VERSION: &str = "#1 SMP PREEMPT_DYNAMIC oxvm";
pub const MACHINE: &str = "x86_64";
pub const DOMAINNAME: &str = "(none)";

/// __NEW_UTS_LEN: the longest host or domain name.
const UTS_LEN: usize = 64;
const CAP_SYS_ADMIN: u32 = 21;

thread_local! {
    /// The machine's host and domain names (one UTS namespace for the
    /// whole guest): sethostname/setdomainname change them.
    static UTS: RefCell<(Vec<u8>, Vec<u8>)> = RefCell::new((NODENAME.into(), DOMAINNAME.into()));
}

/// The host name now (uname's nodename, /proc/sys/kernel/hostname).
pub fn hostname() -> Vec<u8> {
    UTS.with(|u| u.borrow().0.clone())
}

/// The NIS domain name now.
pub fn domainname() -> Vec<u8> {
    UTS.with(|u| u.borrow().1.clone())
}

/// Set the host (or domain) name, as sethostname(2) checks it: at most
/// 64 bytes, any bytes (a NUL included).
fn set_uts(domain: bool, name: &[u8]) -> Result<(), Errno> {
    if name.len() > UTS_LEN {
        return Err(Errno::EINVAL);
    }
    UTS.with(|u| {
        let mut u = u.borrow_mut();
        *if domain { &mut u.1 } else { &mut u.0 } = name.to_vec();
    });
    Ok(())
}

pub fn sys_uname(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let mut buf = [0u8; 6 * 65];
    let (host, domain) = (hostname(), domainname());
    for (i, s) in [SYSNAME.as_bytes(), &host, RELEASE.as_bytes(), VERSION.as_bytes(), MACHINE.as_bytes(), &domain].iter().enumerate() {
        buf[i * 65..i * 65 + s.len()].copy_from_slice(s);
    }
    ctx.user().write_bytes(a.arg(0), &buf)?;
    ret(0)
}

fn set_name(ctx: &mut Ctx, a: &SyscallArgs, domain: bool) -> SyscallResult {
    if !ctx.process.cred.capable(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let len = a.arg(1) as i32;
    if len < 0 || len as usize > UTS_LEN {
        return Err(Errno::EINVAL);
    }
    let mut name = vec![0u8; len as usize];
    ctx.user().read_bytes(a.arg(0), &mut name)?;
    set_uts(domain, &name)?;
    ret(0)
}

pub fn sys_sethostname(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    set_name(ctx, a, false)
}

pub fn sys_setdomainname(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    set_name(ctx, a, true)
}

pub fn sys_sysinfo(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let page = crate::mm::PAGE;
    let total = ctx.process.mm.borrow().frame_limit() as u64 * page;
    let used = ctx.mem.phys.frames_in_use() as u64 * page;
    let uptime = ctx.host.now(Clock::Monotonic) / 1_000_000_000;
    let mut b = [0u8; 112];
    b[0..8].copy_from_slice(&uptime.to_le_bytes());
    b[32..40].copy_from_slice(&total.to_le_bytes());
    b[40..48].copy_from_slice(&total.saturating_sub(used).to_le_bytes());
    b[80..82].copy_from_slice(&1u16.to_le_bytes());
    b[104..108].copy_from_slice(&1u32.to_le_bytes());
    ctx.user().write_bytes(a.arg(0), &b)?;
    ret(0)
}

const GRND_NONBLOCK: u64 = 1;
const GRND_RANDOM: u64 = 2;
const GRND_INSECURE: u64 = 4;

pub fn sys_getrandom(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (buf, len, flags) = (a.arg(0), a.arg(1), a.arg(2));
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0 || flags & (GRND_RANDOM | GRND_INSECURE) == GRND_RANDOM | GRND_INSECURE {
        return Err(Errno::EINVAL);
    }
    // Linux returns at most 32 MiB - 1 per call.
    let len = len.min((32 << 20) - 1) as usize;
    let mut done = 0;
    let mut chunk = vec![0u8; len.min(4096)];
    while done < len {
        let n = (len - done).min(chunk.len());
        ctx.host.random(&mut chunk[..n]);
        if let Err(e) = ctx.user().write_bytes(buf.wrapping_add(done as u64), &chunk[..n]) {
            return if done > 0 { ret(done as u64) } else { Err(e) };
        }
        done += n;
    }
    ret(done as u64)
}

/// One CPU: every task runs on the one host thread.
pub fn sys_sched_getaffinity(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (pid, len, mask) = (a.arg(0) as i32, a.arg(1), a.arg(2));
    if pid != 0 && pid as u32 != ctx.process.pid {
        return Err(Errno::ESRCH);
    }
    if len < 8 || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    ctx.user().write_val(mask, &1u64)?;
    ret(8)
}

fn rlimit_of(ctx: &Ctx, pid: i32, resource: u64) -> Result<usize, Errno> {
    if pid != 0 && pid as u32 != ctx.process.pid {
        return Err(Errno::ESRCH);
    }
    usize::try_from(resource).ok().filter(|&r| r < RLIM_NLIMITS).ok_or(Errno::EINVAL)
}

fn set_rlimit(ctx: &mut Ctx, r: usize, new: Rlimit) -> Result<(), Errno> {
    if new.cur > new.max {
        return Err(Errno::EINVAL);
    }
    if new.max > ctx.process.rlimits[r].max && ctx.process.creds.euid != 0 {
        return Err(Errno::EPERM);
    }
    if r == RLIMIT_NOFILE {
        if new.max > 1 << 20 {
            return Err(Errno::EPERM);
        }
        ctx.process.files.borrow_mut().set_max(new.cur as usize);
    }
    ctx.process.rlimits[r] = new;
    Ok(())
}

fn read_rlimit(ctx: &mut Ctx, addr: u64) -> Result<Rlimit, Errno> {
    let cur = ctx.user().read_val::<u64>(addr)?;
    let max = ctx.user().read_val::<u64>(addr.wrapping_add(8))?;
    Ok(Rlimit { cur, max })
}

fn write_rlimit(ctx: &mut Ctx, addr: u64, l: Rlimit) -> Result<(), Errno> {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&l.cur.to_le_bytes());
    b[8..].copy_from_slice(&l.max.to_le_bytes());
    ctx.user().write_bytes(addr, &b)
}

pub fn sys_prlimit64(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let r = rlimit_of(ctx, a.arg(0) as i32, a.arg(1))?;
    let (new, old) = (a.arg(2), a.arg(3));
    let new = if new != 0 { Some(read_rlimit(ctx, new)?) } else { None };
    let prev = ctx.process.rlimits[r];
    if let Some(n) = new {
        set_rlimit(ctx, r, n)?;
    }
    if old != 0 {
        write_rlimit(ctx, old, prev)?;
    }
    ret(0)
}

pub fn sys_getrlimit(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let r = rlimit_of(ctx, 0, a.arg(0))?;
    let l = ctx.process.rlimits[r];
    write_rlimit(ctx, a.arg(1), l)?;
    ret(0)
}

pub fn sys_setrlimit(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let r = rlimit_of(ctx, 0, a.arg(0))?;
    let n = read_rlimit(ctx, a.arg(1))?;
    set_rlimit(ctx, r, n)?;
    ret(0)
}

const PRIO_PROCESS: u64 = 0;
const PRIO_USER: u64 = 2;

/// getpriority(2): the syscall returns 20 - nice.
pub fn sys_getpriority(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    prio_target(ctx, a.arg(0), a.arg(1))?;
    ret((20 - ctx.process.nice) as u64)
}

/// setpriority(2): the niceness is recorded (and inherited); with one
/// scheduler class and one CPU it changes nothing else.
pub fn sys_setpriority(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    prio_target(ctx, a.arg(0), a.arg(1))?;
    let nice = (a.arg(2) as i32).clamp(-20, 19);
    if nice < ctx.process.nice && ctx.process.creds.euid != 0 {
        return Err(Errno::EACCES);
    }
    ctx.process.nice = nice;
    ret(0)
}

fn prio_target(ctx: &Ctx, which: u64, who: u64) -> Result<(), Errno> {
    if which > PRIO_USER {
        return Err(Errno::EINVAL);
    }
    let who = who as u32;
    let me = match which {
        PRIO_PROCESS => ctx.process.pid,
        PRIO_USER => ctx.process.creds.uid,
        _ => ctx.process.pid, // PRIO_PGRP: each process leads its group
    };
    if who != 0 && who != me {
        return Err(Errno::ESRCH);
    }
    Ok(())
}

const PR_SET_PDEATHSIG: u64 = 1;
const PR_GET_PDEATHSIG: u64 = 2;
const PR_GET_DUMPABLE: u64 = 3;
const PR_SET_DUMPABLE: u64 = 4;
const PR_SET_NAME: u64 = 15;
const PR_GET_NAME: u64 = 16;
const PR_SET_CHILD_SUBREAPER: u64 = 36;
const PR_GET_CHILD_SUBREAPER: u64 = 37;
const PR_SET_NO_NEW_PRIVS: u64 = 38;
const PR_GET_NO_NEW_PRIVS: u64 = 39;

/// prctl(2): the common process attributes, recorded where a later call
/// can read them back.
pub fn sys_prctl(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    if let Some(r) = super::capability::prctl(ctx, a) {
        return r;
    }
    let (op, arg) = (a.arg(0), a.arg(1));
    let p = &mut ctx.process.prctl;
    match op {
        PR_SET_PDEATHSIG => {
            if arg > 64 {
                return Err(Errno::EINVAL);
            }
            p.pdeathsig = arg as u32;
            ret(0)
        }
        PR_GET_PDEATHSIG => {
            let v = p.pdeathsig;
            ctx.user().write_val(arg, &v)?;
            ret(0)
        }
        PR_GET_DUMPABLE => ret(p.dumpable as u64),
        PR_SET_DUMPABLE if arg <= 1 => {
            p.dumpable = arg == 1;
            ret(0)
        }
        PR_SET_NAME => {
            let mut name = [0u8; 16];
            let mut us = ctx.process.mm.user(ctx.mem);
            for (i, b) in name.iter_mut().take(15).enumerate() {
                *b = us.read_val::<u8>(arg.wrapping_add(i as u64))?;
                if *b == 0 {
                    break;
                }
            }
            ctx.process.prctl.name = name;
            ret(0)
        }
        PR_GET_NAME => {
            let name = p.name;
            ctx.user().write_bytes(arg, &name)?;
            ret(0)
        }
        PR_SET_CHILD_SUBREAPER => {
            p.child_subreaper = arg != 0;
            ret(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            let v = p.child_subreaper as u32;
            ctx.user().write_val(arg, &v)?;
            ret(0)
        }
        PR_SET_NO_NEW_PRIVS if arg == 1 => {
            p.no_new_privs = true;
            ret(0)
        }
        PR_GET_NO_NEW_PRIVS => ret(p.no_new_privs as u64),
        _ => Err(Errno::EINVAL),
    }
}

/// personality(2): always PER_LINUX. Querying (0xffffffff) or setting
/// PER_LINUX succeeds; other personalities (32-bit emulations, flags like
/// ADDR_NO_RANDOMIZE) are refused as Linux does for unknown domains,
/// except the flags that only change layout oxvm already fixes.
pub fn sys_personality(_ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    const ADDR_NO_RANDOMIZE: u64 = 0x0040000;
    let p = a.arg(0) as u32;
    if p == 0xffff_ffff || p as u64 & !ADDR_NO_RANDOMIZE == 0 {
        return ret(0);
    }
    Err(Errno::EINVAL)
}

#[cfg(test)]
mod uts_tests {
    use super::*;

    #[test]
    fn host_and_domain_names_change_within_limits() {
        assert_eq!(hostname(), b"oxvm");
        assert_eq!(domainname(), b"(none)");
        set_uts(false, b"new").unwrap();
        assert_eq!(hostname(), b"new");
        set_uts(true, b"").unwrap();
        assert_eq!(domainname(), b"");
        assert_eq!(set_uts(false, &[b'x'; 65]), Err(Errno::EINVAL));
        set_uts(false, &[b'x'; 64]).unwrap();
        assert_eq!(hostname().len(), 64);
        set_uts(false, NODENAME.as_bytes()).unwrap();
        set_uts(true, DOMAINNAME.as_bytes()).unwrap();
    }
}
