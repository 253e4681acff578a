//! SSE2 packed-integer instructions and the element shuffles (including the
//! float-typed ones, which move bits without looking at them).

use iced_x86::{Code, Instruction, Mnemonic, OpKind};

use super::{get, rm, set, xi};
use crate::interp::{ea, get_reg, set_reg, R};
use crate::mem::Bus;
use crate::state::CpuState;

pub(super) fn exec(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> Option<R> {
    use Mnemonic as M;
    let m = i.mnemonic();
    let r = match m {
        M::Psllw | M::Pslld | M::Psllq | M::Psrlw | M::Psrld | M::Psrlq | M::Psraw | M::Psrad => shift(cpu, bus, i),
        M::Pslldq | M::Psrldq => {
            let d = xi(i, 0);
            let n = i.immediate8() as u32;
            let v = get(cpu, d);
            let r = match (n > 15, m == M::Pslldq) {
                (true, _) => 0,
                (false, true) => v << (8 * n),
                (false, false) => v >> (8 * n),
            };
            set(cpu, d, r);
            Ok(())
        }
        M::Pinsrw => pinsrw(cpu, bus, i),
        M::Pextrw => {
            // 66 0F 3A 15 (the r/m16 destination form) is SSE4.1.
            if !matches!(i.code(), Code::Pextrw_r32_xmm_imm8 | Code::Pextrw_r64_xmm_imm8) {
                return Some(crate::interp::ud());
            }
            let k = (i.immediate8() & 7) as u32;
            let v = elem(get(cpu, xi(i, 1)), 16, k);
            set_reg(cpu, i.op0_register(), v);
            Ok(())
        }
        _ => {
            let op: fn(u128, u128, u8) -> u128 = match m {
                M::Paddb => |a, b, _| map2(a, b, 8, u64::wrapping_add),
                M::Paddw => |a, b, _| map2(a, b, 16, u64::wrapping_add),
                M::Paddd => |a, b, _| map2(a, b, 32, u64::wrapping_add),
                M::Paddq => |a, b, _| map2(a, b, 64, u64::wrapping_add),
                M::Psubb => |a, b, _| map2(a, b, 8, u64::wrapping_sub),
                M::Psubw => |a, b, _| map2(a, b, 16, u64::wrapping_sub),
                M::Psubd => |a, b, _| map2(a, b, 32, u64::wrapping_sub),
                M::Psubq => |a, b, _| map2(a, b, 64, u64::wrapping_sub),
                M::Paddsb => |a, b, _| map2(a, b, 8, |x, y| sat_s(sx(x, 8) + sx(y, 8), 8)),
                M::Paddsw => |a, b, _| map2(a, b, 16, |x, y| sat_s(sx(x, 16) + sx(y, 16), 16)),
                M::Psubsb => |a, b, _| map2(a, b, 8, |x, y| sat_s(sx(x, 8) - sx(y, 8), 8)),
                M::Psubsw => |a, b, _| map2(a, b, 16, |x, y| sat_s(sx(x, 16) - sx(y, 16), 16)),
                M::Paddusb => |a, b, _| map2(a, b, 8, |x, y| sat_u(x as i64 + y as i64, 8)),
                M::Paddusw => |a, b, _| map2(a, b, 16, |x, y| sat_u(x as i64 + y as i64, 16)),
                M::Psubusb => |a, b, _| map2(a, b, 8, |x, y| sat_u(x as i64 - y as i64, 8)),
                M::Psubusw => |a, b, _| map2(a, b, 16, |x, y| sat_u(x as i64 - y as i64, 16)),
                M::Pmullw => |a, b, _| map2(a, b, 16, |x, y| (sx(x, 16) * sx(y, 16)) as u64),
                M::Pmulhw => |a, b, _| map2(a, b, 16, |x, y| ((sx(x, 16) * sx(y, 16)) >> 16) as u64),
                M::Pmulhuw => |a, b, _| map2(a, b, 16, |x, y| (x * y) >> 16),
                M::Pmuludq => |a, b, _| map2(a, b, 64, |x, y| (x & 0xffff_ffff) * (y & 0xffff_ffff)),
                M::Pmaddwd => |a, b, _| {
                    map2(a, b, 32, |x, y| {
                        let lo = sx(x & 0xffff, 16) * sx(y & 0xffff, 16);
                        let hi = sx(x >> 16, 16) * sx(y >> 16, 16);
                        // Only (-32768)^2 * 2 overflows, to 0x8000_0000.
                        (lo + hi) as u64
                    })
                },
                M::Pcmpeqb => |a, b, _| map2(a, b, 8, |x, y| mask(x == y)),
                M::Pcmpeqw => |a, b, _| map2(a, b, 16, |x, y| mask(x == y)),
                M::Pcmpeqd => |a, b, _| map2(a, b, 32, |x, y| mask(x == y)),
                M::Pcmpgtb => |a, b, _| map2(a, b, 8, |x, y| mask(sx(x, 8) > sx(y, 8))),
                M::Pcmpgtw => |a, b, _| map2(a, b, 16, |x, y| mask(sx(x, 16) > sx(y, 16))),
                M::Pcmpgtd => |a, b, _| map2(a, b, 32, |x, y| mask(sx(x, 32) > sx(y, 32))),
                M::Pand => |a, b, _| a & b,
                M::Pandn => |a, b, _| !a & b,
                M::Por => |a, b, _| a | b,
                M::Pxor => |a, b, _| a ^ b,
                M::Pavgb => |a, b, _| map2(a, b, 8, |x, y| (x + y + 1) >> 1),
                M::Pavgw => |a, b, _| map2(a, b, 16, |x, y| (x + y + 1) >> 1),
                M::Pminub => |a, b, _| map2(a, b, 8, u64::min),
                M::Pmaxub => |a, b, _| map2(a, b, 8, u64::max),
                M::Pminsw => |a, b, _| map2(a, b, 16, |x, y| if sx(x, 16) < sx(y, 16) { x } else { y }),
                M::Pmaxsw => |a, b, _| map2(a, b, 16, |x, y| if sx(x, 16) > sx(y, 16) { x } else { y }),
                M::Psadbw => {
                    |a, b, _| map2(a, b, 64, |x, y| (0..8).map(|k| ((x >> (8 * k)) as u8).abs_diff((y >> (8 * k)) as u8) as u64).sum())
                }
                M::Packsswb => |a, b, _| pack(a, b, 16, |v| sat_s(v, 8)),
                M::Packssdw => |a, b, _| pack(a, b, 32, |v| sat_s(v, 16)),
                M::Packuswb => |a, b, _| pack(a, b, 16, |v| sat_u(v, 8)),
                M::Punpcklbw => |a, b, _| interleave(a, b, 8, false),
                M::Punpcklwd => |a, b, _| interleave(a, b, 16, false),
                M::Punpckldq | M::Unpcklps => |a, b, _| interleave(a, b, 32, false),
                M::Punpcklqdq | M::Unpcklpd => |a, b, _| interleave(a, b, 64, false),
                M::Punpckhbw => |a, b, _| interleave(a, b, 8, true),
                M::Punpckhwd => |a, b, _| interleave(a, b, 16, true),
                M::Punpckhdq | M::Unpckhps => |a, b, _| interleave(a, b, 32, true),
                M::Punpckhqdq | M::Unpckhpd => |a, b, _| interleave(a, b, 64, true),
                M::Pshufd => |_, b, n| (0..4).fold(0, |r, k| r | (elem(b, 32, (n as u32 >> (2 * k)) & 3) as u128) << (32 * k)),
                M::Pshuflw => |_, b, n| {
                    (b & !(u64::MAX as u128)) | (0..4).fold(0, |r, k| r | (elem(b, 16, (n as u32 >> (2 * k)) & 3) as u128) << (16 * k))
                },
                M::Pshufhw => |_, b, n| {
                    (b & u64::MAX as u128)
                        | (0..4).fold(0, |r, k| r | (elem(b, 16, 4 + ((n as u32 >> (2 * k)) & 3)) as u128) << (16 * (k + 4)))
                },
                M::Shufps => |a, b, n| {
                    let n = n as u32;
                    elem(a, 32, n & 3) as u128
                        | (elem(a, 32, (n >> 2) & 3) as u128) << 32
                        | (elem(b, 32, (n >> 4) & 3) as u128) << 64
                        | (elem(b, 32, (n >> 6) & 3) as u128) << 96
                },
                M::Shufpd => |a, b, n| elem(a, 64, n as u32 & 1) as u128 | (elem(b, 64, (n as u32 >> 1) & 1) as u128) << 64,
                _ => return None,
            };
            let b = match rm(cpu, bus, i, 1, 16, true) {
                Ok(b) => b,
                Err(e) => return Some(Err(e)),
            };
            let d = xi(i, 0);
            let imm = if i.op_count() > 2 { i.immediate8() } else { 0 };
            let v = op(get(cpu, d), b, imm);
            set(cpu, d, v);
            Ok(())
        }
    };
    Some(r)
}

fn pinsrw(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let w = match i.op1_kind() {
        OpKind::Register => get_reg(cpu, i.op1_register()),
        _ => bus.read_u16(ea(cpu, i))? as u64,
    };
    let d = xi(i, 0);
    let k = (i.immediate8() & 7) as u32;
    let v = (get(cpu, d) & !(0xffffu128 << (16 * k))) | ((w & 0xffff) as u128) << (16 * k);
    set(cpu, d, v);
    Ok(())
}

/// Element `k` of `w` bits.
#[inline(always)]
pub(super) fn elem(v: u128, w: u32, k: u32) -> u64 {
    ((v >> (w * k)) as u64) & lmask(w)
}

#[inline(always)]
pub(crate) fn lmask(w: u32) -> u64 {
    if w == 64 {
        u64::MAX
    } else {
        (1 << w) - 1
    }
}

/// Element-wise `f` over `w`-bit elements (the result is truncated to `w`).
#[inline(always)]
pub(super) fn map2(a: u128, b: u128, w: u32, f: impl Fn(u64, u64) -> u64) -> u128 {
    let mut r = 0u128;
    for k in 0..128 / w {
        r |= ((f(elem(a, w, k), elem(b, w, k)) & lmask(w)) as u128) << (w * k);
    }
    r
}

/// Sign-extend a `w`-bit element.
#[inline(always)]
pub(crate) fn sx(x: u64, w: u32) -> i64 {
    ((x << (64 - w)) as i64) >> (64 - w)
}

/// Saturate to a signed `w`-bit element.
pub(crate) fn sat_s(v: i64, w: u32) -> u64 {
    let hi = (1i64 << (w - 1)) - 1;
    v.clamp(-hi - 1, hi) as u64
}

/// Saturate to an unsigned `w`-bit element.
pub(crate) fn sat_u(v: i64, w: u32) -> u64 {
    v.clamp(0, (1i64 << w) - 1) as u64
}

/// All ones for true (compare results).
pub(crate) fn mask(t: bool) -> u64 {
    if t {
        u64::MAX
    } else {
        0
    }
}

/// Narrow the signed `w`-bit elements of `a` (low half of the result) and
/// `b` (high half) with the saturating `sat`.
fn pack(a: u128, b: u128, w: u32, sat: impl Fn(i64) -> u64) -> u128 {
    let n = 128 / w;
    let h = w / 2;
    let mut r = 0u128;
    for k in 0..n {
        r |= ((sat(sx(elem(a, w, k), w)) & lmask(h)) as u128) << (h * k);
        r |= ((sat(sx(elem(b, w, k), w)) & lmask(h)) as u128) << (h * (k + n));
    }
    r
}

/// PUNPCKL*/PUNPCKH*: alternate the elements of the low (high) halves.
#[inline(always)]
pub(super) fn interleave(a: u128, b: u128, w: u32, high: bool) -> u128 {
    let n = 64 / w;
    let off = if high { n } else { 0 };
    let mut r = 0u128;
    for k in 0..n {
        r |= (elem(a, w, off + k) as u128) << (2 * k * w);
        r |= (elem(b, w, off + k) as u128) << ((2 * k + 1) * w);
    }
    r
}

/// PSLL/PSRL/PSRA by an immediate or by the low 64 bits of an XMM/m128
/// operand; counts past the element width clear (or sign-fill) it.
fn shift(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    use Mnemonic as M;
    let count = match i.op1_kind() {
        OpKind::Immediate8 => i.immediate8() as u64,
        _ => rm(cpu, bus, i, 1, 16, true)? as u64,
    };
    let m = i.mnemonic();
    let w = match m {
        M::Psllw | M::Psrlw | M::Psraw => 16,
        M::Pslld | M::Psrld | M::Psrad => 32,
        _ => 64,
    };
    let d = xi(i, 0);
    let v = get(cpu, d);
    let r = match m {
        M::Psraw | M::Psrad => {
            let c = count.min(w as u64 - 1) as u32;
            map2(v, 0, w, |x, _| (sx(x, w) >> c) as u64)
        }
        _ if count >= w as u64 => 0,
        M::Psllw | M::Pslld | M::Psllq => map2(v, 0, w, |x, _| x << count),
        _ => map2(v, 0, w, |x, _| x >> count),
    };
    set(cpu, d, r);
    Ok(())
}
