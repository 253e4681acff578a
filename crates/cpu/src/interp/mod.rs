//! The interpreter: executes decoded blocks one instruction at a time.
//!
//! Instruction semantics live in one file per instruction family; this file
//! holds the run loop, the dispatch, and the operand helpers they share.

mod bits;
mod control;
pub(crate) mod fast;
mod int;
mod mmx;
mod muldiv;
mod shift;
mod sse;
mod string;
mod string_bulk;
mod system;
mod x87;

use iced_x86::{Instruction, Mnemonic, OpKind, Register};

use crate::block;
use crate::fault::{Exit, Fault};
use crate::flags::size_mask;
use crate::mem::Bus;
use crate::state::CpuState;

/// Why an instruction handler stopped early. One byte, so handler results
/// travel in a register: the details of a page fault (address, access) are
/// kept by the [`Bus`] that raised it, in `Bus::last_fault`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Trap {
    Page,
    GeneralProtection,
    InvalidOpcode,
    DivideError,
    X87,
    Simd,
    Breakpoint,
    Syscall,
}

impl From<Fault> for Trap {
    #[inline(always)]
    fn from(f: Fault) -> Self {
        match f {
            Fault::Page { .. } => Trap::Page,
            Fault::GeneralProtection | Fault::StackFault => Trap::GeneralProtection,
            Fault::InvalidOpcode => Trap::InvalidOpcode,
            Fault::DivideError => Trap::DivideError,
            Fault::X87 => Trap::X87,
            Fault::Simd => Trap::Simd,
            Fault::Breakpoint => Trap::Breakpoint,
        }
    }
}

impl Trap {
    /// The fault this trap stands for (`None` for SYSCALL).
    fn fault(self, cpu: &CpuState, bus: &mut Bus, i: &Instruction) -> Option<Fault> {
        Some(match self {
            Trap::Page => bus.last_fault.take().expect("a page-fault trap comes from a Bus access, which records the fault"),
            Trap::GeneralProtection => match bus.last_non_canonical.take() {
                Some(addr) if through_stack_segment(cpu, i, addr) => Fault::StackFault,
                _ => Fault::GeneralProtection,
            },
            Trap::InvalidOpcode => Fault::InvalidOpcode,
            Trap::DivideError => Fault::DivideError,
            Trap::X87 => Fault::X87,
            Trap::Simd => Fault::Simd,
            Trap::Breakpoint => Fault::Breakpoint,
            Trap::Syscall => return None,
        })
    }
}

/// Whether the non-canonical access at `addr` that instruction `i` made
/// went through SS, for which hardware raises #SS rather than #GP. An
/// explicit operand is SS-relative when its base is RSP or RBP (segment
/// prefixes other than FS/GS are ignored in 64-bit mode); the implicit
/// accesses of stack instructions are. An instruction with both (PUSH m,
/// POP m, CALL m) is told apart by the address.
fn through_stack_segment(cpu: &CpuState, i: &Instruction, addr: u64) -> bool {
    let stack_op = i.stack_pointer_increment() != 0 || matches!(i.mnemonic(), Mnemonic::Enter | Mnemonic::Leave);
    let explicit = (0..i.op_count()).any(|n| i.op_kind(n) == OpKind::Memory);
    // A page-crossing operand may fail on its second part, 64 bytes covers
    // the widest access.
    if explicit && (!stack_op || addr.wrapping_sub(ea(cpu, i)) < 64) {
        let ss_base = matches!(i.memory_base(), Register::RSP | Register::RBP | Register::ESP | Register::EBP);
        return ss_base && !matches!(i.memory_segment(), Register::FS | Register::GS);
    }
    stack_op
}

pub(crate) type R = core::result::Result<(), Trap>;
pub(crate) type RV<T> = core::result::Result<T, Trap>;

pub(crate) fn ud<T>() -> RV<T> {
    Err(Trap::InvalidOpcode)
}

/// Execute at most `budget` instructions of the thread whose state is
/// `cpu`, in the address space of `bus`. Returns why it stopped and how
/// many instructions completed.
pub fn run(cpu: &mut CpuState, bus: &mut Bus, budget: u64) -> (Exit, u64) {
    bus.space.sync_code_generation(&bus.mem.phys);
    let mut done = 0u64;
    let mut block = match block::lookup(bus, cpu.rip) {
        Ok(b) => b,
        Err(f) => return (Exit::Fault(f), 0),
    };
    loop {
        bus.end_block = false;
        // Run the whole block, or as much of it as the budget allows.
        let n = block.ops.len().min((budget - done).min(usize::MAX as u64) as usize);
        let mut executed = 0u64;
        let mut stop = None;
        for op in &block.ops[..n] {
            let insn = &op.insn;
            let next = insn.next_ip();
            cpu.rip = next;
            match (op.handler)(cpu, bus, op) {
                Ok(()) => {}
                Err(t) => {
                    match t.fault(cpu, bus, insn) {
                        // INT3 is a trap: it completes, and RIP (as the
                        // kernel reports it) is past it. Faults leave RIP
                        // on the faulting instruction.
                        Some(Fault::Breakpoint) => {
                            executed += 1;
                            stop = Some(Exit::Fault(Fault::Breakpoint));
                        }
                        Some(f) => {
                            cpu.rip = insn.ip();
                            stop = Some(Exit::Fault(f));
                        }
                        None => {
                            executed += 1;
                            stop = Some(Exit::Syscall);
                        }
                    }
                    break;
                }
            }
            executed += 1;
            // Only the last instruction of a block transfers control; one
            // in the middle ends the block early when its code was
            // overwritten or a REP yielded (both set `end_block`).
            if bus.end_block {
                break;
            }
        }
        done += executed;
        cpu.icount = cpu.icount.wrapping_add(executed);
        if let Some(exit) = stop {
            return (exit, done);
        }
        if done >= budget {
            return (Exit::Budget, done);
        }
        block = match block.next(bus, cpu.rip) {
            Ok(b) => b,
            Err(f) => return (Exit::Fault(f), done),
        };
    }
}

pub(crate) fn exec(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    use Mnemonic as M;
    match i.mnemonic() {
        M::Mov => int::mov(cpu, bus, i),
        M::Add | M::Or | M::Adc | M::Sbb | M::And | M::Sub | M::Xor | M::Cmp | M::Test => int::alu(cpu, bus, i),
        M::Inc | M::Dec | M::Neg | M::Not => int::unary(cpu, bus, i),
        M::Lea => int::lea(cpu, i),
        M::Movzx | M::Movsx | M::Movsxd => int::movx(cpu, bus, i),
        M::Xchg => int::xchg(cpu, bus, i),
        M::Cmpxchg => int::cmpxchg(cpu, bus, i),
        M::Cmpxchg8b | M::Cmpxchg16b => int::cmpxchg_wide(cpu, bus, i),
        M::Xadd => int::xadd(cpu, bus, i),
        M::Cbw | M::Cwde | M::Cdqe => int::extend_acc(cpu, i),
        M::Cwd | M::Cdq | M::Cqo => int::extend_into_dx(cpu, i),
        M::Bswap => int::bswap(cpu, i),
        M::Xlatb => int::xlat(cpu, bus, i),
        M::Push => control::push(cpu, bus, i),
        M::Pop => control::pop(cpu, bus, i),
        M::Pushfq | M::Pushf => control::pushf(cpu, bus, i),
        M::Popfq | M::Popf => control::popf(cpu, bus, i),
        M::Call => control::call(cpu, bus, i),
        M::Ret => control::ret(cpu, bus, i),
        M::Jmp => control::jmp(cpu, bus, i),
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
        | M::Jg => {
            if cpu.flags.cond(cc_of(i)) {
                cpu.rip = i.near_branch64();
            }
            Ok(())
        }
        M::Loop | M::Loope | M::Loopne | M::Jrcxz | M::Jecxz => control::loop_(cpu, i),
        M::Enter => control::enter(cpu, bus, i),
        M::Leave => control::leave(cpu, bus, i),
        m if is_setcc(m) => {
            let v = cpu.flags.cond(cc_of(i)) as u64;
            write_op(cpu, bus, i, 0, v)
        }
        m if is_cmovcc(m) => {
            // The source is read (and may fault) even when the condition
            // is false; a 32-bit destination is zero-extended either way.
            let v = read_op(cpu, bus, i, 1)?;
            let r = i.op0_register();
            let v = if cpu.flags.cond(cc_of(i)) { v } else { get_reg(cpu, r) };
            set_reg(cpu, r, v);
            Ok(())
        }
        M::Shl | M::Sal | M::Shr | M::Sar | M::Rol | M::Ror | M::Rcl | M::Rcr => shift::shift(cpu, bus, i),
        M::Shld | M::Shrd => shift::shift_double(cpu, bus, i),
        M::Mul | M::Imul | M::Div | M::Idiv => muldiv::exec(cpu, bus, i),
        M::Bt | M::Bts | M::Btr | M::Btc => bits::bt(cpu, bus, i),
        M::Bsf | M::Bsr | M::Tzcnt | M::Lzcnt | M::Popcnt => bits::scan(cpu, bus, i),
        M::Movsb
        | M::Movsw
        | M::Movsd
        | M::Movsq
        | M::Stosb
        | M::Stosw
        | M::Stosd
        | M::Stosq
        | M::Lodsb
        | M::Lodsw
        | M::Lodsd
        | M::Lodsq
        | M::Cmpsb
        | M::Cmpsw
        | M::Cmpsd
        | M::Cmpsq
        | M::Scasb
        | M::Scasw
        | M::Scasd
        | M::Scasq
            if is_string_op(i) =>
        {
            string::exec(cpu, bus, i)
        }
        _ => system::exec(cpu, bus, i),
    }
}

/// SETcc mnemonics (the 16 conditions).
pub(crate) fn is_setcc(m: Mnemonic) -> bool {
    use Mnemonic as M;
    matches!(
        m,
        M::Seto
            | M::Setno
            | M::Setb
            | M::Setae
            | M::Sete
            | M::Setne
            | M::Setbe
            | M::Seta
            | M::Sets
            | M::Setns
            | M::Setp
            | M::Setnp
            | M::Setl
            | M::Setge
            | M::Setle
            | M::Setg
    )
}

/// CMOVcc mnemonics (the 16 conditions).
pub(crate) fn is_cmovcc(m: Mnemonic) -> bool {
    use Mnemonic as M;
    matches!(
        m,
        M::Cmovo
            | M::Cmovno
            | M::Cmovb
            | M::Cmovae
            | M::Cmove
            | M::Cmovne
            | M::Cmovbe
            | M::Cmova
            | M::Cmovs
            | M::Cmovns
            | M::Cmovp
            | M::Cmovnp
            | M::Cmovl
            | M::Cmovge
            | M::Cmovle
            | M::Cmovg
    )
}

/// MOVSD and CMPSD share their mnemonics with the SSE2 scalar-double
/// instructions; the string forms have no explicit operands in iced's
/// model other than the implicit memory ones.
fn is_string_op(i: &Instruction) -> bool {
    (0..i.op_count()).all(|n| {
        matches!(i.op_kind(n), OpKind::MemorySegRSI | OpKind::MemorySegESI | OpKind::MemoryESRDI | OpKind::MemoryESEDI | OpKind::Register)
    }) && !(0..i.op_count()).any(|n| i.op_kind(n) == OpKind::Register && i.op_register(n).is_xmm())
}

/// The condition-code nibble of a Jcc/SETcc/CMOVcc.
pub(crate) fn cc_of(i: &Instruction) -> u8 {
    use iced_x86::ConditionCode as C;
    match i.condition_code() {
        C::o => 0,
        C::no => 1,
        C::b => 2,
        C::ae => 3,
        C::e => 4,
        C::ne => 5,
        C::be => 6,
        C::a => 7,
        C::s => 8,
        C::ns => 9,
        C::p => 10,
        C::np => 11,
        C::l => 12,
        C::ge => 13,
        C::le => 14,
        C::g => 15,
        C::None => unreachable!("conditional instruction without a condition code"),
    }
}

/// Where a general-purpose register lives: GPR index, size in bytes, and
/// whether it is one of AH/CH/DH/BH.
#[inline(always)]
pub(crate) fn gpr_info(r: Register) -> (usize, u32, bool) {
    let n = r as u32;
    match n {
        1..=4 => ((n - 1) as usize, 1, false),
        5..=8 => ((n - 5) as usize, 1, true),
        9..=20 => ((n - 5) as usize, 1, false),
        21..=36 => ((n - 21) as usize, 2, false),
        37..=52 => ((n - 37) as usize, 4, false),
        53..=68 => ((n - 53) as usize, 8, false),
        _ => panic!("not a general-purpose register: {r:?}"),
    }
}

#[inline(always)]
pub(crate) fn get_reg(cpu: &CpuState, r: Register) -> u64 {
    let (idx, size, high) = gpr_info(r);
    let v = cpu.gpr[idx];
    if high {
        (v >> 8) & 0xff
    } else {
        v & size_mask(size)
    }
}

/// Write a register with x86-64 semantics: 32-bit writes zero-extend,
/// 8- and 16-bit writes merge.
#[inline(always)]
pub(crate) fn set_reg(cpu: &mut CpuState, r: Register, v: u64) {
    let (idx, size, high) = gpr_info(r);
    let g = &mut cpu.gpr[idx];
    *g = match (size, high) {
        (8, _) => v,
        (4, _) => v & 0xffff_ffff,
        (2, _) => (*g & !0xffff) | (v & 0xffff),
        (1, false) => (*g & !0xff) | (v & 0xff),
        _ => (*g & !0xff00) | ((v & 0xff) << 8),
    };
}

/// Effective address of the memory operand (segment base included).
#[inline(always)]
pub(crate) fn ea(cpu: &CpuState, i: &Instruction) -> u64 {
    let mut a = i.memory_displacement64();
    let base = i.memory_base();
    let index = i.memory_index();
    let mut addr32 = false;
    if base != Register::None && base != Register::RIP {
        if base == Register::EIP {
            addr32 = true;
        } else {
            let (idx, size, _) = gpr_info(base);
            addr32 = size == 4;
            a = a.wrapping_add(cpu.gpr[idx]);
        }
    }
    if index != Register::None {
        let (idx, size, _) = gpr_info(index);
        addr32 |= size == 4;
        a = a.wrapping_add(cpu.gpr[idx].wrapping_mul(i.memory_index_scale() as u64));
    }
    if addr32 {
        a &= 0xffff_ffff;
    }
    seg_base(cpu, i.memory_segment()).wrapping_add(a)
}

#[inline(always)]
pub(crate) fn seg_base(cpu: &CpuState, seg: Register) -> u64 {
    match seg {
        Register::FS => cpu.fs_base,
        Register::GS => cpu.gs_base,
        _ => 0,
    }
}

/// Size in bytes of operand `n` (register or memory).
#[inline(always)]
pub(crate) fn op_size(i: &Instruction, n: u32) -> u32 {
    match i.op_kind(n) {
        OpKind::Register => gpr_info(i.op_register(n)).1,
        OpKind::Memory => i.memory_size().size() as u32,
        OpKind::Immediate8 => 1,
        OpKind::Immediate16 | OpKind::Immediate8to16 => 2,
        OpKind::Immediate32 | OpKind::Immediate8to32 => 4,
        _ => 8,
    }
}

#[inline(always)]
pub(crate) fn read_mem(bus: &mut Bus, addr: u64, size: u32) -> RV<u64> {
    Ok(match size {
        1 => bus.read_u8(addr)? as u64,
        2 => bus.read_u16(addr)? as u64,
        4 => bus.read_u32(addr)? as u64,
        _ => bus.read_u64(addr)?,
    })
}

#[inline(always)]
pub(crate) fn write_mem(bus: &mut Bus, addr: u64, size: u32, v: u64) -> R {
    match size {
        1 => bus.write_u8(addr, v as u8)?,
        2 => bus.write_u16(addr, v as u16)?,
        4 => bus.write_u32(addr, v as u32)?,
        _ => bus.write_u64(addr, v)?,
    }
    Ok(())
}

/// Value of operand `n`, zero-extended to 64 bits (immediates come
/// sign-extended to the operand size, as iced reports them).
#[inline(always)]
pub(crate) fn read_op(cpu: &CpuState, bus: &mut Bus, i: &Instruction, n: u32) -> RV<u64> {
    match i.op_kind(n) {
        OpKind::Register => Ok(get_reg(cpu, i.op_register(n))),
        OpKind::Memory => read_mem(bus, ea(cpu, i), i.memory_size().size() as u32),
        _ => Ok(i.immediate(n)),
    }
}

#[inline(always)]
pub(crate) fn write_op(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction, n: u32, v: u64) -> R {
    match i.op_kind(n) {
        OpKind::Register => {
            set_reg(cpu, i.op_register(n), v);
            Ok(())
        }
        OpKind::Memory => write_mem(bus, ea(cpu, i), i.memory_size().size() as u32, v),
        k => unreachable!("write to operand kind {k:?}"),
    }
}

/// A read-modify-write destination: resolved once, so the address is
/// computed from the registers as they were before the instruction.
#[derive(Clone, Copy)]
pub(crate) enum Loc {
    Reg(Register),
    Mem(u64),
}

#[inline(always)]
pub(crate) fn loc0(cpu: &CpuState, i: &Instruction) -> Loc {
    match i.op0_kind() {
        OpKind::Register => Loc::Reg(i.op0_register()),
        _ => Loc::Mem(ea(cpu, i)),
    }
}

#[inline(always)]
pub(crate) fn read_loc(cpu: &CpuState, bus: &mut Bus, loc: Loc, size: u32) -> RV<u64> {
    match loc {
        Loc::Reg(r) => Ok(get_reg(cpu, r)),
        Loc::Mem(a) => read_mem(bus, a, size),
    }
}

#[inline(always)]
pub(crate) fn write_loc(cpu: &mut CpuState, bus: &mut Bus, loc: Loc, size: u32, v: u64) -> R {
    match loc {
        Loc::Reg(r) => {
            set_reg(cpu, r, v);
            Ok(())
        }
        Loc::Mem(a) => write_mem(bus, a, size, v),
    }
}

/// Read a read-modify-write destination. For a memory operand that
/// crosses a page boundary, hardware checks write access to both pages, in
/// order, before it reads, so the fault is a write fault on the first page
/// that is not writable (a plain read could fault on the second page
/// first). Within one page the write after the read faults the same way.
#[inline(always)]
pub(crate) fn read_loc_rmw(cpu: &CpuState, bus: &mut Bus, loc: Loc, size: u32) -> RV<u64> {
    if let Loc::Mem(a) = loc {
        probe_write(bus, a, size)?;
    }
    read_loc(cpu, bus, loc, size)
}

/// Check write access to `size` bytes at `addr` when they cross a page
/// (see [`read_loc_rmw`]).
#[inline(always)]
pub(crate) fn probe_write(bus: &mut Bus, addr: u64, size: u32) -> R {
    if (addr & 0xfff) + size as u64 > 0x1000 {
        // An empty write checks (only) the page holding its address.
        bus.write_bytes(addr, &[])?;
        bus.write_bytes((addr | 0xfff).wrapping_add(1), &[])?;
    }
    Ok(())
}

/// Stack push of `size` bytes; RSP is only updated once the write succeeded.
#[inline(always)]
pub(crate) fn push(cpu: &mut CpuState, bus: &mut Bus, size: u32, v: u64) -> R {
    let sp = cpu.gpr[crate::state::reg::RSP].wrapping_sub(size as u64);
    write_mem(bus, sp, size, v)?;
    cpu.gpr[crate::state::reg::RSP] = sp;
    Ok(())
}

#[inline(always)]
pub(crate) fn pop(cpu: &mut CpuState, bus: &mut Bus, size: u32) -> RV<u64> {
    let sp = cpu.gpr[crate::state::reg::RSP];
    let v = read_mem(bus, sp, size)?;
    cpu.gpr[crate::state::reg::RSP] = sp.wrapping_add(size as u64);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpr_table_matches_iced() {
        for r in Register::values().filter(|r| r.is_gpr()) {
            let (idx, size, high) = gpr_info(r);
            assert_eq!(size as usize, r.size(), "{r:?}");
            let expected = if high { r.number() - 4 } else { r.full_register().number() };
            assert_eq!(idx, expected, "{r:?}");
        }
    }

    // Regression tests for bugs the differential tester (crates/difftest)
    // found; the expected results are what the hardware does.
    use crate::fault::Access;
    use crate::mem::{AddressSpace, Memory, Prot};
    use crate::state::reg;

    const CODE: u64 = 0x40_0000;
    const DATA: u64 = 0x50_0000;

    /// Run `code` (one instruction) with a writable page at DATA holding
    /// the (offset, value) pairs of `data`, a read-only page at DATA+0x1000
    /// and nothing above.
    fn run1(code: &[u8], data: &[(usize, u64)], setup: impl FnOnce(&mut CpuState)) -> (CpuState, crate::Exit) {
        let mut mem = Memory::new();
        let mut space = AddressSpace::new();
        let f = mem.phys.alloc();
        mem.phys.bytes_mut(f)[..code.len()].copy_from_slice(code);
        space.map(&mut mem.phys, CODE, f, Prot::RX);
        let d = mem.phys.alloc();
        for (off, v) in data {
            mem.phys.bytes_mut(d)[*off..off + 8].copy_from_slice(&v.to_le_bytes());
        }
        space.map(&mut mem.phys, DATA, d, Prot::RW);
        let r = mem.phys.alloc();
        space.map(&mut mem.phys, DATA + 0x1000, r, Prot::READ);
        let mut cpu = CpuState { rip: CODE, ..CpuState::default() };
        setup(&mut cpu);
        let mut bus = Bus::new(&mut space, &mut mem);
        let (exit, _) = run(&mut cpu, &mut bus, 1);
        (cpu, exit)
    }

    #[test]
    fn rmw_across_read_only_and_unmapped_pages_is_a_write_fault_on_the_first() {
        // add dword [rax], ecx at the last 2 bytes of the read-only page.
        let (_, exit) = run1(&[0x01, 0x08], &[], |c| c.gpr[reg::RAX] = DATA + 0x1ffe);
        assert_eq!(exit, crate::Exit::Fault(Fault::Page { addr: DATA + 0x1ffe, access: Access::Write, present: true }));
    }

    #[test]
    fn xadd_with_itself_leaves_the_sum() {
        let (cpu, _) = run1(&[0x0f, 0xc1, 0xc9], &[], |c| c.gpr[reg::RCX] = 1); // xadd ecx, ecx
        assert_eq!(cpu.gpr[reg::RCX], 2);
    }

    #[test]
    fn branches_to_non_canonical_targets_fault_at_the_branch() {
        let (cpu, exit) = run1(&[0xc3], &[(0x100, 1 << 63)], |c| c.gpr[reg::RSP] = DATA + 0x100);
        assert_eq!(exit, crate::Exit::Fault(Fault::GeneralProtection));
        assert_eq!((cpu.rip, cpu.gpr[reg::RSP]), (CODE, DATA + 0x100), "RET pops nothing");
        let (cpu, exit) = run1(&[0xff, 0xd0], &[], |c| {
            // call rax with a non-canonical rax: nothing is pushed.
            c.gpr[reg::RAX] = 1 << 63;
            c.gpr[reg::RSP] = DATA + 0x100;
        });
        assert_eq!(exit, crate::Exit::Fault(Fault::GeneralProtection));
        assert_eq!((cpu.rip, cpu.gpr[reg::RSP]), (CODE, DATA + 0x100));
    }

    #[test]
    fn popf_sets_nt() {
        let (cpu, _) = run1(&[0x9d], &[(0x100, 0x4202)], |c| c.gpr[reg::RSP] = DATA + 0x100);
        assert_ne!(cpu.rflags() & (1 << 14), 0, "NT is writable by POPF");
    }

    #[test]
    fn bt_bit_offset_wraps_with_32_bit_addressing() {
        // btr qword [0x500008], rcx (67 prefix) with rcx = i64::MAX: the
        // address 0x500008 + 0x0fff_ffff_ffff_fff8 wraps to 0x500000 at 4 GiB.
        let code = [0x67, 0x48, 0x0f, 0xb3, 0x0c, 0x25, 0x08, 0x00, 0x50, 0x00];
        let (_, exit) = run1(&code, &[], |c| c.gpr[reg::RCX] = i64::MAX as u64);
        assert_eq!(exit, crate::Exit::Budget, "the wrapped address is mapped and writable");
    }

    #[test]
    fn mov_from_control_register_is_gp() {
        let (_, exit) = run1(&[0x0f, 0x20, 0xc0], &[], |_| {}); // mov rax, cr0
        assert_eq!(exit, crate::Exit::Fault(Fault::GeneralProtection));
    }

    #[test]
    fn int_3_is_a_breakpoint() {
        let (_, exit) = run1(&[0xcd, 0x03], &[], |_| {});
        assert_eq!(exit, crate::Exit::Fault(Fault::Breakpoint));
    }
}
