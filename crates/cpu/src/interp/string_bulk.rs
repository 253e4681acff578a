//! Fast path for forward REP MOVS and REP STOS (what memcpy and memset
//! compile to): whole runs of elements are copied between host pointers,
//! one page-bounded chunk at a time, instead of one element per step.
//! Registers are updated after each chunk, so a fault in a later chunk
//! leaves the state of the completed iterations, as on hardware.

use iced_x86::Instruction;

use super::R;
use crate::fault::Access;
use crate::mem::{Bus, PAGE_SIZE};
use crate::state::{reg, CpuState};

/// Elements handled per instruction step before yielding (as an
/// interrupted REP does), bounding the latency of one step.
const MAX_BYTES_PER_STEP: u64 = 1 << 20;

pub(super) fn forward(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction, movs: bool, size: u32, src_seg: u64) -> R {
    let size = size as u64;
    let mut budget = MAX_BYTES_PER_STEP;
    loop {
        let count = cpu.gpr[reg::RCX];
        if count == 0 {
            return Ok(());
        }
        if budget == 0 {
            cpu.rip = i.ip();
            bus.end_block = true;
            return Ok(());
        }
        let di = cpu.gpr[reg::RDI];
        let si = src_seg.wrapping_add(cpu.gpr[reg::RSI]);
        // Elements that fit before either pointer reaches a page end; an
        // element straddling a page is done by the per-element path.
        let room = |a: u64| (PAGE_SIZE as u64 - (a & 0xfff)) / size;
        let mut n = room(di).min(count).min(budget / size);
        if movs {
            n = n.min(room(si));
        }
        if n == 0 {
            // One straddling element: do it element-wise through the bus.
            let v = if movs { super::read_mem(bus, si, size as u32)? } else { cpu.gpr[reg::RAX] };
            super::write_mem(bus, di, size as u32, v)?;
            n = 1;
        } else {
            let bytes = (n * size) as usize;
            let src = if movs { Some(bus.host_span(si, bytes, Access::Read)?) } else { None };
            let dst = bus.host_span(di, bytes, Access::Write)?;
            match src {
                Some(src) => {
                    let dist = (dst as usize).wrapping_sub(src as usize);
                    if dist != 0 && dist < bytes {
                        // Destination overlaps ahead of the source: copy
                        // element by element as the instruction does (each
                        // element is read whole, then written), which
                        // replicates the pattern where memmove would not.
                        let size = size as usize;
                        let mut tmp = [0u8; 8];
                        for k in (0..bytes).step_by(size) {
                            // SAFETY: both spans are within live frames
                            // (checked by host_span) and k + size <= bytes.
                            unsafe {
                                core::ptr::copy_nonoverlapping(src.add(k), tmp.as_mut_ptr(), size);
                                core::ptr::copy_nonoverlapping(tmp.as_ptr(), dst.add(k), size);
                            }
                        }
                    } else if dist != 0 {
                        // SAFETY: as above; the spans may still overlap
                        // with dst behind src, for which a forward copy
                        // (ptr::copy, memmove) gives the same result.
                        unsafe { core::ptr::copy(src, dst, bytes) };
                    }
                }
                None => {
                    let pattern = cpu.gpr[reg::RAX].to_le_bytes();
                    if size == 1 {
                        // SAFETY: dst..dst+bytes is within one live frame.
                        unsafe { core::ptr::write_bytes(dst, pattern[0], bytes) };
                    } else {
                        for k in 0..bytes {
                            // SAFETY: as above.
                            unsafe { *dst.add(k) = pattern[k % size as usize] };
                        }
                    }
                }
            }
        }
        cpu.gpr[reg::RCX] = count - n;
        cpu.gpr[reg::RDI] = di.wrapping_add(n * size);
        if movs {
            cpu.gpr[reg::RSI] = cpu.gpr[reg::RSI].wrapping_add(n * size);
        }
        budget = budget.saturating_sub(n * size);
    }
}
