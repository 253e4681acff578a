//! epoll_create(2), epoll_create1(2), epoll_ctl(2), epoll_wait(2),
//! epoll_pwait(2), epoll_pwait2(2). The instance is `event::epoll`.
//!
//! A wait with nothing to report blocks on the wait queues of every
//! watched file (and the instance's own, which epoll_ctl moves), with
//! the timeout as its deadline; a signal ends it with EINTR (never
//! restarted, as on Linux).

use std::rc::Rc;

use super::{ret, Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;
use crate::event::epoll::{Epoll, Op};
use crate::host::Clock;
use crate::vfs::file::{O_CLOEXEC, O_RDWR};
use crate::vfs::{dev_major, FileType, OpenFile};

/// sizeof(struct epoll_event): packed on x86-64.
const EVENT_SIZE: u64 = 12;
/// The most events one wait may ask for (INT_MAX / EVENT_SIZE).
const MAX_EVENTS: i64 = i32::MAX as i64 / EVENT_SIZE as i64;
/// The end of user address space (access_ok).
const TASK_SIZE: u64 = 0x7fff_ffff_f000;
const NSEC_PER_SEC: u64 = 1_000_000_000;

/// Whether the time allowed (`timeout` ns, None: forever) is up for a call
/// that has nothing to report. On a first try the deadline is set in
/// `ctx.deadline`, so the call blocks until then at most and its retries
/// find it there.
pub fn timed_out(ctx: &mut Ctx, timeout: Option<u64>) -> bool {
    if timeout == Some(0) {
        return true;
    }
    let now = ctx.host.now(Clock::Monotonic);
    match (ctx.deadline, timeout) {
        (Some(d), _) => now >= d,
        (None, Some(ns)) => {
            ctx.deadline = Some(now.saturating_add(ns));
            false
        }
        (None, None) => false,
    }
}

fn create(ctx: &mut Ctx, flags: u32) -> SyscallResult {
    let f = OpenFile::new(Rc::new(Epoll::default()), None, O_RDWR);
    let fd = ctx.process.files.borrow_mut().insert(f, flags & O_CLOEXEC != 0)?;
    ret(fd as u64)
}

/// epoll_create(2): the size hint only has to be positive.
pub fn sys_epoll_create(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    if a.arg(0) as i32 <= 0 {
        return Err(Errno::EINVAL);
    }
    create(ctx, 0)
}

pub fn sys_epoll_create1(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let flags = a.arg(0) as u32;
    if flags & !O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    create(ctx, flags)
}

/// Whether epoll can watch `f`: files without a poll method (regular
/// files, directories, the memory devices) give EPERM on Linux.
fn pollable(f: &OpenFile) -> bool {
    if f.ops.anon_name().is_some() {
        return true;
    }
    match f.stat() {
        Ok(st) => match st.file_type() {
            Some(FileType::Regular | FileType::Directory | FileType::BlockDev | FileType::Symlink) => false,
            // /dev/null, zero, full, random, urandom: major 1.
            Some(FileType::CharDev) => dev_major(st.rdev) != 1,
            _ => true,
        },
        Err(_) => true,
    }
}

pub fn sys_epoll_ctl(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (epfd, op, fd, event) = (a.arg(0) as i32, a.arg(1) as i32, a.arg(2) as i32, a.arg(3));
    const ADD: i32 = 1;
    const DEL: i32 = 2;
    const MOD: i32 = 3;
    // The event is read for every op but DEL, even an unknown one.
    let (events, data) = if op != DEL {
        let events: u32 = ctx.user().read_val(event)?;
        let data: u64 = ctx.user().read_val(event.wrapping_add(4))?;
        (events, data)
    } else {
        (0, 0)
    };
    // Looked up without Ctx::file: epoll_ctl never waits, and an epoll
    // instance's queues are all those of the files it watches.
    let ef = ctx.process.files.borrow().get(epfd)?;
    let tf = ctx.process.files.borrow().get(fd)?;
    if ef.is_path_only() || tf.is_path_only() {
        return Err(Errno::EBADF);
    }
    if !pollable(&tf) {
        return Err(Errno::EPERM);
    }
    let ep = Epoll::of(&ef).ok_or(Errno::EINVAL)?;
    if Rc::ptr_eq(&ef, &tf) {
        return Err(Errno::EINVAL);
    }
    let op = match op {
        ADD => Op::Add,
        DEL => Op::Del,
        MOD => Op::Mod,
        _ => return Err(Errno::EINVAL),
    };
    ep.ctl(op, fd, &tf, events, data)?;
    ret(0)
}

/// The body of every wait: `timeout` in ns (None: forever).
fn wait(ctx: &mut Ctx, epfd: i32, events: u64, maxevents: i32, timeout: Option<u64>) -> SyscallResult {
    if maxevents <= 0 || i64::from(maxevents) > MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    if events.checked_add(maxevents as u64 * EVENT_SIZE).is_none_or(|end| end > TASK_SIZE) {
        return Err(Errno::EFAULT);
    }
    let f = ctx.file(epfd)?;
    let ep = Epoll::of(&f).ok_or(Errno::EINVAL)?;
    let got = ep.collect(maxevents as usize);
    if !got.is_empty() {
        let mut buf = Vec::with_capacity(got.len() * EVENT_SIZE as usize);
        for (ev, data) in &got {
            buf.extend_from_slice(&ev.to_le_bytes());
            buf.extend_from_slice(&data.to_le_bytes());
        }
        ctx.user().write_bytes(events, &buf)?;
        return ret(got.len() as u64);
    }
    if timed_out(ctx, timeout) {
        return ret(0);
    }
    Ok(SyscallReturn::Block)
}

/// epoll_wait's int timeout in milliseconds (negative: forever).
fn ms(t: u64) -> Option<u64> {
    let t = t as i32;
    (t >= 0).then(|| t as u64 * 1_000_000)
}

pub fn sys_epoll_wait(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    wait(ctx, a.arg(0) as i32, a.arg(1), a.arg(2) as i32, ms(a.arg(3)))
}

/// The wait with `sigmask` (if not NULL) as the signal mask for its
/// duration (see `sigwait::wait_mask`).
fn pwait(ctx: &mut Ctx, a: &SyscallArgs, timeout: Option<u64>) -> SyscallResult {
    let applied = super::sigwait::wait_mask(ctx, a.arg(4), a.arg(5))?;
    let r = wait(ctx, a.arg(0) as i32, a.arg(1), a.arg(2) as i32, timeout);
    super::sigwait::end_wait_mask(ctx, applied, &r);
    r
}

pub fn sys_epoll_pwait(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    pwait(ctx, a, ms(a.arg(3)))
}

/// epoll_pwait2(2): the timeout is a struct timespec (NULL: forever).
pub fn sys_epoll_pwait2(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let t = a.arg(3);
    let timeout = if t == 0 {
        None
    } else {
        let sec: i64 = ctx.user().read_val(t)?;
        let nsec: i64 = ctx.user().read_val(t.wrapping_add(8))?;
        if sec < 0 || !(0..NSEC_PER_SEC as i64).contains(&nsec) {
            return Err(Errno::EINVAL);
        }
        Some((sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(nsec as u64))
    };
    pwait(ctx, a, timeout)
}
