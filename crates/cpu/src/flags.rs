//! Lazy arithmetic flags.
//!
//! Most instructions that set flags have their flags overwritten before
//! anything reads them, so the common ALU operations only record what they did
//! (operation, operand size, operands, result) and the six arithmetic flags
//! are computed when something asks. Rare operations (shifts, multiplies,
//! ADC/SBB, bit tests) compute their flags eagerly with [`LazyFlags::set_arith`].

pub const CF: u64 = 1 << 0;
pub const PF: u64 = 1 << 2;
pub const AF: u64 = 1 << 4;
pub const ZF: u64 = 1 << 6;
pub const SF: u64 = 1 << 7;
pub const TF: u64 = 1 << 8;
pub const IF: u64 = 1 << 9;
pub const DF: u64 = 1 << 10;
pub const OF: u64 = 1 << 11;
/// Nested task: no effect in 64-bit user mode, but POPF can set it.
pub const NT: u64 = 1 << 14;
pub const AC: u64 = 1 << 18;
pub const ID: u64 = 1 << 21;
/// The six status flags that arithmetic produces.
pub const ARITH: u64 = CF | PF | AF | ZF | SF | OF;
/// RFLAGS bits a user-mode POPF may change.
pub const USER_WRITABLE: u64 = ARITH | TF | DF | NT | AC | ID;
/// Bit 1 of RFLAGS reads as one.
pub const FIXED: u64 = 1 << 1;

/// What the pending lazy flags describe.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagOp {
    /// The arithmetic flags are materialised in `bits`.
    None = 0,
    /// `res = a + b`.
    Add = 1,
    /// `res = a - b` (also CMP and NEG with a = 0).
    Sub = 2,
    /// AND/OR/XOR/TEST: CF = OF = AF = 0.
    Logic = 3,
    /// `res = a + 1`; CF is kept in `bits`.
    Inc = 4,
    /// `res = a - 1`; CF is kept in `bits`.
    Dec = 5,
}

/// RFLAGS with the arithmetic part possibly pending. Layout is part of the
/// JIT ABI (see `state.rs`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LazyFlags {
    /// All RFLAGS bits that are not pending. When `op` is `Inc`/`Dec`, the CF
    /// bit here is live; when `op` is `None`, all arithmetic bits are.
    pub bits: u64,
    pub op: FlagOp,
    /// Operand size in bytes: 1, 2, 4 or 8.
    pub size: u32,
    pub a: u64,
    pub b: u64,
    pub res: u64,
}

impl Default for LazyFlags {
    fn default() -> Self {
        LazyFlags { bits: FIXED | IF, op: FlagOp::None, size: 8, a: 0, b: 0, res: 0 }
    }
}

#[inline(always)]
pub fn size_mask(size: u32) -> u64 {
    u64::MAX >> (64 - size * 8)
}

#[inline(always)]
pub fn sign_bit(size: u32) -> u64 {
    1u64 << (size * 8 - 1)
}

#[inline(always)]
pub fn parity(v: u64) -> u64 {
    if (v as u8).count_ones().is_multiple_of(2) {
        PF
    } else {
        0
    }
}

/// ZF, SF and PF of a result of the given size.
#[inline(always)]
pub fn zsp(res: u64, size: u32) -> u64 {
    let r = res & size_mask(size);
    let mut f = parity(r);
    if r == 0 {
        f |= ZF;
    }
    if r & sign_bit(size) != 0 {
        f |= SF;
    }
    f
}

impl LazyFlags {
    #[inline(always)]
    pub fn set_lazy(&mut self, op: FlagOp, size: u32, a: u64, b: u64, res: u64) {
        self.op = op;
        self.size = size;
        self.a = a;
        self.b = b;
        self.res = res;
    }

    /// Record INC/DEC, which keep CF.
    #[inline(always)]
    pub fn set_incdec(&mut self, op: FlagOp, size: u32, a: u64, res: u64) {
        let cf = self.cf();
        self.bits = (self.bits & !CF) | cf as u64;
        self.set_lazy(op, size, a, 1, res);
    }

    /// Set the six arithmetic flags from an eagerly computed value.
    #[inline(always)]
    pub fn set_arith(&mut self, arith: u64) {
        self.bits = (self.bits & !ARITH) | (arith & ARITH);
        self.op = FlagOp::None;
    }

    /// Update only the flags in `which` (for instructions that set some
    /// flags and leave the others alone).
    #[inline]
    pub fn set_some(&mut self, which: u64, value: u64) {
        let cur = self.arith();
        self.set_arith((cur & !which) | (value & which));
    }

    /// The six arithmetic flags.
    #[inline]
    pub fn arith(&self) -> u64 {
        let (size, a, b) = (self.size, self.a, self.b);
        let mask = size_mask(size);
        let res = self.res & mask;
        let sign = sign_bit(size);
        match self.op {
            FlagOp::None => self.bits & ARITH,
            FlagOp::Add => {
                let mut f = zsp(res, size) | ((a ^ b ^ res) & AF);
                if res < (a & mask) {
                    f |= CF;
                }
                if (a ^ res) & (b ^ res) & sign != 0 {
                    f |= OF;
                }
                f
            }
            FlagOp::Sub => {
                let mut f = zsp(res, size) | ((a ^ b ^ res) & AF);
                if (a & mask) < (b & mask) {
                    f |= CF;
                }
                if (a ^ b) & (a ^ res) & sign != 0 {
                    f |= OF;
                }
                f
            }
            FlagOp::Logic => zsp(res, size),
            FlagOp::Inc => {
                let mut f = zsp(res, size) | ((a ^ 1 ^ res) & AF) | (self.bits & CF);
                if res == sign {
                    f |= OF;
                }
                f
            }
            FlagOp::Dec => {
                let mut f = zsp(res, size) | ((a ^ 1 ^ res) & AF) | (self.bits & CF);
                if res == sign - 1 {
                    f |= OF;
                }
                f
            }
        }
    }

    /// Full RFLAGS.
    #[inline]
    pub fn get(&self) -> u64 {
        (self.bits & !ARITH) | self.arith() | FIXED
    }

    /// Replace the user-writable bits of RFLAGS.
    pub fn set(&mut self, value: u64) {
        self.bits = (self.bits & !USER_WRITABLE) | (value & USER_WRITABLE) | FIXED;
        self.op = FlagOp::None;
    }

    #[inline(always)]
    pub fn cf(&self) -> bool {
        match self.op {
            FlagOp::None | FlagOp::Inc | FlagOp::Dec => self.bits & CF != 0,
            FlagOp::Logic => false,
            FlagOp::Add => {
                let mask = size_mask(self.size);
                (self.res & mask) < (self.a & mask)
            }
            FlagOp::Sub => {
                let mask = size_mask(self.size);
                (self.a & mask) < (self.b & mask)
            }
        }
    }

    #[inline(always)]
    pub fn df(&self) -> bool {
        self.bits & DF != 0
    }

    /// Evaluate condition code `cc` (the low nibble of Jcc/SETcc/CMOVcc).
    #[inline]
    pub fn cond(&self, cc: u8) -> bool {
        let mask = size_mask(self.size);
        let shift = 64 - self.size * 8;
        let r = match (self.op, cc >> 1) {
            (FlagOp::Sub, 1) => (self.a & mask) < (self.b & mask),
            (FlagOp::Sub | FlagOp::Logic | FlagOp::Add | FlagOp::Inc | FlagOp::Dec, 2) => self.res & mask == 0,
            (FlagOp::Sub, 3) => (self.a & mask) <= (self.b & mask),
            (FlagOp::Sub | FlagOp::Logic | FlagOp::Add | FlagOp::Inc | FlagOp::Dec, 4) => self.res & sign_bit(self.size) != 0,
            (FlagOp::Sub, 6) => ((self.a << shift) as i64) < ((self.b << shift) as i64),
            (FlagOp::Sub, 7) => ((self.a << shift) as i64) <= ((self.b << shift) as i64),
            (FlagOp::Logic, 1) => false,
            (FlagOp::Logic, 3) => self.res & mask == 0,
            (FlagOp::Logic, 6) => self.res & sign_bit(self.size) != 0,
            (FlagOp::Logic, 7) => self.res & mask == 0 || self.res & sign_bit(self.size) != 0,
            _ => return cond_from_bits(self.get(), cc),
        };
        r ^ (cc & 1 != 0)
    }
}

/// Evaluate a condition code against materialised RFLAGS.
#[inline]
pub fn cond_from_bits(f: u64, cc: u8) -> bool {
    let sf_ne_of = ((f & SF) != 0) != ((f & OF) != 0);
    let r = match cc >> 1 {
        0 => f & OF != 0,
        1 => f & CF != 0,
        2 => f & ZF != 0,
        3 => f & (CF | ZF) != 0,
        4 => f & SF != 0,
        5 => f & PF != 0,
        6 => sf_ne_of,
        _ => sf_ne_of || f & ZF != 0,
    };
    r ^ (cc & 1 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_conditions_agree_with_materialised_flags() {
        let samples = [0u64, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff_ffff, 0x8000_0000, u64::MAX, 1 << 63];
        for &size in &[1u32, 2, 4, 8] {
            for &a in &samples {
                for &b in &samples {
                    for (op, res) in [
                        (FlagOp::Sub, a.wrapping_sub(b)),
                        (FlagOp::Add, a.wrapping_add(b)),
                        (FlagOp::Logic, a & b),
                        (FlagOp::Inc, a.wrapping_add(1)),
                        (FlagOp::Dec, a.wrapping_sub(1)),
                    ] {
                        let mut f = LazyFlags::default();
                        f.set_lazy(op, size, a, b, res);
                        if matches!(op, FlagOp::Inc | FlagOp::Dec) {
                            f.b = 1;
                        }
                        let bits = f.get();
                        for cc in 0..16 {
                            assert_eq!(f.cond(cc), cond_from_bits(bits, cc), "{op:?} size {size} a {a:#x} b {b:#x} cc {cc}");
                        }
                    }
                }
            }
        }
    }
}
