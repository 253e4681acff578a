//! MUL, IMUL (one-, two- and three-operand forms), DIV, IDIV.

use iced_x86::{Instruction, Mnemonic, Register};

use super::{get_reg, op_size, read_op, set_reg, R};
use crate::fault::Fault;
use crate::flags::{size_mask, zsp, CF, OF};
use crate::interp::int::sign_extend;
use crate::mem::Bus;
use crate::state::{reg, CpuState};

fn acc_regs(size: u32) -> (Register, Register) {
    match size {
        2 => (Register::AX, Register::DX),
        4 => (Register::EAX, Register::EDX),
        _ => (Register::RAX, Register::RDX),
    }
}

pub(super) fn exec(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let m = i.mnemonic();
    if m == Mnemonic::Imul && i.op_count() > 1 {
        let size = op_size(i, 0);
        let (a, b) = if i.op_count() == 3 {
            (read_op(cpu, bus, i, 1)?, read_op(cpu, bus, i, 2)?)
        } else {
            (get_reg(cpu, i.op0_register()), read_op(cpu, bus, i, 1)?)
        };
        let wide = (sign_extend(a, size) as i64 as i128) * (sign_extend(b, size) as i64 as i128);
        let res = wide as u64 & size_mask(size);
        let overflow = sign_extend(res, size) as i64 as i128 != wide;
        set_reg(cpu, i.op0_register(), res);
        cpu.flags.set_arith(zsp(res, size) | if overflow { CF | OF } else { 0 });
        return Ok(());
    }
    let size = op_size(i, 0);
    let src = read_op(cpu, bus, i, 0)?;
    let bits = size * 8;
    let mask = size_mask(size);
    // The double-width accumulator: AX for bytes, rDX:rAX otherwise.
    let (lo_reg, hi_reg) = acc_regs(size);
    let acc: u128 = if size == 1 {
        cpu.gpr[reg::RAX] as u128 & 0xffff
    } else {
        ((get_reg(cpu, hi_reg) as u128) << bits) | get_reg(cpu, lo_reg) as u128
    };
    let (lo, hi, flags) = match m {
        Mnemonic::Mul => {
            let p = (acc & mask as u128) * src as u128;
            let (lo, hi) = (p as u64 & mask, (p >> bits) as u64 & mask);
            (lo, hi, zsp(lo, size) | if hi != 0 { CF | OF } else { 0 })
        }
        Mnemonic::Imul => {
            let a = sign_extend(acc as u64 & mask, size) as i64 as i128;
            let b = sign_extend(src, size) as i64 as i128;
            let p = a * b;
            let lo = p as u64 & mask;
            let hi = (p >> bits) as u64 & mask;
            let overflow = sign_extend(lo, size) as i64 as i128 != p;
            (lo, hi, zsp(lo, size) | if overflow { CF | OF } else { 0 })
        }
        Mnemonic::Div => {
            if src == 0 {
                return Err(Fault::DivideError.into());
            }
            let q = acc / src as u128;
            if q > mask as u128 {
                return Err(Fault::DivideError.into());
            }
            (q as u64, (acc % src as u128) as u64, cpu.flags.arith())
        }
        _ => {
            if src == 0 {
                return Err(Fault::DivideError.into());
            }
            // Sign-extend the 2*bits-wide dividend to i128.
            let shift = 128 - 2 * bits;
            let n = ((acc << shift) as i128) >> shift;
            let d = sign_extend(src, size) as i64 as i128;
            let q = n.checked_div(d).ok_or(Fault::DivideError)?;
            let r = n - q * d;
            let min = -(1i128 << (bits - 1));
            let max = (1i128 << (bits - 1)) - 1;
            if q < min || q > max {
                return Err(Fault::DivideError.into());
            }
            (q as u64 & mask, r as u64 & mask, cpu.flags.arith())
        }
    };
    if size == 1 {
        set_reg(cpu, Register::AX, (hi << 8) | lo);
    } else {
        set_reg(cpu, lo_reg, lo);
        set_reg(cpu, hi_reg, hi);
    }
    cpu.flags.set_arith(flags);
    Ok(())
}
