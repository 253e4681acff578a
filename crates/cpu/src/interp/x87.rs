//! The x87 FPU.
//!
//! Arithmetic is done in software ([`sf`], [`trans`]) so results are the
//! same on every host, WebAssembly included. This file holds the register
//! stack, the exception bookkeeping and one handler per instruction group.
//!
//! Unmasked exceptions follow the hardware's deferred model: the faulting
//! instruction completes as the SDM describes for the unmasked case (usually
//! leaving its destination alone), sets ES and B, and the *next* waiting x87
//! instruction (or FWAIT) raises `Fault::X87` without executing.

#[cfg(test)]
mod edge_tests;
mod sf;
// The differential tests run the host's FPU, so they need an x86-64 Linux
// host.
#[cfg(all(test, target_arch = "x86_64", target_os = "linux"))]
mod tests;
mod trans;

use iced_x86::{Instruction, Mnemonic, OpKind, Register};

use self::sf::{Cmp, Ctx, Ext, Kind, C0, C1, C2, C3, DE, ES, IE, INDEFINITE, SF, ZE};
use super::{R, RV};
use crate::fault::{Access, Fault};
use crate::flags::{AF, CF, OF, PF, SF as SFLAG, ZF};
use crate::mem::{page_floor, Bus};
use crate::state::{CpuState, F80, X87};

/// Busy bit of the status word; mirrors ES.
const B: u16 = 0x8000;
const TAG_EMPTY: u16 = 3;
/// MXCSR bits FXRSTOR accepts (all of 0..15, DAZ included, as current
/// hardware reports in MXCSR_MASK).
const MXCSR_MASK: u32 = 0xffff;

// ---------------------------------------------------------------------------
// Register stack

fn top(x: &X87) -> usize {
    ((x.fsw >> 11) & 7) as usize
}

fn set_top(x: &mut X87, t: usize) {
    x.fsw = (x.fsw & !0x3800) | (((t & 7) as u16) << 11);
}

fn phys(x: &X87, i: usize) -> usize {
    (top(x) + i) & 7
}

fn tag(x: &X87, p: usize) -> u16 {
    (x.ftw >> (2 * p)) & 3
}

fn set_tag(x: &mut X87, p: usize, t: u16) {
    x.ftw = (x.ftw & !(3 << (2 * p))) | (t << (2 * p));
}

fn tag_of(v: Ext) -> u16 {
    X87::tag_of(to_f80(v))
}

fn to_ext(f: F80) -> Ext {
    Ext { se: f.sign_exp, sig: f.signif }
}

fn to_f80(v: Ext) -> F80 {
    F80 { signif: v.sig, sign_exp: v.se, _pad: [0; 3] }
}

fn empty(x: &X87, i: usize) -> bool {
    tag(x, phys(x, i)) == TAG_EMPTY
}

fn get(x: &X87, i: usize) -> Ext {
    to_ext(x.st[phys(x, i)])
}

fn put(x: &mut X87, i: usize, v: Ext) {
    let p = phys(x, i);
    x.st[p] = to_f80(v);
    set_tag(x, p, tag_of(v));
}

fn push(x: &mut X87, v: Ext) {
    let t = (top(x) + 7) & 7;
    set_top(x, t);
    put(x, 0, v);
}

fn pop(x: &mut X87) {
    let p = top(x);
    set_tag(x, p, TAG_EMPTY);
    set_top(x, p + 1);
}

/// FNINIT: control, status and tags reset; the register contents stay.
fn init(x: &mut X87) {
    *x = X87 { st: x.st, ..X87::default() };
}

/// Recompute the tags of the non-empty registers from their contents, as
/// the hardware does after FLDENV/FRSTOR/FXRSTOR.
fn retag(x: &mut X87) {
    for p in 0..8 {
        if tag(x, p) != TAG_EMPTY {
            set_tag(x, p, tag_of(to_ext(x.st[p])));
        }
    }
}

/// ES and B follow the unmasked exception flags.
fn update_es(x: &mut X87) {
    if x.fsw & !x.fcw & 0x3f != 0 {
        x.fsw |= ES | B;
    } else {
        x.fsw &= !(ES | B);
    }
}

/// Record the exception flags and C1 of an operation. Returns whether the
/// destination may be written: an unmasked invalid-operation, zero-divide
/// or denormal exception leaves it unchanged.
fn commit(x: &mut X87, flags: u16) -> bool {
    commit_with(x, flags, true)
}

/// `de_stops`: whether an unmasked denormal exception suppresses the
/// operation (it does not for loads).
fn commit_with(x: &mut X87, flags: u16, de_stops: bool) -> bool {
    let mut exc = flags & 0x7f;
    let mut unmasked = exc & !x.fcw & 0x3f;
    if !de_stops {
        unmasked &= !DE;
    }
    if unmasked & IE == 0 && unmasked & DE != 0 {
        // An unmasked denormal operand stops the instruction before it
        // computes anything.
        exc = DE;
    }
    let c1 = if exc == DE && unmasked & DE != 0 { 0 } else { flags & C1 };
    x.fsw = (x.fsw & !C1) | exc | c1;
    update_es(x);
    unmasked & (IE | ZE | DE) == 0
}

/// Stack underflow: IE with SF and C1 = 0; masked, the destination gets the
/// real indefinite.
const UNDERFLOW: u16 = IE | SF;
/// Stack overflow: IE with SF and C1 = 1.
const OVERFLOW: u16 = IE | SF | C1;

fn masked_ie(x: &X87) -> bool {
    x.fcw & IE != 0
}

fn st_index(r: Register) -> usize {
    r as usize - Register::ST0 as usize
}

// ---------------------------------------------------------------------------
// Dispatch

pub(super) fn exec(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    use Mnemonic as M;
    let m = i.mnemonic();
    // The non-waiting control instructions run even with an exception
    // pending; everything else raises it first.
    let nowait = matches!(
        m,
        M::Fninit
            | M::Fnclex
            | M::Fnstcw
            | M::Fnstsw
            | M::Fnstenv
            | M::Fnsave
            | M::Fxsave
            | M::Fxsave64
            | M::Fxrstor
            | M::Fxrstor64
            | M::Fneni
            | M::Fndisi
            | M::Fnsetpm
    );
    if !nowait {
        if !is_x87(m) {
            // MMX instructions share the register file; they check for a
            // pending exception themselves, and leave FIP/FDP alone.
            return super::mmx::exec(cpu, bus, i);
        }
        if cpu.x87.fsw & ES != 0 {
            return Err(Fault::X87.into());
        }
    }
    let is_control = matches!(
        m,
        M::Fninit
            | M::Finit
            | M::Fnclex
            | M::Fclex
            | M::Fnstcw
            | M::Fstcw
            | M::Fnstsw
            | M::Fstsw
            | M::Fnstenv
            | M::Fstenv
            | M::Fnsave
            | M::Fsave
            | M::Fldcw
            | M::Fldenv
            | M::Frstor
            | M::Fxsave
            | M::Fxsave64
            | M::Fxrstor
            | M::Fxrstor64
            | M::Wait
    );
    let data_ptr = if (0..i.op_count()).any(|n| i.op_kind(n) == OpKind::Memory) { Some(super::ea(cpu, i)) } else { None };
    let r = exec_inner(cpu, bus, i);
    if r.is_ok() && !is_control {
        cpu.x87.fip = i.ip();
        if let Some(a) = data_ptr {
            cpu.x87.fdp = a;
        }
    }
    r
}

fn is_x87(m: Mnemonic) -> bool {
    use Mnemonic as M;
    matches!(
        m,
        M::Wait
            | M::Feni
            | M::Fdisi
            | M::Fsetpm
            | M::Fld
            | M::Fst
            | M::Fstp
            | M::Fstpnce
            | M::Fild
            | M::Fist
            | M::Fistp
            | M::Fisttp
            | M::Fbld
            | M::Fbstp
            | M::Fadd
            | M::Faddp
            | M::Fsub
            | M::Fsubp
            | M::Fsubr
            | M::Fsubrp
            | M::Fmul
            | M::Fmulp
            | M::Fdiv
            | M::Fdivp
            | M::Fdivr
            | M::Fdivrp
            | M::Fiadd
            | M::Fisub
            | M::Fisubr
            | M::Fimul
            | M::Fidiv
            | M::Fidivr
            | M::Fchs
            | M::Fabs
            | M::Fsqrt
            | M::Frndint
            | M::Fscale
            | M::Fxtract
            | M::Fprem
            | M::Fprem1
            | M::Fcom
            | M::Fcomp
            | M::Fcompp
            | M::Fucom
            | M::Fucomp
            | M::Fucompp
            | M::Ficom
            | M::Ficomp
            | M::Ftst
            | M::Fxam
            | M::Fcomi
            | M::Fcomip
            | M::Fucomi
            | M::Fucomip
            | M::Fcmovb
            | M::Fcmove
            | M::Fcmovbe
            | M::Fcmovu
            | M::Fcmovnb
            | M::Fcmovne
            | M::Fcmovnbe
            | M::Fcmovnu
            | M::Fxch
            | M::Ffree
            | M::Ffreep
            | M::Fincstp
            | M::Fdecstp
            | M::Fld1
            | M::Fldl2t
            | M::Fldl2e
            | M::Fldpi
            | M::Fldlg2
            | M::Fldln2
            | M::Fldz
            | M::Finit
            | M::Fclex
            | M::Fstcw
            | M::Fldcw
            | M::Fstsw
            | M::Fstenv
            | M::Fldenv
            | M::Fsave
            | M::Frstor
            | M::Fnop
            | M::Fsin
            | M::Fcos
            | M::Fsincos
            | M::Fptan
            | M::Fpatan
            | M::F2xm1
            | M::Fyl2x
            | M::Fyl2xp1
    )
}

fn exec_inner(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    use Mnemonic as M;
    match i.mnemonic() {
        // FENI/FDISI/FSETPM are 8087/80287 leftovers that later FPUs ignore.
        M::Wait | M::Fnop | M::Fneni | M::Fndisi | M::Fnsetpm | M::Feni | M::Fdisi | M::Fsetpm => Ok(()),
        M::Fld => fld(cpu, bus, i),
        M::Fst | M::Fstp | M::Fstpnce => fst(cpu, bus, i),
        M::Fild => fild(cpu, bus, i),
        M::Fist | M::Fistp | M::Fisttp => fist(cpu, bus, i),
        M::Fbld => fbld(cpu, bus, i),
        M::Fbstp => fbstp(cpu, bus, i),
        M::Fadd
        | M::Faddp
        | M::Fsub
        | M::Fsubp
        | M::Fsubr
        | M::Fsubrp
        | M::Fmul
        | M::Fmulp
        | M::Fdiv
        | M::Fdivp
        | M::Fdivr
        | M::Fdivrp
        | M::Fiadd
        | M::Fisub
        | M::Fisubr
        | M::Fimul
        | M::Fidiv
        | M::Fidivr => arith(cpu, bus, i),
        M::Fchs | M::Fabs => {
            let x = &mut cpu.x87;
            if empty(x, 0) {
                if commit(x, UNDERFLOW) {
                    put(x, 0, INDEFINITE);
                }
                return Ok(());
            }
            let v = get(x, 0);
            let v = if i.mnemonic() == M::Fchs { v.neg() } else { v.abs() };
            commit(x, 0);
            put(x, 0, v);
            Ok(())
        }
        M::Fsqrt | M::Frndint => {
            unary(cpu, |a, c| if i.mnemonic() == M::Fsqrt { sf::sqrt(a, c) } else { sf::round_to_int(a, c) });
            Ok(())
        }
        M::Fscale => {
            let x = &mut cpu.x87;
            if empty(x, 0) || empty(x, 1) {
                if commit(x, UNDERFLOW) {
                    put(x, 0, INDEFINITE);
                }
                return Ok(());
            }
            let mut c = Ctx::new(x.fcw);
            let r = sf::scale(get(x, 0), get(x, 1), &mut c);
            if commit(x, c.flags) {
                put(x, 0, r);
            }
            Ok(())
        }
        M::Fxtract => {
            let x = &mut cpu.x87;
            if empty(x, 0) {
                if commit(x, UNDERFLOW) {
                    put(x, 0, INDEFINITE);
                    push(x, INDEFINITE);
                }
                return Ok(());
            }
            if !empty(x, 7) {
                if commit(x, OVERFLOW) {
                    put(x, 0, INDEFINITE);
                    push(x, INDEFINITE);
                }
                return Ok(());
            }
            let mut c = Ctx::new(x.fcw);
            let (e, s) = sf::xtract(get(x, 0), &mut c);
            if commit(x, c.flags) {
                put(x, 0, e);
                push(x, s);
            }
            Ok(())
        }
        M::Fprem | M::Fprem1 => {
            let x = &mut cpu.x87;
            if empty(x, 0) || empty(x, 1) {
                if commit(x, UNDERFLOW) {
                    put(x, 0, INDEFINITE);
                }
                x.fsw &= !C2;
                return Ok(());
            }
            let mut c = Ctx::new(x.fcw);
            let (r, cc) = sf::prem(get(x, 0), get(x, 1), i.mnemonic() == M::Fprem1, &mut c);
            let ok = commit(x, c.flags & !C1);
            match cc {
                Some(cc) if ok => x.fsw = (x.fsw & !(C0 | C1 | C2 | C3)) | cc,
                _ => x.fsw &= !C2,
            }
            if ok {
                put(x, 0, r);
            }
            Ok(())
        }
        M::Fcom | M::Fcomp | M::Fcompp | M::Fucom | M::Fucomp | M::Fucompp | M::Ficom | M::Ficomp | M::Ftst => fcom(cpu, bus, i),
        M::Fcomi | M::Fcomip | M::Fucomi | M::Fucomip => fcomi(cpu, i),
        M::Fxam => {
            let x = &mut cpu.x87;
            let v = get(x, 0);
            let cc = if empty(x, 0) {
                C3 | C0
            } else {
                match v.kind() {
                    Kind::Unsupported => 0,
                    Kind::QNaN | Kind::SNaN => C0,
                    Kind::Normal => C2,
                    Kind::Inf => C2 | C0,
                    Kind::Zero => C3,
                    Kind::Denormal => C3 | C2,
                }
            };
            let c1 = if v.sign() { C1 } else { 0 };
            x.fsw = (x.fsw & !(C0 | C1 | C2 | C3)) | cc | c1;
            Ok(())
        }
        M::Fcmovb | M::Fcmove | M::Fcmovbe | M::Fcmovu | M::Fcmovnb | M::Fcmovne | M::Fcmovnbe | M::Fcmovnu => {
            let cc = match i.mnemonic() {
                M::Fcmovb => 2,
                M::Fcmovnb => 3,
                M::Fcmove => 4,
                M::Fcmovne => 5,
                M::Fcmovbe => 6,
                M::Fcmovnbe => 7,
                M::Fcmovu => 10,
                _ => 11,
            };
            let src = st_index(i.op1_register());
            let take = cpu.flags.cond(cc);
            let x = &mut cpu.x87;
            if empty(x, 0) || empty(x, src) {
                if commit(x, UNDERFLOW) {
                    put(x, 0, INDEFINITE);
                }
                return Ok(());
            }
            // No exceptions, and C1 is left alone (as the host does).
            if take {
                let v = get(x, src);
                put(x, 0, v);
            }
            Ok(())
        }
        M::Fxch => {
            let n = if i.op_count() >= 2 { st_index(i.op1_register()) } else { 1 };
            let x = &mut cpu.x87;
            let (e0, en) = (empty(x, 0), empty(x, n));
            if e0 || en {
                if !commit(x, UNDERFLOW) {
                    return Ok(());
                }
                if e0 {
                    put(x, 0, INDEFINITE);
                }
                if en {
                    put(x, n, INDEFINITE);
                }
            } else {
                commit(x, 0);
            }
            let (a, b) = (get(x, 0), get(x, n));
            put(x, 0, b);
            put(x, n, a);
            Ok(())
        }
        M::Ffree | M::Ffreep => {
            let n = st_index(i.op0_register());
            let x = &mut cpu.x87;
            let p = phys(x, n);
            set_tag(x, p, TAG_EMPTY);
            if i.mnemonic() == M::Ffreep {
                pop(x);
            }
            // The host clears C1 (the SDM leaves the codes undefined).
            x.fsw &= !C1;
            Ok(())
        }
        M::Fincstp | M::Fdecstp => {
            let x = &mut cpu.x87;
            let t = if i.mnemonic() == M::Fincstp { top(x) + 1 } else { top(x) + 7 };
            set_top(x, t);
            x.fsw &= !C1;
            Ok(())
        }
        M::Fld1 | M::Fldl2t | M::Fldl2e | M::Fldpi | M::Fldlg2 | M::Fldln2 | M::Fldz => {
            let x = &mut cpu.x87;
            if !empty(x, 7) {
                if commit(x, OVERFLOW) {
                    push(x, INDEFINITE);
                }
                return Ok(());
            }
            let rc = ((x.fcw >> 10) & 3) as u8;
            let v = match i.mnemonic() {
                M::Fld1 => Ext::ONE,
                M::Fldz => Ext::ZERO,
                M::Fldl2t => trans::constant(trans::L2T, rc),
                M::Fldl2e => trans::constant(trans::L2E, rc),
                M::Fldpi => trans::constant(trans::PI, rc),
                M::Fldlg2 => trans::constant(trans::LG2, rc),
                _ => trans::constant(trans::LN2, rc),
            };
            commit(x, 0);
            push(x, v);
            Ok(())
        }
        M::Fninit | M::Finit => {
            init(&mut cpu.x87);
            Ok(())
        }
        M::Fnclex | M::Fclex => {
            cpu.x87.fsw &= !(0x00ff | B);
            Ok(())
        }
        M::Fnstcw | M::Fstcw => {
            bus.write_u16(super::ea(cpu, i), cpu.x87.fcw)?;
            Ok(())
        }
        M::Fldcw => {
            let v = bus.read_u16(super::ea(cpu, i))?;
            cpu.x87.fcw = fcw_value(v);
            update_es(&mut cpu.x87);
            Ok(())
        }
        M::Fnstsw | M::Fstsw => {
            let v = cpu.x87.fsw;
            if i.op0_kind() == OpKind::Register {
                super::set_reg(cpu, Register::AX, v as u64);
            } else {
                bus.write_u16(super::ea(cpu, i), v)?;
            }
            Ok(())
        }
        M::Fnstenv | M::Fstenv => {
            let a = super::ea(cpu, i);
            let n = env_len(i);
            probe_image(bus, a, n as u64, env_head(n), Access::Write)?;
            let x = with_fop(cpu, bus);
            bus.write_bytes(a, &env_bytes(&x, n))?;
            cpu.x87.fop = x.fop;
            cpu.x87.fcw |= 0x3f;
            update_es(&mut cpu.x87);
            Ok(())
        }
        M::Fldenv => {
            let a = super::ea(cpu, i);
            let mut env = vec![0u8; env_len(i)];
            probe_image(bus, a, env.len() as u64, env_head(env.len()), Access::Read)?;
            bus.read_bytes(a, &mut env)?;
            load_env(&mut cpu.x87, &env);
            Ok(())
        }
        M::Fnsave | M::Fsave => {
            let a = super::ea(cpu, i);
            let n = env_len(i);
            probe_image(bus, a, n as u64 + 80, env_head(n), Access::Write)?;
            let mut buf = env_bytes(&with_fop(cpu, bus), n);
            for k in 0..8 {
                let v = get(&cpu.x87, k);
                buf.extend_from_slice(&v.sig.to_le_bytes());
                buf.extend_from_slice(&v.se.to_le_bytes());
            }
            bus.write_bytes(a, &buf)?;
            init(&mut cpu.x87);
            Ok(())
        }
        M::Frstor => {
            let a = super::ea(cpu, i);
            let n = env_len(i);
            let mut buf = vec![0u8; n + 80];
            probe_image(bus, a, buf.len() as u64, env_head(n), Access::Read)?;
            bus.read_bytes(a, &mut buf)?;
            let x = &mut cpu.x87;
            load_env(x, &buf[..n]);
            // Registers are in stack order relative to the loaded TOP.
            let t = top(x);
            for k in 0..8 {
                let o = n + 10 * k;
                let mut sig = [0u8; 8];
                sig.copy_from_slice(&buf[o..o + 8]);
                let se = u16::from_le_bytes([buf[o + 8], buf[o + 9]]);
                x.st[(t + k) & 7] = to_f80(Ext { se, sig: u64::from_le_bytes(sig) });
            }
            retag(x);
            Ok(())
        }
        M::Fxsave | M::Fxsave64 => fxsave(cpu, bus, i),
        M::Fxrstor | M::Fxrstor64 => fxrstor(cpu, bus, i),
        M::Fsin | M::Fcos | M::Fsincos | M::Fptan | M::Fpatan | M::F2xm1 | M::Fyl2x | M::Fyl2xp1 => trans::exec(cpu, i),
        _ => super::ud(),
    }
}

// ---------------------------------------------------------------------------
// Loads and stores

/// A floating-point or integer memory operand converted to the register
/// format. SNaNs are kept signalling so the operation can apply the NaN
/// rules; `Ctx` collects DE for denormal sources.
fn read_mem_operand(cpu: &CpuState, bus: &mut Bus, i: &Instruction, integer: bool, c: &mut Ctx) -> RV<Ext> {
    let a = super::ea(cpu, i);
    Ok(match (integer, i.memory_size().size()) {
        (true, 2) => sf::from_i64(bus.read_u16(a)? as i16 as i64),
        (true, 4) => sf::from_i64(bus.read_u32(a)? as i32 as i64),
        (true, _) => sf::from_i64(bus.read_u64(a)? as i64),
        (false, 4) => sf::from_ieee(bus.read_u32(a)? as u64, 8, 23, true, c),
        (false, 8) => sf::from_ieee(bus.read_u64(a)?, 11, 52, true, c),
        _ => {
            let mut b = [0u8; 10];
            bus.read_bytes(a, &mut b)?;
            Ext { sig: u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])), se: u16::from_le_bytes([b[8], b[9]]) }
        }
    })
}

fn fld(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let mut c = Ctx::new(cpu.x87.fcw);
    let src = if i.op0_kind() == OpKind::Memory {
        let v = read_mem_operand(cpu, bus, i, false, &mut c)?;
        if c.pending_de {
            c.flags |= DE;
        }
        // FLD m32/m64 quiets an SNaN (raising IE); FLD m80 copies it.
        if i.memory_size().size() != 10 && v.kind() == Kind::SNaN {
            c.flags |= IE;
            Some(v.quiet())
        } else {
            Some(v)
        }
    } else {
        let n = st_index(i.op0_register());
        if empty(&cpu.x87, n) {
            None
        } else {
            Some(get(&cpu.x87, n))
        }
    };
    let x = &mut cpu.x87;
    // An empty source register is reported before a full stack.
    let Some(v) = src else {
        if commit(x, UNDERFLOW) {
            push(x, INDEFINITE);
        }
        return Ok(());
    };
    if !empty(x, 7) {
        if commit(x, OVERFLOW) {
            push(x, INDEFINITE);
        }
        return Ok(());
    }
    if commit_with(x, c.flags, false) {
        push(x, v);
    }
    Ok(())
}

fn fst(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let popping = i.mnemonic() != Mnemonic::Fst;
    let x = cpu.x87;
    let under = empty(&x, 0);
    let v = if under { INDEFINITE } else { get(&x, 0) };
    let mut c = Ctx::new(x.fcw);
    if under {
        c.flags |= UNDERFLOW;
    }
    if i.op0_kind() == OpKind::Memory {
        let a = super::ea(cpu, i);
        let size = i.memory_size().size();
        let bits = if under {
            // The indefinite in the destination format.
            match size {
                4 => Some(0xffc0_0000),
                8 => Some(0xfff8_0000_0000_0000),
                _ => Some(0),
            }
        } else {
            match size {
                4 => sf::to_ieee(v, 8, 23, &mut c),
                8 => sf::to_ieee(v, 11, 52, &mut c),
                _ => Some(0),
            }
        };
        let store = bits.is_some() && (c.flags & IE == 0 || masked_ie(&x));
        if !store {
            // A store that an unmasked exception suppresses still checks
            // the destination first, as the host does.
            probe(bus, a, size as u64, Access::Write)?;
        } else {
            match (size, bits) {
                (4, Some(b)) => bus.write_u32(a, b as u32)?,
                (8, Some(b)) => bus.write_u64(a, b)?,
                _ => {
                    let mut b = [0u8; 10];
                    b[..8].copy_from_slice(&v.sig.to_le_bytes());
                    b[8..].copy_from_slice(&v.se.to_le_bytes());
                    bus.write_bytes(a, &b)?;
                }
            }
        }
        let x = &mut cpu.x87;
        commit(x, c.flags);
        if store && popping {
            pop(x);
        }
        return Ok(());
    }
    let n = st_index(i.op0_register());
    let x = &mut cpu.x87;
    if under && i.mnemonic() == Mnemonic::Fstpnce {
        // The D9 D8+i alias pops an empty ST0 without a stack fault (as
        // the host does), leaving the destination alone and clearing C1.
        pop(x);
        x.fsw &= !C1;
        return Ok(());
    }
    if commit(x, c.flags) {
        put(x, n, v);
        if popping {
            pop(x);
        }
    }
    Ok(())
}

fn fild(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let mut c = Ctx::new(cpu.x87.fcw);
    let v = read_mem_operand(cpu, bus, i, true, &mut c)?;
    let x = &mut cpu.x87;
    if !empty(x, 7) {
        if commit(x, OVERFLOW) {
            push(x, INDEFINITE);
        }
        return Ok(());
    }
    commit(x, 0);
    push(x, v);
    Ok(())
}

fn fist(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let x = cpu.x87;
    let size = i.memory_size().size() as u32;
    let mut c = Ctx::new(x.fcw);
    let r = if empty(&x, 0) {
        c.flags |= UNDERFLOW;
        None
    } else {
        sf::to_int(get(&x, 0), size * 8, i.mnemonic() == Mnemonic::Fisttp, &mut c)
    };
    let store = r.is_some() || masked_ie(&x);
    let a = super::ea(cpu, i);
    if store {
        let v = r.unwrap_or(i64::MIN >> (64 - size * 8)) as u64;
        super::write_mem(bus, a, size, v)?;
    } else {
        probe(bus, a, size as u64, Access::Write)?;
    }
    let x = &mut cpu.x87;
    commit(x, c.flags);
    if store && i.mnemonic() != Mnemonic::Fist {
        pop(x);
    }
    Ok(())
}

fn fbld(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let mut b = [0u8; 10];
    bus.read_bytes(super::ea(cpu, i), &mut b)?;
    // Eighteen packed digits; invalid digits give an undefined result on
    // hardware, here they are taken at face value.
    let mut v: i64 = 0;
    for k in (0..9).rev() {
        v = v * 100 + ((b[k] >> 4) as i64) * 10 + (b[k] & 15) as i64;
    }
    let mut r = sf::from_i64(v);
    if b[9] & 0x80 != 0 {
        r = r.neg();
    }
    let x = &mut cpu.x87;
    if !empty(x, 7) {
        if commit(x, OVERFLOW) {
            push(x, INDEFINITE);
        }
        return Ok(());
    }
    commit(x, 0);
    push(x, r);
    Ok(())
}

fn fbstp(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let x = cpu.x87;
    let mut c = Ctx::new(x.fcw);
    let (v, sign) = if empty(&x, 0) {
        c.flags |= UNDERFLOW;
        (None, false)
    } else {
        let s = get(&x, 0);
        let r = sf::to_int(s, 64, false, &mut c);
        match r {
            Some(n) if n.unsigned_abs() <= 999_999_999_999_999_999 => (Some(n.unsigned_abs()), s.sign()),
            Some(_) => {
                c.flags = (c.flags | IE) & !(sf::PE | C1);
                (None, false)
            }
            None => (None, false),
        }
    };
    let store = v.is_some() || masked_ie(&x);
    if store {
        let mut b = [0u8; 10];
        match v {
            Some(mut n) => {
                for byte in b.iter_mut().take(9) {
                    let lo = (n % 10) as u8;
                    n /= 10;
                    let hi = (n % 10) as u8;
                    n /= 10;
                    *byte = lo | (hi << 4);
                }
                if sign {
                    b[9] = 0x80;
                }
            }
            None => {
                // The packed-BCD indefinite.
                b[7] = 0xc0;
                b[8] = 0xff;
                b[9] = 0xff;
            }
        }
        bus.write_bytes(super::ea(cpu, i), &b)?;
    } else {
        probe(bus, super::ea(cpu, i), 10, Access::Write)?;
    }
    let x = &mut cpu.x87;
    commit(x, c.flags);
    if store {
        pop(x);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Arithmetic

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    SubR,
    Mul,
    Div,
    DivR,
}

fn arith(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    use Mnemonic as M;
    let m = i.mnemonic();
    let op = match m {
        M::Fadd | M::Faddp | M::Fiadd => Op::Add,
        M::Fsub | M::Fsubp | M::Fisub => Op::Sub,
        M::Fsubr | M::Fsubrp | M::Fisubr => Op::SubR,
        M::Fmul | M::Fmulp | M::Fimul => Op::Mul,
        M::Fdiv | M::Fdivp | M::Fidiv => Op::Div,
        _ => Op::DivR,
    };
    let integer = matches!(m, M::Fiadd | M::Fisub | M::Fisubr | M::Fimul | M::Fidiv | M::Fidivr);
    let popping = matches!(m, M::Faddp | M::Fsubp | M::Fsubrp | M::Fmulp | M::Fdivp | M::Fdivrp);
    let mut c = Ctx::new(cpu.x87.fcw);
    // (destination index, source) with source None = register stack.
    let (dst, src_mem, src_reg) = if i.op0_kind() == OpKind::Memory {
        (0, Some(read_mem_operand(cpu, bus, i, integer, &mut c)?), 0)
    } else if i.op_count() >= 2 {
        (st_index(i.op0_register()), None, st_index(i.op1_register()))
    } else {
        (1, None, 0)
    };
    let x = &mut cpu.x87;
    if empty(x, dst) || (src_mem.is_none() && empty(x, src_reg)) {
        if commit(x, UNDERFLOW) {
            put(x, dst, INDEFINITE);
            if popping {
                pop(x);
            }
        }
        return Ok(());
    }
    let a = get(x, dst);
    let b = src_mem.unwrap_or_else(|| get(x, src_reg));
    let r = binop(op, a, b, &mut c);
    if commit(x, c.flags) {
        put(x, dst, r);
        if popping {
            pop(x);
        }
    }
    Ok(())
}

fn binop(op: Op, a: Ext, b: Ext, c: &mut Ctx) -> Ext {
    match op {
        Op::Add => sf::add(a, b, c),
        Op::Sub => sf::sub(a, b, c),
        Op::SubR => sf::sub(b, a, c),
        Op::Mul => sf::mul(a, b, c),
        Op::Div => sf::div(a, b, c),
        Op::DivR => sf::div(b, a, c),
    }
}

/// ST0 = f(ST0).
fn unary(cpu: &mut CpuState, f: impl Fn(Ext, &mut Ctx) -> Ext) {
    let x = &mut cpu.x87;
    if empty(x, 0) {
        if commit(x, UNDERFLOW) {
            put(x, 0, INDEFINITE);
        }
        return;
    }
    let mut c = Ctx::new(x.fcw);
    let r = f(get(x, 0), &mut c);
    if commit(x, c.flags) {
        put(x, 0, r);
    }
}

// ---------------------------------------------------------------------------
// Comparisons

fn fcom(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    use Mnemonic as M;
    let m = i.mnemonic();
    let pops = match m {
        M::Fcomp | M::Fucomp | M::Ficomp => 1,
        M::Fcompp | M::Fucompp => 2,
        _ => 0,
    };
    let quiet = matches!(m, M::Fucom | M::Fucomp | M::Fucompp);
    let mut c = Ctx::new(cpu.x87.fcw);
    let src = if i.op_count() >= 1 && i.op0_kind() == OpKind::Memory {
        Some(read_mem_operand(cpu, bus, i, matches!(m, M::Ficom | M::Ficomp), &mut c)?)
    } else if m == M::Ftst {
        Some(Ext::ZERO)
    } else {
        None
    };
    let n = if i.op_count() >= 2 {
        st_index(i.op1_register())
    } else if i.op_count() == 1 && i.op0_kind() == OpKind::Register {
        st_index(i.op0_register())
    } else {
        1
    };
    let x = &mut cpu.x87;
    let res = if empty(x, 0) || (src.is_none() && empty(x, n)) {
        c.flags |= UNDERFLOW;
        Cmp::Unordered
    } else {
        let b = src.unwrap_or_else(|| get(x, n));
        sf::compare(get(x, 0), b, !quiet, &mut c)
    };
    let flags = c.flags & !C1;
    let ok = commit(x, flags);
    // The condition codes are written even when an unmasked exception
    // suppresses the pop.
    let unmasked = flags & !x.fcw & 0x3f;
    let cc = if unmasked & IE != 0 {
        C0 | C2 | C3
    } else {
        match res {
            Cmp::Greater => 0,
            Cmp::Less => C0,
            Cmp::Equal => C3,
            Cmp::Unordered => C0 | C2 | C3,
        }
    };
    x.fsw = (x.fsw & !(C0 | C2 | C3)) | cc;
    if ok {
        for _ in 0..pops {
            pop(x);
        }
    }
    Ok(())
}

fn fcomi(cpu: &mut CpuState, i: &Instruction) -> R {
    use Mnemonic as M;
    let m = i.mnemonic();
    let quiet = matches!(m, M::Fucomi | M::Fucomip);
    let n = st_index(i.op1_register());
    let x = &mut cpu.x87;
    let mut c = Ctx::new(x.fcw);
    let res = if empty(x, 0) || empty(x, n) {
        c.flags |= UNDERFLOW;
        Cmp::Unordered
    } else {
        sf::compare(get(x, 0), get(x, n), !quiet, &mut c)
    };
    // C1 is left alone (as the host does) unless the stack underflowed.
    let c1 = x.fsw & C1;
    let flags = c.flags & !C1;
    let ok = commit(x, flags);
    if flags & SF == 0 {
        x.fsw |= c1;
    }
    // ZF/PF/CF are written even when an unmasked exception suppresses the
    // pop; OF, SF and AF are cleared.
    let res = if flags & !x.fcw & IE != 0 { Cmp::Unordered } else { res };
    let f = match res {
        Cmp::Greater => 0,
        Cmp::Less => CF,
        Cmp::Equal => ZF,
        Cmp::Unordered => ZF | PF | CF,
    };
    if ok && matches!(m, M::Fcomip | M::Fucomip) {
        pop(x);
    }
    let old = cpu.flags.arith();
    cpu.flags.set_arith((old & !(CF | PF | AF | ZF | SFLAG | OF)) | f);
    Ok(())
}

// ---------------------------------------------------------------------------
// Environment images

/// The FPU state with FOP filled in. FOP (the last x87 instruction's
/// opcode: low 3 bits of its first byte, then its ModRM byte) is only
/// observable through the save instructions, so rather than decode it for
/// every instruction it is recovered from the code at FIP when saving.
/// Unreadable code leaves it as it was.
fn with_fop(cpu: &CpuState, bus: &mut Bus) -> X87 {
    let mut x = cpu.x87;
    if let Some(fop) = fop_at(bus, x.fip) {
        x.fop = fop;
    }
    x
}

fn fop_at(bus: &mut Bus, ip: u64) -> Option<u16> {
    let mut k = 0;
    while k < 14 {
        let mut b = [0u8; 2];
        bus.fetch_bytes(ip.wrapping_add(k), &mut b[..1]).ok()?;
        match b[0] {
            // Operand/address size, segment and REX prefixes.
            0x66 | 0x67 | 0x26 | 0x2e | 0x36 | 0x3e | 0x64 | 0x65 | 0xf2 | 0xf3 | 0x40..=0x4f => k += 1,
            0xd8..=0xdf => {
                bus.fetch_bytes(ip.wrapping_add(k + 1), &mut b[1..]).ok()?;
                return Some((((b[0] & 7) as u16) << 8) | b[1] as u16);
            }
            _ => return None,
        }
    }
    None
}

/// Check that the `len` (at most 4096) bytes at `a` allow `access`, in
/// ascending page order, without transferring anything: a fault reports
/// the first byte of the first page that does not.
fn probe(bus: &mut Bus, a: u64, len: u64, access: Access) -> R {
    let last = a.wrapping_add(len.max(1) - 1);
    bus.host_span(a, 1, access)?;
    if page_floor(last) != page_floor(a) {
        bus.host_span(page_floor(last), 1, access)?;
    }
    Ok(())
}

/// The access checks of the FNSTENV/FLDENV and FNSAVE/FRSTOR images, as
/// the host performs them before transferring any byte: first the leading
/// field (`head` bytes, the control word in its 16- or 32-bit slot), then
/// the image's last byte. So an image running from an accessible page
/// into an inaccessible one faults at its last byte (unless the leading
/// field itself crosses), and memory is left untouched. At most two pages
/// are involved (`len` <= 108), so after both checks the whole image is
/// accessible.
fn probe_image(bus: &mut Bus, a: u64, len: u64, head: u64, access: Access) -> R {
    probe(bus, a, head, access)?;
    probe(bus, a.wrapping_add(len - 1), 1, access)
}

/// The access checks of the 512-byte FXSAVE/FXRSTOR image (16-byte
/// aligned, so its first 16 bytes share a page): the host checks the last
/// byte first, then the first, so an image with both ends inaccessible
/// faults at its last byte.
fn probe_fx(bus: &mut Bus, a: u64, access: Access) -> R {
    probe(bus, a.wrapping_add(511), 1, access)?;
    probe(bus, a, 16, access)
}

/// The leading field of an environment image of `len` bytes: the control
/// word, in a 16-bit slot (14-byte form) or a 32-bit one (28-byte form).
fn env_head(len: usize) -> u64 {
    if len == 14 {
        2
    } else {
        4
    }
}

/// The protected-mode environment image: 28 bytes, or 14 with a 16-bit
/// operand size (FNSTENV/FLDENV, and the head of FNSAVE/FRSTOR).
fn env_bytes(x: &X87, len: usize) -> Vec<u8> {
    let mut e = vec![0u8; len];
    if len == 14 {
        e[0..2].copy_from_slice(&x.fcw.to_le_bytes());
        e[2..4].copy_from_slice(&x.fsw.to_le_bytes());
        e[4..6].copy_from_slice(&x.ftw.to_le_bytes());
        e[6..8].copy_from_slice(&(x.fip as u16).to_le_bytes());
        e[10..12].copy_from_slice(&(x.fdp as u16).to_le_bytes());
        return e;
    }
    e[0..2].copy_from_slice(&x.fcw.to_le_bytes());
    e[2..4].copy_from_slice(&0xffffu16.to_le_bytes());
    e[4..6].copy_from_slice(&x.fsw.to_le_bytes());
    e[6..8].copy_from_slice(&0xffffu16.to_le_bytes());
    e[8..10].copy_from_slice(&x.ftw.to_le_bytes());
    e[10..12].copy_from_slice(&0xffffu16.to_le_bytes());
    e[12..16].copy_from_slice(&(x.fip as u32).to_le_bytes());
    e[18..20].copy_from_slice(&(x.fop & 0x7ff).to_le_bytes());
    e[20..24].copy_from_slice(&(x.fdp as u32).to_le_bytes());
    e
}

/// Size of the environment part of an FNSTENV/FLDENV/FNSAVE/FRSTOR
/// operand: 14 bytes with a 16-bit operand size, else 28.
fn env_len(i: &Instruction) -> usize {
    match i.memory_size().size() {
        14 | 94 => 14,
        _ => 28,
    }
}

/// The control word as stored: reserved bits 6 (reads as one), 7 and
/// 13..15 are not writable.
fn fcw_value(v: u16) -> u16 {
    (v & 0x1f3f) | 0x40
}

fn load_env(x: &mut X87, e: &[u8]) {
    let le16 = |o: usize| u16::from_le_bytes([e[o], e[o + 1]]);
    let le32 = |o: usize| u32::from_le_bytes([e[o], e[o + 1], e[o + 2], e[o + 3]]);
    x.fcw = fcw_value(le16(0));
    if e.len() == 14 {
        x.fsw = le16(2);
        x.ftw = le16(4);
        x.fip = le16(6) as u64;
        x.fdp = le16(10) as u64;
    } else {
        x.fsw = le16(4);
        x.ftw = le16(8);
        x.fip = le32(12) as u64;
        x.fop = le16(18) & 0x7ff;
        x.fdp = le32(20) as u64;
    }
    retag(x);
    update_es(x);
}

fn fxsave(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let a = super::ea(cpu, i);
    if a & 15 != 0 {
        return Err(Fault::GeneralProtection.into());
    }
    probe_fx(bus, a, Access::Write)?;
    let x = with_fop(cpu, bus);
    // Bytes 416..512 are left alone, as the hardware does.
    let mut b = [0u8; 416];
    b[..160].copy_from_slice(&x.fxsave_legacy(i.mnemonic() == Mnemonic::Fxsave64));
    b[24..28].copy_from_slice(&cpu.mxcsr.to_le_bytes());
    b[28..32].copy_from_slice(&MXCSR_MASK.to_le_bytes());
    for (n, r) in cpu.xmm.iter().enumerate() {
        b[160 + 16 * n..168 + 16 * n].copy_from_slice(&r[0].to_le_bytes());
        b[168 + 16 * n..176 + 16 * n].copy_from_slice(&r[1].to_le_bytes());
    }
    bus.write_bytes(a, &b)?;
    cpu.x87.fop = x.fop;
    Ok(())
}

fn fxrstor(cpu: &mut CpuState, bus: &mut Bus, i: &Instruction) -> R {
    let a = super::ea(cpu, i);
    if a & 15 != 0 {
        return Err(Fault::GeneralProtection.into());
    }
    // The page checks come before the MXCSR check.
    probe_fx(bus, a, Access::Read)?;
    let mut b = [0u8; 416];
    bus.read_bytes(a, &mut b)?;
    let mxcsr = u32::from_le_bytes([b[24], b[25], b[26], b[27]]);
    if mxcsr & !MXCSR_MASK != 0 {
        return Err(Fault::GeneralProtection.into());
    }
    let mut legacy = [0u8; 160];
    legacy.copy_from_slice(&b[..160]);
    cpu.x87.fxrstor_legacy(&legacy, i.mnemonic() == Mnemonic::Fxrstor64);
    cpu.mxcsr = mxcsr;
    for (n, r) in cpu.xmm.iter_mut().enumerate() {
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&b[160 + 16 * n..168 + 16 * n]);
        hi.copy_from_slice(&b[168 + 16 * n..176 + 16 * n]);
        *r = [u64::from_le_bytes(lo), u64::from_le_bytes(hi)];
    }
    Ok(())
}
