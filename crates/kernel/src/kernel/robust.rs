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
use crate::task::futex::FutexKey;

/// At most this many entries are walked (Linux's ROBUST_LIST_LIMIT).
const ROBUST_LIST_LIMIT: usize = 2048;
const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

impl Kernel {
    /// Walk task `ti`'s robust list (it is exiting) and release its futexes.
    pub(super) fn exit_robust_list(&mut self, ti: usize) {
        let (pid, tid) = (self.tasks[ti].pid, self.tasks[ti].tid);
        let (head, _) = std::mem::take(&mut self.tasks[ti].robust_list);
        if head == 0 {
            return;
        }
        let Ok(mut us) = self.user(pid) else { return };
        let (Ok(mut entry), Ok(offset), Ok(pending)) =
            (us.read_val::<u64>(head), us.read_val::<i64>(head.wrapping_add(8)), us.read_val::<u64>(head.wrapping_add(16)))
        else {
            return;
        };
        let futex = |e: u64| (e & !1).wrapping_add(offset as u64);
        let mut held = Vec::new();
        for _ in 0..ROBUST_LIST_LIMIT {
            if entry == head {
                break;
            }
            // The next pointer is read before the entry is handled: the
            // entry's memory may change once its futex is released.
            let Ok(next) = us.read_val::<u64>(entry & !1) else { break };
            if entry != pending {
                held.push((futex(entry), entry & 1 != 0, false));
            }
            entry = next;
        }
        if pending != 0 {
            held.push((futex(pending), pending & 1 != 0, true));
        }
        for (addr, pi, pending_op) in held {
            self.futex_death(pid, tid, addr, pi, pending_op);
        }
    }

    /// One futex of a dead owner: mark it, wake a waiter.
    fn futex_death(&mut self, pid: u32, tid: u32, addr: u64, pi: bool, pending_op: bool) {
        if !addr.is_multiple_of(4) {
            return;
        }
        let Ok(mut us) = self.user(pid) else { return };
        let Ok(val) = us.read_val::<u32>(addr) else { return };
        // The owner died between unlocking and waking (the unlock is done,
        // a waiter may still sleep): wake one so it retries.
        if pending_op && !pi && val == 0 {
            self.futex_wake_one(pid, addr);
            return;
        }
        if val & FUTEX_TID_MASK != tid {
            return;
        }
        let new = (val & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        if us.write_val(addr, &new).is_err() {
            return;
        }
        if !pi && val & FUTEX_WAITERS != 0 {
            self.futex_wake_one(pid, addr);
        }
    }

    fn futex_wake_one(&mut self, pid: u32, addr: u64) {
        let woken = self.futexes.wake(FutexKey { mm: pid, addr }, 1, u32::MAX);
        for t in self.tasks.iter_mut().filter(|t| woken.contains(&t.tid)) {
            if matches!(t.state, crate::task::TaskState::Futex { .. }) {
                t.state = crate::task::TaskState::Runnable;
            }
        }
    }
}
