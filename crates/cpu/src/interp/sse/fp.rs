//! Soft-float for SSE: IEEE binary32/binary64 arithmetic with MXCSR
//! semantics (rounding control, DAZ, FTZ, the six exception flags and x86's
//! NaN rules).
//!
//! Every operation works on raw bit patterns and integer significands, so
//! it rounds exactly in all four modes without touching the host's rounding
//! mode (WebAssembly has only round-to-nearest). The exact result is formed
//! as an integer significand times a power of two, plus a "sticky" bit that
//! says whether something non-zero was dropped below it, and then rounded
//! once by [`round_pack`]. Host float operations are used only by the fast
//! paths ([`fast_add64`] and friends), which cover round-to-nearest and prove
//! their exception flags from exact error terms; anything they cannot prove
//! goes to the integer path.

use core::cmp::Ordering;

/// MXCSR exception flags (bits 0..5); the masks are the same bits << 7.
pub const IE: u32 = 1;
pub const DE: u32 = 2;
pub const ZE: u32 = 4;
pub const OE: u32 = 8;
pub const UE: u32 = 16;
pub const PE: u32 = 32;
pub const DAZ: u32 = 1 << 6;
pub const FTZ: u32 = 1 << 15;
/// The exceptions detected before computing the result (SDM 11.5.2).
pub const PRE: u32 = IE | DE | ZE;

/// A binary interchange format: fraction bits and exponent bits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Fmt {
    frac: u32,
    exp: u32,
}

pub const F32: Fmt = Fmt { frac: 23, exp: 8 };
pub const F64: Fmt = Fmt { frac: 52, exp: 11 };

impl Fmt {
    const fn sign(self) -> u64 {
        1 << (self.frac + self.exp)
    }
    const fn exp_all(self) -> u64 {
        (1 << self.exp) - 1
    }
    const fn bias(self) -> i32 {
        (1 << (self.exp - 1)) - 1
    }
    const fn frac_mask(self) -> u64 {
        (1 << self.frac) - 1
    }
    pub const fn quiet_bit(self) -> u64 {
        1 << (self.frac - 1)
    }
    /// Exponent of the smallest normal number.
    const fn emin(self) -> i32 {
        1 - self.bias()
    }
    /// The "real indefinite" QNaN returned by masked invalid operations.
    pub const fn indefinite(self) -> u64 {
        self.sign() | (self.exp_all() << self.frac) | self.quiet_bit()
    }
    fn sgn(self, s: bool) -> u64 {
        if s {
            self.sign()
        } else {
            0
        }
    }
    fn inf(self, s: bool) -> u64 {
        self.sgn(s) | (self.exp_all() << self.frac)
    }
    fn zero(self, s: bool) -> u64 {
        self.sgn(s)
    }
    fn max_finite(self, s: bool) -> u64 {
        self.inf(s) - 1
    }
}

/// The parts of MXCSR that change how results are computed.
#[derive(Clone, Copy, Debug)]
pub struct Mode {
    /// Rounding control: 0 nearest-even, 1 down, 2 up, 3 toward zero.
    pub rc: u32,
    pub daz: bool,
    pub ftz: bool,
    /// Underflow masked: decides between the masked (tiny and inexact)
    /// and unmasked (tiny) definitions of underflow, and enables FTZ.
    pub um: bool,
    /// Overflow masked: an unmasked overflow reports PE only when rounding
    /// with an unbounded exponent was inexact.
    pub om: bool,
}

impl Mode {
    pub fn new(mxcsr: u32) -> Mode {
        Mode { rc: (mxcsr >> 13) & 3, daz: mxcsr & DAZ != 0, ftz: mxcsr & FTZ != 0, um: mxcsr & (UE << 7) != 0, om: mxcsr & (OE << 7) != 0 }
    }
    /// The same mode with round-toward-zero (the truncating conversions).
    fn trunc(self) -> Mode {
        Mode { rc: 3, ..self }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cls {
    Zero,
    Fin,
    Inf,
    QNaN,
    SNaN,
}

/// An unpacked operand: for `Fin`, the value is `m * 2^e` with `m`
/// normalized so its top bit is bit `frac` (denormals included).
#[derive(Clone, Copy, Debug)]
struct Val {
    cls: Cls,
    sign: bool,
    e: i32,
    m: u64,
    /// A denormal operand that DAZ did not zero: raises DE.
    denorm: bool,
}

impl Val {
    fn nan(&self) -> bool {
        matches!(self.cls, Cls::QNaN | Cls::SNaN)
    }
}

fn unpack(f: Fmt, x: u64, daz: bool) -> Val {
    let sign = x & f.sign() != 0;
    let be = (x >> f.frac) & f.exp_all();
    let fr = x & f.frac_mask();
    let mut v = Val { cls: Cls::Fin, sign, e: 0, m: 0, denorm: false };
    if be == f.exp_all() {
        v.cls = if fr == 0 {
            Cls::Inf
        } else if fr & f.quiet_bit() != 0 {
            Cls::QNaN
        } else {
            Cls::SNaN
        };
    } else if be == 0 {
        if fr == 0 || daz {
            v.cls = Cls::Zero;
        } else {
            let sh = fr.leading_zeros() - (63 - f.frac);
            v.m = fr << sh;
            v.e = f.emin() - f.frac as i32 - sh as i32;
            v.denorm = true;
        }
    } else {
        v.m = fr | (1 << f.frac);
        v.e = be as i32 - f.bias() - f.frac as i32;
    }
    v
}

/// The NaN result of a two-operand operation when either operand is a
/// NaN: the first operand's NaN wins, quieted; IE for any SNaN.
fn nan2(f: Fmt, a: u64, va: &Val, b: u64, vb: &Val) -> Option<(u64, u32)> {
    if !va.nan() && !vb.nan() {
        return None;
    }
    let fl = if va.cls == Cls::SNaN || vb.cls == Cls::SNaN { IE } else { 0 };
    let r = if va.nan() { a } else { b };
    Some((r | f.quiet_bit(), fl))
}

/// Rounds `sig` (plus a sticky fraction below it) right by `shift` bits.
/// Returns the rounded integer and whether anything non-zero was dropped.
fn round_bits(sig: u128, shift: u32, sticky: bool, sign: bool, rc: u32) -> (u128, bool) {
    let (q, cmp, nz) = if shift == 0 {
        (sig, Ordering::Less, sticky)
    } else if shift >= 128 {
        let cmp = if shift == 128 {
            sig.cmp(&(1u128 << 127)).then(if sticky { Ordering::Greater } else { Ordering::Equal })
        } else {
            Ordering::Less
        };
        (0, cmp, sig != 0 || sticky)
    } else {
        let rem = sig & ((1u128 << shift) - 1);
        let cmp = rem.cmp(&(1u128 << (shift - 1))).then(if sticky { Ordering::Greater } else { Ordering::Equal });
        (sig >> shift, cmp, rem != 0 || sticky)
    };
    let up = match rc {
        0 => cmp == Ordering::Greater || (cmp == Ordering::Equal && q & 1 == 1),
        1 => nz && sign,
        2 => nz && !sign,
        _ => false,
    };
    (q + up as u128, nz)
}

/// Rounds the exact value `(-1)^sign * (sig + s) * 2^e`, where `s` is in
/// (0, 1) when `sticky` and 0 otherwise, to format `f` under `mode`.
/// `sig` must be non-zero. Tininess is detected after rounding, as x86
/// does: the result is tiny when rounding to the format's precision with
/// an unbounded exponent gives a magnitude below the smallest normal.
fn round_pack(f: Fmt, mode: Mode, sign: bool, mut e: i32, mut sig: u128, sticky: bool) -> (u64, u32) {
    debug_assert!(sig != 0);
    let p = f.frac + 1;
    // At least two bits below the rounding position keep the sticky
    // fraction strictly below the round bit.
    let n = 128 - sig.leading_zeros();
    if n < p + 2 {
        let s = p + 2 - n;
        sig <<= s;
        e -= s as i32;
    }
    let n = 128 - sig.leading_zeros();
    let top = e + n as i32 - 1;
    let (mut m1, inx1) = round_bits(sig, n - p, sticky, sign, mode.rc);
    let mut top1 = top;
    if m1 >> p != 0 {
        m1 >>= 1;
        top1 += 1;
    }
    if top >= f.emin() {
        if top1 > f.bias() {
            if !mode.om {
                // The handler would get the exponent-adjusted result: PE
                // follows its rounding (SDM vol. 1, 11.5.2.4 and 11.5.2.6).
                return (f.inf(sign), OE | if inx1 { PE } else { 0 });
            }
            let r = match mode.rc {
                0 => f.inf(sign),
                1 if sign => f.inf(sign),
                2 if !sign => f.inf(sign),
                _ => f.max_finite(sign),
            };
            return (r, OE | PE);
        }
        let bits = f.sgn(sign) | (((top1 + f.bias()) as u64) << f.frac) | (m1 as u64 & f.frac_mask());
        return (bits, if inx1 { PE } else { 0 });
    }
    let tiny = top1 < f.emin();
    // Denormal range: the last kept bit has weight 2^(emin - frac).
    let shift = (f.emin() - f.frac as i32 - e) as u32;
    let (md, inx) = round_bits(sig, shift, sticky, sign, mode.rc);
    if tiny && !mode.um {
        // Unmasked underflow is tininess alone; as for overflow, PE
        // follows the rounding with an unbounded exponent.
        return (f.sgn(sign) | md as u64, UE | if inx1 { PE } else { 0 });
    }
    if tiny && mode.ftz {
        return (f.zero(sign), UE | PE);
    }
    // A carry out of the denormal significand lands in the exponent
    // field, giving the smallest normal, as it should.
    let fl = if inx { PE | if tiny { UE } else { 0 } } else { 0 };
    (f.sgn(sign) | md as u64, fl)
}

/// Sum or difference (`neg` flips the sign of `b`).
pub fn add(f: Fmt, mode: Mode, a: u64, b: u64, neg: bool) -> (u64, u32) {
    let va = unpack(f, a, mode.daz);
    let mut vb = unpack(f, b, mode.daz);
    if let Some(r) = nan2(f, a, &va, b, &vb) {
        return r;
    }
    vb.sign ^= neg;
    let de = if va.denorm || vb.denorm { DE } else { 0 };
    match (va.cls, vb.cls) {
        (Cls::Inf, Cls::Inf) if va.sign != vb.sign => return (f.indefinite(), IE),
        (Cls::Inf, _) => return (f.inf(va.sign), de),
        (_, Cls::Inf) => return (f.inf(vb.sign), de),
        (Cls::Zero, Cls::Zero) => {
            let s = if mode.rc == 1 { va.sign || vb.sign } else { va.sign && vb.sign };
            return (f.zero(s), 0);
        }
        _ => {}
    }
    let (r, fl) = add_fin(f, mode, &va, &vb);
    (r, fl | de)
}

fn add_fin(f: Fmt, mode: Mode, va: &Val, vb: &Val) -> (u64, u32) {
    let (x, y) = match (va.cls, vb.cls) {
        // x + 0 is x, but still goes through rounding so that FTZ can
        // flush a denormal x.
        (Cls::Zero, _) => return round_pack(f, mode, vb.sign, vb.e, vb.m as u128, false),
        (_, Cls::Zero) => return round_pack(f, mode, va.sign, va.e, va.m as u128, false),
        _ if va.e >= vb.e => (va, vb),
        _ => (vb, va),
    };
    let d = (x.e - y.e) as u32;
    let (e, sig, sticky, sign);
    if d <= 74 {
        // Exact: 53 + 74 bits plus a carry fit in 128.
        let xs = (x.m as u128) << d;
        let ys = y.m as u128;
        if x.sign == y.sign {
            sig = xs + ys;
            sign = x.sign;
        } else if xs >= ys {
            sig = xs - ys;
            sign = x.sign;
        } else {
            sig = ys - xs;
            sign = y.sign;
        }
        e = y.e;
        sticky = false;
    } else {
        // |y| < 2^(x.e - 21): below one unit of x.m << 20, so it only
        // decides the sticky fraction (and borrows one unit when
        // subtracting).
        let xs = (x.m as u128) << 20;
        sig = if x.sign == y.sign { xs } else { xs - 1 };
        sign = x.sign;
        e = x.e - 20;
        sticky = true;
    }
    if sig == 0 {
        // Exact cancellation: +0, or -0 when rounding down.
        return (f.zero(mode.rc == 1), 0);
    }
    round_pack(f, mode, sign, e, sig, sticky)
}

pub fn mul(f: Fmt, mode: Mode, a: u64, b: u64) -> (u64, u32) {
    let va = unpack(f, a, mode.daz);
    let vb = unpack(f, b, mode.daz);
    if let Some(r) = nan2(f, a, &va, b, &vb) {
        return r;
    }
    let s = va.sign != vb.sign;
    let de = if va.denorm || vb.denorm { DE } else { 0 };
    match (va.cls, vb.cls) {
        (Cls::Inf, Cls::Zero) | (Cls::Zero, Cls::Inf) => (f.indefinite(), IE),
        (Cls::Inf, _) | (_, Cls::Inf) => (f.inf(s), de),
        (Cls::Zero, _) | (_, Cls::Zero) => (f.zero(s), de),
        _ => {
            let (r, fl) = round_pack(f, mode, s, va.e + vb.e, va.m as u128 * vb.m as u128, false);
            (r, fl | de)
        }
    }
}

pub fn div(f: Fmt, mode: Mode, a: u64, b: u64) -> (u64, u32) {
    let va = unpack(f, a, mode.daz);
    let vb = unpack(f, b, mode.daz);
    if let Some(r) = nan2(f, a, &va, b, &vb) {
        return r;
    }
    let s = va.sign != vb.sign;
    let de = if va.denorm || vb.denorm { DE } else { 0 };
    match (va.cls, vb.cls) {
        (Cls::Inf, Cls::Inf) | (Cls::Zero, Cls::Zero) => (f.indefinite(), IE),
        (Cls::Inf, _) => (f.inf(s), de),
        (_, Cls::Inf) => (f.zero(s), de),
        (Cls::Zero, _) => (f.zero(s), de),
        // Divide-by-zero takes precedence over a denormal dividend.
        (_, Cls::Zero) => (f.inf(s), ZE),
        _ => {
            // Both significands have their top bit at `frac`, so the
            // quotient has at least 64 bits: plenty below the round bit.
            let num = (va.m as u128) << 64;
            let q = num / vb.m as u128;
            let rem = num % vb.m as u128;
            let (r, fl) = round_pack(f, mode, s, va.e - vb.e - 64, q, rem != 0);
            (r, fl | de)
        }
    }
}

pub fn sqrt(f: Fmt, mode: Mode, a: u64) -> (u64, u32) {
    let va = unpack(f, a, mode.daz);
    let de = if va.denorm { DE } else { 0 };
    match va.cls {
        Cls::QNaN => (a, 0),
        Cls::SNaN => (a | f.quiet_bit(), IE),
        Cls::Zero => (f.zero(va.sign), 0),
        _ if va.sign => (f.indefinite(), IE),
        Cls::Inf => (a, 0),
        Cls::Fin => {
            let (mut m, mut e) = (va.m as u128, va.e);
            if e & 1 != 0 {
                m <<= 1;
                e -= 1;
            }
            // 53 + 72 bits: the root has >= 62 bits.
            let x = m << 72;
            let r = x.isqrt();
            let (r2, fl) = round_pack(f, mode, false, (e - 72) / 2, r, r * r != x);
            (r2, fl | de)
        }
    }
}

/// Ordering key of a non-NaN operand: the sign-magnitude bits as a signed
/// number, with zeros (including DAZ'd denormals) equal.
fn key(f: Fmt, x: u64, v: &Val) -> i128 {
    if v.cls == Cls::Zero {
        return 0;
    }
    let mag = (x & !f.sign()) as i128;
    if v.sign {
        -mag
    } else {
        mag
    }
}

/// MINSS/MAXSS and friends: any NaN, or equal operands (±0), return the
/// second operand; any NaN is invalid.
pub fn minmax(f: Fmt, mode: Mode, a: u64, b: u64, max: bool) -> (u64, u32) {
    let va = unpack(f, a, mode.daz);
    let vb = unpack(f, b, mode.daz);
    let (pick_a, fl) = if va.nan() || vb.nan() {
        (false, IE)
    } else {
        let (ka, kb) = (key(f, a, &va), key(f, b, &vb));
        (if max { ka > kb } else { ka < kb }, if va.denorm || vb.denorm { DE } else { 0 })
    };
    let (r, v) = if pick_a { (a, va) } else { (b, vb) };
    // DAZ turns a denormal operand into a zero before it is compared or
    // returned.
    let r = if v.cls == Cls::Zero { f.zero(v.sign) } else { r };
    (r, fl)
}

/// CMPPS/CMPSS predicates 0..7; returns whether the predicate holds.
pub fn cmp(f: Fmt, mode: Mode, a: u64, b: u64, pred: u8) -> (bool, u32) {
    let va = unpack(f, a, mode.daz);
    let vb = unpack(f, b, mode.daz);
    let unord = va.nan() || vb.nan();
    let snan = va.cls == Cls::SNaN || vb.cls == Cls::SNaN;
    // LT, LE, NLT, NLE signal on QNaNs too.
    let signaling = matches!(pred & 7, 1 | 2 | 5 | 6);
    let mut fl = if snan || (unord && signaling) { IE } else { 0 };
    if !unord && (va.denorm || vb.denorm) {
        fl |= DE;
    }
    let o = if unord { None } else { Some(key(f, a, &va).cmp(&key(f, b, &vb))) };
    let r = match pred & 7 {
        0 => o == Some(Ordering::Equal),
        1 => o == Some(Ordering::Less),
        2 => matches!(o, Some(Ordering::Less | Ordering::Equal)),
        3 => unord,
        4 => o != Some(Ordering::Equal),
        5 => o != Some(Ordering::Less),
        6 => !matches!(o, Some(Ordering::Less | Ordering::Equal)),
        _ => !unord,
    };
    (r, fl)
}

/// COMIS*/UCOMIS*: returns (ZF|PF|CF bits as in RFLAGS, flags).
pub fn comi(f: Fmt, mode: Mode, a: u64, b: u64, signal_qnan: bool) -> (u64, u32) {
    let va = unpack(f, a, mode.daz);
    let vb = unpack(f, b, mode.daz);
    const CF: u64 = 1;
    const PF: u64 = 4;
    const ZF: u64 = 0x40;
    if va.nan() || vb.nan() {
        let inv = va.cls == Cls::SNaN || vb.cls == Cls::SNaN || signal_qnan;
        return (ZF | PF | CF, if inv { IE } else { 0 });
    }
    let de = if va.denorm || vb.denorm { DE } else { 0 };
    let r = match key(f, a, &va).cmp(&key(f, b, &vb)) {
        Ordering::Less => CF,
        Ordering::Equal => ZF,
        Ordering::Greater => 0,
    };
    (r, de)
}

/// Float to signed integer of `bits` (32 or 64), rounding per `mode` or
/// truncating. Out of range and NaN give the "integer indefinite".
pub fn to_int(f: Fmt, mode: Mode, a: u64, bits: u32, trunc: bool) -> (u64, u32) {
    let mode = if trunc { mode.trunc() } else { mode };
    if let Some(r) = fast_to_int(f, mode, a, bits) {
        return r;
    }
    let va = unpack(f, a, mode.daz);
    let indef = 1u64 << (bits - 1);
    let (s, mag, inx) = match va.cls {
        Cls::Zero => return (0, 0),
        Cls::Fin => {
            if va.e >= 0 {
                if va.e > 64 {
                    return (indef, IE);
                }
                (va.sign, (va.m as u128) << va.e, false)
            } else {
                let (q, nz) = round_bits(va.m as u128, (-va.e) as u32, false, va.sign, mode.rc);
                (va.sign, q, nz)
            }
        }
        _ => return (indef, IE),
    };
    let limit = if s { indef as u128 } else { indef as u128 - 1 };
    if mag > limit {
        return (indef, IE);
    }
    let v = if s { (mag as u64).wrapping_neg() } else { mag as u64 };
    let v = if bits == 32 { v & 0xffff_ffff } else { v };
    (v, if inx { PE } else { 0 })
}

/// Truncation, or rounding to nearest-even, of a zero or normal operand
/// well inside the integer range: host operations give the exact integer,
/// and comparing it with the operand tells whether it was inexact. Other
/// rounding modes, denormals (DAZ decides those), NaNs, infinities and
/// out-of-range values take the exact path.
#[inline(always)]
fn fast_to_int(f: Fmt, mode: Mode, a: u64, bits: u32) -> Option<(u64, u32)> {
    let x = if f == F64 { f64::from_bits(a) } else { f32::from_bits(a as u32) as f64 };
    let limit = if bits == 32 { 2147483647.0 } else { 9.2e18 };
    if !(x == 0.0 || (x.abs() >= f64::MIN_POSITIVE && x.abs() < limit)) || f == F32 && x != 0.0 && x.abs() < f32::MIN_POSITIVE as f64 {
        return None;
    }
    let r = match mode.rc {
        0 => x.round_ties_even(),
        3 => x.trunc(),
        _ => return None,
    };
    let v = r as i64 as u64;
    let v = if bits == 32 { v & 0xffff_ffff } else { v };
    Some((v, if r != x { PE } else { 0 }))
}

/// Signed integer to float.
pub fn from_int(f: Fmt, mode: Mode, v: i64) -> (u64, u32) {
    // Integers that fit the significand convert exactly in every mode.
    if f == F64 && v.unsigned_abs() <= 1 << 53 {
        return ((v as f64).to_bits(), 0);
    }
    if f == F32 && v.unsigned_abs() <= 1 << 24 {
        return ((v as f32).to_bits() as u64, 0);
    }
    round_pack(f, mode, v < 0, 0, v.unsigned_abs() as u128, false)
}

/// Format conversion (CVTSS2SD, CVTSD2SS and the packed forms).
pub fn convert(from: Fmt, to: Fmt, mode: Mode, a: u64) -> (u64, u32) {
    let va = unpack(from, a, mode.daz);
    let de = if va.denorm { DE } else { 0 };
    match va.cls {
        Cls::QNaN | Cls::SNaN => {
            // The payload keeps its top bits: shift the fraction field.
            let fr = a & from.frac_mask();
            let fr = if to.frac >= from.frac { fr << (to.frac - from.frac) } else { fr >> (from.frac - to.frac) };
            let r = to.inf(va.sign) | fr | to.quiet_bit();
            (r, if va.cls == Cls::SNaN { IE } else { 0 })
        }
        Cls::Inf => (to.inf(va.sign), 0),
        Cls::Zero => (to.zero(va.sign), 0),
        Cls::Fin => {
            let (r, fl) = round_pack(to, mode, va.sign, va.e, va.m as u128, false);
            (r, fl | de)
        }
    }
}

/// RCPSS: approximate reciprocal (see `approx.rs` for the tables). MXCSR
/// plays no part: denormal inputs act as zeros, tiny results flush to
/// zero, and no flags are raised.
pub fn rcp(a: u32) -> u32 {
    let v = unpack(F32, a as u64, true);
    match v.cls {
        Cls::QNaN | Cls::SNaN => a | F32.quiet_bit() as u32,
        Cls::Zero => F32.inf(v.sign) as u32,
        Cls::Inf => F32.zero(v.sign) as u32,
        Cls::Fin => super::approx::rcp_normal(a),
    }
}

/// RSQRTSS: approximate reciprocal square root, with RCPSS's rules.
pub fn rsqrt(a: u32) -> u32 {
    let v = unpack(F32, a as u64, true);
    match v.cls {
        Cls::QNaN | Cls::SNaN => a | F32.quiet_bit() as u32,
        Cls::Zero => F32.inf(v.sign) as u32,
        _ if v.sign => F32.indefinite() as u32,
        Cls::Inf => 0,
        Cls::Fin => super::approx::rsqrt_normal(a),
    }
}

/// Fast paths for round-to-nearest on binary64: the host operation gives
/// the correctly rounded result, and an exact error term tells whether it
/// was inexact.
/// They return None whenever an operand or the result is special (NaN,
/// infinite, denormal, or small enough that the error term could itself
/// underflow), and the caller then takes the exact integer path.
const SMALL: f64 = 1.0e-270; // about 2^-897: error terms stay representable
const LARGE: f64 = 1.0e300; // about 2^997: no intermediate overflows

#[inline(always)]
fn plain(x: f64) -> bool {
    // Zero, or comfortably inside the normal range.
    x == 0.0 || (x.abs() >= SMALL && x.abs() <= LARGE)
}

#[inline(always)]
pub fn fast_add64(a: f64, b: f64) -> Option<(u64, u32)> {
    let s = a + b;
    if !(plain(a) && plain(b) && plain(s)) {
        return None;
    }
    // TwoSum: exact error of the rounded sum (no overflow here).
    let bb = s - a;
    let err = (a - (s - bb)) + (b - bb);
    Some((s.to_bits(), if err != 0.0 { PE } else { 0 }))
}

#[inline(always)]
pub fn fast_mul64(a: f64, b: f64) -> Option<(u64, u32)> {
    let p = a * b;
    if !(plain(a) && plain(b) && plain(p)) || (p == 0.0 && a != 0.0 && b != 0.0) {
        return None;
    }
    // |p| >= 2^-897, so the exact product's last bit is far above 2^-1074
    // and fma's residual is exact.
    let err = if p == 0.0 { 0.0 } else { a.mul_add(b, -p) };
    Some((p.to_bits(), if err != 0.0 { PE } else { 0 }))
}

#[inline(always)]
pub fn fast_div64(a: f64, b: f64) -> Option<(u64, u32)> {
    let q = a / b;
    if !(plain(a) && plain(b) && plain(q)) || b == 0.0 || (q == 0.0 && a != 0.0) {
        return None;
    }
    // The residual a - q*b of a correctly rounded quotient is exactly
    // representable when nothing underflows; zero iff q is exact.
    let r = if a == 0.0 { 0.0 } else { (-q).mul_add(b, a) };
    Some((q.to_bits(), if r != 0.0 { PE } else { 0 }))
}

#[inline(always)]
pub fn fast_sqrt64(a: f64) -> Option<(u64, u32)> {
    if !(plain(a) && a >= 0.0) {
        return None;
    }
    let s = a.sqrt();
    let r = if a == 0.0 { 0.0 } else { (-s).mul_add(s, a) };
    Some((s.to_bits(), if r != 0.0 { PE } else { 0 }))
}

/// binary32 fast paths: the operation is done in binary64 and rounded to
/// binary32. Sums, products, quotients and roots of binary32 values rounded
/// first to binary64 and then to binary32 are correctly rounded, because
/// 53 >= 2*24 + 2 (double rounding is innocuous; Figueroa 1995). The
/// result is exact iff the binary64 step was exact and the binary32 value
/// equals the binary64 one.
#[inline(always)]
fn plain32(x: f32) -> bool {
    x == 0.0 || (x.abs() >= f32::MIN_POSITIVE && x.abs() <= f32::MAX)
}

#[inline(always)]
fn finish32(wide: f64, exact64: bool) -> Option<(u64, u32)> {
    let r = wide as f32;
    // The smallest normal itself may be a tiny value rounded up, which
    // underflows (tininess is judged before the exponent is bounded).
    if !(r == 0.0 && wide == 0.0 || r.abs() > f32::MIN_POSITIVE && r.abs() <= f32::MAX) {
        return None;
    }
    let exact = exact64 && r as f64 == wide;
    Some((r.to_bits() as u64, if exact { 0 } else { PE }))
}

#[inline(always)]
pub fn fast_add32(a: f32, b: f32) -> Option<(u64, u32)> {
    if !(plain32(a) && plain32(b)) {
        return None;
    }
    let (x, y) = (a as f64, b as f64);
    let s = x + y;
    let bb = s - x;
    let err = (x - (s - bb)) + (y - bb);
    finish32(s, err == 0.0)
}

#[inline(always)]
pub fn fast_mul32(a: f32, b: f32) -> Option<(u64, u32)> {
    if !(plain32(a) && plain32(b)) {
        return None;
    }
    // 24x24-bit products are exact in binary64.
    finish32(a as f64 * b as f64, true)
}

#[inline(always)]
pub fn fast_div32(a: f32, b: f32) -> Option<(u64, u32)> {
    if !(plain32(a) && plain32(b)) || b == 0.0 {
        return None;
    }
    let (x, y) = (a as f64, b as f64);
    let q = x / y;
    let r = q as f32 as f64;
    // r*y has 48 bits, so a - r*y is computed exactly by the fma.
    let exact = (-r).mul_add(y, x) == 0.0;
    finish32(q, true).map(|(bits, _)| (bits, if exact { 0 } else { PE }))
}

#[inline(always)]
pub fn fast_sqrt32(a: f32) -> Option<(u64, u32)> {
    if !(plain32(a) && a >= 0.0) {
        return None;
    }
    let x = a as f64;
    let s = x.sqrt();
    let r = s as f32 as f64;
    let exact = (-r).mul_add(r, x) == 0.0;
    finish32(s, true).map(|(bits, _)| (bits, if exact { 0 } else { PE }))
}

#[cfg(all(test, target_arch = "x86_64"))]
pub(super) mod tests;
