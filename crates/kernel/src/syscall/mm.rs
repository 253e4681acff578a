//! brk(2), mmap(2), munmap(2), mprotect(2), mremap(2), msync(2):
//! anonymous memory and file mappings (private ones copy-on-write, shared
//! ones through the page cache, `mm/shmem.rs`).

use super::{ret, Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;
use crate::mm::{FileMap, Placement, ShmMap, ShmObject, VmProt, VmaKind, MMAP_MIN, PAGE};
use crate::vfs::FileType;

pub const PROT_READ: u64 = 1;
pub const PROT_WRITE: u64 = 2;
pub const PROT_EXEC: u64 = 4;
const PROT_SEM: u64 = 8;

pub const MAP_SHARED: u64 = 0x01;
pub const MAP_PRIVATE: u64 = 0x02;
pub const MAP_SHARED_VALIDATE: u64 = 0x03;
const MAP_TYPE: u64 = 0x0f;
pub const MAP_FIXED: u64 = 0x10;
pub const MAP_ANONYMOUS: u64 = 0x20;
pub const MAP_32BIT: u64 = 0x40;
pub const MAP_GROWSDOWN: u64 = 0x100;
pub const MAP_DENYWRITE: u64 = 0x800;
pub const MAP_EXECUTABLE: u64 = 0x1000;
pub const MAP_LOCKED: u64 = 0x2000;
pub const MAP_NORESERVE: u64 = 0x4000;
pub const MAP_POPULATE: u64 = 0x8000;
pub const MAP_NONBLOCK: u64 = 0x10000;
pub const MAP_STACK: u64 = 0x20000;
pub const MAP_HUGETLB: u64 = 0x40000;
pub const MAP_FIXED_NOREPLACE: u64 = 0x100000;

/// Flag bits MAP_SHARED_VALIDATE accepts (everything else is EOPNOTSUPP
/// there, ignored elsewhere).
const MAP_KNOWN: u64 = MAP_TYPE
    | MAP_FIXED
    | MAP_ANONYMOUS
    | MAP_32BIT
    | MAP_GROWSDOWN
    | MAP_DENYWRITE
    | MAP_EXECUTABLE
    | MAP_LOCKED
    | MAP_NORESERVE
    | MAP_POPULATE
    | MAP_NONBLOCK
    | MAP_STACK
    | MAP_HUGETLB
    | MAP_FIXED_NOREPLACE;

pub fn sys_brk(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let p = &mut *ctx.process;
    Ok(SyscallReturn::Return(p.mm.borrow_mut().set_brk(ctx.mem, a.arg(0))))
}

pub fn sys_mmap(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (addr, len, prot, flags, fd, off) = (a.arg(0), a.arg(1), a.arg(2), a.arg(3), a.arg(4) as i32, a.arg(5));
    if len == 0 || off % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    match flags & MAP_TYPE {
        MAP_PRIVATE | MAP_SHARED => {}
        MAP_SHARED_VALIDATE if flags & !MAP_KNOWN == 0 => {}
        MAP_SHARED_VALIDATE => return Err(Errno(95)), // EOPNOTSUPP
        _ => return Err(Errno::EINVAL),
    }
    let shared = flags & MAP_TYPE != MAP_PRIVATE;
    let mut shm = None;
    let file = if flags & MAP_ANONYMOUS == 0 {
        let f = ctx.file(fd)?;
        if !f.readable() || (shared && prot & PROT_WRITE != 0 && !f.writable()) {
            return Err(Errno::EACCES);
        }
        // Probe: a file that cannot be mapped says so now, not at fault.
        f.ops.read_page(off, &mut [])?;
        f.ops.prefetch(off, len);
        off.checked_add(len).filter(|&e| e <= i64::MAX as u64).ok_or(Errno::EOVERFLOW)?;
        if shared {
            // Every shared mapping of a regular file maps the same frames
            // (its page cache); a device (/dev/zero) gives what Linux
            // gives for it: new shared memory, zero-filled.
            let regular = f.stat().is_ok_and(|st| FileType::from_mode(st.mode) == Some(FileType::Regular));
            let obj = if regular { ctx.process.fs.vfs.page_cache.object(&f)? } else { ShmObject::anon(off.saturating_add(len)) };
            ctx.process.mm.add_mapping_of(&obj);
            shm = Some(ShmMap { obj, offset: off, writable: f.writable() });
        }
        Some(FileMap { file: f.ops.clone(), offset: off, shared, dentry: f.dentry.clone() })
    } else {
        None
    };
    let place = if flags & MAP_FIXED_NOREPLACE != 0 {
        Placement::FixedNoReplace(addr)
    } else if flags & MAP_FIXED != 0 {
        Placement::Fixed(addr)
    } else {
        Placement::Hint(addr)
    };
    if matches!(place, Placement::Fixed(a) | Placement::FixedNoReplace(a) if a < MMAP_MIN) {
        return Err(Errno::EPERM);
    }
    let prot = VmProt((prot & !PROT_SEM) as u32 & VmProt::ALL);
    // Shared anonymous memory is recorded as such, for fork to share.
    let kind = match (&file, shared) {
        (Some(_), _) => VmaKind::File,
        (None, false) => VmaKind::Anon,
        (None, true) => VmaKind::SharedAnon,
    };
    let r = {
        let mut mm = ctx.process.mm.borrow_mut();
        if file.is_some() {
            mm.set_page_cache(ctx.process.fs.vfs.page_cache.clone());
        }
        match shm {
            Some(s) => mm.map_with(ctx.mem, place, len, prot, kind, file, Some(s)),
            None => mm.map_file(ctx.mem, place, len, prot, kind, file),
        }
    };
    settle(ctx);
    r.map(SyscallReturn::Return)
}

/// Write back and free the shared objects of the VMAs the call removed.
fn settle(ctx: &mut Ctx) {
    let objs = ctx.process.mm.borrow_mut().take_released();
    if !objs.is_empty() {
        crate::mm::shmem::settle(objs, ctx.host, ctx.mem);
    }
}

pub fn sys_munmap(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let r = ctx.process.mm.borrow_mut().unmap(ctx.mem, a.arg(0), a.arg(1));
    settle(ctx);
    r?;
    Ok(SyscallReturn::Return(0))
}

const MS_ASYNC: u64 = 1;
const MS_INVALIDATE: u64 = 2;
const MS_SYNC: u64 = 4;

/// msync(2): write the shared file mappings' dirty pages in the range
/// back to their files. MS_ASYNC does it too (Linux only schedules it, but
/// there a read(2) sees the page cache anyway); MS_INVALIDATE has nothing
/// to drop, the mappings *are* the cache.
pub fn sys_msync(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (addr, len, flags) = (a.arg(0), a.arg(1), a.arg(2));
    if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0 || flags & (MS_ASYNC | MS_SYNC) == MS_ASYNC | MS_SYNC {
        return Err(Errno::EINVAL);
    }
    let objs = ctx.process.mm.borrow().file_objects(addr, len)?;
    for obj in objs {
        obj.writeback(ctx.host, ctx.mem)?;
    }
    ret(0)
}

pub fn sys_mprotect(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let prot = a.arg(2);
    if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM) != 0 {
        return Err(Errno::EINVAL);
    }
    ctx.process.mm.borrow_mut().protect(a.arg(0), a.arg(1), VmProt((prot & !PROT_SEM) as u32))?;
    Ok(SyscallReturn::Return(0))
}

/// mincore(2): a page is "resident" when it has been touched (present in
/// the page table).
pub fn sys_mincore(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (addr, len, vec) = (a.arg(0), a.arg(1), a.arg(2));
    if !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    let end = crate::mm::page_up(len).and_then(|l| addr.checked_add(l)).ok_or(Errno::ENOMEM)?;
    if end > oxvm_cpu::mem::USER_END || !ctx.process.mm.borrow().vmas().covers(addr, end) {
        return Err(Errno::ENOMEM);
    }
    let pages = ((end - addr) / PAGE) as usize;
    let mut done = 0;
    while done < pages {
        let n = (pages - done).min(4096);
        let v: Vec<u8> = (0..n).map(|i| ctx.process.mm.borrow().space.lookup(addr + (done + i) as u64 * PAGE).is_some() as u8).collect();
        ctx.user().write_bytes(vec.wrapping_add(done as u64), &v)?;
        done += n;
    }
    ret(0)
}

const MREMAP_MAYMOVE: u64 = 1;
const MREMAP_FIXED: u64 = 2;
const MREMAP_DONTUNMAP: u64 = 4;

pub fn sys_mremap(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (old, old_len, new_len, flags, new_addr) = (a.arg(0), a.arg(1), a.arg(2), a.arg(3), a.arg(4));
    if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 || (flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0) {
        return Err(Errno::EINVAL);
    }
    if flags & MREMAP_DONTUNMAP != 0 {
        return Err(Errno::EINVAL);
    }
    let fixed = (flags & MREMAP_FIXED != 0).then_some(new_addr);
    let r = ctx.process.mm.borrow_mut().remap(ctx.mem, old, old_len, new_len, flags & MREMAP_MAYMOVE != 0, fixed);
    settle(ctx);
    r.map(SyscallReturn::Return)
}

const MADV_DONTNEED: u64 = 4;

/// madvise(2): advice is accepted and ignored, except MADV_DONTNEED, which
/// drops the pages (glibc frees dead threads' stacks this way).
pub fn sys_madvise(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (addr, len, advice) = (a.arg(0), a.arg(1), a.arg(2));
    if !addr.is_multiple_of(crate::mm::PAGE) {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return ret(0);
    }
    if advice == MADV_DONTNEED {
        ctx.process.mm.borrow_mut().discard(ctx.mem, addr, len)?;
    }
    ret(0)
}

/// Before read(2)/write(2)/fsync/truncate of `file`: write its shared
/// mappings' dirty pages back, so the file holds what they wrote.
pub(crate) fn writeback_file(ctx: &mut Ctx, file: &crate::vfs::OpenFile) -> Result<(), Errno> {
    match ctx.process.fs.vfs.page_cache.lookup(file) {
        Some(obj) => obj.writeback(ctx.host, ctx.mem),
        None => Ok(()),
    }
}

/// After write(2) of bytes [start, end) of `file`: its shared mappings
/// see the new contents.
pub(crate) fn refresh_file(ctx: &mut Ctx, file: &crate::vfs::OpenFile, start: u64, end: u64) {
    if let Some(obj) = ctx.process.fs.vfs.page_cache.lookup(file) {
        obj.refresh(ctx.mem, start, end);
    }
}

/// After a truncate of the file with identity `key` to `size`: cached
/// bytes beyond it read as zeroes.
pub(crate) fn truncated(ctx: &mut Ctx, key: (u64, u64), size: u64) {
    if let Some(obj) = ctx.process.fs.vfs.page_cache.lookup_key(key) {
        obj.truncated(ctx.mem, size);
    }
}
