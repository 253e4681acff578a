//! Stack and control transfer: PUSH/POP, CALL/RET/JMP, LOOP, ENTER/LEAVE.

use iced_x86::{Instruction, Mnemonic, OpKind};

use super::{ea, get_reg, op_size, pop as pop_val, push as push_val, read_mem, read_op, set_reg, write_mem, R};
use crate::mem::Bus;
use crate::state::{reg, CpuState};

/// Operand size of an instruction whose stack slot is 64-bit unless a
/// 66 prefix makes it 16-bit.
fn stack_size(i: &Instruction) -> u32 {
    match i.op_kind(0) {
        OpKind::Register if i.op0_register().is_gpr() => op_size(i, 0),
        OpKind::Memory => i.memory_size().size() as u32,
        _ => i.stack_pointer_increment().unsigned_abs(),
    }
}

pub(super) fn push(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    if i.op0_kind() == OpKind::Register && i.op0_register().is_segment_register() {
        let size = i.stack_pointer_increment().unsigned_abs();
        return push_val(cpu, bus, size, 0);
    }
    let size = stack_size(i);
    let v = read_op(cpu, bus, i, 0)?;
    push_val(cpu, bus, size, v)
}

pub(super) fn pop(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    if i.op0_kind() == OpKind::Register && i.op0_register().is_segment_register() {
        // Only FS/GS can be popped in 64-bit mode; loading a selector is
        // not something flat user code does. Treat as #GP like a bad one.
        return Err(crate::Fault::GeneralProtection.into());
    }
    let size = stack_size(i);
    let sp = cpu.gpr[reg::RSP];
    let v = read_mem(bus, sp, size)?;
    match i.op0_kind() {
        OpKind::Register => {
            cpu.gpr[reg::RSP] = sp.wrapping_add(size as u64);
            set_reg(cpu, i.op0_register(), v);
        }
        _ => {
            // The destination address is computed with RSP already
            // incremented; restore it if the store faults.
            cpu.gpr[reg::RSP] = sp.wrapping_add(size as u64);
            let addr = ea(cpu, i);
            if let Err(e) = write_mem(bus, addr, size, v) {
                cpu.gpr[reg::RSP] = sp;
                return Err(e);
            }
        }
    }
    Ok(())
}

pub(super) fn pushf(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    // VM and RF read as zero in the pushed image.
    let v = cpu.rflags() & !(1 << 16 | 1 << 17);
    let size = if i.mnemonic() == Mnemonic::Pushf { 2 } else { 8 };
    push_val(cpu, bus, size, v)
}

pub(super) fn popf(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let size = if i.mnemonic() == Mnemonic::Popf { 2 } else { 8 };
    let v = pop_val(cpu, bus, size)?;
    let v = if size == 2 { (cpu.rflags() & !0xffff) | v } else { v };
    cpu.set_rflags(v);
    Ok(())
}

fn branch_target(cpu: &CpuState, bus: &mut Bus, i: &Instruction) -> super::RV<u64> {
    match i.op0_kind() {
        OpKind::NearBranch64 | OpKind::NearBranch32 | OpKind::NearBranch16 => Ok(i.near_branch_target()),
        OpKind::Register => Ok(get_reg(cpu, i.op0_register())),
        OpKind::Memory => read_mem(bus, ea(cpu, i), i.memory_size().size() as u32),
        // Far transfers change CS: not possible for flat user code.
        _ => super::ud(),
    }
}

/// A near branch to a non-canonical address raises #GP at the branch
/// (nothing is pushed or popped), not a fault at the target.
fn check_target(target: u64) -> R {
    if crate::mem::is_canonical(target) {
        Ok(())
    } else {
        Err(crate::Fault::GeneralProtection.into())
    }
}

pub(super) fn call(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let target = branch_target(cpu, bus, i)?;
    let size = if matches!(i.op0_kind(), OpKind::NearBranch16) || (i.op0_kind() == OpKind::Register && op_size(i, 0) == 2) { 2 } else { 8 };
    // The stack slot is checked before the target: a bad stack faults
    // first; a bad target raises #GP with nothing pushed.
    let slot = cpu.gpr[reg::RSP].wrapping_sub(size as u64);
    bus.write_bytes(slot, &[])?;
    super::probe_write(bus, slot, size)?;
    check_target(target)?;
    push_val(cpu, bus, size, i.next_ip())?;
    cpu.rip = if size == 2 { target & 0xffff } else { target };
    Ok(())
}

pub(super) fn ret(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let size = if i.code() == iced_x86::Code::Retnw || i.code() == iced_x86::Code::Retnw_imm16 { 2 } else { 8 };
    let sp = cpu.gpr[reg::RSP];
    let target = read_mem(bus, sp, size)?;
    check_target(target)?;
    let imm = if i.op_count() == 1 { i.immediate16() as u64 } else { 0 };
    cpu.gpr[reg::RSP] = sp.wrapping_add(size as u64).wrapping_add(imm);
    cpu.rip = target;
    Ok(())
}

pub(super) fn jmp(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let target = branch_target(cpu, bus, i)?;
    check_target(target)?;
    cpu.rip = if op_size_is_16(i) { target & 0xffff } else { target };
    Ok(())
}

fn op_size_is_16(i: &Instruction) -> bool {
    matches!(i.op0_kind(), OpKind::NearBranch16)
        || (i.op0_kind() == OpKind::Register && op_size(i, 0) == 2)
        || (i.op0_kind() == OpKind::Memory && i.memory_size().size() == 2)
}

/// LOOP/LOOPE/LOOPNE/JRCXZ/JECXZ; a 67 prefix makes them use ECX.
pub(super) fn loop_(cpu: &mut CpuState, i: &Instruction) -> R {
    let ecx = matches!(i.op1_kind(), OpKind::Register) && i.op1_register() == iced_x86::Register::ECX
        || matches!(
            i.code(),
            iced_x86::Code::Jecxz_rel8_64
                | iced_x86::Code::Loop_rel8_64_ECX
                | iced_x86::Code::Loope_rel8_64_ECX
                | iced_x86::Code::Loopne_rel8_64_ECX
        );
    let mask = if ecx { 0xffff_ffff } else { u64::MAX };
    let taken = match i.mnemonic() {
        Mnemonic::Jrcxz | Mnemonic::Jecxz => cpu.gpr[reg::RCX] & mask == 0,
        m => {
            let c = cpu.gpr[reg::RCX].wrapping_sub(1) & mask;
            cpu.gpr[reg::RCX] = c;
            let zf = cpu.rflags() & crate::flags::ZF != 0;
            c != 0
                && match m {
                    Mnemonic::Loope => zf,
                    Mnemonic::Loopne => !zf,
                    _ => true,
                }
        }
    };
    if taken {
        cpu.rip = i.near_branch64();
    }
    Ok(())
}

pub(super) fn enter(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let size = if i.code() == iced_x86::Code::Enterw_imm16_imm8 { 2u32 } else { 8 };
    let alloc = i.immediate16() as u64;
    let level = (i.immediate8_2nd() & 31) as u64;
    let rbp = cpu.gpr[reg::RBP];
    let mut sp = cpu.gpr[reg::RSP].wrapping_sub(size as u64);
    write_mem(bus, sp, size, rbp)?;
    let frame = sp;
    let mut bp = rbp;
    if level > 0 {
        for _ in 1..level {
            bp = bp.wrapping_sub(size as u64);
            let v = read_mem(bus, bp, size)?;
            sp = sp.wrapping_sub(size as u64);
            write_mem(bus, sp, size, v)?;
        }
        sp = sp.wrapping_sub(size as u64);
        write_mem(bus, sp, size, frame)?;
    }
    let new_sp = sp.wrapping_sub(alloc);
    // The processor checks that the new stack top is writable (a fault
    // there leaves the registers unchanged).
    bus.write_bytes(new_sp, &[])?;
    if size == 2 {
        set_reg(cpu, iced_x86::Register::BP, frame);
    } else {
        cpu.gpr[reg::RBP] = frame;
    }
    cpu.gpr[reg::RSP] = new_sp;
    Ok(())
}

pub(super) fn leave(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let size = if i.code() == iced_x86::Code::Leavew { 2 } else { 8 };
    let bp = cpu.gpr[reg::RBP];
    let v = read_mem(bus, bp, size)?;
    cpu.gpr[reg::RSP] = bp.wrapping_add(size as u64);
    if size == 2 {
        set_reg(cpu, iced_x86::Register::BP, v);
    } else {
        cpu.gpr[reg::RBP] = v;
    }
    Ok(())
}
