//! Regression tests for what the differential tester found at the edges,
//! emulator-only so they run on every host: the order in which multi-byte
//! x87 stores and state images check their pages (measured on the host, an
//! AMD Zen 4: see the rules at `probe_image`/`probe_fx` in x87.rs), and the
//! transcendental results at and beyond the ends of their domains.

use super::push;
use super::sf::{Ext, C1, DE, ES, IE, PE, SF, UE};
use crate::mem::{AddressSpace, Bus, Memory, Prot};
use crate::state::CpuState;
use crate::{Access, Exit, Fault};

const CODE: u64 = 0x40_0000;
/// Two adjacent data pages; the boundary between them is `HI`.
const LO: u64 = 0x60_0000;
const HI: u64 = 0x60_1000;
/// What the data pages hold before the instruction.
const FILL: u8 = 0xaa;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Page {
    Rw,
    Ro,
    Unmapped,
}

struct Outcome {
    exit: Exit,
    before: CpuState,
    after: CpuState,
    /// Contents of the two data pages afterwards (FILL where unmapped).
    data: Vec<u8>,
}

/// Run `insn` (memory operand at [rsi], RSI = `a`) once from the state
/// `setup` makes, with the two data pages mapped as `lo` and `hi`.
fn run(insn: &[u8], a: u64, lo: Page, hi: Page, setup: impl FnOnce(&mut CpuState)) -> Outcome {
    let mut mem = Memory::new();
    let mut space = AddressSpace::new();
    let cf = mem.phys.alloc();
    mem.phys.bytes_mut(cf)[..insn.len()].copy_from_slice(insn);
    space.map(&mut mem.phys, CODE, cf, Prot::RX);
    let mut frames = Vec::new();
    for (va, p) in [(LO, lo), (HI, hi)] {
        let f = mem.phys.alloc();
        mem.phys.bytes_mut(f).fill(FILL);
        match p {
            Page::Rw => space.map(&mut mem.phys, va, f, Prot::RW),
            Page::Ro => space.map(&mut mem.phys, va, f, Prot::READ),
            Page::Unmapped => {}
        }
        frames.push(f);
    }
    let mut cpu = CpuState { rip: CODE, ..Default::default() };
    cpu.gpr[crate::state::reg::RSI] = a;
    setup(&mut cpu);
    let before = cpu.clone();
    let mut bus = Bus::new(&mut space, &mut mem);
    let (exit, _) = crate::run(&mut cpu, &mut bus, 1);
    let mut data = Vec::new();
    for f in frames {
        data.extend_from_slice(mem.phys.bytes(f));
    }
    Outcome { exit, before, after: cpu, data }
}

/// A stack with a few values (so the images are not trivial).
fn loaded(cpu: &mut CpuState) {
    for v in [Ext::ONE, Ext::new(true, 0x4005, 0xc90f_daa2_2168_c234), Ext::new(false, 0x3ff0, 0x8000_0000_0000_0001)] {
        push(&mut cpu.x87, v);
    }
    cpu.x87.fcw = 0x0b7f;
}

fn page_fault(addr: u64, access: Access, bad: Page) -> Exit {
    Exit::Fault(Fault::Page { addr, access, present: bad == Page::Ro })
}

/// The fault is `want`, and it left registers and memory alone.
fn check(o: &Outcome, want: Exit, what: &str) {
    assert_eq!(o.exit, want, "{what}");
    assert_eq!(o.after.rip, o.before.rip, "{what}: RIP");
    assert_eq!(o.after.x87, o.before.x87, "{what}: x87 state");
    assert_eq!((o.after.mxcsr, o.after.xmm), (o.before.mxcsr, o.before.xmm), "{what}: SSE state");
    assert!(o.data.iter().all(|b| *b == FILL), "{what}: memory was written");
}

#[test]
fn env_images_check_their_leading_field_then_their_last_byte() {
    // (form, image length, leading field = the control word's slot)
    let forms: &[(&str, &[u8], u64, u64, Access)] = &[
        ("fnstenv", &[0xd9, 0x36], 28, 4, Access::Write),
        ("fnstenv m14", &[0x66, 0xd9, 0x36], 14, 2, Access::Write),
        ("fnsave", &[0xdd, 0x36], 108, 4, Access::Write),
        ("fnsave m94", &[0x66, 0xdd, 0x36], 94, 2, Access::Write),
        ("fldenv", &[0xd9, 0x26], 28, 4, Access::Read),
        ("fldenv m14", &[0x66, 0xd9, 0x26], 14, 2, Access::Read),
        ("frstor", &[0xdd, 0x26], 108, 4, Access::Read),
        ("frstor m94", &[0x66, 0xdd, 0x26], 94, 2, Access::Read),
    ];
    for &(name, insn, len, head, access) in forms {
        let bads: &[Page] = if access == Access::Write { &[Page::Ro, Page::Unmapped] } else { &[Page::Unmapped] };
        for &bad in bads {
            // From a good page into a bad one: the leading field faults at
            // the boundary if it crosses it, otherwise the last byte does.
            for s in 1..len {
                let a = HI - s;
                let want = if s < head { HI } else { a + len - 1 };
                let o = run(insn, a, Page::Rw, bad, loaded);
                check(&o, page_fault(want, access, bad), &format!("{name} at boundary-{s} into {bad:?}"));
            }
            // From a bad page into a good one: the first byte faults.
            for s in 1..len {
                let a = HI - s;
                let o = run(insn, a, bad, Page::Rw, loaded);
                check(&o, page_fault(a, access, bad), &format!("{name} at boundary-{s} from {bad:?}"));
            }
            // Entirely in a bad page.
            let o = run(insn, LO + 0x100, bad, bad, loaded);
            check(&o, page_fault(LO + 0x100, access, bad), &format!("{name} inside {bad:?}"));
        }
    }
    // The checks pass on good pages: the image is written.
    let o = run(&[0xd9, 0x36], HI - 28, Page::Rw, Page::Ro, loaded);
    assert_eq!(o.exit, Exit::Budget);
    assert_eq!(&o.data[0x1000 - 28..0x1000 - 26], &0x0b7fu16.to_le_bytes());
}

#[test]
fn fxsave_images_check_their_last_byte_first() {
    for (name, insn, access) in [("fxsave", [0x0f, 0xae, 0x06], Access::Write), ("fxrstor", [0x0f, 0xae, 0x0e], Access::Read)] {
        let bads: &[Page] = if access == Access::Write { &[Page::Ro, Page::Unmapped] } else { &[Page::Unmapped] };
        for &bad in bads {
            for s in (16..512).step_by(16) {
                let a = HI - s;
                let o = run(&insn, a, Page::Rw, bad, loaded);
                check(&o, page_fault(a + 511, access, bad), &format!("{name} at boundary-{s} into {bad:?}"));
            }
            // Both ends bad: the last byte is reported, not the first.
            let o = run(&insn, LO + 0x400, bad, bad, loaded);
            check(&o, page_fault(LO + 0x400 + 511, access, bad), &format!("{name} inside {bad:?}"));
        }
        // First byte bad, last byte good: the first byte faults.
        let o = run(&insn, HI - 256, Page::Unmapped, Page::Rw, loaded);
        check(&o, page_fault(HI - 256, access, Page::Unmapped), &format!("{name} from unmapped"));
    }
    // FXSAVE into a read-only page followed by an unmapped one: the
    // unmapped last byte is reported.
    let o = run(&[0x0f, 0xae, 0x06], HI - 256, Page::Ro, Page::Unmapped, loaded);
    check(&o, page_fault(HI + 255, Access::Write, Page::Unmapped), "fxsave from read-only into unmapped");
    // FXRSTOR checks the pages before MXCSR: the fill makes MXCSR invalid,
    // which only raises #GP once the whole image is readable.
    let o = run(&[0x0f, 0xae, 0x0e], HI - 256, Page::Ro, Page::Ro, loaded);
    check(&o, Exit::Fault(Fault::GeneralProtection), "fxrstor with a reserved MXCSR bit");
}

#[test]
fn suppressed_stores_still_check_their_destination() {
    // An empty stack with IE unmasked: the store is suppressed, yet the
    // destination is checked first as for a real store.
    let stores: &[(&str, &[u8], u64)] = &[
        ("fst m32", &[0xd9, 0x16], 4),
        ("fstp m64", &[0xdd, 0x1e], 8),
        ("fstp m80", &[0xdb, 0x3e], 10),
        ("fist m16", &[0xdf, 0x16], 2),
        ("fistp m32", &[0xdb, 0x1e], 4),
        ("fistp m64", &[0xdf, 0x3e], 8),
        ("fisttp m64", &[0xdd, 0x0e], 8),
        ("fbstp", &[0xdf, 0x36], 10),
    ];
    let unmasked = |c: &mut CpuState| c.x87.fcw = 0x037e;
    for &(name, insn, size) in stores {
        for bad in [Page::Ro, Page::Unmapped] {
            let o = run(insn, HI, Page::Rw, bad, unmasked);
            check(&o, page_fault(HI, Access::Write, bad), &format!("{name} into {bad:?}"));
            let o = run(insn, HI - size + 1, Page::Rw, bad, unmasked);
            check(&o, page_fault(HI, Access::Write, bad), &format!("{name} across into {bad:?}"));
        }
        // On a writable page: no fault, nothing written, the stack fault
        // recorded and pending.
        let o = run(insn, HI - size, Page::Rw, Page::Ro, unmasked);
        assert_eq!(o.exit, Exit::Budget, "{name}");
        assert!(o.data.iter().all(|b| *b == FILL), "{name}: memory was written");
        assert_eq!(o.after.x87.fsw & (IE | SF | ES | C1), IE | SF | ES, "{name}");
    }
}

/// Run `insn` on a stack holding `st` (ST0 first) with control word `fcw`.
fn exec(insn: &[u8], st: &[Ext], fcw: u16) -> CpuState {
    let o = run(insn, LO, Page::Rw, Page::Rw, |c| {
        c.x87.fcw = fcw;
        for v in st.iter().rev() {
            push(&mut c.x87, *v);
        }
    });
    assert_eq!(o.exit, Exit::Budget);
    o.after
}

fn st0(cpu: &CpuState) -> (u16, u64) {
    (cpu.st(0).sign_exp, cpu.st(0).signif)
}

#[test]
fn f2xm1_at_the_ends_of_its_domain() {
    // 2^1 - 1 comes out a hair below 1 on the host: 1 rounded up to
    // nearest and up, 1 - 2^-64 down and toward zero; 2^-1 - 1 is exactly
    // -1/2. Inexact either way.
    for rc in 0..4u16 {
        let fcw = 0x037f | rc << 10;
        let cpu = exec(&[0xd9, 0xf0], &[Ext::ONE], fcw);
        let (want, c1) = if rc == 0 || rc == 2 { ((0x3fff, 1 << 63), C1) } else { ((0x3ffe, u64::MAX), 0) };
        assert_eq!(st0(&cpu), want, "rc {rc}");
        assert_eq!(cpu.x87.fsw & (C1 | 0x3f), c1 | PE, "rc {rc}");
        let cpu = exec(&[0xd9, 0xf0], &[Ext::ONE.neg()], fcw);
        assert_eq!(st0(&cpu), (0xbffe, 1 << 63), "rc {rc}");
        assert_eq!(cpu.x87.fsw & (C1 | 0x3f), PE, "rc {rc}");
    }
    // Beyond the domain the operand comes back, inexact.
    let x = Ext::new(false, 0x4003, 0xa000_0000_0000_0000);
    let cpu = exec(&[0xd9, 0xf0], &[x], 0x037f);
    assert_eq!(st0(&cpu), (x.se, x.sig));
    assert_eq!(cpu.x87.fsw & 0x3f, PE);
}

/// An extended value as f64 (normal, moderate exponents only).
fn to_f64(cpu: &CpuState) -> f64 {
    let (se, sig) = st0(cpu);
    let v = sig as f64 * 2f64.powi((se & 0x7fff) as i32 - 16383 - 63);
    if se & 0x8000 != 0 {
        -v
    } else {
        v
    }
}

fn from_f64(v: f64) -> Ext {
    let bits = v.to_bits();
    let e = ((bits >> 52) & 0x7ff) as u16;
    Ext::new(v < 0.0, e + 16383 - 1023, (1 << 63) | (bits & ((1 << 52) - 1)) << 11)
}

#[test]
fn fyl2xp1_outside_its_domain() {
    // The SDM only defines |x| < 1 - sqrt(2)/2; the host returns
    // y * log2(1 + x) to an ulp for every x > -1.
    for x in [-0.9375, -0.5, -0.3, 0.3, 0.75, 2.5, 1000.25, 1.0e30, 3.0e200] {
        for y in [1.0, -3.25, 1.0e-10] {
            let cpu = exec(&[0xd9, 0xf9], &[from_f64(x), from_f64(y)], 0x037f);
            let want = y * x.ln_1p() / core::f64::consts::LN_2;
            let got = to_f64(&cpu);
            assert!(((got - want) / want).abs() < 1e-15, "fyl2xp1 x={x} y={y}: {got} vs {want}");
            assert_eq!(cpu.x87.fsw & 0x3f, PE, "x={x} y={y}");
        }
    }
    // 1 + x a power of two: exact, but inexact is still signalled.
    let cpu = exec(&[0xd9, 0xf9], &[from_f64(3.0), from_f64(-1.5)], 0x0f7f);
    assert_eq!(to_f64(&cpu), -3.0);
    assert_eq!(cpu.x87.fsw & 0x3f, PE);
    // So an exact denormal result also signals underflow.
    let y = Ext::new(false, 0, 0x2814_2553_b202_4ae0);
    let cpu = exec(&[0xd9, 0xf9], &[Ext::ONE, y], 0x037f);
    assert_eq!(st0(&cpu), (y.se, y.sig));
    assert_eq!(cpu.x87.fsw & 0x3f, PE | UE | DE);
    // With underflow unmasked, the result is delivered scaled by 2^24576
    // (values from the host).
    let cpu = exec(&[0xd9, 0xf9], &[Ext::ONE, y], 0x036f);
    assert_eq!(st0(&cpu), (0x5fff, 0xa050_954e_c809_2b80));
    assert_eq!(cpu.x87.fsw & 0x3f, PE | UE | DE);
    // x <= -1: the operand x comes back, inexact.
    let cpu = exec(&[0xd9, 0xf9], &[from_f64(-2.5), from_f64(4.0)], 0x037f);
    assert_eq!(to_f64(&cpu), -2.5);
    assert_eq!(cpu.x87.fsw & 0x3f, PE);
}

#[test]
fn fyl2x_of_powers_of_two_is_exact() {
    for k in [-16000, -70, -1, 1, 2, 3, 63, 1000, 16000] {
        let x = Ext::new(false, (16383 + k) as u16, 1 << 63);
        let cpu = exec(&[0xd9, 0xf1], &[x, from_f64(0.75)], 0x0f7f);
        assert_eq!(to_f64(&cpu), 0.75 * k as f64, "log2(2^{k})");
        assert_eq!(cpu.x87.fsw & 0x3f, PE, "log2(2^{k})");
    }
}
