//! Test-case generators: random instruction forms of each class (taken
//! from iced's `Code` table, filtered to what oxvm's CPUID advertises) with
//! random operands and a random initial state whose address registers are
//! solved so memory operands land in (or just outside) the data region.

use iced_x86::{
    Code, CpuidFeature, Decoder, DecoderOptions, Encoder, EncodingKind, Instruction, Mnemonic, OpCodeOperandKind as K, OpKind, Register,
};

use crate::codepage;
use crate::layout::*;
use crate::state::MachineState;

/// A deterministic PRNG (splitmix64): the same seed gives the same cases
/// on every host.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    /// True with probability 1/n.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
    pub fn coin(&mut self) -> bool {
        self.next_u64() & 1 != 0
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    pub fn range(&mut self, lo: u64, hi_incl: u64) -> u64 {
        lo + self.below(hi_incl - lo + 1)
    }

    /// A register-sized value with a bias towards edge cases.
    pub fn value(&mut self) -> u64 {
        match self.below(20) {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => 1 << 63,
            4 => (1 << 63) - 1,
            5 => 0x8000_0000,
            6 => 0x7fff_ffff,
            7 => 0xffff_ffff,
            8 => self.pick(&[0x80, 0x7f, 0xff, 0x8000, 0x7fff, 0xffff, 0x1_0000_0000, 0xffff_ffff_8000_0000]),
            9 => self.below(64),
            10 => self.below(64).wrapping_neg(),
            11 => 1u64 << self.below(64),
            12 => self.next_u64() & 0xff,
            13 => self.next_u64() & 0xffff,
            14 => self.next_u64() & 0xffff_ffff,
            _ => self.next_u64(),
        }
    }

    /// A shift or rotate count, mostly small and at the interesting
    /// boundaries.
    pub fn count(&mut self) -> u64 {
        if self.one_in(4) {
            self.next_u64() & 0xff
        } else {
            self.pick(&[0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65])
        }
    }

    pub fn f32_bits(&mut self) -> u32 {
        let sign = (self.coin() as u32) << 31;
        sign | match self.below(12) {
            0 => 0,
            1 => 0x7f80_0000,                                        // inf
            2 => 0x7fc0_0000 | (self.next_u64() as u32 & 0x3f_ffff), // QNaN
            3 => 0x7f80_0001 | (self.next_u64() as u32 & 0x1f_ffff), // SNaN
            4 => self.next_u64() as u32 & 0x7f_ffff,                 // denormal
            5 => 0x3f80_0000,                                        // 1.0
            6 => 0x0080_0000 | (self.next_u64() as u32 & 0xff_ffff), // tiny normal
            7 => 0x7f7f_ffff,                                        // max
            8 => 0x4b00_0000 | (self.next_u64() as u32 & 0x7f_ffff), // near integer range edge
            9 => 0x4f00_0000 | (self.next_u64() as u32 & 0x7f_ffff), // ~2^31
            _ => (self.range(0x30, 0x50) as u32) << 23 | (self.next_u64() as u32 & 0x7f_ffff),
        }
    }

    pub fn f64_bits(&mut self) -> u64 {
        let sign = (self.coin() as u64) << 63;
        sign | match self.below(12) {
            0 => 0,
            1 => 0x7ff0_0000_0000_0000,
            2 => 0x7ff8_0000_0000_0000 | (self.next_u64() & 0x7_ffff_ffff_ffff),
            3 => 0x7ff0_0000_0000_0001 | (self.next_u64() & 0x3_ffff_ffff_ffff),
            4 => self.next_u64() & 0xf_ffff_ffff_ffff,
            5 => 0x3ff0_0000_0000_0000,
            6 => 0x0010_0000_0000_0000 | (self.next_u64() & 0xf_ffff_ffff_ffff),
            7 => 0x7fef_ffff_ffff_ffff,
            8 => 0x41e0_0000_0000_0000 | (self.next_u64() & 0xf_ffff_ffff_ffff), // ~2^31
            9 => 0x43e0_0000_0000_0000 | (self.next_u64() & 0xf_ffff_ffff_ffff), // ~2^63
            _ => (self.range(0x3c0, 0x440) << 52) | (self.next_u64() & 0xf_ffff_ffff_ffff),
        }
    }

    /// An 80-bit extended value (significand, sign+exponent).
    pub fn f80(&mut self) -> (u64, u16) {
        let sign = (self.coin() as u16) << 15;
        let (m, e) = match self.below(12) {
            0 => (0, 0),
            1 => (1 << 63, 0x7fff),                                              // inf
            2 => (0xc000_0000_0000_0000 | (self.next_u64() >> 2), 0x7fff),       // QNaN
            3 => (0x8000_0000_0000_0001 | (self.next_u64() >> 3), 0x7fff),       // SNaN
            4 => (self.next_u64() >> 1, 0),                                      // denormal
            5 => (1 << 63, 0x3fff),                                              // 1.0
            6 => (self.next_u64() >> 1 | 1, self.range(1, 0x7ffe) as u16),       // unnormal
            7 => (self.next_u64() | 1 << 63, self.range(0x3ff0, 0x403e) as u16), // integers-ish
            _ => (self.next_u64() | 1 << 63, self.range(0x3f00, 0x4100) as u16),
        };
        (m, sign | e)
    }
}

/// The instruction classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    Alu,
    Mov,
    Shift,
    MulDiv,
    Bits,
    String,
    Atomic,
    Cond,
    Stack,
    Flags,
    SseFloat,
    SseInt,
    SseMisc,
    X87,
    X87Trans,
    /// Hints, fences and the instructions that trap in user mode.
    Misc,
    /// MMX registers: MMX, the SSE/SSE2 forms on MMX registers, the
    /// MMX<->XMM moves and conversions, EMMS.
    Mmx,
}

impl Class {
    pub const ALL: [Class; 17] = [
        Class::Alu,
        Class::Mov,
        Class::Shift,
        Class::MulDiv,
        Class::Bits,
        Class::String,
        Class::Atomic,
        Class::Cond,
        Class::Stack,
        Class::Flags,
        Class::SseFloat,
        Class::SseInt,
        Class::SseMisc,
        Class::X87,
        Class::X87Trans,
        Class::Misc,
        Class::Mmx,
    ];
    pub const INTEGER: [Class; 10] = [
        Class::Alu,
        Class::Mov,
        Class::Shift,
        Class::MulDiv,
        Class::Bits,
        Class::String,
        Class::Atomic,
        Class::Cond,
        Class::Stack,
        Class::Flags,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::Alu => "alu",
            Class::Mov => "mov",
            Class::Shift => "shift",
            Class::MulDiv => "muldiv",
            Class::Bits => "bits",
            Class::String => "string",
            Class::Atomic => "atomic",
            Class::Cond => "cond",
            Class::Stack => "stack",
            Class::Flags => "flags",
            Class::SseFloat => "sse_float",
            Class::SseInt => "sse_int",
            Class::SseMisc => "sse_misc",
            Class::X87 => "x87",
            Class::X87Trans => "x87_trans",
            Class::Misc => "misc",
            Class::Mmx => "mmx",
        }
    }

    pub fn from_name(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.name() == s)
    }

    fn is_fp(self) -> bool {
        matches!(self, Class::SseFloat | Class::SseInt | Class::SseMisc | Class::X87 | Class::X87Trans | Class::Mmx)
    }
}

/// CPUID features oxvm advertises (see crates/cpu/src/cpuid.rs), plus the
/// baseline ones every x86-64 has.
fn feature_ok(f: CpuidFeature) -> bool {
    use CpuidFeature as F;
    matches!(
        f,
        F::INTEL8086
            | F::INTEL186
            | F::INTEL286
            | F::INTEL386
            | F::INTEL486
            | F::X64
            | F::CMOV
            | F::CX8
            | F::MMX
            | F::CMPXCHG16B
            | F::FPU
            | F::FPU287
            | F::FPU387
            | F::SSE
            | F::SSE2
            | F::FXSR
            | F::CPUID
            | F::CLFSH
            | F::MULTIBYTENOP
            | F::PAUSE
    )
}

fn operand_supported(k: K) -> bool {
    matches!(
        k,
        K::r8_or_mem
            | K::r16_or_mem
            | K::r32_or_mem
            | K::r64_or_mem
            | K::xmm_or_mem
            | K::mem
            | K::mem_offs
            | K::r8_reg
            | K::r8_opcode
            | K::r16_reg
            | K::r16_rm
            | K::r16_opcode
            | K::r32_reg
            | K::r32_rm
            | K::r32_opcode
            | K::r64_reg
            | K::r64_rm
            | K::r64_opcode
            | K::xmm_reg
            | K::xmm_rm
            | K::mm_or_mem
            | K::mm_reg
            | K::mm_rm
            | K::seg_rDI
            | K::al
            | K::cl
            | K::ax
            | K::dx
            | K::eax
            | K::rax
            | K::st0
            | K::sti_opcode
            | K::imm8
            | K::imm8_const_1
            | K::imm8sex16
            | K::imm8sex32
            | K::imm8sex64
            | K::imm16
            | K::imm32
            | K::imm32sex64
            | K::imm64
            | K::br64_1
            | K::br64_4
    )
}

const X87_TRANS: [Mnemonic; 8] = [
    Mnemonic::Fsin,
    Mnemonic::Fcos,
    Mnemonic::Fsincos,
    Mnemonic::Fptan,
    Mnemonic::Fpatan,
    Mnemonic::F2xm1,
    Mnemonic::Fyl2x,
    Mnemonic::Fyl2xp1,
];

fn class_of(code: Code) -> Option<Class> {
    use Mnemonic as M;
    let op = code.op_code();
    if !op.is_instruction() || !op.mode64() || op.encoding() != EncodingKind::Legacy {
        return None;
    }
    if !code.cpuid_features().iter().all(|f| feature_ok(*f)) {
        return None;
    }
    if code == Code::Xlat_m8 {
        // Its implicit [RBX+AL] operand is set up by `try_generate`.
        return Some(Class::Mov);
    }
    if !(0..op.op_count()).all(|n| operand_supported(op.op_kind(n))) {
        return None;
    }
    // The implicit [RDI] operand is set up for MASKMOVQ and MASKMOVDQU.
    if (0..op.op_count()).any(|n| op.op_kind(n) == K::seg_rDI) && !matches!(code.mnemonic(), Mnemonic::Maskmovq | Mnemonic::Maskmovdqu) {
        return None;
    }
    let m = code.mnemonic();
    let name = format!("{m:?}");
    let has_xmm = (0..op.op_count()).any(|n| matches!(op.op_kind(n), K::xmm_or_mem | K::xmm_reg | K::xmm_rm));
    let has_mm = (0..op.op_count()).any(|n| matches!(op.op_kind(n), K::mm_or_mem | K::mm_reg | K::mm_rm));
    let is_sse = code.cpuid_features().iter().any(|f| matches!(f, CpuidFeature::SSE | CpuidFeature::SSE2));
    let c = match m {
        M::Add | M::Or | M::Adc | M::Sbb | M::And | M::Sub | M::Xor | M::Cmp | M::Test | M::Inc | M::Dec | M::Neg | M::Not => Class::Alu,
        M::Mov
        | M::Movzx
        | M::Movsx
        | M::Movsxd
        | M::Lea
        | M::Bswap
        | M::Cbw
        | M::Cwde
        | M::Cdqe
        | M::Cwd
        | M::Cdq
        | M::Cqo
        | M::Movnti => Class::Mov,
        M::Xchg => {
            if op.op_count() == 2
                && op.op_kind(0) != K::r8_or_mem
                && op.op_kind(0) != K::r16_or_mem
                && op.op_kind(0) != K::r32_or_mem
                && op.op_kind(0) != K::r64_or_mem
            {
                Class::Mov
            } else {
                Class::Atomic
            }
        }
        M::Shl | M::Sal | M::Shr | M::Sar | M::Rol | M::Ror | M::Rcl | M::Rcr | M::Shld | M::Shrd => Class::Shift,
        M::Mul | M::Imul | M::Div | M::Idiv => Class::MulDiv,
        M::Bt | M::Bts | M::Btr | M::Btc | M::Bsf | M::Bsr => Class::Bits,
        M::Cmpxchg | M::Cmpxchg8b | M::Cmpxchg16b | M::Xadd => Class::Atomic,
        M::Jo
        | M::Jno
        | M::Jb
        | M::Jae
        | M::Je
        | M::Jne
        | M::Jbe
        | M::Ja
        | M::Js
        | M::Jns
        | M::Jp
        | M::Jnp
        | M::Jl
        | M::Jge
        | M::Jle
        | M::Jg => Class::Cond,
        M::Loop | M::Loope | M::Loopne | M::Jrcxz | M::Jecxz => Class::Cond,
        _ if name.starts_with("Cmov") || (name.starts_with("Set") && op.op_count() == 1) => Class::Cond,
        M::Push | M::Pop | M::Call | M::Ret | M::Enter | M::Leave | M::Pushf | M::Pushfq | M::Popf | M::Popfq | M::Jmp => Class::Stack,
        M::Clc | M::Stc | M::Cmc | M::Cld | M::Std | M::Lahf | M::Sahf => Class::Flags,
        M::Ldmxcsr
        | M::Stmxcsr
        | M::Shufps
        | M::Shufpd
        | M::Unpcklps
        | M::Unpckhps
        | M::Unpcklpd
        | M::Unpckhpd
        | M::Movmskps
        | M::Movmskpd => Class::SseMisc,
        _ if has_mm || m == M::Emms => Class::Mmx,
        _ if is_sse && has_xmm => {
            let float =
                ["Add", "Sub", "Mul", "Div", "Min", "Max", "Sqrt", "Rcp", "Rsqrt", "Cmp", "Comi", "Ucomi", "And", "Or", "Xor", "Cvt"];
            if float.iter().any(|p| name.starts_with(p)) {
                Class::SseFloat
            } else {
                Class::SseInt
            }
        }
        _ if X87_TRANS.contains(&m) => Class::X87Trans,
        // CPUID and RDTSC are left out: their results differ by design.
        // INT1 (ICEBP) too: what Linux reports depends on the hypervisor
        // (here SIGTRAP with RIP at the instruction; oxvm raises #GP).
        M::Nop
        | M::Pause
        | M::Lfence
        | M::Mfence
        | M::Sfence
        | M::Clflush
        | M::Prefetchnta
        | M::Prefetcht0
        | M::Prefetcht1
        | M::Prefetcht2
        | M::Ud0
        | M::Ud1
        | M::Ud2
        | M::Hlt
        | M::Int3
        | M::Int
        | M::Cli
        | M::Sti
        | M::In
        | M::Out => Class::Misc,
        _ if name.starts_with('F') && !is_sse => Class::X87,
        _ => return None,
    };
    // Far JMP/CALL through memory: user code never uses them (they load a
    // code segment selector); oxvm does not implement them (it treats them
    // as near branches), so they would drown the stack class in noise.
    if matches!(bare(code).memory_size(), iced_x86::MemorySize::SegPtr16 | iced_x86::MemorySize::SegPtr32 | iced_x86::MemorySize::SegPtr64)
    {
        return None;
    }
    // MOVSXD with a 16-bit operand size: AMD reads 32 bits of memory,
    // Intel 16 (vendor-specific; compilers never emit it).
    // BSWAP of a 16-bit register: the result is undefined (vendors differ).
    if code == Code::Movsxd_r16_rm16 || code == Code::Bswap_r16 {
        return None;
    }
    if matches!(code, Code::Jmp_rel16 | Code::Call_rel16 | Code::Retnw | Code::Retnw_imm16 | Code::Jmp_rm16 | Code::Call_rm16) {
        return None;
    }
    // String forms of MOVSD/CMPSD are generated by the string class.
    if format!("{code:?}").contains("_m") && (m == M::Movsd || m == M::Cmpsd) && !has_xmm {
        return None;
    }
    Some(c)
}

/// An instruction of form `code` with no operands filled in yet
/// (`Instruction::with` asserts the form has no operands).
fn bare(code: Code) -> Instruction {
    let mut i = Instruction::default();
    i.set_code(code);
    i
}

/// The instruction forms of each class.
pub struct Tables {
    pub codes: Vec<(Class, Vec<Code>)>,
    /// Flag consumers that may follow a generated instruction: conditions,
    /// carry users (ADC/SBB, and RCL/RCR with a constant count: a CL count
    /// could have been changed by the first instruction, while the
    /// undefined-flag masks are computed from the initial state), LAHF, CMC.
    pub consumers: Vec<Code>,
    /// Instructions that leave the flags alone or keep CF (INC/DEC).
    pub neutral: Vec<Code>,
}

impl Tables {
    pub fn new() -> Tables {
        let mut codes: Vec<(Class, Vec<Code>)> = Class::ALL.iter().map(|c| (*c, Vec::new())).collect();
        for code in Code::values() {
            if let Some(c) = class_of(code) {
                codes.iter_mut().find(|(k, _)| *k == c).unwrap().1.push(code);
            }
        }
        let of = |c: Class| codes.iter().find(|(k, _)| *k == c).unwrap().1.clone();
        let cond = of(Class::Cond);
        let consumers = [of(Class::Cond), of(Class::Alu), of(Class::Shift), of(Class::Flags)]
            .concat()
            .into_iter()
            .filter(|c| {
                let op = c.op_code();
                let by_cl = (0..op.op_count()).any(|n| op.op_kind(n) == K::cl);
                match c.mnemonic() {
                    Mnemonic::Loop | Mnemonic::Loope | Mnemonic::Loopne | Mnemonic::Jrcxz | Mnemonic::Jecxz => false,
                    Mnemonic::Adc | Mnemonic::Sbb | Mnemonic::Lahf | Mnemonic::Cmc => true,
                    Mnemonic::Rcl | Mnemonic::Rcr => !by_cl,
                    _ => cond.contains(c),
                }
            })
            .collect();
        let neutral = [of(Class::Mov), of(Class::Alu)]
            .concat()
            .into_iter()
            .filter(|c| {
                matches!(
                    c.mnemonic(),
                    Mnemonic::Mov
                        | Mnemonic::Movzx
                        | Mnemonic::Movsx
                        | Mnemonic::Movsxd
                        | Mnemonic::Lea
                        | Mnemonic::Bswap
                        | Mnemonic::Not
                        | Mnemonic::Inc
                        | Mnemonic::Dec
                )
            })
            .collect();
        Tables { codes, consumers, neutral }
    }

    pub fn of(&self, c: Class) -> &[Code] {
        &self.codes.iter().find(|(k, _)| *k == c).unwrap().1
    }
}

impl Default for Tables {
    fn default() -> Self {
        Self::new()
    }
}

/// One test case.
#[derive(Clone)]
pub struct Case {
    pub class: Class,
    /// The instruction form the case was generated from (`None` for the
    /// string class, which builds its own encodings).
    pub form: Option<Code>,
    pub code: Vec<u8>,
    pub init: MachineState,
    pub data: Box<[u8; DATA_LEN]>,
}

impl Case {
    pub fn region(&self) -> [u8; TEST_REGION] {
        codepage::test_region(&self.code)
    }

    /// The instructions under test, decoded.
    pub fn insns(&self) -> Vec<Instruction> {
        let mut d = Decoder::with_ip(64, &self.code, TEST_ADDR, DecoderOptions::NONE);
        let mut v = Vec::new();
        while d.can_decode() {
            v.push(d.decode());
        }
        v
    }

    pub fn end(&self) -> u64 {
        TEST_ADDR + self.code.len() as u64
    }
}

const GPR64: [Register; 16] = [
    Register::RAX,
    Register::RCX,
    Register::RDX,
    Register::RBX,
    Register::RSP,
    Register::RBP,
    Register::RSI,
    Register::RDI,
    Register::R8,
    Register::R9,
    Register::R10,
    Register::R11,
    Register::R12,
    Register::R13,
    Register::R14,
    Register::R15,
];

fn gpr_num(r: Register) -> usize {
    r.full_register().number()
}

/// Registers whose value is pinned because an address depends on it.
struct Pins {
    val: [Option<u64>; 16],
}

struct Builder<'a> {
    rng: &'a mut Rng,
    st: &'a mut MachineState,
    data: &'a mut [u8; DATA_LEN],
    pins: Pins,
    class: Class,
    /// Data addresses the instruction's memory operand resolved to.
    mem_addr: Option<u64>,
}

impl Builder<'_> {
    fn pin(&mut self, n: usize, v: u64) {
        self.pins.val[n] = Some(v);
        self.st.gpr[n] = v;
    }

    fn reg_value(&self, n: usize) -> u64 {
        self.pins.val[n].unwrap_or(self.st.gpr[n])
    }

    /// A data-region target address for an access of `size` bytes: mostly
    /// inside the writable pages, sometimes on the read-only page, across a
    /// page boundary, or in a guard page.
    fn target(&mut self, size: u64, align: u64) -> u64 {
        let size = size.max(1);
        let r = &mut *self.rng;
        match r.below(20) {
            0 => RO_PAGE + r.below(0x1000 - size.min(0x1000)),
            1 => DATA + 0x1000 - r.range(1, size.min(0x1000)),
            2 => RO_PAGE - r.range(1, size.min(0x1000)),
            3 => DATA - r.range(1, size.min(0x1000) + 8),
            4 => DATA_END - r.range(1, size.min(0x1000)) + r.below(2) * 8,
            _ => {
                let a = DATA + r.below(0x2000 - size.min(0x1000));
                if r.coin() {
                    a & !(align.max(1) - 1)
                } else {
                    a
                }
            }
        }
    }

    /// Fill the memory operand of `ins` (operand `n`).
    fn memory(&mut self, ins: &mut Instruction, n: u32, addr32: bool, size: u64) -> Option<()> {
        let a = self.target(size, size.min(16));
        self.mem_addr = Some(a);
        ins.set_op_kind(n, OpKind::Memory);
        let form = self.rng.below(8);
        if form == 0 && !addr32 {
            // RIP-relative: iced takes the absolute target.
            ins.set_memory_base(Register::RIP);
            ins.set_memory_index(Register::None);
            ins.set_memory_index_scale(1);
            ins.set_memory_displacement64(a);
            ins.set_memory_displ_size(8);
            return Some(());
        }
        if form == 1 {
            // Absolute [disp32] (the data region is below 2 GiB).
            ins.set_memory_base(Register::None);
            ins.set_memory_index(Register::None);
            ins.set_memory_index_scale(1);
            ins.set_memory_displacement64(a);
            ins.set_memory_displ_size(4);
            return Some(());
        }
        let reg_of = |n: usize| {
            if addr32 {
                GPR64[n].full_register32()
            } else {
                GPR64[n]
            }
        };
        let base = if form == 2 { None } else { Some(self.rng.below(16) as usize) };
        let index = if form >= 5 || form == 2 {
            let mut i = self.rng.below(15) as usize;
            if i >= 4 {
                i += 1; // no RSP index
            }
            Some(i)
        } else {
            None
        };
        let scale = if index.is_some() { self.rng.pick(&[1u64, 2, 4, 8]) } else { 1 };
        let want_disp = self.rng.below(3);
        let mut disp: i64 = match want_disp {
            0 => 0,
            1 => self.rng.range(0, 255) as i64 - 128,
            _ => (self.rng.next_u64() as i32 >> self.rng.below(24)) as i64,
        };
        let amask = if addr32 { 0xffff_ffffu64 } else { u64::MAX };
        // Index value: pinned, or random (small or huge, compensated by base).
        let idx_val = match index {
            Some(i) => match self.pins.val[i] {
                Some(v) => v,
                None => {
                    let v = if self.rng.coin() { self.rng.below(64).wrapping_sub(32) } else { self.rng.value() };
                    if base.is_none() || base == Some(i) {
                        // Must come out at `a` with disp32 alone.
                        let v = v & 0xffff;
                        self.pins.val[i] = Some(v);
                        self.st.gpr[i] = v;
                        v
                    } else {
                        self.pins.val[i] = Some(v);
                        self.st.gpr[i] = v;
                        v
                    }
                }
            },
            None => 0,
        };
        match base {
            Some(b) if Some(b) == index => {
                // Same register as base and index: a = v*(1+scale) + disp.
                let v = idx_val;
                disp = a.wrapping_sub(v.wrapping_mul(1 + scale)) as i64;
            }
            Some(b) => match self.pins.val[b] {
                Some(v) => disp = a.wrapping_sub(v).wrapping_sub(idx_val.wrapping_mul(scale)) as i64,
                None => {
                    let mut v = a.wrapping_sub(disp as u64).wrapping_sub(idx_val.wrapping_mul(scale)) & amask;
                    if addr32 {
                        // The upper half must be ignored by 32-bit addressing.
                        v |= self.rng.next_u64() & 0xffff_ffff_0000_0000;
                    }
                    self.pin(b, v);
                }
            },
            None => disp = a.wrapping_sub(idx_val.wrapping_mul(scale)) as i64,
        }
        let disp = if addr32 { disp as u32 as i32 as i64 } else { disp };
        if !addr32 && (disp < i32::MIN as i64 || disp > i32::MAX as i64) {
            return None;
        }
        ins.set_memory_base(base.map_or(Register::None, reg_of));
        ins.set_memory_index(index.map_or(Register::None, reg_of));
        ins.set_memory_index_scale(scale as u32);
        ins.set_memory_displacement64(disp as u64);
        let ds = if base.is_none() {
            4
        } else if disp == 0 && !self.rng.one_in(4) {
            0
        } else if (-128..=127).contains(&disp) {
            1
        } else {
            4
        };
        ins.set_memory_displ_size(ds);
        // Check the address actually resolves to `a` with the pinned values.
        let mut ea = disp as u64;
        if let Some(b) = base {
            ea = ea.wrapping_add(self.reg_value(b));
        }
        if let Some(i) = index {
            ea = ea.wrapping_add(self.reg_value(i).wrapping_mul(scale));
        }
        if ea & amask != a {
            return None;
        }
        Some(())
    }

    fn gpr(&mut self, size: u32) -> Register {
        let n = self.rng.below(16) as usize;
        match size {
            1 => {
                if self.rng.one_in(5) {
                    [Register::AH, Register::CH, Register::DH, Register::BH][n & 3]
                } else {
                    R8[n]
                }
            }
            2 => R16[n],
            4 => GPR64[n].full_register32(),
            _ => GPR64[n],
        }
    }

    fn imm(&mut self, ins: &mut Instruction, n: u32, k: K) {
        let v = self.rng.value();
        match k {
            K::imm8 => {
                if n == 1 && matches!(ins.mnemonic(), Mnemonic::Enter) {
                    ins.set_op_kind(n, OpKind::Immediate8_2nd);
                    ins.set_immediate8_2nd(self.rng.pick(&[0, 0, 0, 1, 2, 3, 31]) as u8);
                } else {
                    ins.set_op_kind(n, OpKind::Immediate8);
                    let x = if matches!(self.class, Class::Shift) {
                        self.rng.count()
                    } else if ins.mnemonic() == Mnemonic::Int {
                        // INT 0x80 is a 32-bit system call on Linux and
                        // INT 4 raises #OF as a trap: not generated. INT 3
                        // (CD 03) is a breakpoint.
                        match v & 0xff {
                            4 | 0x80 => 3,
                            x => x,
                        }
                    } else {
                        v
                    };
                    ins.set_immediate8(x as u8);
                }
            }
            K::imm8_const_1 => {
                ins.set_op_kind(n, OpKind::Immediate8);
                ins.set_immediate8(1);
            }
            K::imm16 => {
                ins.set_op_kind(n, OpKind::Immediate16);
                let x =
                    if matches!(ins.mnemonic(), Mnemonic::Enter | Mnemonic::Ret) { self.rng.below(64) * 8 + self.rng.below(2) } else { v };
                ins.set_immediate16(x as u16);
            }
            K::imm32 => {
                ins.set_op_kind(n, OpKind::Immediate32);
                ins.set_immediate32(v as u32);
            }
            K::imm64 => {
                ins.set_op_kind(n, OpKind::Immediate64);
                ins.set_immediate64(v);
            }
            K::imm8sex16 => {
                ins.set_op_kind(n, OpKind::Immediate8to16);
                ins.set_immediate8to16(v as i8 as i16);
            }
            K::imm8sex32 => {
                ins.set_op_kind(n, OpKind::Immediate8to32);
                ins.set_immediate8to32(v as i8 as i32);
            }
            K::imm8sex64 => {
                ins.set_op_kind(n, OpKind::Immediate8to64);
                ins.set_immediate8to64(v as i8 as i64);
            }
            _ => {
                ins.set_op_kind(n, OpKind::Immediate32to64);
                ins.set_immediate32to64(v as i32 as i64);
            }
        }
    }

    /// Build an instance of `code` with random operands.
    fn build(&mut self, code: Code) -> Option<Instruction> {
        let op = code.op_code();
        let mut ins = bare(code);
        let addr32 = self.rng.one_in(8);
        let msize = ins.memory_size().size() as u64;
        for n in 0..op.op_count() {
            let k = op.op_kind(n);
            let reg_size = match k {
                K::r8_or_mem | K::r8_reg | K::r8_opcode => 1,
                K::r16_or_mem | K::r16_reg | K::r16_rm | K::r16_opcode => 2,
                K::r32_or_mem | K::r32_reg | K::r32_rm | K::r32_opcode => 4,
                K::r64_or_mem | K::r64_reg | K::r64_rm | K::r64_opcode => 8,
                _ => 0,
            };
            match k {
                K::r8_or_mem | K::r16_or_mem | K::r32_or_mem | K::r64_or_mem | K::xmm_or_mem | K::mm_or_mem if self.rng.coin() => {
                    self.memory(&mut ins, n, addr32, msize)?;
                }
                K::mem => self.memory(&mut ins, n, addr32, msize.max(1))?,
                K::mem_offs => {
                    let a = self.target(msize, msize);
                    self.mem_addr = Some(a);
                    ins.set_op_kind(n, OpKind::Memory);
                    ins.set_memory_base(Register::None);
                    ins.set_memory_index(Register::None);
                    ins.set_memory_displacement64(a);
                    ins.set_memory_displ_size(8);
                }
                K::xmm_or_mem | K::xmm_reg | K::xmm_rm => {
                    ins.set_op_kind(n, OpKind::Register);
                    ins.set_op_register(n, XMM[self.rng.below(16) as usize]);
                }
                K::mm_or_mem | K::mm_reg | K::mm_rm => {
                    ins.set_op_kind(n, OpKind::Register);
                    ins.set_op_register(n, MM[self.rng.below(8) as usize]);
                }
                K::seg_rDI => {
                    // MASKMOVQ's (8 bytes) or MASKMOVDQU's (16 bytes) [RDI],
                    // EDI with a 67 prefix.
                    let len = if code.mnemonic() == Mnemonic::Maskmovdqu { 16 } else { 8 };
                    let a = self.target(len, len);
                    self.mem_addr = Some(a);
                    let rdi = if addr32 { a | (self.rng.next_u64() & 0xffff_ffff_0000_0000) } else { a };
                    self.pin(7, rdi);
                    ins.set_op_kind(n, if addr32 { OpKind::MemorySegEDI } else { OpKind::MemorySegRDI });
                }
                _ if reg_size != 0 => {
                    ins.set_op_kind(n, OpKind::Register);
                    let r = self.gpr(reg_size);
                    ins.set_op_register(n, r);
                }
                K::al | K::cl | K::ax | K::dx | K::eax | K::rax | K::st0 => {
                    let r = match k {
                        K::al => Register::AL,
                        K::cl => Register::CL,
                        K::ax => Register::AX,
                        K::dx => Register::DX,
                        K::eax => Register::EAX,
                        K::rax => Register::RAX,
                        _ => Register::ST0,
                    };
                    ins.set_op_kind(n, OpKind::Register);
                    ins.set_op_register(n, r);
                }
                K::sti_opcode => {
                    ins.set_op_kind(n, OpKind::Register);
                    ins.set_op_register(n, ST[self.rng.below(8) as usize]);
                }
                K::br64_1 | K::br64_4 => {
                    ins.set_op_kind(n, OpKind::NearBranch64);
                    let t = self.rng.pick(&[EXIT_BACK, EXIT_FWD, 0]);
                    ins.set_near_branch64(t);
                }
                _ => self.imm(&mut ins, n, k),
            }
        }
        if op.can_use_lock_prefix() && ins.op0_kind() == OpKind::Memory && self.rng.coin() {
            ins.set_has_lock_prefix(true);
        }
        // Now and then a LOCK where it is not allowed (#UD), and the
        // segment overrides that 64-bit mode ignores (never FS/GS: the
        // harness's TLS uses FS, and oxvm's FS/GS are tested elsewhere).
        if self.rng.one_in(64) {
            ins.set_has_lock_prefix(true);
        }
        if (0..op.op_count()).any(|n| ins.op_kind(n) == OpKind::Memory) && self.rng.one_in(16) {
            ins.set_segment_prefix(self.rng.pick(&[Register::ES, Register::CS, Register::SS, Register::DS]));
        }
        Some(ins)
    }
}

const R8: [Register; 16] = [
    Register::AL,
    Register::CL,
    Register::DL,
    Register::BL,
    Register::SPL,
    Register::BPL,
    Register::SIL,
    Register::DIL,
    Register::R8L,
    Register::R9L,
    Register::R10L,
    Register::R11L,
    Register::R12L,
    Register::R13L,
    Register::R14L,
    Register::R15L,
];
const R16: [Register; 16] = [
    Register::AX,
    Register::CX,
    Register::DX,
    Register::BX,
    Register::SP,
    Register::BP,
    Register::SI,
    Register::DI,
    Register::R8W,
    Register::R9W,
    Register::R10W,
    Register::R11W,
    Register::R12W,
    Register::R13W,
    Register::R14W,
    Register::R15W,
];
const XMM: [Register; 16] = [
    Register::XMM0,
    Register::XMM1,
    Register::XMM2,
    Register::XMM3,
    Register::XMM4,
    Register::XMM5,
    Register::XMM6,
    Register::XMM7,
    Register::XMM8,
    Register::XMM9,
    Register::XMM10,
    Register::XMM11,
    Register::XMM12,
    Register::XMM13,
    Register::XMM14,
    Register::XMM15,
];
const MM: [Register; 8] =
    [Register::MM0, Register::MM1, Register::MM2, Register::MM3, Register::MM4, Register::MM5, Register::MM6, Register::MM7];
const ST: [Register; 8] =
    [Register::ST0, Register::ST1, Register::ST2, Register::ST3, Register::ST4, Register::ST5, Register::ST6, Register::ST7];

/// The random initial state common to all classes.
fn base_state(rng: &mut Rng, class: Class, st: &mut MachineState, data: &mut [u8; DATA_LEN]) {
    for g in st.gpr.iter_mut() {
        *g = rng.value();
    }
    st.rip = TEST_ADDR;
    // Arithmetic flags and DF random; TF and AC stay clear (they would trap
    // natively: single-step, alignment check); bit 1 and IF are fixed.
    st.rflags = 0x202 | (rng.next_u64() & 0x8d5) | if rng.one_in(8) { 1 << 21 } else { 0 };
    // Random data from a cheap xorshift (this is most of the generation
    // cost), with edge values sprinkled in; the memory operand's own
    // location gets an edge value more often (see `try_generate`).
    let mut x = rng.next_u64() | 1;
    for chunk in data.chunks_exact_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    for _ in 0..64 {
        let off = rng.below(DATA_LEN as u64 / 8) as usize * 8;
        data[off..off + 8].copy_from_slice(&rng.value().to_le_bytes());
    }
    st.fx = Default::default();
    if class.is_fp() {
        fp_state(rng, st, data);
    }
}

fn fp_state(rng: &mut Rng, st: &mut MachineState, data: &mut [u8; DATA_LEN]) {
    // MXCSR: random rounding, DAZ, FTZ and sticky flags; exceptions
    // usually all masked.
    let masks = if rng.one_in(6) { rng.next_u64() as u32 & 0x1f80 } else { 0x1f80 };
    let mxcsr = masks | (rng.next_u64() as u32 & 0x603f) | if rng.one_in(4) { 0x8000 } else { 0 } | if rng.one_in(4) { 0x40 } else { 0 };
    st.fx.set_mxcsr(mxcsr);
    for i in 0..16 {
        let v = match rng.below(4) {
            0 => [rng.f64_bits(), rng.f64_bits()],
            1 => {
                let lo = rng.f32_bits() as u64 | (rng.f32_bits() as u64) << 32;
                let hi = rng.f32_bits() as u64 | (rng.f32_bits() as u64) << 32;
                [lo, hi]
            }
            2 => [rng.value(), rng.value()],
            _ => [rng.next_u64(), rng.next_u64()],
        };
        st.fx.set_xmm(i, v);
    }
    // x87: random stack depth and contents, precision and rounding; the
    // sticky exception flags only for masked exceptions (an unmasked one
    // would raise #MF at the first x87 instruction).
    let masks = if rng.one_in(6) { rng.next_u64() as u16 & 0x3f } else { 0x3f };
    let pc = if rng.one_in(4) { rng.pick(&[0u16, 2]) } else { 3 };
    let rc = rng.below(4) as u16;
    st.fx.set_fcw(0x40 | masks | pc << 8 | rc << 10);
    let top = rng.below(8) as u16;
    let flags = rng.next_u64() as u16 & masks & 0x3f;
    let cc = rng.next_u64() as u16 & 0x4700;
    st.fx.set_fsw(top << 11 | cc | flags);
    let mut tag = 0u8;
    for phys in 0..8 {
        if !rng.one_in(3) {
            tag |= 1 << phys;
        }
    }
    st.fx.set_abridged_tag(tag);
    for i in 0..8 {
        let (m, e) = rng.f80();
        st.fx.set_st(i, m, e);
    }
    // Some floating-point values in memory.
    for _ in 0..64 {
        let off = rng.below(DATA_LEN as u64 / 8) as usize * 8;
        let v = match rng.below(3) {
            0 => rng.f64_bits(),
            1 => rng.f32_bits() as u64 | (rng.f32_bits() as u64) << 32,
            _ => {
                let (m, e) = rng.f80();
                if off + 10 <= DATA_LEN {
                    data[off..off + 8].copy_from_slice(&m.to_le_bytes());
                    data[off + 8..off + 10].copy_from_slice(&e.to_le_bytes());
                }
                continue;
            }
        };
        data[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }
}

fn write_data(data: &mut [u8; DATA_LEN], addr: u64, bytes: &[u8]) {
    for (k, b) in bytes.iter().enumerate() {
        let a = addr.wrapping_add(k as u64);
        if (DATA..DATA_END).contains(&a) {
            data[(a - DATA) as usize] = *b;
        }
    }
}

fn read_data(data: &[u8; DATA_LEN], addr: u64, n: usize) -> u64 {
    let mut v = 0u64;
    for k in 0..n.min(8) {
        let a = addr.wrapping_add(k as u64);
        if (DATA..DATA_END).contains(&a) {
            v |= (data[(a - DATA) as usize] as u64) << (8 * k);
        }
    }
    v
}

const EXITS: [u64; 2] = [EXIT_BACK, EXIT_FWD];

/// A stack pointer in (mostly) or at the edges of the data region.
fn stack_pointer(rng: &mut Rng) -> u64 {
    match rng.below(10) {
        0 => DATA + rng.below(24),
        1 => RO_PAGE - rng.below(24),
        2 => RO_PAGE + rng.below(0x1000),
        3 => DATA_END - rng.below(16),
        _ => (DATA + 0x100 + rng.below(0x1e00)) & if rng.one_in(8) { !0 } else { !7 },
    }
}

/// The raw encoding of a string instruction.
fn string_insn(rng: &mut Rng, st: &mut MachineState) -> Vec<u8> {
    let (op, kind) = rng.pick(&[
        (0xa4u8, 'm'),
        (0xa5, 'm'),
        (0xaa, 's'),
        (0xab, 's'),
        (0xac, 'l'),
        (0xad, 'l'),
        (0xa6, 'c'),
        (0xa7, 'c'),
        (0xae, 'a'),
        (0xaf, 'a'),
    ]);
    let addr32 = rng.one_in(5);
    let mut b = Vec::new();
    if addr32 {
        b.push(0x67);
    }
    let mut size = 1u64;
    if op & 1 == 1 {
        match rng.below(3) {
            0 => {
                b.push(0x66);
                size = 2
            }
            1 => size = 4,
            _ => size = 8,
        }
    }
    let rep = match (kind, rng.below(3)) {
        (_, 0) => None,
        ('c' | 'a', 1) => Some(0xf2u8),
        _ => Some(0xf3),
    };
    if let Some(p) = rep {
        b.push(p);
    }
    if size == 8 {
        b.push(0x48);
    }
    b.push(op);
    let count = if rng.one_in(6) { 0 } else { rng.range(1, 24) };
    let df = st.rflags & 0x400 != 0;
    let span = count.max(1) * size;
    let addr = |rng: &mut Rng| -> u64 {
        let a = match rng.below(8) {
            0 => DATA + rng.below(span + 8),                       // may run below into the guard page
            1 => RO_PAGE - rng.below(span + 8),                    // may run into the read-only page
            2 => DATA_END - rng.below(span + 8),                   // may run off the end
            _ if df => DATA + span + rng.below(0x2000 - 2 * span), // room below
            _ => DATA + rng.below(0x2000 - 2 * span),
        };
        if addr32 {
            a | (rng.next_u64() & 0xffff_ffff_0000_0000)
        } else {
            a
        }
    };
    st.gpr[6] = addr(rng);
    st.gpr[7] = addr(rng);
    if rep.is_some() {
        st.gpr[1] = if addr32 { (rng.next_u64() & 0xffff_ffff_0000_0000) | count } else { count };
    }
    b
}

/// Generate one case of `class`.
pub fn generate(tables: &Tables, class: Class, rng: &mut Rng) -> Case {
    loop {
        if let Some(c) = try_generate(tables, class, rng) {
            return c;
        }
    }
}

fn try_generate(tables: &Tables, class: Class, rng: &mut Rng) -> Option<Case> {
    let mut st = MachineState::default();
    let mut data = Box::new([0u8; DATA_LEN]);
    base_state(rng, class, &mut st, &mut data);
    if class == Class::String {
        let code = string_insn(rng, &mut st);
        return Some(Case { class, form: None, code, init: st, data });
    }
    let codes = tables.of(class);
    if codes.is_empty() {
        return None;
    }
    let code = rng.pick(codes);
    let m = code.mnemonic();
    let mut b = Builder { rng, st: &mut st, data: &mut data, pins: Pins { val: [None; 16] }, class, mem_addr: None };

    // Implicit registers that must hold addresses are pinned first.
    let op = code.op_code();
    if class == Class::Stack || op.is_stack_instruction() {
        let sp = stack_pointer(b.rng);
        b.pin(4, sp);
        if matches!(m, Mnemonic::Enter | Mnemonic::Leave) {
            let bp = if b.rng.one_in(6) { stack_pointer(b.rng) } else { (sp.wrapping_add(b.rng.below(0x200)) & !7).min(RO_PAGE + 0xff8) };
            b.pin(5, bp);
        }
    }
    if code == Code::Xlat_m8 {
        // XLATB: the address is RBX + AL (EBX + AL with a 67 prefix).
        let addr32 = b.rng.one_in(4);
        let al = b.st.gpr[0] & 0xff;
        let a = b.target(1, 1);
        let mut rbx = a.wrapping_sub(al);
        if addr32 {
            rbx = (rbx & 0xffff_ffff) | (b.rng.next_u64() & 0xffff_ffff_0000_0000);
        }
        b.pin(3, rbx);
        let code = if addr32 { vec![0x67, 0xd7] } else { vec![0xd7] };
        return Some(Case { class, form: Some(Code::Xlat_m8), code, init: st, data });
    }
    let mut ins = b.build(code)?;
    let size = ins.memory_size().size();
    if let Some(a) = b.mem_addr {
        if b.rng.one_in(3) && !class.is_fp() {
            let v = b.rng.value();
            write_data(b.data, a, &v.to_le_bytes());
        } else if class.is_fp() && b.rng.coin() {
            // An interesting value of the operand's type.
            use iced_x86::MemorySize as MS;
            let mut buf = [0u8; 16];
            match ins.memory_size() {
                MS::Float32 => buf[..4].copy_from_slice(&b.rng.f32_bits().to_le_bytes()),
                MS::Float64 => buf[..8].copy_from_slice(&b.rng.f64_bits().to_le_bytes()),
                MS::Float80 => {
                    let (m, e) = b.rng.f80();
                    buf[..8].copy_from_slice(&m.to_le_bytes());
                    buf[8..10].copy_from_slice(&e.to_le_bytes());
                }
                MS::Packed64_Float32 if class == Class::Mmx => {
                    for k in 0..2 {
                        buf[4 * k..4 * k + 4].copy_from_slice(&b.rng.f32_bits().to_le_bytes());
                    }
                }
                MS::Packed128_Float32 => {
                    for k in 0..4 {
                        buf[4 * k..4 * k + 4].copy_from_slice(&b.rng.f32_bits().to_le_bytes());
                    }
                }
                MS::Packed128_Float64 => {
                    for k in 0..2 {
                        buf[8 * k..8 * k + 8].copy_from_slice(&b.rng.f64_bits().to_le_bytes());
                    }
                }
                _ => {
                    buf[..8].copy_from_slice(&b.rng.value().to_le_bytes());
                    buf[8..].copy_from_slice(&b.rng.value().to_le_bytes());
                }
            }
            write_data(b.data, a, &buf[..size.clamp(1, 16)]);
        }
    }

    // Class-specific fix-ups of the initial state.
    match m {
        Mnemonic::Ret if !b.rng.one_in(5) => {
            let sp = b.reg_value(4);
            let t = b.rng.pick(&EXITS);
            write_data(b.data, sp, &t.to_le_bytes());
        }
        Mnemonic::Jmp | Mnemonic::Call if ins.op0_kind() != OpKind::NearBranch64 && !b.rng.one_in(5) => {
            let t = b.rng.pick(&EXITS);
            if ins.op0_kind() == OpKind::Register {
                let n = gpr_num(ins.op0_register());
                if b.pins.val[n].is_none() {
                    b.pin(n, t);
                }
            } else if let Some(a) = b.mem_addr {
                write_data(b.data, a, &t.to_le_bytes());
            }
        }
        Mnemonic::Popf | Mnemonic::Popfq => {
            // TF and AC would trap natively (single-step, alignment check).
            let sp = b.reg_value(4);
            let v = read_data(b.data, sp, 8) & !((1 << 8) | (1 << 18));
            write_data(b.data, sp, &v.to_le_bytes()[..if m == Mnemonic::Popf { 2 } else { 8 }]);
        }
        Mnemonic::Div | Mnemonic::Idiv if b.rng.coin() => {
            // Mostly avoid quotient overflow: a zero or sign-extended high half.
            let lo = b.st.gpr[0];
            let hi = match size.max(if ins.op0_kind() == OpKind::Register { ins.op0_register().size() } else { 0 }) {
                1 => {
                    let ah = if m == Mnemonic::Idiv && lo & 0x80 != 0 { 0xff } else { 0 };
                    if b.pins.val[0].is_none() {
                        b.st.gpr[0] = (lo & !0xff00) | ah << 8;
                    }
                    None
                }
                2 => Some(if m == Mnemonic::Idiv && lo & 0x8000 != 0 { 0xffff } else { 0 }),
                4 => Some(if m == Mnemonic::Idiv && lo & 0x8000_0000 != 0 { 0xffff_ffff } else { 0 }),
                _ => Some(if m == Mnemonic::Idiv && lo >> 63 != 0 { u64::MAX } else { 0 }),
            };
            if let Some(h) = hi {
                if b.pins.val[2].is_none() {
                    let old = b.st.gpr[2];
                    let mask =
                        if size == 2 || (ins.op0_kind() == OpKind::Register && ins.op0_register().size() == 2) { 0xffff } else { u64::MAX };
                    b.st.gpr[2] = (old & !mask) | (h & mask);
                }
            }
        }
        Mnemonic::Shl
        | Mnemonic::Sal
        | Mnemonic::Shr
        | Mnemonic::Sar
        | Mnemonic::Rol
        | Mnemonic::Ror
        | Mnemonic::Rcl
        | Mnemonic::Rcr
        | Mnemonic::Shld
        | Mnemonic::Shrd => {
            if b.pins.val[1].is_none() {
                let c = b.rng.count();
                b.st.gpr[1] = (b.st.gpr[1] & !0xff) | c;
            }
            // SHLD/SHRD with a 16-bit operand and a count above 16 leave
            // the destination undefined: not generated.
            let opsize = if ins.op0_kind() == OpKind::Register { ins.op0_register().size() } else { size };
            if matches!(m, Mnemonic::Shld | Mnemonic::Shrd) && opsize == 2 {
                if ins.op2_kind() == OpKind::Immediate8 {
                    if ins.immediate8() & 31 > 16 {
                        ins.set_immediate8(ins.immediate8() & 15);
                    }
                } else if b.st.gpr[1] & 31 > 16 {
                    if b.pins.val[1].is_some() {
                        return None;
                    }
                    b.st.gpr[1] &= !0x10;
                }
            }
        }
        Mnemonic::Cmpxchg if b.rng.coin() => {
            // Make the comparison succeed half of the time.
            let v = match ins.op0_kind() {
                OpKind::Register => {
                    b.st.gpr[gpr_num(ins.op0_register())]
                        >> if ins.op0_register().is_gpr8()
                            && matches!(ins.op0_register(), Register::AH | Register::CH | Register::DH | Register::BH)
                        {
                            8
                        } else {
                            0
                        }
                }
                _ => read_data(b.data, b.mem_addr.unwrap_or(0), 8),
            };
            if b.pins.val[0].is_none() {
                let mask = match ins.op1_register().size() {
                    1 => 0xff,
                    2 => 0xffff,
                    4 => 0xffff_ffff,
                    _ => u64::MAX,
                };
                b.st.gpr[0] = (b.st.gpr[0] & !mask) | (v & mask);
            }
        }
        Mnemonic::Cmpxchg8b | Mnemonic::Cmpxchg16b if b.rng.coin() => {
            let a = b.mem_addr.unwrap_or(0);
            let half = if m == Mnemonic::Cmpxchg8b { 4 } else { 8 };
            let mask = if half == 4 { 0xffff_ffff } else { u64::MAX };
            if b.pins.val[0].is_none() && b.pins.val[2].is_none() {
                b.st.gpr[0] = (b.st.gpr[0] & !mask) | read_data(b.data, a, half);
                b.st.gpr[2] = (b.st.gpr[2] & !mask) | read_data(b.data, a.wrapping_add(half as u64), half);
            }
        }
        Mnemonic::Ldmxcsr if !b.rng.one_in(5) => {
            // Mostly a valid value (reserved bits raise #GP).
            let v = b.rng.next_u64() as u32 & 0xffff;
            if let Some(a) = b.mem_addr {
                write_data(b.data, a, &v.to_le_bytes());
            }
        }
        Mnemonic::Fxrstor | Mnemonic::Fxrstor64 if !b.rng.one_in(5) => {
            // A plausible image (random bytes nearly always have reserved
            // MXCSR bits set, which raises #GP).
            let mut img = MachineState::default();
            let mut scratch = Box::new([0u8; DATA_LEN]);
            fp_state(b.rng, &mut img, &mut scratch);
            if let Some(a) = b.mem_addr {
                write_data(b.data, a, &img.fx.0);
            }
        }
        Mnemonic::Fldcw if !b.rng.one_in(5) => {
            // Keep exceptions masked most of the time.
            let v = (b.rng.next_u64() as u16 & 0x0f00) | 0x3f | 0x40;
            if let Some(a) = b.mem_addr {
                write_data(b.data, a, &v.to_le_bytes());
            }
        }
        _ => {}
    }
    if class == Class::Mmx {
        mmx_state(&mut b, &mut ins);
    }
    if matches!(m, Mnemonic::Loop | Mnemonic::Loope | Mnemonic::Loopne | Mnemonic::Jrcxz | Mnemonic::Jecxz) && b.rng.coin() {
        b.st.gpr[1] = b.rng.pick(&[0, 1, 2, 0x1_0000_0000, 0x1_0000_0001, 0xffff_ffff]);
    }
    // Sometimes a flag consumer (Jcc/SETcc/CMOVcc) follows, to check the
    // flags as the next instruction sees them (oxvm evaluates conditions
    // from its lazy flags without materialising RFLAGS). Only when the
    // first instruction leaves no flag undefined.
    let mut second = Vec::new();
    if matches!(class, Class::Alu | Class::Mov | Class::Shift | Class::MulDiv | Class::Bits | Class::Atomic | Class::Flags)
        && b.rng.one_in(4)
        && crate::compare::undefined_flags(&ins, b.st) == 0
    {
        // Sometimes an instruction that leaves the flags alone (MOV, LEA,
        // NOT...) or keeps CF (INC/DEC) comes in between.
        let mut v = Vec::new();
        if b.rng.coin() {
            let c = b.rng.pick(&tables.neutral);
            v.push(b.build(c)?);
        }
        let c2 = b.rng.pick(&tables.consumers);
        v.push(b.build(c2)?);
        // The later instructions' address registers may have changed a
        // count the first one uses.
        if crate::compare::undefined_flags(&ins, b.st) != 0 {
            return None;
        }
        second = v;
    }
    let mut bytes = encode_at(&mut ins, TEST_ADDR)?;
    for mut next in second {
        let more = encode_at(&mut next, TEST_ADDR + bytes.len() as u64)?;
        bytes.extend_from_slice(&more);
    }
    if bytes.len() > MAX_TEST_BYTES {
        return None;
    }
    Some(Case { class, form: Some(code), code: bytes, init: st, data })
}

/// The MMX class's initial state on top of the x87 one: integer values
/// (edge cases in every element size) in about half of the MMX registers,
/// mostly small shift counts, and now and then an unmasked x87 exception
/// pending (every MMX instruction, EMMS included, then raises #MF).
fn mmx_state(b: &mut Builder, ins: &mut Instruction) {
    use Mnemonic as M;
    let top = b.st.fx.top();
    let stack_index = |r: Register| (r.number() + 8 - top) & 7;
    for i in 0..8 {
        if b.rng.coin() {
            let (_, e) = b.st.fx.st(i);
            let v = mmx_value(b.rng);
            b.st.fx.set_st(i, v, e);
        }
    }
    if matches!(ins.mnemonic(), M::Psllw | M::Pslld | M::Psllq | M::Psrlw | M::Psrld | M::Psrlq | M::Psraw | M::Psrad) {
        let c = b.rng.count();
        match ins.op1_kind() {
            OpKind::Immediate8 => ins.set_immediate8(c as u8),
            OpKind::Register if b.rng.coin() => {
                let i = stack_index(ins.op1_register());
                let (_, e) = b.st.fx.st(i);
                b.st.fx.set_st(i, c, e);
            }
            OpKind::Memory if b.rng.coin() => {
                if let Some(a) = b.mem_addr {
                    write_data(b.data, a, &c.to_le_bytes());
                }
            }
            _ => {}
        }
    }
    if b.rng.one_in(12) {
        let e = 1u16 << b.rng.below(6);
        b.st.fx.set_fcw(b.st.fx.fcw() & !e);
        b.st.fx.set_fsw(b.st.fx.fsw() | e | 0x8080);
    }
}

/// A 64-bit MMX value.
fn mmx_value(rng: &mut Rng) -> u64 {
    match rng.below(4) {
        0 => {
            // Bytes from the saturation edges.
            (0..8).fold(0u64, |v, k| v | (rng.pick(&[0u64, 1, 0x7f, 0x80, 0x81, 0xfe, 0xff]) << (8 * k)))
        }
        1 => {
            // Two 32-bit integers of random magnitude and sign.
            let mut half = || {
                let v = (rng.next_u64() as u32) >> rng.below(32);
                if rng.coin() {
                    v
                } else {
                    v.wrapping_neg()
                }
            };
            half() as u64 | (half() as u64) << 32
        }
        _ => rng.value(),
    }
}

/// Encode `ins` at `ip`. A branch to "0" means the fall-through exit
/// point: patched in once the length is known.
fn encode_at(ins: &mut Instruction, ip: u64) -> Option<Vec<u8>> {
    let mut enc = Encoder::new(64);
    if ins.op0_kind() == OpKind::NearBranch64 && ins.near_branch64() == 0 {
        ins.set_near_branch64(ip + 16);
        let len = enc.encode(ins, ip).ok()?;
        let _ = enc.take_buffer();
        ins.set_near_branch64(ip + len as u64);
    }
    enc.encode(ins, ip).ok()?;
    Some(enc.take_buffer())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_forms() {
        let t = Tables::new();
        for c in Class::ALL {
            if c != Class::String {
                assert!(!t.of(c).is_empty(), "{c:?} has no instruction forms");
            }
        }
        assert!(t.of(Class::Alu).contains(&Code::Adc_rm64_imm32));
        assert!(t.of(Class::Mov).contains(&Code::Xlat_m8));
        assert!(!t.of(Class::SseInt).iter().any(|c| c.cpuid_features().contains(&CpuidFeature::SSSE3)));
    }

    #[test]
    fn generation_is_deterministic() {
        let t = Tables::new();
        for c in Class::ALL {
            let mut a = Rng::new(7);
            let mut b = Rng::new(7);
            for _ in 0..200 {
                let x = generate(&t, c, &mut a);
                let y = generate(&t, c, &mut b);
                assert_eq!(x.code, y.code);
                assert_eq!(x.init, y.init);
                assert!(x.data[..] == y.data[..]);
            }
        }
    }

    #[test]
    fn flag_consumer_sequences_are_generated() {
        let t = Tables::new();
        let mut rng = Rng::new(3);
        let mut lens = [0; 4];
        for _ in 0..2000 {
            let n = generate(&t, Class::Alu, &mut rng).insns().len();
            lens[n.min(3)] += 1;
        }
        assert!(lens[1] > 1000 && lens[2] > 50 && lens[3] > 50, "{lens:?}");
    }

    /// Memory operands resolve to the data region or its guard pages (the
    /// solver pinned the address registers right).
    #[test]
    fn memory_operands_land_near_the_data_region() {
        use iced_x86::InstructionInfoFactory;
        let t = Tables::new();
        let mut rng = Rng::new(11);
        let mut f = InstructionInfoFactory::new();
        let mut checked = 0;
        for c in [
            Class::Alu,
            Class::Mov,
            Class::Shift,
            Class::MulDiv,
            Class::Atomic,
            Class::SseInt,
            Class::X87,
            Class::Cond,
            Class::Stack,
            Class::SseFloat,
            Class::SseMisc,
            Class::Misc,
            Class::Mmx,
        ] {
            for _ in 0..3000 {
                let case = generate(&t, c, &mut rng);
                let ins = case.insns()[0];
                if ins.mnemonic() == Mnemonic::Lea {
                    continue;
                }
                for m in f.info(&ins).used_memory() {
                    let get = |r: Register, _: usize, _: usize| {
                        // Segment bases are zero (no FS/GS overrides are generated).
                        if r == Register::None || r.is_segment_register() {
                            return Some(0);
                        }
                        let v = case.init.gpr[r.full_register().number()];
                        Some(match r.size() {
                            1 => v & 0xff,
                            2 => v & 0xffff,
                            4 => v & 0xffff_ffff,
                            _ => v,
                        })
                    };
                    let a = m.virtual_address(0, get).expect("address computes");
                    assert!((DATA - 0x1000..DATA_END + 0x1000).contains(&a), "{c:?} {ins} at {a:#x} um {m:x?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000);
    }
}
#[cfg(test)]
mod dump {
    #[test]
    #[ignore]
    fn dump_tables() {
        let t = super::Tables::new();
        for (c, v) in &t.codes {
            let mut m: Vec<String> = v.iter().map(|c| format!("{:?}", c.mnemonic())).collect();
            m.dedup();
            println!("{} {} forms: {}", c.name(), v.len(), m.join(" "));
        }
    }
}
