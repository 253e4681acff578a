//! SSE and SSE2 (legacy encodings, 64-bit mode).
//!
//! Data movement lives here; floating-point arithmetic, compares and
//! conversions in `sse/float.rs` (on top of the soft-float in `sse/fp.rs`);
//! packed-integer instructions in `sse/int.rs`; RCP/RSQRT tables in
//! `sse/approx.rs`. `sse/fast.rs` has the specialised handlers that the
//! block decoder picks for the frequent forms (with a cheap exactness test
//! for float arithmetic when PE is already set), falling back to this
//! generic code.
//!
//! Not here: the MMX-register forms that share mnemonics with these
//! (`paddb mm0, mm1`, `movq2dq`, `cvtpi2ps xmm, mm`, ...) go to the x87 file,
//! which owns the MMX state (today they raise #UD); CVTPI2PS/CVTPI2PD with a
//! memory source touch no MMX state and are implemented. FXSAVE/FXRSTOR
//! (with the x87 state), MOVNTI and the fences/prefetches (system.rs), and
//! anything past SSE2 (the SSE4.1 `pextrw r/m16` form is #UD) are elsewhere
//! or absent, as CPUID advertises.

mod approx;
mod fast;
mod float;
mod fp;
/// Also used by MMX (interp/mmx.rs) for its element arithmetic.
pub(super) mod int;

use iced_x86::{Instruction, Mnemonic, OpKind, Register};

use super::{ea, get_reg, set_reg, Trap, R, RV};
use crate::fault::Fault;
use crate::mem::Bus;
use crate::state::CpuState;

/// A specialised handler for a frequent SSE form, if there is one (see
/// `interp::fast`); `None` sends the instruction down the generic path.
pub(crate) fn fast_handler(i: &Instruction) -> Option<super::fast::Handler> {
    fast::select(i)
}

pub(super) fn exec(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    use Mnemonic as M;
    let m = i.mnemonic();
    if uses_mmx(i) {
        // MMX-register forms are not implemented here; the x87 file owns
        // the shared x87/MMX register state and answers them (today: #UD).
        return super::x87::exec(cpu, bus, i);
    }
    match m {
        M::Movaps | M::Movapd | M::Movdqa | M::Movntps | M::Movntpd | M::Movntdq => mov128(cpu, bus, i, true),
        M::Movups | M::Movupd | M::Movdqu => mov128(cpu, bus, i, false),
        M::Movss => movs(cpu, bus, i, 4),
        M::Movsd => movs(cpu, bus, i, 8),
        M::Movlps | M::Movlpd => movhl(cpu, bus, i, 0),
        M::Movhps | M::Movhpd => movhl(cpu, bus, i, 1),
        M::Movhlps => {
            let s = xmm(cpu, i, 1);
            cpu.xmm[xi(i, 0)][0] = s[1];
            Ok(())
        }
        M::Movlhps => {
            let s = xmm(cpu, i, 1);
            cpu.xmm[xi(i, 0)][1] = s[0];
            Ok(())
        }
        M::Movd | M::Movq => movdq(cpu, bus, i),
        M::Movmskps | M::Movmskpd | M::Pmovmskb => {
            let v = get(cpu, xi(i, 1));
            // The sign bit of each element, element k to bit k.
            let width = match m {
                M::Movmskps => 32,
                M::Movmskpd => 64,
                _ => 8,
            };
            let r = (0..128 / width).fold(0u64, |acc, k| acc | ((((v >> (width * k + width - 1)) & 1) as u64) << k));
            set_reg(cpu, i.op0_register(), r);
            Ok(())
        }
        M::Maskmovdqu => maskmov(cpu, bus, i),
        M::Ldmxcsr => {
            let v = bus.read_u32(ea(cpu, i))?;
            // Bits 16..31 are reserved (MXCSR_MASK is 0xffff: DAZ exists).
            if v >> 16 != 0 {
                return Err(Fault::GeneralProtection.into());
            }
            cpu.mxcsr = v;
            Ok(())
        }
        M::Stmxcsr => {
            bus.write_u32(ea(cpu, i), cpu.mxcsr)?;
            Ok(())
        }
        _ => {
            if let Some(r) = float::exec(cpu, bus, i) {
                return r;
            }
            if let Some(r) = int::exec(cpu, bus, i) {
                return r;
            }
            super::x87::exec(cpu, bus, i)
        }
    }
}

/// Does the instruction name an MMX register?
fn uses_mmx(i: &Instruction) -> bool {
    (0..i.op_count()).any(|n| i.op_kind(n) == OpKind::Register && i.op_register(n).is_mm())
}

/// Index of the XMM register in operand `n`.
#[inline(always)]
fn xi(i: &Instruction, n: u32) -> usize {
    i.op_register(n) as usize - Register::XMM0 as usize
}

#[inline(always)]
fn xmm(cpu: &CpuState, i: &Instruction, n: u32) -> [u64; 2] {
    cpu.xmm[xi(i, n)]
}

#[inline(always)]
fn get(cpu: &CpuState, r: usize) -> u128 {
    let [lo, hi] = cpu.xmm[r];
    lo as u128 | (hi as u128) << 64
}

#[inline(always)]
fn set(cpu: &mut CpuState, r: usize, v: u128) {
    cpu.xmm[r] = [v as u64, (v >> 64) as u64];
}

/// Operand `n` as 128 bits: the whole XMM register, or `bytes` of memory
/// zero-extended. 16-byte memory operands must be aligned when `align`
/// (every legacy-SSE m128 operand except the explicitly unaligned moves).
#[inline(always)]
fn rm(cpu: &CpuState, bus: &mut Bus, i: &Instruction, n: u32, bytes: u32, align: bool) -> RV<u128> {
    if i.op_kind(n) == OpKind::Register {
        return Ok(get(cpu, xi(i, n)));
    }
    let a = ea(cpu, i);
    Ok(match bytes {
        16 => {
            if align && a & 15 != 0 {
                return Err(Fault::GeneralProtection.into());
            }
            bus.read_u128(a)?
        }
        8 => bus.read_u64(a)? as u128,
        4 => bus.read_u32(a)? as u128,
        _ => bus.read_u16(a)? as u128,
    })
}

fn mov128(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction, align: bool) -> R {
    if i.op0_kind() == OpKind::Register {
        let v = rm(cpu, bus, i, 1, 16, align)?;
        set(cpu, xi(i, 0), v);
        return Ok(());
    }
    let a = ea(cpu, i);
    if align && a & 15 != 0 {
        return Err(Fault::GeneralProtection.into());
    }
    bus.write_u128(a, get(cpu, xi(i, 1)))?;
    Ok(())
}

/// MOVSS/MOVSD: register to register merges the low element; a load
/// zeroes the rest of the register; a store writes only the element.
fn movs(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction, bytes: u32) -> R {
    let mask: u128 = if bytes == 4 { 0xffff_ffff } else { u64::MAX as u128 };
    match (i.op0_kind(), i.op1_kind()) {
        (OpKind::Register, OpKind::Register) => {
            let d = xi(i, 0);
            let v = (get(cpu, d) & !mask) | (get(cpu, xi(i, 1)) & mask);
            set(cpu, d, v);
        }
        (OpKind::Register, _) => {
            let v = rm(cpu, bus, i, 1, bytes, false)?;
            set(cpu, xi(i, 0), v);
        }
        _ => {
            let v = cpu.xmm[xi(i, 1)][0];
            super::write_mem(bus, ea(cpu, i), bytes, v)?;
        }
    }
    Ok(())
}

/// MOVLPS/MOVLPD/MOVHPS/MOVHPD: one 64-bit half to or from memory.
fn movhl(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction, half: usize) -> R {
    if i.op0_kind() == OpKind::Register {
        let v = bus.read_u64(ea(cpu, i))?;
        cpu.xmm[xi(i, 0)][half] = v;
    } else {
        let v = cpu.xmm[xi(i, 1)][half];
        bus.write_u64(ea(cpu, i), v)?;
    }
    Ok(())
}

/// MOVD/MOVQ between XMM and GPR/memory, and MOVQ xmm, xmm/m64.
fn movdq(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let into_xmm = i.op0_kind() == OpKind::Register && i.op0_register().is_xmm();
    if into_xmm {
        let v = match i.op1_kind() {
            OpKind::Register if i.op1_register().is_xmm() => cpu.xmm[xi(i, 1)][0],
            OpKind::Register => get_reg(cpu, i.op1_register()),
            _ => super::read_mem(bus, ea(cpu, i), i.memory_size().size() as u32)?,
        };
        cpu.xmm[xi(i, 0)] = [v, 0];
        return Ok(());
    }
    let v = cpu.xmm[xi(i, 1)][0];
    match i.op0_kind() {
        OpKind::Register => set_reg(cpu, i.op0_register(), v),
        _ => super::write_mem(bus, ea(cpu, i), i.memory_size().size() as u32, v)?,
    }
    Ok(())
}

/// MASKMOVDQU: store the bytes of the first register whose mask byte has
/// its top bit set, at DS:RDI (EDI with a 32-bit address size).
fn maskmov(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let data = get(cpu, xi(i, 1)).to_le_bytes();
    let sel = (0..16).fold(0u16, |m, k| m | (((get(cpu, xi(i, 2)) >> (8 * k + 7)) & 1) as u16) << k);
    let rdi = cpu.gpr[crate::state::reg::RDI];
    let rdi = if i.op0_kind() == OpKind::MemorySegEDI { rdi & 0xffff_ffff } else { rdi };
    let base = super::seg_base(cpu, i.memory_segment()).wrapping_add(rdi);
    // The hardware checks write access to all 16 bytes even when the mask
    // selects none of them.
    bus.write_bytes(base, &[])?;
    super::probe_write(bus, base, 16)?;
    if sel == 0 {
        return Ok(());
    }
    let (lo, hi) = (sel.trailing_zeros() as usize, 15 - sel.leading_zeros() as usize);
    let at = base.wrapping_add(lo as u64);
    // Merge into the covered span and write it back in one checked write,
    // so a fault on either page leaves memory untouched.
    let mut buf = [0u8; 16];
    let span = &mut buf[lo..=hi];
    bus.read_bytes(at, span)?;
    for (k, b) in span.iter_mut().enumerate() {
        if sel >> (lo + k) & 1 != 0 {
            *b = data[lo + k];
        }
    }
    bus.write_bytes(at, span)?;
    Ok(())
}

/// The `Trap` for an unmasked SIMD floating-point exception.
fn simd_fault() -> Trap {
    Fault::Simd.into()
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests;
