//! Virtual memory areas: the kernel's record of what is mapped where and
//! with which permissions, kept apart from the page table (which only holds
//! the pages actually touched).

use std::collections::BTreeMap;

use std::rc::Rc;

use oxvm_cpu::{Access, Prot};

use super::shmem::ShmMap;
use crate::vfs::FileOps;

/// mmap/mprotect protection bits, with the PROT_* values of the ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct VmProt(pub u32);

impl VmProt {
    pub const NONE: VmProt = VmProt(0);
    pub const READ: VmProt = VmProt(1);
    pub const WRITE: VmProt = VmProt(2);
    pub const EXEC: VmProt = VmProt(4);
    pub const RW: VmProt = VmProt(3);
    pub const ALL: u32 = 7;

    pub fn contains(self, other: VmProt) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether an access of this kind is allowed. x86 page tables cannot
    /// express write-only or execute-only pages: any access right implies
    /// read, as on Linux without protection keys.
    pub fn allows(self, access: Access) -> bool {
        match access {
            Access::Read => self.0 & Self::ALL != 0,
            Access::Write => self.contains(Self::WRITE),
            Access::Exec => self.contains(Self::EXEC),
        }
    }

    /// The page-table permissions that implement this protection.
    pub fn page_prot(self) -> Prot {
        let mut p = Prot::NONE;
        if self.0 & Self::ALL != 0 {
            p = p | Prot::READ;
        }
        if self.contains(Self::WRITE) {
            p = p | Prot::WRITE;
        }
        if self.contains(Self::EXEC) {
            p = p | Prot::EXEC;
        }
        p
    }
}

impl core::ops::BitOr for VmProt {
    type Output = VmProt;
    fn bitor(self, rhs: VmProt) -> VmProt {
        VmProt(self.0 | rhs.0)
    }
}

/// What a mapping is for; shown in /proc/PID/maps, and steers brk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmaKind {
    /// A private anonymous mmap.
    Anon,
    /// A MAP_SHARED anonymous mmap: its pages live in a shared object
    /// (`Vma::shm`) that fork shares instead of copying.
    SharedAnon,
    /// A mapping of a file (mmap with a descriptor).
    File,
    /// A PT_LOAD segment of the executable.
    Image,
    /// The brk heap.
    Heap,
    /// The main thread's stack.
    Stack,
}

/// The file behind a file mapping.
#[derive(Clone)]
pub struct FileMap {
    pub file: Rc<dyn FileOps>,
    /// The file offset of the VMA's first byte.
    pub offset: u64,
    /// MAP_SHARED: the pages are the file's page cache (`Vma::shm`).
    pub shared: bool,
    /// The name it was opened by (/proc/PID/maps shows it).
    pub dentry: Option<crate::vfs::Dentry>,
}

impl core::fmt::Debug for FileMap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "FileMap {{ offset: {:#x}, shared: {} }}", self.offset, self.shared)
    }
}

impl PartialEq for FileMap {
    fn eq(&self, o: &FileMap) -> bool {
        Rc::ptr_eq(&self.file, &o.file) && self.offset == o.offset && self.shared == o.shared
    }
}

/// One mapped range [start, end), page-aligned.
#[derive(Clone, Debug, PartialEq)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub prot: VmProt,
    pub kind: VmaKind,
    /// Where the pages come from when first touched: a file, or zeroes.
    pub file: Option<FileMap>,
    /// MAP_SHARED: the shared object whose frames this VMA maps (a file's
    /// page cache, or anonymous shared memory).
    pub shm: Option<ShmMap>,
}

impl Vma {
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// The non-overlapping VMAs of an address space, by start address.
#[derive(Default, Clone, Debug)]
pub struct VmaSet {
    map: BTreeMap<u64, Vma>,
}

impl VmaSet {
    /// The VMA containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.map.range(..=addr).next_back().map(|(_, v)| v).filter(|v| addr < v.end)
    }

    /// Whether any VMA intersects [start, end).
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.intersecting(start, end).next().is_some()
    }

    /// VMAs intersecting [start, end), in address order.
    pub fn intersecting(&self, start: u64, end: u64) -> impl Iterator<Item = &Vma> {
        let first = self.map.range(..=start).next_back().filter(|(_, v)| v.end > start).map(|(k, _)| *k).unwrap_or(start);
        self.map.range(first..end).map(|(_, v)| v).filter(move |v| v.end > start && v.start < end)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.map.values()
    }

    /// Insert `vma`; the range must be free.
    pub fn insert(&mut self, vma: Vma) {
        debug_assert!(!self.overlaps(vma.start, vma.end), "VMA {vma:x?} overlaps an existing one");
        self.map.insert(vma.start, vma);
    }

    /// Cut VMAs so that none straddles `addr`.
    fn split_at(&mut self, addr: u64) {
        if let Some(v) = self.find(addr).cloned() {
            if v.start < addr {
                let mut upper = Vma { start: addr, ..v.clone() };
                if let Some(f) = &mut upper.file {
                    f.offset += addr - v.start;
                }
                if let Some(s) = &mut upper.shm {
                    s.offset += addr - v.start;
                }
                self.map.insert(v.start, Vma { end: addr, ..v });
                self.map.insert(addr, upper);
            }
        }
    }

    /// Remove [start, end) from every VMA, splitting those that straddle
    /// it. Returns the removed pieces.
    pub fn remove_range(&mut self, start: u64, end: u64) -> Vec<Vma> {
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.map.range(start..end).map(|(k, _)| *k).collect();
        keys.iter().filter_map(|k| self.map.remove(k)).collect()
    }

    /// Whether [start, end) is entirely covered by VMAs, with no holes.
    pub fn covers(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        for v in self.intersecting(start, end) {
            if v.start > at {
                return false;
            }
            at = v.end;
        }
        at >= end
    }

    /// Set the protection of [start, end), which must be covered.
    pub fn protect(&mut self, start: u64, end: u64, prot: VmProt) {
        self.split_at(start);
        self.split_at(end);
        for (_, v) in self.map.range_mut(start..end) {
            v.prot = prot;
        }
    }

    /// Grow or shrink the VMA starting at `start` to end at `end`.
    pub fn set_end(&mut self, start: u64, end: u64) {
        if let Some(v) = self.map.get_mut(&start) {
            v.end = end;
        }
    }

    /// The highest free gap of `len` bytes inside [low, high), as its start.
    pub fn find_free_top_down(&self, len: u64, low: u64, high: u64) -> Option<u64> {
        let mut top = high;
        for v in self.map.range(..high).rev().map(|(_, v)| v) {
            if v.end <= top && top - v.end >= len {
                return Some(top - len).filter(|&s| s >= low);
            }
            top = top.min(v.start);
            if top < low.saturating_add(len) {
                return None;
            }
        }
        (top >= low.saturating_add(len)).then(|| top - len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vma(start: u64, end: u64) -> Vma {
        Vma { start, end, prot: VmProt::RW, kind: VmaKind::Anon, file: None, shm: None }
    }

    #[test]
    fn remove_splits() {
        let mut s = VmaSet::default();
        s.insert(vma(0x1000, 0x5000));
        let removed = s.remove_range(0x2000, 0x3000);
        assert_eq!(removed, vec![vma(0x2000, 0x3000)]);
        assert_eq!(s.iter().cloned().collect::<Vec<_>>(), vec![vma(0x1000, 0x2000), vma(0x3000, 0x5000)]);
        assert!(s.find(0x2800).is_none());
        assert!(s.find(0x3000).is_some());
        assert!(!s.covers(0x1000, 0x5000));
        assert!(s.covers(0x3000, 0x5000));
    }

    #[test]
    fn protect_splits() {
        let mut s = VmaSet::default();
        s.insert(vma(0x1000, 0x4000));
        s.protect(0x2000, 0x3000, VmProt::READ);
        let prots: Vec<_> = s.iter().map(|v| (v.start, v.prot)).collect();
        assert_eq!(prots, vec![(0x1000, VmProt::RW), (0x2000, VmProt::READ), (0x3000, VmProt::RW)]);
    }

    #[test]
    fn free_gap_search() {
        let mut s = VmaSet::default();
        s.insert(vma(0x8000, 0x10000));
        assert_eq!(s.find_free_top_down(0x1000, 0x1000, 0x10000), Some(0x7000));
        assert_eq!(s.find_free_top_down(0x1000, 0x1000, 0x11000), Some(0x10000));
        assert_eq!(s.find_free_top_down(0x8000, 0x1000, 0x10000), None);
        assert_eq!(s.find_free_top_down(0x7000, 0x1000, 0x10000), Some(0x1000));
        s.insert(vma(0x2000, 0x3000));
        assert_eq!(s.find_free_top_down(0x5000, 0x1000, 0x10000), Some(0x3000));
        assert_eq!(s.find_free_top_down(0x5001, 0x1000, 0x10000), None);
    }

    #[test]
    fn intersecting_includes_straddler() {
        let mut s = VmaSet::default();
        s.insert(vma(0x1000, 0x3000));
        s.insert(vma(0x4000, 0x5000));
        let v: Vec<_> = s.intersecting(0x2000, 0x4001).map(|v| v.start).collect();
        assert_eq!(v, vec![0x1000, 0x4000]);
    }
}
