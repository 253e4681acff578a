//! SSE and SSE2.

mod fp;

use iced_x86::Instruction;

use super::R;
use crate::mem::Bus;
use crate::state::CpuState;

pub(super) fn exec(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    super::x87::exec(cpu, bus, i)
}
