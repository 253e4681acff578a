//! A process's timers: POSIX per-process timers (timer_create(2)) and the
//! CPU-time interval timers (ITIMER_VIRTUAL, ITIMER_PROF). ITIMER_REAL is
//! `Process::alarm`. The data and the arithmetic live here; the scheduler
//! expires them (`kernel/ptimer.rs`) and the calls are in
//! `syscall/timer.rs`.
//!
//! Overruns follow Linux: a timer's signal is queued once; while it is
//! still pending, further expirations only count (in the queued siginfo's
//! si_overrun, as Linux increments it in place), and when it has been
//! taken the count becomes what timer_getoverrun reports.

use crate::signal::pending::{PendingSet, SigInfo};
use crate::task::Pid;

/// si_code of a timer's signal.
pub const SI_TIMER: i32 = -2;
/// Linux's DELAYTIMER_MAX: overrun counts saturate there.
pub const DELAYTIMER_MAX: u32 = i32::MAX as u32;
/// Timers one process may hold (Linux bounds them by RLIMIT_SIGPENDING;
/// a fixed bound keeps host memory in check).
pub const MAX_TIMERS: usize = 4096;

/// What a timer measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerClock {
    Realtime,
    /// MONOTONIC and BOOTTIME (no suspend here).
    Monotonic,
    /// CPU time of the whole process.
    ProcessCpu,
    /// CPU time of one thread.
    ThreadCpu(Pid),
}

/// One timer_create timer.
#[derive(Clone, Debug)]
pub struct PosixTimer {
    pub id: i32,
    pub clock: TimerClock,
    /// The signal to send; 0 for SIGEV_NONE.
    pub signo: u32,
    /// sigev_value, delivered as si_value.
    pub value: u64,
    /// SIGEV_THREAD_ID: the thread to signal (else the process).
    pub thread: Option<Pid>,
    /// The next expiry on the timer's clock (ns); None: disarmed.
    pub deadline: Option<u64>,
    /// Re-arm period (ns); 0: one shot.
    pub interval: u64,
    /// Expirations while the signal was still pending.
    pub overrun: u32,
    /// What timer_getoverrun reports: the overrun of the last delivery.
    pub overrun_last: u32,
    /// The pending set holding this timer's undelivered signal.
    pub queued: Option<PendingSet>,
    /// Expirations that were due when timer_settime re-armed the timer,
    /// before the scheduler saw them: its next pass sends their signal
    /// (on Linux it would already have been delivered).
    pub unfired: u64,
}

impl PosixTimer {
    /// Expirations due at `now` (on its clock): re-arms a periodic timer
    /// past `now`, disarms a one-shot one. 0 when not due.
    pub fn expire(&mut self, now: u64) -> u64 {
        expire(&mut self.deadline, self.interval, now)
    }

    fn is_ours(&self, i: &SigInfo) -> bool {
        i.code() == SI_TIMER && i.int(16) as i32 == self.id && i.signo() == self.signo && !i.is_stale()
    }

    /// Whether the signal sent last is still pending; once it is not, its
    /// overrun count becomes the one timer_getoverrun reports.
    pub fn settle(&mut self) -> bool {
        let Some(set) = &self.queued else { return false };
        let pending = set.update(|i| self.is_ours(i));
        if !pending {
            self.overrun_last = self.overrun;
            self.overrun = 0;
            self.queued = None;
        }
        pending
    }

    /// The timer was re-armed or deleted: its queued signal, if any, is
    /// dropped when taken (Linux's signal sequence check), and counting
    /// starts afresh.
    pub fn forget_queued(&mut self) {
        if let Some(set) = self.queued.take() {
            set.update(|i| {
                let ours = self.is_ours(i);
                if ours {
                    i.set_stale(true);
                }
                ours
            });
        }
        self.overrun = 0;
    }

    /// `n` more expirations while the signal is pending: counted in the
    /// queued siginfo too.
    pub fn add_overrun(&mut self, n: u64) {
        let n = u32::try_from(n).unwrap_or(DELAYTIMER_MAX);
        self.overrun = self.overrun.saturating_add(n).min(DELAYTIMER_MAX);
        let total = self.overrun;
        let (id, signo) = (self.id, self.signo);
        if let Some(set) = &self.queued {
            set.update(|i| {
                let ours = i.code() == SI_TIMER && i.int(16) as i32 == id && i.signo() == signo && !i.is_stale();
                if ours {
                    i.0[20..24].copy_from_slice(&total.to_le_bytes());
                }
                ours
            });
        }
    }

    /// The siginfo of an expiry that missed `overrun` periods.
    pub fn siginfo(&self, overrun: u32) -> SigInfo {
        let mut i = SigInfo::new(self.signo, SI_TIMER, 0);
        i.0[16..20].copy_from_slice(&self.id.to_le_bytes());
        i.0[20..24].copy_from_slice(&overrun.to_le_bytes());
        i.0[24..32].copy_from_slice(&self.value.to_le_bytes());
        i
    }
}

/// The expirations of a timer with `deadline` and `interval` due at
/// `now`, moving the deadline on.
pub fn expire(deadline: &mut Option<u64>, interval: u64, now: u64) -> u64 {
    let Some(d) = *deadline else { return 0 };
    if now < d {
        return 0;
    }
    match (now - d).checked_div(interval) {
        Some(late) => {
            let n = late.saturating_add(1);
            *deadline = Some(d.saturating_add(n.saturating_mul(interval)));
            n
        }
        None => {
            *deadline = None;
            1
        }
    }
}

/// ITIMER_VIRTUAL or ITIMER_PROF: a deadline in process CPU time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuItimer {
    pub deadline: Option<u64>,
    pub interval: u64,
}

/// Everything a process holds; `Default` is what fork gives the child
/// (timers are not inherited).
#[derive(Clone, Debug, Default)]
pub struct ProcessTimers {
    pub posix: Vec<PosixTimer>,
    /// Linux numbers a process's timers from 0 up.
    pub next_id: i32,
    /// ITIMER_VIRTUAL (user time) and ITIMER_PROF (user + system time).
    pub virt: CpuItimer,
    pub prof: CpuItimer,
    /// The earliest wall-clock deadline (monotonic host ns) as of the
    /// scheduler's last pass, for `Kernel::next_deadline`.
    pub next: Option<u64>,
}

impl ProcessTimers {
    /// Whether anything may expire.
    pub fn armed(&self) -> bool {
        self.virt.deadline.is_some() || self.prof.deadline.is_some() || self.posix.iter().any(|t| t.deadline.is_some() || t.unfired > 0)
    }

    pub fn get_mut(&mut self, id: i32) -> Option<&mut PosixTimer> {
        self.posix.iter_mut().find(|t| t.id == id)
    }

    /// A new timer's id (the next unused one from 0, as Linux).
    pub fn alloc_id(&mut self) -> Option<i32> {
        if self.posix.len() >= MAX_TIMERS {
            return None;
        }
        loop {
            let id = self.next_id;
            self.next_id = if id == i32::MAX { 0 } else { id + 1 };
            if !self.posix.iter().any(|t| t.id == id) {
                return Some(id);
            }
        }
    }

    /// exec deletes the POSIX timers; the interval timers survive it, and
    /// so does the id counter (Linux keeps it in the signal struct, which
    /// exec does not replace).
    pub fn exec(&mut self) {
        for mut t in self.posix.drain(..) {
            t.forget_queued();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer(signo: u32) -> PosixTimer {
        PosixTimer {
            id: 3,
            clock: TimerClock::Monotonic,
            signo,
            value: 77,
            thread: None,
            deadline: Some(100),
            interval: 10,
            overrun: 0,
            overrun_last: 0,
            queued: None,
            unfired: 0,
        }
    }

    #[test]
    fn periodic_and_one_shot_expiry() {
        let mut t = timer(34);
        assert_eq!(t.expire(99), 0);
        assert_eq!(t.expire(100), 1);
        assert_eq!(t.deadline, Some(110));
        assert_eq!(t.expire(135), 3);
        assert_eq!(t.deadline, Some(140));
        t.interval = 0;
        assert_eq!(t.expire(140), 1);
        assert_eq!(t.deadline, None);
        assert_eq!(t.expire(1000), 0);
    }

    #[test]
    fn overruns_count_while_pending_and_settle_on_delivery() {
        let set = PendingSet::default();
        let mut t = timer(34);
        set.post(t.siginfo(0));
        t.queued = Some(set.clone());
        assert!(t.settle());
        t.add_overrun(2);
        t.add_overrun(3);
        let info = set.take(34).unwrap();
        assert_eq!((info.code(), info.int(16), info.int(20), info.word(24)), (SI_TIMER, 3, 5, 77));
        assert!(!t.settle());
        assert_eq!((t.overrun_last, t.overrun), (5, 0));
    }

    #[test]
    fn ids_count_up_from_zero() {
        let mut ts = ProcessTimers::default();
        assert_eq!(ts.alloc_id(), Some(0));
        assert_eq!(ts.alloc_id(), Some(1));
        ts.exec();
        assert_eq!(ts.alloc_id(), Some(2));
    }
}
