//! The CPU-time clock ids that clock_getcpuclockid(3) and
//! pthread_getcpuclockid(3) make: negative numbers encoding a pid or tid
//! (`~id << 3`), bit 2 for a thread's clock, and in the low two bits what
//! the clock counts (user plus system time, user time only, or the
//! scheduler's runtime; oxvm's accounting makes the first and last the
//! same). clock_gettime/clock_getres (`kernel/cpuclock.rs`) and
//! timer_create (`kernel/ptimer.rs`) decode them here.

use super::{CpuTimes, Pid};
use crate::errno::Errno;

/// What a CPU clock counts (`CPUCLOCK_PROF`, `_VIRT`, `_SCHED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Prof,
    Virt,
    Sched,
}

impl Which {
    /// This clock's reading of `t`, in nanoseconds.
    pub fn read(self, t: CpuTimes) -> u64 {
        match self {
            Which::Virt => t.user,
            Which::Prof | Which::Sched => t.total(),
        }
    }

    /// clock_getres: the scheduler clock counts nanoseconds; the others
    /// are sampled at the tick (Debian's kernels tick at 250 Hz).
    pub fn resolution(self) -> u64 {
        match self {
            Which::Sched => 1,
            Which::Prof | Which::Virt => 4_000_000,
        }
    }
}

/// A decoded CPU clock id: whose clock (0: the caller's own thread or
/// process), a thread's or a process's, and what it counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuClock {
    pub who: Pid,
    pub thread: bool,
    pub which: Which,
}

/// Decode a negative clock id (EINVAL for the fourth, unused `which`).
/// Non-negative ids are not CPU clocks of this form: `None`.
pub fn decode(id: i32) -> Option<Result<CpuClock, Errno>> {
    if id >= 0 {
        return None;
    }
    let which = match id & 3 {
        0 => Which::Prof,
        1 => Which::Virt,
        2 => Which::Sched,
        _ => return Some(Err(Errno::EINVAL)),
    };
    Some(Ok(CpuClock { who: !(id >> 3) as Pid, thread: id & 4 != 0, which }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What glibc computes: `(~pid << 3) | which`, `| 4` for a thread.
    fn make(who: i32, thread: bool, which: i32) -> i32 {
        (!who << 3) | if thread { 4 } else { 0 } | which
    }

    #[test]
    fn decodes_glibc_ids() {
        assert_eq!(decode(0), None);
        assert_eq!(decode(3), None);
        assert_eq!(decode(make(5, false, 2)), Some(Ok(CpuClock { who: 5, thread: false, which: Which::Sched })));
        assert_eq!(decode(make(77, true, 2)), Some(Ok(CpuClock { who: 77, thread: true, which: Which::Sched })));
        assert_eq!(decode(make(0, true, 1)), Some(Ok(CpuClock { who: 0, thread: true, which: Which::Virt })));
        assert_eq!(decode(make(4_194_304, false, 0)), Some(Ok(CpuClock { who: 4_194_304, thread: false, which: Which::Prof })));
        assert_eq!(decode(make(5, false, 3)), Some(Err(Errno::EINVAL)));
        assert_eq!(decode(-1), Some(Err(Errno::EINVAL)));
    }

    #[test]
    fn reads_and_resolutions() {
        let t = CpuTimes { user: 7, sys: 5 };
        assert_eq!(Which::Virt.read(t), 7);
        assert_eq!(Which::Prof.read(t), 12);
        assert_eq!(Which::Sched.read(t), 12);
        assert_eq!(Which::Sched.resolution(), 1);
    }
}
