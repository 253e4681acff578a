//! Comparing the native end state with oxvm's, with the masks for what the
//! architecture leaves undefined.

use iced_x86::{Instruction, Mnemonic, OpKind, RflagsBits};

use crate::layout::*;
use crate::oxvm_exec::{sig, Outcome};
use crate::state::{MachineState, GPR_NAMES};

/// The native end state (borrowed from the worker's shared memory).
pub struct Native<'a> {
    pub state: &'a MachineState,
    pub data: &'a [u8; DATA_LEN],
    pub signo: i32,
    pub si_code: i32,
    pub si_addr: u64,
    /// The worker died or hung on this case.
    pub crashed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diff {
    pub field: String,
    pub native: String,
    pub oxvm: String,
}

fn d(field: impl Into<String>, native: impl Into<String>, oxvm: impl Into<String>) -> Diff {
    Diff { field: field.into(), native: native.into(), oxvm: oxvm.into() }
}

const CF: u64 = 1;
const PF: u64 = 1 << 2;
const AF: u64 = 1 << 4;
const ZF: u64 = 1 << 6;
const SF: u64 = 1 << 7;
const OF: u64 = 1 << 11;
const DF: u64 = 1 << 10;
/// RF is set in the RFLAGS image the CPU saves for a fault (so the
/// faulting instruction can be restarted past a code breakpoint); user
/// code never sees it otherwise.
const RF: u64 = 1 << 16;

/// iced's RflagsBits to x86 RFLAGS bits.
fn x86_flags(iced: u32) -> u64 {
    let mut f = 0;
    for (i, x) in [
        (RflagsBits::OF, OF),
        (RflagsBits::SF, SF),
        (RflagsBits::ZF, ZF),
        (RflagsBits::AF, AF),
        (RflagsBits::CF, CF),
        (RflagsBits::PF, PF),
        (RflagsBits::DF, DF),
    ] {
        if iced & i != 0 {
            f |= x;
        }
    }
    f
}

/// iced's C0..C3 bits to x87 status word bits.
fn fsw_bits(iced: u32) -> u16 {
    let mut f = 0;
    for (i, x) in [(RflagsBits::C0, 0x100u16), (RflagsBits::C1, 0x200), (RflagsBits::C2, 0x400), (RflagsBits::C3, 0x4000)] {
        if iced & i != 0 {
            f |= x;
        }
    }
    f
}

/// The RFLAGS bits whose value the architecture leaves undefined after
/// `ins` ran from state `init`.
pub fn undefined_flags(ins: &Instruction, init: &MachineState) -> u64 {
    use Mnemonic as M;
    // What the SDM tables say (iced has them per instruction form).
    let mut mask = x86_flags(ins.rflags_undefined());
    let m = ins.mnemonic();
    if matches!(m, M::Shl | M::Sal | M::Shr | M::Sar | M::Rol | M::Ror | M::Rcl | M::Rcr | M::Shld | M::Shrd) {
        let size = if ins.op0_kind() == OpKind::Register { ins.op0_register().size() } else { ins.memory_size().size() } as u64;
        let raw = match ins.op_kind(ins.op_count() - 1) {
            OpKind::Register => init.gpr[1] & 0xff,
            _ => ins.immediate(ins.op_count() - 1),
        };
        let count = raw & if size == 8 { 0x3f } else { 0x1f };
        if count == 0 {
            // A masked count of zero changes no flag at all: compare all.
            return 0;
        }
        // OF is only defined for 1-bit shifts and rotates.
        if count != 1 {
            mask |= OF;
        }
        // SHL/SHR by at least the operand width: CF is undefined (SDM
        // SAL/SAR/SHL/SHR "Flags Affected"); only reachable for 8/16-bit.
        if matches!(m, M::Shl | M::Sal | M::Shr) && count >= size * 8 {
            mask |= CF;
        }
        // SHLD/SHRD by more than the width: result and flags undefined
        // (the generator does not produce those; be safe).
        if matches!(m, M::Shld | M::Shrd) && count > size * 8 {
            mask |= CF | OF | SF | ZF | AF | PF;
        }
    }
    mask
}

/// The x87 status-word bits left undefined by `ins` (C0..C3 per iced).
pub fn undefined_fsw(ins: &Instruction) -> u16 {
    fsw_bits(ins.rflags_undefined())
}

/// Describe the signal part of an outcome.
fn sig_text(signo: i32, code: i32, addr: u64) -> String {
    if signo == 0 {
        "no signal".into()
    } else {
        format!("{} code {code} addr {addr:#x}", sig::name(signo))
    }
}

/// All differences between the native and oxvm end states.
pub fn compare(insns: &[Instruction], init: &MachineState, nat: &Native, ox: &Outcome) -> Vec<Diff> {
    let mut out = Vec::new();
    if nat.crashed {
        out.push(d("native", "worker crashed or hung", "-"));
        return out;
    }
    if let Some(n) = &ox.note {
        out.push(d("oxvm", "-", n.clone()));
    }
    // The signal: same number; same address and code for SIGSEGV; same
    // code for integer divide errors and invalid opcodes.
    let same_sig = nat.signo == ox.signo
        && match nat.signo {
            sig::SIGSEGV => nat.si_addr == ox.si_addr && nat.si_code == ox.si_code,
            sig::SIGILL => true,
            sig::SIGFPE => ox.si_code == 0 || nat.si_code == ox.si_code,
            _ => true,
        };
    if !same_sig {
        out.push(d("signal", sig_text(nat.signo, nat.si_code, nat.si_addr), sig_text(ox.signo, ox.si_code, ox.si_addr)));
    }
    let (n, o) = (nat.state, &ox.state);
    if n.rip != o.rip {
        out.push(d("rip", format!("{:#x}", n.rip), format!("{:#x}", o.rip)));
    }
    for ((name, a), b) in GPR_NAMES.iter().zip(n.gpr.iter()).zip(o.gpr.iter()) {
        if a != b {
            out.push(d(*name, format!("{a:#018x}"), format!("{b:#018x}")));
        }
    }
    let mut fmask = RF;
    let mut fsw_mask = 0u16;
    // Undefined bits only apply to instructions that completed (all of
    // them, or those before the faulting one; sequences run forward).
    for ins in insns {
        if nat.signo == 0 || ins.next_ip() <= nat.state.rip {
            fmask |= undefined_flags(ins, init);
            fsw_mask |= undefined_fsw(ins);
            if is_transcendental(ins.mnemonic()) {
                fsw_mask |= 0x200;
            }
        }
    }
    if (n.rflags ^ o.rflags) & !fmask != 0 {
        out.push(d(
            "rflags",
            format!("{:#x} ({})", n.rflags, flag_names(n.rflags)),
            format!("{:#x} ({}) [undefined mask {:#x}]", o.rflags, flag_names(o.rflags), fmask & !RF),
        ));
    }
    let (nf, of) = (&n.fx, &o.fx);
    if nf.mxcsr() != of.mxcsr() {
        out.push(d("mxcsr", format!("{:#06x}", nf.mxcsr()), format!("{:#06x}", of.mxcsr())));
    }
    // RCPPS/RSQRTPS and the scalar forms are approximations whose exact
    // bits are implementation-specific (the SDM bounds the relative error
    // by 1.5 * 2^-12): their result lanes are compared with a tolerance of
    // 2^-10 relative (two compliant implementations may differ by twice the
    // bound). All other lanes and registers are exact.
    let approx: Option<(usize, usize)> = insns.iter().find_map(|i| match i.mnemonic() {
        Mnemonic::Rcpps | Mnemonic::Rsqrtps => Some((i.op0_register().number(), 4)),
        Mnemonic::Rcpss | Mnemonic::Rsqrtss => Some((i.op0_register().number(), 1)),
        _ => None,
    });
    for i in 0..16 {
        if let Some((r, lanes)) = approx {
            if r == i && nat.signo == 0 {
                let (a, b) = (nf.xmm(i), of.xmm(i));
                let lane = |v: [u64; 2], k: usize| (v[k / 2] >> (32 * (k % 2))) as u32;
                let ok = (0..4).all(|k| if k < lanes { approx_f32(lane(a, k), lane(b, k)) } else { lane(a, k) == lane(b, k) });
                if !ok {
                    let f = |v: [u64; 2]| format!("{:016x}_{:016x}", v[1], v[0]);
                    out.push(d(format!("xmm{i}"), f(a), format!("{} (tolerance 2^-10)", f(b))));
                }
                continue;
            }
        }
        if nf.xmm(i) != of.xmm(i) {
            let f = |v: [u64; 2]| format!("{:016x}_{:016x}", v[1], v[0]);
            out.push(d(format!("xmm{i}"), f(nf.xmm(i)), f(of.xmm(i))));
        }
    }
    if nf.fcw() != of.fcw() {
        out.push(d("fcw", format!("{:#06x}", nf.fcw()), format!("{:#06x}", of.fcw())));
    }
    if (nf.fsw() ^ of.fsw()) & !fsw_mask != 0 {
        out.push(d("fsw", format!("{:#06x}", nf.fsw()), format!("{:#06x} [undefined mask {fsw_mask:#x}]", of.fsw())));
    }
    // The full tag word (as FNSTENV shows it), derived from the native
    // abridged tag and register contents, against oxvm's stored one.
    if nf.full_tag() != ox.ftw {
        out.push(d("ftw", format!("{:#06x}", nf.full_tag()), format!("{:#06x}", ox.ftw)));
    }
    // Registers: in stack order, only non-empty ones (an empty register's
    // stale contents are only visible through FXSAVE/FSAVE images).
    // FOP/FIP/FDP are not compared (AMD only saves them with an exception
    // pending; oxvm does not track them yet).
    // Transcendentals (FSIN..FYL2XP1) are only specified to about one ulp
    // and vendors differ in the last bits: their results may differ by a
    // few ulps (same sign and exponent), and C1 (rounded up) may differ.
    // Outside their documented domains (F2XM1 with |x| > 1, FYL2XP1 with
    // |x| >= 1 - sqrt(2)/2) the SDM leaves the results undefined, but the
    // host follows simple rules there (F2XM1 returns x; FYL2XP1 still
    // returns y * log2(1+x) to an ulp, and x for x <= -1), which oxvm
    // reproduces: those results are compared like the others.
    let trans = insns.iter().any(|i| is_transcendental(i.mnemonic()));
    for i in 0..8 {
        let phys = (nf.top() + i) & 7;
        if nf.phys_empty(phys) {
            continue;
        }
        if nf.st(i) != of.st(i) && !(trans && nat.signo == 0 && close_f80(nf.st(i), of.st(i))) {
            let f = |(m, e): (u64, u16)| format!("{e:04x}_{m:016x}");
            out.push(d(format!("st{i}"), f(nf.st(i)), f(of.st(i))));
        }
    }
    let masked;
    let (nd, od): (&[u8], &[u8]) = match data_mask(insns, init) {
        Some(ranges) => {
            let (mut a, mut b) = (nat.data.to_vec(), ox.data.to_vec());
            for (lo, hi) in ranges {
                for k in lo..hi {
                    if (DATA..DATA_END).contains(&k) {
                        a[(k - DATA) as usize] = 0;
                        b[(k - DATA) as usize] = 0;
                    }
                }
            }
            masked = (a, b);
            (&masked.0, &masked.1)
        }
        None => (&nat.data[..], &ox.data[..]),
    };
    if nd != od {
        let (nat_data, ox_data) = (nd, od);
        let mut k = 0;
        let mut shown = 0;
        while k < DATA_LEN && shown < 4 {
            if nat_data[k] != ox_data[k] {
                let start = k;
                while k < DATA_LEN && k < start + 16 && nat_data[k] != ox_data[k] {
                    k += 1;
                }
                out.push(d(format!("mem[{:#x}]", DATA + start as u64), hex(&nat_data[start..k]), hex(&ox_data[start..k])));
                shown += 1;
            }
            k += 1;
        }
    }
    out
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}

pub fn flag_names(f: u64) -> String {
    let mut s = Vec::new();
    for (b, n) in [(CF, "CF"), (PF, "PF"), (AF, "AF"), (ZF, "ZF"), (SF, "SF"), (DF, "DF"), (OF, "OF")] {
        if f & b != 0 {
            s.push(n);
        }
    }
    s.join(" ")
}

/// Known differences between Linux on hardware and oxvm that are tracked
/// rather than reported as mismatches (each still counted per class).
pub const KNOWN_AMD_MXCSR_MM: &str = "MXCSR bit 17 (MM, misaligned-exception mask) exists only on AMD processors; oxvm \
reports GenuineIntel, for which the bit is reserved and LDMXCSR/FXRSTOR raise #GP";

pub const KNOWN_HARNESS_MEMORY: &str = "the case reached the native harness's private state block (mapped only in the native \
worker), so only oxvm faulted: a generator artifact, not an oxvm difference";

/// Whether `diffs` is exactly a known divergence.
pub fn known_divergence(_diffs: &[Diff], nat: &Native, ox: &Outcome) -> Option<&'static str> {
    let harness = crate::layout::STATE..crate::layout::STATE + crate::layout::STATE_LEN as u64;
    if nat.signo == 0 && ox.signo == sig::SIGSEGV && harness.contains(&ox.si_addr) {
        return Some(KNOWN_HARNESS_MEMORY);
    }
    if nat.signo == 0 && nat.state.fx.mxcsr() & (1 << 17) != 0 && ox.signo == sig::SIGSEGV {
        return Some(KNOWN_AMD_MXCSR_MM);
    }
    None
}

fn is_transcendental(m: Mnemonic) -> bool {
    matches!(
        m,
        Mnemonic::Fsin
            | Mnemonic::Fcos
            | Mnemonic::Fsincos
            | Mnemonic::Fptan
            | Mnemonic::Fpatan
            | Mnemonic::F2xm1
            | Mnemonic::Fyl2x
            | Mnemonic::Fyl2xp1
    )
}

/// Within 4 ulps with the same sign and exponent.
fn close_f80(a: (u64, u16), b: (u64, u16)) -> bool {
    a.1 == b.1 && a.1 & 0x7fff != 0x7fff && a.0.abs_diff(b.0) <= 4
}

/// Two f32 approximations of the same value: exact for zero, infinity and
/// NaN, else within 2^-10 relative.
fn approx_f32(a: u32, b: u32) -> bool {
    if a == b {
        return true;
    }
    let (x, y) = (f32::from_bits(a) as f64, f32::from_bits(b) as f64);
    if !x.is_finite() || !y.is_finite() || x == 0.0 || y == 0.0 || (x < 0.0) != (y < 0.0) {
        return false;
    }
    (x - y).abs() <= x.abs() * (1.0 / 1024.0)
}

/// The address of the memory operand of `ins` with the registers `gpr`
/// (no segment overrides are generated).
pub fn mem_addr(ins: &Instruction, gpr: &[u64; 16]) -> u64 {
    use iced_x86::Register as R;
    let val = |r: R| -> u64 {
        if r.is_gpr() {
            let v = gpr[r.full_register().number()];
            if r.size() == 4 {
                v & 0xffff_ffff
            } else {
                v
            }
        } else {
            0
        }
    };
    let (b, x) = (ins.memory_base(), ins.memory_index());
    let mut a = ins.memory_displacement64();
    a = a.wrapping_add(val(b));
    a = a.wrapping_add(val(x).wrapping_mul(ins.memory_index_scale() as u64));
    let addr32 = b.is_gpr32() || x.is_gpr32() || b == R::EIP || (b == R::None && x == R::None && ins.memory_displ_size() == 4);
    if addr32 {
        a & 0xffff_ffff
    } else {
        a
    }
}

/// Byte ranges of the data region whose contents after `insns` are not
/// compared: the x87 pointer registers (FIP/FDP/FOP: AMD stores them only
/// with an exception pending, and oxvm does not track them) and
/// MXCSR_MASK (CPU-model-specific) in FXSAVE/FNSTENV/FNSAVE images.
fn data_mask(insns: &[Instruction], init: &MachineState) -> Option<Vec<(u64, u64)>> {
    use iced_x86::MemorySize as M;
    let mut v = Vec::new();
    for i in insns {
        let rel: &[(u64, u64)] = match i.memory_size() {
            M::Fxsave_512Byte | M::Fxsave64_512Byte => &[(6, 24), (28, 32)],
            M::FpuEnv28 | M::FpuState108 => &[(12, 28)],
            M::FpuEnv14 | M::FpuState94 => &[(6, 14)],
            _ => continue,
        };
        let a = mem_addr(i, &init.gpr);
        v.extend(rel.iter().map(|(lo, hi)| (a.wrapping_add(*lo), a.wrapping_add(*hi))));
    }
    (!v.is_empty()).then_some(v)
}
