//! Pending signals: what has been sent to a process (or one thread) and
//! not yet delivered. Standard signals (1..=31) do not queue: a second
//! one while the first is pending is dropped, and the first one's siginfo
//! is kept. Real-time signals (32..=64) queue: every instance keeps its
//! own siginfo (sigqueue's value) and they come out in the order sent.
//!
//! A set is a shared handle (`Rc`): signalfd reads the sets of the
//! process and thread that created it, and a waiter (rt_sigtimedwait, a
//! blocked signalfd read) waits on the set's [`WaitQueue`], which moves on
//! every new signal. fork gives the child fresh, empty sets.

use std::cell::RefCell;
use std::rc::Rc;

use crate::vfs::WaitQueue;

/// The first real-time signal (SIGRTMIN as the kernel numbers it).
pub const SIGRTMIN: u32 = 32;
/// How many real-time signals may be queued in one set at once
/// (RLIMIT_SIGPENDING's default for init is larger; a small, fixed bound
/// keeps a flood from eating host memory).
pub const MAX_QUEUED: usize = 4096;

/// One signal's siginfo_t, as the kernel lays it out (128 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SigInfo(pub [u8; 128]);

impl core::fmt::Debug for SigInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SigInfo(signo {}, code {}, word {:#x})", self.signo(), self.code(), self.word(16))
    }
}

impl SigInfo {
    /// si_signo, si_code and the union's first word (si_pid | si_uid <<
    /// 32 for kill and SIGCHLD, si_addr for faults).
    pub fn new(signo: u32, code: i32, word0: u64) -> SigInfo {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&signo.to_le_bytes());
        b[8..12].copy_from_slice(&code.to_le_bytes());
        b[16..24].copy_from_slice(&word0.to_le_bytes());
        SigInfo(b)
    }

    pub fn signo(&self) -> u32 {
        u32::from_le_bytes(self.0[0..4].try_into().unwrap())
    }

    pub fn errno(&self) -> i32 {
        i32::from_le_bytes(self.0[4..8].try_into().unwrap())
    }

    pub fn code(&self) -> i32 {
        i32::from_le_bytes(self.0[8..12].try_into().unwrap())
    }

    /// The 32-bit field at byte `off`.
    pub fn int(&self, off: usize) -> u32 {
        u32::from_le_bytes(self.0[off..off + 4].try_into().unwrap())
    }

    /// The 64-bit field at byte `off`.
    pub fn word(&self, off: usize) -> u64 {
        u64::from_le_bytes(self.0[off..off + 8].try_into().unwrap())
    }
}

#[derive(Default)]
struct Inner {
    /// Signals in the order they were sent; at most one per standard
    /// signal.
    queue: Vec<SigInfo>,
    /// Bit n-1 set while signal n has an instance in `queue`.
    mask: u64,
    /// Moves on every new signal.
    events: WaitQueue,
}

/// A pending set. `Clone` shares it (see the module comment); a new
/// process or thread starts with `PendingSet::default()`.
#[derive(Clone, Default)]
pub struct PendingSet(Rc<RefCell<Inner>>);

impl core::fmt::Debug for PendingSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PendingSet({:#x})", self.mask())
    }
}

fn bit(sig: u32) -> u64 {
    1u64 << (sig - 1)
}

impl PendingSet {
    /// The signals with at least one instance pending.
    pub fn mask(&self) -> u64 {
        self.0.borrow().mask
    }

    /// What waiters on this set wait on.
    pub fn queue(&self) -> WaitQueue {
        self.0.borrow().events.clone()
    }

    /// Queue `info` (its signal number is `info.signo()`, 1..=64). A
    /// standard signal already pending is dropped (the first stays);
    /// returns false when a real-time signal finds the queue full.
    pub fn post(&self, info: SigInfo) -> bool {
        let sig = info.signo();
        debug_assert!((1..=64).contains(&sig));
        let mut s = self.0.borrow_mut();
        if s.mask & bit(sig) != 0 && sig < SIGRTMIN {
            return true;
        }
        if s.queue.len() >= MAX_QUEUED {
            return false;
        }
        s.queue.push(info);
        s.mask |= bit(sig);
        s.events.notify();
        true
    }

    /// Take the first instance of `sig`.
    pub fn take(&self, sig: u32) -> Option<SigInfo> {
        let mut s = self.0.borrow_mut();
        let i = s.queue.iter().position(|q| q.signo() == sig)?;
        let info = s.queue.remove(i);
        if !s.queue.iter().any(|q| q.signo() == sig) {
            s.mask &= !bit(sig);
        }
        Some(info)
    }

    /// Take the next signal of `set` (bit n-1 for signal n) as Linux
    /// dequeues: the synchronous fault signals first, then the lowest
    /// number.
    pub fn take_from(&self, set: u64) -> Option<SigInfo> {
        self.take(next_signal(self.mask() & set)?)
    }

    /// Drop every instance of `sig` (its disposition became "ignore").
    pub fn discard(&self, sig: u32) {
        let mut s = self.0.borrow_mut();
        s.queue.retain(|q| q.signo() != sig);
        s.mask &= !bit(sig);
    }
}

/// SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS: dequeued before the
/// others.
const SYNCHRONOUS: u64 = (1 << 10) | (1 << 6) | (1 << 3) | (1 << 4) | (1 << 7) | (1 << 30);

/// The signal of `ready` (a mask) Linux takes first.
pub fn next_signal(ready: u64) -> Option<u32> {
    if ready == 0 {
        return None;
    }
    let first = if ready & SYNCHRONOUS != 0 { ready & SYNCHRONOUS } else { ready };
    Some(first.trailing_zeros() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(sig: u32, value: u64) -> SigInfo {
        let mut i = SigInfo::new(sig, -1, 7);
        i.0[24..32].copy_from_slice(&value.to_le_bytes());
        i
    }

    #[test]
    fn standard_signals_do_not_queue_and_keep_the_first() {
        let p = PendingSet::default();
        assert!(p.post(SigInfo::new(10, 0, 1)));
        assert!(p.post(SigInfo::new(10, 0, 2)));
        assert_eq!(p.mask(), 1 << 9);
        assert_eq!(p.take(10).map(|i| i.word(16)), Some(1));
        assert_eq!(p.take(10), None);
        assert_eq!(p.mask(), 0);
    }

    #[test]
    fn realtime_signals_queue_in_order_lowest_first() {
        let p = PendingSet::default();
        let q = p.queue();
        let g = q.generation();
        for v in 1..=3 {
            p.post(rt(33, v));
        }
        p.post(rt(32, 9));
        assert_ne!(q.generation(), g, "a new signal moves the queue");
        let order: Vec<(u32, u64)> = std::iter::from_fn(|| p.take_from(u64::MAX)).map(|i| (i.signo(), i.word(24))).collect();
        assert_eq!(order, vec![(32, 9), (33, 1), (33, 2), (33, 3)]);
        assert_eq!(p.mask(), 0);
    }

    #[test]
    fn synchronous_signals_first_and_discard() {
        let p = PendingSet::default();
        p.post(SigInfo::new(2, 0, 0));
        p.post(SigInfo::new(11, 1, 0));
        p.post(rt(40, 0));
        p.post(rt(40, 1));
        assert_eq!(p.take_from(u64::MAX).map(|i| i.signo()), Some(11));
        p.discard(40);
        assert_eq!(p.mask(), 1 << 1);
        assert_eq!(next_signal(0), None);
    }
}
