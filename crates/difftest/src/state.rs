//! The machine state a test case starts from and ends in, in a form both
//! executors understand: GPRs, RIP, RFLAGS and an FXSAVE image (x87, MXCSR,
//! XMM), plus the contents of the data region.

use oxvm_cpu::state::{F80, X87};
use oxvm_cpu::CpuState;

/// A 512-byte FXSAVE64 image.
#[repr(C, align(16))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fx(pub [u8; 512]);

impl Default for Fx {
    fn default() -> Self {
        let mut fx = Fx([0; 512]);
        fx.set_fcw(0x037f);
        fx.set_mxcsr(0x1f80);
        fx.set_u32(28, 0xffff);
        fx
    }
}

impl core::fmt::Debug for Fx {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Fx {{ fcw: {:#x}, fsw: {:#x}, ftw: {:#x}, mxcsr: {:#x} }}", self.fcw(), self.fsw(), self.abridged_tag(), self.mxcsr())
    }
}

impl Fx {
    fn u16_at(&self, o: usize) -> u16 {
        u16::from_le_bytes([self.0[o], self.0[o + 1]])
    }
    fn set_u16(&mut self, o: usize, v: u16) {
        self.0[o..o + 2].copy_from_slice(&v.to_le_bytes());
    }
    fn u32_at(&self, o: usize) -> u32 {
        u32::from_le_bytes(self.0[o..o + 4].try_into().unwrap())
    }
    fn set_u32(&mut self, o: usize, v: u32) {
        self.0[o..o + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn u64_at(&self, o: usize) -> u64 {
        u64::from_le_bytes(self.0[o..o + 8].try_into().unwrap())
    }
    fn set_u64(&mut self, o: usize, v: u64) {
        self.0[o..o + 8].copy_from_slice(&v.to_le_bytes());
    }
    pub fn fcw(&self) -> u16 {
        self.u16_at(0)
    }
    pub fn set_fcw(&mut self, v: u16) {
        self.set_u16(0, v)
    }
    pub fn fsw(&self) -> u16 {
        self.u16_at(2)
    }
    pub fn set_fsw(&mut self, v: u16) {
        self.set_u16(2, v)
    }
    /// One bit per physical register: 1 = not empty.
    pub fn abridged_tag(&self) -> u8 {
        self.0[4]
    }
    pub fn set_abridged_tag(&mut self, v: u8) {
        self.0[4] = v
    }
    pub fn fop(&self) -> u16 {
        self.u16_at(6)
    }
    pub fn fip(&self) -> u64 {
        self.u64_at(8)
    }
    pub fn fdp(&self) -> u64 {
        self.u64_at(16)
    }
    pub fn mxcsr(&self) -> u32 {
        self.u32_at(24)
    }
    pub fn set_mxcsr(&mut self, v: u32) {
        self.set_u32(24, v)
    }
    pub fn top(&self) -> usize {
        ((self.fsw() >> 11) & 7) as usize
    }
    /// ST(i) (FXSAVE stores the registers in stack order).
    pub fn st(&self, i: usize) -> (u64, u16) {
        (self.u64_at(32 + 16 * i), self.u16_at(40 + 16 * i))
    }
    pub fn set_st(&mut self, i: usize, signif: u64, sign_exp: u16) {
        self.set_u64(32 + 16 * i, signif);
        self.set_u16(40 + 16 * i, sign_exp);
        for b in &mut self.0[42 + 16 * i..48 + 16 * i] {
            *b = 0;
        }
    }
    pub fn xmm(&self, i: usize) -> [u64; 2] {
        [self.u64_at(160 + 16 * i), self.u64_at(168 + 16 * i)]
    }
    pub fn set_xmm(&mut self, i: usize, v: [u64; 2]) {
        self.set_u64(160 + 16 * i, v[0]);
        self.set_u64(168 + 16 * i, v[1]);
    }

    /// Whether physical register `phys` is empty.
    pub fn phys_empty(&self, phys: usize) -> bool {
        self.abridged_tag() & (1 << phys) == 0
    }

    /// The full 16-bit tag word FNSTENV would store, computed from the
    /// abridged tag and the register contents.
    pub fn full_tag(&self) -> u16 {
        let top = self.top();
        let mut tw = 0u16;
        for phys in 0..8 {
            let tag = if self.phys_empty(phys) {
                3
            } else {
                let (signif, se) = self.st((phys + 8 - top) & 7);
                classify(signif, se)
            };
            tw |= tag << (2 * phys);
        }
        tw
    }
}

/// The x87 tag of a non-empty register: 0 valid, 1 zero, 2 special (NaN,
/// infinity, denormal, unnormal).
pub fn classify(signif: u64, sign_exp: u16) -> u16 {
    let exp = sign_exp & 0x7fff;
    if exp == 0x7fff {
        2
    } else if exp == 0 {
        if signif == 0 {
            1
        } else {
            2
        }
    } else if signif >> 63 == 0 {
        2
    } else {
        0
    }
}

/// Registers, flags and FP state of one thread.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MachineState {
    pub gpr: [u64; 16],
    pub rip: u64,
    pub rflags: u64,
    pub fx: Fx,
}

impl MachineState {
    /// oxvm's view of this state.
    pub fn to_cpu(&self) -> CpuState {
        let mut cpu = CpuState { gpr: self.gpr, rip: self.rip, ..Default::default() };
        cpu.set_rflags(self.rflags);
        for i in 0..16 {
            cpu.xmm[i] = self.fx.xmm(i);
        }
        cpu.mxcsr = self.fx.mxcsr();
        let top = self.fx.top();
        let mut x87 = X87 { fcw: self.fx.fcw(), fsw: self.fx.fsw(), ftw: self.fx.full_tag(), fop: self.fx.fop(), ..X87::default() };
        for i in 0..8 {
            let (signif, sign_exp) = self.fx.st(i);
            x87.st[(top + i) & 7] = F80 { signif, sign_exp, _pad: [0; 3] };
        }
        cpu.x87 = x87;
        cpu
    }

    /// This state as oxvm left it. The full tag word is kept aside by the
    /// caller; the FXSAVE image gets the abridged form.
    pub fn from_cpu(cpu: &CpuState) -> MachineState {
        let mut fx = Fx::default();
        fx.set_fcw(cpu.x87.fcw);
        fx.set_fsw(cpu.x87.fsw);
        let mut abridged = 0u8;
        for phys in 0..8 {
            if (cpu.x87.ftw >> (2 * phys)) & 3 != 3 {
                abridged |= 1 << phys;
            }
        }
        fx.set_abridged_tag(abridged);
        fx.set_u16(6, cpu.x87.fop);
        fx.set_u64(8, cpu.x87.fip);
        fx.set_u64(16, cpu.x87.fdp);
        fx.set_mxcsr(cpu.mxcsr);
        let top = cpu.x87_top();
        for i in 0..8 {
            let r = cpu.x87.st[(top + i) & 7];
            fx.set_st(i, r.signif, r.sign_exp);
        }
        for i in 0..16 {
            fx.set_xmm(i, cpu.xmm[i]);
        }
        MachineState { gpr: cpu.gpr, rip: cpu.rip, rflags: cpu.rflags(), fx }
    }
}

pub const GPR_NAMES: [&str; 16] =
    ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oxvm_round_trip_keeps_state() {
        let mut s = MachineState::default();
        s.gpr[3] = 0x1234;
        s.rip = 0x6000_0800;
        s.rflags = 0x202 | 1 | (1 << 10);
        s.fx.set_fsw(3 << 11);
        s.fx.set_abridged_tag(0b0011_1000);
        s.fx.set_st(0, 1 << 63, 0x3fff);
        s.fx.set_st(1, 0, 0);
        s.fx.set_st(2, 5, 0x7fff);
        s.fx.set_xmm(7, [1, 2]);
        s.fx.set_mxcsr(0x9fc0);
        let cpu = s.to_cpu();
        // phys 3 valid, 4 zero, 5 special, the rest empty.
        assert_eq!(cpu.x87.ftw, 0b11_11_10_01_00_11_11_11);
        let back = MachineState::from_cpu(&cpu);
        assert_eq!(back.gpr, s.gpr);
        assert_eq!(back.rflags, s.rflags);
        assert_eq!(back.fx.xmm(7), [1, 2]);
        assert_eq!(back.fx.abridged_tag(), s.fx.abridged_tag());
        assert_eq!(back.fx.full_tag(), cpu.x87.ftw);
        for i in 0..8 {
            assert_eq!(back.fx.st(i), s.fx.st(i));
        }
    }
}
