//! timerfd: a timer whose expirations are read as a count. The timer
//! runs on its own clock (CLOCK_REALTIME, or MONOTONIC/BOOTTIME, which
//! the host's monotonic clock stands for); an expiration is counted when
//! a read looks at the clock, or when the scheduler's pass over the
//! armed timers ([`Timers::expire`]) finds it due, which also moves the
//! timer's wait queue so blocked readers and epoll waiters retry. The
//! earliest armed deadline is part of `Kernel::next_deadline`, so an idle
//! guest wakes for it.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use super::{anon_stat, anon_statfs, POLLIN};
use crate::errno::Errno;
use crate::host::{Clock, Host};
use crate::vfs::{FileOps, Io, Result, Stat, StatFs, WaitQueue};

#[derive(Clone, Copy, Default)]
struct State {
    /// The next expiry, in ns on the timer's clock; None: disarmed.
    deadline: Option<u64>,
    /// Re-arm period (ns); 0: one shot.
    interval: u64,
    /// Expirations not read yet.
    ticks: u64,
}

pub struct TimerFd {
    clock: Clock,
    state: RefCell<State>,
    queue: WaitQueue,
}

impl TimerFd {
    pub fn new(clock: Clock) -> TimerFd {
        TimerFd { clock, state: RefCell::new(State::default()), queue: WaitQueue::default() }
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Count the expirations due at `now` (on the timer's clock).
    fn update(&self, now: u64) {
        let mut s = self.state.borrow_mut();
        let Some(d) = s.deadline else { return };
        if now < d {
            return;
        }
        match (now - d).checked_div(s.interval) {
            // Periodic: every period passed since the deadline counts.
            Some(late) => {
                let n = late + 1;
                s.ticks = s.ticks.saturating_add(n);
                s.deadline = Some(d.saturating_add(n.saturating_mul(s.interval)));
            }
            None => {
                s.ticks = s.ticks.saturating_add(1);
                s.deadline = None;
            }
        }
        self.queue.notify_events(POLLIN);
    }

    /// (time to the next expiry, interval) in ns; (0, interval) when
    /// disarmed.
    pub fn get(&self, host: &mut dyn Host) -> (u64, u64) {
        let now = host.now(self.clock);
        self.update(now);
        let s = self.state.borrow();
        (s.deadline.map_or(0, |d| d.saturating_sub(now).max(1)), s.interval)
    }

    /// timerfd_settime: arm for `value` ns from now (or at `value` on the
    /// clock when `absolute`), re-arming every `interval`; a zero value
    /// disarms. The unread count is reset. Returns the old setting as
    /// [`TimerFd::get`] does.
    pub fn set(&self, host: &mut dyn Host, value: u64, interval: u64, absolute: bool) -> (u64, u64) {
        let old = self.get(host);
        let now = host.now(self.clock);
        let deadline = match (value, absolute) {
            (0, _) => None,
            (v, true) => Some(v),
            (v, false) => Some(now.saturating_add(v)),
        };
        *self.state.borrow_mut() = State { deadline, interval: if deadline.is_some() { interval } else { 0 }, ticks: 0 };
        // An absolute time already past expires at once.
        self.update(now);
        self.queue.notify();
        old
    }

    /// The next expiry, when armed.
    fn deadline(&self) -> Option<u64> {
        self.state.borrow().deadline
    }
}

impl FileOps for TimerFd {
    fn wait_queue(&self) -> Option<WaitQueue> {
        Some(self.queue.clone())
    }

    fn read(&self, host: &mut dyn Host, _off: u64, buf: &mut [u8]) -> Result<Io> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        self.update(host.now(self.clock));
        let mut s = self.state.borrow_mut();
        if s.ticks == 0 {
            return Ok(Io::Block);
        }
        buf[..8].copy_from_slice(&s.ticks.to_le_bytes());
        s.ticks = 0;
        Ok(Io::Done(8))
    }

    fn poll(&self) -> u16 {
        if self.state.borrow().ticks > 0 {
            POLLIN
        } else {
            0
        }
    }

    fn stat(&self) -> Option<Result<Stat>> {
        Some(Ok(anon_stat()))
    }

    fn statfs(&self) -> StatFs {
        anon_statfs()
    }

    fn anon_name(&self) -> Option<&'static str> {
        Some("anon_inode:[timerfd]")
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

/// The kernel's timerfds, expired by the scheduler. Shared handle.
#[derive(Clone, Default)]
pub struct Timers {
    list: Rc<RefCell<Vec<Weak<TimerFd>>>>,
    /// The earliest deadline of an armed timer as of the last `expire`,
    /// in monotonic host ns.
    next: Rc<Cell<Option<u64>>>,
}

impl Timers {
    pub fn register(&self, t: &Rc<TimerFd>) {
        self.list.borrow_mut().push(Rc::downgrade(t));
    }

    /// Count the expirations that are due (waking their waiters), forget
    /// closed timers and note the next deadline.
    pub fn expire(&self, host: &mut dyn Host) {
        let mut list = self.list.borrow_mut();
        if list.is_empty() {
            self.next.set(None);
            return;
        }
        let mono = host.now(Clock::Monotonic);
        let real = host.now(Clock::Realtime);
        let mut next: Option<u64> = None;
        list.retain(|w| {
            let Some(t) = w.upgrade() else { return false };
            let now = if t.clock == Clock::Realtime { real } else { mono };
            t.update(now);
            if let Some(d) = t.deadline() {
                let at = mono.saturating_add(d.saturating_sub(now));
                next = Some(next.map_or(at, |n| n.min(at)));
            }
            true
        });
        self.next.set(next);
    }

    /// When the next armed timer expires (monotonic host ns).
    pub fn next_deadline(&self) -> Option<u64> {
        self.next.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::testhost::FakeHost;

    fn read(t: &TimerFd, h: &mut FakeHost) -> Result<Io> {
        let mut b = [0u8; 8];
        match t.read(h, 0, &mut b)? {
            Io::Done(_) => Ok(Io::Done(u64::from_le_bytes(b) as usize)),
            r => Ok(r),
        }
    }

    #[test]
    fn periodic_expirations_are_counted() {
        let mut h = FakeHost { now: 1_000, offset: 0 };
        let t = Rc::new(TimerFd::new(Clock::Monotonic));
        let timers = Timers::default();
        timers.register(&t);
        assert_eq!(read(&t, &mut h), Ok(Io::Block));
        t.set(&mut h, 100, 10, false);
        timers.expire(&mut h);
        assert_eq!(timers.next_deadline(), Some(1_100));
        assert_eq!(t.poll(), 0);
        h.now = 1_135;
        let q = t.wait_queue().unwrap();
        let g = q.generation();
        timers.expire(&mut h);
        assert_ne!(q.generation(), g, "expiry wakes waiters");
        assert_eq!(t.poll(), POLLIN);
        assert_eq!(read(&t, &mut h), Ok(Io::Done(4)));
        assert_eq!(t.get(&mut h), (5, 10));
        assert_eq!(t.set(&mut h, 0, 0, false), (5, 10));
        assert_eq!(t.get(&mut h), (0, 0));
        drop(t);
        timers.expire(&mut h);
        assert_eq!(timers.next_deadline(), None);
        assert!(timers.list.borrow().is_empty());
    }

    #[test]
    fn absolute_realtime_in_the_past_expires_at_once() {
        let mut h = FakeHost { now: 50, offset: 1_000_000 };
        let t = TimerFd::new(Clock::Realtime);
        t.set(&mut h, 10, 0, true);
        assert_eq!(read(&t, &mut h), Ok(Io::Done(1)));
        assert_eq!(read(&t, &mut h), Ok(Io::Block));
        assert_eq!(t.read(&mut h, 0, &mut [0; 7]), Err(Errno::EINVAL));
    }
}
