//! The soft-MMU: physical frames, page tables, the TLB, and the typed
//! accessors every guest memory access goes through.

mod phys;
mod space;

pub use phys::{FrameId, PhysMem, PAGE_SHIFT, PAGE_SIZE};
pub use space::{is_canonical, page_floor, AddressSpace, Mapping, Prot, Tlb, TlbEntry, TLB_INVALID, TLB_SIZE, USER_END};

use crate::block::CodeCache;
use crate::fault::{Access, Result};

/// Memory shared by all address spaces: frames and the decoded-code cache
/// (keyed by physical address, so forked processes share translations).
#[derive(Default)]
pub struct Memory {
    pub phys: PhysMem,
    pub code: CodeCache,
}

impl Memory {
    pub fn new() -> Self {
        Self::default()
    }
}

/// The view of memory an executing thread has: its address space plus the
/// shared frames. All guest accesses, by the interpreter and by the kernel
/// (copying syscall arguments), go through here.
pub struct Bus<'a> {
    pub space: &'a mut AddressSpace,
    pub mem: &'a mut Memory,
    /// Set when the current block must end after the running instruction:
    /// a write hit a page holding decoded code (the block's instructions may
    /// be stale), or a REP instruction yielded before finishing.
    pub end_block: bool,
    /// The last page fault an access raised (the interpreter's compact trap
    /// code refers to it).
    pub last_fault: Option<crate::Fault>,
    /// The address of the last access rejected as non-canonical (#GP or,
    /// through the stack segment, #SS: the interpreter decides which).
    pub last_non_canonical: Option<u64>,
}

macro_rules! typed_access {
    ($read:ident, $write:ident, $t:ty) => {
        #[inline(always)]
        pub fn $read(&mut self, va: u64) -> Result<$t> {
            const N: usize = core::mem::size_of::<$t>();
            let e = &self.space.tlb.entries[Tlb::index(va)];
            let off = (va & 0xfff) as usize;
            if e.read_tag == va >> PAGE_SHIFT && off <= PAGE_SIZE - N {
                // SAFETY: the TLB entry is valid for this page, so `host` is
                // the address of a live 4 KiB frame (frames never move and
                // are not freed while mapped), and off + N <= 4096.
                return Ok(unsafe { core::ptr::read_unaligned((e.host + off) as *const $t) });
            }
            let mut buf = [0u8; N];
            self.read_slow(va, &mut buf)?;
            Ok(<$t>::from_le_bytes(buf))
        }

        #[inline(always)]
        pub fn $write(&mut self, va: u64, v: $t) -> Result<()> {
            const N: usize = core::mem::size_of::<$t>();
            let e = &self.space.tlb.entries[Tlb::index(va)];
            let off = (va & 0xfff) as usize;
            if e.write_tag == va >> PAGE_SHIFT && off <= PAGE_SIZE - N {
                // SAFETY: as for reads; a write tag is only installed for
                // writable, unshared, non-code frames.
                unsafe { core::ptr::write_unaligned((e.host + off) as *mut $t, v) };
                return Ok(());
            }
            self.write_slow(va, &v.to_le_bytes())
        }
    };
}

impl<'a> Bus<'a> {
    pub fn new(space: &'a mut AddressSpace, mem: &'a mut Memory) -> Self {
        Bus { space, mem, end_block: false, last_fault: None, last_non_canonical: None }
    }

    typed_access!(read_u8, write_u8, u8);
    typed_access!(read_u16, write_u16, u16);
    typed_access!(read_u32, write_u32, u32);
    typed_access!(read_u64, write_u64, u64);
    typed_access!(read_u128, write_u128, u128);

    fn record(&mut self, f: crate::Fault, va: u64) {
        self.last_fault = Some(f);
        if f == crate::Fault::GeneralProtection {
            self.last_non_canonical = Some(va);
        }
    }

    /// Read `buf.len()` bytes at `va`, checking read permission.
    pub fn read_bytes(&mut self, va: u64, buf: &mut [u8]) -> Result<()> {
        self.read_slow(va, buf)
    }

    /// Write `data` at `va`, checking write permission on every page before
    /// writing any byte.
    pub fn write_bytes(&mut self, va: u64, data: &[u8]) -> Result<()> {
        self.write_slow(va, data)
    }

    /// Read bytes for instruction fetch (execute permission).
    pub fn fetch_bytes(&mut self, va: u64, buf: &mut [u8]) -> Result<()> {
        self.copy_in(va, buf, Access::Exec)
    }

    #[cold]
    fn read_slow(&mut self, va: u64, buf: &mut [u8]) -> Result<()> {
        self.copy_in(va, buf, Access::Read)
    }

    fn copy_in(&mut self, va: u64, buf: &mut [u8], access: Access) -> Result<()> {
        self.copy_in_inner(va, buf, access).inspect_err(|f| self.record(*f, va))
    }

    fn copy_in_inner(&mut self, va: u64, buf: &mut [u8], access: Access) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let addr = va.wrapping_add(done as u64);
            let off = (addr & 0xfff) as usize;
            let n = (PAGE_SIZE - off).min(buf.len() - done);
            let (_, frame) = self.space.host_page(&mut self.mem.phys, addr, access)?;
            buf[done..done + n].copy_from_slice(&self.mem.phys.bytes(frame)[off..off + n]);
            done += n;
        }
        Ok(())
    }

    #[cold]
    fn write_slow(&mut self, va: u64, data: &[u8]) -> Result<()> {
        self.write_slow_inner(va, data).inspect_err(|f| self.record(*f, va))
    }

    fn write_slow_inner(&mut self, va: u64, data: &[u8]) -> Result<()> {
        // Check (and break copy-on-write on) every page first, so a fault
        // on a later page leaves memory untouched.
        let last = va.wrapping_add(data.len().saturating_sub(1) as u64);
        let mut page = page_floor(va);
        loop {
            self.space.host_page(&mut self.mem.phys, page.max(va), Access::Write)?;
            if page == page_floor(last) {
                break;
            }
            page = page.wrapping_add(PAGE_SIZE as u64);
        }
        let mut done = 0;
        while done < data.len() {
            let addr = va.wrapping_add(done as u64);
            let off = (addr & 0xfff) as usize;
            let n = (PAGE_SIZE - off).min(data.len() - done);
            let (_, frame) = self.space.host_page(&mut self.mem.phys, addr, Access::Write)?;
            if self.mem.phys.is_code(frame) {
                self.mem.code.invalidate_frame(frame);
                self.mem.phys.set_code(frame, false);
                self.end_block = true;
            }
            self.mem.phys.bytes_mut(frame)[off..off + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Host address of `len` bytes at `va`, which must not cross a page,
    /// after checking `access`. A write span on a code page invalidates the
    /// blocks decoded from it first. For bulk copies (REP MOVS/STOS).
    pub(crate) fn host_span(&mut self, va: u64, len: usize, access: Access) -> Result<*mut u8> {
        debug_assert!((va & 0xfff) as usize + len <= PAGE_SIZE);
        let (host, frame) = self.space.host_page(&mut self.mem.phys, va, access).inspect_err(|f| self.record(*f, va))?;
        if access == Access::Write && self.mem.phys.is_code(frame) {
            self.mem.code.invalidate_frame(frame);
            self.mem.phys.set_code(frame, false);
            self.end_block = true;
        }
        Ok((host + (va & 0xfff) as usize) as *mut u8)
    }

    /// Read a NUL-terminated string of at most `max` bytes (without the NUL).
    pub fn read_cstr(&mut self, va: u64, max: usize) -> Result<Option<Vec<u8>>> {
        let mut out = Vec::new();
        while out.len() < max {
            let b = self.read_u8(va.wrapping_add(out.len() as u64))?;
            if b == 0 {
                return Ok(Some(out));
            }
            out.push(b);
        }
        Ok(None)
    }
}
