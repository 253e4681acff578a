//! Differential tests against the host CPU.
//!
//! Each case runs the same machine code natively (from an executable page)
//! and in the interpreter: FXRSTOR64 loads a random x87/MMX/SSE image, RAX
//! is loaded, the instruction under test runs (memory operand at [rsi]),
//! and FXSAVE64 and FNSTENV save the result. The FXSAVE images (so TOP, the
//! abridged tags, all eight registers with their exponents, MXCSR and the
//! XMM registers), the full tag word FNSTENV reports, RAX and the memory
//! operand must agree bit for bit (FOP/FIP/FDP and MXCSR_MASK excepted).
//! Exceptions stay masked (an unmasked one would kill the test process);
//! #MF and #XM are covered by the difftest `mmx` class.

use crate::mem::{AddressSpace, Bus, Memory, Prot};
use crate::state::CpuState;

use core::ffi::c_void;

extern "C" {
    fn mmap(addr: *mut c_void, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut c_void;
    fn munmap(addr: *mut c_void, len: usize) -> i32;
}

const BLOCK: usize = 4096;
const IN_IMG: usize = 0;
const OUT_IMG: usize = 512;
const OUT_ENV: usize = 1024;
const IN_RAX: usize = 1088;
const OUT_RAX: usize = 1096;
const MXCSR_DEFAULT: usize = 1104;
const MEM: usize = 2048;
const MEM_LEN: usize = 32;

/// The stub around the instruction under test (rdi = block, rsi = operand).
fn stub(insn: &[u8]) -> Vec<u8> {
    let mut c = vec![0x48, 0x0f, 0xae, 0x0f]; // fxrstor64 [rdi]
    c.extend_from_slice(&[0x48, 0x8b, 0x87, 0x40, 0x04, 0, 0]); // mov rax, [rdi+1088]
    c.extend_from_slice(insn);
    c.extend_from_slice(&[0x48, 0x89, 0x87, 0x48, 0x04, 0, 0]); // mov [rdi+1096], rax
    c.extend_from_slice(&[0x48, 0x0f, 0xae, 0x87, 0x00, 0x02, 0, 0]); // fxsave64 [rdi+512]
    c.extend_from_slice(&[0xd9, 0xb7, 0x00, 0x04, 0, 0]); // fnstenv [rdi+1024]
    c.extend_from_slice(&[0xdb, 0xe3]); // fninit: the ABI wants an empty x87 stack
    c.extend_from_slice(&[0x0f, 0xae, 0x97, 0x50, 0x04, 0, 0]); // ldmxcsr [rdi+1104]
    c.push(0xc3);
    c
}

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
        // SysV ABI: it clobbers rax, flags and the XMM registers (all
        // caller-saved), leaves the x87 stack empty (FNINIT) and restores
        // MXCSR; the instruction under test only writes inside `block`
        // (MASKMOVQ's RDI is pointed at the operand).
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
    let sf = mem.phys.alloc();
    space.map(&mut mem.phys, stack_va, sf, Prot::RW);
    let mut cpu = CpuState { rip: code_va, ..Default::default() };
    cpu.gpr[crate::state::reg::RDI] = data_va;
    cpu.gpr[crate::state::reg::RSI] = data_va + MEM as u64;
    cpu.gpr[crate::state::reg::RSP] = stack_va + 0x800;
    let ret = code_va + code.len() as u64 - 1;
    {
        let mut bus = Bus::new(&mut space, &mut mem);
        for _ in 0..20 {
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

fn le16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}

fn le64(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// An FXSAVE image, briefly: control, status, tags, registers (stack
/// order), MXCSR and XMM0..7.
fn describe_fx(b: &[u8]) -> String {
    let mut s = format!("fcw={:04x} fsw={:04x} abr={:02x} mxcsr={:08x}", le16(b, 0), le16(b, 2), b[4], le16(b, 24));
    for n in 0..8 {
        s += &format!(" st{n}={:04x}:{:016x}", le16(b, 40 + 16 * n), le64(b, 32 + 16 * n));
    }
    for n in 0..8 {
        s += &format!(" xmm{n}={:016x}_{:016x}", le64(b, 168 + 16 * n), le64(b, 160 + 16 * n));
    }
    s
}

/// Run `insn` from the input `block` on both; `Err` describes the
/// differences.
fn compare(host: &Host, insn: &[u8], block: &[u8; BLOCK]) -> Result<(), String> {
    let mut hb = Aligned(*block);
    let mut eb = Aligned(*block);
    let code = stub(insn);
    host.run(&code, &mut hb.0);
    emulate(&code, &mut eb.0)?;
    for b in [&mut hb.0, &mut eb.0] {
        // FOP, FIP, FDP (AMD saves them only with an exception pending)
        // and MXCSR_MASK (0x2ffff on AMD, Intel's 0xffff in the engine).
        b[OUT_IMG + 6..OUT_IMG + 24].fill(0);
        b[OUT_IMG + 28..OUT_IMG + 32].fill(0);
        b[OUT_ENV + 12..OUT_ENV + 28].fill(0);
    }
    let (h, e) = (&hb.0, &eb.0);
    let mut diffs = Vec::new();
    if h[OUT_IMG..OUT_IMG + 416] != e[OUT_IMG..OUT_IMG + 416] {
        diffs.push(format!("\n  host {}\n  emu  {}", describe_fx(&h[OUT_IMG..]), describe_fx(&e[OUT_IMG..])));
    }
    if h[OUT_ENV..OUT_ENV + 28] != e[OUT_ENV..OUT_ENV + 28] {
        diffs.push(format!("env (tag word at 8) host {:02x?} emu {:02x?}", &h[OUT_ENV..OUT_ENV + 12], &e[OUT_ENV..OUT_ENV + 12]));
    }
    if le64(h, OUT_RAX) != le64(e, OUT_RAX) {
        diffs.push(format!("rax host {:x} emu {:x}", le64(h, OUT_RAX), le64(e, OUT_RAX)));
    }
    if h[MEM..MEM + MEM_LEN] != e[MEM..MEM + MEM_LEN] {
        diffs.push(format!("mem host {:02x?} emu {:02x?}", &h[MEM..MEM + MEM_LEN], &e[MEM..MEM + MEM_LEN]));
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "insn {:02x?}\n  in   {} rax={:x} mem {:02x?}{}",
            insn,
            describe_fx(&block[IN_IMG..]),
            le64(block, IN_RAX),
            &block[MEM..MEM + 16],
            diffs.join("\n  ")
        ))
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
    /// A 64-bit value with edge cases in every element size.
    fn value(&mut self) -> u64 {
        match self.below(14) {
            0 => 0,
            1 => u64::MAX,
            2 => 0x8000_8000_8000_8000,
            3 => 0x7f7f_8080_7fff_8000,
            4 => 0x8000_0000_7fff_ffff,
            5 => self.next() & 0x00ff_00ff_00ff_00ff,
            6 => self.next() | 0x8080_8080_8080_8080,
            7 => self.below(80),
            8 | 9 => {
                // Two 32-bit integers of random magnitude and sign.
                let mut half = || {
                    let v = (self.next() as u32) >> self.below(32);
                    if self.below(2) == 0 {
                        v
                    } else {
                        v.wrapping_neg()
                    }
                };
                half() as u64 | (half() as u64) << 32
            }
            _ => self.next(),
        }
    }
    fn f32(&mut self) -> u32 {
        let sign = (self.below(2) as u32) << 31;
        let frac = self.next() as u32 & 0x7f_ffff;
        sign | match self.below(10) {
            0 => 0,
            1 => 0x7f80_0000,
            2 => 0x7fc0_0000 | frac,
            3 => frac,
            4 => (0x9d + self.below(4) as u32) << 23 | frac, // near 2^31
            5 => 0x3f00_0000 | (self.below(4) as u32) << 22, // 0.5, 0.75, ...
            _ => (0x7e + self.below(33) as u32) << 23 | frac,
        }
    }
    fn f64(&mut self) -> u64 {
        let sign = self.below(2) << 63;
        let frac = self.next() & 0xf_ffff_ffff_ffff;
        sign | match self.below(10) {
            0 => 0,
            1 => 0x7ff0_0000_0000_0000,
            2 => 0x7ff8_0000_0000_0000 | frac,
            3 => frac,
            4 => (0x41d + self.below(4)) << 52 | frac, // near 2^31
            5 => 0x3fe0_0000_0000_0000 | self.below(4) << 50,
            _ => (0x3fe + self.below(33)) << 52 | frac,
        }
    }
}

/// A random input block: x87 state with random TOP, tags, registers (MMX
/// values with random exponents, 0xffff often), XMM registers holding
/// floats or integers, MXCSR with all exceptions masked but random
/// rounding, DAZ, FTZ and sticky flags; random RAX and memory.
fn input(r: &mut Rng) -> Aligned {
    let mut b = Aligned([0u8; BLOCK]);
    let img = &mut b.0;
    let fcw: u16 = 0x037f | (r.below(4) as u16) << 10;
    img[0..2].copy_from_slice(&fcw.to_le_bytes());
    let fsw: u16 = (r.below(8) as u16) << 11 | (r.next() as u16 & 0x473f);
    img[2..4].copy_from_slice(&fsw.to_le_bytes());
    img[4] = if r.below(4) == 0 { 0 } else { r.next() as u8 };
    for n in 0..8 {
        let se: u16 = match r.below(4) {
            0 => 0xffff,
            1 => 0,
            2 => 0x3fff,
            _ => r.next() as u16,
        };
        img[32 + 16 * n..40 + 16 * n].copy_from_slice(&r.value().to_le_bytes());
        img[40 + 16 * n..42 + 16 * n].copy_from_slice(&se.to_le_bytes());
    }
    let mxcsr: u32 =
        0x1f80 | (r.next() as u32 & 0x603f) | if r.below(4) == 0 { 0x8000 } else { 0 } | if r.below(4) == 0 { 0x40 } else { 0 };
    img[24..28].copy_from_slice(&mxcsr.to_le_bytes());
    for n in 0..16 {
        let v = match r.below(3) {
            0 => [r.f32() as u64 | (r.f32() as u64) << 32, r.f32() as u64 | (r.f32() as u64) << 32],
            1 => [r.f64(), r.f64()],
            _ => [r.value(), r.value()],
        };
        img[160 + 16 * n..168 + 16 * n].copy_from_slice(&v[0].to_le_bytes());
        img[168 + 16 * n..176 + 16 * n].copy_from_slice(&v[1].to_le_bytes());
    }
    img[IN_RAX..IN_RAX + 8].copy_from_slice(&r.value().to_le_bytes());
    img[MXCSR_DEFAULT..MXCSR_DEFAULT + 4].copy_from_slice(&0x1f80u32.to_le_bytes());
    let m = match r.below(3) {
        0 => [r.f32() as u64 | (r.f32() as u64) << 32, r.f32() as u64 | (r.f32() as u64) << 32],
        1 => [r.f64(), r.f64()],
        _ => [r.value(), r.value()],
    };
    img[MEM..MEM + 8].copy_from_slice(&m[0].to_le_bytes());
    img[MEM + 8..MEM + 16].copy_from_slice(&m[1].to_le_bytes());
    for k in 16..MEM_LEN {
        img[MEM + k] = r.next() as u8;
    }
    b
}

// ---------------------------------------------------------------------------
// Instruction forms

/// How the ModRM byte (and immediate) of a form are chosen.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// reg = MMX, rm = MMX or [rsi].
    MmRm,
    /// reg = MMX, rm = MMX only.
    MmMm,
    /// As `MmRm`, with an imm8.
    MmRmImm,
    /// Group shift by immediate: reg field = the digit, rm = MMX.
    Grp(u8),
    /// reg = MMX, rm = EAX/RAX or [rsi] (MOVD/MOVQ loads, PINSRW + imm8).
    MmGpr,
    MmGprImm,
    /// reg = MMX, rm = EAX/RAX or [rsi] as destination (MOVD/MOVQ stores).
    GprMm,
    /// reg = MMX source, rm = MMX or [rsi] destination (MOVQ 0F 7F).
    MmStore,
    /// reg = MMX source, rm = [rsi] only (MOVNTQ).
    MemOnlyStore,
    /// reg = EAX, rm = MMX (PMOVMSKB; PEXTRW with imm8).
    GprFromMm,
    GprFromMmImm,
    /// reg = XMM, rm = MMX or [rsi] (CVTPI2PS/PD; MOVQ2DQ register only).
    XmmRm,
    XmmMm,
    /// reg = MMX, rm = XMM or [rsi] (CVT(T)PS2PI, CVT(T)PD2PI; MOVDQ2Q
    /// register only).
    MmXmmRm,
    MmXmm,
    /// MASKMOVQ: reg = data, rm = mask; RDI points at the operand.
    Maskmov,
    /// No operands (EMMS).
    None,
}

/// (name, prefixes and opcode bytes, form).
const FORMS: &[(&str, &[u8], Form)] = &[
    ("movd mm, r/m32", &[0x0f, 0x6e], Form::MmGpr),
    ("movq mm, r/m64", &[0x48, 0x0f, 0x6e], Form::MmGpr),
    ("movd r/m32, mm", &[0x0f, 0x7e], Form::GprMm),
    ("movq r/m64, mm", &[0x48, 0x0f, 0x7e], Form::GprMm),
    ("movq mm, mm/m64", &[0x0f, 0x6f], Form::MmRm),
    ("movq mm/m64, mm", &[0x0f, 0x7f], Form::MmStore),
    ("paddb", &[0x0f, 0xfc], Form::MmRm),
    ("paddw", &[0x0f, 0xfd], Form::MmRm),
    ("paddd", &[0x0f, 0xfe], Form::MmRm),
    ("paddq", &[0x0f, 0xd4], Form::MmRm),
    ("paddsb", &[0x0f, 0xec], Form::MmRm),
    ("paddsw", &[0x0f, 0xed], Form::MmRm),
    ("paddusb", &[0x0f, 0xdc], Form::MmRm),
    ("paddusw", &[0x0f, 0xdd], Form::MmRm),
    ("psubb", &[0x0f, 0xf8], Form::MmRm),
    ("psubw", &[0x0f, 0xf9], Form::MmRm),
    ("psubd", &[0x0f, 0xfa], Form::MmRm),
    ("psubq", &[0x0f, 0xfb], Form::MmRm),
    ("psubsb", &[0x0f, 0xe8], Form::MmRm),
    ("psubsw", &[0x0f, 0xe9], Form::MmRm),
    ("psubusb", &[0x0f, 0xd8], Form::MmRm),
    ("psubusw", &[0x0f, 0xd9], Form::MmRm),
    ("pmullw", &[0x0f, 0xd5], Form::MmRm),
    ("pmulhw", &[0x0f, 0xe5], Form::MmRm),
    ("pmulhuw", &[0x0f, 0xe4], Form::MmRm),
    ("pmuludq", &[0x0f, 0xf4], Form::MmRm),
    ("pmaddwd", &[0x0f, 0xf5], Form::MmRm),
    ("pcmpeqb", &[0x0f, 0x74], Form::MmRm),
    ("pcmpeqw", &[0x0f, 0x75], Form::MmRm),
    ("pcmpeqd", &[0x0f, 0x76], Form::MmRm),
    ("pcmpgtb", &[0x0f, 0x64], Form::MmRm),
    ("pcmpgtw", &[0x0f, 0x65], Form::MmRm),
    ("pcmpgtd", &[0x0f, 0x66], Form::MmRm),
    ("pand", &[0x0f, 0xdb], Form::MmRm),
    ("pandn", &[0x0f, 0xdf], Form::MmRm),
    ("por", &[0x0f, 0xeb], Form::MmRm),
    ("pxor", &[0x0f, 0xef], Form::MmRm),
    ("psllw", &[0x0f, 0xf1], Form::MmRm),
    ("pslld", &[0x0f, 0xf2], Form::MmRm),
    ("psllq", &[0x0f, 0xf3], Form::MmRm),
    ("psrlw", &[0x0f, 0xd1], Form::MmRm),
    ("psrld", &[0x0f, 0xd2], Form::MmRm),
    ("psrlq", &[0x0f, 0xd3], Form::MmRm),
    ("psraw", &[0x0f, 0xe1], Form::MmRm),
    ("psrad", &[0x0f, 0xe2], Form::MmRm),
    ("psrlw imm", &[0x0f, 0x71], Form::Grp(2)),
    ("psraw imm", &[0x0f, 0x71], Form::Grp(4)),
    ("psllw imm", &[0x0f, 0x71], Form::Grp(6)),
    ("psrld imm", &[0x0f, 0x72], Form::Grp(2)),
    ("psrad imm", &[0x0f, 0x72], Form::Grp(4)),
    ("pslld imm", &[0x0f, 0x72], Form::Grp(6)),
    ("psrlq imm", &[0x0f, 0x73], Form::Grp(2)),
    ("psllq imm", &[0x0f, 0x73], Form::Grp(6)),
    ("packsswb", &[0x0f, 0x63], Form::MmRm),
    ("packssdw", &[0x0f, 0x6b], Form::MmRm),
    ("packuswb", &[0x0f, 0x67], Form::MmRm),
    ("punpcklbw", &[0x0f, 0x60], Form::MmRm),
    ("punpcklwd", &[0x0f, 0x61], Form::MmRm),
    ("punpckldq", &[0x0f, 0x62], Form::MmRm),
    ("punpckhbw", &[0x0f, 0x68], Form::MmRm),
    ("punpckhwd", &[0x0f, 0x69], Form::MmRm),
    ("punpckhdq", &[0x0f, 0x6a], Form::MmRm),
    ("emms", &[0x0f, 0x77], Form::None),
    ("pavgb", &[0x0f, 0xe0], Form::MmRm),
    ("pavgw", &[0x0f, 0xe3], Form::MmRm),
    ("pextrw r32", &[0x0f, 0xc5], Form::GprFromMmImm),
    ("pextrw r64", &[0x48, 0x0f, 0xc5], Form::GprFromMmImm),
    ("pinsrw", &[0x0f, 0xc4], Form::MmGprImm),
    ("pmaxsw", &[0x0f, 0xee], Form::MmRm),
    ("pmaxub", &[0x0f, 0xde], Form::MmRm),
    ("pminsw", &[0x0f, 0xea], Form::MmRm),
    ("pminub", &[0x0f, 0xda], Form::MmRm),
    ("pmovmskb r32", &[0x0f, 0xd7], Form::GprFromMm),
    ("pmovmskb r64", &[0x48, 0x0f, 0xd7], Form::GprFromMm),
    ("psadbw", &[0x0f, 0xf6], Form::MmRm),
    ("pshufw", &[0x0f, 0x70], Form::MmRmImm),
    ("maskmovq", &[0x0f, 0xf7], Form::Maskmov),
    ("movntq", &[0x0f, 0xe7], Form::MemOnlyStore),
    ("cvtpi2ps", &[0x0f, 0x2a], Form::XmmRm),
    ("cvtpi2pd", &[0x66, 0x0f, 0x2a], Form::XmmRm),
    ("cvtps2pi", &[0x0f, 0x2d], Form::MmXmmRm),
    ("cvttps2pi", &[0x0f, 0x2c], Form::MmXmmRm),
    ("cvtpd2pi", &[0x66, 0x0f, 0x2d], Form::MmXmmRm),
    ("cvttpd2pi", &[0x66, 0x0f, 0x2c], Form::MmXmmRm),
    ("movq2dq", &[0xf3, 0x0f, 0xd6], Form::XmmMm),
    ("movdq2q", &[0xf2, 0x0f, 0xd6], Form::MmXmm),
    ("movq mm, mm (register only)", &[0x0f, 0x6f], Form::MmMm),
];

/// A random instance of a form: the instruction bytes (MASKMOVQ wrapped
/// so RDI points at the operand).
fn encode(r: &mut Rng, op: &[u8], form: Form) -> Vec<u8> {
    let reg = r.below(8) as u8;
    let rm = r.below(8) as u8;
    let mem = r.below(2) == 0;
    let regs = |reg: u8, rm: u8| 0xc0 | reg << 3 | rm;
    let memop = |reg: u8| reg << 3 | 0x06; // [rsi]
    let modrm = match form {
        Form::MmRm | Form::MmRmImm | Form::XmmRm | Form::MmXmmRm | Form::MmStore => {
            if mem {
                memop(reg)
            } else {
                regs(reg, rm)
            }
        }
        Form::MmGpr | Form::MmGprImm | Form::GprMm => {
            if mem {
                memop(reg)
            } else {
                regs(reg, 0)
            }
        }
        Form::MemOnlyStore => memop(reg),
        Form::Grp(d) => regs(d, rm),
        Form::GprFromMm | Form::GprFromMmImm => regs(0, rm),
        Form::MmMm | Form::XmmMm | Form::MmXmm | Form::Maskmov => regs(reg, rm),
        Form::None => {
            return op.to_vec();
        }
    };
    let mut c = op.to_vec();
    c.push(modrm);
    match form {
        Form::MmRmImm | Form::MmGprImm | Form::GprFromMmImm => c.push(r.next() as u8),
        Form::Grp(_) => c.push(if r.below(2) == 0 { r.below(70) as u8 } else { r.next() as u8 }),
        _ => {}
    }
    if form == Form::Maskmov {
        // push rdi; mov rdi, rsi; ...; pop rdi
        let mut w = vec![0x57, 0x48, 0x89, 0xf7];
        w.extend_from_slice(&c);
        w.push(0x5f);
        return w;
    }
    c
}

/// Small shift counts half of the time, in memory and every register.
fn small_counts(r: &mut Rng, b: &mut Aligned) {
    let c = r.below(70);
    b.0[MEM..MEM + 8].copy_from_slice(&c.to_le_bytes());
    for n in 0..8 {
        let c = r.below(70);
        b.0[32 + 16 * n..40 + 16 * n].copy_from_slice(&c.to_le_bytes());
    }
}

#[test]
fn mmx_matches_host() {
    let host = Host::new();
    let mut r = Rng(0x6d6d_785f_7465_7374);
    let mut failures = Vec::new();
    let (mut run, mut failed) = (0, 0);
    for &(name, op, form) in FORMS {
        // The conversions have more corners (rounding modes, ranges).
        let n = if name.starts_with("cvt") { 5000 } else { 500 };
        for _ in 0..n {
            let mut b = input(&mut r);
            if ["psll", "psrl", "psra"].iter().any(|p| name.starts_with(p)) && r.below(2) == 0 {
                small_counts(&mut r, &mut b);
            }
            let insn = encode(&mut r, op, form);
            run += 1;
            if let Err(e) = compare(&host, &insn, &b.0) {
                failed += 1;
                if failures.len() < 8 {
                    failures.push(format!("{name}: {e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failed} of {run} cases differ, e.g.:\n{}", failures.join("\n"));
}

/// The rules for the x87 state, spelled out on one example each (the
/// random test above checks them too, but does not say which failed).
#[test]
fn mmx_state_rules_match_host() {
    let host = Host::new();
    let mut r = Rng(99);
    // TOP = 3, registers 0..3 non-empty, ordinary numbers.
    let mut b = input(&mut r);
    b.0[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
    b.0[2..4].copy_from_slice(&(3u16 << 11).to_le_bytes());
    b.0[4] = 0x0f;
    for n in 0..8 {
        b.0[32 + 16 * n..40 + 16 * n].copy_from_slice(&(0x8000_0000_0000_0000u64 | n as u64).to_le_bytes());
        b.0[40 + 16 * n..42 + 16 * n].copy_from_slice(&(0x3fffu16 + n as u16).to_le_bytes());
    }
    let cases: &[(&str, &[u8])] = &[
        ("paddb mm1, mm2: TOP 0, all non-empty, mm1 exponent ffff", &[0x0f, 0xfc, 0xca]),
        ("movd eax, mm5: MMX state, no exponent change", &[0x0f, 0x7e, 0xe8]),
        ("movq [rsi], mm5: same", &[0x0f, 0x7f, 0x2e]),
        ("emms: all empty, TOP 0", &[0x0f, 0x77]),
        ("cvtpi2ps xmm0, mm3: MMX state", &[0x0f, 0x2a, 0xc3]),
        ("cvtpi2ps xmm0, [rsi]: no MMX state", &[0x0f, 0x2a, 0x06]),
        ("cvtpi2pd xmm0, [rsi]: no MMX state", &[0x66, 0x0f, 0x2a, 0x06]),
        ("cvtps2pi mm3, xmm0: MMX state, mm3 exponent ffff", &[0x0f, 0x2d, 0xd8]),
        ("movq2dq xmm0, mm3", &[0xf3, 0x0f, 0xd6, 0xc3]),
        ("movdq2q mm3, xmm0", &[0xf2, 0x0f, 0xd6, 0xd8]),
    ];
    let mut failures = Vec::new();
    for (name, insn) in cases {
        if let Err(e) = compare(&host, insn, &b.0) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The comparison can fail: an emulator result from a different input is
/// noticed.
#[test]
fn harness_detects_a_difference() {
    let host = Host::new();
    let mut r = Rng(7);
    let b = input(&mut r);
    assert!(compare(&host, &[0x0f, 0xfc, 0xca], &b.0).is_ok()); // paddb mm1, mm2
    let code = stub(&[0x0f, 0xfc, 0xca]);
    let mut hb = Aligned(b.0);
    host.run(&code, &mut hb.0);
    // MM1 is physical register 1, at stack position (1 - TOP) & 7.
    let mut eb = Aligned(b.0);
    let top = (le16(&b.0, 2) >> 11) as usize & 7;
    eb.0[32 + 16 * ((1 + 8 - top) & 7)] ^= 1;
    emulate(&code, &mut eb.0).unwrap();
    assert_ne!(hb.0[OUT_IMG..OUT_IMG + 416], eb.0[OUT_IMG..OUT_IMG + 416]);
}

/// Whatever reaches the MMX handler (every 0F, 0F 38 and 0F 3A opcode with
/// every prefix and register ModRM byte, SSSE3 and 3DNow! forms on MMX
/// registers included) runs or faults, and never panics.
#[test]
fn every_opcode_with_register_operands_is_handled() {
    for prefix in [&[][..], &[0x66], &[0xf2], &[0xf3], &[0x48], &[0x66, 0x48]] {
        for map in [&[0x0f][..], &[0x0f, 0x38], &[0x0f, 0x3a], &[0x0f, 0x0f]] {
            for op in 0..=255u8 {
                for modrm in [0xc0u8, 0xca, 0xd3, 0xff, 0x06] {
                    let mut code = prefix.to_vec();
                    code.extend_from_slice(map);
                    if map == [0x0f, 0x0f] {
                        // 3DNow!: the opcode comes last.
                        code.extend_from_slice(&[modrm, op]);
                    } else {
                        code.extend_from_slice(&[op, modrm, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);
                    }
                    let mut mem = Memory::new();
                    let mut space = AddressSpace::new();
                    let cf = mem.phys.alloc();
                    mem.phys.bytes_mut(cf)[..code.len()].copy_from_slice(&code);
                    space.map(&mut mem.phys, 0x40_0000, cf, Prot::RX);
                    let df = mem.phys.alloc();
                    space.map(&mut mem.phys, 0x60_0000, df, Prot::RW);
                    let mut cpu = CpuState { rip: 0x40_0000, ..Default::default() };
                    cpu.gpr[crate::state::reg::RSI] = 0x60_0000;
                    cpu.gpr[crate::state::reg::RDI] = 0x60_0000;
                    let mut bus = Bus::new(&mut space, &mut mem);
                    let _ = crate::run(&mut cpu, &mut bus, 1);
                }
            }
        }
    }
}
