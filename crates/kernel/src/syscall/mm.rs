//! brk(2), mmap(2), munmap(2), mprotect(2): anonymous memory and file
//! mappings (private ones copy-on-write; shared ones read-only).

use super::{ret, Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;
use crate::mm::{FileMap, Placement, VmProt, VmaKind, MMAP_MIN, PAGE};

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
    Ok(SyscallReturn::Return(p.mm.set_brk(ctx.mem, a.arg(0))))
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
    let file = if flags & MAP_ANONYMOUS == 0 {
        let f = ctx.file(fd)?;
        if !f.readable() {
            return Err(Errno::EACCES);
        }
        if shared && prot & PROT_WRITE != 0 {
            // Writing pages back to the file is not implemented; refusing
            // is better than losing the writes.
            return Err(if f.writable() { Errno::ENODEV } else { Errno::EACCES });
        }
        // Probe: a file that cannot be mapped says so now, not at fault.
        f.ops.read_page(off, &mut [])?;
        off.checked_add(len).filter(|&e| e <= i64::MAX as u64).ok_or(Errno::EOVERFLOW)?;
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
    let p = &mut *ctx.process;
    p.mm.map_file(ctx.mem, place, len, prot, kind, file).map(SyscallReturn::Return)
}

pub fn sys_munmap(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let p = &mut *ctx.process;
    p.mm.unmap(ctx.mem, a.arg(0), a.arg(1))?;
    Ok(SyscallReturn::Return(0))
}

pub fn sys_mprotect(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let prot = a.arg(2);
    if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM) != 0 {
        return Err(Errno::EINVAL);
    }
    ctx.process.mm.protect(a.arg(0), a.arg(1), VmProt((prot & !PROT_SEM) as u32))?;
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
    if end > oxvm_cpu::mem::USER_END || !ctx.process.mm.vmas().covers(addr, end) {
        return Err(Errno::ENOMEM);
    }
    let pages = ((end - addr) / PAGE) as usize;
    let mut done = 0;
    while done < pages {
        let n = (pages - done).min(4096);
        let v: Vec<u8> = (0..n).map(|i| ctx.process.mm.space.lookup(addr + (done + i) as u64 * PAGE).is_some() as u8).collect();
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
    let p = &mut *ctx.process;
    p.mm.remap(ctx.mem, old, old_len, new_len, flags & MREMAP_MAYMOVE != 0, fixed).map(SyscallReturn::Return)
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
        ctx.process.mm.discard(ctx.mem, addr, len)?;
    }
    ret(0)
}
