//! Transcendental instructions and the FLDxx constants.

use iced_x86::Instruction;

use super::sf::Ext;
use super::R;
use crate::state::CpuState;

/// A constant as a 128-bit significand (bit 127 = integer bit) and its
/// biased exponent.
pub type Const = (u128, u16);

pub const PI: Const = (0xC90FDAA2_2168C234_C4C6628B_80DC1CD1, 0x4000);
pub const L2E: Const = (0xB8AA3B29_5C17F0BB_BE87FED0_691D3E88, 0x3fff);
pub const L2T: Const = (0xD49A784B_CD1B8AFE_492BF6FF_4DAFDB4C, 0x4000);
pub const LG2: Const = (0x9A209A84_FBCFF798_8F8959AC_0B7C9178, 0x3ffd);
pub const LN2: Const = (0xB17217F7_D1CF79AB_C9E3B398_03F2F6AF, 0x3ffe);

/// FLDPI and friends: the hardware rounds its internal constant per RC
/// (PC does not apply).
pub fn constant(k: Const, rc: u8) -> Ext {
    let (sig, exp) = k;
    let hi = (sig >> 64) as u64;
    let lo = sig as u64;
    let up = match rc {
        0 => lo > 1 << 63 || (lo == 1 << 63 && hi & 1 == 1),
        2 => lo != 0,
        _ => false,
    };
    // None of the constants has an all-ones significand, so no carry out.
    Ext { se: exp, sig: hi + up as u64 }
}

pub(super) fn exec(_cpu: &mut CpuState, _i: &Instruction) -> R {
    crate::interp::ud()
}
