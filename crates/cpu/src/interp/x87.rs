//! The x87 FPU.

use iced_x86::Instruction;

use super::R;
use crate::mem::Bus;
use crate::state::CpuState;

pub(super) fn exec(_cpu: &mut CpuState, _bus: &mut Bus, _i: &Instruction) -> R {
    super::ud()
}
