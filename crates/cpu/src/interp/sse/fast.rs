//! Specialised handlers for the frequent SSE/SSE2 forms (see
//! `interp::fast`): chosen once per decoded instruction, monomorphised over
//! operation, element format, packed/scalar and register/memory source, so
//! they skip the generic path's mnemonic and operand-kind matching.
//!
//! Float arithmetic gets a cheaper exactness check on the common path.
//! MXCSR's exception flags are sticky: with round-to-nearest, PE already
//! set and masked, an operation on zero or normal operands whose host
//! result is zero (exactly) or a normal number comfortably above the
//! smallest one can raise nothing but PE, so the host's IEEE result is
//! the answer and MXCSR does not change. Bit tests on the operands and the
//! result prove that; anything else (NaN, infinity, denormal operands,
//! tiny or overflowing results, other rounding modes, PE clear or
//! unmasked) goes to the exact path of `float.rs`, which also decides
//! faults. MIN/MAX raise no flag at all on such operands, so their check
//! does not even look at MXCSR.
//!
//! Every handler reads its memory operand (faulting as the generic path
//! would: alignment #GP first, then the page fault) before changing any
//! state, and falls back to the generic code for anything it does not
//! prove, so its behaviour is the generic path's.

use iced_x86::{Code, Instruction, OpKind, Register};

use super::float::{self, arith_on, commit};
use super::fp::{self, Mode, F32, F64, PE};
use super::int::{elem, interleave, map2, mask, sx};
use super::{get, set, xi};
use crate::block::Op as BOp;
use crate::fault::Fault;
use crate::interp::fast::Handler;
use crate::interp::{ea, get_reg, set_reg, R, RV};
use crate::mem::Bus;
use crate::state::CpuState;

/// The generic SSE dispatch, without the integer/system dispatch in front
/// of it (`interp::exec` and `system::exec` handle no instruction with an
/// XMM operand; the string MOVSD/CMPSD forms have none).
fn direct(cpu: &mut CpuState, bus: &mut Bus, op: &BOp) -> R {
    super::exec(cpu, bus, &op.insn)
}

/// Effective address of the memory operand.
#[inline(always)]
fn addr(cpu: &CpuState, op: &BOp) -> u64 {
    if op.mem.simple {
        op.mem.ea(cpu)
    } else {
        ea(cpu, &op.insn)
    }
}

/// Read `BYTES` of memory zero-extended; a 16-byte operand must be aligned
/// when `ALIGN` (the #GP comes before any page fault, as in `sse::rm`).
#[inline(always)]
fn load<const BYTES: u32, const ALIGN: bool>(cpu: &CpuState, bus: &mut Bus, op: &BOp) -> RV<u128> {
    let a = addr(cpu, op);
    Ok(match BYTES {
        16 => {
            if ALIGN && a & 15 != 0 {
                return Err(Fault::GeneralProtection.into());
            }
            bus.read_u128(a)?
        }
        8 => bus.read_u64(a)? as u128,
        _ => bus.read_u32(a)? as u128,
    })
}

/// Operand 1: XMM register, or `BYTES` of memory. For a scalar operand
/// (`BYTES` < 16) only the register's low quadword is read: the 64-bit
/// load keeps the host's store-to-load forwarding working after a scalar
/// op wrote that quadword (a 128-bit load would stall on it).
#[inline(always)]
fn src<const MEM: bool, const BYTES: u32, const ALIGN: bool>(cpu: &CpuState, bus: &mut Bus, op: &BOp) -> RV<u128> {
    if MEM {
        load::<BYTES, ALIGN>(cpu, bus, op)
    } else if BYTES < 16 {
        Ok(cpu.xmm[xi(&op.insn, 1)][0] as u128)
    } else {
        Ok(get(cpu, xi(&op.insn, 1)))
    }
}

// ---------------------------------------------------------------------
// Data movement.

/// MOVAPS/MOVUPS/MOVDQA/... into a register (from a register or memory).
fn mov_load<const ALIGN: bool, const MEM: bool>(cpu: &mut CpuState, bus: &mut Bus, op: &BOp) -> R {
    let v = src::<MEM, 16, ALIGN>(cpu, bus, op)?;
    set(cpu, xi(&op.insn, 0), v);
    Ok(())
}

/// The store forms to memory (MOVAPS m128, xmm; MOVNTDQ; ...).
fn mov_store<const ALIGN: bool>(cpu: &mut CpuState, bus: &mut Bus, op: &BOp) -> R {
    let a = addr(cpu, op);
    if ALIGN && a & 15 != 0 {
        return Err(Fault::GeneralProtection.into());
    }
    bus.write_u128(a, get(cpu, xi(&op.insn, 1)))?;
    Ok(())
}

/// MOVSS/MOVSD between registers: the low element merges.
fn movs_rr<const BYTES: u32>(cpu: &mut CpuState, _: &mut Bus, op: &BOp) -> R {
    let i = &op.insn;
    let (d, s) = (xi(i, 0), xi(i, 1));
    if BYTES == 8 {
        cpu.xmm[d][0] = cpu.xmm[s][0];
    } else {
        cpu.xmm[d][0] = (cpu.xmm[d][0] & !0xffff_ffff) | (cpu.xmm[s][0] & 0xffff_ffff);
    }
    Ok(())
}

/// MOVSS/MOVSD/MOVQ/MOVD loads: the element, the rest of the register
/// zeroed.
fn load_low<const BYTES: u32>(cpu: &mut CpuState, bus: &mut Bus, op: &BOp) -> R {
    let v = load::<BYTES, false>(cpu, bus, op)?;
    cpu.xmm[xi(&op.insn, 0)] = [v as u64, 0];
    Ok(())
}

/// MOVSS/MOVSD/MOVQ/MOVD stores of the low element.
fn store_low<const BYTES: u32>(cpu: &mut CpuState, bus: &mut Bus, op: &BOp) -> R {
    let v = cpu.xmm[xi(&op.insn, 1)][0];
    if BYTES == 8 {
        bus.write_u64(addr(cpu, op), v)?;
    } else {
        bus.write_u32(addr(cpu, op), v as u32)?;
    }
    Ok(())
}

/// MOVQ xmm, xmm (either encoding): the low quadword, upper half zeroed.
fn movq_rr(cpu: &mut CpuState, _: &mut Bus, op: &BOp) -> R {
    let i = &op.insn;
    let v = cpu.xmm[xi(i, 1)][0];
    cpu.xmm[xi(i, 0)] = [v, 0];
    Ok(())
}

/// MOVD/MOVQ xmm, r32/r64.
fn mov_from_gpr(cpu: &mut CpuState, _: &mut Bus, op: &BOp) -> R {
    let i = &op.insn;
    let v = get_reg(cpu, i.op1_register());
    cpu.xmm[xi(i, 0)] = [v, 0];
    Ok(())
}

/// MOVD/MOVQ r32/r64, xmm (a 32-bit destination is zero-extended).
fn mov_to_gpr(cpu: &mut CpuState, _: &mut Bus, op: &BOp) -> R {
    let i = &op.insn;
    let v = cpu.xmm[xi(i, 1)][0];
    set_reg(cpu, i.op0_register(), v);
    Ok(())
}

/// PMOVMSKB/MOVMSKPS/MOVMSKPD: the sign bit of each `W`-bit element.
fn movmsk<const W: u32>(cpu: &mut CpuState, _: &mut Bus, op: &BOp) -> R {
    let i = &op.insn;
    let v = get(cpu, xi(i, 1));
    let mut r = 0u64;
    for k in 0..128 / W {
        r |= (((v >> (W * k + W - 1)) & 1) as u64) << k;
    }
    set_reg(cpu, i.op0_register(), r);
    Ok(())
}

// ---------------------------------------------------------------------
// Packed integers, bitwise logic and shuffles.

const PADDB: u8 = 0;
const PADDW: u8 = 1;
const PADDD: u8 = 2;
const PADDQ: u8 = 3;
const PSUBB: u8 = 4;
const PSUBW: u8 = 5;
const PSUBD: u8 = 6;
const PSUBQ: u8 = 7;
const PCMPEQB: u8 = 8;
const PCMPEQW: u8 = 9;
const PCMPEQD: u8 = 10;
const PCMPGTB: u8 = 11;
const PCMPGTW: u8 = 12;
const PCMPGTD: u8 = 13;
const PAND: u8 = 14;
const PANDN: u8 = 15;
const POR: u8 = 16;
const PXOR: u8 = 17;
const PUNPCKLBW: u8 = 18;
const PUNPCKLWD: u8 = 19;
const PUNPCKLDQ: u8 = 20;
const PUNPCKLQDQ: u8 = 21;
const PUNPCKHBW: u8 = 22;
const PUNPCKHWD: u8 = 23;
const PUNPCKHDQ: u8 = 24;
const PUNPCKHQDQ: u8 = 25;
const PSHUFD: u8 = 26;
const SHUFPS: u8 = 27;
const SHUFPD: u8 = 28;
const PMINUB: u8 = 29;
const PMAXUB: u8 = 30;
const PMINSW: u8 = 31;
const PMAXSW: u8 = 32;
const PMULLW: u8 = 33;
const PMULUDQ: u8 = 34;

#[inline(always)]
fn int_op<const OP: u8>(a: u128, b: u128, n: u32) -> u128 {
    match OP {
        PADDB => map2(a, b, 8, u64::wrapping_add),
        PADDW => map2(a, b, 16, u64::wrapping_add),
        PADDD => map2(a, b, 32, u64::wrapping_add),
        PADDQ => map2(a, b, 64, u64::wrapping_add),
        PSUBB => map2(a, b, 8, u64::wrapping_sub),
        PSUBW => map2(a, b, 16, u64::wrapping_sub),
        PSUBD => map2(a, b, 32, u64::wrapping_sub),
        PSUBQ => map2(a, b, 64, u64::wrapping_sub),
        PCMPEQB => map2(a, b, 8, |x, y| mask(x == y)),
        PCMPEQW => map2(a, b, 16, |x, y| mask(x == y)),
        PCMPEQD => map2(a, b, 32, |x, y| mask(x == y)),
        PCMPGTB => map2(a, b, 8, |x, y| mask(sx(x, 8) > sx(y, 8))),
        PCMPGTW => map2(a, b, 16, |x, y| mask(sx(x, 16) > sx(y, 16))),
        PCMPGTD => map2(a, b, 32, |x, y| mask(sx(x, 32) > sx(y, 32))),
        PAND => a & b,
        PANDN => !a & b,
        POR => a | b,
        PXOR => a ^ b,
        PUNPCKLBW => interleave(a, b, 8, false),
        PUNPCKLWD => interleave(a, b, 16, false),
        PUNPCKLDQ => interleave(a, b, 32, false),
        PUNPCKLQDQ => interleave(a, b, 64, false),
        PUNPCKHBW => interleave(a, b, 8, true),
        PUNPCKHWD => interleave(a, b, 16, true),
        PUNPCKHDQ => interleave(a, b, 32, true),
        PUNPCKHQDQ => interleave(a, b, 64, true),
        PSHUFD => (0..4).fold(0, |r, k| r | (elem(b, 32, (n >> (2 * k)) & 3) as u128) << (32 * k)),
        SHUFPS => {
            elem(a, 32, n & 3) as u128
                | (elem(a, 32, (n >> 2) & 3) as u128) << 32
                | (elem(b, 32, (n >> 4) & 3) as u128) << 64
                | (elem(b, 32, (n >> 6) & 3) as u128) << 96
        }
        SHUFPD => elem(a, 64, n & 1) as u128 | (elem(b, 64, (n >> 1) & 1) as u128) << 64,
        PMINUB => map2(a, b, 8, u64::min),
        PMAXUB => map2(a, b, 8, u64::max),
        PMINSW => map2(a, b, 16, |x, y| if sx(x, 16) < sx(y, 16) { x } else { y }),
        PMAXSW => map2(a, b, 16, |x, y| if sx(x, 16) > sx(y, 16) { x } else { y }),
        PMULLW => map2(a, b, 16, |x, y| (sx(x, 16) * sx(y, 16)) as u64),
        _ => map2(a, b, 64, |x, y| (x & 0xffff_ffff) * (y & 0xffff_ffff)),
    }
}

/// `op xmm, xmm/m128[, imm8]` on whole registers (the m128 aligned).
fn int2<const OP: u8, const MEM: bool>(cpu: &mut CpuState, bus: &mut Bus, op: &BOp) -> R {
    let i = &op.insn;
    let b = src::<MEM, 16, true>(cpu, bus, op)?;
    let d = xi(i, 0);
    let n = if matches!(OP, PSHUFD | SHUFPS | SHUFPD) { i.immediate8() as u32 } else { 0 };
    let v = int_op::<OP>(get(cpu, d), b, n);
    set(cpu, d, v);
    Ok(())
}

const PSLLW: u8 = 0;
const PSLLD: u8 = 1;
const PSLLQ: u8 = 2;
const PSRLW: u8 = 3;
const PSRLD: u8 = 4;
const PSRLQ: u8 = 5;
const PSRAW: u8 = 6;
const PSRAD: u8 = 7;
const PSLLDQ: u8 = 8;
const PSRLDQ: u8 = 9;

/// The shifts by an immediate count, with `int.rs`'s rules: counts past
/// the element width clear it (or fill it with the sign).
fn shift_imm<const OP: u8>(cpu: &mut CpuState, _: &mut Bus, op: &BOp) -> R {
    let i = &op.insn;
    let d = xi(i, 0);
    let c = i.immediate8() as u32;
    let v = get(cpu, d);
    let w = match OP {
        PSLLW | PSRLW | PSRAW => 16,
        PSLLD | PSRLD | PSRAD => 32,
        _ => 64,
    };
    let r = match OP {
        PSLLDQ | PSRLDQ => match (c > 15, OP == PSLLDQ) {
            (true, _) => 0,
            (false, true) => v << (8 * c),
            (false, false) => v >> (8 * c),
        },
        PSRAW | PSRAD => {
            let c = c.min(w - 1);
            map2(v, 0, w, |x, _| (sx(x, w) >> c) as u64)
        }
        _ if c >= w => 0,
        PSLLW | PSLLD | PSLLQ => map2(v, 0, w, |x, _| x << c),
        _ => map2(v, 0, w, |x, _| x >> c),
    };
    set(cpu, d, r);
    Ok(())
}

// ---------------------------------------------------------------------
// Float arithmetic.

const ADD: u8 = 0;
const SUB: u8 = 1;
const MUL: u8 = 2;
const DIV: u8 = 3;
const SQRT: u8 = 4;
const MIN: u8 = 5;
const MAX: u8 = 6;

/// MXCSR bits that decide the sticky fast path: rounding control, PM and
/// PE; the path needs round-to-nearest with PE set and masked.
const STICKY_MASK: u32 = (3 << 13) | (PE << 7) | PE;
const STICKY: u32 = (PE << 7) | PE;

/// Sign bit, smallest normal and infinity (= the exponent field) of the
/// format (`S`: single).
#[inline(always)]
const fn consts<const S: bool>() -> (u64, u64, u64) {
    if S {
        (1 << 31, 0x0080_0000, 0x7f80_0000)
    } else {
        (1 << 63, 0x0010_0000_0000_0000, 0x7ff0_0000_0000_0000)
    }
}

#[inline(always)]
fn mag<const S: bool>(x: u64) -> u64 {
    x & (consts::<S>().0 - 1)
}

/// Zero or normal: no NaN, infinity or denormal.
#[inline(always)]
fn zero_or_normal<const S: bool>(x: u64) -> bool {
    let (_, min, inf) = consts::<S>();
    let m = mag::<S>(x);
    (m == 0) | (m.wrapping_sub(min) < inf - min)
}

/// Zero, normal or infinite: no NaN or denormal.
#[inline(always)]
fn ordered<const S: bool>(x: u64) -> bool {
    let (_, min, inf) = consts::<S>();
    let m = mag::<S>(x);
    (m == 0) | (m.wrapping_sub(min) <= inf - min)
}

/// A finite result above the smallest normal: then the exact result was
/// too, so it was neither tiny (before or after rounding) nor an overflow
/// (round-to-nearest overflows to infinity).
#[inline(always)]
fn roomy<const S: bool>(r: u64) -> bool {
    let (_, min, inf) = consts::<S>();
    mag::<S>(r).wrapping_sub(min + 1) < inf - min - 1
}

/// The host operation on one element (IEEE, round-to-nearest). MIN/MAX
/// return the second operand unless the first is strictly less (greater).
#[inline(always)]
fn host<const OP: u8, const S: bool>(a: u64, b: u64) -> u64 {
    if S {
        let (x, y) = (f32::from_bits(a as u32), f32::from_bits(b as u32));
        let r = match OP {
            ADD => x + y,
            SUB => x - y,
            MUL => x * y,
            DIV => x / y,
            SQRT => y.sqrt(),
            MIN => return if x < y { a } else { b },
            _ => return if x > y { a } else { b },
        };
        r.to_bits() as u64
    } else {
        let (x, y) = (f64::from_bits(a), f64::from_bits(b));
        let r = match OP {
            ADD => x + y,
            SUB => x - y,
            MUL => x * y,
            DIV => x / y,
            SQRT => y.sqrt(),
            MIN => return if x < y { a } else { b },
            _ => return if x > y { a } else { b },
        };
        r.to_bits()
    }
}

/// Whether the host result `r` of `a OP b` is the exact path's when PE is
/// sticky (for MIN/MAX: always), the cheap test for the common case: a
/// result above the smallest normal and finite proves the operands were
/// finite and non-zero (and, for SQRT, positive), so excluding denormal
/// operands (a zero exponent field) leaves only normal ones. See the
/// module comment.
#[inline(always)]
fn plain<const OP: u8, const S: bool>(a: u64, b: u64, r: u64) -> bool {
    let exp = consts::<S>().2;
    match OP {
        ADD | SUB | MUL | DIV => roomy::<S>(r) & (a & exp != 0) & (b & exp != 0),
        SQRT => roomy::<S>(r) & (b & exp != 0),
        _ => ordered::<S>(a) & ordered::<S>(b),
    }
}

/// The second chance, for zero operands and results.
#[inline(always)]
fn plain_zero<const OP: u8, const S: bool>(a: u64, b: u64, r: u64) -> bool {
    let (sign, _, _) = consts::<S>();
    let (za, zb, zr) = (mag::<S>(a) == 0, mag::<S>(b) == 0, mag::<S>(r) == 0);
    match OP {
        // A zero sum of zeros and normals is an exact cancellation (all
        // are multiples of the smallest denormal), with the host's sign.
        ADD | SUB => zero_or_normal::<S>(a) & zero_or_normal::<S>(b) & (roomy::<S>(r) | zr),
        MUL => zero_or_normal::<S>(a) & zero_or_normal::<S>(b) & (roomy::<S>(r) | (zr & (za | zb))),
        DIV => zero_or_normal::<S>(a) & zero_or_normal::<S>(b) & !zb & (roomy::<S>(r) | za),
        // The root of a positive normal is normal; sqrt(-0) = -0.
        SQRT => zero_or_normal::<S>(b) & ((b & sign == 0) | zb),
        _ => ordered::<S>(a) & ordered::<S>(b),
    }
}

/// The fast result of the whole instruction, or None for the exact path;
/// `ZEROS` selects the wider (slower) test that also admits zeros.
#[inline(always)]
fn quick<const OP: u8, const S: bool, const PACKED: bool, const ZEROS: bool>(mxcsr: u32, a: u128, b: u128) -> Option<u128> {
    if !matches!(OP, MIN | MAX) && mxcsr & STICKY_MASK != STICKY {
        return None;
    }
    let (bits, lmask) = if S { (32, 0xffff_ffffu128) } else { (64, u64::MAX as u128) };
    let n = if PACKED { 128 / bits } else { 1 };
    let mut r = a;
    let mut ok = true;
    for k in 0..n {
        let sh = bits * k;
        let (x, y) = (((a >> sh) & lmask) as u64, ((b >> sh) & lmask) as u64);
        let z = host::<OP, S>(x, y);
        ok &= if ZEROS { plain_zero::<OP, S>(x, y, z) } else { plain::<OP, S>(x, y, z) };
        r = (r & !(lmask << sh)) | (z as u128) << sh;
    }
    ok.then_some(r)
}

fn arith<const OP: u8, const S: bool, const PACKED: bool, const MEM: bool>(cpu: &mut CpuState, bus: &mut Bus, op: &BOp) -> R {
    let i = &op.insn;
    let d = xi(i, 0);
    if PACKED {
        let b = src::<MEM, 16, true>(cpu, bus, op)?;
        if let Some(r) = quick::<OP, S, true, false>(cpu.mxcsr, get(cpu, d), b) {
            set(cpu, d, r);
            return Ok(());
        }
        return arith_slow::<OP, S, true>(cpu, d, b);
    }
    // Scalar: the element is unaligned memory or the low quadword of a
    // register. Only low quadwords are read and written, which also keeps
    // the host's store-to-load forwarding working between scalar ops.
    let b = if MEM {
        if S {
            load::<4, false>(cpu, bus, op)? as u64
        } else {
            load::<8, false>(cpu, bus, op)? as u64
        }
    } else {
        cpu.xmm[xi(i, 1)][0]
    };
    if let Some(r) = quick::<OP, S, false, false>(cpu.mxcsr, cpu.xmm[d][0] as u128, b as u128) {
        cpu.xmm[d][0] = r as u64;
        return Ok(());
    }
    arith_slow::<OP, S, false>(cpu, d, b as u128)
}

/// The second chance for zeros, then the exact path; out of line: it is
/// rare, and keeping it out keeps the fast path's code small.
#[cold]
#[inline(never)]
fn arith_slow<const OP: u8, const S: bool, const PACKED: bool>(cpu: &mut CpuState, d: usize, b: u128) -> R {
    if let Some(r) = quick::<OP, S, PACKED, true>(cpu.mxcsr, get(cpu, d), b) {
        set(cpu, d, r);
        return Ok(());
    }
    let fop = match OP {
        ADD => float::Op::Add,
        SUB => float::Op::Sub,
        MUL => float::Op::Mul,
        DIV => float::Op::Div,
        SQRT => float::Op::Sqrt,
        MIN => float::Op::Min,
        _ => float::Op::Max,
    };
    arith_on(cpu, d, b, if S { F32 } else { F64 }, PACKED, fop)
}

/// CMPPS/CMPPD/CMPSS/CMPSD: ordered operands (no NaN, no denormal) raise
/// nothing, and the host's comparison gives the predicate.
fn cmp<const S: bool, const PACKED: bool, const MEM: bool>(cpu: &mut CpuState, bus: &mut Bus, op: &BOp) -> R {
    let b = match (PACKED, S) {
        (true, _) => src::<MEM, 16, true>(cpu, bus, op)?,
        (false, true) => src::<MEM, 4, false>(cpu, bus, op)?,
        (false, false) => src::<MEM, 8, false>(cpu, bus, op)?,
    };
    let i = &op.insn;
    let d = xi(i, 0);
    // Scalar forms read and write only the low quadword (see `src`).
    let a = if PACKED { get(cpu, d) } else { cpu.xmm[d][0] as u128 };
    let pred = i.immediate8() & 7;
    let (bits, lmask) = if S { (32, 0xffff_ffffu128) } else { (64, u64::MAX as u128) };
    let n = if PACKED { 128 / bits } else { 1 };
    let mut r = a;
    for k in 0..n {
        let sh = bits * k;
        let (x, y) = (((a >> sh) & lmask) as u64, ((b >> sh) & lmask) as u64);
        if !(ordered::<S>(x) && ordered::<S>(y)) {
            return super::exec(cpu, bus, i);
        }
        let (x, y) =
            if S { (f32::from_bits(x as u32) as f64, f32::from_bits(y as u32) as f64) } else { (f64::from_bits(x), f64::from_bits(y)) };
        let t = match pred {
            0 => x == y,
            1 => x < y,
            2 => x <= y,
            3 => false,
            4 => x != y,
            5 => x >= y,
            6 => x > y,
            _ => true,
        };
        r = (r & !(lmask << sh)) | if t { lmask << sh } else { 0 };
    }
    if PACKED {
        set(cpu, d, r);
    } else {
        cpu.xmm[d][0] = r as u64;
    }
    Ok(())
}

/// COMISS/COMISD/UCOMISS/UCOMISD: ordered operands raise nothing.
fn comi<const S: bool, const MEM: bool>(cpu: &mut CpuState, bus: &mut Bus, op: &BOp) -> R {
    let b = if S { src::<MEM, 4, false>(cpu, bus, op)? } else { src::<MEM, 8, false>(cpu, bus, op)? };
    let i = &op.insn;
    let a = cpu.xmm[xi(i, 0)][0] as u128;
    let lmask = if S { 0xffff_ffffu128 } else { u64::MAX as u128 };
    let (x, y) = ((a & lmask) as u64, (b & lmask) as u64);
    if !(ordered::<S>(x) && ordered::<S>(y)) {
        return super::exec(cpu, bus, i);
    }
    let (x, y) =
        if S { (f32::from_bits(x as u32) as f64, f32::from_bits(y as u32) as f64) } else { (f64::from_bits(x), f64::from_bits(y)) };
    use crate::flags::{CF, ZF};
    // ZF, PF, CF from the compare (PF only when unordered); OF, SF, AF
    // cleared.
    cpu.flags.set_arith(if x < y {
        CF
    } else if x == y {
        ZF
    } else {
        0
    });
    Ok(())
}

// ---------------------------------------------------------------------
// Conversions.

/// Index into `cpu.gpr` of a 32- or 64-bit register (`select` checked the
/// size).
#[inline(always)]
fn gpr_index<const SIZE: u32>(r: Register) -> usize {
    (r as usize).wrapping_sub(if SIZE == 8 { Register::RAX } else { Register::EAX } as usize) & 15
}

/// CVTSI2SS/CVTSI2SD from a 32/64-bit register or memory. The host's
/// conversion rounds to nearest; when it is exact (checked by converting
/// back) it is the result in every rounding mode, with no flag; inexact
/// results need PE sticky or the exact path.
fn cvt_from_int<const S: bool, const SIZE: u32, const MEM: bool>(cpu: &mut CpuState, bus: &mut Bus, op: &BOp) -> R {
    let i = &op.insn;
    let raw = if MEM { crate::interp::read_mem(bus, addr(cpu, op), SIZE)? } else { cpu.gpr[gpr_index::<SIZE>(i.op1_register())] };
    let v = if SIZE == 4 { raw as u32 as i32 as i64 } else { raw as i64 };
    // Exact iff the value converts back; a result of 2^63 (rounded up
    // from near i64::MAX) is never exact, and would saturate converting
    // back.
    const TWO63: f64 = 9223372036854775808.0;
    let (bits, exact) = if S {
        let r = v as f32;
        (r.to_bits() as u64, (r as f64) < TWO63 && r as i64 == v)
    } else {
        let r = v as f64;
        (r.to_bits(), r < TWO63 && r as i64 == v)
    };
    let bits = if exact || cpu.mxcsr & STICKY_MASK == STICKY {
        bits
    } else {
        let (x, fl) = fp::from_int(if S { F32 } else { F64 }, Mode::new(cpu.mxcsr), v);
        commit(cpu, fl)?;
        x
    };
    let d = xi(i, 0);
    cpu.xmm[d][0] = if S { (cpu.xmm[d][0] & !0xffff_ffff) | bits } else { bits };
    Ok(())
}

/// CVT(T)SS2SI/CVT(T)SD2SI to a 32/64-bit register, truncating or (only
/// under round-to-nearest) rounding: a zero or normal operand whose
/// rounded value is in range converts on the host, and comparing that
/// value with the operand tells whether it was exact (PE). Denormals (DAZ
/// decides their PE), NaNs, out of range values and the directed rounding
/// modes take the exact path.
fn cvt_to_int<const S: bool, const SIZE: u32, const TRUNC: bool, const MEM: bool>(cpu: &mut CpuState, bus: &mut Bus, op: &BOp) -> R {
    const TWO52: f64 = 4503599627370496.0;
    let b = if S { src::<MEM, 4, false>(cpu, bus, op)? } else { src::<MEM, 8, false>(cpu, bus, op)? };
    let i = &op.insn;
    let bits = if S { b as u32 as u64 } else { b as u64 };
    let x = if S { f32::from_bits(bits as u32) as f64 } else { f64::from_bits(bits) };
    // The integer value as a float: truncated by the conversion below, or
    // rounded to nearest-even here. Below 2^52, adding and subtracting
    // 2^52 (with x's sign) rounds x in the host's round-to-nearest; above,
    // x is an integer already.
    let r = if TRUNC {
        x
    } else if x.abs() < TWO52 {
        let t = if x < 0.0 { -TWO52 } else { TWO52 };
        (x + t) - t
    } else {
        x
    };
    let in_range =
        if SIZE == 8 { (-9223372036854775808.0..9223372036854775808.0).contains(&r) } else { r > -2147483649.0 && r < 2147483648.0 };
    if !(in_range && zero_or_normal::<S>(bits) && (TRUNC || cpu.mxcsr & (3 << 13) == 0)) {
        return super::exec(cpu, bus, i);
    }
    let v = r as i64;
    // |v| < 2^63; below 2^53 it converts back exactly, and above it x was
    // an integer already.
    if v as f64 != x {
        commit(cpu, PE)?;
    }
    cpu.gpr[gpr_index::<SIZE>(i.op0_register())] = if SIZE == 8 { v as u64 } else { v as u32 as u64 };
    Ok(())
}

/// CVTSS2SD: a zero or normal single widens exactly, with no flag.
fn cvtss2sd<const MEM: bool>(cpu: &mut CpuState, bus: &mut Bus, op: &BOp) -> R {
    let b = src::<MEM, 4, false>(cpu, bus, op)? as u64 & 0xffff_ffff;
    if !zero_or_normal::<true>(b) {
        return super::exec(cpu, bus, &op.insn);
    }
    cpu.xmm[xi(&op.insn, 0)][0] = (f32::from_bits(b as u32) as f64).to_bits();
    Ok(())
}

/// CVTSD2SS: a zero or normal double whose rounded single is zero (from a
/// zero) or normal above the smallest one; inexact needs PE sticky, or
/// rounding to nearest to raise it.
fn cvtsd2ss<const MEM: bool>(cpu: &mut CpuState, bus: &mut Bus, op: &BOp) -> R {
    let b = src::<MEM, 8, false>(cpu, bus, op)? as u64;
    let x = f64::from_bits(b);
    let r = x as f32;
    let rb = r.to_bits() as u64;
    let nearest = cpu.mxcsr & (3 << 13) == 0;
    if !(zero_or_normal::<false>(b) && (roomy::<true>(rb) || (mag::<false>(b) == 0)) && nearest) {
        return super::exec(cpu, bus, &op.insn);
    }
    if r as f64 != x {
        commit(cpu, PE)?;
    }
    let d = xi(&op.insn, 0);
    cpu.xmm[d][0] = (cpu.xmm[d][0] & !0xffff_ffff) | rb;
    Ok(())
}

// ---------------------------------------------------------------------
// Selection.

macro_rules! rm_pick {
    ($mem:expr, $f:ident $(, $c:expr)*) => {
        if $mem {
            $f::<$($c,)* true> as Handler
        } else {
            $f::<$($c,)* false>
        }
    };
}

/// The specialised handler for `i`, if it has one. Every instruction with
/// an XMM operand gets at least `direct`.
pub(super) fn select(i: &Instruction) -> Option<Handler> {
    let count = i.op_count();
    let has_xmm = (0..count).any(|n| i.op_kind(n) == OpKind::Register && i.op_register(n).is_xmm());
    if !has_xmm || (0..count).any(|n| i.op_kind(n) == OpKind::Register && i.op_register(n).is_mm()) {
        return None;
    }
    let mem = (0..count).any(|n| i.op_kind(n) == OpKind::Memory);
    let gpr_size = |n: u32| {
        let r = i.op_register(n);
        if r.is_gpr64() {
            8
        } else if r.is_gpr32() {
            4
        } else {
            0
        }
    };
    use Code as C;
    let h: Handler = match i.code() {
        C::Movaps_xmm_xmmm128 | C::Movapd_xmm_xmmm128 | C::Movdqa_xmm_xmmm128 => rm_pick!(mem, mov_load, true),
        C::Movups_xmm_xmmm128 | C::Movupd_xmm_xmmm128 | C::Movdqu_xmm_xmmm128 => rm_pick!(mem, mov_load, false),
        // The store encodings with a register destination are moves too.
        C::Movaps_xmmm128_xmm
        | C::Movapd_xmmm128_xmm
        | C::Movdqa_xmmm128_xmm
        | C::Movups_xmmm128_xmm
        | C::Movupd_xmmm128_xmm
        | C::Movdqu_xmmm128_xmm
            if !mem =>
        {
            mov_load::<false, false>
        }
        C::Movaps_xmmm128_xmm
        | C::Movapd_xmmm128_xmm
        | C::Movdqa_xmmm128_xmm
        | C::Movntps_m128_xmm
        | C::Movntpd_m128_xmm
        | C::Movntdq_m128_xmm => mov_store::<true>,
        C::Movups_xmmm128_xmm | C::Movupd_xmmm128_xmm | C::Movdqu_xmmm128_xmm => mov_store::<false>,
        C::Movsd_xmm_xmmm64 | C::Movsd_xmmm64_xmm if !mem => movs_rr::<8>,
        C::Movss_xmm_xmmm32 | C::Movss_xmmm32_xmm if !mem => movs_rr::<4>,
        C::Movq_xmm_xmmm64 if !mem => movq_rr,
        C::Movsd_xmm_xmmm64 | C::Movq_xmm_xmmm64 => load_low::<8>,
        C::Movss_xmm_xmmm32 => load_low::<4>,
        C::Movsd_xmmm64_xmm | C::Movq_xmmm64_xmm if mem => store_low::<8>,
        C::Movss_xmmm32_xmm => store_low::<4>,
        C::Movq_xmmm64_xmm => movq_rr,
        C::Movq_xmm_rm64 | C::Movd_xmm_rm32 if !mem => mov_from_gpr,
        C::Movq_xmm_rm64 => load_low::<8>,
        C::Movd_xmm_rm32 => load_low::<4>,
        C::Movq_rm64_xmm | C::Movd_rm32_xmm if !mem => mov_to_gpr,
        C::Movq_rm64_xmm => store_low::<8>,
        C::Movd_rm32_xmm => store_low::<4>,
        C::Pmovmskb_r32_xmm | C::Pmovmskb_r64_xmm => movmsk::<8>,
        C::Movmskps_r32_xmm | C::Movmskps_r64_xmm => movmsk::<32>,
        C::Movmskpd_r32_xmm | C::Movmskpd_r64_xmm => movmsk::<64>,

        C::Paddb_xmm_xmmm128 => rm_pick!(mem, int2, PADDB),
        C::Paddw_xmm_xmmm128 => rm_pick!(mem, int2, PADDW),
        C::Paddd_xmm_xmmm128 => rm_pick!(mem, int2, PADDD),
        C::Paddq_xmm_xmmm128 => rm_pick!(mem, int2, PADDQ),
        C::Psubb_xmm_xmmm128 => rm_pick!(mem, int2, PSUBB),
        C::Psubw_xmm_xmmm128 => rm_pick!(mem, int2, PSUBW),
        C::Psubd_xmm_xmmm128 => rm_pick!(mem, int2, PSUBD),
        C::Psubq_xmm_xmmm128 => rm_pick!(mem, int2, PSUBQ),
        C::Pcmpeqb_xmm_xmmm128 => rm_pick!(mem, int2, PCMPEQB),
        C::Pcmpeqw_xmm_xmmm128 => rm_pick!(mem, int2, PCMPEQW),
        C::Pcmpeqd_xmm_xmmm128 => rm_pick!(mem, int2, PCMPEQD),
        C::Pcmpgtb_xmm_xmmm128 => rm_pick!(mem, int2, PCMPGTB),
        C::Pcmpgtw_xmm_xmmm128 => rm_pick!(mem, int2, PCMPGTW),
        C::Pcmpgtd_xmm_xmmm128 => rm_pick!(mem, int2, PCMPGTD),
        C::Pand_xmm_xmmm128 | C::Andps_xmm_xmmm128 | C::Andpd_xmm_xmmm128 => rm_pick!(mem, int2, PAND),
        C::Pandn_xmm_xmmm128 | C::Andnps_xmm_xmmm128 | C::Andnpd_xmm_xmmm128 => rm_pick!(mem, int2, PANDN),
        C::Por_xmm_xmmm128 | C::Orps_xmm_xmmm128 | C::Orpd_xmm_xmmm128 => rm_pick!(mem, int2, POR),
        C::Pxor_xmm_xmmm128 | C::Xorps_xmm_xmmm128 | C::Xorpd_xmm_xmmm128 => rm_pick!(mem, int2, PXOR),
        C::Punpcklbw_xmm_xmmm128 => rm_pick!(mem, int2, PUNPCKLBW),
        C::Punpcklwd_xmm_xmmm128 => rm_pick!(mem, int2, PUNPCKLWD),
        C::Punpckldq_xmm_xmmm128 | C::Unpcklps_xmm_xmmm128 => rm_pick!(mem, int2, PUNPCKLDQ),
        C::Punpcklqdq_xmm_xmmm128 | C::Unpcklpd_xmm_xmmm128 => rm_pick!(mem, int2, PUNPCKLQDQ),
        C::Punpckhbw_xmm_xmmm128 => rm_pick!(mem, int2, PUNPCKHBW),
        C::Punpckhwd_xmm_xmmm128 => rm_pick!(mem, int2, PUNPCKHWD),
        C::Punpckhdq_xmm_xmmm128 | C::Unpckhps_xmm_xmmm128 => rm_pick!(mem, int2, PUNPCKHDQ),
        C::Punpckhqdq_xmm_xmmm128 | C::Unpckhpd_xmm_xmmm128 => rm_pick!(mem, int2, PUNPCKHQDQ),
        C::Pshufd_xmm_xmmm128_imm8 => rm_pick!(mem, int2, PSHUFD),
        C::Shufps_xmm_xmmm128_imm8 => rm_pick!(mem, int2, SHUFPS),
        C::Shufpd_xmm_xmmm128_imm8 => rm_pick!(mem, int2, SHUFPD),
        C::Pminub_xmm_xmmm128 => rm_pick!(mem, int2, PMINUB),
        C::Pmaxub_xmm_xmmm128 => rm_pick!(mem, int2, PMAXUB),
        C::Pminsw_xmm_xmmm128 => rm_pick!(mem, int2, PMINSW),
        C::Pmaxsw_xmm_xmmm128 => rm_pick!(mem, int2, PMAXSW),
        C::Pmullw_xmm_xmmm128 => rm_pick!(mem, int2, PMULLW),
        C::Pmuludq_xmm_xmmm128 => rm_pick!(mem, int2, PMULUDQ),
        C::Psllw_xmm_imm8 => shift_imm::<PSLLW>,
        C::Pslld_xmm_imm8 => shift_imm::<PSLLD>,
        C::Psllq_xmm_imm8 => shift_imm::<PSLLQ>,
        C::Psrlw_xmm_imm8 => shift_imm::<PSRLW>,
        C::Psrld_xmm_imm8 => shift_imm::<PSRLD>,
        C::Psrlq_xmm_imm8 => shift_imm::<PSRLQ>,
        C::Psraw_xmm_imm8 => shift_imm::<PSRAW>,
        C::Psrad_xmm_imm8 => shift_imm::<PSRAD>,
        C::Pslldq_xmm_imm8 => shift_imm::<PSLLDQ>,
        C::Psrldq_xmm_imm8 => shift_imm::<PSRLDQ>,

        C::Cmpps_xmm_xmmm128_imm8 => rm_pick!(mem, cmp, true, true),
        C::Cmppd_xmm_xmmm128_imm8 => rm_pick!(mem, cmp, false, true),
        C::Cmpss_xmm_xmmm32_imm8 => rm_pick!(mem, cmp, true, false),
        C::Cmpsd_xmm_xmmm64_imm8 => rm_pick!(mem, cmp, false, false),
        C::Comiss_xmm_xmmm32 | C::Ucomiss_xmm_xmmm32 => rm_pick!(mem, comi, true),
        C::Comisd_xmm_xmmm64 | C::Ucomisd_xmm_xmmm64 => rm_pick!(mem, comi, false),
        C::Cvtsi2sd_xmm_rm32 if mem || gpr_size(1) == 4 => rm_pick!(mem, cvt_from_int, false, 4),
        C::Cvtsi2sd_xmm_rm64 if mem || gpr_size(1) == 8 => rm_pick!(mem, cvt_from_int, false, 8),
        C::Cvtsi2ss_xmm_rm32 if mem || gpr_size(1) == 4 => rm_pick!(mem, cvt_from_int, true, 4),
        C::Cvtsi2ss_xmm_rm64 if mem || gpr_size(1) == 8 => rm_pick!(mem, cvt_from_int, true, 8),
        C::Cvttsd2si_r32_xmmm64 if gpr_size(0) == 4 => rm_pick!(mem, cvt_to_int, false, 4, true),
        C::Cvttsd2si_r64_xmmm64 if gpr_size(0) == 8 => rm_pick!(mem, cvt_to_int, false, 8, true),
        C::Cvttss2si_r32_xmmm32 if gpr_size(0) == 4 => rm_pick!(mem, cvt_to_int, true, 4, true),
        C::Cvttss2si_r64_xmmm32 if gpr_size(0) == 8 => rm_pick!(mem, cvt_to_int, true, 8, true),
        C::Cvtsd2si_r32_xmmm64 if gpr_size(0) == 4 => rm_pick!(mem, cvt_to_int, false, 4, false),
        C::Cvtsd2si_r64_xmmm64 if gpr_size(0) == 8 => rm_pick!(mem, cvt_to_int, false, 8, false),
        C::Cvtss2si_r32_xmmm32 if gpr_size(0) == 4 => rm_pick!(mem, cvt_to_int, true, 4, false),
        C::Cvtss2si_r64_xmmm32 if gpr_size(0) == 8 => rm_pick!(mem, cvt_to_int, true, 8, false),
        C::Cvtss2sd_xmm_xmmm32 => rm_pick!(mem, cvtss2sd),
        C::Cvtsd2ss_xmm_xmmm64 => rm_pick!(mem, cvtsd2ss),
        c => match arith_of(c) {
            Some(h) => {
                if mem {
                    h.1
                } else {
                    h.0
                }
            }
            None => direct,
        },
    };
    Some(h)
}

/// The register and memory handlers of the float arithmetic forms.
fn arith_of(c: Code) -> Option<(Handler, Handler)> {
    macro_rules! both {
        ($op:expr, $s:expr, $p:expr) => {
            Some((arith::<{ $op }, $s, $p, false> as Handler, arith::<{ $op }, $s, $p, true> as Handler))
        };
    }
    use Code as C;
    match c {
        C::Addps_xmm_xmmm128 => both!(ADD, true, true),
        C::Addpd_xmm_xmmm128 => both!(ADD, false, true),
        C::Addss_xmm_xmmm32 => both!(ADD, true, false),
        C::Addsd_xmm_xmmm64 => both!(ADD, false, false),
        C::Subps_xmm_xmmm128 => both!(SUB, true, true),
        C::Subpd_xmm_xmmm128 => both!(SUB, false, true),
        C::Subss_xmm_xmmm32 => both!(SUB, true, false),
        C::Subsd_xmm_xmmm64 => both!(SUB, false, false),
        C::Mulps_xmm_xmmm128 => both!(MUL, true, true),
        C::Mulpd_xmm_xmmm128 => both!(MUL, false, true),
        C::Mulss_xmm_xmmm32 => both!(MUL, true, false),
        C::Mulsd_xmm_xmmm64 => both!(MUL, false, false),
        C::Divps_xmm_xmmm128 => both!(DIV, true, true),
        C::Divpd_xmm_xmmm128 => both!(DIV, false, true),
        C::Divss_xmm_xmmm32 => both!(DIV, true, false),
        C::Divsd_xmm_xmmm64 => both!(DIV, false, false),
        C::Sqrtps_xmm_xmmm128 => both!(SQRT, true, true),
        C::Sqrtpd_xmm_xmmm128 => both!(SQRT, false, true),
        C::Sqrtss_xmm_xmmm32 => both!(SQRT, true, false),
        C::Sqrtsd_xmm_xmmm64 => both!(SQRT, false, false),
        C::Minps_xmm_xmmm128 => both!(MIN, true, true),
        C::Minpd_xmm_xmmm128 => both!(MIN, false, true),
        C::Minss_xmm_xmmm32 => both!(MIN, true, false),
        C::Minsd_xmm_xmmm64 => both!(MIN, false, false),
        C::Maxps_xmm_xmmm128 => both!(MAX, true, true),
        C::Maxpd_xmm_xmmm128 => both!(MAX, false, true),
        C::Maxss_xmm_xmmm32 => both!(MAX, true, false),
        C::Maxsd_xmm_xmmm64 => both!(MAX, false, false),
        _ => None,
    }
}
