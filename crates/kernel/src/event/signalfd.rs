//! signalfd: pending signals read as struct signalfd_siginfo (128 bytes
//! each). A read takes signals of the descriptor's mask from the pending
//! sets of the thread and process that created it (Linux uses the
//! reader's; they differ only when the descriptor is passed to another
//! thread or over fork), thread-directed first, as delivery would. The
//! signals have to be blocked, or they are delivered before a read can
//! see them. A read with nothing pending waits (or EAGAIN).

use std::any::Any;
use std::cell::Cell;

use super::{anon_stat, anon_statfs, POLLIN};
use crate::errno::Errno;
use crate::host::Host;
use crate::signal::pending::{PendingSet, SigInfo};
use crate::vfs::{FileOps, Io, Result, Stat, StatFs, WaitQueue};

/// sizeof(struct signalfd_siginfo).
pub const SIGINFO_SIZE: usize = 128;

pub struct SignalFd {
    mask: Cell<u64>,
    thread: PendingSet,
    process: PendingSet,
}

impl SignalFd {
    pub fn new(mask: u64, thread: PendingSet, process: PendingSet) -> SignalFd {
        SignalFd { mask: Cell::new(mask), thread, process }
    }

    pub fn set_mask(&self, mask: u64) {
        self.mask.set(mask);
        // A waiter's condition changed.
        self.thread.queue().notify();
    }

    pub fn mask(&self) -> u64 {
        self.mask.get()
    }
}

/// siginfo_layout's classes, by si_code and signal.
fn copyinfo(i: &SigInfo) -> [u8; SIGINFO_SIZE] {
    let mut o = [0u8; SIGINFO_SIZE];
    let put32 = |o: &mut [u8; SIGINFO_SIZE], off: usize, v: u32| o[off..off + 4].copy_from_slice(&v.to_le_bytes());
    let put64 = |o: &mut [u8; SIGINFO_SIZE], off: usize, v: u64| o[off..off + 8].copy_from_slice(&v.to_le_bytes());
    let (signo, code) = (i.signo(), i.code());
    put32(&mut o, 0, signo);
    put32(&mut o, 4, i.errno() as u32);
    put32(&mut o, 8, code as u32);
    const SI_KERNEL: i32 = 0x80;
    const SI_TIMER: i32 = -2;
    const SI_SIGIO: i32 = -5;
    // (pid, uid) at 16/20; sigval, status, addr and band as the union has them.
    let kill = |o: &mut [u8; SIGINFO_SIZE]| {
        put32(o, 12, i.int(16));
        put32(o, 16, i.int(20));
    };
    if code > 0 && code < SI_KERNEL {
        match signo {
            // SIGILL, SIGFPE, SIGSEGV, SIGBUS, SIGTRAP: the fault address.
            4 | 8 | 11 | 7 | 5 => put64(&mut o, 72, i.word(16)),
            // SIGCHLD: pid, uid, status, utime, stime.
            17 => {
                kill(&mut o);
                put32(&mut o, 40, i.int(24));
                put64(&mut o, 56, i.word(32));
                put64(&mut o, 64, i.word(40));
            }
            // SIGPOLL-style codes: band, fd.
            _ => {
                put32(&mut o, 28, i.word(16) as u32);
                put32(&mut o, 20, i.int(24));
            }
        }
    } else if code == SI_TIMER {
        put32(&mut o, 24, i.int(16));
        put32(&mut o, 32, i.int(20));
        put64(&mut o, 48, i.word(24));
        put32(&mut o, 44, i.int(24));
    } else if code == SI_SIGIO {
        put32(&mut o, 28, i.word(16) as u32);
        put32(&mut o, 20, i.int(24));
    } else if code < 0 {
        // sigqueue and friends: the sender and the value.
        kill(&mut o);
        put64(&mut o, 48, i.word(24));
        put32(&mut o, 44, i.int(24));
    } else {
        kill(&mut o);
    }
    o
}

impl FileOps for SignalFd {
    fn wait_queues(&self, out: &mut Vec<WaitQueue>) -> bool {
        out.push(self.thread.queue());
        out.push(self.process.queue());
        true
    }

    fn wait_queue(&self) -> Option<WaitQueue> {
        Some(self.process.queue())
    }

    fn read(&self, _host: &mut dyn Host, _off: u64, buf: &mut [u8]) -> Result<Io> {
        if buf.len() < SIGINFO_SIZE {
            return Err(Errno::EINVAL);
        }
        let mut n = 0;
        while buf.len() - n >= SIGINFO_SIZE {
            let mask = self.mask.get();
            let Some(info) = self.thread.take_from(mask).or_else(|| self.process.take_from(mask)) else { break };
            buf[n..n + SIGINFO_SIZE].copy_from_slice(&copyinfo(&info));
            n += SIGINFO_SIZE;
        }
        Ok(if n == 0 { Io::Block } else { Io::Done(n) })
    }

    fn poll(&self) -> u16 {
        if (self.thread.mask() | self.process.mask()) & self.mask.get() != 0 {
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
        Some("anon_inode:[signalfd]")
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::testhost::FakeHost;

    #[test]
    fn reads_pending_signals_of_its_mask() {
        let (t, p) = (PendingSet::default(), PendingSet::default());
        let fd = SignalFd::new(1 << 9, t.clone(), p.clone());
        let h = &mut FakeHost::default();
        let mut buf = [0u8; 300];
        assert_eq!(fd.read(h, 0, &mut buf), Ok(Io::Block));
        assert_eq!(fd.read(h, 0, &mut buf[..100]), Err(Errno::EINVAL));
        p.post(SigInfo::new(12, 0, 5 | 7 << 32));
        assert_eq!(fd.poll(), 0, "SIGUSR2 is not in the mask");
        p.post(SigInfo::new(10, 0, 42 | 1000 << 32));
        assert_eq!(fd.poll(), POLLIN);
        assert_eq!(fd.read(h, 0, &mut buf), Ok(Io::Done(128)));
        assert_eq!(&buf[0..4], &10u32.to_le_bytes());
        assert_eq!(&buf[12..16], &42u32.to_le_bytes());
        assert_eq!(&buf[16..20], &1000u32.to_le_bytes());
        assert_eq!(p.mask(), 1 << 11);
        // sigqueue's value lands in ssi_int and ssi_ptr.
        fd.set_mask(1 << 33);
        let mut q = SigInfo::new(34, -1, 9);
        q.0[24..32].copy_from_slice(&77u64.to_le_bytes());
        t.post(q);
        t.post(q);
        assert_eq!(fd.read(h, 0, &mut buf), Ok(Io::Done(256)));
        assert_eq!(&buf[44..48], &77u32.to_le_bytes());
        assert_eq!(&buf[128 + 48..128 + 56], &77u64.to_le_bytes());
    }
}
