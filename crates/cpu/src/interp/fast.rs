//! Specialised handlers for the most frequent instruction forms.
//!
//! When a block is decoded, each instruction gets a handler: one of these
//! when its form is common (a 32/64-bit ALU operation between registers,
//! a load or store, a conditional branch...), the generic dispatch
//! otherwise. A specialised handler is monomorphised over its operation,
//! size and condition, so it does none of the generic path's operand-kind
//! and mnemonic matching. Semantics are identical to the generic handlers;
//! the differential tests run through whichever handler is selected.

use iced_x86::{Code, Instruction, Mnemonic, OpKind, Register};

use super::{exec, read_mem, write_mem, R};
use crate::block::Op;
use crate::flags::{size_mask, FlagOp};
use crate::mem::Bus;
use crate::state::CpuState;

/// An instruction handler.
pub(crate) type Handler = fn(&mut CpuState, &mut Bus, &Op) -> R;

/// The generic path: dispatch on the mnemonic.
pub(crate) fn generic(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    exec(cpu, bus, &op.insn)
}

const ADD: u8 = 0;
const SUB: u8 = 1;
const CMP: u8 = 2;
const AND: u8 = 3;
const TEST: u8 = 4;
const OR: u8 = 5;
const XOR: u8 = 6;

/// Index into `cpu.gpr` of a 32- or 64-bit register operand.
#[inline(always)]
fn gpr<const SIZE: u32>(r: Register) -> usize {
    let base = if SIZE == 8 { Register::RAX } else { Register::EAX };
    (r as usize).wrapping_sub(base as usize) & 15
}

#[inline(always)]
fn wr<const SIZE: u32>(cpu: &mut CpuState, idx: usize, v: u64) {
    cpu.gpr[idx] = if SIZE == 8 { v } else { v & 0xffff_ffff };
}

/// Compute an ALU operation; returns the result and the lazy-flags record
/// to store once nothing can fault any more.
#[inline(always)]
fn alu_compute<const OP: u8, const SIZE: u32>(a: u64, b: u64) -> (u64, FlagOp, u64) {
    let m = size_mask(SIZE);
    let b = b & m;
    let (res, op) = match OP {
        ADD => (a.wrapping_add(b), FlagOp::Add),
        SUB | CMP => (a.wrapping_sub(b), FlagOp::Sub),
        AND | TEST => (a & b, FlagOp::Logic),
        OR => (a | b, FlagOp::Logic),
        _ => (a ^ b, FlagOp::Logic),
    };
    (res & m, op, b)
}

#[inline(always)]
fn alu_op<const OP: u8, const SIZE: u32>(cpu: &mut CpuState, a: u64, b: u64) -> u64 {
    let (res, op, b) = alu_compute::<OP, SIZE>(a, b);
    cpu.flags.set_lazy(op, SIZE, a, b, res);
    res
}

const fn writes(op: u8) -> bool {
    op != CMP && op != TEST
}

fn alu_rr<const OP: u8, const SIZE: u32>(cpu: &mut CpuState, _: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    let d = gpr::<SIZE>(i.op0_register());
    let s = gpr::<SIZE>(i.op1_register());
    let a = cpu.gpr[d] & size_mask(SIZE);
    let res = alu_op::<OP, SIZE>(cpu, a, cpu.gpr[s]);
    if writes(OP) {
        wr::<SIZE>(cpu, d, res);
    }
    Ok(())
}

fn alu_ri<const OP: u8, const SIZE: u32>(cpu: &mut CpuState, _: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    let d = gpr::<SIZE>(i.op0_register());
    let a = cpu.gpr[d] & size_mask(SIZE);
    let res = alu_op::<OP, SIZE>(cpu, a, i.immediate(1));
    if writes(OP) {
        wr::<SIZE>(cpu, d, res);
    }
    Ok(())
}

fn alu_rm<const OP: u8, const SIZE: u32>(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    let d = gpr::<SIZE>(i.op0_register());
    let b = read_mem(bus, op.mem.ea(cpu), SIZE)?;
    let a = cpu.gpr[d] & size_mask(SIZE);
    let res = alu_op::<OP, SIZE>(cpu, a, b);
    if writes(OP) {
        wr::<SIZE>(cpu, d, res);
    }
    Ok(())
}

fn alu_mr<const OP: u8, const SIZE: u32>(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    let addr = op.mem.ea(cpu);
    if writes(OP) {
        super::probe_write(bus, addr, SIZE)?;
    }
    let a = read_mem(bus, addr, SIZE)?;
    let b = cpu.gpr[gpr::<SIZE>(i.op1_register())];
    alu_mem_finish::<OP, SIZE>(cpu, bus, addr, a, b)
}

fn alu_mi<const OP: u8, const SIZE: u32>(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    let addr = op.mem.ea(cpu);
    if writes(OP) {
        super::probe_write(bus, addr, SIZE)?;
    }
    let a = read_mem(bus, addr, SIZE)?;
    alu_mem_finish::<OP, SIZE>(cpu, bus, addr, a, i.immediate(1))
}

#[inline(always)]
fn alu_mem_finish<const OP: u8, const SIZE: u32>(cpu: &mut CpuState, bus: &mut Bus, addr: u64, a: u64, b: u64) -> R {
    let (res, op, b) = alu_compute::<OP, SIZE>(a, b);
    if writes(OP) {
        write_mem(bus, addr, SIZE, res)?;
    }
    cpu.flags.set_lazy(op, SIZE, a, b, res);
    Ok(())
}

fn mov_rr<const SIZE: u32>(cpu: &mut CpuState, _: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    let v = cpu.gpr[gpr::<SIZE>(i.op1_register())];
    wr::<SIZE>(cpu, gpr::<SIZE>(i.op0_register()), v);
    Ok(())
}

fn mov_ri<const SIZE: u32>(cpu: &mut CpuState, _: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    wr::<SIZE>(cpu, gpr::<SIZE>(i.op0_register()), i.immediate(1));
    Ok(())
}

fn mov_rm<const SIZE: u32>(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    let v = read_mem(bus, op.mem.ea(cpu), SIZE)?;
    wr::<SIZE>(cpu, gpr::<SIZE>(i.op0_register()), v);
    Ok(())
}

fn mov_mr<const SIZE: u32>(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    write_mem(bus, op.mem.ea(cpu), SIZE, cpu.gpr[gpr::<SIZE>(i.op1_register())])
}

fn mov_mi<const SIZE: u32>(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    write_mem(bus, op.mem.ea(cpu), SIZE, i.immediate(1))
}

fn lea<const SIZE: u32>(cpu: &mut CpuState, _: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    // LEA never has a meaningful segment override in 64-bit code; `ea`
    // adds FS/GS bases, so those (rare) forms take the generic path.
    let a = op.mem.ea(cpu);
    wr::<SIZE>(cpu, gpr::<SIZE>(i.op0_register()), a);
    Ok(())
}

fn incdec<const INC: bool, const SIZE: u32, const DEAD: bool>(cpu: &mut CpuState, _: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    let d = gpr::<SIZE>(i.op0_register());
    let a = cpu.gpr[d] & size_mask(SIZE);
    let res = if INC { a.wrapping_add(1) } else { a.wrapping_sub(1) } & size_mask(SIZE);
    wr::<SIZE>(cpu, d, res);
    if !DEAD {
        cpu.flags.set_incdec(if INC { FlagOp::Inc } else { FlagOp::Dec }, SIZE, a, res);
    }
    Ok(())
}

fn jcc<const CC: u8>(cpu: &mut CpuState, _: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    if cpu.flags.cond(CC) {
        cpu.rip = i.near_branch64();
    }
    Ok(())
}

fn jmp_rel(cpu: &mut CpuState, _: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    cpu.rip = i.near_branch64();
    Ok(())
}

fn call_rel(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    super::push(cpu, bus, 8, i.next_ip())?;
    cpu.rip = i.near_branch64();
    Ok(())
}

fn ret(cpu: &mut CpuState, bus: &mut Bus, _: &Op) -> R {
    let sp = cpu.gpr[crate::state::reg::RSP];
    let target = bus.read_u64(sp)?;
    // A non-canonical return address raises #GP at the RET, nothing popped.
    if !crate::mem::is_canonical(target) {
        return Err(crate::Fault::GeneralProtection.into());
    }
    cpu.gpr[crate::state::reg::RSP] = sp.wrapping_add(8);
    cpu.rip = target;
    Ok(())
}

fn push_r64(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    let v = cpu.gpr[gpr::<8>(i.op0_register())];
    super::push(cpu, bus, 8, v)
}

fn pop_r64(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    let v = super::pop(cpu, bus, 8)?;
    cpu.gpr[gpr::<8>(i.op0_register())] = v;
    Ok(())
}

/// MOV of a byte or word between a low register (not AH..BH) and memory.
fn mov_load_narrow<const SIZE: u32>(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    let v = read_mem(bus, op.mem.ea(cpu), SIZE)?;
    super::set_reg(cpu, op.insn.op0_register(), v);
    Ok(())
}

fn mov_store_narrow<const SIZE: u32>(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    let v = super::get_reg(cpu, op.insn.op1_register());
    write_mem(bus, op.mem.ea(cpu), SIZE, v)
}

const SHL: u8 = 0;
const SHR: u8 = 1;
const SAR: u8 = 2;
const ROL: u8 = 3;
const ROR: u8 = 4;

/// Shift or rotate of a 32/64-bit register by a non-zero immediate count
/// (a zero count changes no flags and takes the generic path). Flag rules as
/// in `shift.rs`.
fn shift_ri<const OP: u8, const SIZE: u32, const DEAD: bool>(cpu: &mut CpuState, _: &mut Bus, op: &Op) -> R {
    use crate::flags::{sign_bit, zsp, CF, OF};
    let i = &op.insn;
    let d = gpr::<SIZE>(i.op0_register());
    let bits = SIZE * 8;
    let mask = size_mask(SIZE);
    let sign = sign_bit(SIZE);
    let c = (i.immediate8() as u32) & if SIZE == 8 { 63 } else { 31 };
    let a = cpu.gpr[d] & mask;
    if DEAD {
        // No instruction reads these flags before the block overwrites
        // them (see `block::flags_dead`): compute the result only.
        let res = match OP {
            SHL => (a << c) & mask,
            SHR => a >> c,
            SAR => (super::int::sign_extend(a, SIZE) as i64 >> c) as u64 & mask,
            ROL => ((a << c) | (a >> (bits - c))) & mask,
            _ => ((a >> c) | (a << (bits - c))) & mask,
        };
        wr::<SIZE>(cpu, d, res);
        return Ok(());
    }
    let (res, flags) = match OP {
        SHL => {
            let res = (a << c) & mask;
            let cf = (a >> (bits - c)) & 1 != 0;
            let of = (res & sign != 0) != cf;
            (res, zsp(res, SIZE) | (cf as u64 * CF) | (of as u64 * OF))
        }
        SHR => {
            let res = a >> c;
            let cf = (a >> (c - 1)) & 1 != 0;
            let of = c == 1 && a & sign != 0;
            (res, zsp(res, SIZE) | (cf as u64 * CF) | (of as u64 * OF))
        }
        SAR => {
            let sa = super::int::sign_extend(a, SIZE) as i64;
            let res = (sa >> c) as u64 & mask;
            let cf = (sa >> (c - 1)) & 1 != 0;
            (res, zsp(res, SIZE) | (cf as u64 * CF))
        }
        _ => {
            let old = cpu.flags.arith() & !(CF | OF);
            let res = if OP == ROL { ((a << c) | (a >> (bits - c))) & mask } else { ((a >> c) | (a << (bits - c))) & mask };
            let (cf, of) = if OP == ROL {
                let cf = res & 1 != 0;
                (cf, (res & sign != 0) != cf)
            } else {
                let msb = res & sign != 0;
                (msb, msb != (res & (sign >> 1) != 0))
            };
            (res, old | (cf as u64 * CF) | (of as u64 * OF))
        }
    };
    wr::<SIZE>(cpu, d, res);
    cpu.flags.set_arith(flags);
    Ok(())
}

/// IMUL r, r/m, imm and IMUL r, r/m (32/64-bit): the truncated product,
/// CF = OF = whether it overflowed; SF/ZF/PF as the generic path sets them.
fn imul_r<const SIZE: u32, const IMM: bool, const DEAD: bool>(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    use crate::flags::{zsp, CF, OF};
    let i = &op.insn;
    let src = match i.op1_kind() {
        OpKind::Memory => read_mem(bus, op.mem.ea(cpu), SIZE)?,
        _ => cpu.gpr[gpr::<SIZE>(i.op1_register())],
    };
    let d = gpr::<SIZE>(i.op0_register());
    let (a, b) = if IMM { (src, i.immediate(2)) } else { (cpu.gpr[d], src) };
    let (res, overflow) = if SIZE == 8 {
        let (r, o) = (a as i64).overflowing_mul(b as i64);
        (r as u64, o)
    } else {
        let p = (a as u32 as i32 as i64) * (b as u32 as i32 as i64);
        (p as u64 & 0xffff_ffff, p != p as i32 as i64)
    };
    wr::<SIZE>(cpu, d, res);
    if !DEAD {
        cpu.flags.set_arith(zsp(res, SIZE) | if overflow { CF | OF } else { 0 });
    }
    Ok(())
}

fn neg_not<const NEG: bool, const SIZE: u32>(cpu: &mut CpuState, _: &mut Bus, op: &Op) -> R {
    let d = gpr::<SIZE>(op.insn.op0_register());
    let a = cpu.gpr[d] & size_mask(SIZE);
    if NEG {
        let res = 0u64.wrapping_sub(a) & size_mask(SIZE);
        wr::<SIZE>(cpu, d, res);
        cpu.flags.set_lazy(FlagOp::Sub, SIZE, 0, a, res);
    } else {
        wr::<SIZE>(cpu, d, !a & size_mask(SIZE));
    }
    Ok(())
}

/// ADC/SBB between registers.
fn adc_sbb_rr<const SBB: bool, const SIZE: u32>(cpu: &mut CpuState, _: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    let d = gpr::<SIZE>(i.op0_register());
    let a = cpu.gpr[d] & size_mask(SIZE);
    let b = cpu.gpr[gpr::<SIZE>(i.op1_register())] & size_mask(SIZE);
    let cin = cpu.flags.cf();
    let res = if SBB { a.wrapping_sub(b).wrapping_sub(cin as u64) } else { a.wrapping_add(b).wrapping_add(cin as u64) } & size_mask(SIZE);
    wr::<SIZE>(cpu, d, res);
    let f = if SBB { super::int::sub_flags(SIZE, a, b, cin, res) } else { super::int::add_flags(SIZE, a, b, cin, res) };
    cpu.flags.set_arith(f);
    Ok(())
}

fn movzx_r32<const SRC: u32>(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    let v = match i.op1_kind() {
        OpKind::Memory => read_mem(bus, op.mem.ea(cpu), SRC)?,
        _ => super::get_reg(cpu, i.op1_register()),
    };
    wr::<4>(cpu, gpr::<4>(i.op0_register()), v);
    Ok(())
}

fn movsxd_r64(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    let v = match i.op1_kind() {
        OpKind::Memory => read_mem(bus, op.mem.ea(cpu), 4)?,
        _ => cpu.gpr[gpr::<4>(i.op1_register())] & 0xffff_ffff,
    };
    cpu.gpr[gpr::<8>(i.op0_register())] = v as u32 as i32 as i64 as u64;
    Ok(())
}

/// CMP/TEST of a byte in memory with an immediate (string scanning loops).
fn cmp8_mi<const TESTING: bool>(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    let a = bus.read_u8(op.mem.ea(cpu))? as u64;
    let b = op.insn.immediate(1) & 0xff;
    if TESTING {
        cpu.flags.set_lazy(FlagOp::Logic, 1, a, b, a & b);
    } else {
        cpu.flags.set_lazy(FlagOp::Sub, 1, a, b, a.wrapping_sub(b) & 0xff);
    }
    Ok(())
}

fn cmov_rr<const CC: u8, const SIZE: u32>(cpu: &mut CpuState, _: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    let d = gpr::<SIZE>(i.op0_register());
    let v = if cpu.flags.cond(CC) { cpu.gpr[gpr::<SIZE>(i.op1_register())] } else { cpu.gpr[d] };
    wr::<SIZE>(cpu, d, v);
    Ok(())
}

macro_rules! by_op {
    ($f:ident, $op:expr, $size:expr) => {
        match ($op, $size) {
            (ADD, 8) => $f::<ADD, 8> as Handler,
            (SUB, 8) => $f::<SUB, 8>,
            (CMP, 8) => $f::<CMP, 8>,
            (AND, 8) => $f::<AND, 8>,
            (TEST, 8) => $f::<TEST, 8>,
            (OR, 8) => $f::<OR, 8>,
            (XOR, 8) => $f::<XOR, 8>,
            (ADD, _) => $f::<ADD, 4>,
            (SUB, _) => $f::<SUB, 4>,
            (CMP, _) => $f::<CMP, 4>,
            (AND, _) => $f::<AND, 4>,
            (TEST, _) => $f::<TEST, 4>,
            (OR, _) => $f::<OR, 4>,
            (_, _) => $f::<XOR, 4>,
        }
    };
}

macro_rules! cc_table {
    ($f:ident $(, $size:literal)?) => {
        [
            $f::<0 $(, $size)?>,
            $f::<1 $(, $size)?>,
            $f::<2 $(, $size)?>,
            $f::<3 $(, $size)?>,
            $f::<4 $(, $size)?>,
            $f::<5 $(, $size)?>,
            $f::<6 $(, $size)?>,
            $f::<7 $(, $size)?>,
            $f::<8 $(, $size)?>,
            $f::<9 $(, $size)?>,
            $f::<10 $(, $size)?>,
            $f::<11 $(, $size)?>,
            $f::<12 $(, $size)?>,
            $f::<13 $(, $size)?>,
            $f::<14 $(, $size)?>,
            $f::<15 $(, $size)?>,
        ]
    };
}

const CMOV64: [Handler; 16] = cc_table!(cmov_rr, 8);
const CMOV32: [Handler; 16] = cc_table!(cmov_rr, 4);

const JCC: [Handler; 16] = [
    jcc::<0>, jcc::<1>, jcc::<2>, jcc::<3>, jcc::<4>, jcc::<5>, jcc::<6>, jcc::<7>, jcc::<8>, jcc::<9>, jcc::<10>, jcc::<11>, jcc::<12>,
    jcc::<13>, jcc::<14>, jcc::<15>,
];

/// A memory operand the fast handlers can address: no FS/GS base to add is
/// fine too (`ea` handles it), so every plain memory operand qualifies.
fn plain_mem(i: &Instruction) -> bool {
    crate::block::MemOperand::of(i).simple
}

/// A low byte register (AL..R15L, not AH..BH).
fn low8(r: Register) -> bool {
    r.is_gpr8() && !matches!(r, Register::AH | Register::CH | Register::DH | Register::BH)
}

/// Byte ALU operation: register or memory destination (`MEM`), source a
/// low byte register or an immediate. The destination is resolved once.
fn alu8<const OP: u8, const MEM: bool>(cpu: &mut CpuState, bus: &mut Bus, op: &Op) -> R {
    let i = &op.insn;
    let b = if i.op1_kind() == OpKind::Register { super::get_reg(cpu, i.op1_register()) } else { i.immediate(1) } & 0xff;
    let addr = if MEM { op.mem.ea(cpu) } else { 0 };
    let a = if MEM { bus.read_u8(addr)? as u64 } else { super::get_reg(cpu, i.op0_register()) };
    let (res, fop, b) = alu_compute::<OP, 1>(a, b);
    if writes(OP) {
        if MEM {
            bus.write_u8(addr, res as u8)?;
        } else {
            super::set_reg(cpu, i.op0_register(), res);
        }
    }
    cpu.flags.set_lazy(fop, 1, a, b, res);
    Ok(())
}

fn select_alu8(i: &Instruction, op: u8, k0: OpKind, k1: OpKind) -> Option<Handler> {
    let src_ok = match k1 {
        OpKind::Register => low8(i.op1_register()),
        OpKind::Immediate8 => true,
        _ => false,
    };
    let mem = match k0 {
        OpKind::Register if low8(i.op0_register()) => false,
        OpKind::Memory if i.memory_size().size() == 1 && !i.has_lock_prefix() => true,
        _ => return None,
    };
    if !src_ok {
        return None;
    }
    macro_rules! pick {
        ($m:literal) => {
            match op {
                ADD => alu8::<ADD, $m> as Handler,
                SUB => alu8::<SUB, $m>,
                CMP => alu8::<CMP, $m>,
                AND => alu8::<AND, $m>,
                TEST => alu8::<TEST, $m>,
                OR => alu8::<OR, $m>,
                _ => alu8::<XOR, $m>,
            }
        };
    }
    Some(if mem { pick!(true) } else { pick!(false) })
}

fn setcc_r8<const CC: u8>(cpu: &mut CpuState, _: &mut Bus, op: &Op) -> R {
    let v = cpu.flags.cond(CC) as u64;
    super::set_reg(cpu, op.insn.op0_register(), v);
    Ok(())
}

const SETCC: [Handler; 16] = cc_table!(setcc_r8);

/// Byte and word moves between low registers and memory.
fn select_narrow_mov(i: &Instruction, k0: OpKind, k1: OpKind) -> Handler {
    let low = |r: Register| (r.is_gpr8() && !matches!(r, Register::AH | Register::CH | Register::DH | Register::BH)) || r.is_gpr16();
    match (k0, k1) {
        (OpKind::Register, OpKind::Memory) if low(i.op0_register()) => {
            if i.op0_register().is_gpr8() {
                mov_load_narrow::<1>
            } else {
                mov_load_narrow::<2>
            }
        }
        (OpKind::Memory, OpKind::Register) if low(i.op1_register()) => {
            if i.op1_register().is_gpr8() {
                mov_store_narrow::<1>
            } else {
                mov_store_narrow::<2>
            }
        }
        _ => generic,
    }
}

/// Pick the handler for a decoded instruction. `flags_dead`: no instruction
/// reads the arithmetic flags this one produces (they are overwritten
/// first, with nothing in between that could fault).
pub(crate) fn select(i: &Instruction, flags_dead: bool) -> Handler {
    if let Some(h) = super::sse::fast_handler(i) {
        return h;
    }
    let m = i.mnemonic();
    let count = i.op_count();
    let k0 = if count > 0 { i.op0_kind() } else { OpKind::Register };
    let k1 = if count > 1 { i.op1_kind() } else { OpKind::Register };
    let reg_size = |n: u32| -> u32 {
        let r = i.op_register(n);
        if r.is_gpr64() {
            8
        } else if r.is_gpr32() {
            4
        } else {
            0
        }
    };
    let imm = |k: OpKind| matches!(k, OpKind::Immediate8to32 | OpKind::Immediate32 | OpKind::Immediate8to64 | OpKind::Immediate32to64);
    let mem_size = || i.memory_size().size() as u32;
    // Memory forms need the pre-resolved operand; registers-only forms
    // have none.
    let simple = plain_mem(i) || !(0..count).any(|n| i.op_kind(n) == OpKind::Memory);
    let alu = match m {
        Mnemonic::Add => Some(ADD),
        Mnemonic::Sub => Some(SUB),
        Mnemonic::Cmp => Some(CMP),
        Mnemonic::And => Some(AND),
        Mnemonic::Test => Some(TEST),
        Mnemonic::Or => Some(OR),
        Mnemonic::Xor => Some(XOR),
        _ => None,
    };
    if i.has_lock_prefix() && count == 2 && k0 == OpKind::Memory {
        // Locked forms are atomic anyway on one host thread, but keep them
        // on the generic path: they are rare.
        return generic;
    }
    if !simple {
        return generic;
    }
    if let Some(op) = alu {
        if count == 2 {
            match (k0, k1) {
                (OpKind::Register, OpKind::Register) => {
                    let s = reg_size(0);
                    if s != 0 && reg_size(1) == s {
                        return by_op!(alu_rr, op, s);
                    }
                }
                (OpKind::Register, k) if imm(k) => {
                    let s = reg_size(0);
                    if s != 0 {
                        return by_op!(alu_ri, op, s);
                    }
                }
                (OpKind::Register, OpKind::Memory) => {
                    let s = reg_size(0);
                    if s != 0 {
                        return by_op!(alu_rm, op, s);
                    }
                }
                (OpKind::Memory, OpKind::Register) => {
                    let s = reg_size(1);
                    if s != 0 && mem_size() == s {
                        return by_op!(alu_mr, op, s);
                    }
                }
                (OpKind::Memory, k) if imm(k) => {
                    let s = mem_size();
                    if s == 4 || s == 8 {
                        return by_op!(alu_mi, op, s);
                    }
                }
                _ => {}
            }
            if let Some(h) = select_alu8(i, op, k0, k1) {
                return h;
            }
        }
        return generic;
    }
    match m {
        Mnemonic::Mov if count == 2 => {
            let size_of = |s: u32| if s == 8 { 8 } else { 4 };
            match (k0, k1) {
                (OpKind::Register, OpKind::Register) => {
                    let s = reg_size(0);
                    if s != 0 && reg_size(1) == s {
                        return if s == 8 { mov_rr::<8> } else { mov_rr::<4> };
                    }
                }
                (OpKind::Register, k) if imm(k) || k == OpKind::Immediate64 => {
                    let s = reg_size(0);
                    if s != 0 {
                        return if size_of(s) == 8 { mov_ri::<8> } else { mov_ri::<4> };
                    }
                }
                (OpKind::Register, OpKind::Memory) => {
                    let s = reg_size(0);
                    if s != 0 {
                        return if s == 8 { mov_rm::<8> } else { mov_rm::<4> };
                    }
                }
                (OpKind::Memory, OpKind::Register) => {
                    let s = reg_size(1);
                    if s != 0 {
                        return if s == 8 { mov_mr::<8> } else { mov_mr::<4> };
                    }
                }
                (OpKind::Memory, k) if imm(k) => {
                    let s = mem_size();
                    if s == 8 {
                        return mov_mi::<8>;
                    } else if s == 4 {
                        return mov_mi::<4>;
                    }
                }
                _ => {}
            }
            select_narrow_mov(i, k0, k1)
        }
        Mnemonic::Lea if i.memory_segment() != Register::FS && i.memory_segment() != Register::GS => match reg_size(0) {
            8 => lea::<8>,
            4 => lea::<4>,
            _ => generic,
        },
        _ if k0 == OpKind::Register && k1 == OpKind::Register && super::is_cmovcc(m) => {
            let cc = super::cc_of(i) as usize;
            match reg_size(0) {
                8 if reg_size(1) == 8 => CMOV64[cc],
                4 if reg_size(1) == 4 => CMOV32[cc],
                _ => generic,
            }
        }
        Mnemonic::Shl | Mnemonic::Shr | Mnemonic::Sar | Mnemonic::Rol | Mnemonic::Ror
            if k0 == OpKind::Register && k1 == OpKind::Immediate8 && (i.immediate8() & if reg_size(0) == 8 { 63 } else { 31 }) != 0 =>
        {
            macro_rules! pick {
                ($op:expr) => {
                    match reg_size(0) {
                        8 if flags_dead => shift_ri::<{ $op }, 8, true> as Handler,
                        4 if flags_dead => shift_ri::<{ $op }, 4, true>,
                        8 => shift_ri::<{ $op }, 8, false>,
                        4 => shift_ri::<{ $op }, 4, false>,
                        _ => generic,
                    }
                };
            }
            match m {
                Mnemonic::Shl => pick!(SHL),
                Mnemonic::Shr => pick!(SHR),
                Mnemonic::Sar => pick!(SAR),
                Mnemonic::Rol => pick!(ROL),
                _ => pick!(ROR),
            }
        }
        Mnemonic::Imul if count >= 2 && k0 == OpKind::Register && (k1 == OpKind::Register || k1 == OpKind::Memory) => {
            let s = reg_size(0);
            let src_ok = k1 == OpKind::Memory || reg_size(1) == s;
            match (s, count == 3, src_ok, flags_dead) {
                (8, true, true, false) => imul_r::<8, true, false>,
                (8, false, true, false) => imul_r::<8, false, false>,
                (4, true, true, false) => imul_r::<4, true, false>,
                (4, false, true, false) => imul_r::<4, false, false>,
                (8, true, true, true) => imul_r::<8, true, true>,
                (8, false, true, true) => imul_r::<8, false, true>,
                (4, true, true, true) => imul_r::<4, true, true>,
                (4, false, true, true) => imul_r::<4, false, true>,
                _ => generic,
            }
        }
        Mnemonic::Neg | Mnemonic::Not if k0 == OpKind::Register => match (m == Mnemonic::Neg, reg_size(0)) {
            (true, 8) => neg_not::<true, 8>,
            (true, 4) => neg_not::<true, 4>,
            (false, 8) => neg_not::<false, 8>,
            (false, 4) => neg_not::<false, 4>,
            _ => generic,
        },
        Mnemonic::Adc | Mnemonic::Sbb if k0 == OpKind::Register && k1 == OpKind::Register && reg_size(0) == reg_size(1) => {
            match (m == Mnemonic::Sbb, reg_size(0)) {
                (true, 8) => adc_sbb_rr::<true, 8>,
                (true, 4) => adc_sbb_rr::<true, 4>,
                (false, 8) => adc_sbb_rr::<false, 8>,
                (false, 4) => adc_sbb_rr::<false, 4>,
                _ => generic,
            }
        }
        _ if count == 1 && k0 == OpKind::Register && low8(i.op0_register()) && super::is_setcc(m) => SETCC[super::cc_of(i) as usize],
        Mnemonic::Inc | Mnemonic::Dec if k0 == OpKind::Register => {
            let inc = m == Mnemonic::Inc;
            match (inc, reg_size(0)) {
                (true, 8) if flags_dead => incdec::<true, 8, true>,
                (true, 4) if flags_dead => incdec::<true, 4, true>,
                (false, 8) if flags_dead => incdec::<false, 8, true>,
                (false, 4) if flags_dead => incdec::<false, 4, true>,
                (true, 8) => incdec::<true, 8, false>,
                (true, 4) => incdec::<true, 4, false>,
                (false, 8) => incdec::<false, 8, false>,
                (false, 4) => incdec::<false, 4, false>,
                _ => generic,
            }
        }
        // Relative branches to a non-canonical target raise #GP at the
        // branch: leave those to the generic path.
        _ if matches!(k0, OpKind::NearBranch64) && !crate::mem::is_canonical(i.near_branch64()) => generic,
        _ => match i.code() {
            Code::Jo_rel8_64 | Code::Jo_rel32_64 => JCC[0],
            Code::Jno_rel8_64 | Code::Jno_rel32_64 => JCC[1],
            Code::Jb_rel8_64 | Code::Jb_rel32_64 => JCC[2],
            Code::Jae_rel8_64 | Code::Jae_rel32_64 => JCC[3],
            Code::Je_rel8_64 | Code::Je_rel32_64 => JCC[4],
            Code::Jne_rel8_64 | Code::Jne_rel32_64 => JCC[5],
            Code::Jbe_rel8_64 | Code::Jbe_rel32_64 => JCC[6],
            Code::Ja_rel8_64 | Code::Ja_rel32_64 => JCC[7],
            Code::Js_rel8_64 | Code::Js_rel32_64 => JCC[8],
            Code::Jns_rel8_64 | Code::Jns_rel32_64 => JCC[9],
            Code::Jp_rel8_64 | Code::Jp_rel32_64 => JCC[10],
            Code::Jnp_rel8_64 | Code::Jnp_rel32_64 => JCC[11],
            Code::Jl_rel8_64 | Code::Jl_rel32_64 => JCC[12],
            Code::Jge_rel8_64 | Code::Jge_rel32_64 => JCC[13],
            Code::Jle_rel8_64 | Code::Jle_rel32_64 => JCC[14],
            Code::Jg_rel8_64 | Code::Jg_rel32_64 => JCC[15],
            Code::Jmp_rel8_64 | Code::Jmp_rel32_64 => jmp_rel,
            Code::Call_rel32_64 => call_rel,
            Code::Retnq => ret,
            Code::Push_r64 => push_r64,
            Code::Pop_r64 => pop_r64,
            Code::Movzx_r32_rm8 => movzx_r32::<1>,
            Code::Movzx_r32_rm16 => movzx_r32::<2>,
            Code::Movsxd_r64_rm32 => movsxd_r64,
            Code::Cmp_rm8_imm8 if k0 == OpKind::Memory => cmp8_mi::<false>,
            Code::Test_rm8_imm8 if k0 == OpKind::Memory => cmp8_mi::<true>,
            _ => generic,
        },
    }
}
