//! exec: load an ELF executable into a fresh address space and build its
//! initial stack.

pub mod binfmt;
pub mod elf;
pub mod stack;

use oxvm_cpu::mem::USER_END;
use oxvm_cpu::Memory;

pub use elf::{ElfFile, ExecError};
pub use stack::{AuxInfo, StackArgs};

use crate::mm::{page_down, page_up, Mm, Placement, VmProt, VmaKind, ET_DYN_BASE, MMAP_MIN, PAGE, STACK_SIZE, STACK_TOP};
use elf::{ProgramHeader, ET_DYN, PF_R, PF_W, PF_X, PHDR_SIZE, PT_PHDR};

/// The process credentials exec reports in the auxiliary vector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Creds {
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
}

/// Inputs of an exec.
pub struct ExecParams<'a> {
    /// The executable file's bytes.
    pub image: &'a [u8],
    /// The bytes of its PT_INTERP program (the dynamic loader), which the
    /// caller read from the filesystem; see [`interpreter_of`].
    pub interp: Option<&'a [u8]>,
    pub argv: &'a [Vec<u8>],
    pub envp: &'a [Vec<u8>],
    /// The path as given to execve (AT_EXECFN).
    pub execfn: &'a [u8],
    pub creds: Creds,
    /// AT_RANDOM bytes.
    pub random: [u8; 16],
}

/// Where the new program starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loaded {
    pub entry: u64,
    pub sp: u64,
    /// Load bias (0 for ET_EXEC).
    pub bias: u64,
    pub brk: u64,
    /// Where the interpreter was loaded (AT_BASE; 0 without one).
    pub interp_base: u64,
}

fn seg_prot(flags: u32) -> VmProt {
    let mut p = VmProt::NONE;
    if flags & PF_R != 0 {
        p = p | VmProt::READ;
    }
    if flags & PF_W != 0 {
        p = p | VmProt::WRITE;
    }
    if flags & PF_X != 0 {
        p = p | VmProt::EXEC;
    }
    p
}

/// A PT_LOAD segment's place in memory, after biasing.
struct SegRange {
    /// Where its first byte goes.
    addr: u64,
    /// The pages it covers, [start, end).
    start: u64,
    end: u64,
}

/// Check a PT_LOAD segment's addresses (after biasing) before mapping
/// anything.
fn seg_range(ph: &ProgramHeader, bias: u64) -> Result<SegRange, ExecError> {
    if ph.p_filesz > ph.p_memsz {
        return Err(ExecError::BadLayout("segment file size exceeds its memory size"));
    }
    if ph.p_vaddr % PAGE != ph.p_offset % PAGE {
        return Err(ExecError::BadLayout("segment address and file offset disagree modulo the page size"));
    }
    // The bias may "wrap" (it is a difference of addresses); the result is
    // range-checked below.
    let start = ph.p_vaddr.wrapping_add(bias);
    let end = start.checked_add(ph.p_memsz).and_then(page_up).ok_or(ExecError::BadLayout("segment end overflows"))?;
    if end > STACK_TOP - STACK_SIZE || end > USER_END {
        return Err(ExecError::BadLayout("segment beyond the user address space"));
    }
    if page_down(start) < MMAP_MIN {
        return Err(ExecError::BadLayout("segment below the lowest mappable address"));
    }
    Ok(SegRange { addr: start, start: page_down(start), end })
}

/// The PT_INTERP path of an executable image, if it has one.
pub fn interpreter_of(image: &[u8]) -> Result<Option<String>, ExecError> {
    ElfFile::parse(image)?.interpreter()
}

/// Map every PT_LOAD segment of `elf` at `bias`; returns the end of the
/// highest one.
fn load_segments(mm: &mut Mm, mem: &mut Memory, elf: &ElfFile, bias: u64) -> Result<u64, ExecError> {
    let ranges = elf.loads().map(|ph| Ok((ph, seg_range(ph, bias)?, elf.segment_data(ph)?))).collect::<Result<Vec<_>, ExecError>>()?;
    let mut image_end = 0;
    for (ph, r, data) in &ranges {
        // An empty segment maps nothing (Linux skips it too).
        if r.start == r.end {
            continue;
        }
        map_segment(mm, mem, r.start, r.end, seg_prot(ph.p_flags))?;
        mm.write_as_kernel(mem, r.addr, data).map_err(|_| ExecError::NoMemory)?;
        image_end = image_end.max(r.end);
    }
    Ok(image_end)
}

/// The page span [lowest, highest) of an image's PT_LOAD segments.
fn load_span(elf: &ElfFile) -> Result<(u64, u64), ExecError> {
    let lo = elf.loads().map(|p| page_down(p.p_vaddr)).min().ok_or(ExecError::Malformed("no PT_LOAD segment"))?;
    let hi = elf
        .loads()
        .map(|p| p.p_vaddr.checked_add(p.p_memsz).and_then(page_up))
        .try_fold(0u64, |m, e| e.map(|e| m.max(e)))
        .ok_or(ExecError::BadLayout("segment end overflows"))?;
    Ok((lo, hi.max(lo)))
}

/// Load `p.image` (and its interpreter) into `mm` (which must be empty)
/// and build the stack.
pub fn exec(mm: &mut Mm, mem: &mut Memory, p: &ExecParams) -> Result<Loaded, ExecError> {
    let elf = ElfFile::parse(p.image)?;
    let interp = match (elf.interpreter()?, p.interp) {
        (Some(path), None) => return Err(ExecError::NeedsInterpreter(path)),
        (Some(_), Some(bytes)) => {
            let i = ElfFile::parse(bytes).map_err(|e| ExecError::BadInterpreter(Box::new(e)))?;
            if i.header.e_type != ET_DYN || i.interpreter()?.is_some() {
                return Err(ExecError::BadInterpreter(Box::new(ExecError::Unsupported(
                    "the interpreter must be a static ET_DYN ELF".into(),
                ))));
            }
            Some(i)
        }
        (None, _) => None,
    };
    let first = elf.loads().next().ok_or(ExecError::Malformed("no PT_LOAD segment"))?;
    let bias = if elf.header.e_type == ET_DYN {
        // PIE: load where an unrandomised Linux would.
        ET_DYN_BASE.wrapping_sub(page_down(first.p_vaddr))
    } else {
        0
    };
    let image_end = load_segments(mm, mem, &elf, bias)?;

    let stack_prot = if elf.exec_stack() { VmProt::RW | VmProt::EXEC } else { VmProt::RW };
    mm.map(mem, Placement::Fixed(STACK_TOP - STACK_SIZE), STACK_SIZE, stack_prot, VmaKind::Stack).map_err(|_| ExecError::NoMemory)?;
    mm.init_brk(image_end);

    // The interpreter goes where the first mmap would put it, as Linux
    // maps it (top-down below the stack gap).
    let (base, entry) = match &interp {
        Some(i) => {
            let (lo, hi) = load_span(i)?;
            let base = mm.vmas().find_free_top_down(hi - lo, MMAP_MIN, crate::mm::MMAP_BASE).ok_or(ExecError::NoMemory)?;
            let ibias = base.wrapping_sub(lo);
            load_segments(mm, mem, i, ibias).map_err(|e| ExecError::BadInterpreter(Box::new(e)))?;
            (base, i.header.e_entry.wrapping_add(ibias))
        }
        None => (0, elf.header.e_entry.wrapping_add(bias)),
    };

    let aux = AuxInfo {
        phdr: phdr_addr(&elf, bias),
        phent: PHDR_SIZE as u64,
        phnum: elf.header.e_phnum as u64,
        base,
        entry: elf.header.e_entry.wrapping_add(bias),
        uid: p.creds.uid,
        euid: p.creds.euid,
        gid: p.creds.gid,
        egid: p.creds.egid,
        hwcap: oxvm_cpu::cpuid::cpuid(1, 0)[3] as u64,
        random: p.random,
    };
    let sp = stack::build(&mut mm.user(mem), &StackArgs { argv: p.argv, envp: p.envp, execfn: p.execfn }, &aux)?;
    Ok(Loaded { entry, sp, bias, brk: image_end, interp_base: base })
}

/// Map a segment's pages. Pages shared with an earlier segment (possible
/// when segments are not page-aligned apart) keep their contents and get
/// both segments' permissions.
fn map_segment(mm: &mut Mm, mem: &mut Memory, start: u64, end: u64, prot: VmProt) -> Result<(), ExecError> {
    let existing: Vec<_> = mm.vmas().intersecting(start, end).cloned().collect();
    let mut at = start;
    let nomem = |_| ExecError::NoMemory;
    for v in existing {
        let (s, e) = (v.start.max(start), v.end.min(end));
        if at < s {
            mm.map(mem, Placement::Fixed(at), s - at, prot, VmaKind::Image).map_err(nomem)?;
        }
        mm.protect(s, e - s, v.prot | prot).map_err(nomem)?;
        at = e;
    }
    if at < end {
        mm.map(mem, Placement::Fixed(at), end - at, prot, VmaKind::Image).map_err(nomem)?;
    }
    Ok(())
}

/// AT_PHDR: where the program headers are in memory: PT_PHDR if present,
/// else inside the PT_LOAD segment that covers them in the file.
fn phdr_addr(elf: &ElfFile, bias: u64) -> u64 {
    if let Some(ph) = elf.phdrs.iter().find(|p| p.p_type == PT_PHDR) {
        return ph.p_vaddr.wrapping_add(bias);
    }
    let off = elf.header.e_phoff;
    elf.loads()
        .find(|ph| off >= ph.p_offset && off - ph.p_offset < ph.p_filesz)
        .map(|ph| ph.p_vaddr.wrapping_add(off - ph.p_offset).wrapping_add(bias))
        .unwrap_or(0)
}

#[cfg(test)]
pub(crate) mod tests;
