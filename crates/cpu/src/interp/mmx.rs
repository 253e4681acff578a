//! MMX: the packed-integer instructions on the eight 64-bit MMX registers,
//! the SSE and SSE2 additions that operate on them, and the moves and
//! conversions between MMX and XMM registers.
//!
//! MMi is the significand of x87 *physical* register i (`x87.st[i]`),
//! whatever TOP is. The rules below were checked on the host (an AMD Zen
//! CPU) with FXSAVE/FNSTENV around each instruction (see `mmx/tests.rs`
//! and the difftest `mmx` class):
//!
//! - Every MMX instruction except EMMS switches the x87 unit to MMX state:
//!   TOP = 0 and all eight registers non-empty. The full tag word, as
//!   FNSTENV reports it, is then derived from the register contents (a
//!   register whose exponent is 0xffff reads as "special"), not all
//!   "valid": the hardware only keeps the abridged (empty or not) tags.
//! - A write to MMi also sets the sign/exponent of physical register i to
//!   0xffff; reading an MMX register (stores, MOVD r32, PMOVMSKB, ...)
//!   leaves it alone.
//! - EMMS empties all registers and also sets TOP = 0.
//! - With an unmasked x87 exception pending (ES), every instruction here,
//!   EMMS and the stores included, raises #MF before doing anything. The
//!   memory-source forms of CVTPI2PS/CVTPI2PD touch no MMX register, do
//!   not switch to MMX state and do not check for #MF; they are SSE
//!   instructions and live in `sse.rs`.
//! - A page fault or #GP on the memory operand leaves everything as it
//!   was, with two exceptions the hardware has: an unmasked SIMD exception
//!   (#XM) of CVT(T)PS2PI/CVT(T)PD2PI/CVTPI2PS leaves the MMX destination
//!   unchanged but the switch to MMX state has happened (and MXCSR has its
//!   flags), and MASKMOVQ switches to MMX state before it checks write
//!   access to all eight bytes at [RDI] (whatever the mask: an all-zero
//!   mask still faults on a read-only page) and only then stores.
//! - MMX instructions leave the rest of the status word (condition codes,
//!   sticky flags) alone. FOP, FIP and FDP are left alone too; the host
//!   cannot tell (AMD saves them only with an exception pending).
//!
//! The element helpers (`map2`, `pack`, `interleave`, ...) mirror the
//! 128-bit ones in `sse/int.rs` on 64 bits; the integer<->float
//! conversions are small exact routines of their own (the SSE soft-float
//! is private to `sse`).

#[cfg(all(test, target_arch = "x86_64", target_os = "linux"))]
mod tests;

use super::sse::int::{lmask, mask, sat_s, sat_u, sx};
use iced_x86::{Instruction, Mnemonic, OpKind, Register};

use super::{ea, get_reg, read_mem, set_reg, write_mem, R, RV};
use crate::fault::Fault;
use crate::mem::Bus;
use crate::state::{CpuState, X87};

/// x87 status word: exception summary (an unmasked exception is pending).
const ES: u16 = 0x0080;
/// MXCSR exception flags (the masks are the same bits << 7).
const IE: u32 = 1;
const DE: u32 = 2;
const ZE: u32 = 4;
const PE: u32 = 32;
/// MXCSR: denormal operands are zero.
const DAZ: u32 = 1 << 6;

/// An MMX instruction (or one that reached the end of the dispatch chain:
/// anything else is #UD).
pub(super) fn exec(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    use Mnemonic as M;
    let m = i.mnemonic();
    let bin = binop(m);
    let known = bin.is_some()
        || matches!(
            m,
            M::Emms
                | M::Movd
                | M::Movq
                | M::Psllw
                | M::Pslld
                | M::Psllq
                | M::Psrlw
                | M::Psrld
                | M::Psrlq
                | M::Psraw
                | M::Psrad
                | M::Pextrw
                | M::Pinsrw
                | M::Pmovmskb
                | M::Pshufw
                | M::Maskmovq
                | M::Movntq
                | M::Movq2dq
                | M::Movdq2q
                | M::Cvtpi2ps
                | M::Cvtpi2pd
                | M::Cvtps2pi
                | M::Cvttps2pi
                | M::Cvtpd2pi
                | M::Cvttpd2pi
        );
    // The XMM forms of the shared mnemonics were handled by sse.rs; what
    // arrives here without an MMX register is not an MMX instruction.
    if !known || (m != M::Emms && !uses_mmx(i)) {
        return super::ud();
    }
    if cpu.x87.fsw & ES != 0 {
        return Err(Fault::X87.into());
    }
    match m {
        M::Emms => {
            cpu.x87.ftw = 0xffff;
            set_top0(&mut cpu.x87);
        }
        M::Movd | M::Movq => movdq(cpu, bus, i)?,
        M::Psllw | M::Pslld | M::Psllq | M::Psrlw | M::Psrld | M::Psrlq | M::Psraw | M::Psrad => {
            let count = match i.op1_kind() {
                OpKind::Immediate8 => i.immediate8() as u64,
                _ => src(cpu, bus, i, 1)?,
            };
            let d = mi(i, 0);
            let r = shift(m, cpu.x87.st[d].signif, count);
            set_mm(cpu, d, r);
        }
        M::Pextrw => {
            let k = (i.immediate8() & 3) as u32;
            let v = elem(mm(cpu, i, 1), 16, k);
            set_reg(cpu, i.op0_register(), v);
            enter(cpu);
        }
        M::Pinsrw => {
            let w = match i.op1_kind() {
                OpKind::Register => get_reg(cpu, i.op1_register()) & 0xffff,
                _ => bus.read_u16(ea(cpu, i))? as u64,
            };
            let d = mi(i, 0);
            let k = (i.immediate8() & 3) as u32;
            let v = (cpu.x87.st[d].signif & !(0xffff << (16 * k))) | w << (16 * k);
            set_mm(cpu, d, v);
        }
        M::Pmovmskb => {
            let v = mm(cpu, i, 1);
            let r = (0..8).fold(0u64, |acc, k| acc | ((v >> (8 * k + 7)) & 1) << k);
            set_reg(cpu, i.op0_register(), r);
            enter(cpu);
        }
        M::Pshufw => {
            let b = src(cpu, bus, i, 1)?;
            let n = i.immediate8() as u32;
            let r = (0..4).fold(0u64, |acc, k| acc | elem(b, 16, (n >> (2 * k)) & 3) << (16 * k));
            set_mm(cpu, mi(i, 0), r);
        }
        M::Maskmovq => maskmovq(cpu, bus, i)?,
        M::Movntq => {
            let v = mm(cpu, i, 1);
            bus.write_u64(ea(cpu, i), v)?;
            enter(cpu);
        }
        M::Movq2dq => {
            let v = mm(cpu, i, 1);
            cpu.xmm[xi(i, 0)] = [v, 0];
            enter(cpu);
        }
        M::Movdq2q => {
            let v = cpu.xmm[xi(i, 1)][0];
            set_mm(cpu, mi(i, 0), v);
        }
        M::Cvtpi2ps | M::Cvtpi2pd => cvt_from_mm(cpu, i)?,
        M::Cvtps2pi | M::Cvttps2pi | M::Cvtpd2pi | M::Cvttpd2pi => cvt_to_mm(cpu, bus, i)?,
        _ => {
            let Some(f) = bin else { return super::ud() };
            let b = src(cpu, bus, i, 1)?;
            let d = mi(i, 0);
            let r = f(cpu.x87.st[d].signif, b);
            set_mm(cpu, d, r);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Register file

/// Does the instruction name an MMX register?
fn uses_mmx(i: &Instruction) -> bool {
    (0..i.op_count()).any(|n| i.op_kind(n) == OpKind::Register && i.op_register(n).is_mm())
}

/// Index of the MMX register in operand `n`.
#[inline(always)]
fn mi(i: &Instruction, n: u32) -> usize {
    i.op_register(n) as usize - Register::MM0 as usize
}

/// Index of the XMM register in operand `n`.
#[inline(always)]
fn xi(i: &Instruction, n: u32) -> usize {
    i.op_register(n) as usize - Register::XMM0 as usize
}

/// The MMX register in operand `n`.
#[inline(always)]
fn mm(cpu: &CpuState, i: &Instruction, n: u32) -> u64 {
    cpu.x87.st[mi(i, n)].signif
}

/// Operand `n`: an MMX register or memory (of the operand's size, e.g. 32
/// bits for PUNPCKL*, zero-extended).
#[inline(always)]
fn src(cpu: &CpuState, bus: &mut Bus, i: &Instruction, n: u32) -> RV<u64> {
    if i.op_kind(n) == OpKind::Register {
        return Ok(mm(cpu, i, n));
    }
    read_mem(bus, ea(cpu, i), i.memory_size().size() as u32)
}

fn set_top0(x: &mut X87) {
    x.fsw &= !0x3800;
}

/// Switch the x87 unit to MMX state: TOP = 0, every register non-empty,
/// each tagged by its contents (as FNSTENV shows it on the host).
fn enter(cpu: &mut CpuState) {
    let x = &mut cpu.x87;
    set_top0(x);
    x.ftw = (0..8).fold(0u16, |acc, p| acc | X87::tag_of(x.st[p]) << (2 * p));
}

/// Write MMi (its exponent becomes 0xffff) and switch to MMX state.
fn set_mm(cpu: &mut CpuState, k: usize, v: u64) {
    let r = &mut cpu.x87.st[k];
    r.signif = v;
    r.sign_exp = 0xffff;
    enter(cpu);
}

// ---------------------------------------------------------------------------
// Moves

/// MOVD/MOVQ between an MMX register and a GPR, memory or another MMX
/// register. A 32-bit source is zero-extended; a 32-bit GPR destination
/// too (x86-64 rules, done by `set_reg`).
fn movdq(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    if i.op0_kind() == OpKind::Register && i.op0_register().is_mm() {
        let v = match i.op1_kind() {
            OpKind::Register if i.op1_register().is_mm() => mm(cpu, i, 1),
            OpKind::Register => get_reg(cpu, i.op1_register()),
            _ => read_mem(bus, ea(cpu, i), i.memory_size().size() as u32)?,
        };
        set_mm(cpu, mi(i, 0), v);
        return Ok(());
    }
    let v = mm(cpu, i, 1);
    match i.op0_kind() {
        OpKind::Register => set_reg(cpu, i.op0_register(), v),
        _ => write_mem(bus, ea(cpu, i), i.memory_size().size() as u32, v)?,
    }
    enter(cpu);
    Ok(())
}

/// MASKMOVQ: store the bytes of the first register whose mask byte (in the
/// second) has its top bit set, at DS:RDI (EDI with a 32-bit address
/// size). As on the host: MMX state first, then write access to all eight
/// bytes is checked (in page order), then the selected bytes are stored.
fn maskmovq(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let data = mm(cpu, i, 1);
    let mask = mm(cpu, i, 2);
    let rdi = cpu.gpr[crate::state::reg::RDI];
    let rdi = if i.op0_kind() == OpKind::MemorySegEDI { rdi & 0xffff_ffff } else { rdi };
    let at = super::seg_base(cpu, i.memory_segment()).wrapping_add(rdi);
    enter(cpu);
    // An empty write checks (only) the page holding its address.
    bus.write_bytes(at, &[])?;
    if (at & 0xfff) + 8 > 0x1000 {
        bus.write_bytes((at | 0xfff).wrapping_add(1), &[])?;
    }
    for k in 0..8u64 {
        if (mask >> (8 * k + 7)) & 1 != 0 {
            bus.write_u8(at.wrapping_add(k), (data >> (8 * k)) as u8)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Element-wise operations on 64 bits

/// The two-operand element-wise instructions: `dest = f(dest, src)`.
fn binop(m: Mnemonic) -> Option<fn(u64, u64) -> u64> {
    use Mnemonic as M;
    Some(match m {
        M::Paddb => |a, b| map2(a, b, 8, u64::wrapping_add),
        M::Paddw => |a, b| map2(a, b, 16, u64::wrapping_add),
        M::Paddd => |a, b| map2(a, b, 32, u64::wrapping_add),
        M::Paddq => u64::wrapping_add,
        M::Psubb => |a, b| map2(a, b, 8, u64::wrapping_sub),
        M::Psubw => |a, b| map2(a, b, 16, u64::wrapping_sub),
        M::Psubd => |a, b| map2(a, b, 32, u64::wrapping_sub),
        M::Psubq => u64::wrapping_sub,
        M::Paddsb => |a, b| map2(a, b, 8, |x, y| sat_s(sx(x, 8) + sx(y, 8), 8)),
        M::Paddsw => |a, b| map2(a, b, 16, |x, y| sat_s(sx(x, 16) + sx(y, 16), 16)),
        M::Psubsb => |a, b| map2(a, b, 8, |x, y| sat_s(sx(x, 8) - sx(y, 8), 8)),
        M::Psubsw => |a, b| map2(a, b, 16, |x, y| sat_s(sx(x, 16) - sx(y, 16), 16)),
        M::Paddusb => |a, b| map2(a, b, 8, |x, y| sat_u(x as i64 + y as i64, 8)),
        M::Paddusw => |a, b| map2(a, b, 16, |x, y| sat_u(x as i64 + y as i64, 16)),
        M::Psubusb => |a, b| map2(a, b, 8, |x, y| sat_u(x as i64 - y as i64, 8)),
        M::Psubusw => |a, b| map2(a, b, 16, |x, y| sat_u(x as i64 - y as i64, 16)),
        M::Pmullw => |a, b| map2(a, b, 16, |x, y| (sx(x, 16) * sx(y, 16)) as u64),
        M::Pmulhw => |a, b| map2(a, b, 16, |x, y| ((sx(x, 16) * sx(y, 16)) >> 16) as u64),
        M::Pmulhuw => |a, b| map2(a, b, 16, |x, y| (x * y) >> 16),
        M::Pmuludq => |a, b| (a & 0xffff_ffff) * (b & 0xffff_ffff),
        M::Pmaddwd => |a, b| {
            map2(a, b, 32, |x, y| {
                let lo = sx(x & 0xffff, 16) * sx(y & 0xffff, 16);
                let hi = sx(x >> 16, 16) * sx(y >> 16, 16);
                // Only (-32768)^2 * 2 overflows, to 0x8000_0000.
                (lo + hi) as u64
            })
        },
        M::Pcmpeqb => |a, b| map2(a, b, 8, |x, y| mask(x == y)),
        M::Pcmpeqw => |a, b| map2(a, b, 16, |x, y| mask(x == y)),
        M::Pcmpeqd => |a, b| map2(a, b, 32, |x, y| mask(x == y)),
        M::Pcmpgtb => |a, b| map2(a, b, 8, |x, y| mask(sx(x, 8) > sx(y, 8))),
        M::Pcmpgtw => |a, b| map2(a, b, 16, |x, y| mask(sx(x, 16) > sx(y, 16))),
        M::Pcmpgtd => |a, b| map2(a, b, 32, |x, y| mask(sx(x, 32) > sx(y, 32))),
        M::Pand => |a, b| a & b,
        M::Pandn => |a, b| !a & b,
        M::Por => |a, b| a | b,
        M::Pxor => |a, b| a ^ b,
        M::Pavgb => |a, b| map2(a, b, 8, |x, y| (x + y + 1) >> 1),
        M::Pavgw => |a, b| map2(a, b, 16, |x, y| (x + y + 1) >> 1),
        M::Pminub => |a, b| map2(a, b, 8, u64::min),
        M::Pmaxub => |a, b| map2(a, b, 8, u64::max),
        M::Pminsw => |a, b| map2(a, b, 16, |x, y| if sx(x, 16) < sx(y, 16) { x } else { y }),
        M::Pmaxsw => |a, b| map2(a, b, 16, |x, y| if sx(x, 16) > sx(y, 16) { x } else { y }),
        // The sum of the eight byte differences in the low word; the rest
        // of the register is cleared.
        M::Psadbw => |a, b| (0..8).map(|k| (elem(a, 8, k) as u8).abs_diff(elem(b, 8, k) as u8) as u64).sum(),
        M::Packsswb => |a, b| pack(a, b, 16, |v| sat_s(v, 8)),
        M::Packssdw => |a, b| pack(a, b, 32, |v| sat_s(v, 16)),
        M::Packuswb => |a, b| pack(a, b, 16, |v| sat_u(v, 8)),
        M::Punpcklbw => |a, b| interleave(a, b, 8, false),
        M::Punpcklwd => |a, b| interleave(a, b, 16, false),
        M::Punpckldq => |a, b| interleave(a, b, 32, false),
        M::Punpckhbw => |a, b| interleave(a, b, 8, true),
        M::Punpckhwd => |a, b| interleave(a, b, 16, true),
        M::Punpckhdq => |a, b| interleave(a, b, 32, true),
        _ => return None,
    })
}

/// Element `k` of `w` bits.
#[inline(always)]
fn elem(v: u64, w: u32, k: u32) -> u64 {
    (v >> (w * k)) & lmask(w)
}

/// Element-wise `f` over `w`-bit elements (the result is truncated to `w`).
#[inline(always)]
fn map2(a: u64, b: u64, w: u32, f: impl Fn(u64, u64) -> u64) -> u64 {
    (0..64 / w).fold(0, |r, k| r | (f(elem(a, w, k), elem(b, w, k)) & lmask(w)) << (w * k))
}

/// Narrow the signed `w`-bit elements of `a` (low half of the result) and
/// `b` (high half) with the saturating `sat`.
fn pack(a: u64, b: u64, w: u32, sat: impl Fn(i64) -> u64) -> u64 {
    let n = 64 / w;
    let h = w / 2;
    let mut r = 0u64;
    for k in 0..n {
        r |= (sat(sx(elem(a, w, k), w)) & lmask(h)) << (h * k);
        r |= (sat(sx(elem(b, w, k), w)) & lmask(h)) << (h * (k + n));
    }
    r
}

/// PUNPCKL*/PUNPCKH*: alternate the elements of the low (high) halves.
fn interleave(a: u64, b: u64, w: u32, high: bool) -> u64 {
    let n = 32 / w;
    let off = if high { n } else { 0 };
    let mut r = 0u64;
    for k in 0..n {
        r |= elem(a, w, off + k) << (2 * k * w);
        r |= elem(b, w, off + k) << ((2 * k + 1) * w);
    }
    r
}

/// PSLL/PSRL/PSRA by `count` (the whole 64-bit count: anything past the
/// element width clears the element, or fills it with its sign).
fn shift(m: Mnemonic, v: u64, count: u64) -> u64 {
    use Mnemonic as M;
    let w = match m {
        M::Psllw | M::Psrlw | M::Psraw => 16,
        M::Pslld | M::Psrld | M::Psrad => 32,
        _ => 64,
    };
    match m {
        M::Psraw | M::Psrad => {
            let c = count.min(w as u64 - 1) as u32;
            map2(v, 0, w, |x, _| (sx(x, w) >> c) as u64)
        }
        _ if count >= w as u64 => 0,
        M::Psllw | M::Pslld | M::Psllq => map2(v, 0, w, |x, _| x << count),
        _ => map2(v, 0, w, |x, _| x >> count),
    }
}

// ---------------------------------------------------------------------------
// Conversions

/// CVTPI2PS xmm, mm (the low two singles; the high half of the XMM
/// register is kept) and CVTPI2PD xmm, mm (exact).
fn cvt_from_mm(cpu: &mut CpuState, i: &Instruction) -> R {
    let v = mm(cpu, i, 1);
    let (lo, hi) = (v as u32 as i32, (v >> 32) as u32 as i32);
    let d = xi(i, 0);
    if i.mnemonic() == Mnemonic::Cvtpi2pd {
        cpu.xmm[d] = [(lo as f64).to_bits(), (hi as f64).to_bits()];
        enter(cpu);
        return Ok(());
    }
    let rc = (cpu.mxcsr >> 13) & 3;
    let (a, fa) = i32_to_f32(lo, rc);
    let (b, fb) = i32_to_f32(hi, rc);
    let r = commit(cpu, fa | fb);
    // The switch to MMX state happens even when #XM is raised.
    enter(cpu);
    r?;
    cpu.xmm[d][0] = a as u64 | (b as u64) << 32;
    Ok(())
}

/// CVTPS2PI/CVTTPS2PI mm, xmm/m64 and CVTPD2PI/CVTTPD2PI mm, xmm/m128
/// (aligned): two 32-bit integers, rounded per MXCSR or truncated.
fn cvt_to_mm(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    use Mnemonic as M;
    let m = i.mnemonic();
    let double = matches!(m, M::Cvtpd2pi | M::Cvttpd2pi);
    let trunc = matches!(m, M::Cvttps2pi | M::Cvttpd2pi);
    let [lo, hi] = if i.op1_kind() == OpKind::Register {
        cpu.xmm[xi(i, 1)]
    } else if double {
        let a = ea(cpu, i);
        if a & 15 != 0 {
            return Err(Fault::GeneralProtection.into());
        }
        let v = bus.read_u128(a)?;
        [v as u64, (v >> 64) as u64]
    } else {
        [bus.read_u64(ea(cpu, i))?, 0]
    };
    let ((a, fa), (b, fb)) = if double {
        (to_i32(lo, 52, 11, cpu.mxcsr, trunc), to_i32(hi, 52, 11, cpu.mxcsr, trunc))
    } else {
        (to_i32(lo & 0xffff_ffff, 23, 8, cpu.mxcsr, trunc), to_i32(lo >> 32, 23, 8, cpu.mxcsr, trunc))
    };
    let r = commit(cpu, fa | fb);
    // On #XM the destination is unchanged, but the x87 unit is in MMX
    // state (host-verified).
    enter(cpu);
    r?;
    set_mm(cpu, mi(i, 0), a as u64 | (b as u64) << 32);
    Ok(())
}

/// Merge exception flags into MXCSR; an unmasked one faults (#XM). When a
/// pre-computation exception (IE, DE, ZE) is unmasked, only those flags
/// are recorded (SDM vol. 1, 11.5.2), as in `sse/float.rs`.
fn commit(cpu: &mut CpuState, fl: u32) -> R {
    if fl == 0 {
        return Ok(());
    }
    let unmasked = !(cpu.mxcsr >> 7) & 0x3f;
    let pre = fl & (IE | DE | ZE);
    if pre & unmasked != 0 {
        cpu.mxcsr |= pre;
        return Err(Fault::Simd.into());
    }
    cpu.mxcsr |= fl;
    if fl & unmasked != 0 {
        return Err(Fault::Simd.into());
    }
    Ok(())
}

/// Round `m / 2^s` to an integer in rounding mode `rc` (0 nearest-even,
/// 1 down, 2 up, 3 toward zero) for a value of sign `neg`. Returns the
/// magnitude and whether it was inexact.
fn round_shift(m: u64, s: u32, neg: bool, rc: u32) -> (u64, bool) {
    if s == 0 {
        return (m, false);
    }
    if s > 64 {
        // m < 2^64 <= 2^(s-1): a non-zero value below one half.
        let up = match rc {
            1 => neg,
            2 => !neg,
            _ => false,
        };
        return (up as u64, m != 0);
    }
    let m = m as u128;
    let q = (m >> s) as u64;
    let rem = m & ((1u128 << s) - 1);
    let half = 1u128 << (s - 1);
    let nz = rem != 0;
    let up = match rc {
        0 => rem > half || (rem == half && q & 1 == 1),
        1 => nz && neg,
        2 => nz && !neg,
        _ => false,
    };
    (q + up as u64, nz)
}

/// A signed 32-bit integer to binary32, rounded per `rc`: (bits, flags).
fn i32_to_f32(v: i32, rc: u32) -> (u32, u32) {
    let mag = v.unsigned_abs();
    // Up to 24 significant bits convert exactly (the host conversion).
    if mag < 1 << 24 {
        return ((v as f32).to_bits(), 0);
    }
    let neg = v < 0;
    let n = 32 - mag.leading_zeros();
    let (mut q, inexact) = round_shift(mag as u64, n - 24, neg, rc);
    let mut e = n - 1;
    if q == 1 << 24 {
        q >>= 1;
        e += 1;
    }
    let bits = (neg as u32) << 31 | (e + 127) << 23 | (q as u32 & 0x7f_ffff);
    (bits, if inexact { PE } else { 0 })
}

/// A binary float (`fb` fraction bits, `eb` exponent bits) to a signed
/// 32-bit integer, rounded per MXCSR or truncated: (bits, flags). NaNs,
/// infinities and out-of-range values give the integer indefinite
/// 0x8000_0000 with IE. Denormals are zero under DAZ (no flag) and
/// otherwise just tiny values; they raise no DE here (as SSE's CVTPS2DQ).
fn to_i32(x: u64, fb: u32, eb: u32, mxcsr: u32, trunc: bool) -> (u32, u32) {
    const INDEFINITE: (u32, u32) = (0x8000_0000, IE);
    let rc = if trunc { 3 } else { (mxcsr >> 13) & 3 };
    let exp_all = (1u64 << eb) - 1;
    let bias = (1i32 << (eb - 1)) - 1;
    let neg = (x >> (fb + eb)) & 1 != 0;
    let be = (x >> fb) & exp_all;
    let fr = x & ((1u64 << fb) - 1);
    if be == exp_all {
        return INDEFINITE;
    }
    if be == 0 && (fr == 0 || mxcsr & DAZ != 0) {
        return (0, 0);
    }
    // The value is m * 2^e.
    let (m, e) = if be == 0 { (fr, 1 - bias - fb as i32) } else { (fr | 1 << fb, be as i32 - bias - fb as i32) };
    let (mag, inexact) = if e >= 0 {
        // m >= 1, so anything shifted past bit 31 is out of range; below
        // that, m < 2^53 shifted fits 128 bits.
        if e > 31 {
            return INDEFINITE;
        }
        let v = (m as u128) << e;
        if v > 1 << 31 {
            return INDEFINITE;
        }
        (v as u64, false)
    } else {
        round_shift(m, (-e) as u32, neg, rc)
    };
    let limit = if neg { 1u64 << 31 } else { (1u64 << 31) - 1 };
    if mag > limit {
        return INDEFINITE;
    }
    let v = if neg { (mag as u32).wrapping_neg() } else { mag as u32 };
    (v, if inexact { PE } else { 0 })
}
