//! Bit tests (BT/BTS/BTR/BTC) and bit scans (BSF/BSR; TZCNT/LZCNT run as
//! BSF/BSR because CPUID does not advertise BMI1/LZCNT, which is what a
//! processor without those extensions does with the F3 prefix).

use iced_x86::{Instruction, Mnemonic, OpKind};

use super::{ea, get_reg, op_size, read_mem, read_op, set_reg, write_mem, R};
use crate::flags::{CF, ZF};
use crate::mem::Bus;
use crate::state::CpuState;

pub(super) fn bt(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let size = op_size(i, 0);
    let bits = (size * 8) as u64;
    let offset = read_op(cpu, bus, i, 1)?;
    let m = i.mnemonic();
    let (value, bit, store): (u64, u64, Option<u64>) = match i.op0_kind() {
        OpKind::Register => (get_reg(cpu, i.op0_register()), offset % bits, None),
        _ => {
            // With a register bit offset the operand addresses a bit string
            // around the memory operand (the offset is signed); with an
            // immediate it stays inside the operand.
            let base = ea(cpu, i);
            let addr = if i.op1_kind() == OpKind::Register {
                let signed = super::int::sign_extend(offset, size) as i64;
                let a = base.wrapping_add(((signed >> (bits.trailing_zeros())) * size as i64) as u64);
                // The bit offset is part of the effective address, so a
                // 32-bit address size (67 prefix) wraps it too.
                if addr32(i) {
                    a & 0xffff_ffff
                } else {
                    a
                }
            } else {
                base
            };
            if m != Mnemonic::Bt {
                super::probe_write(bus, addr, size)?;
            }
            (read_mem(bus, addr, size)?, offset % bits, Some(addr))
        }
    };
    let cf = (value >> bit) & 1;
    let new = match m {
        Mnemonic::Bts => value | (1 << bit),
        Mnemonic::Btr => value & !(1 << bit),
        Mnemonic::Btc => value ^ (1 << bit),
        _ => value,
    };
    if m != Mnemonic::Bt {
        match store {
            Some(addr) => write_mem(bus, addr, size, new)?,
            None => set_reg(cpu, i.op0_register(), new),
        }
    }
    let old = cpu.flags.arith();
    cpu.flags.set_arith((old & !CF) | (cf * CF));
    Ok(())
}

/// Whether the memory operand uses 32-bit addressing (67 prefix).
fn addr32(i: &Instruction) -> bool {
    let (b, x) = (i.memory_base(), i.memory_index());
    // iced reports a 4-byte displacement size only for 32-bit addressing
    // (a 64-bit address size's disp32 is reported as 8 bytes).
    b.is_gpr32()
        || x.is_gpr32()
        || b == iced_x86::Register::EIP
        || (b == iced_x86::Register::None && x == iced_x86::Register::None && i.memory_displ_size() == 4)
}

pub(super) fn scan(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let size = op_size(i, 0);
    let src = read_op(cpu, bus, i, 1)?;
    let old = cpu.flags.arith();
    match i.mnemonic() {
        Mnemonic::Popcnt => {
            set_reg(cpu, i.op0_register(), src.count_ones() as u64);
            cpu.flags.set_arith(if src == 0 { ZF } else { 0 });
            return Ok(());
        }
        m => {
            if src == 0 {
                // The destination is left unchanged (as hardware does),
                // which for 32-bit registers still zero-extends on Intel;
                // AMD documents it as unchanged. Keep all 64 bits.
                cpu.flags.set_arith((old & !ZF) | ZF);
                return Ok(());
            }
            let v = if matches!(m, Mnemonic::Bsf | Mnemonic::Tzcnt) { src.trailing_zeros() } else { 63 - src.leading_zeros() };
            set_reg(cpu, i.op0_register(), v as u64);
            let _ = size;
            cpu.flags.set_arith(old & !ZF);
        }
    }
    Ok(())
}
