//! Whole-instruction tests: each instruction is decoded and run by the
//! interpreter on XMM1/XMM2 and compared, destination and MXCSR, with the
//! same instruction run on the host CPU. Memory forms, faults and the
//! GPR-side instructions are checked against values worked out by hand.

use core::arch::asm;

use super::fp::tests::{host, host_flags, host_from_gpr, host_to_gpr, m, modes, operand, operand2, u, Rng};
use super::fp::{self, F32, F64};
use crate::fault::{Exit, Fault};
use crate::mem::{AddressSpace, Bus, Memory, Prot};
use crate::state::CpuState;

const CODE: u64 = 0x10000;
const DATA: u64 = 0x20000;

/// One instruction at CODE, two data pages at DATA.
struct Machine {
    mem: Memory,
    space: AddressSpace,
}

impl Machine {
    fn new(code: &[u8]) -> Machine {
        let mut mem = Memory::new();
        let mut space = AddressSpace::new();
        let f = mem.phys.alloc();
        let page = mem.phys.bytes_mut(f);
        page.fill(0x90);
        page[..code.len()].copy_from_slice(code);
        space.map(&mut mem.phys, CODE, f, Prot::RX);
        for k in 0..2 {
            let f = mem.phys.alloc();
            space.map(&mut mem.phys, DATA + 0x1000 * k, f, Prot::RW);
        }
        Machine { mem, space }
    }

    fn run(&mut self, cpu: &mut CpuState) -> Exit {
        cpu.rip = CODE;
        let mut bus = Bus::new(&mut self.space, &mut self.mem);
        let (exit, n) = crate::run(cpu, &mut bus, 1);
        if exit == Exit::Budget {
            assert_eq!(n, 1);
        }
        exit
    }

    fn bus(&mut self) -> Bus<'_> {
        Bus::new(&mut self.space, &mut self.mem)
    }
}

fn get(cpu: &CpuState, r: usize) -> u128 {
    super::get(cpu, r)
}
fn set(cpu: &mut CpuState, r: usize, v: u128) {
    super::set(cpu, r, v)
}

fn f32x4(r: &mut Rng) -> (u128, u128) {
    let mut a = 0u128;
    let mut b = 0u128;
    for k in 0..4 {
        let x = operand(F32, r);
        a |= (x as u128) << (32 * k);
        b |= (operand2(F32, r, x) as u128) << (32 * k);
    }
    (a, b)
}

fn f64x2(r: &mut Rng) -> (u128, u128) {
    let x = operand(F64, r);
    let y = operand(F64, r);
    (x as u128 | (y as u128) << 64, operand2(F64, r, x) as u128 | (operand2(F64, r, y) as u128) << 64)
}

/// Integers with the saturation and sign boundaries well represented.
fn ints(r: &mut Rng) -> (u128, u128) {
    let one = |r: &mut Rng| -> u128 {
        let mut v = (r.next() as u128) << 64 | r.next() as u128;
        for k in 0..16 {
            if r.next().is_multiple_of(4) {
                let b = [0u8, 0x7f, 0x80, 0xff, 1, 0xfe, 0x81][(r.next() % 7) as usize];
                v = (v & !(0xffu128 << (8 * k))) | (b as u128) << (8 * k);
            }
        }
        v
    };
    let a = one(r);
    let b = if r.next().is_multiple_of(8) { a } else { one(r) };
    (a, b)
}

/// Mixed floats of both widths (for conversions and shuffles).
fn mixed(r: &mut Rng) -> (u128, u128) {
    if r.next() & 1 != 0 {
        f32x4(r)
    } else {
        f64x2(r)
    }
}

const TRIALS: usize = 1500;

/// MXCSR values for the host comparisons: the 16 combinations of rounding,
/// DAZ and FTZ, each also with PE already set and with all six flags set
/// (the sticky-flag fast paths apply only then). Bit operations just get
/// the default and one sticky value.
fn test_modes(all: bool) -> Vec<u32> {
    if !all {
        return vec![0x1f80, 0x1f80 | fp::PE];
    }
    modes().chain(modes().map(|c| c | fp::PE)).chain(modes().map(|c| c | 0x3f)).collect()
}

/// A zero or normal element, mostly of moderate size but also near the
/// ends of the exponent range (so that results overflow or become tiny):
/// the operands of the sticky fast paths, and of their boundaries.
fn normal(f: fp::Fmt, r: &mut Rng) -> u64 {
    let (frac, ea) = if f == F32 { (23, 0xff) } else { (52, 0x7ff) };
    let bias = ea >> 1;
    let sign = (r.next() & 1) << (frac + if f == F32 { 8 } else { 11 });
    let e = match r.below(8) {
        0 => 1 + r.below(frac + 4),
        1 => ea - 1 - r.below(8),
        2 => bias / 2 + r.below(8),
        3 if r.below(4) == 0 => return sign,
        _ => bias - 30 + r.below(60),
    };
    let fr = match r.below(3) {
        0 => r.next() & ((1 << frac) - 1),
        1 => (r.next() & 0xff) << (frac - 8),
        _ => ((1 << frac) - 1) & !(r.next() & 0xf),
    };
    sign | e << frac | fr
}

/// A second operand: independent, or close to the first (cancellation,
/// exact quotients), or the same.
fn normal2(f: fp::Fmt, r: &mut Rng, a: u64) -> u64 {
    let sign = if f == F32 { 1 << 31 } else { 1 << 63 };
    match r.below(6) {
        0 => a ^ sign ^ (r.below(3)),
        1 => a,
        2 => (a & !0xff) | 1 << (if f == F32 { 23 } else { 52 }) | sign & r.next(),
        _ => normal(f, r),
    }
}

fn n32x4(r: &mut Rng) -> (u128, u128) {
    let mut a = 0u128;
    let mut b = 0u128;
    for k in 0..4 {
        let x = normal(F32, r);
        a |= (x as u128) << (32 * k);
        b |= (normal2(F32, r, x) as u128) << (32 * k);
    }
    (a, b)
}

fn n64x2(r: &mut Rng) -> (u128, u128) {
    let (x, y) = (normal(F64, r), normal(F64, r));
    (x as u128 | (y as u128) << 64, normal2(F64, r, x) as u128 | (normal2(F64, r, y) as u128) << 64)
}

/// `insn xmm1, xmm2[, imm]` against the host in every MXCSR mode.
macro_rules! diff {
    ($name:ident, $gen:ident, $all_modes:expr, [$($byte:expr),*], $insn:literal $(, $suf:literal)?) => {
        #[test]
        fn $name() {
            let mut mach = Machine::new(&[$($byte),*]);
            let mut r = Rng::new(0xabcdef ^ (stringify!($name).len() as u64) << 20);
            let mut cpu = CpuState::default();
            for _ in 0..TRIALS {
                let (a, b) = $gen(&mut r);
                for csr in test_modes($all_modes) {
                    let (hr, hc) = host!($insn, a, b, csr $(, $suf)?);
                    set(&mut cpu, 1, a);
                    set(&mut cpu, 2, b);
                    cpu.mxcsr = csr;
                    assert_eq!(mach.run(&mut cpu), Exit::Budget, "{}", $insn);
                    assert_eq!((get(&cpu, 1), cpu.mxcsr), (hr, hc), "{} a={a:#034x} b={b:#034x} mxcsr={csr:#x}", $insn);
                }
            }
        }
    };
}

// Float arithmetic, compares and conversions: ps (none), pd (66), ss (F3),
// sd (F2) prefixes on the same opcodes. ModRM 0xCA = xmm1, xmm2.
diff!(addps, f32x4, true, [0x0f, 0x58, 0xca], "addps");
diff!(addpd, f64x2, true, [0x66, 0x0f, 0x58, 0xca], "addpd");
diff!(addss_i, f32x4, true, [0xf3, 0x0f, 0x58, 0xca], "addss");
diff!(addsd_i, f64x2, true, [0xf2, 0x0f, 0x58, 0xca], "addsd");
diff!(subps, f32x4, true, [0x0f, 0x5c, 0xca], "subps");
diff!(subsd_i, f64x2, true, [0xf2, 0x0f, 0x5c, 0xca], "subsd");
diff!(mulps, f32x4, true, [0x0f, 0x59, 0xca], "mulps");
diff!(mulpd, f64x2, true, [0x66, 0x0f, 0x59, 0xca], "mulpd");
diff!(mulsd_i, f64x2, true, [0xf2, 0x0f, 0x59, 0xca], "mulsd");
diff!(divps, f32x4, true, [0x0f, 0x5e, 0xca], "divps");
diff!(divpd, f64x2, true, [0x66, 0x0f, 0x5e, 0xca], "divpd");
diff!(divss_i, f32x4, true, [0xf3, 0x0f, 0x5e, 0xca], "divss");
diff!(sqrtps, f32x4, true, [0x0f, 0x51, 0xca], "sqrtps");
diff!(sqrtpd, f64x2, true, [0x66, 0x0f, 0x51, 0xca], "sqrtpd");
diff!(sqrtss_i, f32x4, true, [0xf3, 0x0f, 0x51, 0xca], "sqrtss");
diff!(sqrtsd_i, f64x2, true, [0xf2, 0x0f, 0x51, 0xca], "sqrtsd");
diff!(minps, f32x4, true, [0x0f, 0x5d, 0xca], "minps");
diff!(maxpd, f64x2, true, [0x66, 0x0f, 0x5f, 0xca], "maxpd");
diff!(minsd_i, f64x2, true, [0xf2, 0x0f, 0x5d, 0xca], "minsd");
diff!(maxss_i, f32x4, true, [0xf3, 0x0f, 0x5f, 0xca], "maxss");
diff!(cmpps_lt, f32x4, true, [0x0f, 0xc2, 0xca, 1], "cmpps", ", 1");
diff!(cmpps_unord, f32x4, true, [0x0f, 0xc2, 0xca, 3], "cmpps", ", 3");
diff!(cmppd_nle, f64x2, true, [0x66, 0x0f, 0xc2, 0xca, 6], "cmppd", ", 6");
diff!(cmpss_neq, f32x4, true, [0xf3, 0x0f, 0xc2, 0xca, 4], "cmpss", ", 4");
diff!(cmpsd_ord, f64x2, true, [0xf2, 0x0f, 0xc2, 0xca, 7], "cmpsd", ", 7");
diff!(cmpsd_eq, f64x2, true, [0xf2, 0x0f, 0xc2, 0xca, 0], "cmpsd", ", 0");
diff!(andps, f32x4, false, [0x0f, 0x54, 0xca], "andps");
diff!(andnpd, f64x2, false, [0x66, 0x0f, 0x55, 0xca], "andnpd");
diff!(orps, f32x4, false, [0x0f, 0x56, 0xca], "orps");
diff!(xorpd, f64x2, false, [0x66, 0x0f, 0x57, 0xca], "xorpd");
diff!(cvtps2pd, f32x4, true, [0x0f, 0x5a, 0xca], "cvtps2pd");
diff!(cvtpd2ps, f64x2, true, [0x66, 0x0f, 0x5a, 0xca], "cvtpd2ps");
diff!(cvtss2sd_i, mixed, true, [0xf3, 0x0f, 0x5a, 0xca], "cvtss2sd");
diff!(cvtsd2ss_i, mixed, true, [0xf2, 0x0f, 0x5a, 0xca], "cvtsd2ss");
diff!(cvtdq2ps, ints, true, [0x0f, 0x5b, 0xca], "cvtdq2ps");
diff!(cvtps2dq, f32x4, true, [0x66, 0x0f, 0x5b, 0xca], "cvtps2dq");
diff!(cvttps2dq, f32x4, true, [0xf3, 0x0f, 0x5b, 0xca], "cvttps2dq");
diff!(cvtdq2pd, ints, true, [0xf3, 0x0f, 0xe6, 0xca], "cvtdq2pd");
diff!(cvtpd2dq, f64x2, true, [0xf2, 0x0f, 0xe6, 0xca], "cvtpd2dq");
diff!(cvttpd2dq, f64x2, true, [0x66, 0x0f, 0xe6, 0xca], "cvttpd2dq");
diff!(shufps, mixed, false, [0x0f, 0xc6, 0xca, 0x9c], "shufps", ", 0x9c");
diff!(shufpd, mixed, false, [0x66, 0x0f, 0xc6, 0xca, 2], "shufpd", ", 2");
diff!(unpcklps, mixed, false, [0x0f, 0x14, 0xca], "unpcklps");
diff!(unpckhps, mixed, false, [0x0f, 0x15, 0xca], "unpckhps");
diff!(unpcklpd, mixed, false, [0x66, 0x0f, 0x14, 0xca], "unpcklpd");
diff!(unpckhpd, mixed, false, [0x66, 0x0f, 0x15, 0xca], "unpckhpd");

// Packed integers: 66 0F xx /r.
diff!(punpcklbw, ints, false, [0x66, 0x0f, 0x60, 0xca], "punpcklbw");
diff!(punpcklwd, ints, false, [0x66, 0x0f, 0x61, 0xca], "punpcklwd");
diff!(punpckldq, ints, false, [0x66, 0x0f, 0x62, 0xca], "punpckldq");
diff!(packsswb, ints, false, [0x66, 0x0f, 0x63, 0xca], "packsswb");
diff!(pcmpgtb, ints, false, [0x66, 0x0f, 0x64, 0xca], "pcmpgtb");
diff!(pcmpgtw, ints, false, [0x66, 0x0f, 0x65, 0xca], "pcmpgtw");
diff!(pcmpgtd, ints, false, [0x66, 0x0f, 0x66, 0xca], "pcmpgtd");
diff!(packuswb, ints, false, [0x66, 0x0f, 0x67, 0xca], "packuswb");
diff!(punpckhbw, ints, false, [0x66, 0x0f, 0x68, 0xca], "punpckhbw");
diff!(punpckhwd, ints, false, [0x66, 0x0f, 0x69, 0xca], "punpckhwd");
diff!(punpckhdq, ints, false, [0x66, 0x0f, 0x6a, 0xca], "punpckhdq");
diff!(packssdw, ints, false, [0x66, 0x0f, 0x6b, 0xca], "packssdw");
diff!(punpcklqdq, ints, false, [0x66, 0x0f, 0x6c, 0xca], "punpcklqdq");
diff!(punpckhqdq, ints, false, [0x66, 0x0f, 0x6d, 0xca], "punpckhqdq");
diff!(pshufd, ints, false, [0x66, 0x0f, 0x70, 0xca, 0x1b], "pshufd", ", 0x1b");
diff!(pshufhw, ints, false, [0xf3, 0x0f, 0x70, 0xca, 0xd2], "pshufhw", ", 0xd2");
diff!(pshuflw, ints, false, [0xf2, 0x0f, 0x70, 0xca, 0x4e], "pshuflw", ", 0x4e");
diff!(pcmpeqb, ints, false, [0x66, 0x0f, 0x74, 0xca], "pcmpeqb");
diff!(pcmpeqw, ints, false, [0x66, 0x0f, 0x75, 0xca], "pcmpeqw");
diff!(pcmpeqd, ints, false, [0x66, 0x0f, 0x76, 0xca], "pcmpeqd");
diff!(psrlw, ints, false, [0x66, 0x0f, 0xd1, 0xca], "psrlw");
diff!(psrld, ints, false, [0x66, 0x0f, 0xd2, 0xca], "psrld");
diff!(psrlq, ints, false, [0x66, 0x0f, 0xd3, 0xca], "psrlq");
diff!(paddq, ints, false, [0x66, 0x0f, 0xd4, 0xca], "paddq");
diff!(pmullw, ints, false, [0x66, 0x0f, 0xd5, 0xca], "pmullw");
diff!(psubusb, ints, false, [0x66, 0x0f, 0xd8, 0xca], "psubusb");
diff!(psubusw, ints, false, [0x66, 0x0f, 0xd9, 0xca], "psubusw");
diff!(pminub, ints, false, [0x66, 0x0f, 0xda, 0xca], "pminub");
diff!(pand, ints, false, [0x66, 0x0f, 0xdb, 0xca], "pand");
diff!(paddusb, ints, false, [0x66, 0x0f, 0xdc, 0xca], "paddusb");
diff!(paddusw, ints, false, [0x66, 0x0f, 0xdd, 0xca], "paddusw");
diff!(pmaxub, ints, false, [0x66, 0x0f, 0xde, 0xca], "pmaxub");
diff!(pandn, ints, false, [0x66, 0x0f, 0xdf, 0xca], "pandn");
diff!(pavgb, ints, false, [0x66, 0x0f, 0xe0, 0xca], "pavgb");
diff!(psraw, ints, false, [0x66, 0x0f, 0xe1, 0xca], "psraw");
diff!(psrad, ints, false, [0x66, 0x0f, 0xe2, 0xca], "psrad");
diff!(pavgw, ints, false, [0x66, 0x0f, 0xe3, 0xca], "pavgw");
diff!(pmulhuw, ints, false, [0x66, 0x0f, 0xe4, 0xca], "pmulhuw");
diff!(pmulhw, ints, false, [0x66, 0x0f, 0xe5, 0xca], "pmulhw");
diff!(psubsb, ints, false, [0x66, 0x0f, 0xe8, 0xca], "psubsb");
diff!(psubsw, ints, false, [0x66, 0x0f, 0xe9, 0xca], "psubsw");
diff!(pminsw, ints, false, [0x66, 0x0f, 0xea, 0xca], "pminsw");
diff!(por, ints, false, [0x66, 0x0f, 0xeb, 0xca], "por");
diff!(paddsb, ints, false, [0x66, 0x0f, 0xec, 0xca], "paddsb");
diff!(paddsw, ints, false, [0x66, 0x0f, 0xed, 0xca], "paddsw");
diff!(pmaxsw, ints, false, [0x66, 0x0f, 0xee, 0xca], "pmaxsw");
diff!(pxor, ints, false, [0x66, 0x0f, 0xef, 0xca], "pxor");
diff!(psllw, ints, false, [0x66, 0x0f, 0xf1, 0xca], "psllw");
diff!(pslld, ints, false, [0x66, 0x0f, 0xf2, 0xca], "pslld");
diff!(psllq, ints, false, [0x66, 0x0f, 0xf3, 0xca], "psllq");
diff!(pmuludq, ints, false, [0x66, 0x0f, 0xf4, 0xca], "pmuludq");
diff!(pmaddwd, ints, false, [0x66, 0x0f, 0xf5, 0xca], "pmaddwd");
diff!(psadbw, ints, false, [0x66, 0x0f, 0xf6, 0xca], "psadbw");
diff!(psubb, ints, false, [0x66, 0x0f, 0xf8, 0xca], "psubb");
diff!(psubw, ints, false, [0x66, 0x0f, 0xf9, 0xca], "psubw");
diff!(psubd, ints, false, [0x66, 0x0f, 0xfa, 0xca], "psubd");
diff!(psubq, ints, false, [0x66, 0x0f, 0xfb, 0xca], "psubq");
diff!(paddb, ints, false, [0x66, 0x0f, 0xfc, 0xca], "paddb");
diff!(paddw, ints, false, [0x66, 0x0f, 0xfd, 0xca], "paddw");
diff!(paddd, ints, false, [0x66, 0x0f, 0xfe, 0xca], "paddd");
diff!(movss_rr, ints, false, [0xf3, 0x0f, 0x10, 0xca], "movss");
diff!(movsd_rr, ints, false, [0xf2, 0x0f, 0x10, 0xca], "movsd");
diff!(movhlps, ints, false, [0x0f, 0x12, 0xca], "movhlps");
diff!(movlhps, ints, false, [0x0f, 0x16, 0xca], "movlhps");
diff!(movq_rr, ints, false, [0xf3, 0x0f, 0x7e, 0xca], "movq");
diff!(movaps_rr, ints, false, [0x0f, 0x28, 0xca], "movaps");

/// Shifts by a count register with small counts too (the random 128-bit
/// counts are nearly always huge).
#[test]
fn shifts_small_counts() {
    let mut r = Rng::new(5);
    for (code, w, arith, left) in [
        ([0x66, 0x0f, 0xd1, 0xca], 16, false, false),
        ([0x66, 0x0f, 0xe2, 0xca], 32, true, false),
        ([0x66, 0x0f, 0xf3, 0xca], 64, false, true),
        ([0x66, 0x0f, 0xe1, 0xca], 16, true, false),
    ] {
        let mut mach = Machine::new(&code);
        let mut cpu = CpuState::default();
        for _ in 0..500 {
            let a = (r.next() as u128) << 64 | r.next() as u128;
            let c = r.next() % 70;
            set(&mut cpu, 1, a);
            set(&mut cpu, 2, c as u128 | 0xffff_u128 << 64);
            assert_eq!(mach.run(&mut cpu), Exit::Budget);
            let mut want = 0u128;
            for k in 0..128 / w {
                let x = (a >> (w * k)) as u64 & if w == 64 { u64::MAX } else { (1 << w) - 1 };
                let y = if left {
                    if c >= w as u64 {
                        0
                    } else {
                        x << c
                    }
                } else if arith {
                    let sx = ((x << (64 - w)) as i64) >> (64 - w);
                    (sx >> c.min(w as u64 - 1)) as u64
                } else if c >= w as u64 {
                    0
                } else {
                    x >> c
                };
                want |= ((y & if w == 64 { u64::MAX } else { (1 << w) - 1 }) as u128) << (w * k);
            }
            assert_eq!(get(&cpu, 1), want, "{code:x?} a={a:#x} c={c}");
        }
    }
}

/// Immediate shifts against the host.
macro_rules! diff_imm {
    ($name:ident, [$($byte:expr),*], $insn:literal) => {
        #[test]
        fn $name() {
            let mut mach = Machine::new(&[$($byte),*]);
            let mut r = Rng::new(17);
            let mut cpu = CpuState::default();
            for _ in 0..200 {
                let (a, _) = ints(&mut r);
                let mut x = m(a);
                // SAFETY: a pure register operation.
                unsafe { asm!($insn, x = inout(xmm_reg) x) };
                set(&mut cpu, 1, a);
                assert_eq!(mach.run(&mut cpu), Exit::Budget);
                assert_eq!(get(&cpu, 1), u(x), "{} a={a:#x}", $insn);
            }
        }
    };
}

// 66 0F 71/72/73 /digit ib on xmm1 (ModRM 0xC1 | digit << 3).
diff_imm!(psrlw_i, [0x66, 0x0f, 0x71, 0xd1, 5], "psrlw {x}, 5");
diff_imm!(psraw_i, [0x66, 0x0f, 0x71, 0xe1, 17], "psraw {x}, 17");
diff_imm!(psllw_i, [0x66, 0x0f, 0x71, 0xf1, 15], "psllw {x}, 15");
diff_imm!(psrld_i, [0x66, 0x0f, 0x72, 0xd1, 31], "psrld {x}, 31");
diff_imm!(psrad_i, [0x66, 0x0f, 0x72, 0xe1, 7], "psrad {x}, 7");
diff_imm!(pslld_i, [0x66, 0x0f, 0x72, 0xf1, 32], "pslld {x}, 32");
diff_imm!(psrlq_i, [0x66, 0x0f, 0x73, 0xd1, 63], "psrlq {x}, 63");
diff_imm!(psrldq_i, [0x66, 0x0f, 0x73, 0xd9, 5], "psrldq {x}, 5");
diff_imm!(psllq_i, [0x66, 0x0f, 0x73, 0xf1, 1], "psllq {x}, 1");
diff_imm!(pslldq_i, [0x66, 0x0f, 0x73, 0xf9, 9], "pslldq {x}, 9");
diff_imm!(pslldq_big, [0x66, 0x0f, 0x73, 0xf9, 16], "pslldq {x}, 16");

#[test]
fn comis_flags() {
    let cases: [(&[u8], &str); 4] = [
        (&[0x0f, 0x2f, 0xca], "comiss"),
        (&[0x0f, 0x2e, 0xca], "ucomiss"),
        (&[0x66, 0x0f, 0x2f, 0xca], "comisd"),
        (&[0x66, 0x0f, 0x2e, 0xca], "ucomisd"),
    ];
    let mut r = Rng::new(3);
    for (code, name) in cases {
        let mut mach = Machine::new(code);
        let mut cpu = CpuState::default();
        for _ in 0..TRIALS {
            let (a, b) = if name.ends_with("ss") { f32x4(&mut r) } else { f64x2(&mut r) };
            cpu.set_rflags(0x8d5 | 2);
            set(&mut cpu, 1, a);
            set(&mut cpu, 2, b);
            cpu.mxcsr = 0x1f80;
            let (hf, hc) = match name {
                "comiss" => host_flags!("comiss", a, b, 0x1f80),
                "ucomiss" => host_flags!("ucomiss", a, b, 0x1f80),
                "comisd" => host_flags!("comisd", a, b, 0x1f80),
                _ => host_flags!("ucomisd", a, b, 0x1f80),
            };
            assert_eq!(mach.run(&mut cpu), Exit::Budget);
            assert_eq!((cpu.rflags() & 0x8d5, cpu.mxcsr), (hf, hc), "{name} {a:#x} {b:#x}");
        }
    }
}

/// Runs `code` with the given XMM1 and data at DATA (RAX = DATA + off).
fn run_mem(code: &[u8], x1: u128, off: u64, data: &[u8]) -> (Exit, CpuState, Vec<u8>) {
    let mut mach = Machine::new(code);
    mach.bus().write_bytes(DATA, data).unwrap();
    let mut cpu = CpuState::default();
    set(&mut cpu, 1, x1);
    cpu.gpr[crate::state::reg::RAX] = DATA + off;
    let exit = mach.run(&mut cpu);
    let mut out = vec![0u8; data.len()];
    mach.bus().read_bytes(DATA, &mut out).unwrap();
    (exit, cpu, out)
}

fn pattern() -> Vec<u8> {
    (0..64u8).map(|k| k.wrapping_mul(37).wrapping_add(1)).collect()
}

fn le128(b: &[u8]) -> u128 {
    u128::from_le_bytes(b[..16].try_into().unwrap())
}

#[test]
fn aligned_forms_fault_on_misalignment() {
    let d = pattern();
    let x1 = 0x1111_2222_3333_4444_5555_6666_7777_8888u128;
    // movaps xmm1, [rax]; movdqa [rax], xmm1; addps xmm1, [rax]; paddd
    // xmm1, [rax]; movntdq [rax], xmm1.
    for code in
        [&[0x0f, 0x28, 0x08][..], &[0x66, 0x0f, 0x7f, 0x08], &[0x0f, 0x58, 0x08], &[0x66, 0x0f, 0xfe, 0x08], &[0x66, 0x0f, 0xe7, 0x08]]
    {
        let (exit, cpu, out) = run_mem(code, x1, 8, &d);
        assert_eq!(exit, Exit::Fault(Fault::GeneralProtection), "{code:x?}");
        assert_eq!((get(&cpu, 1), cpu.rip), (x1, CODE));
        assert_eq!(out, d);
        let (exit, _, _) = run_mem(code, x1, 16, &d);
        assert_eq!(exit, Exit::Budget, "{code:x?}");
    }
    // movups/movdqu and scalar memory operands have no alignment rule.
    let (exit, cpu, _) = run_mem(&[0x0f, 0x10, 0x08], x1, 3, &d);
    assert_eq!((exit, get(&cpu, 1)), (Exit::Budget, le128(&d[3..])));
    let (exit, cpu, _) = run_mem(&[0xf3, 0x0f, 0x6f, 0x08], x1, 5, &d);
    assert_eq!((exit, get(&cpu, 1)), (Exit::Budget, le128(&d[5..])));
    let (exit, _, _) = run_mem(&[0xf3, 0x0f, 0x58, 0x08], x1, 1, &d);
    assert_eq!(exit, Exit::Budget);
}

#[test]
fn scalar_and_half_moves() {
    let d = pattern();
    let x1 = 0xaaaa_bbbb_cccc_dddd_eeee_ffff_0000_1111u128;
    let lo = |n: usize, off: usize| le128(&d[off..]) & ((1u128 << (8 * n)) - 1);
    // movss xmm1, [rax]: zero the rest. movsd likewise.
    assert_eq!(get(&run_mem(&[0xf3, 0x0f, 0x10, 0x08], x1, 4, &d).1, 1), lo(4, 4));
    assert_eq!(get(&run_mem(&[0xf2, 0x0f, 0x10, 0x08], x1, 4, &d).1, 1), lo(8, 4));
    // movss [rax], xmm1 writes 4 bytes only.
    let out = run_mem(&[0xf3, 0x0f, 0x11, 0x08], x1, 4, &d).2;
    assert_eq!(&out[4..8], &(x1 as u32).to_le_bytes());
    assert_eq!((&out[..4], &out[8..]), (&d[..4], &d[8..]));
    // movlps xmm1, [rax] / movhps xmm1, [rax]: one half.
    assert_eq!(get(&run_mem(&[0x0f, 0x12, 0x08], x1, 0, &d).1, 1), (x1 & !(u64::MAX as u128)) | lo(8, 0));
    assert_eq!(get(&run_mem(&[0x66, 0x0f, 0x16, 0x08], x1, 0, &d).1, 1), (x1 & u64::MAX as u128) | lo(8, 0) << 64);
    // movhps [rax], xmm1.
    let out = run_mem(&[0x0f, 0x17, 0x08], x1, 8, &d).2;
    assert_eq!(&out[8..16], &((x1 >> 64) as u64).to_le_bytes());
    // movq xmm1, [rax] (F3 0F 7E) and movq [rax], xmm1 (66 0F D6).
    assert_eq!(get(&run_mem(&[0xf3, 0x0f, 0x7e, 0x08], x1, 8, &d).1, 1), lo(8, 8));
    let out = run_mem(&[0x66, 0x0f, 0xd6, 0x08], x1, 8, &d).2;
    assert_eq!(&out[8..16], &(x1 as u64).to_le_bytes());
    // movd xmm1, [rax] zero-extends; movd [rax], xmm1 stores 4 bytes.
    assert_eq!(get(&run_mem(&[0x66, 0x0f, 0x6e, 0x08], x1, 8, &d).1, 1), lo(4, 8));
    let out = run_mem(&[0x66, 0x0f, 0x7e, 0x08], x1, 8, &d).2;
    assert_eq!(&out[8..16], &[&(x1 as u32).to_le_bytes()[..], &d[12..16]].concat()[..]);
}

#[test]
fn gpr_moves_and_masks() {
    let x1 = 0x8000_0001_7fff_ffff_ffff_0000_0000_8081u128;
    let mut cpu = CpuState::default();
    let run = |code: &[u8], cpu: &mut CpuState| {
        set(cpu, 1, x1);
        assert_eq!(Machine::new(code).run(cpu), Exit::Budget);
    };
    use crate::state::reg::{RAX, RCX};
    // movd eax, xmm1 (zero-extends into RAX); movq rax, xmm1.
    cpu.gpr[RAX] = u64::MAX;
    run(&[0x66, 0x0f, 0x7e, 0xc8], &mut cpu);
    assert_eq!(cpu.gpr[RAX], x1 as u32 as u64);
    run(&[0x66, 0x48, 0x0f, 0x7e, 0xc8], &mut cpu);
    assert_eq!(cpu.gpr[RAX], x1 as u64);
    // movq xmm1, rcx; movd xmm1, ecx.
    cpu.gpr[RCX] = 0xfedc_ba98_7654_3210;
    run(&[0x66, 0x48, 0x0f, 0x6e, 0xc9], &mut cpu);
    assert_eq!(get(&cpu, 1), 0xfedc_ba98_7654_3210);
    run(&[0x66, 0x0f, 0x6e, 0xc9], &mut cpu);
    assert_eq!(get(&cpu, 1), 0x7654_3210);
    // movmskps eax, xmm1: lanes 0..3 signs = 0,1,0,1.
    run(&[0x0f, 0x50, 0xc1], &mut cpu);
    assert_eq!(cpu.gpr[RAX], 0b1010);
    run(&[0x66, 0x0f, 0x50, 0xc1], &mut cpu);
    assert_eq!(cpu.gpr[RAX], 0b11);
    // pmovmskb eax, xmm1.
    run(&[0x66, 0x0f, 0xd7, 0xc1], &mut cpu);
    let want = (0..16).fold(0u64, |acc, k| acc | ((((x1 >> (8 * k + 7)) & 1) as u64) << k));
    assert_eq!(cpu.gpr[RAX], want);
    // pextrw eax, xmm1, 6; pinsrw xmm1, ecx, 1.
    run(&[0x66, 0x0f, 0xc5, 0xc1, 6], &mut cpu);
    assert_eq!(cpu.gpr[RAX], (x1 >> 96) as u16 as u64);
    run(&[0x66, 0x0f, 0xc4, 0xc9, 1], &mut cpu);
    assert_eq!(get(&cpu, 1), (x1 & !(0xffff << 16)) | (0x3210 << 16));
    // cvttsd2si rax, xmm1 on 1e19 (too big): integer indefinite and IE.
    set(&mut cpu, 2, 1e19f64.to_bits() as u128);
    cpu.mxcsr = 0x1f80;
    assert_eq!(Machine::new(&[0xf2, 0x48, 0x0f, 0x2c, 0xc2]).run(&mut cpu), Exit::Budget);
    assert_eq!((cpu.gpr[RAX], cpu.mxcsr), (1 << 63, 0x1f81));
    // cvtsi2sd xmm2, rcx: rounding of a 64-bit integer.
    cpu.gpr[RCX] = u64::MAX >> 1;
    set(&mut cpu, 2, 0xdead_u128 << 64);
    assert_eq!(Machine::new(&[0xf2, 0x48, 0x0f, 0x2a, 0xd1]).run(&mut cpu), Exit::Budget);
    assert_eq!(get(&cpu, 2), (0xdead_u128 << 64) | 2f64.powi(63).to_bits() as u128);
    assert_eq!(cpu.mxcsr, 0x1f81 | fp::PE);
}

#[test]
fn maskmovdqu_writes_selected_bytes() {
    let d = pattern();
    let mut mach = Machine::new(&[0x66, 0x0f, 0xf7, 0xca]);
    mach.bus().write_bytes(DATA, &d).unwrap();
    let mut cpu = CpuState::default();
    let data = 0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100u128;
    let mask = 0x80_00_ff_00_00_00_00_00_00_00_00_00_00_7f_81_80u128;
    set(&mut cpu, 1, data);
    set(&mut cpu, 2, mask);
    cpu.gpr[crate::state::reg::RDI] = DATA + 3;
    assert_eq!(mach.run(&mut cpu), Exit::Budget);
    let mut out = vec![0u8; 64];
    mach.bus().read_bytes(DATA, &mut out).unwrap();
    let mut want = d.clone();
    for k in 0..16 {
        if (mask >> (8 * k)) as u8 & 0x80 != 0 {
            want[3 + k] = k as u8;
        }
    }
    assert_eq!(out, want);
}

#[test]
fn mxcsr_load_store() {
    let mut d = vec![0u8; 16];
    d[..4].copy_from_slice(&0x7fc0u32.to_le_bytes());
    // ldmxcsr [rax]
    let (exit, cpu, _) = run_mem(&[0x0f, 0xae, 0x10], 0, 0, &d);
    assert_eq!((exit, cpu.mxcsr), (Exit::Budget, 0x7fc0));
    d[..4].copy_from_slice(&0x1_1f80u32.to_le_bytes());
    let (exit, cpu, _) = run_mem(&[0x0f, 0xae, 0x10], 0, 0, &d);
    assert_eq!((exit, cpu.mxcsr), (Exit::Fault(Fault::GeneralProtection), 0x1f80));
    // stmxcsr [rax]
    let (_, _, out) = run_mem(&[0x0f, 0xae, 0x18], 0, 4, &d);
    assert_eq!(&out[4..8], &0x1f80u32.to_le_bytes());
}

#[test]
fn unmasked_exceptions_fault_and_keep_destination() {
    let mut cpu = CpuState::default();
    // divps xmm1, xmm2 with 1/0 in lane 2 and 1/3 (inexact) in lane 0.
    let one = 1f32.to_bits() as u128;
    let a = one | one << 32 | one << 64 | one << 96;
    let b = 3f32.to_bits() as u128 | (1f32.to_bits() as u128) << 32 | (2f32.to_bits() as u128) << 96;
    let mut mach = Machine::new(&[0x0f, 0x5e, 0xca]);
    set(&mut cpu, 1, a);
    set(&mut cpu, 2, b);
    // ZE unmasked: faults before the post-computation flags are recorded.
    cpu.mxcsr = 0x1f80 & !(fp::ZE << 7);
    assert_eq!(mach.run(&mut cpu), Exit::Fault(Fault::Simd));
    assert_eq!((get(&cpu, 1), cpu.mxcsr, cpu.rip), (a, (0x1f80 & !(fp::ZE << 7)) | fp::ZE, CODE));
    // Only PE unmasked: everything is computed, flags set, then the fault.
    cpu.mxcsr = 0x1f80 & !(fp::PE << 7);
    assert_eq!(mach.run(&mut cpu), Exit::Fault(Fault::Simd));
    assert_eq!((get(&cpu, 1), cpu.mxcsr), (a, (0x1f80 & !(fp::PE << 7)) | fp::ZE | fp::PE));
    // All masked: the quotient is written.
    cpu.mxcsr = 0x1f80;
    assert_eq!(mach.run(&mut cpu), Exit::Budget);
    assert_eq!(cpu.mxcsr, 0x1f80 | fp::ZE | fp::PE);
    assert_eq!((get(&cpu, 1) >> 64) as u32, 0x7f80_0000);
}

#[test]
fn cvtpi2ps_memory_form() {
    let mut d = vec![0u8; 16];
    d[..4].copy_from_slice(&(-7i32).to_le_bytes());
    d[4..8].copy_from_slice(&16_777_217i32.to_le_bytes());
    let x1 = 0x1234_5678_9abc_def0_u128 << 64;
    let (exit, cpu, _) = run_mem(&[0x0f, 0x2a, 0x08], x1, 0, &d);
    assert_eq!(exit, Exit::Budget);
    assert_eq!(get(&cpu, 1), x1 | (-7f32).to_bits() as u128 | (16_777_216f32.to_bits() as u128) << 32);
    assert_eq!(cpu.mxcsr, 0x1f80 | fp::PE);
}

/// Unmasked exceptions cannot be run in-process (the host would raise
/// SIGFPE), so this compiles a small C harness (testdata/unmasked.c) that
/// catches #XM and reports MXCSR and XMM1 at the fault. Random MXCSR
/// values: masks, rounding, DAZ/FTZ and sticky flags all vary. Skipped when
/// no C compiler is available.
#[test]
fn unmasked_exceptions_match_host() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = std::env::temp_dir().join(format!("oxvm-sse-unmasked-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src/interp/sse/testdata/unmasked.c");
    let exe = dir.join("unmasked");
    match Command::new("cc").args(["-O1", "-o"]).arg(&exe).arg(src).status() {
        Ok(s) if s.success() => {}
        _ => {
            eprintln!("unmasked_exceptions_match_host: no C compiler, skipped");
            return;
        }
    }
    type Gen = fn(&mut Rng) -> (u128, u128);
    let ops: [(&[u8], Gen); 16] = [
        (&[0x0f, 0x58, 0xca], f32x4),
        (&[0xf2, 0x0f, 0x58, 0xca], f64x2),
        (&[0x0f, 0x59, 0xca], f32x4),
        (&[0xf2, 0x0f, 0x59, 0xca], f64x2),
        (&[0x0f, 0x5e, 0xca], f32x4),
        (&[0xf2, 0x0f, 0x5e, 0xca], f64x2),
        (&[0x0f, 0x51, 0xca], f32x4),
        (&[0xf2, 0x0f, 0x51, 0xca], f64x2),
        (&[0xf3, 0x0f, 0x5c, 0xca], f32x4),
        (&[0x66, 0x0f, 0x5a, 0xca], f64x2),
        (&[0x0f, 0x5d, 0xca], f32x4),
        (&[0x0f, 0xc2, 0xca, 1], f32x4),
        (&[0x66, 0x0f, 0x5b, 0xca], f32x4),
        (&[0xf2, 0x0f, 0x5a, 0xca], f64x2),
        (&[0xf2, 0x0f, 0x5f, 0xca], f64x2),
        (&[0x0f, 0x5a, 0xca], f32x4),
    ];
    let mut r = Rng::new(2024);
    let mut cases = Vec::new();
    for _ in 0..4000 {
        for (op, (_, gen)) in ops.iter().enumerate() {
            let (a, b) = gen(&mut r);
            let masks = ((r.next() as u32) | (r.next() as u32) | (r.next() as u32)) & 0x1f80;
            let flags = if r.next().is_multiple_of(4) { r.next() as u32 & 0x3f } else { 0 };
            let csr = masks | flags | (r.next() as u32 & (3 << 13 | fp::DAZ | fp::FTZ));
            cases.push((op, a, b, csr));
        }
    }
    let mut input = String::new();
    for &(op, a, b, csr) in &cases {
        input += &format!("{op} {:x} {:x} {:x} {:x} {csr:x}\n", (a >> 64) as u64, a as u64, (b >> 64) as u64, b as u64);
    }
    let mut child = Command::new(&exe).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let out = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), cases.len());
    let mut machines: Vec<Machine> = ops.iter().map(|(code, _)| Machine::new(code)).collect();
    let mut faults = 0;
    for (&(op, a, b, csr), line) in cases.iter().zip(lines) {
        let f: Vec<u64> = line.split(' ').map(|t| u64::from_str_radix(t, 16).unwrap()).collect();
        let (hcsr, hfault, hx1) = (f[0] as u32, f[1] == 1, (f[2] as u128) << 64 | f[3] as u128);
        let mut cpu = CpuState::default();
        set(&mut cpu, 1, a);
        set(&mut cpu, 2, b);
        cpu.mxcsr = csr;
        let exit = machines[op].run(&mut cpu);
        let want = if hfault { Exit::Fault(Fault::Simd) } else { Exit::Budget };
        faults += hfault as usize;
        assert_eq!((exit, cpu.mxcsr, get(&cpu, 1)), (want, hcsr, hx1), "op {op} a={a:#034x} b={b:#034x} mxcsr={csr:#x}");
    }
    eprintln!("unmasked_exceptions_match_host: {} cases, {faults} faulted", cases.len());
    assert!(faults > cases.len() / 10);
}

/// RCP/RSQRT packed and scalar forms; bit-exact only on an AMD host (see
/// approx.rs), so elsewhere this checks that they run.
#[test]
fn rcp_rsqrt_instructions() {
    let amd = std::fs::read_to_string("/proc/cpuinfo").map(|c| c.contains("AuthenticAMD")).unwrap_or(false);
    let mut r = Rng::new(8);
    let cases: [(&[u8], &str); 4] = [
        (&[0x0f, 0x53, 0xca], "rcpps"),
        (&[0x0f, 0x52, 0xca], "rsqrtps"),
        (&[0xf3, 0x0f, 0x53, 0xca], "rcpss"),
        (&[0xf3, 0x0f, 0x52, 0xca], "rsqrtss"),
    ];
    for (code, name) in cases {
        let mut mach = Machine::new(code);
        let mut cpu = CpuState::default();
        for _ in 0..TRIALS {
            let (a, b) = f32x4(&mut r);
            let csr = modes().nth((r.next() % 16) as usize).unwrap();
            let (hr, hc) = match name {
                "rcpps" => host!("rcpps", a, b, csr),
                "rsqrtps" => host!("rsqrtps", a, b, csr),
                "rcpss" => host!("rcpss", a, b, csr),
                _ => host!("rsqrtss", a, b, csr),
            };
            set(&mut cpu, 1, a);
            set(&mut cpu, 2, b);
            cpu.mxcsr = csr;
            assert_eq!(mach.run(&mut cpu), Exit::Budget);
            assert_eq!(cpu.mxcsr, hc);
            if amd {
                assert_eq!(get(&cpu, 1), hr, "{name} b={b:#x} mxcsr={csr:#x}");
            }
        }
    }
}

/// Rough speed of common SSE instructions against plain integer ones
/// (`cargo test --release -p oxvm-cpu sse_speed -- --ignored --nocapture`).
#[test]
#[ignore]
fn sse_speed() {
    let sse: &[u8] = &[
        0xf2, 0x0f, 0x58, 0xc1, // addsd xmm0, xmm1
        0xf2, 0x0f, 0x59, 0xc2, // mulsd xmm0, xmm2
        0x0f, 0x28, 0x18, // movaps xmm3, [rax]
        0x66, 0x0f, 0xfe, 0xdc, // paddd xmm3, xmm4
        0x66, 0x0f, 0xef, 0xed, // pxor xmm5, xmm5
        0x0f, 0x11, 0x58, 0x10, // movups [rax+16], xmm3
        0x0f, 0x58, 0xf7, // addps xmm6, xmm7
        0xff, 0xc9, // dec ecx
        0x75, 0xe2, // jnz loop
    ];
    let int: &[u8] = &[
        0x48, 0x01, 0xd8, 0x48, 0x01, 0xd8, 0x48, 0x31, 0xd2, 0x48, 0x01, 0xd8, 0x48, 0x01, 0xd8, 0x48, 0x01, 0xd8, 0x48, 0x01, 0xd8, 0xff,
        0xc9, 0x75, 0xe7,
    ];
    for (name, code) in [("sse", sse), ("int", int)] {
        let mut mach = Machine::new(code);
        let mut cpu = CpuState::default();
        cpu.gpr[crate::state::reg::RAX] = DATA;
        cpu.gpr[crate::state::reg::RCX] = 1_000_000;
        cpu.xmm[0] = [1.5f64.to_bits(), 0];
        cpu.xmm[1] = [0.25f64.to_bits(), 0];
        cpu.xmm[2] = [1.0000001f64.to_bits(), 0];
        cpu.xmm[6] = [0x3f80_0000_3f80_0000; 2];
        cpu.xmm[7] = [0x3400_0000_3400_0000; 2];
        cpu.rip = CODE;
        let t = std::time::Instant::now();
        let mut bus = mach.bus();
        let (exit, n) = crate::run(&mut cpu, &mut bus, 9_000_000);
        let dt = t.elapsed();
        eprintln!("{name}: {exit:?} {n} instructions, {:.2} ns each", dt.as_nanos() as f64 / n as f64);
    }
}

// Legacy CMPPS uses only imm8[2:0].
diff!(cmpps_imm_high_bits, f32x4, false, [0x0f, 0xc2, 0xca, 0x1d], "cmpps", ", 0x1d");

#[test]
fn conversions_with_memory_operands() {
    let mut d = vec![0u8; 32];
    d[..8].copy_from_slice(&(-3_000_000_000i64).to_le_bytes());
    d[8..12].copy_from_slice(&2.5f32.to_bits().to_le_bytes());
    d[16..24].copy_from_slice(&(-2.5f64).to_bits().to_le_bytes());
    use crate::state::reg::RCX;
    // cvtsi2sd xmm1, qword [rax]; cvtsi2sd xmm1, dword [rax].
    let x1 = 0x7777_u128 << 64 | 0x1234;
    let (_, cpu, _) = run_mem(&[0xf2, 0x48, 0x0f, 0x2a, 0x08], x1, 0, &d);
    assert_eq!(get(&cpu, 1), 0x7777_u128 << 64 | (-3e9f64).to_bits() as u128);
    let (_, cpu, _) = run_mem(&[0xf2, 0x0f, 0x2a, 0x08], x1, 0, &d);
    assert_eq!(get(&cpu, 1), 0x7777_u128 << 64 | (-3_000_000_000i64 as i32 as f64).to_bits() as u128);
    // cvtss2si ecx, [rax+8] (2.5 rounds to even: 2); cvtsd2si rcx, [rax+16] (-2).
    let (_, cpu, _) = run_mem(&[0xf3, 0x0f, 0x2d, 0x48, 0x08], 0, 0, &d);
    assert_eq!((cpu.gpr[RCX], cpu.mxcsr), (2, 0x1f80 | fp::PE));
    let (_, cpu, _) = run_mem(&[0xf2, 0x48, 0x0f, 0x2d, 0x48, 0x10], 0, 0, &d);
    assert_eq!(cpu.gpr[RCX], -2i64 as u64);
    // cvttss2si ecx, [rax+8]: 2; the 32-bit destination zero-extends.
    let (_, cpu, _) = run_mem(&[0xf3, 0x0f, 0x2c, 0x48, 0x08], 0, 0, &d);
    assert_eq!(cpu.gpr[RCX], 2);
    // cvtps2pd xmm1, [rax+8] reads 8 unaligned bytes.
    let (exit, cpu, _) = run_mem(&[0x0f, 0x5a, 0x48, 0x08], 0, 0, &d);
    assert_eq!(exit, Exit::Budget);
    assert_eq!(get(&cpu, 1) as u64, 2.5f64.to_bits());
    // pinsrw xmm1, [rax+9], 7 (m16, unaligned).
    let (_, cpu, _) = run_mem(&[0x66, 0x0f, 0xc4, 0x48, 0x09, 7], x1, 0, &d);
    assert_eq!(get(&cpu, 1), x1 | (u16::from_le_bytes([d[9], d[10]]) as u128) << 112);
}

diff!(subpd, f64x2, true, [0x66, 0x0f, 0x5c, 0xca], "subpd");
diff!(subss_i, f32x4, true, [0xf3, 0x0f, 0x5c, 0xca], "subss");
diff!(mulss_i, f32x4, true, [0xf3, 0x0f, 0x59, 0xca], "mulss");
diff!(divsd_i, f64x2, true, [0xf2, 0x0f, 0x5e, 0xca], "divsd");
diff!(minpd, f64x2, true, [0x66, 0x0f, 0x5d, 0xca], "minpd");
diff!(maxps, f32x4, true, [0x0f, 0x5f, 0xca], "maxps");
diff!(minss_i, f32x4, true, [0xf3, 0x0f, 0x5d, 0xca], "minss");
diff!(maxsd_i, f64x2, true, [0xf2, 0x0f, 0x5f, 0xca], "maxsd");
diff!(cmpps_eq, f32x4, true, [0x0f, 0xc2, 0xca, 0], "cmpps", ", 0");
diff!(cmpps_le, f32x4, true, [0x0f, 0xc2, 0xca, 2], "cmpps", ", 2");
diff!(cmpps_nlt, f32x4, true, [0x0f, 0xc2, 0xca, 5], "cmpps", ", 5");
diff!(cmppd_neq, f64x2, true, [0x66, 0x0f, 0xc2, 0xca, 4], "cmppd", ", 4");
diff!(cmpss_ord, f32x4, true, [0xf3, 0x0f, 0xc2, 0xca, 7], "cmpss", ", 7");
diff!(cmpsd_nle, f64x2, true, [0xf2, 0x0f, 0xc2, 0xca, 6], "cmpsd", ", 6");
diff!(andnps, f32x4, false, [0x0f, 0x55, 0xca], "andnps");
diff!(andpd, f64x2, false, [0x66, 0x0f, 0x54, 0xca], "andpd");
diff!(orpd, f64x2, false, [0x66, 0x0f, 0x56, 0xca], "orpd");
diff!(xorps, f32x4, false, [0x0f, 0x57, 0xca], "xorps");
diff!(movapd_rr, mixed, false, [0x66, 0x0f, 0x28, 0xca], "movapd");
diff!(movdqa_rr, ints, false, [0x66, 0x0f, 0x6f, 0xca], "movdqa");
diff!(movq_d6_rr, ints, false, [0x66, 0x0f, 0xd6, 0xd1], "movq");

// The sticky fast paths on mostly ordinary operands.
diff!(addps_n, n32x4, true, [0x0f, 0x58, 0xca], "addps");
diff!(addpd_n, n64x2, true, [0x66, 0x0f, 0x58, 0xca], "addpd");
diff!(addss_n, n32x4, true, [0xf3, 0x0f, 0x58, 0xca], "addss");
diff!(subsd_n, n64x2, true, [0xf2, 0x0f, 0x5c, 0xca], "subsd");
diff!(subps_n, n32x4, true, [0x0f, 0x5c, 0xca], "subps");
diff!(mulps_n, n32x4, true, [0x0f, 0x59, 0xca], "mulps");
diff!(mulpd_n, n64x2, true, [0x66, 0x0f, 0x59, 0xca], "mulpd");
diff!(mulss_n, n32x4, true, [0xf3, 0x0f, 0x59, 0xca], "mulss");
diff!(divpd_n, n64x2, true, [0x66, 0x0f, 0x5e, 0xca], "divpd");
diff!(divps_n, n32x4, true, [0x0f, 0x5e, 0xca], "divps");
diff!(divsd_n, n64x2, true, [0xf2, 0x0f, 0x5e, 0xca], "divsd");
diff!(sqrtpd_n, n64x2, true, [0x66, 0x0f, 0x51, 0xca], "sqrtpd");
diff!(sqrtss_n, n32x4, true, [0xf3, 0x0f, 0x51, 0xca], "sqrtss");
diff!(sqrtsd_n, n64x2, true, [0xf2, 0x0f, 0x51, 0xca], "sqrtsd");
diff!(minpd_n, n64x2, true, [0x66, 0x0f, 0x5d, 0xca], "minpd");
diff!(maxss_n, n32x4, true, [0xf3, 0x0f, 0x5f, 0xca], "maxss");
diff!(cmppd_lt_n, n64x2, true, [0x66, 0x0f, 0xc2, 0xca, 1], "cmppd", ", 1");
diff!(cmpss_le_n, n32x4, true, [0xf3, 0x0f, 0xc2, 0xca, 2], "cmpss", ", 2");
diff!(cvtsd2ss_n, n64x2, true, [0xf2, 0x0f, 0x5a, 0xca], "cvtsd2ss");
diff!(cvtss2sd_n, n32x4, true, [0xf3, 0x0f, 0x5a, 0xca], "cvtss2sd");

/// Whole-instruction conversions between XMM and GPRs against the host,
/// in every mode (with and without sticky flags): CVTTSx2SI, CVTSx2SI and
/// CVTSI2Sx, 32- and 64-bit integers.
#[test]
fn gpr_conversions_match_host() {
    use crate::state::reg::{RAX, RCX};
    let mut r = Rng::new(77);
    // (code, f32 source, 64-bit destination): op xAX, xmm2.
    let to_gpr: [(&[u8], &str); 8] = [
        (&[0xf2, 0x0f, 0x2c, 0xc2], "cvttsd2si32"),
        (&[0xf2, 0x48, 0x0f, 0x2c, 0xc2], "cvttsd2si64"),
        (&[0xf3, 0x0f, 0x2c, 0xc2], "cvttss2si32"),
        (&[0xf3, 0x48, 0x0f, 0x2c, 0xc2], "cvttss2si64"),
        (&[0xf2, 0x0f, 0x2d, 0xc2], "cvtsd2si32"),
        (&[0xf2, 0x48, 0x0f, 0x2d, 0xc2], "cvtsd2si64"),
        (&[0xf3, 0x0f, 0x2d, 0xc2], "cvtss2si32"),
        (&[0xf3, 0x48, 0x0f, 0x2d, 0xc2], "cvtss2si64"),
    ];
    let mut to_m: Vec<Machine> = to_gpr.iter().map(|(c, _)| Machine::new(c)).collect();
    // op xmm1, ecx/rcx.
    let from_gpr: [(&[u8], &str); 4] = [
        (&[0xf2, 0x0f, 0x2a, 0xc9], "cvtsi2sd32"),
        (&[0xf2, 0x48, 0x0f, 0x2a, 0xc9], "cvtsi2sd64"),
        (&[0xf3, 0x0f, 0x2a, 0xc9], "cvtsi2ss32"),
        (&[0xf3, 0x48, 0x0f, 0x2a, 0xc9], "cvtsi2ss64"),
    ];
    let mut from_m: Vec<Machine> = from_gpr.iter().map(|(c, _)| Machine::new(c)).collect();
    let mut cpu = CpuState::default();
    for _ in 0..600 {
        let d = match r.below(3) {
            0 => operand(F64, &mut r),
            1 => normal(F64, &mut r),
            // Around 2^31 and 2^63, either sign.
            _ => {
                let e: u64 = if r.next() & 1 != 0 { 0x41e0 } else { 0x43e0 };
                ((e << 48) - 0x2_0000_0000 + (r.next() & 0x3_ffff_ffff)) ^ (r.next() & (1 << 63))
            }
        };
        let s = match r.below(3) {
            0 => operand(F32, &mut r),
            1 => normal(F32, &mut r),
            _ => {
                let e: u64 = if r.next() & 1 != 0 { 0x4f00_0000 } else { 0x5f00_0000 };
                (e + (r.next() & 0x3f) - 0x20) ^ (r.next() & 0x8000_0000)
            }
        };
        let v = r.next() >> r.below(64);
        let v = if r.next() & 1 != 0 { v.wrapping_neg() } else { v };
        for csr in test_modes(true) {
            let hosts = [
                host_to_gpr!("cvttsd2si {r:e}, {y}", d as u128, csr),
                host_to_gpr!("cvttsd2si {r}, {y}", d as u128, csr),
                host_to_gpr!("cvttss2si {r:e}, {y}", s as u128, csr),
                host_to_gpr!("cvttss2si {r}, {y}", s as u128, csr),
                host_to_gpr!("cvtsd2si {r:e}, {y}", d as u128, csr),
                host_to_gpr!("cvtsd2si {r}, {y}", d as u128, csr),
                host_to_gpr!("cvtss2si {r:e}, {y}", s as u128, csr),
                host_to_gpr!("cvtss2si {r}, {y}", s as u128, csr),
            ];
            for (k, ((_, name), want)) in to_gpr.iter().zip(hosts).enumerate() {
                let src = if name.contains("sd") { d } else { s };
                set(&mut cpu, 2, src as u128 | 0x5555_u128 << 64);
                cpu.gpr[RAX] = 0xdead_beef_dead_beef;
                cpu.mxcsr = csr;
                assert_eq!(to_m[k].run(&mut cpu), Exit::Budget);
                assert_eq!((cpu.gpr[RAX], cpu.mxcsr), want, "{name} {src:#x} mxcsr={csr:#x}");
            }
            let hosts = [
                host_from_gpr!("cvtsi2sd {x}, {g:e}", v, csr),
                host_from_gpr!("cvtsi2sd {x}, {g}", v, csr),
                host_from_gpr!("cvtsi2ss {x}, {g:e}", v, csr),
                host_from_gpr!("cvtsi2ss {x}, {g}", v, csr),
            ];
            for (k, ((_, name), want)) in from_gpr.iter().zip(hosts).enumerate() {
                set(&mut cpu, 1, 0);
                cpu.gpr[RCX] = v;
                cpu.mxcsr = csr;
                assert_eq!(from_m[k].run(&mut cpu), Exit::Budget);
                assert_eq!((get(&cpu, 1), cpu.mxcsr), want, "{name} {v:#x} mxcsr={csr:#x}");
            }
        }
    }
}

/// The memory forms of the specialised handlers give what the register
/// forms give (those are checked against the host above), and keep the
/// rest of the destination; the operands sit at an unaligned address for
/// the scalar forms. ModRM 0xCA = xmm1, xmm2; 0x08 = xmm1, [rax].
#[test]
fn memory_forms_match_register_forms() {
    type Gen = fn(&mut Rng) -> (u128, u128);
    // (opcode bytes before ModRM, trailing immediate, operand bytes, gen)
    let ops: &[(&[u8], &[u8], usize, Gen)] = &[
        (&[0x66, 0x0f, 0x58], &[], 16, n64x2),
        (&[0x0f, 0x59], &[], 16, n32x4),
        (&[0xf2, 0x0f, 0x5e], &[], 8, n64x2),
        (&[0xf3, 0x0f, 0x5c], &[], 4, n32x4),
        (&[0xf2, 0x0f, 0x51], &[], 8, f64x2),
        (&[0x66, 0x0f, 0x5f], &[], 16, f64x2),
        (&[0xf3, 0x0f, 0x5d], &[], 4, f32x4),
        (&[0x66, 0x0f, 0xc2], &[2], 16, n64x2),
        (&[0xf2, 0x0f, 0xc2], &[5], 8, f64x2),
        (&[0x66, 0x0f, 0x2e], &[], 8, n64x2),
        (&[0x0f, 0x2f], &[], 4, f32x4),
        (&[0xf3, 0x0f, 0x5a], &[], 4, n32x4),
        (&[0xf2, 0x0f, 0x5a], &[], 8, n64x2),
        (&[0x66, 0x0f, 0xfe], &[], 16, ints),
        (&[0x66, 0x0f, 0xef], &[], 16, ints),
        (&[0x66, 0x0f, 0x62], &[], 16, ints),
        (&[0x66, 0x0f, 0x70], &[0x6c], 16, ints),
        (&[0x0f, 0xc6], &[0x93], 16, ints),
        (&[0x66, 0x0f, 0x74], &[], 16, ints),
        (&[0x66, 0x0f, 0xf4], &[], 16, ints),
        (&[0x0f, 0x28], &[], 16, ints),
        (&[0xf3, 0x0f, 0x6f], &[], 16, ints),
        (&[0xf3, 0x0f, 0x7e], &[], 8, ints),
        (&[0x66, 0x0f, 0x6e], &[], 4, ints),
    ];
    let mut r = Rng::new(99);
    for &(pre, imm, bytes, gen) in ops {
        let code = |modrm: u8| [pre, &[modrm], imm].concat();
        // MOVD xmm, r/m32 takes a GPR in its register form (ecx).
        let gpr_src = pre == [0x66, 0x0f, 0x6e];
        let mut reg = Machine::new(&if gpr_src { vec![0x66, 0x0f, 0x6e, 0xc9] } else { code(0xca) });
        let mut mem = Machine::new(&code(0x08));
        let off = if bytes == 16 { 16 } else { 16 + 4 + r.below(3) * 4 };
        for _ in 0..300 {
            let (a, b) = gen(&mut r);
            for csr in [0x1f80, 0x1f80 | fp::PE, 0x3f80 | fp::PE | fp::DAZ, 0x1fbf] {
                let mut c1 = CpuState::default();
                set(&mut c1, 1, a);
                set(&mut c1, 2, b);
                c1.gpr[crate::state::reg::RCX] = b as u64;
                c1.mxcsr = csr;
                let mut c2 = c1.clone();
                c2.gpr[crate::state::reg::RAX] = DATA + off;
                let bb = if gpr_src { b & 0xffff_ffff } else { b };
                mem.bus().write_bytes(DATA + off, &bb.to_le_bytes()[..bytes]).unwrap();
                let e1 = reg.run(&mut c1);
                let e2 = mem.run(&mut c2);
                assert_eq!(
                    (e1, get(&c1, 1), c1.mxcsr, c1.rflags()),
                    (e2, get(&c2, 1), c2.mxcsr, c2.rflags()),
                    "{pre:x?} a={a:#x} b={b:#x} mxcsr={csr:#x}"
                );
            }
        }
    }
}

/// Stores of the specialised handlers, and addressing that is not the
/// plain 64-bit form (32-bit address size, FS base).
#[test]
fn stores_and_unusual_addressing() {
    let d = pattern();
    let x1 = 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10u128;
    // movaps/movups/movsd/movss/movq/movd stores at [rax+16].
    for (code, n) in [
        (&[0x0f, 0x29, 0x48, 0x10][..], 16),
        (&[0x0f, 0x11, 0x48, 0x10], 16),
        (&[0xf2, 0x0f, 0x11, 0x48, 0x10], 8),
        (&[0xf3, 0x0f, 0x11, 0x48, 0x10], 4),
        (&[0x66, 0x0f, 0xd6, 0x48, 0x10], 8),
        (&[0x66, 0x48, 0x0f, 0x7e, 0x48, 0x10], 8),
        (&[0x66, 0x0f, 0x7e, 0x48, 0x10], 4),
    ] {
        let (exit, _, out) = run_mem(code, x1, 0, &d);
        assert_eq!(exit, Exit::Budget, "{code:x?}");
        let mut want = d.clone();
        want[16..16 + n].copy_from_slice(&x1.to_le_bytes()[..n]);
        assert_eq!(out, want, "{code:x?}");
    }
    // movups xmm1, [eax+3] with a 32-bit address size: RAX's upper half
    // is ignored.
    let mut mach = Machine::new(&[0x67, 0x0f, 0x10, 0x48, 0x03]);
    mach.bus().write_bytes(DATA, &d).unwrap();
    let mut cpu = CpuState::default();
    cpu.gpr[crate::state::reg::RAX] = 0xffff_ffff_0000_0000 | DATA;
    assert_eq!(mach.run(&mut cpu), Exit::Budget);
    assert_eq!(get(&cpu, 1), le128(&d[3..]));
    // addpd xmm1, fs:[rax]: the FS base is added.
    let mut mach = Machine::new(&[0x64, 0x66, 0x0f, 0x58, 0x08]);
    let v = 1.5f64.to_bits() as u128 | (2.5f64.to_bits() as u128) << 64;
    mach.bus().write_bytes(DATA + 32, &v.to_le_bytes()).unwrap();
    let mut cpu = CpuState { fs_base: 32, ..Default::default() };
    cpu.gpr[crate::state::reg::RAX] = DATA;
    set(&mut cpu, 1, 1f64.to_bits() as u128 | (1f64.to_bits() as u128) << 64);
    assert_eq!(mach.run(&mut cpu), Exit::Budget);
    assert_eq!(get(&cpu, 1), 2.5f64.to_bits() as u128 | (3.5f64.to_bits() as u128) << 64);
    // A page fault on the source leaves the destination and MXCSR alone.
    let mut mach = Machine::new(&[0xf2, 0x0f, 0x59, 0x08]);
    let mut cpu = CpuState::default();
    cpu.gpr[crate::state::reg::RAX] = DATA + 0x2000;
    cpu.mxcsr = 0x1fa0;
    set(&mut cpu, 1, x1);
    assert!(matches!(mach.run(&mut cpu), Exit::Fault(Fault::Page { .. })));
    assert_eq!((get(&cpu, 1), cpu.mxcsr, cpu.rip), (x1, 0x1fa0, CODE));
}

/// Products and quotients just around the smallest normal: a tiny exact
/// result that rounds up to the smallest normal underflows (tininess is
/// judged before the exponent is bounded), which the fast paths must leave
/// to the exact path even with PE sticky.
#[test]
fn results_at_the_smallest_normal() {
    let mut r = Rng::new(31);
    let cases: [(&[u8], bool, bool); 6] = [
        (&[0xf2, 0x0f, 0x59, 0xca], false, false),
        (&[0x66, 0x0f, 0x59, 0xca], false, false),
        (&[0xf3, 0x0f, 0x59, 0xca], true, false),
        (&[0x0f, 0x59, 0xca], true, false),
        (&[0xf2, 0x0f, 0x5e, 0xca], false, true),
        (&[0xf3, 0x0f, 0x5e, 0xca], true, true),
    ];
    for (code, single, div) in cases {
        let mut mach = Machine::new(code);
        let mut cpu = CpuState::default();
        let (min, one, frac) =
            if single { (0x0080_0000u64, 0x3f80_0000u64, 23) } else { (0x0010_0000_0000_0000, 0x3ff0_0000_0000_0000, 52) };
        let lanes = if single { 4 } else { 2 };
        for _ in 0..400 {
            let (mut a, mut b) = (0u128, 0u128);
            for k in 0..lanes {
                // Just below 1 (or just above it, for the divisor), and
                // the smallest normal plus a few units.
                let near1 = if div { one + 1 + r.below(4) } else { one - 1 - r.below(4) };
                let small = (min + r.below(4)) | (r.next() & 1) << (frac + if single { 8 } else { 11 });
                let (x, y) = if div {
                    (small, near1)
                } else if r.next() & 1 != 0 {
                    (near1, small)
                } else {
                    (small, near1)
                };
                let w = if single { 32 } else { 64 };
                a |= (x as u128) << (w * k);
                b |= (y as u128) << (w * k);
            }
            for csr in test_modes(true) {
                let (hr, hc) = match (code.len(), code[0], code[code.len() - 2]) {
                    (4, 0xf2, 0x59) => host!("mulsd", a, b, csr),
                    (4, 0x66, _) => host!("mulpd", a, b, csr),
                    (4, 0xf3, 0x59) => host!("mulss", a, b, csr),
                    (3, _, _) => host!("mulps", a, b, csr),
                    (4, 0xf2, _) => host!("divsd", a, b, csr),
                    _ => host!("divss", a, b, csr),
                };
                set(&mut cpu, 1, a);
                set(&mut cpu, 2, b);
                cpu.mxcsr = csr;
                assert_eq!(mach.run(&mut cpu), Exit::Budget);
                assert_eq!((get(&cpu, 1), cpu.mxcsr), (hr, hc), "{code:x?} a={a:#x} b={b:#x} mxcsr={csr:#x}");
            }
        }
    }
}
