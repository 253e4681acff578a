//! Differential tests against the host FPU.
//!
//! Each case runs the same machine code twice: natively, from an executable
//! page, and in the interpreter. The code restores a full x87 image with
//! FRSTOR, executes the instruction under test (memory operand at [rsi]),
//! and saves the result with FNSAVE; the two images, RAX, the arithmetic
//! flags and the memory operand must agree bit for bit (FIP/FDP excepted).

use super::sf::{self, Ctx, Ext};
use crate::mem::{AddressSpace, Bus, Memory, Prot};
use crate::state::CpuState;

use core::ffi::c_void;

extern "C" {
    fn mmap(addr: *mut c_void, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut c_void;
    fn munmap(addr: *mut c_void, len: usize) -> i32;
}

const BLOCK: usize = 1024;
const IN_IMG: usize = 0;
const OUT_IMG: usize = 128;
const OUT_RAX: usize = 240;
const OUT_FLAGS: usize = 248;
const IN_FLAGS: usize = 256;
const MEM: usize = 512;

/// The stub around the instruction under test (rdi = block, rsi = operand).
fn stub(insn: &[u8]) -> Vec<u8> {
    let mut c = vec![0x31, 0xc0, 0xff, 0xb7, 0x00, 0x01, 0x00, 0x00, 0x9d, 0xdd, 0x27];
    c.extend_from_slice(insn);
    c.extend_from_slice(&[0xdd, 0xb7, 0x80, 0, 0, 0]);
    c.extend_from_slice(&[0x48, 0x89, 0x87, 0xf0, 0, 0, 0]);
    c.extend_from_slice(&[0x9c, 0x58]);
    c.extend_from_slice(&[0x48, 0x89, 0x87, 0xf8, 0, 0, 0]);
    c.push(0xc3);
    c
}
/// Instructions in the stub before RET.
const STUB_INSNS: u64 = 10;

struct Host {
    page: *mut u8,
}

impl Host {
    fn new() -> Host {
        // SAFETY: an anonymous private RWX mapping; checked for failure.
        let p = unsafe { mmap(core::ptr::null_mut(), 4096, 7, 0x22, -1, 0) };
        assert!(p as isize != -1, "mmap failed");
        Host { page: p as *mut u8 }
    }

    fn run(&self, code: &[u8], block: &mut [u8; BLOCK]) {
        assert!(code.len() <= 4096);
        // SAFETY: the page is ours and large enough; the code follows the
        // SysV ABI (clobbers only rax and flags, leaves the x87 stack empty
        // because FNSAVE reinitialises the FPU).
        unsafe {
            core::ptr::copy_nonoverlapping(code.as_ptr(), self.page, code.len());
            let f: extern "C" fn(*mut u8, *mut u8) = core::mem::transmute(self.page);
            let b = block.as_mut_ptr();
            f(b, b.add(MEM));
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // SAFETY: unmapping the page mapped in `new`.
        unsafe {
            munmap(self.page as *mut c_void, 4096);
        }
    }
}

#[repr(C, align(64))]
struct Aligned([u8; BLOCK]);

fn emulate(code: &[u8], block: &mut [u8; BLOCK]) -> Result<(), String> {
    let mut mem = Memory::new();
    let mut space = AddressSpace::new();
    let code_va = 0x40_0000u64;
    let data_va = 0x60_0000u64;
    let stack_va = 0x80_0000u64;
    let cf = mem.phys.alloc();
    mem.phys.bytes_mut(cf)[..code.len()].copy_from_slice(code);
    space.map(&mut mem.phys, code_va, cf, Prot::RX);
    let df = mem.phys.alloc();
    mem.phys.bytes_mut(df)[..BLOCK].copy_from_slice(block);
    space.map(&mut mem.phys, data_va, df, Prot::RW);
    let sf_ = mem.phys.alloc();
    space.map(&mut mem.phys, stack_va, sf_, Prot::RW);
    let mut cpu = CpuState { rip: code_va, ..Default::default() };
    cpu.gpr[crate::state::reg::RDI] = data_va;
    cpu.gpr[crate::state::reg::RSI] = data_va + MEM as u64;
    cpu.gpr[crate::state::reg::RSP] = stack_va + 0x800;
    // Run up to the final RET (a WAIT prefix may decode as its own
    // instruction, so count by address rather than instructions).
    let ret = code_va + code.len() as u64 - 1;
    {
        let mut bus = Bus::new(&mut space, &mut mem);
        for _ in 0..STUB_INSNS + 4 {
            if cpu.rip == ret {
                break;
            }
            let (exit, n) = crate::run(&mut cpu, &mut bus, 1);
            if n != 1 {
                return Err(format!("emulator stopped at {:#x}: {exit:?}", cpu.rip));
            }
        }
    }
    block.copy_from_slice(&mem.phys.bytes(df)[..BLOCK]);
    Ok(())
}

/// One test case: initial registers (ST0 first; None = empty), control
/// word, memory operand bytes and RFLAGS.
#[derive(Clone)]
struct Case {
    st: Vec<Option<Ext>>,
    fcw: u16,
    top: u16,
    /// Condition codes and (masked) sticky exception flags already set.
    fsw: u16,
    mem: Vec<u8>,
    rflags: u64,
}

fn image(c: &Case) -> [u8; 108] {
    let mut img = [0u8; 108];
    img[0..2].copy_from_slice(&c.fcw.to_le_bytes());
    // Only masked flags: an unmasked one would raise #MF on the host at
    // the instruction under test. (Bit 15 set asks for the flags as given,
    // for the non-waiting instructions.)
    let fsw = if c.fsw & 0x8000 != 0 {
        ((c.top & 7) << 11) | (c.fsw & 0xc7ff)
    } else {
        ((c.top & 7) << 11) | (c.fsw & (0x4700 | 0x40 | (c.fcw & 0x3f)))
    };
    img[4..6].copy_from_slice(&fsw.to_le_bytes());
    let mut ftw = 0xffffu16;
    for n in 0..8 {
        let v = c.st.get(n).copied().flatten();
        let p = (c.top as usize + n) & 7;
        let val = v.unwrap_or(Ext { se: 0x1234, sig: 0x5555_aaaa_0000_1111 ^ n as u64 });
        if v.is_some() {
            ftw &= !(3 << (2 * p));
        }
        img[28 + 10 * n..36 + 10 * n].copy_from_slice(&val.sig.to_le_bytes());
        img[36 + 10 * n..38 + 10 * n].copy_from_slice(&val.se.to_le_bytes());
    }
    img[8..10].copy_from_slice(&ftw.to_le_bytes());
    img
}

fn describe_img(b: &[u8]) -> String {
    let le16 = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let mut s = format!("fcw={:04x} fsw={:04x} ftw={:04x}", le16(0), le16(4), le16(8));
    for n in 0..8 {
        let sig = u64::from_le_bytes(b[28 + 10 * n..36 + 10 * n].try_into().unwrap());
        s += &format!(" st{n}={:04x}:{:016x}", le16(36 + 10 * n), sig);
    }
    s
}

/// Run a case on both; `Err` describes the first difference.
fn compare(host: &Host, insn: &[u8], c: &Case) -> Result<(), String> {
    let mut hb = Aligned([0u8; BLOCK]);
    hb.0[IN_IMG..IN_IMG + 108].copy_from_slice(&image(c));
    hb.0[IN_FLAGS..IN_FLAGS + 8].copy_from_slice(&((c.rflags & 0x8d5) | 0x202).to_le_bytes());
    hb.0[MEM..MEM + c.mem.len()].copy_from_slice(&c.mem);
    let mut eb = Aligned(hb.0);
    let code = stub(insn);
    host.run(&code, &mut hb.0);
    emulate(&code, &mut eb.0)?;
    if insn.windows(2).any(|w| w == [0x0f, 0xae]) {
        // The host's XMM registers belong to the test harness.
        hb.0[MEM + 160..MEM + 416].fill(0);
        eb.0[MEM + 160..MEM + 416].fill(0);
        // FOP, FIP, FDP; and MXCSR_MASK, which is 0x2ffff on AMD hosts
        // while the engine reports Intel's 0xffff.
        hb.0[MEM + 6..MEM + 24].fill(0);
        eb.0[MEM + 6..MEM + 24].fill(0);
        hb.0[MEM + 28..MEM + 32].fill(0);
        eb.0[MEM + 28..MEM + 32].fill(0);
    }
    if insn == [0x66, 0xd9, 0x36] || insn == [0x66, 0xdd, 0x36] {
        // The 16-bit image's instruction and data pointers.
        hb.0[MEM + 6..MEM + 14].fill(0);
        eb.0[MEM + 6..MEM + 14].fill(0);
    }
    if insn == [0xd9, 0x36] || insn == [0xdd, 0x36] {
        // FNSTENV's instruction and data pointers.
        hb.0[MEM + 12..MEM + 28].fill(0);
        eb.0[MEM + 12..MEM + 28].fill(0);
    }
    let (h, e) = (&hb.0, &eb.0);
    let mut diffs = Vec::new();
    // FIP/FCS/FOP/FDP/FDS live in bytes 12..28 of the image.
    let img_eq = h[OUT_IMG..OUT_IMG + 12] == e[OUT_IMG..OUT_IMG + 12] && h[OUT_IMG + 28..OUT_IMG + 108] == e[OUT_IMG + 28..OUT_IMG + 108];
    if !img_eq {
        diffs.push(format!("\n  host {}\n  emu  {}", describe_img(&h[OUT_IMG..]), describe_img(&e[OUT_IMG..])));
    }
    let rax = |b: &[u8]| u64::from_le_bytes(b[OUT_RAX..OUT_RAX + 8].try_into().unwrap());
    let fl = |b: &[u8]| u64::from_le_bytes(b[OUT_FLAGS..OUT_FLAGS + 8].try_into().unwrap()) & 0x8d5;
    if rax(h) != rax(e) {
        diffs.push(format!("rax host {:x} emu {:x}", rax(h), rax(e)));
    }
    if fl(h) != fl(e) {
        diffs.push(format!("flags host {:x} emu {:x}", fl(h), fl(e)));
    }
    if h[MEM..] != e[MEM..] {
        let first = (MEM..BLOCK).find(|&k| h[k] != e[k]).unwrap_or(MEM) - MEM;
        let n = first.max(16) & !15;
        let m = (n + 16).min(BLOCK - MEM);
        diffs.push(format!("mem at {first}: host {:02x?} emu {:02x?}", &h[MEM + n - 16..MEM + m], &e[MEM + n - 16..MEM + m]));
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(format!("insn {:02x?} in: {} mem {:02x?}{}", insn, describe_img(&image(c)), c.mem, diffs.join("; ")))
    }
}

// ---------------------------------------------------------------------------
// Inputs

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A value from a mix of classes: ordinary numbers near 1, the whole
/// exponent range, short significands (ties), specials.
fn value(r: &mut Rng) -> Ext {
    let sign = r.below(2) == 1;
    let sig = r.next() | 1 << 63;
    let short = sig & (!0u64 << (r.below(64) as u32));
    match r.below(20) {
        0..=5 => Ext::new(sign, 0x3fff + r.below(80) as u16 - 40, sig),
        6..=7 => Ext::new(sign, 0x3fff + r.below(80) as u16 - 40, short | 1 << 63),
        8 => Ext::new(sign, r.below(0x7fff) as u16, sig),
        9 => Ext::new(sign, [1, 2, 0x7ffe, 0x7ffd, 0x3f80, 0x3c00, 0x43fe, 0x407e][r.below(8) as usize], sig),
        10 => Ext::new(sign, 0, sig >> (1 + r.below(63))),
        11 => Ext::zero(sign),
        12 => Ext::inf(sign),
        13 => Ext::new(sign, 0x7fff, sig | 1 << 62),
        14 => Ext::new(sign, 0x7fff, (sig & !(1 << 62)) | 1),
        15 => Ext::new(sign, 0x3fff + r.below(8) as u16, 1 << 63),
        16 => Ext::new(sign, 0x3fff, (1 << 63) | r.below(4) << 10),
        17 => Ext::new(sign, 0x3fff + r.below(40) as u16, sig >> 40 << 40),
        18 => match r.below(4) {
            0 => Ext::new(sign, 0, sig),                               // pseudo-denormal
            1 => Ext::new(sign, 1 + r.below(0x7ffe) as u16, sig >> 1), // unnormal
            2 => Ext::new(sign, 0x7fff, sig >> 1),                     // pseudo-NaN/inf
            _ => Ext::new(sign, 0, 1),
        },
        _ => Ext::new(sign, 0x3fff + r.below(8) as u16, sig),
    }
}

fn fcw(r: &mut Rng, unmasked: bool) -> u16 {
    let rc = r.below(4) as u16;
    let pc = [0u16, 2, 3, 3][r.below(4) as usize];
    let masks = if unmasked && r.below(4) == 0 { r.below(64) as u16 } else { 0x3f };
    0x40 | (rc << 10) | (pc << 8) | masks
}

fn case(r: &mut Rng, n: usize, unmasked: bool) -> Case {
    let mut st = vec![None; 8];
    for s in st.iter_mut().take(n) {
        *s = Some(value(r));
    }
    // Occasionally empty operands (underflow) or a full stack (overflow).
    if r.below(40) == 0 {
        st[r.below(n.max(1) as u64) as usize] = None;
    }
    if r.below(40) == 0 {
        st[7] = Some(value(r));
    }
    let fsw = if r.below(2) == 0 { r.next() as u16 & 0x7fff } else { 0 };
    Case { st, fcw: fcw(r, unmasked), top: r.below(8) as u16, fsw, mem: vec![0; 16], rflags: r.next() }
}

/// Run `count` random cases of each instruction; returns the failures.
fn sweep(insns: &[&[u8]], operands: usize, mem_bytes: usize, count: usize, seed: u64, unmasked: bool) -> (usize, Vec<String>) {
    let host = Host::new();
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9).wrapping_add(scale() as u64));
    let mut fails = Vec::new();
    let mut total = 0;
    for insn in insns {
        for _ in 0..count * scale() {
            let mut c = case(&mut r, operands, unmasked);
            if mem_bytes > 0 {
                let v = value(&mut r);
                c.mem = mem_value(&mut r, v, mem_bytes);
            }
            total += 1;
            if let Err(e) = compare(&host, insn, &c) {
                fails.push(e);
            }
        }
    }
    (total, fails)
}

/// Memory operand bytes: a float of that size from `v` (or random integer
/// bits).
fn mem_value(r: &mut Rng, v: Ext, n: usize) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    match r.below(3) {
        0 => {
            let x = r.next();
            b[..8].copy_from_slice(&x.to_le_bytes());
            if n == 2 || n == 4 {
                // Small integers too.
                let small = (r.below(2000) as i64 - 1000) as u64;
                if r.below(2) == 0 {
                    b[..8].copy_from_slice(&small.to_le_bytes());
                }
            }
        }
        _ => {
            let mut c = Ctx::new(0x37f | (r.below(4) as u16) << 10);
            match n {
                4 => {
                    let bits = sf::to_ieee(v, 8, 23, &mut c).unwrap_or(0) as u32;
                    b[..4].copy_from_slice(&bits.to_le_bytes());
                }
                8 => {
                    let bits = sf::to_ieee(v, 11, 52, &mut c).unwrap_or(0);
                    b[..8].copy_from_slice(&bits.to_le_bytes());
                }
                _ => {
                    b[..8].copy_from_slice(&v.sig.to_le_bytes());
                    b[8..10].copy_from_slice(&v.se.to_le_bytes());
                }
            }
        }
    }
    b
}

fn report(name: &str, (total, fails): (usize, Vec<String>)) {
    eprintln!("{name}: {} / {total} bit-exact", total - fails.len());
    for f in fails.iter().take(8) {
        eprintln!("{f}");
    }
    assert!(fails.is_empty(), "{name}: {} of {total} cases differ from the host", fails.len());
}

fn reg_forms(base: &[(u8, u8)]) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for &(op, modrm) in base {
        for i in [0u8, 1, 2, 7] {
            v.push(vec![op, modrm + i]);
        }
    }
    v
}

fn run_set(name: &str, insns: &[Vec<u8>], operands: usize, mem: usize, count: usize, seed: u64, unmasked: bool) {
    let refs: Vec<&[u8]> = insns.iter().map(|v| v.as_slice()).collect();
    report(name, sweep(&refs, operands, mem, count, seed, unmasked));
}

/// Cases per test group; `X87_TEST_SCALE=n` multiplies them (and the
/// seeds change with it) for longer soak runs.
fn scale() -> usize {
    std::env::var("X87_TEST_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1)
}

/// Base case counts (smaller in unoptimised builds).
const N: usize = if cfg!(debug_assertions) { 800 } else { 3000 };

#[test]
fn arith_reg() {
    // D8 /r: ST0 op ST(i); DC: ST(i) op ST0; DE: the popping forms.
    let forms = reg_forms(&[
        (0xd8, 0xc0),
        (0xd8, 0xc8),
        (0xd8, 0xe0),
        (0xd8, 0xe8),
        (0xd8, 0xf0),
        (0xd8, 0xf8),
        (0xdc, 0xc0),
        (0xdc, 0xe0),
        (0xdc, 0xe8),
        (0xdc, 0xf8),
        (0xde, 0xc0),
        (0xde, 0xc8),
        (0xde, 0xe8),
        (0xde, 0xf0),
    ]);
    run_set("arith_reg", &forms, 8, 0, N / 4, 1, false);
}

#[test]
fn arith_reg_unmasked() {
    let forms = reg_forms(&[(0xd8, 0xc0), (0xd8, 0xc8), (0xd8, 0xe0), (0xd8, 0xf0), (0xde, 0xc1)]);
    run_set("arith_reg_unmasked", &forms, 8, 0, N / 4, 2, true);
}

#[test]
fn arith_mem() {
    let mut forms = Vec::new();
    for d in 0..8u8 {
        forms.push(vec![0xd8, (d << 3) | 6]); // m32
        forms.push(vec![0xdc, (d << 3) | 6]); // m64
        forms.push(vec![0xda, (d << 3) | 6]); // m32int
        forms.push(vec![0xde, (d << 3) | 6]); // m16int
    }
    let refs: Vec<&[u8]> = forms.iter().map(|v| v.as_slice()).collect();
    let mut total = 0;
    let mut fails = Vec::new();
    for (k, f) in refs.iter().enumerate() {
        let size = [4, 8, 4, 2][k % 4];
        let (t, mut e) = sweep(&[f], 2, size, N / 8, 3 + k as u64, false);
        total += t;
        fails.append(&mut e);
    }
    report("arith_mem", (total, fails));
}

#[test]
fn unary_ops() {
    // fchs fabs ftst fxam fsqrt frndint fscale fxtract fprem fprem1
    let forms: Vec<Vec<u8>> = [0xe0u8, 0xe1, 0xe4, 0xe5, 0xfa, 0xfc, 0xfd, 0xf4, 0xf8, 0xf5].iter().map(|&b| vec![0xd9, b]).collect();
    run_set("unary", &forms, 3, 0, N / 2, 4, false);
}

#[test]
fn compares() {
    let mut forms =
        reg_forms(&[(0xd8, 0xd0), (0xd8, 0xd8), (0xdd, 0xe0), (0xdd, 0xe8), (0xdb, 0xe8), (0xdb, 0xf0), (0xdf, 0xe8), (0xdf, 0xf0)]);
    forms.push(vec![0xde, 0xd9]);
    forms.push(vec![0xda, 0xe9]);
    forms.push(vec![0xdf, 0xe0]); // fnstsw ax
                                  // fcmovcc
    forms.extend(reg_forms(&[
        (0xda, 0xc0),
        (0xda, 0xc8),
        (0xda, 0xd0),
        (0xda, 0xd8),
        (0xdb, 0xc0),
        (0xdb, 0xc8),
        (0xdb, 0xd0),
        (0xdb, 0xd8),
    ]));
    run_set("compares", &forms, 8, 0, N / 8, 5, false);
}

#[test]
fn loads_stores() {
    let mut total = 0;
    let mut fails = Vec::new();
    // (bytes, operand size)
    let forms: &[(&[u8], usize)] = &[
        (&[0xd9, 0x06], 4),               // fld m32
        (&[0xdd, 0x06], 8),               // fld m64
        (&[0xdb, 0x2e], 10),              // fld m80
        (&[0xd9, 0x16], 4),               // fst m32
        (&[0xd9, 0x1e], 4),               // fstp m32
        (&[0xdd, 0x16], 8),               // fst m64
        (&[0xdd, 0x1e], 8),               // fstp m64
        (&[0xdb, 0x3e], 10),              // fstp m80
        (&[0xdf, 0x06], 2),               // fild m16
        (&[0xdb, 0x06], 4),               // fild m32
        (&[0xdf, 0x2e], 8),               // fild m64
        (&[0xdf, 0x16], 2),               // fist m16
        (&[0xdb, 0x16], 4),               // fist m32
        (&[0xdf, 0x1e], 2),               // fistp m16
        (&[0xdb, 0x1e], 4),               // fistp m32
        (&[0xdf, 0x3e], 8),               // fistp m64
        (&[0xdf, 0x26], 10),              // fbld
        (&[0xdf, 0x36], 10),              // fbstp
        (&[0xd9, 0xc1], 0),               // fld st1
        (&[0xdd, 0xd1], 0),               // fst st1
        (&[0xdd, 0xd9], 0),               // fstp st1
        (&[0xd9, 0xc9], 0),               // fxch
        (&[0xd9, 0xe8], 0),               // fld1
        (&[0xd9, 0xe9], 0),               // fldl2t
        (&[0xd9, 0xea], 0),               // fldl2e
        (&[0xd9, 0xeb], 0),               // fldpi
        (&[0xd9, 0xec], 0),               // fldlg2
        (&[0xd9, 0xed], 0),               // fldln2
        (&[0xd9, 0xee], 0),               // fldz
        (&[0xdd, 0xc2], 0),               // ffree st2
        (&[0xd9, 0xf7], 0),               // fincstp
        (&[0xd9, 0xf6], 0),               // fdecstp
        (&[0xd9, 0x3e], 2),               // fnstcw
        (&[0xdd, 0x3e], 2),               // fnstsw m16
        (&[0xdb, 0xe2], 0),               // fnclex
        (&[0xd9, 0x36], 28),              // fnstenv
        (&[0x0f, 0xae, 0x06], 512),       // fxsave
        (&[0x48, 0x0f, 0xae, 0x06], 512), // fxsave64
        (&[0xdb, 0xe3], 0),               // fninit
        (&[0x9b, 0xdb, 0xe3], 0),         // finit
        (&[0x9b, 0xdb, 0xe2], 0),         // fclex
        (&[0x9b, 0xdf, 0xe0], 0),         // fstsw ax
        (&[0x9b, 0xd9, 0x3e], 2),         // fstcw
        (&[0x9b], 0),                     // fwait
        (&[0xd9, 0xd0], 0),               // fnop
        (&[0xdd, 0x36], 108),             // fnsave
        (&[0xdf, 0xc1], 0),               // ffreep st1
        (&[0xd9, 0xd9], 0),               // fstp1 alias
        (&[0xdf, 0xd1], 0),               // fstp alias
        (&[0xdd, 0xc9], 0),               // fxch alias
        (&[0xdc, 0xd1], 0),               // fcom alias
        (&[0xde, 0xd1], 0),               // fcomp alias
        (&[0xdb, 0x0e], 4),               // fisttp m32
        (&[0xdd, 0x0e], 8),               // fisttp m64
        (&[0xdf, 0x0e], 2),               // fisttp m16
    ];
    for (k, (insn, size)) in forms.iter().enumerate() {
        let (t, mut e) = sweep(&[insn], 6, *size, N / 8, 100 + k as u64, false);
        total += t;
        fails.append(&mut e);
    }
    report("loads_stores", (total, fails));
}

#[test]
fn stores_unmasked() {
    let forms: Vec<Vec<u8>> = vec![vec![0xd9, 0x1e], vec![0xdd, 0x1e], vec![0xdb, 0x1e], vec![0xd9, 0x06], vec![0xdd, 0x06]];
    let mut total = 0;
    let mut fails = Vec::new();
    for (k, f) in forms.iter().enumerate() {
        let size = [4, 8, 4, 4, 8][k];
        let (t, mut e) = sweep(&[f], 2, size, N / 4, 200 + k as u64, true);
        total += t;
        fails.append(&mut e);
    }
    report("stores_unmasked", (total, fails));
}

// ---------------------------------------------------------------------------
// Transcendentals: not always correctly rounded on the host, so these
// report ulp distances and only require everything else to match.

fn key(v: Ext) -> i128 {
    let k = ((v.exp() as i128) << 63) | (v.sig & !(1u64 << 63)) as i128;
    if v.sign() {
        -k
    } else {
        k
    }
}

fn st_of(img: &[u8], n: usize) -> Ext {
    Ext {
        sig: u64::from_le_bytes(img[28 + 10 * n..36 + 10 * n].try_into().unwrap()),
        se: u16::from_le_bytes([img[36 + 10 * n], img[37 + 10 * n]]),
    }
}

#[derive(Default)]
struct UlpStats {
    total: usize,
    exact: usize,
    hist: [usize; 4], // 0, 1, 2, >2 ulps on the result registers
    max: i128,
    other: Vec<String>,
    worst: Vec<String>,
}

fn trans_sweep(insn: &[u8], operands: usize, seed: u64, count: usize, gen: &dyn Fn(&mut Rng) -> Vec<Ext>) -> UlpStats {
    let host = Host::new();
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9).wrapping_add(scale() as u64));
    let mut st = UlpStats::default();
    for _ in 0..count * scale() {
        let vals = gen(&mut r);
        let mut c = case(&mut r, operands, false);
        for (k, v) in vals.iter().enumerate() {
            c.st[k] = Some(*v);
        }
        c.st[7] = None;
        merge(&mut st, trans_case(&host, insn, &c));
    }
    st
}

fn trans_report(name: &str, s: &UlpStats, max_ulps: i128) {
    eprintln!(
        "{name}: {} cases, {} bit-exact, ulp histogram 0:{} 1:{} 2:{} >2:{}, max {}, other mismatches {}",
        s.total,
        s.exact,
        s.hist[0],
        s.hist[1],
        s.hist[2],
        s.hist[3],
        if s.max == i128::MAX { "special".to_string() } else { s.max.to_string() },
        s.other.len()
    );
    for w in s.worst.iter().take(4) {
        eprintln!("{w}");
    }
    for o in s.other.iter().take(4) {
        eprintln!("{o}");
    }
    assert!(s.other.is_empty() && s.max <= max_ulps, "{name}: results too far from the host");
}

fn rand_ext(r: &mut Rng, lo: i32, hi: i32) -> Ext {
    let e = lo + r.below((hi - lo + 1) as u64) as i32;
    Ext::new(r.below(2) == 1, (16383 + e) as u16, r.next() | 1 << 63)
}

fn trans_gen(r: &mut Rng, lo: i32, hi: i32, n: usize) -> Vec<Ext> {
    (0..n).map(|_| if r.below(16) == 0 { value(r) } else { rand_ext(r, lo, hi) }).collect()
}

const TN: usize = if cfg!(debug_assertions) { 1000 } else { 4000 };

#[test]
fn trans_sin_cos() {
    for (name, insn) in [("fsin", [0xd9u8, 0xfe]), ("fcos", [0xd9, 0xff]), ("fsincos", [0xd9, 0xfb]), ("fptan", [0xd9, 0xf2])] {
        for (lo, hi, tag) in [(-70, 0, "small"), (0, 12, "medium"), (12, 62, "large")] {
            let s = trans_sweep(&insn, 1, 7 + lo as u64, TN, &|r| trans_gen(r, lo, hi, 1));
            trans_report(&format!("{name} {tag}"), &s, 1 << 40);
        }
    }
}

#[test]
fn trans_exp_log() {
    let s = trans_sweep(&[0xd9, 0xf0], 1, 11, TN, &|r| trans_gen(r, -70, -1, 1));
    trans_report("f2xm1", &s, 1 << 40);
    let s = trans_sweep(&[0xd9, 0xf1], 2, 12, TN, &|r| {
        let mut v = trans_gen(r, -16000, 16000, 2);
        v[0] = v[0].abs();
        if r.below(2) == 0 {
            v[0] = rand_ext(r, -1, 0).abs();
        }
        v
    });
    trans_report("fyl2x", &s, 1 << 40);
    // Inside the domain |x| < 1 - sqrt(2)/2, and below -1 where the host
    // returns x.
    let s = trans_sweep(&[0xd9, 0xf9], 2, 13, TN, &|r| {
        let mut v = trans_gen(r, -80, -3, 2);
        if v[0].exp() >= 0x3ffe && !(v[0].sign() && v[0].exp() >= 0x3fff) {
            v[0] = rand_ext(r, -80, -3);
        }
        v[1] = rand_ext(r, -20, 20);
        v
    });
    trans_report("fyl2xp1", &s, 1 << 40);
    // Outside the domain, where the SDM leaves the result undefined, the
    // host still returns y * log2(1+x) to an ulp: x in (-1, -0.29) and
    // (0.29, huge), the integers 1..64 (1+x a power of two: exact, yet
    // inexact is signalled), and tiny y (underflowing results).
    let s = trans_sweep(&[0xd9, 0xf9], 2, 15, TN, &|r| {
        let x = match r.below(4) {
            0 => rand_ext(r, -2, -1).abs().neg(),
            1 => rand_ext(r, -2, 16000).abs(),
            2 => sf::from_i64(1 + r.below(64) as i64),
            _ => rand_ext(r, -2, 70).abs(),
        };
        let y = if r.below(4) == 0 { Ext::new(r.below(2) == 1, r.below(3) as u16, r.next() >> r.below(64)) } else { rand_ext(r, -40, 40) };
        vec![x, y]
    });
    trans_report("fyl2xp1 outside the domain", &s, 1 << 40);
    // FYL2X of powers of two: exact, with inexact signalled.
    let s = trans_sweep(&[0xd9, 0xf1], 2, 16, TN / 4, &|r| {
        vec![Ext::new(false, (16383 + r.below(400) as i32 - 200) as u16, 1 << 63), rand_ext(r, -10, 10)]
    });
    trans_report("fyl2x of powers of two", &s, 0);
    // F2XM1 at the ends of its domain and just inside them (the random
    // control words cover all rounding modes).
    let s = trans_sweep(&[0xd9, 0xf0], 1, 17, TN / 4, &|r| {
        let sig = if r.below(2) == 0 { 1 << 63 } else { u64::MAX - r.below(4) };
        vec![Ext::new(r.below(2) == 1, if sig == 1 << 63 { 0x3fff } else { 0x3ffe }, sig)]
    });
    trans_report("f2xm1 at +-1", &s, 1);
    let s = trans_sweep(&[0xd9, 0xf3], 2, 14, TN, &|r| trans_gen(r, -40, 40, 2));
    trans_report("fpatan", &s, 1 << 40);
}

#[test]
fn unary_unmasked() {
    let forms: Vec<Vec<u8>> = [0xe0u8, 0xe1, 0xe4, 0xe5, 0xfa, 0xfc, 0xfd, 0xf4, 0xf8, 0xf5].iter().map(|&b| vec![0xd9, b]).collect();
    run_set("unary_unmasked", &forms, 3, 0, N / 2, 40, true);
}

#[test]
fn compares_unmasked() {
    let mut forms =
        reg_forms(&[(0xd8, 0xd0), (0xd8, 0xd8), (0xdd, 0xe0), (0xdd, 0xe8), (0xdb, 0xe8), (0xdb, 0xf0), (0xdf, 0xe8), (0xdf, 0xf0)]);
    forms.push(vec![0xde, 0xd9]);
    forms.push(vec![0xda, 0xe9]);
    run_set("compares_unmasked", &forms, 8, 0, N / 8, 41, true);
}

#[test]
fn loads_unmasked() {
    let forms: &[(&[u8], usize)] = &[
        (&[0xdf, 0x1e], 2),  // fistp m16
        (&[0xdb, 0x1e], 4),  // fistp m32
        (&[0xdf, 0x3e], 8),  // fistp m64
        (&[0xdf, 0x36], 10), // fbstp
        (&[0xd9, 0xc1], 0),  // fld st1
        (&[0xdb, 0x2e], 10), // fld m80
        (&[0xd9, 0xc9], 0),  // fxch
        (&[0xd9, 0xeb], 0),  // fldpi
        (&[0xd8, 0x16], 4),  // fcom m32
        (&[0xde, 0x1e], 2),  // ficomp m16
    ];
    let mut total = 0;
    let mut fails = Vec::new();
    for (k, (insn, size)) in forms.iter().enumerate() {
        let (t, mut e) = sweep(&[insn], 6, *size, N / 8, 300 + k as u64, true);
        total += t;
        fails.append(&mut e);
    }
    report("loads_unmasked", (total, fails));
}

#[test]
fn trans_unmasked_and_specials() {
    // Special operands and unmasked exceptions: everything but the value
    // must match, and the value within an ulp.
    for (k, insn) in [[0xd9u8, 0xfe], [0xd9, 0xff], [0xd9, 0xfb], [0xd9, 0xf2], [0xd9, 0xf0], [0xd9, 0xf1], [0xd9, 0xf3]].iter().enumerate()
    {
        let host = Host::new();
        let mut r = Rng(500 + k as u64);
        let mut s = UlpStats::default();
        for _ in 0..TN / 4 * scale() {
            let mut c = case(&mut r, 2, true);
            c.fcw = fcw(&mut r, true);
            for v in c.st.iter_mut().take(2) {
                let x = value(&mut r);
                // Keep f2xm1/fyl2xp1 inside their domains.
                *v = Some(if (k == 4 || k == 5) && x.exp() >= 0x3ffd && x.exp() != 0x7fff { rand_ext(&mut r, -60, -3) } else { x });
            }
            merge(&mut s, trans_case(&host, insn, &c));
        }
        trans_report(&format!("trans specials {insn:02x?}"), &s, 1);
    }
}

fn merge(a: &mut UlpStats, b: UlpStats) {
    a.total += b.total;
    a.exact += b.exact;
    for k in 0..4 {
        a.hist[k] += b.hist[k];
    }
    a.max = a.max.max(b.max);
    a.other.extend(b.other);
    a.worst.extend(b.worst);
}

/// One transcendental case: everything but the result registers must
/// match, and those within an ulp.
fn trans_case(host: &Host, insn: &[u8], c: &Case) -> UlpStats {
    let mut st = UlpStats::default();
    let mut hb = Aligned([0u8; BLOCK]);
    hb.0[..108].copy_from_slice(&image(c));
    hb.0[IN_FLAGS..IN_FLAGS + 8].copy_from_slice(&0x202u64.to_le_bytes());
    let mut eb = Aligned(hb.0);
    let code = stub(insn);
    host.run(&code, &mut hb.0);
    st.total = 1;
    if let Err(e) = emulate(&code, &mut eb.0) {
        st.other.push(e);
        return st;
    }
    let (h, e) = (&hb.0[OUT_IMG..OUT_IMG + 108], &eb.0[OUT_IMG..OUT_IMG + 108]);
    if h[..12] == e[..12] && h[28..] == e[28..] {
        st.exact = 1;
        st.hist[0] = 1;
        return st;
    }
    let mut worst = 0i128;
    for n in 0..2 {
        let (hv, ev) = (st_of(h, n), st_of(e, n));
        if hv != ev {
            let d = if hv.sign() == ev.sign() && hv.exp() != 0x7fff && ev.exp() != 0x7fff { (key(hv) - key(ev)).abs() } else { i128::MAX };
            worst = worst.max(d);
        }
    }
    let fsw_h = u16::from_le_bytes([h[4], h[5]]) & !0x0200;
    let fsw_e = u16::from_le_bytes([e[4], e[5]]) & !0x0200;
    // The tags follow the values (a one-ulp difference can be zero against
    // denormal), so they are only compared when the values agree.
    if !(fsw_h == fsw_e && h[0..2] == e[0..2] && (worst != 0 || h[8..10] == e[8..10])) {
        st.other.push(format!(
            "insn {:02x?} in: {}\n  host {}\n  emu  {}",
            insn,
            describe_img(&image(c)),
            describe_img(h),
            describe_img(e)
        ));
    }
    st.hist[(worst.min(3)) as usize] += 1;
    st.max = worst;
    if worst > 1 {
        st.worst.push(format!("{worst} ulp: in: {}\n  host {}\n  emu  {}", describe_img(&image(c)), describe_img(h), describe_img(e)));
    }
    st
}

#[test]
fn env_loads() {
    // FLDCW, FLDENV, FRSTOR and FXRSTOR of random images; the stub saves
    // the state with FNSAVE, which never raises the pending exceptions.
    let host = Host::new();
    let mut r = Rng(77);
    let mut total = 0;
    let mut fails = Vec::new();
    for (insn, size) in [
        (&[0xd9u8, 0x2e][..], 2usize),
        (&[0xd9, 0x26], 28),
        (&[0xdd, 0x26], 108),
        (&[0x0f, 0xae, 0x0e], 512),
        (&[0x48, 0x0f, 0xae, 0x0e], 512),
        (&[0x66, 0xd9, 0x26], 14),
        (&[0x66, 0xdd, 0x26], 94),
    ] {
        for _ in 0..N / 4 {
            let mut c = case(&mut r, 4, false);
            let mut m = vec![0u8; size.max(16)];
            for b in m.iter_mut() {
                *b = r.next() as u8;
            }
            // Register images from the value generator.
            let (base, stride) = match size {
                512 => (32, 16),
                94 => (14, 10),
                _ => (28, 10),
            };
            if size >= 94 {
                for n in 0..8 {
                    let v = value(&mut r);
                    m[base + stride * n..base + stride * n + 8].copy_from_slice(&v.sig.to_le_bytes());
                    m[base + stride * n + 8..base + stride * n + 10].copy_from_slice(&v.se.to_le_bytes());
                }
            }
            if size == 512 {
                // A valid MXCSR with all exceptions masked (the host's MXCSR
                // stays live in the test process), flags random.
                let mx = 0x1f80u32 | (r.next() as u32 & 0x3f) | ((r.below(4) as u32) << 13);
                m[24..28].copy_from_slice(&mx.to_le_bytes());
            }
            c.mem = m;
            total += 1;
            if let Err(e) = compare(&host, insn, &c) {
                fails.push(e);
            }
        }
    }
    report("env_loads", (total, fails));
}

// ---------------------------------------------------------------------------
// Emulator-only behaviour: deferred #MF and precise faults.

/// Run `code` at 0x400000 with a RW page at 0x600000 (RSI) and a read-only
/// page at 0x700000 (RDI) until it stops or `max` instructions retire.
fn run_code(code: &[u8], max: u64, setup: impl FnOnce(&mut CpuState, &mut [u8])) -> (crate::Exit, CpuState) {
    let mut mem = Memory::new();
    let mut space = AddressSpace::new();
    let cf = mem.phys.alloc();
    mem.phys.bytes_mut(cf)[..code.len()].copy_from_slice(code);
    space.map(&mut mem.phys, 0x40_0000, cf, Prot::RX);
    let df = mem.phys.alloc();
    space.map(&mut mem.phys, 0x60_0000, df, Prot::RW);
    let rf = mem.phys.alloc();
    space.map(&mut mem.phys, 0x70_0000, rf, Prot::READ);
    let mut cpu = CpuState { rip: 0x40_0000, ..Default::default() };
    cpu.gpr[crate::state::reg::RSI] = 0x60_0000;
    cpu.gpr[crate::state::reg::RDI] = 0x70_0000;
    setup(&mut cpu, mem.phys.bytes_mut(df));
    let mut bus = Bus::new(&mut space, &mut mem);
    let (exit, _) = crate::run(&mut cpu, &mut bus, max);
    (exit, cpu)
}

#[test]
fn unmasked_exception_faults_at_next_x87_instruction() {
    // fldcw [rsi] (ZE unmasked); fld1; fldz; fdivp st1, st0; nop; fld1
    let code = [0xd9, 0x2e, 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9, 0x90, 0xd9, 0xe8];
    let (exit, cpu) = run_code(&code, 100, |_, d| d[..2].copy_from_slice(&0x037bu16.to_le_bytes()));
    assert_eq!(exit, crate::Exit::Fault(crate::Fault::X87));
    assert_eq!(cpu.rip, 0x40_0009, "the fault is reported at the next x87 instruction");
    assert_eq!(cpu.x87.fsw & 0x80ff, 0x8000 | 0x80 | 0x04, "ZE, ES and B");
    // The destination was left alone: ST1 is still 1.0, ST0 is 0.0.
    assert_eq!((cpu.st(1).sign_exp, cpu.st(1).signif), (0x3fff, 1 << 63));
    // FWAIT raises it too; FNCLEX clears it and execution continues.
    let code = [0xd9, 0x2e, 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9, 0x9b];
    let (exit, cpu) = run_code(&code, 100, |_, d| d[..2].copy_from_slice(&0x037bu16.to_le_bytes()));
    assert_eq!((exit, cpu.rip), (crate::Exit::Fault(crate::Fault::X87), 0x40_0008));
    let code = [0xd9, 0x2e, 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9, 0xdb, 0xe2, 0x9b, 0xd9, 0xe8];
    let (exit, cpu) = run_code(&code, 7, |_, d| d[..2].copy_from_slice(&0x037bu16.to_le_bytes()));
    assert_eq!((exit, cpu.rip), (crate::Exit::Budget, 0x40_000d));
    // Masked, the same division just sets ZE.
    let code = [0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9, 0xd9, 0xe8];
    let (exit, cpu) = run_code(&code, 4, |_, _| {});
    assert_eq!(exit, crate::Exit::Budget);
    assert_eq!(cpu.x87.fsw & 0xff, 0x04);
}

#[test]
fn faults_leave_the_fpu_unchanged() {
    let cases: &[(&[u8], crate::Fault)] = &[
        // fld1; fstp qword [rdi] (read-only page)
        (&[0xd9, 0xe8, 0xdd, 0x1f], crate::Fault::Page { addr: 0x70_0000, access: crate::Access::Write, present: true }),
        // fld1; fld qword [rsi+0x1000] (unmapped)
        (
            &[0xd9, 0xe8, 0xdd, 0x86, 0x00, 0x10, 0x00, 0x00],
            crate::Fault::Page { addr: 0x60_1000, access: crate::Access::Read, present: false },
        ),
        // fld1; fnstenv [rdi]
        (&[0xd9, 0xe8, 0xd9, 0x37], crate::Fault::Page { addr: 0x70_0000, access: crate::Access::Write, present: true }),
        // fld1; fistp dword [rdi]
        (&[0xd9, 0xe8, 0xdb, 0x1f], crate::Fault::Page { addr: 0x70_0000, access: crate::Access::Write, present: true }),
        // fld1; fxsave [rsi+8] (misaligned)
        (&[0xd9, 0xe8, 0x0f, 0xae, 0x46, 0x08], crate::Fault::GeneralProtection),
        // fld1; fxrstor [rsi] with a reserved MXCSR bit set
        (&[0xd9, 0xe8, 0x0f, 0xae, 0x0e], crate::Fault::GeneralProtection),
    ];
    for (code, fault) in cases {
        let (exit, cpu) = run_code(code, 10, |_, d| d[24..28].copy_from_slice(&0x0001_1f80u32.to_le_bytes()));
        assert_eq!(exit, crate::Exit::Fault(*fault), "{code:02x?}");
        assert_eq!(cpu.rip, 0x40_0002, "{code:02x?}");
        // Exactly the state after FLD1.
        let (_, after_fld1) = run_code(&[0xd9, 0xe8], 1, |_, _| {});
        assert_eq!(cpu.x87, after_fld1.x87, "{code:02x?}");
        assert_eq!(cpu.mxcsr, 0x1f80);
    }
}

#[test]
fn constants_follow_rc() {
    // The rounded-up and truncated forms of each constant differ by one
    // ulp exactly where the host's do (checked against the host above);
    // here: fldpi under each RC.
    let mut seen = Vec::new();
    for rc in 0..4u16 {
        let fcw = 0x037f | rc << 10;
        let (_, cpu) = run_code(&[0xd9, 0x2e, 0xd9, 0xeb], 2, |_, d| d[..2].copy_from_slice(&fcw.to_le_bytes()));
        seen.push(cpu.st(0).signif);
    }
    assert_eq!(seen, vec![0xc90fdaa22168c235, 0xc90fdaa22168c234, 0xc90fdaa22168c235, 0xc90fdaa22168c234]);
}

#[test]
fn fop_matches_host() {
    // An instruction followed by FNSTENV: the saved FOP (bytes 18..20)
    // must agree; FIP and FDP hold addresses that differ between the two.
    let host = Host::new();
    let mut fails = Vec::new();
    let insns: &[&[u8]] =
        &[&[0xd9, 0xe8], &[0xdc, 0x46, 0x10], &[0xd8, 0xc1], &[0x66, 0xdd, 0x46, 0x08], &[0x41, 0xd9, 0xc9], &[0xdb, 0xe2]];
    for insn in insns {
        let mut code = insn.to_vec();
        code.extend_from_slice(&[0xd9, 0x36]);
        let mut r = Rng(5);
        let c = case(&mut r, 3, false);
        let mut hb = Aligned([0u8; BLOCK]);
        hb.0[..108].copy_from_slice(&image(&c));
        hb.0[IN_FLAGS..IN_FLAGS + 8].copy_from_slice(&0x202u64.to_le_bytes());
        let mut eb = Aligned(hb.0);
        let full = stub(&code);
        host.run(&full, &mut hb.0);
        emulate(&full, &mut eb.0).unwrap();
        let (h, e) = (&hb.0[MEM + 18..MEM + 20], &eb.0[MEM + 18..MEM + 20]);
        if h != e {
            fails.push(format!("{insn:02x?}: host fop {h:02x?} emu {e:02x?}"));
        }
    }
    assert!(fails.is_empty(), "{fails:#?}");
}

#[test]
fn stack_faults() {
    // ST0, ST1, ST2 empty and ST7 full, each half the time: stack
    // underflow/overflow precedence for every register-stack form.
    let host = Host::new();
    let exact: &[&[u8]] = &[
        &[0xd8, 0xc1],
        &[0xdc, 0xc1],
        &[0xde, 0xc1],
        &[0xd8, 0xd1],
        &[0xd8, 0xd9],
        &[0xde, 0xd9],
        &[0xdd, 0xe1],
        &[0xda, 0xe9],
        &[0xdb, 0xf1],
        &[0xdf, 0xf1],
        &[0xd9, 0xc1],
        &[0xd9, 0xc0],
        &[0xdd, 0xd1],
        &[0xdd, 0xd9],
        &[0xd9, 0xc9],
        &[0xd9, 0xc2],
        &[0xd9, 0xe0],
        &[0xd9, 0xe1],
        &[0xd9, 0xe4],
        &[0xd9, 0xe5],
        &[0xd9, 0xfa],
        &[0xd9, 0xfc],
        &[0xd9, 0xfd],
        &[0xd9, 0xf4],
        &[0xd9, 0xf8],
        &[0xd9, 0xf5],
        &[0xd9, 0xe8],
        &[0xd9, 0xeb],
        &[0xdf, 0x06],
        &[0xd9, 0x06],
        &[0xdb, 0x2e],
        &[0xd9, 0x1e],
        &[0xdb, 0x3e],
        &[0xdf, 0x3e],
        &[0xda, 0xc1],
        &[0xdb, 0xd1],
    ];
    let trans: &[&[u8]] =
        &[&[0xd9, 0xfe], &[0xd9, 0xff], &[0xd9, 0xfb], &[0xd9, 0xf2], &[0xd9, 0xf0], &[0xd9, 0xf1], &[0xd9, 0xf3], &[0xd9, 0xf9]];
    let mut r = Rng(4242 + scale() as u64);
    let mut total = 0;
    let mut fails = Vec::new();
    let mut ts = UlpStats::default();
    for (k, insn) in exact.iter().chain(trans.iter()).enumerate() {
        for _ in 0..300 * scale() {
            let unmasked = r.below(4) == 0;
            let mut c = case(&mut r, 3, unmasked);
            for n in [0, 1, 2] {
                if r.below(2) == 0 {
                    c.st[n] = None;
                }
            }
            c.st[7] = if r.below(2) == 0 { Some(value(&mut r)) } else { None };
            if k >= exact.len() {
                // Keep f2xm1/fyl2xp1 in their domains.
                if let Some(v) = c.st[0] {
                    if (insn[1] == 0xf0 || insn[1] == 0xf9) && v.exp() >= 0x3ffd && v.exp() != 0x7fff {
                        c.st[0] = Some(rand_ext(&mut r, -60, -3));
                    }
                }
                merge(&mut ts, trans_case(&host, insn, &c));
                continue;
            }
            let v = value(&mut r);
            c.mem = mem_value(&mut r, v, 10);
            total += 1;
            if let Err(e) = compare(&host, insn, &c) {
                fails.push(e);
            }
        }
    }
    trans_report("stack_faults (transcendentals)", &ts, 1);
    report("stack_faults", (total, fails));
}

#[test]
fn targeted_values() {
    // Operands aimed at the edges a uniform mix rarely hits: FPREM/FPREM1
    // with large exponent differences, FSCALE by fractional and huge
    // factors, integer stores near the format limits, valid BCD.
    let host = Host::new();
    let mut r = Rng(31337 + scale() as u64);
    let mut total = 0;
    let mut fails = Vec::new();
    let mut run = |insn: &[u8], st: [Ext; 2], mem: Vec<u8>, r: &mut Rng| {
        let unmasked = r.below(4) == 0;
        let mut c = case(r, 2, unmasked);
        c.st[0] = Some(st[0]);
        c.st[1] = Some(st[1]);
        c.st[7] = None;
        c.mem = mem;
        total += 1;
        if let Err(e) = compare(&host, insn, &c) {
            fails.push(e);
        }
    };
    for _ in 0..2000 * scale() {
        // FPREM, FPREM1: exponent differences 0..300.
        let b = rand_ext(&mut r, -100, 100);
        let d = r.below(300) as i32 - 10;
        let a = Ext::new(r.below(2) == 1, (b.exp() as i32 + d).clamp(1, 0x7ffe) as u16, r.next() | 1 << 63);
        let insn: &[u8] = if r.below(2) == 0 { &[0xd9, 0xf8] } else { &[0xd9, 0xf5] };
        run(insn, [a, b], vec![0; 16], &mut r);
        // FSCALE by small, fractional, large and huge factors.
        let a = if r.below(4) == 0 { value(&mut r) } else { rand_ext(&mut r, -16000, 16000) };
        let s = match r.below(4) {
            0 => rand_ext(&mut r, -3, 3),
            1 => rand_ext(&mut r, 10, 15),
            2 => rand_ext(&mut r, 15, 80),
            _ => value(&mut r),
        };
        run(&[0xd9, 0xfd], [a, s], vec![0; 16], &mut r);
        // FIST/FISTP/FISTTP near +-2^15, 2^31, 2^63, and FBSTP near 10^18.
        let k = [15, 31, 63, 59][r.below(4) as usize];
        let v = Ext::new(r.below(2) == 1, (16383 + k - r.below(2) as i32) as u16, (1 << 63) | (r.next() >> (1 + r.below(63))));
        let insn: &[u8] = match (k, r.below(3)) {
            (15, 0) => &[0xdf, 0x16],
            (15, 1) => &[0xdf, 0x1e],
            (15, _) => &[0xdf, 0x0e],
            (31, 0) => &[0xdb, 0x16],
            (31, 1) => &[0xdb, 0x1e],
            (31, _) => &[0xdb, 0x0e],
            (63, 0) => &[0xdf, 0x3e],
            (63, _) => &[0xdd, 0x0e],
            _ => &[0xdf, 0x36],
        };
        run(insn, [v, Ext::ONE], vec![0; 16], &mut r);
        // FBLD of valid BCD.
        let mut m = vec![0u8; 16];
        for b in m.iter_mut().take(9) {
            *b = (r.below(10) as u8) << 4 | r.below(10) as u8;
        }
        m[9] = if r.below(2) == 0 { 0x80 } else { 0 };
        run(&[0xdf, 0x26], [Ext::ONE, Ext::ONE], m, &mut r);
    }
    report("targeted_values", (total, fails));
}

#[test]
fn non_waiting_with_pending_exception() {
    // ES set by an unmasked flag: the non-waiting control instructions run
    // anyway (the waiting ones would fault, see the emulator-only tests).
    let host = Host::new();
    let mut r = Rng(999 + scale() as u64);
    let mut total = 0;
    let mut fails = Vec::new();
    let forms: &[(&[u8], usize)] = &[
        (&[0xdf, 0xe0], 0),
        (&[0xdd, 0x3e], 2),
        (&[0xd9, 0x3e], 2),
        (&[0xdb, 0xe2], 0),
        (&[0xdb, 0xe3], 0),
        (&[0xd9, 0x36], 28),
        (&[0xdd, 0x36], 108),
        (&[0x0f, 0xae, 0x06], 512),
    ];
    for (insn, size) in forms {
        for _ in 0..200 * scale() {
            let mut c = case(&mut r, 3, true);
            c.fcw &= !(1 << r.below(6));
            let unmasked = !c.fcw & 0x3f;
            // An unmasked flag, so ES and B are set; the rest random.
            c.fsw = 0x8000 | 0x0080 | (unmasked & unmasked.wrapping_neg()) | (r.next() as u16 & 0x477f);
            c.mem = vec![0; (*size).max(16)];
            total += 1;
            if let Err(e) = compare(&host, insn, &c) {
                fails.push(e);
            }
        }
    }
    report("non_waiting_with_pending_exception", (total, fails));
}

#[test]
#[ignore]
fn bench_loop() {
    // fld1; fld1; L: fadd st0,st1; fmul st0,st1; fdiv st0,st1; fsqrt; dec ecx; jnz L
    let code = [0xd9, 0xe8, 0xd9, 0xe8, 0xd8, 0xc1, 0xd8, 0xc9, 0xd8, 0xf1, 0xd9, 0xfa, 0xff, 0xc9, 0x75, 0xf4];
    let t = std::time::Instant::now();
    let (_, cpu) = run_code(&code, 2 + 6 * 1_000_000, |cpu, _| cpu.gpr[1] = 1_000_000);
    let dt = t.elapsed();
    eprintln!("{:?} for 1M iterations ({:.1} ns/insn), rcx={}", dt, dt.as_nanos() as f64 / 6e6, cpu.gpr[1]);
}
