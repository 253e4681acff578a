//! String instructions (MOVS, STOS, LODS, CMPS, SCAS) with REP, REPE and
//! REPNE. A long REP is split: after a bounded number of iterations the
//! instruction stops with RIP still pointing at it, as if interrupted, so
//! the scheduler's budget is honoured; it resumes where it left off.

use iced_x86::{Instruction, Mnemonic, OpKind};

use super::{read_mem, seg_base, set_reg, write_mem, R};
use crate::flags::{size_mask, FlagOp};
use crate::mem::Bus;
use crate::state::{reg, CpuState};

const MAX_ITERATIONS_PER_STEP: u64 = 1 << 16;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Movs,
    Stos,
    Lods,
    Cmps,
    Scas,
}

pub(super) fn exec(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    use Mnemonic as M;
    let (kind, size) = match i.mnemonic() {
        M::Movsb => (Kind::Movs, 1),
        M::Movsw => (Kind::Movs, 2),
        M::Movsd => (Kind::Movs, 4),
        M::Movsq => (Kind::Movs, 8),
        M::Stosb => (Kind::Stos, 1),
        M::Stosw => (Kind::Stos, 2),
        M::Stosd => (Kind::Stos, 4),
        M::Stosq => (Kind::Stos, 8),
        M::Lodsb => (Kind::Lods, 1),
        M::Lodsw => (Kind::Lods, 2),
        M::Lodsd => (Kind::Lods, 4),
        M::Lodsq => (Kind::Lods, 8),
        M::Cmpsb => (Kind::Cmps, 1),
        M::Cmpsw => (Kind::Cmps, 2),
        M::Cmpsd => (Kind::Cmps, 4),
        M::Cmpsq => (Kind::Cmps, 8),
        M::Scasb => (Kind::Scas, 1),
        M::Scasw => (Kind::Scas, 2),
        M::Scasd => (Kind::Scas, 4),
        _ => (Kind::Scas, 8),
    };
    let addr32 = (0..i.op_count()).any(|n| matches!(i.op_kind(n), OpKind::MemorySegESI | OpKind::MemoryESEDI));
    let amask = if addr32 { 0xffff_ffffu64 } else { u64::MAX };
    let rep = i.has_rep_prefix() || i.has_repne_prefix();
    let until_equal = i.has_repne_prefix();
    let src_seg = seg_base(cpu, i.memory_segment());
    let step = if cpu.flags.df() { (size as u64).wrapping_neg() } else { size as u64 };
    let smask = size_mask(size);
    if rep && !addr32 && !cpu.flags.df() && matches!(kind, Kind::Movs | Kind::Stos) {
        return super::string_bulk::forward(cpu, bus, i, kind == Kind::Movs, size, src_seg);
    }
    let mut n = 0u64;
    loop {
        if rep {
            if cpu.gpr[reg::RCX] & amask == 0 {
                return Ok(());
            }
            if n == MAX_ITERATIONS_PER_STEP {
                cpu.rip = i.ip();
                bus.end_block = true;
                return Ok(());
            }
        }
        let si = cpu.gpr[reg::RSI] & amask;
        let di = cpu.gpr[reg::RDI] & amask;
        let mut compare = None;
        match kind {
            Kind::Movs => {
                let v = read_mem(bus, src_seg.wrapping_add(si), size)?;
                write_mem(bus, di, size, v)?;
            }
            Kind::Stos => write_mem(bus, di, size, cpu.gpr[reg::RAX] & smask)?,
            Kind::Lods => {
                let v = read_mem(bus, src_seg.wrapping_add(si), size)?;
                let r = match size {
                    1 => iced_x86::Register::AL,
                    2 => iced_x86::Register::AX,
                    4 => iced_x86::Register::EAX,
                    _ => iced_x86::Register::RAX,
                };
                set_reg(cpu, r, v);
            }
            Kind::Cmps => {
                let a = read_mem(bus, src_seg.wrapping_add(si), size)?;
                let b = read_mem(bus, di, size)?;
                compare = Some((a, b));
            }
            Kind::Scas => {
                let b = read_mem(bus, di, size)?;
                compare = Some((cpu.gpr[reg::RAX] & smask, b));
            }
        }
        let advance = |r: u64| (r & !amask) | (r.wrapping_add(step) & amask);
        if matches!(kind, Kind::Movs | Kind::Lods | Kind::Cmps) {
            cpu.gpr[reg::RSI] = if addr32 { (si.wrapping_add(step)) & amask } else { advance(cpu.gpr[reg::RSI]) };
        }
        if matches!(kind, Kind::Movs | Kind::Stos | Kind::Cmps | Kind::Scas) {
            cpu.gpr[reg::RDI] = if addr32 { (di.wrapping_add(step)) & amask } else { advance(cpu.gpr[reg::RDI]) };
        }
        if let Some((a, b)) = compare {
            cpu.flags.set_lazy(FlagOp::Sub, size, a, b, a.wrapping_sub(b) & smask);
        }
        if !rep {
            return Ok(());
        }
        let c = cpu.gpr[reg::RCX].wrapping_sub(1) & amask;
        cpu.gpr[reg::RCX] = c;
        n += 1;
        if let Some((a, b)) = compare {
            let equal = a == b;
            if equal == until_equal {
                return Ok(());
            }
        }
    }
}
