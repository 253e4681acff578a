//! Shifts and rotates, including RCL/RCR and the double shifts SHLD/SHRD.
//! Flags are computed eagerly: these are rare next to ALU operations, and
//! their flag rules depend on the count.

use iced_x86::{Instruction, Mnemonic};

use super::{get_reg, loc0, op_size, read_loc_rmw, read_op, write_loc, R};
use crate::flags::{sign_bit, size_mask, zsp, CF, OF};
use crate::mem::Bus;
use crate::state::CpuState;

pub(super) fn shift(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let size = op_size(i, 0);
    let bits = size * 8;
    let loc = loc0(cpu, i);
    let a = read_loc_rmw(cpu, bus, loc, size)?;
    let count_mask = if size == 8 { 63 } else { 31 };
    let raw = if i.op_count() > 1 { read_op(cpu, bus, i, 1)? } else { 1 };
    let count = (raw & count_mask) as u32;
    if count == 0 {
        // The operand is still written back (a read-only page faults).
        return write_loc(cpu, bus, loc, size, a);
    }
    let mask = size_mask(size);
    let sign = sign_bit(size);
    let old = cpu.flags.arith();
    let cf_in = old & CF != 0;
    let (res, flags) = match i.mnemonic() {
        Mnemonic::Shl | Mnemonic::Sal => {
            let res = if count >= 64 { 0 } else { (a << count) & mask };
            let cf = if count <= bits { (a >> (bits - count)) & 1 != 0 } else { false };
            let of = ((res & sign != 0) as u64 ^ cf as u64) != 0;
            (res, zsp(res, size) | (cf as u64 * CF) | (of as u64 * OF))
        }
        Mnemonic::Shr => {
            let res = if count >= 64 { 0 } else { a >> count };
            let cf = if count <= bits { (a >> (count - 1)) & 1 != 0 } else { false };
            let of = if count == 1 { a & sign != 0 } else { false };
            (res, zsp(res, size) | (cf as u64 * CF) | (of as u64 * OF))
        }
        Mnemonic::Sar => {
            let sa = super::int::sign_extend(a, size) as i64;
            let res = (sa >> count.min(63)) as u64 & mask;
            let cf = (sa >> (count - 1).min(63)) & 1 != 0;
            (res, zsp(res, size) | (cf as u64 * CF))
        }
        Mnemonic::Rol | Mnemonic::Ror => {
            let r = count % bits;
            let res = if i.mnemonic() == Mnemonic::Rol {
                if r == 0 {
                    a
                } else {
                    ((a << r) | (a >> (bits - r))) & mask
                }
            } else if r == 0 {
                a
            } else {
                ((a >> r) | (a << (bits - r))) & mask
            };
            let (cf, of) = if i.mnemonic() == Mnemonic::Rol {
                let cf = res & 1 != 0;
                (cf, (res & sign != 0) != cf)
            } else {
                let msb = res & sign != 0;
                let msb1 = res & (sign >> 1) != 0;
                (msb, msb != msb1)
            };
            // Only CF and OF change; the rest of the flags are kept.
            (res, (old & !(CF | OF)) | (cf as u64 * CF) | (of as u64 * OF))
        }
        _ => {
            // RCL/RCR rotate through CF: a (bits+1)-bit rotation.
            let r = count % (bits + 1);
            let wide = (a as u128) | ((cf_in as u128) << bits);
            let wmask: u128 = (1u128 << (bits + 1)) - 1;
            let rot = if r == 0 {
                wide
            } else if i.mnemonic() == Mnemonic::Rcl {
                ((wide << r) | (wide >> (bits + 1 - r))) & wmask
            } else {
                ((wide >> r) | (wide << (bits + 1 - r))) & wmask
            };
            let res = rot as u64 & mask;
            let cf = (rot >> bits) & 1 != 0;
            let of = if i.mnemonic() == Mnemonic::Rcl {
                (res & sign != 0) != cf
            } else {
                let msb = res & sign != 0;
                let msb1 = res & (sign >> 1) != 0;
                msb != msb1
            };
            (res, (old & !(CF | OF)) | (cf as u64 * CF) | (of as u64 * OF))
        }
    };
    write_loc(cpu, bus, loc, size, res)?;
    cpu.flags.set_arith(flags);
    Ok(())
}

pub(super) fn shift_double(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let size = op_size(i, 0);
    let bits = size * 8;
    let loc = loc0(cpu, i);
    let a = read_loc_rmw(cpu, bus, loc, size)?;
    let b = get_reg(cpu, i.op1_register());
    let raw = read_op(cpu, bus, i, 2)?;
    let count = (raw & if size == 8 { 63 } else { 31 }) as u32;
    if count == 0 {
        return write_loc(cpu, bus, loc, size, a);
    }
    let mask = size_mask(size);
    let sign = sign_bit(size);
    // Shift the concatenation of the two operands. For 16-bit operands a
    // count above 16 gives an architecturally undefined result.
    let (res, cf) = if i.mnemonic() == Mnemonic::Shld {
        let cat = ((a as u128) << bits) | b as u128;
        (((cat << count) >> bits) as u64 & mask, (cat >> (2 * bits - count)) & 1 != 0)
    } else {
        let cat = ((b as u128) << bits) | a as u128;
        ((cat >> count) as u64 & mask, (cat >> (count - 1)) & 1 != 0)
    };
    let of = (res & sign != 0) != (a & sign != 0);
    write_loc(cpu, bus, loc, size, res)?;
    cpu.flags.set_arith(zsp(res, size) | (cf as u64 * CF) | (of as u64 * OF));
    Ok(())
}
