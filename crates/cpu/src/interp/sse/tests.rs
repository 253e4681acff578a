//! Whole-instruction tests: each instruction is decoded and run by the
//! interpreter on XMM1/XMM2 and compared, destination and MXCSR, with the
//! same instruction run on the host CPU. Memory forms, faults and the
//! GPR-side instructions are checked against values worked out by hand.

use core::arch::asm;

use super::fp::tests::{host, host_flags, m, modes, operand, operand2, u, Rng};
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
                for csr in modes().take(if $all_modes { 16 } else { 1 }) {
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
