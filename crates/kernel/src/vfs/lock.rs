//! Advisory file locks: flock(2) whole-file locks and fcntl(2) record
//! locks (process-owned POSIX locks and open-file-description "OFD"
//! locks), kept per inode as Linux does.
//!
//! The two families are independent (a flock never conflicts with a
//! record lock); POSIX and OFD record locks share one range space and
//! conflict with each other. An owner's own locks never conflict with
//! themselves: setting a lock over one's own range converts or splits it.
//!
//! Who owns what:
//! - flock and OFD locks belong to an open file description, named by its
//!   address while it lives; `OpenFile`'s drop releases them (the last
//!   close), so the table never holds a dangling owner.
//! - POSIX locks belong to a process and go when it closes *any*
//!   descriptor of the file or exits (`release_posix`).
//!
//! Blocked lockers wait on the table's one queue, moved by every release.
//! There is no deadlock detection (F_SETLKW never returns EDEADLK).

use std::cell::RefCell;
use std::collections::HashMap;

use super::WaitQueue;

/// An inode's identity: (device, inode number).
pub type InodeId = (u64, u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A flock on the open file description at this address.
    Flock(usize),
    /// A POSIX record lock of this process.
    Posix(u32),
    /// An OFD record lock of the description at this address.
    Ofd(usize),
}

impl Owner {
    fn is_flock(self) -> bool {
        matches!(self, Owner::Flock(_))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
}

/// One held lock: bytes `start..=end` (end u64::MAX: to the end of any
/// file; a flock covers everything).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lock {
    pub owner: Owner,
    pub kind: Kind,
    pub start: u64,
    pub end: u64,
}

impl Lock {
    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start <= end && start <= self.end
    }
}

#[derive(Default)]
pub struct LockTable {
    locks: RefCell<HashMap<InodeId, Vec<Lock>>>,
    queue: WaitQueue,
}

impl LockTable {
    /// What blocked lockers wait on.
    pub fn queue(&self) -> WaitQueue {
        self.queue.clone()
    }

    /// The first lock of another owner, of the same family, that a lock
    /// of `kind` over `start..=end` by `owner` would conflict with.
    pub fn conflict(&self, ino: InodeId, owner: Owner, kind: Kind, start: u64, end: u64) -> Option<Lock> {
        let locks = self.locks.borrow();
        locks.get(&ino)?.iter().copied().find(|l| {
            l.owner != owner
                && l.owner.is_flock() == owner.is_flock()
                && (l.kind == Kind::Write || kind == Kind::Write)
                && l.overlaps(start, end)
        })
    }

    /// Take (or convert to) a lock; Err(conflicting lock) if another
    /// owner holds one in the way.
    pub fn set(&self, ino: InodeId, owner: Owner, kind: Kind, start: u64, end: u64) -> Result<(), Lock> {
        if let Some(c) = self.conflict(ino, owner, kind, start, end) {
            return Err(c);
        }
        self.carve(ino, owner, start, end);
        let mut locks = self.locks.borrow_mut();
        let list = locks.entry(ino).or_default();
        list.push(Lock { owner, kind, start, end });
        // Merge with the owner's touching or overlapping locks of the same
        // kind, as Linux coalesces POSIX locks.
        if !owner.is_flock() {
            merge(list, owner);
        }
        // A conversion from write to read may let readers in.
        self.queue.notify();
        Ok(())
    }

    /// Drop `owner`'s locks over `start..=end` (splitting ranges that
    /// stick out).
    pub fn unlock(&self, ino: InodeId, owner: Owner, start: u64, end: u64) {
        self.carve(ino, owner, start, end);
        self.queue.notify();
    }

    fn carve(&self, ino: InodeId, owner: Owner, start: u64, end: u64) {
        let mut locks = self.locks.borrow_mut();
        let Some(list) = locks.get_mut(&ino) else { return };
        let mut out = Vec::with_capacity(list.len() + 1);
        for l in list.drain(..) {
            if l.owner != owner || !l.overlaps(start, end) {
                out.push(l);
                continue;
            }
            if l.start < start {
                out.push(Lock { end: start - 1, ..l });
            }
            if l.end > end {
                out.push(Lock { start: end + 1, ..l });
            }
        }
        *list = out;
        if list.is_empty() {
            locks.remove(&ino);
        }
    }

    /// Release everything `owner` holds on any inode (the last close of a
    /// description, a process's exit).
    pub fn release_owner(&self, owner: Owner) {
        let mut locks = self.locks.borrow_mut();
        let mut changed = false;
        locks.retain(|_, list| {
            let before = list.len();
            list.retain(|l| l.owner != owner);
            changed |= list.len() != before;
            !list.is_empty()
        });
        if changed {
            self.queue.notify();
        }
    }

    /// A process closed a descriptor of `ino`: its POSIX locks there go.
    pub fn release_posix(&self, ino: InodeId, pid: u32) {
        let had = self.locks.borrow().get(&ino).is_some_and(|l| l.iter().any(|l| l.owner == Owner::Posix(pid)));
        if had {
            self.unlock(ino, Owner::Posix(pid), 0, u64::MAX);
        }
    }

    /// The locks held on `ino` (for tests and /proc/locks).
    pub fn held(&self, ino: InodeId) -> Vec<Lock> {
        self.locks.borrow().get(&ino).cloned().unwrap_or_default()
    }
}

/// Coalesce `owner`'s same-kind locks in `list` that overlap or touch.
fn merge(list: &mut Vec<Lock>, owner: Owner) {
    let (mut mine, rest): (Vec<Lock>, Vec<Lock>) = list.drain(..).partition(|l| l.owner == owner);
    mine.sort_by_key(|l| (l.start, l.end));
    let mut merged: Vec<Lock> = Vec::with_capacity(mine.len());
    for l in mine {
        match merged.last_mut() {
            Some(m) if m.kind == l.kind && l.start <= m.end.saturating_add(1) => m.end = m.end.max(l.end),
            _ => merged.push(l),
        }
    }
    *list = rest;
    list.extend(merged);
}

#[cfg(test)]
mod tests {
    use super::*;

    const INO: InodeId = (1, 2);

    #[test]
    fn flock_shared_and_exclusive() {
        let t = LockTable::default();
        let (a, b) = (Owner::Flock(1), Owner::Flock(2));
        assert!(t.set(INO, a, Kind::Read, 0, u64::MAX).is_ok());
        assert!(t.set(INO, b, Kind::Read, 0, u64::MAX).is_ok());
        assert!(t.set(INO, b, Kind::Write, 0, u64::MAX).is_err(), "a reader is in the way");
        t.release_owner(a);
        assert!(t.set(INO, b, Kind::Write, 0, u64::MAX).is_ok(), "conversion once alone");
        assert_eq!(t.held(INO).len(), 1);
        // Record locks are another family.
        assert!(t.set(INO, Owner::Posix(7), Kind::Write, 0, 10).is_ok());
    }

    #[test]
    fn posix_ranges_split_and_merge() {
        let t = LockTable::default();
        let p = Owner::Posix(1);
        t.set(INO, p, Kind::Write, 0, 99).unwrap();
        t.unlock(INO, p, 10, 19);
        let mut h = t.held(INO);
        h.sort_by_key(|l| l.start);
        assert_eq!(h.iter().map(|l| (l.start, l.end)).collect::<Vec<_>>(), vec![(0, 9), (20, 99)]);
        // Another process can take the hole, not the rest.
        assert!(t.set(INO, Owner::Posix(2), Kind::Read, 10, 19).is_ok());
        assert_eq!(t.conflict(INO, Owner::Posix(2), Kind::Read, 5, 12).map(|l| l.owner), Some(p));
        // Refilling the owner's hole with the same kind merges back.
        t.release_owner(Owner::Posix(2));
        t.set(INO, p, Kind::Write, 10, 19).unwrap();
        assert_eq!(t.held(INO).iter().map(|l| (l.start, l.end)).collect::<Vec<_>>(), vec![(0, 99)]);
        // Downgrading the middle splits into three.
        t.set(INO, p, Kind::Read, 40, 49).unwrap();
        assert_eq!(t.held(INO).len(), 3);
        t.release_posix(INO, 1);
        assert!(t.held(INO).is_empty());
    }

    #[test]
    fn posix_and_ofd_conflict() {
        let t = LockTable::default();
        t.set(INO, Owner::Ofd(10), Kind::Read, 0, u64::MAX).unwrap();
        assert!(t.set(INO, Owner::Posix(3), Kind::Write, 5, 5).is_err());
        assert!(t.set(INO, Owner::Posix(3), Kind::Read, 5, 5).is_ok());
        let g = t.queue().generation();
        t.release_owner(Owner::Ofd(10));
        assert_ne!(t.queue().generation(), g, "a release wakes waiters");
    }
}
