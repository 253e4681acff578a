//! SSE/SSE2 floating-point instructions: arithmetic, min/max, compares,
//! approximations, logic, and conversions.
//!
//! Every element is computed first and the exception flags of all elements
//! merged; only then is MXCSR updated and the destination written, so an
//! unmasked exception leaves the destination unchanged (SDM vol. 1,
//! 11.5.2: pre-computation exceptions IE/DE/ZE take over when unmasked, and
//! then OE/UE/PE are not even reported).

use iced_x86::{Instruction, Mnemonic};

use super::fp::{self, Fmt, Mode, F32, F64, PRE};
use super::{get, rm, set, simd_fault, xi};
use crate::interp::{gpr_info, read_op, set_reg, R};
use crate::mem::Bus;
use crate::state::CpuState;

#[derive(Clone, Copy)]
pub(super) enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Sqrt,
    Min,
    Max,
}

pub(super) fn exec(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> Option<R> {
    use Mnemonic as M;
    Some(match i.mnemonic() {
        M::Addss => arith(cpu, bus, i, F32, false, Op::Add),
        M::Addps => arith(cpu, bus, i, F32, true, Op::Add),
        M::Addsd => arith(cpu, bus, i, F64, false, Op::Add),
        M::Addpd => arith(cpu, bus, i, F64, true, Op::Add),
        M::Subss => arith(cpu, bus, i, F32, false, Op::Sub),
        M::Subps => arith(cpu, bus, i, F32, true, Op::Sub),
        M::Subsd => arith(cpu, bus, i, F64, false, Op::Sub),
        M::Subpd => arith(cpu, bus, i, F64, true, Op::Sub),
        M::Mulss => arith(cpu, bus, i, F32, false, Op::Mul),
        M::Mulps => arith(cpu, bus, i, F32, true, Op::Mul),
        M::Mulsd => arith(cpu, bus, i, F64, false, Op::Mul),
        M::Mulpd => arith(cpu, bus, i, F64, true, Op::Mul),
        M::Divss => arith(cpu, bus, i, F32, false, Op::Div),
        M::Divps => arith(cpu, bus, i, F32, true, Op::Div),
        M::Divsd => arith(cpu, bus, i, F64, false, Op::Div),
        M::Divpd => arith(cpu, bus, i, F64, true, Op::Div),
        M::Sqrtss => arith(cpu, bus, i, F32, false, Op::Sqrt),
        M::Sqrtps => arith(cpu, bus, i, F32, true, Op::Sqrt),
        M::Sqrtsd => arith(cpu, bus, i, F64, false, Op::Sqrt),
        M::Sqrtpd => arith(cpu, bus, i, F64, true, Op::Sqrt),
        M::Minss => arith(cpu, bus, i, F32, false, Op::Min),
        M::Minps => arith(cpu, bus, i, F32, true, Op::Min),
        M::Minsd => arith(cpu, bus, i, F64, false, Op::Min),
        M::Minpd => arith(cpu, bus, i, F64, true, Op::Min),
        M::Maxss => arith(cpu, bus, i, F32, false, Op::Max),
        M::Maxps => arith(cpu, bus, i, F32, true, Op::Max),
        M::Maxsd => arith(cpu, bus, i, F64, false, Op::Max),
        M::Maxpd => arith(cpu, bus, i, F64, true, Op::Max),
        M::Cmpss | M::Cmpps | M::Cmpsd | M::Cmppd => {
            let f = if matches!(i.mnemonic(), M::Cmpss | M::Cmpps) { F32 } else { F64 };
            let packed = matches!(i.mnemonic(), M::Cmpps | M::Cmppd);
            let pred = i.immediate8() & 7;
            let ones = if f == F32 { 0xffff_ffff } else { u64::MAX };
            lanes(cpu, bus, i, f, packed, |mode, a, b| {
                let (t, fl) = fp::cmp(f, mode, a, b, pred);
                (if t { ones } else { 0 }, fl)
            })
        }
        M::Comiss | M::Ucomiss | M::Comisd | M::Ucomisd => comi(cpu, bus, i),
        M::Rcpss | M::Rcpps | M::Rsqrtss | M::Rsqrtps => {
            let packed = matches!(i.mnemonic(), M::Rcpps | M::Rsqrtps);
            let op = if matches!(i.mnemonic(), M::Rcpss | M::Rcpps) { fp::rcp } else { fp::rsqrt };
            // No flags: these ignore MXCSR entirely.
            lanes(cpu, bus, i, F32, packed, |_, _, b| (op(b as u32) as u64, 0))
        }
        M::Andps | M::Andpd | M::Andnps | M::Andnpd | M::Orps | M::Orpd | M::Xorps | M::Xorpd => logic(cpu, bus, i),
        M::Cvtsi2ss | M::Cvtsi2sd => cvt_from_gpr(cpu, bus, i),
        M::Cvtss2si | M::Cvttss2si | M::Cvtsd2si | M::Cvttsd2si => cvt_to_gpr(cpu, bus, i),
        M::Cvtss2sd => cvt_scalar(cpu, bus, i, F32, F64),
        M::Cvtsd2ss => cvt_scalar(cpu, bus, i, F64, F32),
        M::Cvtps2pd
        | M::Cvtpd2ps
        | M::Cvtdq2ps
        | M::Cvtps2dq
        | M::Cvttps2dq
        | M::Cvtdq2pd
        | M::Cvtpd2dq
        | M::Cvttpd2dq
        | M::Cvtpi2ps
        | M::Cvtpi2pd => cvt_packed(cpu, bus, i),
        _ => return None,
    })
}

/// Element `k` of `width` bytes.
#[inline(always)]
fn lane(v: u128, width: u32, k: u32) -> u64 {
    let bits = width * 8;
    ((v >> (bits * k)) & ((1u128 << bits) - 1)) as u64
}

#[inline(always)]
fn with_lane(v: u128, width: u32, k: u32, x: u64) -> u128 {
    let bits = width * 8;
    let m = ((1u128 << bits) - 1) << (bits * k);
    (v & !m) | (((x as u128) << (bits * k)) & m)
}

fn width(f: Fmt) -> u32 {
    if f == F32 {
        4
    } else {
        8
    }
}

/// Merge exception flags into MXCSR; an unmasked one faults (#XM).
#[inline(always)]
pub(super) fn commit(cpu: &mut CpuState, fl: u32) -> R {
    if fl == 0 {
        return Ok(());
    }
    let unmasked = !(cpu.mxcsr >> 7) & 0x3f;
    let pre = fl & PRE;
    if pre & unmasked != 0 {
        cpu.mxcsr |= pre;
        return Err(simd_fault());
    }
    cpu.mxcsr |= fl;
    if fl & unmasked != 0 {
        return Err(simd_fault());
    }
    Ok(())
}

/// Round to nearest: the host-float fast paths apply. They only accept
/// zero or normal operands and zero or normal (not tiny, not overflowing)
/// results, and report at most PE, so DAZ, FTZ and the masks cannot change
/// their outcome (`commit` still faults on an unmasked PE). This includes
/// the default MXCSR and the FTZ|DAZ setting of `-ffast-math` programs.
#[inline(always)]
fn nearest(mxcsr: u32) -> bool {
    mxcsr & (3 << 13) == 0
}

#[inline(always)]
fn arith(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction, f: Fmt, packed: bool, op: Op) -> R {
    let b = rm(cpu, bus, i, 1, if packed { 16 } else { width(f) }, true)?;
    arith_on(cpu, xi(i, 0), b, f, packed, op)
}

/// The arithmetic on XMM register `d` and the source value `b` (already
/// read): the host-float fast paths when they can prove their flags, else
/// the exact soft-float.
#[inline(always)]
pub(super) fn arith_on(cpu: &mut CpuState, d: usize, b: u128, f: Fmt, packed: bool, op: Op) -> R {
    let fast = nearest(cpu.mxcsr);
    lanes_on(cpu, d, b, f, packed, |mode, a, b| {
        if fast {
            let r = if f == F64 {
                let (x, y) = (f64::from_bits(a), f64::from_bits(b));
                match op {
                    Op::Add => fp::fast_add64(x, y),
                    Op::Sub => fp::fast_add64(x, -y),
                    Op::Mul => fp::fast_mul64(x, y),
                    Op::Div => fp::fast_div64(x, y),
                    Op::Sqrt => fp::fast_sqrt64(y),
                    _ => None,
                }
            } else {
                let (x, y) = (f32::from_bits(a as u32), f32::from_bits(b as u32));
                match op {
                    Op::Add => fp::fast_add32(x, y),
                    Op::Sub => fp::fast_add32(x, -y),
                    Op::Mul => fp::fast_mul32(x, y),
                    Op::Div => fp::fast_div32(x, y),
                    Op::Sqrt => fp::fast_sqrt32(y),
                    _ => None,
                }
            };
            if let Some(r) = r {
                return r;
            }
        }
        match op {
            Op::Add => fp::add(f, mode, a, b, false),
            Op::Sub => fp::add(f, mode, a, b, true),
            Op::Mul => fp::mul(f, mode, a, b),
            Op::Div => fp::div(f, mode, a, b),
            Op::Sqrt => fp::sqrt(f, mode, b),
            Op::Min => fp::minmax(f, mode, a, b, false),
            Op::Max => fp::minmax(f, mode, a, b, true),
        }
    })
}

/// Applies `op(mode, dest_elem, src_elem)` to every element (packed) or to
/// the low one (scalar, the rest of the destination kept), with operand 1
/// an XMM register or memory of the element size (scalar) or an aligned
/// m128 (packed).
#[inline(always)]
fn lanes(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction, f: Fmt, packed: bool, op: impl Fn(Mode, u64, u64) -> (u64, u32)) -> R {
    let b = rm(cpu, bus, i, 1, if packed { 16 } else { width(f) }, true)?;
    lanes_on(cpu, xi(i, 0), b, f, packed, op)
}

#[inline(always)]
fn lanes_on(cpu: &mut CpuState, d: usize, b: u128, f: Fmt, packed: bool, op: impl Fn(Mode, u64, u64) -> (u64, u32)) -> R {
    let w = width(f);
    let a = get(cpu, d);
    let mode = Mode::new(cpu.mxcsr);
    let n = if packed { 16 / w } else { 1 };
    let mut r = a;
    let mut fl = 0;
    for k in 0..n {
        let (x, e) = op(mode, lane(a, w, k), lane(b, w, k));
        r = with_lane(r, w, k, x);
        fl |= e;
    }
    commit(cpu, fl)?;
    set(cpu, d, r);
    Ok(())
}

/// AND/ANDN/OR/XOR of packed singles or doubles: plain bit operations.
fn logic(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    use Mnemonic as M;
    let b = rm(cpu, bus, i, 1, 16, true)?;
    let d = xi(i, 0);
    let a = get(cpu, d);
    let r = match i.mnemonic() {
        M::Andps | M::Andpd => a & b,
        M::Andnps | M::Andnpd => !a & b,
        M::Orps | M::Orpd => a | b,
        _ => a ^ b,
    };
    set(cpu, d, r);
    Ok(())
}

fn comi(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    use Mnemonic as M;
    let f = if matches!(i.mnemonic(), M::Comiss | M::Ucomiss) { F32 } else { F64 };
    let w = width(f);
    let b = rm(cpu, bus, i, 1, w, true)?;
    let a = get(cpu, xi(i, 0));
    let signal = matches!(i.mnemonic(), M::Comiss | M::Comisd);
    let (bits, fl) = fp::comi(f, Mode::new(cpu.mxcsr), lane(a, w, 0), lane(b, w, 0), signal);
    commit(cpu, fl)?;
    // ZF, PF, CF from the compare; OF, SF, AF cleared.
    cpu.flags.set_arith(bits);
    Ok(())
}

fn cvt_from_gpr(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let size = crate::interp::op_size(i, 1);
    let v = read_op(cpu, bus, i, 1)?;
    let v = if size == 4 { v as i32 as i64 } else { v as i64 };
    let f = if i.mnemonic() == Mnemonic::Cvtsi2ss { F32 } else { F64 };
    let (x, fl) = fp::from_int(f, Mode::new(cpu.mxcsr), v);
    commit(cpu, fl)?;
    let d = xi(i, 0);
    let r = with_lane(get(cpu, d), width(f), 0, x);
    set(cpu, d, r);
    Ok(())
}

fn cvt_to_gpr(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    use Mnemonic as M;
    let m = i.mnemonic();
    let f = if matches!(m, M::Cvtss2si | M::Cvttss2si) { F32 } else { F64 };
    let w = width(f);
    let b = rm(cpu, bus, i, 1, w, true)?;
    let dst = i.op0_register();
    let bits = gpr_info(dst).1 * 8;
    let trunc = matches!(m, M::Cvttss2si | M::Cvttsd2si);
    let (x, fl) = fp::to_int(f, Mode::new(cpu.mxcsr), lane(b, w, 0), bits, trunc);
    commit(cpu, fl)?;
    set_reg(cpu, dst, x);
    Ok(())
}

/// CVTSS2SD/CVTSD2SS: the low element changes width; the rest of the
/// destination is kept.
fn cvt_scalar(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction, from: Fmt, to: Fmt) -> R {
    let b = rm(cpu, bus, i, 1, width(from), true)?;
    let (x, fl) = fp::convert(from, to, Mode::new(cpu.mxcsr), lane(b, width(from), 0));
    commit(cpu, fl)?;
    let d = xi(i, 0);
    let r = with_lane(get(cpu, d), width(to), 0, x);
    set(cpu, d, r);
    Ok(())
}

fn cvt_packed(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    use Mnemonic as M;
    let m = i.mnemonic();
    // Sources of two 32-bit elements are 64-bit memory operands.
    let src_bytes = match m {
        M::Cvtps2pd | M::Cvtdq2pd | M::Cvtpi2ps | M::Cvtpi2pd => 8,
        _ => 16,
    };
    let b = rm(cpu, bus, i, 1, src_bytes, true)?;
    let d = xi(i, 0);
    let old = get(cpu, d);
    let mode = Mode::new(cpu.mxcsr);
    let mut fl = 0;
    let mut out = |x: (u64, u32)| {
        fl |= x.1;
        x.0
    };
    let i32_at = |k: u32| lane(b, 4, k) as u32 as i32 as i64;
    let r: u128 = match m {
        M::Cvtps2pd => {
            let lo = out(fp::convert(F32, F64, mode, lane(b, 4, 0)));
            let hi = out(fp::convert(F32, F64, mode, lane(b, 4, 1)));
            lo as u128 | (hi as u128) << 64
        }
        M::Cvtpd2ps => {
            let lo = out(fp::convert(F64, F32, mode, lane(b, 8, 0)));
            let hi = out(fp::convert(F64, F32, mode, lane(b, 8, 1)));
            lo as u128 | (hi as u128) << 32
        }
        M::Cvtdq2ps => (0..4).fold(0u128, |acc, k| acc | (out(fp::from_int(F32, mode, i32_at(k))) as u128) << (32 * k)),
        M::Cvtps2dq | M::Cvttps2dq => {
            let t = m == M::Cvttps2dq;
            (0..4).fold(0u128, |acc, k| acc | (out(fp::to_int(F32, mode, lane(b, 4, k), 32, t)) as u128) << (32 * k))
        }
        M::Cvtdq2pd | M::Cvtpi2pd => {
            let lo = out(fp::from_int(F64, mode, i32_at(0)));
            let hi = out(fp::from_int(F64, mode, i32_at(1)));
            lo as u128 | (hi as u128) << 64
        }
        M::Cvtpd2dq | M::Cvttpd2dq => {
            let t = m == M::Cvttpd2dq;
            let lo = out(fp::to_int(F64, mode, lane(b, 8, 0), 32, t));
            let hi = out(fp::to_int(F64, mode, lane(b, 8, 1), 32, t));
            lo as u128 | (hi as u128) << 32
        }
        // CVTPI2PS keeps the destination's upper half.
        _ => {
            let lo = out(fp::from_int(F32, mode, i32_at(0)));
            let hi = out(fp::from_int(F32, mode, i32_at(1)));
            (old & !(u64::MAX as u128)) | lo as u128 | (hi as u128) << 32
        }
    };
    commit(cpu, fl)?;
    set(cpu, d, r);
    Ok(())
}
