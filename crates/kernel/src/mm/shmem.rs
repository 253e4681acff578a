//! Shared memory objects: the frames behind MAP_SHARED mappings.
//!
//! A [`ShmObject`] owns one frame per page touched so far (one reference
//! each, in the CPU crate's pool); every mapping of the object maps those
//! same frames with the page table's `shared` bit, so fork keeps them
//! shared instead of copy-on-write and a write in one process is seen by
//! all. Anonymous MAP_SHARED memory gets a private object per mmap call;
//! a file gets one object per inode, (dev, ino), found through the
//! [`PageCache`] (the VFS holds it), so two processes mapping one file,
//! or one process mapping it twice, share frames.
//!
//! File pages are written back (`FileOps::write` at the page offset,
//! trimmed to the file size) on msync, munmap, fsync, before a read(2) or
//! write(2) of the file, before a truncate, and when the last mapping goes
//! (exit, exec). Only pages written through a mapping are written back:
//! a file page is first mapped without write permission, and the write
//! fault marks it dirty (`Mm::handle_fault`). A write-back write-protects
//! the pages it wrote in every address space mapping the object (they
//! register with it: mmap, `MmRef::fork`), so only pages written since
//! are written next time. A read(2)/write(2) therefore sees the mappings'
//! writes, and a write(2) re-reads the cached pages it touched so the
//! mappings see it.
//!
//! Objects live as long as a VMA refers to them (`Rc`); the page cache
//! only holds `Weak` references. Dropping frames needs the frame pool, so
//! VMAs removed by munmap/mremap/exec/exit hand their objects to
//! [`settle`], which writes them back and frees the frames of those no
//! longer mapped anywhere.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::{Rc, Weak};

use oxvm_cpu::mem::FrameId;
use oxvm_cpu::Memory;

use super::{alloc_frame, next_object_id, PAGE};
use crate::errno::Errno;
use crate::host::Host;
use crate::vfs::OpenFile;

/// Memory shared by every mapping of it.
pub struct ShmObject {
    id: u64,
    /// Frames by page index (file offset / PAGE); one reference each.
    pages: RefCell<BTreeMap<u64, FrameId>>,
    /// Pages written through a mapping since the last write-back.
    dirty: RefCell<BTreeSet<u64>>,
    /// The file behind a page cache object: pages are read through
    /// `reader`, written back through `writer` (the last writable open
    /// file that mapped it: the first mapping may be read-only).
    reader: Option<Rc<OpenFile>>,
    writer: RefCell<Option<Rc<OpenFile>>>,
    /// Anonymous memory's size, fixed at mmap: pages past it (reached by
    /// growing the mapping with mremap) are a SIGBUS, as on Linux.
    size: u64,
    /// The address spaces mapping a file object (registered by mmap and
    /// fork), so a write-back can write-protect the pages it cleaned.
    mappers: RefCell<Vec<Weak<RefCell<super::Mm>>>>,
}

impl ShmObject {
    /// Anonymous shared memory (MAP_SHARED | MAP_ANONYMOUS) of `size`
    /// bytes: zero-filled.
    pub fn anon(size: u64) -> Rc<ShmObject> {
        Rc::new(ShmObject {
            id: next_object_id(),
            pages: Default::default(),
            dirty: Default::default(),
            reader: None,
            writer: RefCell::new(None),
            size,
            mappers: Default::default(),
        })
    }

    fn for_file(file: &Rc<OpenFile>) -> Rc<ShmObject> {
        Rc::new(ShmObject {
            id: next_object_id(),
            pages: Default::default(),
            dirty: Default::default(),
            reader: Some(file.clone()),
            writer: RefCell::new(file.writable().then(|| file.clone())),
            size: u64::MAX,
            mappers: Default::default(),
        })
    }

    /// The identity of this object: the futex key of a word in it is
    /// (id, offset), whichever process and address reaches it.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether this object caches a file (its pages are written back).
    pub fn is_file(&self) -> bool {
        self.reader.is_some()
    }

    /// The frame of page `idx`, read from the file (or zero-filled) on
    /// first use. A page wholly past the end of the file is a SIGBUS; the
    /// size is checked when the page is brought in only (a cached page
    /// stays, zeroed past the end, if the file shrinks later).
    pub fn page(&self, mem: &mut Memory, idx: u64, limit: usize) -> Result<FrameId, super::FaultError> {
        if let Some(&f) = self.pages.borrow().get(&idx) {
            return Ok(f);
        }
        let size = match &self.reader {
            Some(file) => file.stat().map_or(u64::MAX, |st| st.size),
            None => self.size,
        };
        if idx.saturating_mul(PAGE) >= size {
            return Err(super::FaultError::BeyondEof);
        }
        let f = alloc_frame(mem, limit).ok_or(super::FaultError::OutOfMemory)?;
        if let Some(file) = &self.reader {
            let _ = file.ops.read_page(idx * PAGE, mem.phys.bytes_mut(f));
        }
        self.pages.borrow_mut().insert(idx, f);
        Ok(f)
    }

    /// Record that `mm` maps this (file) object.
    pub fn add_mapper(&self, mm: &Weak<RefCell<super::Mm>>) {
        if !self.is_file() {
            return;
        }
        let mut m = self.mappers.borrow_mut();
        m.retain(|w| w.strong_count() > 0);
        if !m.iter().any(|w| w.ptr_eq(mm)) {
            m.push(mm.clone());
        }
    }

    pub fn mark_dirty(&self, idx: u64) {
        if self.is_file() {
            self.dirty.borrow_mut().insert(idx);
        }
    }

    pub fn is_dirty(&self, idx: u64) -> bool {
        self.dirty.borrow().contains(&idx)
    }

    /// Frames held (for tests and accounting).
    pub fn resident(&self) -> usize {
        self.pages.borrow().len()
    }

    /// Write the dirty pages back to the file, each trimmed to the file's
    /// current size, then make them clean again (write-protected in every
    /// mapping, so the next write marks them dirty again). The first error
    /// is reported (msync/fsync return it); the pages then stay dirty.
    pub fn writeback(&self, host: &mut dyn Host, mem: &Memory) -> Result<(), Errno> {
        self.write_dirty(host, mem)?;
        self.clean();
        Ok(())
    }

    /// Write-protect the dirty pages in every mapping and forget they were
    /// dirty. If some mapping's address space is in use (borrowed), they
    /// stay dirty: written back again next time, which is only slower.
    fn clean(&self) {
        let mut mms = Vec::new();
        for w in self.mappers.borrow().iter() {
            if let Some(mm) = w.upgrade() {
                if mm.try_borrow_mut().is_err() {
                    return;
                }
                mms.push(mm);
            }
        }
        let dirty = std::mem::take(&mut *self.dirty.borrow_mut());
        for mm in mms {
            mm.borrow_mut().write_protect(self.id, &dirty);
        }
    }

    fn write_dirty(&self, host: &mut dyn Host, mem: &Memory) -> Result<(), Errno> {
        let dirty = self.dirty.borrow();
        if dirty.is_empty() {
            return Ok(());
        }
        let Some(file) = self.writer.borrow().clone() else { return Err(Errno::EBADF) };
        let size = file.stat()?.size;
        let pages = self.pages.borrow();
        let mut result = Ok(());
        for &idx in dirty.iter() {
            let (off, Some(&frame)) = (idx * PAGE, pages.get(&idx)) else { continue };
            if off >= size {
                continue;
            }
            let n = (size - off).min(PAGE) as usize;
            if let Err(e) = file.ops.write(host, off, &mem.phys.bytes(frame)[..n]) {
                result = result.and(Err(e));
            }
        }
        result
    }

    /// Re-read the cached pages holding bytes [start, end) of the file
    /// (after a write(2) changed them, once the dirty pages went back).
    pub fn refresh(&self, mem: &mut Memory, start: u64, end: u64) {
        let Some(file) = &self.reader else { return };
        if start >= end {
            return;
        }
        for (&idx, &frame) in self.pages.borrow().range(start / PAGE..end.div_ceil(PAGE)) {
            let buf = mem.phys.bytes_mut(frame);
            buf.fill(0);
            let _ = file.ops.read_page(idx * PAGE, buf);
            if mem.phys.is_code(frame) {
                mem.code.invalidate_frame(frame);
            }
        }
    }

    /// The file was truncated to `size`: cached bytes beyond it read as
    /// zeroes from now on (Linux unmaps those pages and raises SIGBUS on
    /// access; a growing truncate must not bring old data back).
    pub fn truncated(&self, mem: &mut Memory, size: u64) {
        for (&idx, &frame) in self.pages.borrow().iter() {
            let off = idx * PAGE;
            if off + PAGE > size {
                let keep = size.saturating_sub(off) as usize;
                mem.phys.bytes_mut(frame)[keep..].fill(0);
                if mem.phys.is_code(frame) {
                    mem.code.invalidate_frame(frame);
                }
            }
        }
    }

    /// Free every frame (no mapping refers to the object any more).
    fn release(&self, mem: &mut Memory) {
        for (_, f) in std::mem::take(&mut *self.pages.borrow_mut()) {
            mem.phys.release(f);
        }
        self.dirty.borrow_mut().clear();
    }
}

/// The part of a shared object a VMA maps: the object and the offset (in
/// bytes) of the VMA's first page in it.
#[derive(Clone)]
pub struct ShmMap {
    pub obj: Rc<ShmObject>,
    pub offset: u64,
    /// The file was open for writing (always true for anonymous memory):
    /// mprotect may add PROT_WRITE.
    pub writable: bool,
}

impl core::fmt::Debug for ShmMap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ShmMap {{ id: {}, offset: {:#x} }}", self.obj.id, self.offset)
    }
}

impl PartialEq for ShmMap {
    fn eq(&self, o: &ShmMap) -> bool {
        Rc::ptr_eq(&self.obj, &o.obj) && self.offset == o.offset && self.writable == o.writable
    }
}

/// The page cache: the shared object of every file mapped MAP_SHARED,
/// by (dev, ino). Held by the `Vfs`, so all processes of a kernel share it.
#[derive(Default)]
pub struct PageCache {
    files: RefCell<HashMap<(u64, u64), Weak<ShmObject>>>,
}

fn file_key(file: &OpenFile) -> Option<(u64, u64)> {
    file.stat().ok().map(|st| (st.dev, st.ino))
}

impl PageCache {
    /// The object caching `file`, created on first use. A writable open
    /// file becomes the one write-back goes through.
    pub fn object(&self, file: &Rc<OpenFile>) -> Result<Rc<ShmObject>, Errno> {
        let key = file_key(file).ok_or(Errno::ENODEV)?;
        let mut files = self.files.borrow_mut();
        files.retain(|_, w| w.strong_count() > 0);
        if let Some(obj) = files.get(&key).and_then(Weak::upgrade) {
            if file.writable() {
                *obj.writer.borrow_mut() = Some(file.clone());
            }
            return Ok(obj);
        }
        let obj = ShmObject::for_file(file);
        files.insert(key, Rc::downgrade(&obj));
        Ok(obj)
    }

    /// The live object caching the file with identity `key`, if any. Cheap
    /// when nothing is mapped shared.
    pub fn lookup_key(&self, key: (u64, u64)) -> Option<Rc<ShmObject>> {
        self.files.borrow().get(&key).and_then(Weak::upgrade)
    }

    /// The frame caching page `idx` of the file behind `ops`, if a shared
    /// mapping brought it in (no stat while nothing is mapped shared).
    pub fn cached_page(&self, ops: &dyn crate::vfs::FileOps, idx: u64) -> Option<FrameId> {
        if !self.any_live() {
            return None;
        }
        let st = ops.stat()?.ok()?;
        let obj = self.lookup_key((st.dev, st.ino))?;
        let f = obj.pages.borrow().get(&idx).copied();
        f
    }

    /// The live object caching `file`, if any (no stat when the cache is
    /// empty or the file is not seekable, i.e. not a regular file).
    pub fn lookup(&self, file: &OpenFile) -> Option<Rc<ShmObject>> {
        if !file.ops.seekable() || !self.any_live() {
            return None;
        }
        self.lookup_key(file_key(file)?)
    }

    /// Whether any file is mapped shared; forgets the dead entries when
    /// none is, so later calls stop at the emptiness test.
    fn any_live(&self) -> bool {
        let mut files = self.files.borrow_mut();
        if files.is_empty() {
            return false;
        }
        if files.values().any(|w| w.strong_count() > 0) {
            return true;
        }
        files.clear();
        false
    }
}

/// Write back the shared file pages every address space in `mms` maps
/// (the guest is ending while they still run).
pub fn writeback_all<'a>(mms: impl Iterator<Item = &'a super::MmRef>, host: &mut dyn Host, mem: &Memory) {
    let mut objs: Vec<Rc<ShmObject>> = Vec::new();
    for mm in mms {
        objs.extend(mm.borrow().vmas().iter().filter_map(|v| v.shm.as_ref()).filter(|s| s.obj.is_file()).map(|s| s.obj.clone()));
    }
    objs.sort_by_key(|o| o.id);
    objs.dedup_by(|a, b| Rc::ptr_eq(a, b));
    for obj in objs {
        let _ = obj.writeback(host, mem);
    }
}

/// Objects whose VMAs were removed: write file pages back, and free the
/// frames of the objects no mapping refers to any more.
pub fn settle(mut objs: Vec<Rc<ShmObject>>, host: &mut dyn Host, mem: &mut Memory) {
    objs.sort_by_key(|o| o.id);
    objs.dedup_by(|a, b| Rc::ptr_eq(a, b));
    for obj in objs {
        let _ = obj.writeback(host, mem);
        if Rc::strong_count(&obj) == 1 {
            obj.release(mem);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use oxvm_cpu::Access;

    use super::*;
    use crate::mm::{Mm, MmRef, Placement, VmProt, VmaKind};
    use crate::tests::{Record, TestHost};
    use crate::vfs::file::{O_RDONLY, O_RDWR};
    use crate::vfs::{FileOps, Io, Stat};

    /// A regular file in memory.
    struct MemFile(RefCell<Vec<u8>>);

    impl FileOps for MemFile {
        fn read(&self, _h: &mut dyn Host, off: u64, buf: &mut [u8]) -> crate::vfs::Result<Io> {
            let d = self.0.borrow();
            let s = (off as usize).min(d.len());
            let n = buf.len().min(d.len() - s);
            buf[..n].copy_from_slice(&d[s..s + n]);
            Ok(Io::Done(n))
        }
        fn write(&self, _h: &mut dyn Host, off: u64, data: &[u8]) -> crate::vfs::Result<Io> {
            let mut d = self.0.borrow_mut();
            let end = off as usize + data.len();
            if d.len() < end {
                d.resize(end, 0);
            }
            d[off as usize..end].copy_from_slice(data);
            Ok(Io::Done(data.len()))
        }
        fn seekable(&self) -> bool {
            true
        }
        fn read_page(&self, off: u64, buf: &mut [u8]) -> crate::vfs::Result<usize> {
            let d = self.0.borrow();
            let s = (off as usize).min(d.len());
            let n = buf.len().min(d.len() - s);
            buf[..n].copy_from_slice(&d[s..s + n]);
            Ok(n)
        }
        fn stat(&self) -> Option<crate::vfs::Result<Stat>> {
            Some(Ok(Stat { dev: 7, ino: 42, size: self.0.borrow().len() as u64, ..Default::default() }))
        }
    }

    fn host() -> TestHost {
        TestHost(Rc::new(RefCell::new(Record::default())))
    }

    #[test]
    fn anonymous_shared_memory_survives_fork_shared() {
        let mut mem = Memory::new();
        let mut parent = Mm::new();
        let a = parent.map(&mut mem, Placement::Hint(0), 2 * PAGE, VmProt::RW, VmaKind::SharedAnon).unwrap();
        let private = parent.map(&mut mem, Placement::Hint(0), PAGE, VmProt::RW, VmaKind::Anon).unwrap();
        parent.user(&mut mem).write_bytes(a, b"before").unwrap();
        parent.user(&mut mem).write_bytes(private, b"mine").unwrap();
        let mut child = parent.fork(&mut mem);
        child.user(&mut mem).write_bytes(a, b"CHILD!").unwrap();
        child.user(&mut mem).write_bytes(a + PAGE, b"second").unwrap();
        child.user(&mut mem).write_bytes(private, b"kids").unwrap();
        let mut buf = [0u8; 6];
        parent.user(&mut mem).read_bytes(a, &mut buf).unwrap();
        assert_eq!(&buf, b"CHILD!", "the parent sees the child's write");
        parent.user(&mut mem).read_bytes(a + PAGE, &mut buf).unwrap();
        assert_eq!(&buf, b"second", "even on a page the parent never touched");
        parent.user(&mut mem).read_bytes(private, &mut buf[..4]).unwrap();
        assert_eq!(&buf[..4], b"mine", "private memory stays copy-on-write");
        // The same futex key in both, whatever the address.
        assert_eq!(parent.shared_futex_key(a + 8, false), child.shared_futex_key(a + 8, false));
        assert_eq!(parent.shared_futex_key(a + 8, true), None);
        assert_eq!(parent.shared_futex_key(private, false), None);
        // MADV_DONTNEED re-reads the shared frame.
        parent.discard(&mut mem, a, PAGE).unwrap();
        parent.user(&mut mem).read_bytes(a, &mut buf).unwrap();
        assert_eq!(&buf, b"CHILD!");
        // Shared frames are counted once: 2 shared + 2 private pages.
        assert_eq!(mem.phys.frames_in_use(), 4);
        let mut h = host();
        child.clear(&mut mem);
        settle(child.take_released(), &mut h, &mut mem);
        assert_eq!(mem.phys.frames_in_use(), 3, "the parent still maps the shared pages");
        parent.unmap(&mut mem, a, 2 * PAGE).unwrap();
        settle(parent.take_released(), &mut h, &mut mem);
        assert_eq!(mem.phys.frames_in_use(), 1, "the object went with its last mapping");
    }

    #[test]
    fn remap_keeps_shared_pages_shared() {
        let mut mem = Memory::new();
        let mut mm = Mm::new();
        let a = mm.map(&mut mem, Placement::Fixed(0x40_0000), PAGE, VmProt::RW, VmaKind::SharedAnon).unwrap();
        mm.user(&mut mem).write_bytes(a, b"moved").unwrap();
        let mut child = mm.fork(&mut mem);
        mm.map(&mut mem, Placement::Fixed(a + PAGE), PAGE, VmProt::RW, VmaKind::Anon).unwrap();
        let b = mm.remap(&mut mem, a, PAGE, 2 * PAGE, true, None).unwrap();
        assert_ne!(a, b);
        child.user(&mut mem).write_bytes(a, b"MOVED").unwrap();
        let mut buf = [0u8; 5];
        mm.user(&mut mem).read_bytes(b, &mut buf).unwrap();
        assert_eq!(&buf, b"MOVED");
    }

    #[test]
    fn file_pages_are_cached_shared_and_written_back_when_dirty() {
        let mut mem = Memory::new();
        let mut h = host();
        let data = Rc::new(MemFile(RefCell::new(vec![b'.'; PAGE as usize + 100])));
        let rw = crate::vfs::OpenFile::new(data.clone(), None, O_RDWR);
        let ro = crate::vfs::OpenFile::new(data.clone(), None, O_RDONLY);
        let cache = PageCache::default();
        // A read-only mapping first, then a writable one: one object.
        let o1 = cache.object(&ro).unwrap();
        let o2 = cache.object(&rw).unwrap();
        assert!(Rc::ptr_eq(&o1, &o2));
        let a = MmRef::new(Mm::new());
        let b = MmRef::new(Mm::new());
        let map = |mm: &MmRef, mem: &mut Memory, obj: &Rc<ShmObject>, writable| {
            let shm = ShmMap { obj: obj.clone(), offset: 0, writable };
            mm.borrow_mut().map_with(mem, Placement::Hint(0), 2 * PAGE, VmProt::RW, VmaKind::File, None, Some(shm)).unwrap()
        };
        let (va, vb) = (map(&a, &mut mem, &o1, false), map(&b, &mut mem, &o2, true));
        a.add_mapping_of(&o1);
        b.add_mapping_of(&o2);
        assert_eq!(a.borrow_mut().protect(va, PAGE, VmProt::RW), Err(Errno::EACCES), "the file is open read-only there");
        drop((o1, o2));
        // A read maps the page write-protected: nothing is dirty.
        let mut buf = [0u8; 4];
        b.user(&mut mem).read_bytes(vb, &mut buf).unwrap();
        assert_eq!(&buf, b"....");
        assert!(b.borrow().space.lookup(vb).is_some_and(|m| m.shared && !m.prot.contains(oxvm_cpu::Prot::WRITE)));
        b.borrow_mut().handle_fault(&mut mem, vb, Access::Write).unwrap();
        b.user(&mut mem).write_bytes(vb + 10, b"hi").unwrap();
        b.user(&mut mem).write_bytes(vb + PAGE + 98, b"tail-cut").unwrap();
        a.user(&mut mem).read_bytes(va + 10, &mut buf[..2]).unwrap();
        assert_eq!(&buf[..2], b"hi", "the other mapping shares the frame");
        assert_eq!(data.0.borrow()[10], b'.', "not written back yet");
        let obj = cache.lookup(&rw).unwrap();
        obj.writeback(&mut h, &mem).unwrap();
        let file = data.0.borrow().clone();
        assert_eq!(&file[10..12], b"hi");
        assert_eq!(file.len(), PAGE as usize + 100, "trimmed to the file size");
        assert_eq!(&file[PAGE as usize + 98..], b"ta");
        // Written back, the page is clean again: write-protected, and the
        // next write marks it dirty again.
        assert!(!obj.is_dirty(0));
        assert!(b.borrow().space.lookup(vb).is_some_and(|m| !m.prot.contains(oxvm_cpu::Prot::WRITE)));
        b.user(&mut mem).write_bytes(vb + 30, b"again").unwrap();
        assert!(obj.is_dirty(0));
        obj.writeback(&mut h, &mem).unwrap();
        assert_eq!(&data.0.borrow()[30..35], b"again");
        // A write(2) shows in the mappings once refreshed.
        data.0.borrow_mut()[20] = b'W';
        obj.refresh(&mut mem, 20, 21);
        a.user(&mut mem).read_bytes(va + 20, &mut buf[..1]).unwrap();
        assert_eq!(buf[0], b'W');
        obj.truncated(&mut mem, 13);
        a.user(&mut mem).read_bytes(va + 10, &mut buf).unwrap();
        assert_eq!(&buf, b"hi.\0");
        drop(obj);
        // The last mapping going frees the frames.
        let before = mem.phys.frames_in_use();
        settle(a.release(&mut mem), &mut h, &mut mem);
        assert_eq!(mem.phys.frames_in_use(), before);
        settle(b.release(&mut mem), &mut h, &mut mem);
        assert_eq!(mem.phys.frames_in_use(), 0);
        assert!(cache.lookup(&rw).is_none());
    }
}
