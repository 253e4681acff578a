//! Robust futex lists (set_robust_list(2)): when a thread ends, every
//! futex on its list that it still owns is marked FUTEX_OWNER_DIED and
//! one waiter is woken, so the next pthread_mutex_lock of a robust mutex
//! returns EOWNERDEAD instead of hanging.
//!
//! The list lives in guest memory: `struct robust_list_head { next,
//! futex_offset, list_op_pending }`, each entry's `next` pointing at the
//! next entry (bit 0: a PI futex) and back at the head at the end; the
//! futex word of an entry is at entry + futex_offset. The walk is bounded
//! (a corrupt or circular list cannot hang the host) and a fault ends it.

use super::Kernel;
use crate::mm::UserSpace;

/// At most this many entries are walked (Linux's ROBUST_LIST_LIMIT).
const ROBUST_LIST_LIMIT: usize = 2048;
const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

impl Kernel {
    /// Walk task `ti`'s robust list (it is exiting) and release its
    /// futexes, waking one waiter of each that had waiters.
    pub(super) fn exit_robust_list(&mut self, ti: usize) {
        let (pid, tid) = (self.tasks[ti].pid, self.tasks[ti].tid);
        let (head, _) = std::mem::take(&mut self.tasks[ti].robust_list);
        if head == 0 {
            return;
        }
        let Ok(mut us) = self.user(pid) else { return };
        let wake = release_robust_list(&mut us, head, tid);
        for addr in wake {
            // A robust mutex may live in shared memory: key it as a
            // non-private FUTEX_WAKE would.
            let Ok(key) = self.futex_key(pid, addr, 0) else { continue };
            let woken = self.futexes.wake(key, 1, u32::MAX);
            for t in self.tasks.iter_mut().filter(|t| woken.contains(&t.tid)) {
                if matches!(t.state, crate::task::TaskState::Futex { .. }) {
                    t.state = crate::task::TaskState::Runnable;
                }
            }
        }
    }
}

/// Walk the robust list at `head` of thread `tid`: every futex on it the
/// thread still owns gets FUTEX_OWNER_DIED (keeping FUTEX_WAITERS).
/// Returns the futexes whose waiters need one wake-up each.
pub fn release_robust_list(us: &mut UserSpace, head: u64, tid: u32) -> Vec<u64> {
    let (Ok(mut entry), Ok(offset), Ok(pending)) =
        (us.read_val::<u64>(head), us.read_val::<i64>(head.wrapping_add(8)), us.read_val::<u64>(head.wrapping_add(16)))
    else {
        return Vec::new();
    };
    let futex = |e: u64| (e & !1).wrapping_add(offset as u64);
    let mut wake = Vec::new();
    for _ in 0..ROBUST_LIST_LIMIT {
        if entry == head {
            break;
        }
        // The next pointer is read before the entry is handled: the
        // entry's memory may change once its futex is released.
        let Ok(next) = us.read_val::<u64>(entry & !1) else { break };
        if entry != pending {
            wake.extend(futex_death(us, tid, futex(entry), entry & 1 != 0, false));
        }
        entry = next;
    }
    if pending != 0 {
        wake.extend(futex_death(us, tid, futex(pending), pending & 1 != 0, true));
    }
    wake
}

/// One futex of a dead owner: mark it; Some(addr) when a waiter must be
/// woken.
fn futex_death(us: &mut UserSpace, tid: u32, addr: u64, pi: bool, pending_op: bool) -> Option<u64> {
    if !addr.is_multiple_of(4) {
        return None;
    }
    let val = us.read_val::<u32>(addr).ok()?;
    // The owner died between unlocking and waking (the unlock is done, a
    // waiter may still sleep): wake one so it retries.
    if pending_op && !pi && val == 0 {
        return Some(addr);
    }
    if val & FUTEX_TID_MASK != tid {
        return None;
    }
    us.write_val(addr, &((val & FUTEX_WAITERS) | FUTEX_OWNER_DIED)).ok()?;
    (!pi && val & FUTEX_WAITERS != 0).then_some(addr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::{Mm, Placement, VmProt, VmaKind, PAGE};
    use oxvm_cpu::Memory;

    #[test]
    fn owned_futexes_are_marked_and_waiters_woken() {
        let mut mem = Memory::new();
        let mut mm = Mm::new();
        let a = mm.map(&mut mem, Placement::Fixed(0x40_0000), PAGE, VmProt::RW, VmaKind::Anon).unwrap();
        let mut us = mm.user(&mut mem);
        // head at a: next, futex_offset 8, list_op_pending; entries at
        // a+64 (owned, with waiters), a+96 (another owner), a+128 (owned).
        let (head, e1, e2, e3) = (a, a + 64, a + 96, a + 128);
        for (at, v) in [(head, e1), (head + 8, 8), (head + 16, 0), (e1, e2), (e2, e3), (e3, head)] {
            us.write_val(at, &v).unwrap();
        }
        us.write_val(e1 + 8, &(7 | FUTEX_WAITERS)).unwrap();
        us.write_val(e2 + 8, &9u32).unwrap();
        us.write_val(e3 + 8, &7u32).unwrap();
        assert_eq!(release_robust_list(&mut us, head, 7), vec![e1 + 8]);
        assert_eq!(us.read_val::<u32>(e1 + 8).unwrap(), FUTEX_WAITERS | FUTEX_OWNER_DIED);
        assert_eq!(us.read_val::<u32>(e2 + 8).unwrap(), 9);
        assert_eq!(us.read_val::<u32>(e3 + 8).unwrap(), FUTEX_OWNER_DIED);
    }

    #[test]
    fn cycles_and_faults_end_the_walk() {
        let mut mem = Memory::new();
        let mut mm = Mm::new();
        let a = mm.map(&mut mem, Placement::Fixed(0x40_0000), PAGE, VmProt::RW, VmaKind::Anon).unwrap();
        let mut us = mm.user(&mut mem);
        // An entry pointing at itself, never back at the head.
        us.write_val(a, &(a + 64)).unwrap();
        us.write_val(a + 64, &(a + 64)).unwrap();
        assert!(release_robust_list(&mut us, a, 7).is_empty());
        // An unmapped entry, and an unmapped head.
        us.write_val(a, &0x1000u64).unwrap();
        assert!(release_robust_list(&mut us, a, 7).is_empty());
        assert!(release_robust_list(&mut us, 0x2000, 7).is_empty());
        // A pending unlock with the word already 0: wake one waiter.
        us.write_val(a, &a).unwrap();
        us.write_val(a + 8, &8u64).unwrap();
        us.write_val(a + 16, &(a + 200)).unwrap();
        assert_eq!(release_robust_list(&mut us, a, 7), vec![a + 208]);
    }
}
