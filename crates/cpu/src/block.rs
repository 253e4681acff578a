//! Decoded basic blocks and the cache that keeps them.
//!
//! A block is decoded once (with iced-x86) and reused until a write touches
//! a page it came from. Blocks are keyed by (virtual address, physical
//! frame): the virtual address because decoded RIP-relative operands and
//! branch targets depend on it, the frame because the same virtual address
//! can map different code in different processes.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use iced_x86::{Code, Decoder, DecoderError, DecoderOptions, FlowControl, Instruction};

use crate::fault::{Access, Result};
use crate::interp::fast::{select, Handler};
use crate::mem::{Bus, FrameId, Tlb, PAGE_SHIFT, PAGE_SIZE};

/// Longest block, in instructions: bounds decode work and the latency of a
/// budget check.
pub const MAX_BLOCK_INSNS: usize = 64;
const JUMP_CACHE_SIZE: usize = 4096;

/// One decoded instruction with its pre-selected handler.
pub struct Op {
    pub insn: Instruction,
    pub(crate) handler: Handler,
    /// The memory operand, pre-resolved for the fast handlers.
    pub(crate) mem: MemOperand,
}

/// A 64-bit-addressed memory operand without segment base: `disp + base +
/// (index << scale)`, with register number 16 meaning "none".
#[derive(Clone, Copy, Default)]
pub(crate) struct MemOperand {
    pub disp: u64,
    pub base: u8,
    pub index: u8,
    pub scale: u8,
    /// Whether the operand has this simple form (else use `interp::ea`).
    pub simple: bool,
}

impl MemOperand {
    pub(crate) fn of(i: &Instruction) -> MemOperand {
        use iced_x86::{OpKind, Register};
        let has_mem = (0..i.op_count()).any(|n| i.op_kind(n) == OpKind::Memory);
        if !has_mem {
            return MemOperand::default();
        }
        let reg = |r: Register| -> Option<u8> {
            if r == Register::None || r == Register::RIP {
                Some(16)
            } else if r.is_gpr64() {
                Some((r as u32 - Register::RAX as u32) as u8)
            } else {
                None
            }
        };
        let seg_ok = !matches!(i.memory_segment(), Register::FS | Register::GS);
        match (reg(i.memory_base()), reg(i.memory_index())) {
            (Some(base), Some(index)) if seg_ok => MemOperand {
                disp: i.memory_displacement64(),
                base,
                index,
                scale: i.memory_index_scale().trailing_zeros() as u8,
                simple: true,
            },
            _ => MemOperand::default(),
        }
    }

    #[inline(always)]
    pub fn ea(&self, cpu: &crate::state::CpuState) -> u64 {
        let b = if (self.base as usize) < 16 { cpu.gpr[self.base as usize & 15] } else { 0 };
        let x = if (self.index as usize) < 16 { cpu.gpr[self.index as usize & 15] << self.scale } else { 0 };
        self.disp.wrapping_add(b).wrapping_add(x)
    }
}

/// A chained successor: its start address and the block.
type Link = (u64, Rc<Block>);

pub struct Block {
    pub start: u64,
    pub ops: Vec<Op>,
    /// Successor blocks on the same page, by start address, so loops run
    /// without a cache lookup per block. Same-page only: the successor then
    /// shares this block's frame, which was validated when this block was
    /// entered.
    pub(crate) links: RefCell<[Option<Link>; 2]>,
    /// Frames the block's bytes came from (the second only when the last
    /// instruction straddles a page boundary).
    pub frames: [Option<FrameId>; 2],
    /// Cleared when the code under the block is written.
    pub valid: Cell<bool>,
}

struct JumpEntry {
    va: u64,
    frame: FrameId,
    block: Option<Rc<Block>>,
}

pub struct CodeCache {
    blocks: HashMap<(u64, FrameId), Rc<Block>>,
    by_frame: HashMap<FrameId, Vec<(u64, FrameId)>>,
    /// Direct-mapped front cache by virtual address, checked before the map.
    jump: Vec<JumpEntry>,
    pub stats: CacheStats,
}

#[derive(Default, Clone, Copy, Debug)]
pub struct CacheStats {
    pub decoded_blocks: u64,
    pub invalidated_frames: u64,
}

impl Default for CodeCache {
    fn default() -> Self {
        CodeCache {
            blocks: HashMap::new(),
            by_frame: HashMap::new(),
            jump: (0..JUMP_CACHE_SIZE).map(|_| JumpEntry { va: u64::MAX, frame: 0, block: None }).collect(),
            stats: CacheStats::default(),
        }
    }
}

fn jump_index(va: u64) -> usize {
    ((va ^ (va >> 12)) as usize) & (JUMP_CACHE_SIZE - 1)
}

impl CodeCache {
    /// Drop every block decoded from `frame`.
    pub fn invalidate_frame(&mut self, frame: FrameId) {
        self.stats.invalidated_frames += 1;
        for key in self.by_frame.remove(&frame).unwrap_or_default() {
            if let Some(b) = self.blocks.remove(&key) {
                b.valid.set(false);
                // Break reference cycles through links.
                *b.links.borrow_mut() = [None, None];
            }
        }
    }

    /// Number of cached blocks.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
}

impl Block {
    /// The block to run after this one, when control went to `rip`.
    #[inline]
    pub(crate) fn next(self: &Rc<Self>, bus: &mut Bus, rip: u64) -> Result<Rc<Block>> {
        let same_page = (rip ^ self.start) >> PAGE_SHIFT == 0;
        if same_page {
            let links = self.links.borrow();
            for (va, b) in links.iter().flatten() {
                if *va == rip && b.valid.get() && b.frames[1].is_none() {
                    return Ok(b.clone());
                }
            }
        }
        let b = lookup(bus, rip)?;
        if same_page && self.valid.get() {
            let mut links = self.links.borrow_mut();
            let slot = if links[0].is_none() { 0 } else { 1 };
            links[slot] = Some((rip, b.clone()));
        }
        Ok(b)
    }
}

/// Find or decode the block starting at `rip`.
pub fn lookup(bus: &mut Bus, rip: u64) -> Result<Rc<Block>> {
    if !bus.mem.phys.reused_code.is_empty() {
        for f in std::mem::take(&mut bus.mem.phys.reused_code) {
            bus.mem.code.invalidate_frame(f);
        }
    }
    let tlb = &bus.space.tlb.entries[Tlb::index(rip)];
    let frame = if tlb.exec_tag == rip >> PAGE_SHIFT { tlb.frame } else { bus.space.host_page(&mut bus.mem.phys, rip, Access::Exec)?.1 };
    let j = &bus.mem.code.jump[jump_index(rip)];
    if j.va == rip && j.frame == frame {
        if let Some(b) = &j.block {
            if b.valid.get() && b.frames[1].is_none() {
                return Ok(b.clone());
            }
        }
    }
    let cached = bus.mem.code.blocks.get(&(rip, frame)).cloned();
    let block = match cached {
        Some(b) if second_page_unchanged(bus, &b) => b,
        _ => decode_block(bus, rip, frame)?,
    };
    let j = &mut bus.mem.code.jump[jump_index(rip)];
    *j = JumpEntry { va: rip, frame, block: Some(block.clone()) };
    Ok(block)
}

/// A block whose last instruction straddles into the next page stays valid
/// only while that page still maps the same frame, executable.
fn second_page_unchanged(bus: &mut Bus, b: &Block) -> bool {
    match b.frames[1] {
        None => true,
        Some(f2) => {
            let next = (b.start & !0xfff) + PAGE_SIZE as u64;
            matches!(bus.space.host_page(&mut bus.mem.phys, next, Access::Exec), Ok((_, f)) if f == f2)
        }
    }
}

fn decode_block(bus: &mut Bus, rip: u64, frame: FrameId) -> Result<Rc<Block>> {
    let off = (rip & 0xfff) as usize;
    let page = bus.mem.phys.bytes(frame);
    let bytes = &page[off..];
    let mut insns = Vec::new();
    let mut decoder = Decoder::with_ip(64, bytes, rip, DecoderOptions::NONE);
    let mut second_frame = None;
    let mut insn = Instruction::default();
    while insns.len() < MAX_BLOCK_INSNS && decoder.can_decode() {
        decoder.decode_out(&mut insn);
        if decoder.last_error() == DecoderError::NoMoreBytes {
            break;
        }
        if insn.code() == Code::INVALID && !insns.is_empty() {
            break;
        }
        insns.push(insn);
        if ends_block(&insn) {
            break;
        }
    }
    if insns.is_empty() {
        // The first instruction straddles into the next page: decode it
        // alone, from bytes of both pages.
        {
            let avail = PAGE_SIZE - off;
            let mut buf = [0u8; 15];
            buf[..avail].copy_from_slice(&bytes[..avail]);
            let next = (rip & !0xfff) + PAGE_SIZE as u64;
            let (_, f2) = bus.space.host_page(&mut bus.mem.phys, next, Access::Exec)?;
            buf[avail..].copy_from_slice(&bus.mem.phys.bytes(f2)[..15 - avail]);
            let mut d = Decoder::with_ip(64, &buf, rip, DecoderOptions::NONE);
            d.decode_out(&mut insn);
            insns.push(insn);
            second_frame = Some(f2);
        }
    }
    let dead = flags_dead(&insns);
    let ops =
        insns.into_iter().zip(dead).map(|(insn, dead)| Op { handler: select(&insn, dead), mem: MemOperand::of(&insn), insn }).collect();
    let block =
        Rc::new(Block { start: rip, ops, links: RefCell::new([None, None]), frames: [Some(frame), second_frame], valid: Cell::new(true) });
    let cache = &mut bus.mem.code;
    cache.stats.decoded_blocks += 1;
    cache.blocks.insert((rip, frame), block.clone());
    for f in block.frames.iter().flatten() {
        cache.by_frame.entry(*f).or_default().push((rip, frame));
        if !bus.mem.phys.is_code(*f) {
            bus.mem.phys.set_code(*f, true);
        }
    }
    bus.space.sync_code_generation(&bus.mem.phys);
    Ok(block)
}

/// For each instruction, whether the arithmetic flags it produces are dead:
/// a later instruction of the block overwrites all six before anything
/// reads them, and nothing in between (nor the overwriting instruction)
/// can fault, so no signal handler or fault report can observe them.
/// Handlers may then skip computing flags.
fn flags_dead(insns: &[Instruction]) -> Vec<bool> {
    use iced_x86::{Mnemonic as M, OpKind, RflagsBits};
    // iced's own flag bit layout, not RFLAGS positions.
    const ARITH: u32 = RflagsBits::OF | RflagsBits::SF | RflagsBits::ZF | RflagsBits::AF | RflagsBits::CF | RflagsBits::PF;
    // Only general-purpose registers and immediates (a control or segment
    // register operand can fault).
    let no_memory = |i: &Instruction| {
        (0..i.op_count()).all(|n| match i.op_kind(n) {
            OpKind::Register => i.op_register(n).is_gpr(),
            k => is_immediate(k),
        })
    };
    // Register-only instructions that cannot fault.
    let safe = |i: &Instruction| {
        no_memory(i)
            && i.stack_pointer_increment() == 0
            && matches!(
                i.mnemonic(),
                M::Mov
                    | M::Lea
                    | M::Add
                    | M::Sub
                    | M::And
                    | M::Or
                    | M::Xor
                    | M::Cmp
                    | M::Test
                    | M::Inc
                    | M::Dec
                    | M::Neg
                    | M::Not
                    | M::Shl
                    | M::Shr
                    | M::Sar
                    | M::Rol
                    | M::Ror
                    | M::Imul
                    | M::Movzx
                    | M::Movsx
                    | M::Movsxd
                    | M::Bswap
                    | M::Nop
            )
            && i.op_count() > 0
    };
    let mut dead = vec![false; insns.len()];
    // Walk backwards tracking whether flags are dead at each point: at the
    // end of the block they are live.
    let mut dead_after = false;
    for (k, i) in insns.iter().enumerate().rev() {
        dead[k] = dead_after;
        if !safe(i) {
            dead_after = false;
            continue;
        }
        let read = i.rflags_read() & ARITH != 0;
        let written = (i.rflags_written() | i.rflags_cleared() | i.rflags_set() | i.rflags_undefined()) & ARITH;
        // Shifts by zero write nothing: only non-zero immediate counts kill.
        let count_mask = if i.op_count() > 0 && i.op0_kind() == OpKind::Register && i.op0_register().is_gpr64() { 63 } else { 31 };
        let shift_zero = matches!(i.mnemonic(), M::Shl | M::Shr | M::Sar | M::Rol | M::Ror)
            && (i.op_count() < 2 || !is_immediate(i.op1_kind()) || i.immediate(1) & count_mask == 0);
        if read {
            dead_after = false;
        } else if written == ARITH && !shift_zero {
            dead_after = true;
        }
    }
    dead
}

fn is_immediate(k: iced_x86::OpKind) -> bool {
    use iced_x86::OpKind as K;
    matches!(
        k,
        K::Immediate8
            | K::Immediate8_2nd
            | K::Immediate16
            | K::Immediate32
            | K::Immediate64
            | K::Immediate8to16
            | K::Immediate8to32
            | K::Immediate8to64
            | K::Immediate32to64
    )
}

/// Whether execution may leave the straight line after `insn`.
fn ends_block(insn: &Instruction) -> bool {
    !matches!(insn.flow_control(), FlowControl::Next) || insn.code() == Code::INVALID
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Vec<Instruction> {
        Decoder::with_ip(64, bytes, 0x1000, DecoderOptions::NONE).into_iter().collect()
    }

    #[test]
    fn flags_are_dead_only_when_overwritten_by_non_faulting_code() {
        // shl rax,13 ; xor r8,rax : the XOR overwrites every flag.
        assert_eq!(flags_dead(&decode(&[0x48, 0xc1, 0xe0, 0x0d, 0x49, 0x31, 0xc0])), [true, false]);
        // shl rax,13 ; adc r8,rax : ADC reads CF.
        assert_eq!(flags_dead(&decode(&[0x48, 0xc1, 0xe0, 0x0d, 0x49, 0x11, 0xc0])), [false, false]);
        // shl rax,13 ; mov rbx,[rcx] ; xor r8,rax : the load may fault and a
        // fault must show SHL's flags (the MOV itself produces none).
        assert!(!flags_dead(&decode(&[0x48, 0xc1, 0xe0, 0x0d, 0x48, 0x8b, 0x19, 0x49, 0x31, 0xc0]))[0]);
        // shl rax,13 ; inc rbx ; sub r8,rax : INC keeps CF, SUB then kills all.
        assert_eq!(flags_dead(&decode(&[0x48, 0xc1, 0xe0, 0x0d, 0x48, 0xff, 0xc3, 0x49, 0x29, 0xc0])), [true, true, false]);
        // shl eax,32 is a zero count for a 32-bit operand: it writes no
        // flags, so the IMUL before it stays live.
        assert_eq!(flags_dead(&decode(&[0x48, 0x6b, 0xc0, 0x03, 0xc1, 0xe0, 0x20])), [false, false]);
        // At the end of a block flags are live.
        assert_eq!(flags_dead(&decode(&[0x48, 0xc1, 0xe0, 0x0d])), [false]);
    }
}
