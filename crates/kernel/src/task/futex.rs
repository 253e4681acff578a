//! Futex wait queues. A waiter is keyed by (object, offset): for private
//! memory the object is the address space (`MmRef::id`, shared by its
//! threads and by CLONE_VM children) and the offset the address; for a
//! word in shared memory (MAP_SHARED, unless FUTEX_PRIVATE_FLAG) the object
//! is the shared object (`ShmObject::id`) and the offset the word's offset
//! in it, so processes mapping it at different addresses meet.
//!
//! Waiters are woken in the order they queued (Linux wakes by priority,
//! FIFO within one priority, and every task has the same priority here).

use super::Pid;

/// What a waiter waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FutexKey {
    /// The address space's id (`MmRef::id`) for a private word, the
    /// shared object's (`ShmObject::id`) for a shared one.
    pub mm: u64,
    pub addr: u64,
}

#[derive(Clone, Copy, Debug)]
struct Waiter {
    key: FutexKey,
    tid: Pid,
    bitset: u32,
}

/// All futex waiters, oldest first.
#[derive(Default, Debug)]
pub struct FutexQueues {
    waiters: Vec<Waiter>,
}

impl FutexQueues {
    /// Queue `tid` on `key`; a wake whose bitset shares no bit with
    /// `bitset` passes it by (FUTEX_WAIT uses all bits).
    pub fn wait(&mut self, key: FutexKey, tid: Pid, bitset: u32) {
        self.waiters.push(Waiter { key, tid, bitset });
    }

    /// Take up to `n` waiters on `key` matching `bitset` off the queue;
    /// returns their tids for the scheduler to make runnable.
    pub fn wake(&mut self, key: FutexKey, n: usize, bitset: u32) -> Vec<Pid> {
        let mut woken = Vec::new();
        self.waiters.retain(|w| {
            if woken.len() < n && w.key == key && w.bitset & bitset != 0 {
                woken.push(w.tid);
                false
            } else {
                true
            }
        });
        woken
    }

    /// FUTEX_REQUEUE: wake up to `wake` waiters on `from`, then move up to
    /// `requeue` of the remaining ones to `to` (they keep their place in
    /// the overall order). Returns the woken tids and how many moved.
    pub fn requeue(&mut self, from: FutexKey, to: FutexKey, wake: usize, requeue: usize) -> (Vec<Pid>, usize) {
        let woken = self.wake(from, wake, u32::MAX);
        let mut moved = 0;
        for w in self.waiters.iter_mut().filter(|w| w.key == from) {
            if moved == requeue {
                break;
            }
            w.key = to;
            moved += 1;
        }
        (woken, moved)
    }

    /// Drop `tid` from whatever queue it is on (timeout, or the task died).
    /// Returns whether it was queued.
    pub fn remove(&mut self, tid: Pid) -> bool {
        let before = self.waiters.len();
        self.waiters.retain(|w| w.tid != tid);
        self.waiters.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(addr: u64) -> FutexKey {
        FutexKey { mm: 1, addr }
    }

    #[test]
    fn wake_is_fifo_and_bounded() {
        let mut q = FutexQueues::default();
        for tid in [10, 11, 12] {
            q.wait(key(0x1000), tid, u32::MAX);
        }
        q.wait(key(0x2000), 13, u32::MAX);
        assert_eq!(q.wake(key(0x1000), 2, u32::MAX), vec![10, 11]);
        assert_eq!(q.wake(key(0x1000), 5, u32::MAX), vec![12]);
        assert!(q.wake(key(0x1000), 5, u32::MAX).is_empty());
        // Another address space's word at the same address is another futex.
        assert!(q.wake(FutexKey { mm: 2, addr: 0x2000 }, 1, u32::MAX).is_empty());
        assert_eq!(q.wake(key(0x2000), 1, u32::MAX), vec![13]);
    }

    #[test]
    fn bitset_selects_waiters() {
        let mut q = FutexQueues::default();
        q.wait(key(0x1000), 1, 0b01);
        q.wait(key(0x1000), 2, 0b10);
        assert_eq!(q.wake(key(0x1000), 10, 0b10), vec![2]);
        assert_eq!(q.wake(key(0x1000), 10, u32::MAX), vec![1]);
    }

    #[test]
    fn requeue_wakes_then_moves() {
        let mut q = FutexQueues::default();
        for tid in 1..=5 {
            q.wait(key(0x1000), tid, u32::MAX);
        }
        let (woken, moved) = q.requeue(key(0x1000), key(0x2000), 1, 2);
        assert_eq!((woken, moved), (vec![1], 2));
        // 2 and 3 now wait on the second word, 4 and 5 still on the first.
        assert_eq!(q.wake(key(0x1000), 10, u32::MAX), vec![4, 5]);
        assert_eq!(q.wake(key(0x2000), 10, u32::MAX), vec![2, 3]);
    }

    #[test]
    fn remove_takes_a_waiter_out() {
        let mut q = FutexQueues::default();
        q.wait(key(0x1000), 7, u32::MAX);
        assert!(q.remove(7));
        assert!(!q.remove(7));
        assert!(q.wake(key(0x1000), 1, u32::MAX).is_empty());
    }
}
