//! The guest CPU state.
//!
//! The layout is `#[repr(C)]` and fixed: the JIT reads and writes these fields
//! from generated WebAssembly at the byte offsets given by the `OFF_*`
//! constants below, so reordering a field is an ABI change (the tests at the
//! bottom of this file pin the offsets).

use crate::flags::LazyFlags;

/// Index of each general-purpose register in [`CpuState::gpr`], in the
/// hardware encoding order.
pub mod reg {
    pub const RAX: usize = 0;
    pub const RCX: usize = 1;
    pub const RDX: usize = 2;
    pub const RBX: usize = 3;
    pub const RSP: usize = 4;
    pub const RBP: usize = 5;
    pub const RSI: usize = 6;
    pub const RDI: usize = 7;
    pub const R8: usize = 8;
    pub const R9: usize = 9;
    pub const R10: usize = 10;
    pub const R11: usize = 11;
    pub const R12: usize = 12;
    pub const R13: usize = 13;
    pub const R14: usize = 14;
    pub const R15: usize = 15;
}

/// One x87 register as stored by FXSAVE: 64-bit significand, then sign and
/// 15-bit exponent, padded to 16 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct F80 {
    pub signif: u64,
    pub sign_exp: u16,
    pub _pad: [u16; 3],
}

/// The x87 FPU. Registers are kept in *physical* order (`st[i]` is physical
/// register i); ST(i) is `st[(top + i) & 7]` where `top` is bits 11..13 of
/// `fsw`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct X87 {
    pub st: [F80; 8],
    /// Control word (rounding, precision, exception masks).
    pub fcw: u16,
    /// Status word, including TOP.
    pub fsw: u16,
    /// Full tag word: two bits per physical register (0 valid, 1 zero,
    /// 2 special, 3 empty), as FSTENV stores it.
    pub ftw: u16,
    /// Last non-control opcode (11 bits).
    pub fop: u16,
    pub fip: u64,
    pub fdp: u64,
}

impl Default for X87 {
    fn default() -> Self {
        // The state FNINIT and the Linux ABI at process start give.
        X87 { st: [F80::default(); 8], fcw: 0x037f, fsw: 0, ftw: 0xffff, fop: 0, fip: 0, fdp: 0 }
    }
}

impl X87 {
    /// Bytes 0..160 of the FXSAVE image, without MXCSR and MXCSR_MASK
    /// (bytes 24..32, SSE state the caller fills in): control and status
    /// words, the abridged tag byte, FOP, FIP and FDP (64-bit each when
    /// `wide`, as FXSAVE64 and the Linux x86-64 signal frame store them),
    /// and ST0..ST7 in 16-byte slots. The kernel uses it for signal frames.
    pub fn fxsave_legacy(&self, wide: bool) -> [u8; 160] {
        let mut b = [0u8; 160];
        b[0..2].copy_from_slice(&self.fcw.to_le_bytes());
        b[2..4].copy_from_slice(&self.fsw.to_le_bytes());
        // Abridged tags: bit p set when physical register p is not empty.
        b[4] = (0..8).filter(|p| (self.ftw >> (2 * p)) & 3 != 3).fold(0u8, |t, p| t | 1 << p);
        b[6..8].copy_from_slice(&(self.fop & 0x7ff).to_le_bytes());
        if wide {
            b[8..16].copy_from_slice(&self.fip.to_le_bytes());
            b[16..24].copy_from_slice(&self.fdp.to_le_bytes());
        } else {
            b[8..12].copy_from_slice(&(self.fip as u32).to_le_bytes());
            b[16..20].copy_from_slice(&(self.fdp as u32).to_le_bytes());
        }
        let top = ((self.fsw >> 11) & 7) as usize;
        for n in 0..8 {
            let r = self.st[(top + n) & 7];
            b[32 + 16 * n..40 + 16 * n].copy_from_slice(&r.signif.to_le_bytes());
            b[40 + 16 * n..42 + 16 * n].copy_from_slice(&r.sign_exp.to_le_bytes());
        }
        b
    }

    /// Load the x87 part of an FXSAVE image, as FXRSTOR does: reserved
    /// control-word bits fixed, full tags rebuilt from the abridged byte and
    /// the register contents, ES and B recomputed. MXCSR (bytes 24..28) is
    /// the caller's to check and load.
    pub fn fxrstor_legacy(&mut self, b: &[u8; 160], wide: bool) {
        let le16 = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let le64 = |o: usize| {
            let mut v = [0u8; 8];
            v.copy_from_slice(&b[o..o + 8]);
            u64::from_le_bytes(v)
        };
        let narrow = if wide { u64::MAX } else { 0xffff_ffff };
        let mut x = X87 {
            fcw: (le16(0) & 0x1f3f) | 0x40,
            fsw: le16(2),
            ftw: 0,
            fop: le16(6) & 0x7ff,
            fip: le64(8) & narrow,
            fdp: le64(16) & narrow,
            ..X87::default()
        };
        let top = ((x.fsw >> 11) & 7) as usize;
        for n in 0..8 {
            x.st[(top + n) & 7] = F80 { signif: le64(32 + 16 * n), sign_exp: le16(40 + 16 * n), _pad: [0; 3] };
        }
        for p in 0..8 {
            let tag = if b[4] & (1 << p) == 0 { 3 } else { Self::tag_of(x.st[p]) };
            x.ftw |= tag << (2 * p);
        }
        if x.fsw & !x.fcw & 0x3f != 0 {
            x.fsw |= 0x8080;
        } else {
            x.fsw &= !0x8080;
        }
        *self = x;
    }

    /// The full-tag-word class of a register's contents: 0 valid, 1 zero,
    /// 2 special (NaN, infinity, denormal, unsupported encodings).
    pub fn tag_of(r: F80) -> u16 {
        let exp = r.sign_exp & 0x7fff;
        match (exp, r.signif) {
            (0, 0) => 1,
            (0, _) | (0x7fff, _) => 2,
            (_, s) if s >> 63 == 0 => 2,
            _ => 0,
        }
    }
}

/// Architectural state of one guest thread.
#[repr(C, align(16))]
#[derive(Clone, Debug)]
pub struct CpuState {
    /// RAX..R15 in encoding order (see [`reg`]).
    pub gpr: [u64; 16],
    /// Address of the next instruction to execute.
    pub rip: u64,
    /// Arithmetic flags, kept lazily; see [`LazyFlags`].
    pub flags: LazyFlags,
    pub fs_base: u64,
    pub gs_base: u64,
    /// XMM0..XMM15, each as two little-endian 64-bit lanes.
    pub xmm: [[u64; 2]; 16],
    pub mxcsr: u32,
    pub _pad0: u32,
    pub x87: X87,
    /// Instructions retired; RDTSC reads it, so guest time stamps are
    /// deterministic.
    pub icount: u64,
}

pub const OFF_GPR: usize = 0;
pub const OFF_RIP: usize = 128;
pub const OFF_FLAGS: usize = 136;
pub const OFF_FS_BASE: usize = OFF_FLAGS + core::mem::size_of::<LazyFlags>();
pub const OFF_GS_BASE: usize = OFF_FS_BASE + 8;
pub const OFF_XMM: usize = OFF_GS_BASE + 8;
pub const OFF_MXCSR: usize = OFF_XMM + 256;

/// Default MXCSR at process start: all exceptions masked, round to nearest.
pub const MXCSR_DEFAULT: u32 = 0x1f80;

impl Default for CpuState {
    fn default() -> Self {
        CpuState {
            gpr: [0; 16],
            rip: 0,
            flags: LazyFlags::default(),
            fs_base: 0,
            gs_base: 0,
            xmm: [[0; 2]; 16],
            mxcsr: MXCSR_DEFAULT,
            _pad0: 0,
            x87: X87::default(),
            icount: 0,
        }
    }
}

impl CpuState {
    /// The full RFLAGS value, materialising the lazy arithmetic flags.
    pub fn rflags(&self) -> u64 {
        self.flags.get()
    }

    /// Replace RFLAGS (as POPF does in user mode: only user-writable bits).
    pub fn set_rflags(&mut self, value: u64) {
        self.flags.set(value);
    }

    /// ST(i), the x87 register i slots above the stack top.
    pub fn st(&self, i: usize) -> F80 {
        self.x87.st[(self.x87_top() + i) & 7]
    }

    pub fn x87_top(&self) -> usize {
        ((self.x87.fsw >> 11) & 7) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn layout_is_pinned() {
        assert_eq!(offset_of!(CpuState, gpr), OFF_GPR);
        assert_eq!(offset_of!(CpuState, rip), OFF_RIP);
        assert_eq!(offset_of!(CpuState, flags), OFF_FLAGS);
        assert_eq!(offset_of!(CpuState, fs_base), OFF_FS_BASE);
        assert_eq!(offset_of!(CpuState, gs_base), OFF_GS_BASE);
        assert_eq!(offset_of!(CpuState, xmm), OFF_XMM);
        assert_eq!(OFF_XMM % 16, 0, "XMM registers must stay 16-byte aligned");
        assert_eq!(offset_of!(CpuState, mxcsr), OFF_MXCSR);
    }
}
