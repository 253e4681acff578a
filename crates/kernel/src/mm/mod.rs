//! Process memory: VMAs, demand paging, brk, and mmap placement.
//!
//! The VMAs say what the process may touch; the page table (the CPU crate's
//! [`AddressSpace`]) holds only pages already touched. A page fault inside a
//! VMA that allows the access allocates a zeroed page and the instruction is
//! retried; any other fault is a SIGSEGV.

pub mod mmref;
pub mod shmem;
pub mod uaccess;
pub mod vma;

use std::rc::Rc;

use oxvm_cpu::mem::{FrameId, PAGE_SIZE};
use oxvm_cpu::{Access, AddressSpace, Memory, Prot};

use crate::errno::Errno;
pub use mmref::{next_object_id, MmRef};
pub use shmem::{PageCache, ShmMap, ShmObject};
pub use uaccess::{UserPtr, UserSpace, UserValue};
pub use vma::{FileMap, VmProt, Vma, VmaKind, VmaSet};

pub const PAGE: u64 = PAGE_SIZE as u64;

/// One past the highest user stack address, as Linux uses on x86-64
/// (the last page below 2^47 is left unmapped).
pub const STACK_TOP: u64 = 0x7fff_ffff_f000;
/// The main thread's stack size (RLIMIT_STACK's default).
pub const STACK_SIZE: u64 = 8 << 20;
/// mmap allocates top-down from here: STACK_TOP minus Linux's minimum gap
/// of 128 MiB, so the layout matches an unrandomised Linux process.
pub const MMAP_BASE: u64 = STACK_TOP - (128 << 20);
/// Lowest address mmap hands out (vm.mmap_min_addr).
pub const MMAP_MIN: u64 = 0x10000;
/// Where static-PIE executables are loaded (ELF_ET_DYN_BASE, unrandomised).
pub const ET_DYN_BASE: u64 = 0x5555_5555_4000;

pub const fn page_down(a: u64) -> u64 {
    a & !(PAGE - 1)
}

/// Round up to a page boundary; None on overflow.
pub fn page_up(a: u64) -> Option<u64> {
    a.checked_add(PAGE - 1).map(page_down)
}

/// Why a page fault could not be resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultError {
    /// The VMAs do not allow the access: SIGSEGV.
    BadAccess,
    /// The guest memory limit is reached: the OOM killer's SIGKILL.
    OutOfMemory,
    /// A page of a shared file mapping wholly past the end of the file,
    /// or of shared anonymous memory past its size: SIGBUS (BUS_ADRERR),
    /// as Linux.
    BeyondEof,
}

/// Guest memory limit by default: 2 GiB, what a browser tab can give.
pub const DEFAULT_FRAME_LIMIT: usize = (2 << 30) / PAGE_SIZE;

/// Where a new mapping may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Anywhere; prefer `hint` if that range is free.
    Hint(u64),
    /// Exactly here, replacing what was mapped (MAP_FIXED).
    Fixed(u64),
    /// Exactly here, failing with EEXIST if anything is mapped
    /// (MAP_FIXED_NOREPLACE).
    FixedNoReplace(u64),
}

/// A process's memory: its page table and its VMAs.
pub struct Mm {
    pub space: AddressSpace,
    vmas: VmaSet,
    /// Start of the brk heap (just above the executable's segments).
    brk_start: u64,
    /// The current program break (not page-aligned).
    brk: u64,
    /// Frames (in the shared pool) beyond which no page is allocated.
    frame_limit: usize,
    /// Shared objects of VMAs removed since the last `take_released`: the
    /// caller writes them back and frees the unmapped ones
    /// (`shmem::settle`), which needs the host and the frame pool.
    released: Vec<Rc<ShmObject>>,
    /// The page cache, once a file was mapped (set by mmap): a private
    /// file page that a shared mapping already brought in is mapped
    /// copy-on-write from it, so it shows the shared mappings' writes.
    page_cache: Option<Rc<PageCache>>,
}

impl Default for Mm {
    fn default() -> Self {
        Self::new()
    }
}

fn vma_prot(vmas: &VmaSet, va: u64) -> VmProt {
    vmas.find(va).map_or(VmProt::NONE, |v| v.prot)
}

/// A fresh zeroed frame, unless the pool has reached `limit` frames. Drops
/// any decoded code the code cache still holds for a recycled frame: the
/// CPU crate's frame pool does not do that itself.
fn alloc_frame(mem: &mut Memory, limit: usize) -> Option<FrameId> {
    if mem.phys.frames_in_use() >= limit {
        return None;
    }
    // A recycled frame that held code has its decoded blocks dropped by
    // the CPU crate before the next block lookup.
    Some(mem.phys.alloc())
}

impl Mm {
    pub fn new() -> Self {
        Mm {
            space: AddressSpace::new(),
            vmas: VmaSet::default(),
            brk_start: 0,
            brk: 0,
            frame_limit: DEFAULT_FRAME_LIMIT,
            released: Vec::new(),
            page_cache: None,
        }
    }

    /// Cap the frames in use (by all processes) at `frames`.
    pub fn set_frame_limit(&mut self, frames: usize) {
        self.frame_limit = frames;
    }

    pub fn frame_limit(&self) -> usize {
        self.frame_limit
    }

    pub fn vmas(&self) -> &VmaSet {
        &self.vmas
    }

    /// Pages present now: (in file-backed or image areas, anonymous),
    /// for /proc's RSS figures. Walks the page table.
    pub fn resident_pages(&self) -> (u64, u64) {
        let (mut file, mut anon) = (0, 0);
        for (va, _) in self.space.pages() {
            match self.vmas.find(va).map(|v| v.kind) {
                Some(VmaKind::File | VmaKind::Image) => file += 1,
                _ => anon += 1,
            }
        }
        (file, anon)
    }

    /// A copy-on-write copy for fork: the same VMAs (file mappings share
    /// their file) and brk, every present page shared read-only until
    /// either side writes.
    pub fn fork(&mut self, mem: &mut Memory) -> Mm {
        Mm {
            space: self.space.fork(&mut mem.phys),
            vmas: self.vmas.clone(),
            brk_start: self.brk_start,
            brk: self.brk,
            frame_limit: self.frame_limit,
            released: Vec::new(),
            page_cache: self.page_cache.clone(),
        }
    }

    /// Use `cache` for private file mappings (see `page_cache`).
    pub fn set_page_cache(&mut self, cache: Rc<PageCache>) {
        self.page_cache = Some(cache);
    }

    /// The shared objects whose VMAs went away since the last call, for
    /// `shmem::settle`.
    pub fn take_released(&mut self) -> Vec<Rc<ShmObject>> {
        std::mem::take(&mut self.released)
    }

    /// Release every page and VMA (exit, or exec replacing the image).
    pub fn clear(&mut self, mem: &mut Memory) {
        self.space.clear(&mut mem.phys);
        let vmas = std::mem::take(&mut self.vmas);
        self.released.extend(vmas.iter().filter_map(|v| v.shm.as_ref().map(|s| s.obj.clone())));
        self.brk_start = 0;
        self.brk = 0;
    }

    /// Map [addr, addr+len) (both page-aligned by the caller's rounding)
    /// with no pages yet: they appear on first touch.
    pub fn map(&mut self, mem: &mut Memory, place: Placement, len: u64, prot: VmProt, kind: VmaKind) -> Result<u64, Errno> {
        self.map_file(mem, place, len, prot, kind, None)
    }

    /// Map [addr, addr+len) whose pages are read from `file` on first
    /// touch (or zero-filled when `file` is None).
    pub fn map_file(
        &mut self,
        mem: &mut Memory,
        place: Placement,
        len: u64,
        prot: VmProt,
        kind: VmaKind,
        file: Option<FileMap>,
    ) -> Result<u64, Errno> {
        // Anonymous shared memory gets an object of its own.
        let size = page_up(len).unwrap_or(u64::MAX);
        let shm = (kind == VmaKind::SharedAnon).then(|| ShmMap { obj: ShmObject::anon(size), offset: 0, writable: true });
        self.map_with(mem, place, len, prot, kind, file, shm)
    }

    /// Map [addr, addr+len) backed by `file` and, for MAP_SHARED, the
    /// shared object `shm` whose frames it maps.
    #[allow(clippy::too_many_arguments)]
    pub fn map_with(
        &mut self,
        mem: &mut Memory,
        place: Placement,
        len: u64,
        prot: VmProt,
        kind: VmaKind,
        file: Option<FileMap>,
        shm: Option<ShmMap>,
    ) -> Result<u64, Errno> {
        let len = page_up(len).filter(|&l| l != 0 && l <= oxvm_cpu::mem::USER_END).ok_or(Errno::ENOMEM)?;
        let start = match place {
            Placement::Fixed(a) | Placement::FixedNoReplace(a) => {
                if !a.is_multiple_of(PAGE) {
                    return Err(Errno::EINVAL);
                }
                let end = a.checked_add(len).filter(|&e| e <= oxvm_cpu::mem::USER_END).ok_or(Errno::ENOMEM)?;
                if self.vmas.overlaps(a, end) {
                    if matches!(place, Placement::FixedNoReplace(_)) {
                        return Err(Errno::EEXIST);
                    }
                    self.unmap_range(mem, a, end);
                }
                a
            }
            Placement::Hint(h) => {
                let h = page_down(h);
                let fits = h >= MMAP_MIN && h.checked_add(len).is_some_and(|e| e <= STACK_TOP - STACK_SIZE && !self.vmas.overlaps(h, e));
                if fits {
                    h
                } else {
                    self.vmas.find_free_top_down(len, MMAP_MIN, MMAP_BASE).ok_or(Errno::ENOMEM)?
                }
            }
        };
        self.vmas.insert(Vma { start, end: start + len, prot, kind, file, shm });
        Ok(start)
    }

    /// munmap: remove [addr, addr+len) from the VMAs and free its pages.
    pub fn unmap(&mut self, mem: &mut Memory, addr: u64, len: u64) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = page_up(len).and_then(|l| addr.checked_add(l)).filter(|&e| e <= oxvm_cpu::mem::USER_END).ok_or(Errno::EINVAL)?;
        self.unmap_range(mem, addr, end);
        Ok(())
    }

    /// madvise(MADV_DONTNEED): drop the pages of [addr, addr+len) but keep
    /// the mappings, so the next touch reads zeroes (anonymous memory) or
    /// the file again (private file mappings).
    pub fn discard(&mut self, mem: &mut Memory, addr: u64, len: u64) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE) {
            return Err(Errno::EINVAL);
        }
        let end = page_up(len).and_then(|l| addr.checked_add(l)).filter(|&e| e <= oxvm_cpu::mem::USER_END).ok_or(Errno::EINVAL)?;
        if !self.vmas.covers(addr, end) {
            return Err(Errno::ENOMEM);
        }
        for va in self.mapped_pages(addr, end) {
            self.space.unmap(&mut mem.phys, va);
        }
        Ok(())
    }

    fn unmap_range(&mut self, mem: &mut Memory, start: u64, end: u64) {
        for v in self.vmas.remove_range(start, end) {
            for va in self.mapped_pages(v.start, v.end) {
                self.space.unmap(&mut mem.phys, va);
            }
            self.released.extend(v.shm.map(|s| s.obj));
        }
    }

    /// Pages present in the page table within [start, end). Walks the range
    /// page by page when it is small, else filters the list of all present
    /// pages, so a huge reservation costs nothing to unmap or protect.
    fn mapped_pages(&self, start: u64, end: u64) -> Vec<u64> {
        const WALK_LIMIT: u64 = 4096;
        if (end - start) / PAGE <= WALK_LIMIT {
            (start..end).step_by(PAGE_SIZE).filter(|&va| self.space.lookup(va).is_some()).collect()
        } else {
            self.space.pages().into_iter().map(|(va, _)| va).filter(|&va| va >= start && va < end).collect()
        }
    }

    /// mremap: resize the mapping at [old, old+old_len), which must lie in
    /// one VMA, in place if the room is free, else (with `may_move`) by
    /// moving its pages to a new range (`fixed`: exactly there). Returns
    /// the mapping's address.
    pub fn remap(
        &mut self,
        mem: &mut Memory,
        old: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
        fixed: Option<u64>,
    ) -> Result<u64, Errno> {
        if !old.is_multiple_of(PAGE) || new_len == 0 {
            return Err(Errno::EINVAL);
        }
        let old_len = page_up(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_up(new_len).filter(|&l| l <= oxvm_cpu::mem::USER_END).ok_or(Errno::ENOMEM)?;
        let old_end = old.checked_add(old_len).ok_or(Errno::EFAULT)?;
        let vma = self.vmas.find(old).cloned().filter(|v| old_end <= v.end).ok_or(Errno::EFAULT)?;
        if old_len == 0 {
            // A second mapping of the same shared pages (only shared
            // memory can be duplicated, and only to a new place).
            let Some(mut shm) = vma.shm.clone() else { return Err(Errno::EINVAL) };
            if !may_move {
                // Growing 0 bytes in place into a used range: no room.
                return Err(Errno::ENOMEM);
            }
            shm.offset += old - vma.start;
            let file = vma.file.clone().map(|mut f| {
                f.offset += old - vma.start;
                f
            });
            let place = fixed.map_or(Placement::Hint(0), Placement::Fixed);
            return self.map_with(mem, place, new_len, vma.prot, vma.kind, file, Some(shm));
        }
        if fixed.is_none() {
            if new_len <= old_len {
                self.unmap_range(mem, old + new_len, old_end);
                return Ok(old);
            }
            let grow_end = old.checked_add(new_len).filter(|&e| e <= STACK_TOP - STACK_SIZE);
            if let Some(e) = grow_end {
                if vma.end == old_end && !self.vmas.overlaps(old_end, e) && vma.kind != VmaKind::Stack {
                    self.vmas.set_end(vma.start, e);
                    return Ok(old);
                }
            }
            if !may_move {
                return Err(Errno::ENOMEM);
            }
        }
        let new = match fixed {
            Some(a) => {
                let end = a.checked_add(new_len).filter(|&e| e <= oxvm_cpu::mem::USER_END).ok_or(Errno::EINVAL)?;
                if !a.is_multiple_of(PAGE) || (a < old_end && old < end) {
                    return Err(Errno::EINVAL);
                }
                self.unmap_range(mem, a, end);
                a
            }
            None => self.vmas.find_free_top_down(new_len, MMAP_MIN, MMAP_BASE).ok_or(Errno::ENOMEM)?,
        };
        let moved = new_len.min(old_len);
        let file = vma.file.clone().map(|mut f| {
            f.offset += old - vma.start;
            f
        });
        let shm = vma.shm.clone().map(|mut s| {
            s.offset += old - vma.start;
            s
        });
        // Take the old range out of the VMAs first (its pages stay mapped
        // until moved below), then give the new range the same kind.
        self.vmas.remove_range(old, old_end);
        self.vmas.insert(Vma { start: new, end: new + new_len, prot: vma.prot, kind: vma.kind, file, shm });
        for va in self.mapped_pages(old, old_end) {
            let Some(m) = self.space.lookup(va) else { continue };
            let off = va - old;
            if off < moved && m.shared {
                // Shared memory stays shared at its new place.
                mem.phys.add_ref(m.frame);
                self.space.map_shared(&mut mem.phys, new + off, m.frame, m.prot);
            } else if off < moved {
                // A frame shared with another address space (after fork)
                // must not become writable here: give the new place a copy.
                let frame = if m.cow || mem.phys.refs(m.frame) > 1 {
                    mem.phys.alloc_copy(m.frame)
                } else {
                    mem.phys.add_ref(m.frame);
                    m.frame
                };
                self.space.map(&mut mem.phys, new + off, frame, vma.prot.page_prot());
            }
            self.space.unmap(&mut mem.phys, va);
        }
        Ok(new)
    }

    /// mprotect: the whole range must be mapped (else ENOMEM).
    pub fn protect(&mut self, addr: u64, len: u64, prot: VmProt) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE) || prot.0 & !VmProt::ALL != 0 {
            return Err(Errno::EINVAL);
        }
        let end = page_up(len).and_then(|l| addr.checked_add(l)).ok_or(Errno::ENOMEM)?;
        if end == addr {
            return Ok(());
        }
        if !self.vmas.covers(addr, end) {
            return Err(Errno::ENOMEM);
        }
        // A shared file mapping can be made writable only if the file was
        // open for writing.
        if prot.contains(VmProt::WRITE) && self.vmas.intersecting(addr, end).any(|v| v.shm.as_ref().is_some_and(|s| !s.writable)) {
            return Err(Errno::EACCES);
        }
        self.vmas.protect(addr, end, prot);
        for va in self.mapped_pages(addr, end) {
            let page = self.page_prot(va, prot);
            self.space.protect(va, page);
        }
        Ok(())
    }

    /// The page-table permissions of a present page at `va` under `prot`:
    /// clean pages of a shared file mapping stay write-protected, so the
    /// first write marks them dirty (`handle_fault`).
    fn page_prot(&self, va: u64, prot: VmProt) -> Prot {
        let clean = self.vmas.find(va).and_then(|v| v.shm.as_ref().map(|s| (s, v.start))).is_some_and(|(s, start)| {
            let idx = (s.offset + (page_down(va) - start)) / PAGE;
            s.obj.is_file() && !s.obj.is_dirty(idx)
        });
        let p = prot.page_prot();
        if clean {
            Prot(p.0 & !Prot::WRITE.0)
        } else {
            p
        }
    }

    /// Write-protect the present pages of shared object `obj` whose page
    /// index is in `pages` (they were just written back: clean again).
    pub fn write_protect(&mut self, obj: u64, pages: &std::collections::BTreeSet<u64>) {
        let ranges: Vec<(u64, u64, u64)> =
            self.vmas.iter().filter_map(|v| v.shm.as_ref().filter(|s| s.obj.id() == obj).map(|s| (v.start, v.end, s.offset))).collect();
        for (start, end, offset) in ranges {
            for va in self.mapped_pages(start, end) {
                let Some(m) = self.space.lookup(va) else { continue };
                if m.shared && m.prot.contains(Prot::WRITE) && pages.contains(&((offset + (va - start)) / PAGE)) {
                    self.space.protect(va, Prot(m.prot.0 & !Prot::WRITE.0));
                }
            }
        }
    }

    /// The futex key of the word at `addr`: (object id, offset) in shared
    /// memory unless `private` (FUTEX_PRIVATE_FLAG), else None (the
    /// caller uses the address space's id and the address).
    pub fn shared_futex_key(&self, addr: u64, private: bool) -> Option<(u64, u64)> {
        if private {
            return None;
        }
        let v = self.vmas.find(addr)?;
        let s = v.shm.as_ref()?;
        Some((s.obj.id(), s.offset + (addr - v.start)))
    }

    /// The page cache objects of the shared file mappings in
    /// [addr, addr+len) (msync): the range must be page-aligned and
    /// mapped (else EINVAL/ENOMEM).
    pub fn file_objects(&self, addr: u64, len: u64) -> Result<Vec<Rc<ShmObject>>, Errno> {
        if !addr.is_multiple_of(PAGE) {
            return Err(Errno::EINVAL);
        }
        let end = page_up(len).and_then(|l| addr.checked_add(l)).ok_or(Errno::ENOMEM)?;
        if !self.vmas.covers(addr, end) {
            return Err(Errno::ENOMEM);
        }
        Ok(self.vmas.intersecting(addr, end).filter_map(|v| v.shm.as_ref()).filter(|s| s.obj.is_file()).map(|s| s.obj.clone()).collect())
    }

    /// Handle a page fault at `addr`: if a VMA allows the access, map a
    /// zeroed page there so the access can be retried. Err means SIGSEGV.
    pub fn handle_fault(&mut self, mem: &mut Memory, addr: u64, access: Access) -> Result<(), FaultError> {
        let vma = self.vmas.find(addr).ok_or(FaultError::BadAccess)?;
        if !vma.prot.allows(access) {
            return Err(FaultError::BadAccess);
        }
        let va = page_down(addr);
        let shm = vma.shm.as_ref().map(|s| (s.obj.clone(), (s.offset + (va - vma.start)) / PAGE));
        if let Some(m) = self.space.lookup(va) {
            // The first write to a clean page of a shared file mapping:
            // it becomes dirty (written back from now on) and writable.
            if let Some((obj, idx)) = shm.filter(|(o, _)| o.is_file() && access == Access::Write && m.shared) {
                obj.mark_dirty(idx);
                let prot = vma.prot.page_prot();
                self.space.protect(va, prot);
                return Ok(());
            }
            // Present and still faulting: a permission the page table
            // enforces on purpose.
            return Err(FaultError::BadAccess);
        }
        if let Some((obj, idx)) = shm {
            let frame = obj.page(mem, idx, self.frame_limit)?;
            mem.phys.add_ref(frame);
            if access == Access::Write {
                obj.mark_dirty(idx);
            }
            let prot = self.page_prot(va, vma_prot(&self.vmas, va));
            self.space.map_shared(&mut mem.phys, va, frame, prot);
            return Ok(());
        }
        let (prot, file) = (vma.prot, vma.file.as_ref().map(|f| (f.file.clone(), f.offset + (va - vma.start))));
        if let Some((file, off)) = &file {
            if let Some(frame) = self.page_cache.as_ref().and_then(|c| c.cached_page(&**file, off / PAGE)) {
                mem.phys.add_ref(frame);
                self.space.map_cow(&mut mem.phys, va, frame, prot.page_prot());
                return Ok(());
            }
        }
        let f = alloc_frame(mem, self.frame_limit).ok_or(FaultError::OutOfMemory)?;
        if let Some((file, off)) = file {
            // A private mapping's page is a copy of the file as it is now:
            // zeroes past the end in the last page, and a page wholly
            // beyond the end is a SIGBUS, as on Linux.
            if matches!(file.read_page(off, mem.phys.bytes_mut(f)), Ok(0)) {
                mem.phys.release(f);
                return Err(FaultError::BeyondEof);
            }
        }
        self.space.map(&mut mem.phys, va, f, prot.page_prot());
        Ok(())
    }

    /// Copy `data` to `va` as the kernel, ignoring page permissions (the
    /// loader fills read-only text this way). The range must lie in VMAs.
    pub fn write_as_kernel(&mut self, mem: &mut Memory, va: u64, data: &[u8]) -> Result<(), Errno> {
        let mut done = 0usize;
        while done < data.len() {
            let addr = va.checked_add(done as u64).ok_or(Errno::EFAULT)?;
            let off = (addr % PAGE) as usize;
            let n = (PAGE_SIZE - off).min(data.len() - done);
            let frame = self.kernel_frame(mem, addr)?;
            mem.phys.bytes_mut(frame)[off..off + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// The frame behind `va`, allocated if the page was never touched.
    fn kernel_frame(&mut self, mem: &mut Memory, va: u64) -> Result<FrameId, Errno> {
        let vma = self.vmas.find(va).ok_or(Errno::EFAULT)?;
        let (prot, file) = (vma.prot, vma.file.as_ref().map(|f| (f.file.clone(), f.offset + (page_down(va) - vma.start))));
        if let Some(m) = self.space.lookup(va) {
            // Frames are private until fork exists; a shared one would need
            // its copy-on-write broken first.
            debug_assert!(mem.phys.refs(m.frame) == 1, "kernel write to a shared frame at {va:#x}");
            if mem.phys.is_code(m.frame) {
                mem.code.invalidate_frame(m.frame);
            }
            return Ok(m.frame);
        }
        let f = alloc_frame(mem, self.frame_limit).ok_or(Errno::ENOMEM)?;
        if let Some((file, off)) = file {
            let _ = file.read_page(off, mem.phys.bytes_mut(f));
        }
        self.space.map(&mut mem.phys, page_down(va), f, prot.page_prot());
        Ok(f)
    }

    /// Set up the heap to start at `start` (just above the image).
    pub fn init_brk(&mut self, start: u64) {
        self.brk_start = start;
        self.brk = start;
    }

    pub fn brk(&self) -> u64 {
        self.brk
    }

    /// brk(2): move the program break. Returns the new break, or the old
    /// one if the request cannot be honoured (that is how Linux reports
    /// failure).
    pub fn set_brk(&mut self, mem: &mut Memory, new: u64) -> u64 {
        if new < self.brk_start {
            return self.brk;
        }
        let (Some(old_end), Some(new_end)) = (page_up(self.brk), page_up(new)) else {
            return self.brk;
        };
        if new_end > old_end {
            if new_end > MMAP_BASE || self.vmas.overlaps(old_end, new_end) {
                return self.brk;
            }
            let heap = self.vmas.find(old_end - 1).filter(|v| v.kind == VmaKind::Heap && v.end == old_end).map(|v| v.start);
            match heap {
                Some(s) if old_end > self.brk_start => self.vmas.set_end(s, new_end),
                _ => self.vmas.insert(Vma { start: old_end, end: new_end, prot: VmProt::RW, kind: VmaKind::Heap, file: None, shm: None }),
            }
        } else if new_end < old_end {
            self.unmap_range(mem, new_end, old_end);
        }
        self.brk = new;
        self.brk
    }

    /// A typed view for the kernel's accesses to this process's memory.
    pub fn user<'a>(&'a mut self, mem: &'a mut Memory) -> UserSpace<'a> {
        UserSpace::new(self, mem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demand_paging_maps_on_fault() {
        let mut mem = Memory::new();
        let mut mm = Mm::new();
        let a = mm.map(&mut mem, Placement::Hint(0), 3 * PAGE, VmProt::RW, VmaKind::Anon).unwrap();
        assert_eq!(a, MMAP_BASE - 3 * PAGE);
        assert!(mm.space.lookup(a).is_none());
        assert!(mm.handle_fault(&mut mem, a + 5, Access::Write).is_ok());
        assert!(mm.space.lookup(a).is_some());
        assert!(mm.handle_fault(&mut mem, a + 5, Access::Exec).is_err());
        assert!(mm.handle_fault(&mut mem, a + 3 * PAGE, Access::Read).is_err());
    }

    #[test]
    fn unmap_frees_pages() {
        let mut mem = Memory::new();
        let mut mm = Mm::new();
        let a = mm.map(&mut mem, Placement::Fixed(0x40_0000), 4 * PAGE, VmProt::RW, VmaKind::Anon).unwrap();
        for i in 0..4 {
            mm.handle_fault(&mut mem, a + i * PAGE, Access::Write).unwrap();
        }
        assert_eq!(mem.phys.frames_in_use(), 4);
        mm.unmap(&mut mem, a + PAGE, 2 * PAGE).unwrap();
        assert_eq!(mem.phys.frames_in_use(), 2);
        assert!(mm.vmas().find(a + PAGE).is_none());
        assert!(mm.vmas().find(a + 3 * PAGE).is_some());
        assert_eq!(mm.unmap(&mut mem, a + 1, PAGE), Err(Errno::EINVAL));
    }

    #[test]
    fn frame_limit_stops_allocation() {
        let mut mem = Memory::new();
        let mut mm = Mm::new();
        mm.set_frame_limit(2);
        let a = mm.map(&mut mem, Placement::Fixed(0x40_0000), 4 * PAGE, VmProt::RW, VmaKind::Anon).unwrap();
        assert!(mm.handle_fault(&mut mem, a, Access::Write).is_ok());
        assert!(mm.handle_fault(&mut mem, a + PAGE, Access::Write).is_ok());
        assert_eq!(mm.handle_fault(&mut mem, a + 2 * PAGE, Access::Write), Err(FaultError::OutOfMemory));
        assert_eq!(mm.write_as_kernel(&mut mem, a + 3 * PAGE, b"x"), Err(Errno::ENOMEM));
    }

    #[test]
    fn fixed_noreplace_and_protect() {
        let mut mem = Memory::new();
        let mut mm = Mm::new();
        mm.map(&mut mem, Placement::Fixed(0x40_0000), PAGE, VmProt::RW, VmaKind::Anon).unwrap();
        assert_eq!(mm.map(&mut mem, Placement::FixedNoReplace(0x40_0000), PAGE, VmProt::RW, VmaKind::Anon), Err(Errno::EEXIST));
        mm.handle_fault(&mut mem, 0x40_0000, Access::Write).unwrap();
        mm.protect(0x40_0000, PAGE, VmProt::READ).unwrap();
        assert!(mm.handle_fault(&mut mem, 0x40_0000, Access::Write).is_err());
        assert_eq!(mm.protect(0x40_0000, 2 * PAGE, VmProt::READ), Err(Errno::ENOMEM));
    }

    #[test]
    fn remap_grows_in_place_or_moves() {
        let mut mem = Memory::new();
        let mut mm = Mm::new();
        let a = mm.map(&mut mem, Placement::Fixed(0x40_0000), 2 * PAGE, VmProt::RW, VmaKind::Anon).unwrap();
        mm.user(&mut mem).write_bytes(a + PAGE, b"keep").unwrap();
        assert_eq!(mm.remap(&mut mem, a, 2 * PAGE, 3 * PAGE, false, None), Ok(a), "room above: grows in place");
        mm.map(&mut mem, Placement::Fixed(a + 3 * PAGE), PAGE, VmProt::RW, VmaKind::Anon).unwrap();
        assert_eq!(mm.remap(&mut mem, a, 3 * PAGE, 5 * PAGE, false, None), Err(Errno::ENOMEM));
        let b = mm.remap(&mut mem, a, 3 * PAGE, 5 * PAGE, true, None).unwrap();
        assert_ne!(b, a);
        let mut buf = [0u8; 4];
        mm.user(&mut mem).read_bytes(b + PAGE, &mut buf).unwrap();
        assert_eq!(&buf, b"keep", "pages move with the mapping");
        assert!(mm.vmas().find(a).is_none(), "the old range is gone");
        assert_eq!(mem.phys.frames_in_use(), 1, "moved, not copied");
        assert_eq!(mm.remap(&mut mem, b, 5 * PAGE, PAGE, false, None), Ok(b), "shrinks in place");
        assert!(mm.vmas().find(b + PAGE).is_none());
        assert_eq!(mm.remap(&mut mem, 0x1000_0000, PAGE, 2 * PAGE, true, None), Err(Errno::EFAULT));
    }

    #[test]
    fn brk_grows_and_shrinks() {
        let mut mem = Memory::new();
        let mut mm = Mm::new();
        mm.init_brk(0x60_0000);
        assert_eq!(mm.set_brk(&mut mem, 0), 0x60_0000);
        assert_eq!(mm.set_brk(&mut mem, 0x60_2010), 0x60_2010);
        assert!(mm.handle_fault(&mut mem, 0x60_2000, Access::Write).is_ok());
        assert_eq!(mm.set_brk(&mut mem, 0x60_5000), 0x60_5000);
        assert_eq!(mm.vmas().iter().count(), 1, "the heap grows in place");
        assert_eq!(mm.set_brk(&mut mem, 0x60_1000), 0x60_1000);
        assert!(mm.space.lookup(0x60_2000).is_none());
        assert!(mm.handle_fault(&mut mem, 0x60_2000, Access::Write).is_err());
        // Growing into another mapping fails and keeps the old break.
        mm.map(&mut mem, Placement::Fixed(0x60_3000), PAGE, VmProt::RW, VmaKind::Anon).unwrap();
        assert_eq!(mm.set_brk(&mut mem, 0x60_4000), 0x60_1000);
    }
}
