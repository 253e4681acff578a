//! Software floating point for the x87 80-bit extended format.
//!
//! Every operation takes its operands in the register encoding ([`Ext`]),
//! records exception flags and the "rounded up" C1 bit in a [`Ctx`], and
//! returns the value the hardware would produce with the exception masked.
//! The caller (x87.rs) decides whether an unmasked exception suppresses the
//! write-back.
//!
//! Internally a finite non-zero value is unpacked as `sig / 2^127 * 2^exp`
//! with bit 127 of `sig` set; the 64 bits below the extended-precision
//! significand are guard bits, and bit 0 is sticky where it matters.

/// Status-word exception and condition bits.
pub const IE: u16 = 0x0001;
pub const DE: u16 = 0x0002;
pub const ZE: u16 = 0x0004;
pub const OE: u16 = 0x0008;
pub const UE: u16 = 0x0010;
pub const PE: u16 = 0x0020;
pub const SF: u16 = 0x0040;
pub const ES: u16 = 0x0080;
pub const C0: u16 = 0x0100;
pub const C1: u16 = 0x0200;
pub const C2: u16 = 0x0400;
pub const C3: u16 = 0x4000;

const BIAS: i32 = 16383;
const EMIN: i32 = 1 - BIAS;
const EMAX: i32 = BIAS;
/// Exponent of the least significant bit of the smallest extended denormal.
const EXT_LSB_MIN: i32 = EMIN - 63;
/// Bias adjustment applied to the result of an unmasked over/underflow.
const WRAP: i32 = 24576;

/// An 80-bit value as the register file holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Ext {
    /// Sign in bit 15, biased exponent in bits 0..15.
    pub se: u16,
    pub sig: u64,
}

/// The "real indefinite" QNaN produced by masked invalid operations.
pub const INDEFINITE: Ext = Ext { se: 0xffff, sig: 0xc000_0000_0000_0000 };
pub const QUIET: u64 = 1 << 62;
const INT_BIT: u64 = 1 << 63;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Zero,
    /// Denormal or pseudo-denormal (exponent field 0, significand non-zero).
    Denormal,
    Normal,
    Inf,
    QNaN,
    SNaN,
    /// Unnormal, pseudo-NaN, pseudo-infinity: invalid as operands.
    Unsupported,
}

impl Ext {
    pub const ZERO: Ext = Ext { se: 0, sig: 0 };
    pub const ONE: Ext = Ext { se: 0x3fff, sig: INT_BIT };

    pub fn new(sign: bool, exp: u16, sig: u64) -> Ext {
        Ext { se: ((sign as u16) << 15) | (exp & 0x7fff), sig }
    }
    pub fn inf(sign: bool) -> Ext {
        Ext::new(sign, 0x7fff, INT_BIT)
    }
    pub fn zero(sign: bool) -> Ext {
        Ext::new(sign, 0, 0)
    }
    pub fn sign(self) -> bool {
        self.se & 0x8000 != 0
    }
    pub fn exp(self) -> u16 {
        self.se & 0x7fff
    }
    pub fn neg(self) -> Ext {
        Ext { se: self.se ^ 0x8000, sig: self.sig }
    }
    pub fn abs(self) -> Ext {
        Ext { se: self.se & 0x7fff, sig: self.sig }
    }
    pub fn kind(self) -> Kind {
        let e = self.exp();
        let int = self.sig & INT_BIT != 0;
        match e {
            0 if self.sig == 0 => Kind::Zero,
            0 => Kind::Denormal,
            0x7fff if !int => Kind::Unsupported,
            0x7fff if self.sig << 1 == 0 => Kind::Inf,
            0x7fff if self.sig & QUIET != 0 => Kind::QNaN,
            0x7fff => Kind::SNaN,
            _ if !int => Kind::Unsupported,
            _ => Kind::Normal,
        }
    }
    pub fn is_nan(self) -> bool {
        matches!(self.kind(), Kind::QNaN | Kind::SNaN)
    }
    pub fn quiet(self) -> Ext {
        Ext { se: self.se, sig: self.sig | QUIET }
    }
    /// Unpack a finite non-zero value (normal or denormal).
    pub fn unpack(self) -> Unp {
        let mut exp = self.exp() as i32 - BIAS;
        if self.exp() == 0 {
            exp = EMIN;
        }
        let lz = self.sig.leading_zeros();
        Unp { sign: self.sign(), exp: exp - lz as i32, sig: (self.sig as u128) << (64 + lz) }
    }
}

/// A finite non-zero value: `sig / 2^127 * 2^exp`, bit 127 of `sig` set.
#[derive(Clone, Copy, Debug)]
pub struct Unp {
    pub sign: bool,
    pub exp: i32,
    pub sig: u128,
}

impl Unp {
    pub fn normalize(sign: bool, exp: i32, sig: u128) -> Unp {
        let lz = sig.leading_zeros();
        Unp { sign, exp: exp - lz as i32, sig: sig << lz }
    }
}

/// Rounding state: the control word in force and the flags raised so far.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    pub fcw: u16,
    pub flags: u16,
    /// A memory operand was denormal in its own format; DE is raised only
    /// if the operation gets past the NaN checks.
    pub pending_de: bool,
}

impl Ctx {
    pub fn new(fcw: u16) -> Ctx {
        Ctx { fcw, flags: 0, pending_de: false }
    }
    pub fn rc(&self) -> u8 {
        ((self.fcw >> 10) & 3) as u8
    }
    /// Significand bits selected by the precision-control field.
    pub fn pc_bits(&self) -> u32 {
        match (self.fcw >> 8) & 3 {
            0 => 24,
            2 => 53,
            _ => 64,
        }
    }
    fn masked(&self, f: u16) -> bool {
        self.fcw & f != 0
    }
    pub fn invalid(&mut self) -> Ext {
        self.flags |= IE;
        INDEFINITE
    }
}

fn shr_sticky(x: u128, s: u32) -> u128 {
    if s == 0 {
        x
    } else if s >= 128 {
        (x != 0) as u128
    } else {
        (x >> s) | ((x & ((1u128 << s) - 1)) != 0) as u128
    }
}

struct Rounded {
    q: u128,
    lsb_exp: i32,
    inexact: bool,
    up: bool,
}

/// Round `sig/2^127 * 2^exp` to `p` significant bits, but never below the
/// bit of weight `2^lsb_min` (denormals).
fn round_core(sign: bool, exp: i32, sig: u128, p: u32, lsb_min: i32, rc: u8) -> Rounded {
    let lsb_exp = (exp - (p as i32 - 1)).max(lsb_min);
    let shift = (127i64 - exp as i64 + lsb_exp as i64) as u64;
    let (q, round, sticky) = if shift >= 129 {
        (0, false, sig != 0)
    } else if shift == 128 {
        (0, sig >> 127 == 1, sig << 1 != 0)
    } else {
        let s = shift as u32;
        (sig >> s, (sig >> (s - 1)) & 1 == 1, sig & ((1u128 << (s - 1)) - 1) != 0)
    };
    let inexact = round || sticky;
    let inc = match rc {
        0 => round && (sticky || q & 1 == 1),
        1 => inexact && sign,
        2 => inexact && !sign,
        _ => false,
    };
    Rounded { q: q + inc as u128, lsb_exp, inexact, up: inc }
}

fn bitlen(q: u128) -> i32 {
    128 - q.leading_zeros() as i32
}

/// Whether a value is tiny. The x87 detects tininess after rounding (to the
/// destination precision with an unbounded exponent).
fn is_tiny(u: &Unp, p: u32, emin: i32, rc: u8) -> bool {
    if u.exp >= emin {
        return false;
    }
    if u.exp < emin - 1 {
        return true;
    }
    let r = round_core(u.sign, u.exp, u.sig, p, i32::MIN / 2, rc);
    r.lsb_exp + bitlen(r.q) - 1 < emin
}

/// Pack a rounded integer significand into the extended format.
fn pack_ext(sign: bool, q: u128, lsb_exp: i32) -> Ext {
    if q == 0 {
        return Ext::zero(sign);
    }
    let n = bitlen(q);
    let top = lsb_exp + n - 1;
    let biased = top + BIAS;
    if biased >= 1 {
        let sig = if n > 64 { (q >> (n - 64)) as u64 } else { (q << (64 - n)) as u64 };
        Ext::new(sign, biased as u16, sig)
    } else {
        Ext::new(sign, 0, (q << (lsb_exp - EXT_LSB_MIN)) as u64)
    }
}

/// Round an unpacked value to the register format under the control word.
pub fn round_ext(u: Unp, c: &mut Ctx) -> Ext {
    let p = c.pc_bits();
    round_ext_p(u, p, c)
}

/// As [`round_ext`] with an explicit precision (some instructions ignore
/// PC).
pub fn round_ext_p(u: Unp, p: u32, c: &mut Ctx) -> Ext {
    let rc = c.rc();
    let tiny = is_tiny(&u, p, EMIN, rc);
    // The bias adjustment of an unmasked underflow only applies when it
    // brings the result back into range (FSCALE can go further); otherwise
    // the result is zero whatever RC.
    if tiny && !c.masked(UE) && u.exp + WRAP < EMIN {
        c.flags |= UE | PE;
        return Ext::zero(u.sign);
    }
    if tiny && !c.masked(UE) {
        c.flags |= UE;
        let r = round_core(u.sign, u.exp + WRAP, u.sig, p, i32::MIN / 2, rc);
        if r.inexact {
            c.flags |= PE;
        }
        if r.up {
            c.flags |= C1;
        }
        return pack_ext(u.sign, r.q, r.lsb_exp);
    }
    // With reduced precision control the hardware also denormalises to
    // that precision: the last kept bit of a tiny result has weight
    // 2^(EMIN - (p - 1)), not the extended format's 2^(EMIN - 63).
    let r = round_core(u.sign, u.exp, u.sig, p, EMIN - (p as i32 - 1), rc);
    let top = r.lsb_exp + bitlen(r.q) - 1;
    if r.q != 0 && top > EMAX {
        c.flags |= OE;
        if !c.masked(OE) && top - WRAP <= EMAX {
            if r.inexact {
                c.flags |= PE;
            }
            if r.up {
                c.flags |= C1;
            }
            return pack_ext(u.sign, r.q, r.lsb_exp - WRAP);
        }
        c.flags |= PE;
        if !c.masked(OE) {
            // Beyond even the bias-adjusted range: infinity whatever RC.
            c.flags |= C1;
            return Ext::inf(u.sign);
        }
        return overflow_result(u.sign, rc, p, 0x7ffe, c);
    }
    if r.inexact {
        c.flags |= PE;
        if tiny {
            c.flags |= UE;
        }
    }
    if r.up {
        c.flags |= C1;
    }
    pack_ext(u.sign, r.q, r.lsb_exp)
}

/// The masked overflow response: infinity or the largest finite value.
fn overflow_result(sign: bool, rc: u8, p: u32, max_exp: u16, c: &mut Ctx) -> Ext {
    let to_inf = match rc {
        0 => true,
        1 => sign,
        2 => !sign,
        _ => false,
    };
    if to_inf {
        c.flags |= C1;
        Ext::inf(sign)
    } else {
        Ext::new(sign, max_exp, !0u64 << (64 - p))
    }
}

// ---------------------------------------------------------------------------
// Operand screening

/// Handle NaN and unsupported operands of a two-operand arithmetic
/// instruction. Returns the result if the operation is decided here.
pub fn screen2(a: Ext, b: Ext, c: &mut Ctx) -> Option<Ext> {
    let (ka, kb) = (a.kind(), b.kind());
    if ka == Kind::Unsupported || kb == Kind::Unsupported {
        return Some(c.invalid());
    }
    let an = matches!(ka, Kind::QNaN | Kind::SNaN);
    let bn = matches!(kb, Kind::QNaN | Kind::SNaN);
    if an || bn {
        if ka == Kind::SNaN || kb == Kind::SNaN {
            c.flags |= IE;
        }
        return Some(propagate(a, b));
    }
    if ka == Kind::Denormal || kb == Kind::Denormal || c.pending_de {
        c.flags |= DE;
    }
    None
}

/// The NaN result of an operation with at least one NaN operand: between
/// two NaNs of the same kind the larger significand wins; a QNaN beats an
/// SNaN.
fn propagate(a: Ext, b: Ext) -> Ext {
    let (an, bn) = (a.is_nan(), b.is_nan());
    let r = match (an, bn) {
        (true, false) => a,
        (false, true) => b,
        _ => {
            let (qa, qb) = (a.sig & QUIET != 0, b.sig & QUIET != 0);
            if qa != qb {
                if qa {
                    a
                } else {
                    b
                }
            } else {
                let (ma, mb) = (a.sig << 1, b.sig << 1);
                // Equal significands: the positive one.
                if ma > mb || (ma == mb && !a.sign()) {
                    a
                } else {
                    b
                }
            }
        }
    };
    r.quiet()
}

pub fn screen1(a: Ext, c: &mut Ctx) -> Option<Ext> {
    match a.kind() {
        Kind::Unsupported => Some(c.invalid()),
        Kind::SNaN => {
            c.flags |= IE;
            Some(a.quiet())
        }
        Kind::QNaN => Some(a),
        Kind::Denormal => {
            c.flags |= DE;
            None
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Arithmetic

pub fn add(a: Ext, b: Ext, c: &mut Ctx) -> Ext {
    if let Some(r) = screen2(a, b, c) {
        return r;
    }
    add_core(a, b, c)
}

pub fn sub(a: Ext, b: Ext, c: &mut Ctx) -> Ext {
    if let Some(r) = screen2(a, b, c) {
        return r;
    }
    add_core(a, b.neg(), c)
}

fn zero_sum_sign(c: &Ctx) -> bool {
    c.rc() == 1
}

fn add_core(a: Ext, b: Ext, c: &mut Ctx) -> Ext {
    let (ka, kb) = (a.kind(), b.kind());
    match (ka, kb) {
        (Kind::Inf, Kind::Inf) => {
            return if a.sign() == b.sign() { a } else { c.invalid() };
        }
        (Kind::Inf, _) => return a,
        (_, Kind::Inf) => return b,
        (Kind::Zero, Kind::Zero) => {
            return Ext::zero(if a.sign() == b.sign() { a.sign() } else { zero_sum_sign(c) });
        }
        (Kind::Zero, _) => return round_ext(b.unpack(), c),
        (_, Kind::Zero) => return round_ext(a.unpack(), c),
        _ => {}
    }
    match add_unp(a.unpack(), b.unpack()) {
        Some(u) => round_ext(u, c),
        None => Ext::zero(zero_sum_sign(c)),
    }
}

/// Exact-enough sum of two unpacked values (None for an exact zero).
pub fn add_unp(a: Unp, b: Unp) -> Option<Unp> {
    let (x, y) = if (a.exp, a.sig) >= (b.exp, b.sig) { (a, b) } else { (b, a) };
    let d = (x.exp - y.exp) as u32;
    // Two bits of headroom for the carry; the lowest bit collects what is
    // shifted out.
    let xs = shr_sticky(x.sig, 2);
    let ys = shr_sticky(shr_sticky(y.sig, 2), d);
    if x.sign == y.sign {
        Some(Unp::normalize(x.sign, x.exp + 2, xs + ys))
    } else {
        let s = xs - ys;
        if s == 0 {
            None
        } else {
            Some(Unp::normalize(x.sign, x.exp + 2, s))
        }
    }
}

pub fn mul(a: Ext, b: Ext, c: &mut Ctx) -> Ext {
    if let Some(r) = screen2(a, b, c) {
        return r;
    }
    let sign = a.sign() != b.sign();
    let (ka, kb) = (a.kind(), b.kind());
    match (ka, kb) {
        (Kind::Inf, Kind::Zero) | (Kind::Zero, Kind::Inf) => return c.invalid(),
        (Kind::Inf, _) | (_, Kind::Inf) => return Ext::inf(sign),
        (Kind::Zero, _) | (_, Kind::Zero) => return Ext::zero(sign),
        _ => {}
    }
    round_ext(mul_unp(a.unpack(), b.unpack()), c)
}

pub fn mul_unp(a: Unp, b: Unp) -> Unp {
    let (p, sticky) = mul128(a.sig, b.sig);
    Unp::normalize(a.sign != b.sign, a.exp + b.exp + 1, p | sticky as u128)
}

/// High 128 bits of a 128x128 product, and whether the low half is non-zero.
fn mul128(a: u128, b: u128) -> (u128, bool) {
    let (a1, a0) = (a >> 64, a & u64::MAX as u128);
    let (b1, b0) = (b >> 64, b & u64::MAX as u128);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 64) + (p01 & u64::MAX as u128) + (p10 & u64::MAX as u128);
    let lo = (p00 & u64::MAX as u128) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo != 0)
}

pub fn div(a: Ext, b: Ext, c: &mut Ctx) -> Ext {
    if let Some(r) = screen2(a, b, c) {
        return r;
    }
    let sign = a.sign() != b.sign();
    let (ka, kb) = (a.kind(), b.kind());
    match (ka, kb) {
        (Kind::Inf, Kind::Inf) | (Kind::Zero, Kind::Zero) => return c.invalid(),
        (Kind::Inf, _) => return Ext::inf(sign),
        (_, Kind::Inf) => return Ext::zero(sign),
        (Kind::Zero, _) => return Ext::zero(sign),
        (_, Kind::Zero) => {
            // Division by zero takes precedence over a denormal dividend.
            c.flags = (c.flags & !DE) | ZE;
            return Ext::inf(sign);
        }
        _ => {}
    }
    round_ext(div_unp(a.unpack(), b.unpack()), c)
}

/// Quotient to 127+ bits with a sticky bit.
pub fn div_unp(a: Unp, b: Unp) -> Unp {
    let sign = a.sign != b.sign;
    if a.sig as u64 == 0 && b.sig as u64 == 0 {
        // 64-bit significands (every register operand): two native
        // 128/64 divisions give the same 128 quotient bits as the loop.
        let b64 = (b.sig >> 64) as u64 as u128;
        let num = (a.sig >> 64) << 63;
        let (q1, r1) = (num / b64, num % b64);
        let (q2, r2) = ((r1 << 64) / b64, (r1 << 64) % b64);
        return Unp::normalize(sign, a.exp - b.exp, (q1 << 64) | q2 | (r2 != 0) as u128);
    }
    // Bitwise long division of the full 128-bit significands.
    let num = a.sig >> 1; // < b.sig, so every quotient digit fits
    let (q, rem) = div_steps(num, b.sig);
    Unp::normalize(sign, a.exp - b.exp, q | (rem != 0) as u128)
}

/// (num << 128) / den for num < den, den with bit 127 set: 128 quotient bits.
fn div_steps(num: u128, den: u128) -> (u128, u128) {
    let mut q: u128 = 0;
    let mut r = num;
    for _ in 0..128 {
        let carry = r >> 127;
        r <<= 1;
        q <<= 1;
        if carry != 0 || r >= den {
            r = r.wrapping_sub(den);
            q |= 1;
        }
    }
    (q, r)
}

pub fn sqrt(a: Ext, c: &mut Ctx) -> Ext {
    if let Some(r) = screen1(a, c) {
        return r;
    }
    match a.kind() {
        Kind::Zero => return a,
        Kind::Inf if !a.sign() => return a,
        _ if a.sign() => {
            c.flags &= !DE;
            return c.invalid();
        }
        _ => {}
    }
    round_ext(sqrt_unp(a.unpack()), c)
}

pub fn sqrt_unp(a: Unp) -> Unp {
    // sqrt(m) with m = sig/2^127 (or twice that for odd exponents).
    let odd = a.exp & 1 != 0;
    let e = a.exp.div_euclid(2);
    // Digit-by-digit square root on the 256-bit radicand m * 2^127 or
    // m * 2^128 (so the root is a 128-bit number with its top bit set).
    let (hi, lo) = if odd { (a.sig, 0u128) } else { (a.sig >> 1, a.sig << 127) };
    let mut rem: u128 = 0;
    let mut rem_hi = false; // bit 128 of the remainder
    let mut root: u128 = 0;
    // A 64-bit significand's radicand ends after 33 digit pairs, so 68 root
    // digits plus the sticky remainder decide any rounding to 64 bits.
    let digits = if a.sig as u64 == 0 { 68 } else { 128 };
    for k in 0..digits {
        let pair = if k < 64 { (hi >> (126 - 2 * k)) & 3 } else { (lo >> (126 - 2 * (k - 64))) & 3 };
        // rem = rem*4 + pair (tracked in 130 bits: rem < 2*root+1).
        let top2 = (rem >> 126) as u8 | ((rem_hi as u8) << 2);
        rem = (rem << 2) | pair;
        let trial_hi = root >> 126; // bits of (root<<2|1) above 127
        let trial = (root << 2) | 1;
        root <<= 1;
        // Compare (top2:rem) >= (trial_hi:trial)
        let ge = (top2 as u128, rem) >= (trial_hi, trial);
        if ge {
            let (r, borrow) = rem.overflowing_sub(trial);
            let new_top = top2 as u128 - trial_hi - borrow as u128;
            rem = r;
            rem_hi = new_top != 0;
            root |= 1;
        } else {
            rem_hi = top2 != 0;
        }
    }
    let sticky = rem != 0 || rem_hi;
    Unp::normalize(a.sign, e, (root << (128 - digits)) | sticky as u128)
}

// ---------------------------------------------------------------------------
// Comparison

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Less,
    Equal,
    Greater,
    Unordered,
}

/// Compare; `signal_qnan` selects FCOM (any NaN is invalid) over FUCOM
/// (only SNaNs are).
pub fn compare(a: Ext, b: Ext, signal_qnan: bool, c: &mut Ctx) -> Cmp {
    let (ka, kb) = (a.kind(), b.kind());
    if ka == Kind::Unsupported || kb == Kind::Unsupported {
        c.flags |= IE;
        return Cmp::Unordered;
    }
    if a.is_nan() || b.is_nan() {
        if signal_qnan || ka == Kind::SNaN || kb == Kind::SNaN {
            c.flags |= IE;
        }
        return Cmp::Unordered;
    }
    if ka == Kind::Denormal || kb == Kind::Denormal || c.pending_de {
        c.flags |= DE;
    }
    let key = |x: Ext| -> (bool, i128) {
        if x.kind() == Kind::Zero {
            return (false, 0);
        }
        let mag = match x.kind() {
            Kind::Inf => i128::MAX,
            _ => {
                let u = x.unpack();
                ((u.exp as i128 + 20000) << 64) | (u.sig >> 64) as i128
            }
        };
        (x.sign(), if x.sign() { -mag } else { mag })
    };
    let (ka, kb) = (key(a).1, key(b).1);
    match ka.cmp(&kb) {
        core::cmp::Ordering::Less => Cmp::Less,
        core::cmp::Ordering::Equal => Cmp::Equal,
        core::cmp::Ordering::Greater => Cmp::Greater,
    }
}

// ---------------------------------------------------------------------------
// Integers

pub fn from_i64(v: i64) -> Ext {
    if v == 0 {
        return Ext::ZERO;
    }
    let m = v.unsigned_abs();
    let lz = m.leading_zeros();
    Ext::new(v < 0, (BIAS + 63 - lz as i32) as u16, m << lz)
}

/// Round to an integer-valued Ext (FRNDINT), per RC, ignoring PC.
pub fn round_to_int(a: Ext, c: &mut Ctx) -> Ext {
    if let Some(r) = screen1(a, c) {
        return r;
    }
    match a.kind() {
        Kind::Zero | Kind::Inf => return a,
        _ => {}
    }
    let u = a.unpack();
    if u.exp >= 63 {
        return a;
    }
    let r = round_core(u.sign, u.exp, u.sig, 64, 0, c.rc());
    if r.inexact {
        c.flags |= PE;
    }
    if r.up {
        c.flags |= C1;
    }
    pack_ext(u.sign, r.q, 0)
}

/// Convert to a signed integer of `bits` bits (FIST). `None` on overflow
/// or invalid operand (the caller stores the integer indefinite).
pub fn to_int(a: Ext, bits: u32, truncate: bool, c: &mut Ctx) -> Option<i64> {
    match a.kind() {
        Kind::Zero => return Some(0),
        Kind::Normal | Kind::Denormal => {}
        _ => {
            c.flags |= IE;
            return None;
        }
    }
    let u = a.unpack();
    let rc = if truncate { 3 } else { c.rc() };
    if u.exp >= 64 {
        c.flags |= IE;
        return None;
    }
    let r = round_core(u.sign, u.exp, u.sig, 64, 0, rc);
    // r.q * 2^lsb_exp with lsb_exp >= 0 and value < 2^65.
    let mag = r.q << r.lsb_exp.max(0);
    let limit: u128 = 1u128 << (bits - 1);
    if (!u.sign && mag >= limit) || (u.sign && mag > limit) {
        c.flags |= IE;
        return None;
    }
    if r.inexact {
        c.flags |= PE;
    }
    if r.up {
        c.flags |= C1;
    }
    Some(if u.sign { (mag as i128).wrapping_neg() as i64 } else { mag as i64 })
}

// ---------------------------------------------------------------------------
// Memory formats

/// Load an IEEE value with `ebits` exponent bits and `mbits` fraction bits
/// (FLD m32/m64): exact, SNaN quieted with IE, denormals raise DE.
pub fn from_ieee(bits: u64, ebits: u32, mbits: u32, keep_snan: bool, c: &mut Ctx) -> Ext {
    let sign = (bits >> (ebits + mbits)) & 1 != 0;
    let e = ((bits >> mbits) & ((1 << ebits) - 1)) as i32;
    let m = bits & ((1u64 << mbits) - 1);
    let emax = (1 << ebits) - 1;
    let bias = (1 << (ebits - 1)) - 1;
    if e == emax {
        if m == 0 {
            return Ext::inf(sign);
        }
        let mut sig = INT_BIT | (m << (63 - mbits));
        if sig & QUIET == 0 && !keep_snan {
            c.flags |= IE;
            sig |= QUIET;
        }
        return Ext::new(sign, 0x7fff, sig);
    }
    if e == 0 {
        if m == 0 {
            return Ext::zero(sign);
        }
        if keep_snan {
            c.pending_de = true;
        } else {
            c.flags |= DE;
        }
        let lz = m.leading_zeros() as i32; // m < 2^mbits
        let top = (1 - bias) - (mbits as i32) + (63 - lz);
        return Ext::new(sign, (top + BIAS) as u16, m << lz);
    }
    Ext::new(sign, (e - bias + BIAS) as u16, INT_BIT | (m << (63 - mbits)))
}

/// Store to an IEEE format (FST m32/m64). Returns `None` when an unmasked
/// exception suppresses the store.
pub fn to_ieee(a: Ext, ebits: u32, mbits: u32, c: &mut Ctx) -> Option<u64> {
    let sign_bit = (a.sign() as u64) << (ebits + mbits);
    let emax_field = (1u64 << ebits) - 1;
    let bias = (1i32 << (ebits - 1)) - 1;
    let p = mbits + 1;
    match a.kind() {
        Kind::Zero => return Some(sign_bit),
        Kind::Inf => return Some(sign_bit | (emax_field << mbits)),
        Kind::QNaN | Kind::SNaN => {
            if a.kind() == Kind::SNaN {
                c.flags |= IE;
                if !c.masked(IE) {
                    return None;
                }
            }
            let frac = ((a.sig | QUIET) << 1) >> (64 - mbits);
            return Some(sign_bit | (emax_field << mbits) | frac);
        }
        Kind::Unsupported => {
            c.flags |= IE;
            if !c.masked(IE) {
                return None;
            }
            let frac = ((INDEFINITE.sig) << 1) >> (64 - mbits);
            return Some((1 << (ebits + mbits)) | (emax_field << mbits) | frac);
        }
        Kind::Denormal | Kind::Normal => {}
    }
    let u = a.unpack();
    let rc = c.rc();
    let emin = 1 - bias;
    let tiny = is_tiny(&u, p, emin, rc);
    if tiny && !c.masked(UE) {
        c.flags |= UE;
        return None;
    }
    let r = round_core(u.sign, u.exp, u.sig, p, emin - (p as i32 - 1), rc);
    let n = bitlen(r.q);
    let top = r.lsb_exp + n - 1;
    if r.q != 0 && top > bias {
        c.flags |= OE;
        if !c.masked(OE) {
            return None;
        }
        c.flags |= PE;
        let to_inf = match rc {
            0 => true,
            1 => u.sign,
            2 => !u.sign,
            _ => false,
        };
        if to_inf {
            c.flags |= C1;
            return Some(sign_bit | (emax_field << mbits));
        }
        return Some(sign_bit | ((emax_field - 1) << mbits) | ((1u64 << mbits) - 1));
    }
    if r.inexact {
        c.flags |= PE;
        if tiny {
            c.flags |= UE;
        }
    }
    if r.up {
        c.flags |= C1;
    }
    if r.q == 0 {
        return Some(sign_bit);
    }
    let biased = top + bias;
    let body = if biased >= 1 {
        let m = if n > p as i32 { r.q >> (n - p as i32) } else { r.q << (p as i32 - n) };
        ((biased as u64) << mbits) | (m as u64 & ((1u64 << mbits) - 1))
    } else {
        (r.q << (r.lsb_exp - (emin - (p as i32 - 1)))) as u64
    };
    Some(sign_bit | body)
}

// ---------------------------------------------------------------------------
// Scaling and decomposition

/// FSCALE: ST0 * 2^trunc(ST1).
pub fn scale(a: Ext, b: Ext, c: &mut Ctx) -> Ext {
    if let Some(r) = screen2(a, b, c) {
        return r;
    }
    let (ka, kb) = (a.kind(), b.kind());
    match (ka, kb) {
        (Kind::Zero, Kind::Inf) if !b.sign() => return c.invalid(),
        (Kind::Inf, Kind::Inf) if b.sign() => return c.invalid(),
        (Kind::Zero, _) | (Kind::Inf, _) => return a,
        (_, Kind::Inf) => return if b.sign() { Ext::zero(a.sign()) } else { Ext::inf(a.sign()) },
        (_, Kind::Zero) => return round_ext_p(a.unpack(), 64, c),
        _ => {}
    }
    let ub = b.unpack();
    let n: i64 = if ub.exp < 0 {
        0
    } else if ub.exp >= 20 {
        if ub.sign {
            -100_000
        } else {
            100_000
        }
    } else {
        let m = (ub.sig >> (127 - ub.exp)) as i64;
        if ub.sign {
            -m
        } else {
            m
        }
    };
    let mut u = a.unpack();
    u.exp += n as i32;
    round_ext_p(u, 64, c)
}

/// FXTRACT: (exponent, significand).
pub fn xtract(a: Ext, c: &mut Ctx) -> (Ext, Ext) {
    if let Some(r) = screen1(a, c) {
        return (r, r);
    }
    match a.kind() {
        Kind::Zero => {
            c.flags |= ZE;
            (Ext::inf(true), a)
        }
        Kind::Inf => (Ext::inf(false), a),
        _ => {
            let u = a.unpack();
            let sig = Ext::new(u.sign, BIAS as u16, (u.sig >> 64) as u64);
            (from_i64(u.exp as i64), sig)
        }
    }
}

/// FPREM (`ieee` false: truncated quotient) and FPREM1 (quotient rounded
/// to nearest). Returns the new ST0 and the C0/C1/C2/C3 bits.
pub fn prem(a: Ext, b: Ext, ieee: bool, c: &mut Ctx) -> (Ext, Option<u16>) {
    if let Some(r) = screen2(a, b, c) {
        return (r, None);
    }
    let (ka, kb) = (a.kind(), b.kind());
    match (ka, kb) {
        (Kind::Inf, _) | (_, Kind::Zero) => {
            c.flags &= !DE;
            return (c.invalid(), None);
        }
        (Kind::Zero, _) => return (a, Some(0)),
        (_, Kind::Inf) => {
            let ua = a.unpack();
            return (exact(a.sign(), ua.sig >> 64, ua.exp - 63, c), Some(0));
        }
        _ => {}
    }
    let ua = a.unpack();
    let ub = b.unpack();
    let d = ua.exp - ub.exp;
    let asig = (ua.sig >> 64) as u64;
    let bsig = (ub.sig >> 64) as u64;
    if d >= 64 {
        // Partial remainder: reduce the exponent difference by N - 32..63
        // bits per step, with a truncated quotient, and set C2.
        let n = (d & 31) | 32;
        let shift = d - n;
        let (_, r) = int_rem(asig, bsig, n);
        if r == 0 {
            return (Ext::zero(a.sign()), Some(C2));
        }
        return (exact(a.sign(), r as u128, ub.exp - 63 + shift, c), Some(C2));
    }
    // Remainder in units of half of b's last place (so d == -1 is exact).
    let (q, r, neg): (u64, u128, bool) = if d < 0 {
        if d == -1 && ieee && asig > bsig {
            // |a| in (|b|/2, |b|): quotient 1, remainder |b| - |a|.
            (1, 2 * bsig as u128 - asig as u128, true)
        } else {
            // |a| <= |b|/2 (or FPREM): quotient 0, remainder a
            // (re-encoded: a pseudo-denormal comes back normalised).
            return (exact(a.sign(), ua.sig >> 64, ua.exp - 63, c), Some(0));
        }
    } else {
        let (mut q, r) = int_rem(asig, bsig, d);
        let mut r = r as u128;
        let mut neg = false;
        if ieee {
            let twice = r * 2;
            if twice > bsig as u128 || (twice == bsig as u128 && q & 1 == 1) {
                q = q.wrapping_add(1);
                r = bsig as u128 - r;
                neg = true;
            }
        }
        (q, r * 2, neg)
    };
    let bits = if q & 1 != 0 { C1 } else { 0 } | if q & 2 != 0 { C3 } else { 0 } | if q & 4 != 0 { C0 } else { 0 };
    if r == 0 {
        return (Ext::zero(a.sign()), Some(bits));
    }
    (exact(a.sign() ^ neg, r, ub.exp - 64, c), Some(bits))
}

/// (a * 2^n) mod b and the low 64 bits of the quotient.
fn int_rem(a: u64, b: u64, n: i32) -> (u64, u64) {
    let b = b as u128;
    let mut r = a as u128 % b;
    let mut q = (a as u128 / b) as u64;
    for _ in 0..n {
        r <<= 1;
        q <<= 1;
        if r >= b {
            r -= b;
            q |= 1;
        }
    }
    (q, r as u64)
}

/// Deliver `q * 2^lsb_exp` (non-zero), known to be exactly representable
/// (it may be denormal, which signals an unmasked underflow).
fn exact(sign: bool, q: u128, lsb_exp: i32, c: &mut Ctx) -> Ext {
    let n = bitlen(q);
    round_ext_p(Unp { sign, exp: lsb_exp + n - 1, sig: q << (128 - n) }, 64, c)
}
