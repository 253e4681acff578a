//! Flag instructions, no-ops and hints, CPUID, RDTSC, SYSCALL, and the
//! instructions that trap in user mode.

use iced_x86::{Instruction, Mnemonic};

use super::{set_reg, Trap, R};
use crate::cpuid::cpuid;
use crate::fault::Fault;
use crate::flags::{ARITH, CF, DF};
use crate::mem::Bus;
use crate::state::{reg, CpuState};

pub(super) fn exec(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    use Mnemonic as M;
    match i.mnemonic() {
        // Hints and ordering: one host thread runs the guest, so fences
        // and cache-control instructions have nothing to order.
        M::Nop
        | M::Pause
        | M::Lfence
        | M::Mfence
        | M::Sfence
        | M::Endbr64
        | M::Prefetchnta
        | M::Prefetcht0
        | M::Prefetcht1
        | M::Prefetcht2
        | M::Prefetchw => Ok(()),
        M::Clflush => {
            // CLFLUSH faults like a read of its operand.
            bus.read_u8(super::ea(cpu, i))?;
            Ok(())
        }
        M::Movnti => {
            let v = super::read_op(cpu, bus, i, 1)?;
            super::write_op(cpu, bus, i, 0, v)
        }
        M::Clc | M::Stc | M::Cmc => {
            let f = cpu.flags.arith();
            let f = match i.mnemonic() {
                M::Clc => f & !CF,
                M::Stc => f | CF,
                _ => f ^ CF,
            };
            cpu.flags.set_arith(f);
            Ok(())
        }
        M::Cld => {
            cpu.flags.bits &= !DF;
            Ok(())
        }
        M::Std => {
            cpu.flags.bits |= DF;
            Ok(())
        }
        M::Lahf => {
            let f = cpu.rflags() & 0xff;
            set_reg(cpu, iced_x86::Register::AH, f);
            Ok(())
        }
        M::Sahf => {
            let ah = (cpu.gpr[reg::RAX] >> 8) & 0xff;
            let f = cpu.flags.arith();
            cpu.flags.set_arith((f & !(ARITH & 0xff)) | (ah & ARITH & 0xff));
            Ok(())
        }
        M::Cpuid => {
            let r = cpuid(cpu.gpr[reg::RAX] as u32, cpu.gpr[reg::RCX] as u32);
            cpu.gpr[reg::RAX] = r[0] as u64;
            cpu.gpr[reg::RBX] = r[1] as u64;
            cpu.gpr[reg::RCX] = r[2] as u64;
            cpu.gpr[reg::RDX] = r[3] as u64;
            Ok(())
        }
        M::Rdtsc => {
            // A deterministic time stamp: retired instructions.
            let t = cpu.icount;
            cpu.gpr[reg::RAX] = t & 0xffff_ffff;
            cpu.gpr[reg::RDX] = t >> 32;
            Ok(())
        }
        M::Syscall => {
            cpu.gpr[reg::RCX] = cpu.rip;
            cpu.gpr[reg::R11] = cpu.rflags() & !(1 << 16);
            Err(Trap::Syscall)
        }
        // INT 3 (CD 03) is a breakpoint like INT3 (its IDT gate is open to
        // user mode); other vectors raise #GP.
        M::Int3 | M::Int if i.mnemonic() == M::Int3 || i.immediate8() == 3 => {
            // The kernel reports SIGTRAP with RIP after the INT3, so
            // complete the instruction before raising it.
            Err(Fault::Breakpoint.into())
        }
        M::Hlt
        | M::Int
        | M::Int1
        | M::Into
        | M::Cli
        | M::Sti
        | M::In
        | M::Insb
        | M::Insw
        | M::Insd
        | M::Out
        | M::Outsb
        | M::Outsw
        | M::Outsd
        | M::Iretq
        | M::Iretd
        | M::Iret
        | M::Lgdt
        | M::Lidt
        | M::Lldt
        | M::Ltr
        | M::Invlpg
        | M::Wbinvd
        | M::Invd
        | M::Rdmsr
        | M::Wrmsr
        | M::Sysret
        | M::Sysexit
        | M::Swapgs
        | M::Clts
        | M::Lmsw => Err(Fault::GeneralProtection.into()),
        _ => super::sse::exec(cpu, bus, i),
    }
}
