//! Integer data movement and arithmetic.

use iced_x86::{Instruction, Mnemonic, OpKind};

use super::{ea, get_reg, loc0, op_size, probe_write, read_loc, read_loc_rmw, read_mem, read_op, set_reg, write_loc, write_op, R};
use crate::fault::Fault;
use crate::flags::{sign_bit, size_mask, zsp, FlagOp, AF, CF, OF, ZF};
use crate::mem::Bus;
use crate::state::{reg, CpuState};

pub(super) fn mov(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    // MOV to or from control, debug and test registers is privileged.
    if (0..2)
        .any(|n| i.op_kind(n) == OpKind::Register && (i.op_register(n).is_cr() || i.op_register(n).is_dr() || i.op_register(n).is_tr()))
    {
        return Err(Fault::GeneralProtection.into());
    }
    if i.op0_kind() == OpKind::Register && i.op0_register().is_segment_register() {
        // MOV Sreg, r/m: user mode may only load null-ish selectors; oxvm
        // has flat segments, so treat it as the #GP Linux would raise for
        // anything meaningful.
        return Err(Fault::GeneralProtection.into());
    }
    if i.op1_kind() == OpKind::Register && i.op1_register().is_segment_register() {
        // MOV r/m, Sreg: flat 64-bit user segments (the Linux values).
        let sel = match i.op1_register() {
            iced_x86::Register::CS => 0x33,
            iced_x86::Register::SS => 0x2b,
            _ => 0,
        };
        return write_op(cpu, bus, i, 0, sel);
    }
    if !matches!(i.op0_kind(), OpKind::Register | OpKind::Memory) || (i.op0_kind() == OpKind::Register && !i.op0_register().is_gpr()) {
        return super::ud();
    }
    let v = read_op(cpu, bus, i, 1)?;
    write_op(cpu, bus, i, 0, v)
}

/// ADD/OR/ADC/SBB/AND/SUB/XOR/CMP/TEST.
pub(super) fn alu(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let size = op_size(i, 0);
    let loc = loc0(cpu, i);
    let m = i.mnemonic();
    let a = if matches!(m, Mnemonic::Cmp | Mnemonic::Test) { read_loc(cpu, bus, loc, size)? } else { read_loc_rmw(cpu, bus, loc, size)? };
    let b = read_op(cpu, bus, i, 1)? & size_mask(size);
    let (res, write) = match m {
        Mnemonic::Add => (a.wrapping_add(b), true),
        Mnemonic::Sub => (a.wrapping_sub(b), true),
        Mnemonic::Cmp => (a.wrapping_sub(b), false),
        Mnemonic::And => (a & b, true),
        Mnemonic::Test => (a & b, false),
        Mnemonic::Or => (a | b, true),
        Mnemonic::Xor => (a ^ b, true),
        Mnemonic::Adc => (a.wrapping_add(b).wrapping_add(cpu.flags.cf() as u64), true),
        Mnemonic::Sbb => (a.wrapping_sub(b).wrapping_sub(cpu.flags.cf() as u64), true),
        _ => unreachable!(),
    };
    let res = res & size_mask(size);
    if write {
        write_loc(cpu, bus, loc, size, res)?;
    }
    match m {
        Mnemonic::Add => cpu.flags.set_lazy(FlagOp::Add, size, a, b, res),
        Mnemonic::Sub | Mnemonic::Cmp => cpu.flags.set_lazy(FlagOp::Sub, size, a, b, res),
        Mnemonic::And | Mnemonic::Test | Mnemonic::Or | Mnemonic::Xor => cpu.flags.set_lazy(FlagOp::Logic, size, a, b, res),
        Mnemonic::Adc => {
            let cin = cpu.flags.cf();
            cpu.flags.set_arith(add_flags(size, a, b, cin, res));
        }
        _ => {
            let cin = cpu.flags.cf();
            cpu.flags.set_arith(sub_flags(size, a, b, cin, res));
        }
    }
    Ok(())
}

/// Flags of `res = a + b + cin`.
pub(crate) fn add_flags(size: u32, a: u64, b: u64, cin: bool, res: u64) -> u64 {
    let mask = size_mask(size);
    let (a, b, res) = (a & mask, b & mask, res & mask);
    let mut f = zsp(res, size) | ((a ^ b ^ res) & AF);
    if res < a || (cin && res == a) {
        f |= CF;
    }
    if (a ^ res) & (b ^ res) & sign_bit(size) != 0 {
        f |= OF;
    }
    f
}

/// Flags of `res = a - b - cin`.
pub(crate) fn sub_flags(size: u32, a: u64, b: u64, cin: bool, res: u64) -> u64 {
    let mask = size_mask(size);
    let (a, b, res) = (a & mask, b & mask, res & mask);
    let mut f = zsp(res, size) | ((a ^ b ^ res) & AF);
    if a < b || (cin && a == b) {
        f |= CF;
    }
    if (a ^ b) & (a ^ res) & sign_bit(size) != 0 {
        f |= OF;
    }
    f
}

/// INC/DEC/NEG/NOT.
pub(super) fn unary(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let size = op_size(i, 0);
    let loc = loc0(cpu, i);
    let a = read_loc_rmw(cpu, bus, loc, size)?;
    let mask = size_mask(size);
    let res = match i.mnemonic() {
        Mnemonic::Inc => a.wrapping_add(1),
        Mnemonic::Dec => a.wrapping_sub(1),
        Mnemonic::Neg => 0u64.wrapping_sub(a),
        _ => !a,
    } & mask;
    write_loc(cpu, bus, loc, size, res)?;
    match i.mnemonic() {
        Mnemonic::Inc => cpu.flags.set_incdec(FlagOp::Inc, size, a, res),
        Mnemonic::Dec => cpu.flags.set_incdec(FlagOp::Dec, size, a, res),
        Mnemonic::Neg => cpu.flags.set_lazy(FlagOp::Sub, size, 0, a, res),
        _ => {}
    }
    Ok(())
}

pub(super) fn lea(cpu: &mut CpuState, i: &Instruction) -> R {
    // LEA ignores segment overrides.
    let mut a = ea(cpu, i);
    a = a.wrapping_sub(super::seg_base(cpu, i.memory_segment()));
    set_reg(cpu, i.op0_register(), a);
    Ok(())
}

pub(super) fn movx(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let src_size = op_size(i, 1);
    let v = read_op(cpu, bus, i, 1)?;
    let v = match i.mnemonic() {
        Mnemonic::Movzx => v,
        _ => sign_extend(v, src_size),
    };
    set_reg(cpu, i.op0_register(), v);
    Ok(())
}

#[inline(always)]
pub(crate) fn sign_extend(v: u64, size: u32) -> u64 {
    let shift = 64 - size * 8;
    (((v << shift) as i64) >> shift) as u64
}

pub(super) fn xchg(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let size = op_size(i, 0);
    let loc = loc0(cpu, i);
    let a = read_loc_rmw(cpu, bus, loc, size)?;
    let b = read_op(cpu, bus, i, 1)?;
    write_loc(cpu, bus, loc, size, b)?;
    set_reg(cpu, i.op1_register(), a);
    Ok(())
}

pub(super) fn cmpxchg(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let size = op_size(i, 0);
    let loc = loc0(cpu, i);
    let dst = read_loc_rmw(cpu, bus, loc, size)?;
    let acc = cpu.gpr[reg::RAX] & size_mask(size);
    let src = read_op(cpu, bus, i, 1)?;
    if acc == dst {
        write_loc(cpu, bus, loc, size, src)?;
    } else {
        // A memory destination is written back even on failure (the
        // locked cycle always writes), so a read-only page faults.
        if let super::Loc::Mem(_) = loc {
            write_loc(cpu, bus, loc, size, dst)?;
        }
        set_acc(cpu, size, dst);
    }
    cpu.flags.set_lazy(FlagOp::Sub, size, acc, dst, acc.wrapping_sub(dst) & size_mask(size));
    Ok(())
}

/// Write RAX/EAX/AX/AL with register-write semantics.
fn set_acc(cpu: &mut CpuState, size: u32, v: u64) {
    let r = match size {
        1 => iced_x86::Register::AL,
        2 => iced_x86::Register::AX,
        4 => iced_x86::Register::EAX,
        _ => iced_x86::Register::RAX,
    };
    set_reg(cpu, r, v);
}

/// CMPXCHG8B / CMPXCHG16B.
pub(super) fn cmpxchg_wide(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let addr = ea(cpu, i);
    let flags_rest = cpu.flags.arith() & !ZF;
    if i.mnemonic() == Mnemonic::Cmpxchg16b {
        if !addr.is_multiple_of(16) {
            return Err(Fault::GeneralProtection.into());
        }
        probe_write(bus, addr, 16)?;
        let cur = bus.read_u128(addr)?;
        let expected = (cpu.gpr[reg::RDX] as u128) << 64 | cpu.gpr[reg::RAX] as u128;
        if cur == expected {
            let new = (cpu.gpr[reg::RCX] as u128) << 64 | cpu.gpr[reg::RBX] as u128;
            bus.write_u128(addr, new)?;
            cpu.flags.set_arith(flags_rest | ZF);
        } else {
            bus.write_u128(addr, cur)?;
            cpu.gpr[reg::RAX] = cur as u64;
            cpu.gpr[reg::RDX] = (cur >> 64) as u64;
            cpu.flags.set_arith(flags_rest);
        }
    } else {
        probe_write(bus, addr, 8)?;
        let cur = bus.read_u64(addr)?;
        let expected = (cpu.gpr[reg::RDX] & 0xffff_ffff) << 32 | (cpu.gpr[reg::RAX] & 0xffff_ffff);
        if cur == expected {
            let new = (cpu.gpr[reg::RCX] & 0xffff_ffff) << 32 | (cpu.gpr[reg::RBX] & 0xffff_ffff);
            bus.write_u64(addr, new)?;
            cpu.flags.set_arith(flags_rest | ZF);
        } else {
            bus.write_u64(addr, cur)?;
            cpu.gpr[reg::RAX] = cur & 0xffff_ffff;
            cpu.gpr[reg::RDX] = cur >> 32;
            cpu.flags.set_arith(flags_rest);
        }
    }
    Ok(())
}

pub(super) fn xadd(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let size = op_size(i, 0);
    let loc = loc0(cpu, i);
    let a = read_loc_rmw(cpu, bus, loc, size)?;
    let b = read_op(cpu, bus, i, 1)?;
    let res = a.wrapping_add(b) & size_mask(size);
    match loc {
        // The source gets the old destination first, then the destination
        // the sum: XADD r, r with the same register leaves the sum.
        super::Loc::Reg(_) => {
            set_reg(cpu, i.op1_register(), a);
            write_loc(cpu, bus, loc, size, res)?;
        }
        super::Loc::Mem(_) => {
            write_loc(cpu, bus, loc, size, res)?;
            set_reg(cpu, i.op1_register(), a);
        }
    }
    cpu.flags.set_lazy(FlagOp::Add, size, a, b, res);
    Ok(())
}

pub(super) fn extend_acc(cpu: &mut CpuState, i: &Instruction) -> R {
    let rax = cpu.gpr[reg::RAX];
    match i.mnemonic() {
        Mnemonic::Cbw => set_reg(cpu, iced_x86::Register::AX, sign_extend(rax, 1)),
        Mnemonic::Cwde => set_reg(cpu, iced_x86::Register::EAX, sign_extend(rax, 2)),
        _ => cpu.gpr[reg::RAX] = sign_extend(rax, 4),
    }
    Ok(())
}

pub(super) fn extend_into_dx(cpu: &mut CpuState, i: &Instruction) -> R {
    let rax = cpu.gpr[reg::RAX];
    let (size, r) = match i.mnemonic() {
        Mnemonic::Cwd => (2, iced_x86::Register::DX),
        Mnemonic::Cdq => (4, iced_x86::Register::EDX),
        _ => (8, iced_x86::Register::RDX),
    };
    let v = if rax & sign_bit(size) != 0 { u64::MAX } else { 0 };
    set_reg(cpu, r, v);
    Ok(())
}

pub(super) fn bswap(cpu: &mut CpuState, i: &Instruction) -> R {
    let r = i.op0_register();
    let v = get_reg(cpu, r);
    let v = match super::gpr_info(r).1 {
        8 => v.swap_bytes(),
        4 => (v as u32).swap_bytes() as u64,
        // BSWAP of a 16-bit register is undefined; hardware zeroes it.
        _ => 0,
    };
    set_reg(cpu, r, v);
    Ok(())
}

pub(super) fn xlat(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let base = if i.memory_base() == iced_x86::Register::EBX { cpu.gpr[reg::RBX] & 0xffff_ffff } else { cpu.gpr[reg::RBX] };
    let mut addr = base.wrapping_add(cpu.gpr[reg::RAX] & 0xff);
    if i.memory_base() == iced_x86::Register::EBX {
        addr &= 0xffff_ffff;
    }
    let addr = super::seg_base(cpu, i.memory_segment()).wrapping_add(addr);
    let v = read_mem(bus, addr, 1)?;
    set_reg(cpu, iced_x86::Register::AL, v);
    Ok(())
}
