//! Capabilities: capget(2), capset(2) and the capability prctls
//! (PR_CAPBSET_READ/DROP, PR_GET/SET_KEEPCAPS, PR_GET/SET_SECUREBITS,
//! PR_CAP_AMBIENT). The sets live in `Process::cred` (`task/cred.rs`):
//! root has every capability, others none, and these calls may only take
//! capabilities away (or move them within what the rules allow).

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;
use crate::task::cred::{CAP_FULL, CAP_LAST_CAP, SECBIT_KEEP_CAPS, SECBIT_KEEP_CAPS_LOCKED, SECBIT_NO_CAP_AMBIENT_RAISE};

const CAP_SETPCAP: u64 = 1 << 8;

const CAP_V1: u32 = 0x1998_0330;
const CAP_V2: u32 = 0x2007_1026;
const CAP_V3: u32 = 0x2008_0522;

/// The header's version: how many 32-bit data words follow (1 for v1, 2
/// for v2/v3). An unknown version gets EINVAL with v3 written back.
fn cap_header(ctx: &mut Ctx, hdr: u64) -> Result<(usize, i32), Errno> {
    let version: u32 = ctx.user().read_val(hdr)?;
    let pid: i32 = ctx.user().read_val(hdr.wrapping_add(4))?;
    match version {
        CAP_V1 => Ok((1, pid)),
        CAP_V2 | CAP_V3 => Ok((2, pid)),
        _ => {
            ctx.user().write_val(hdr, &CAP_V3)?;
            Err(Errno::EINVAL)
        }
    }
}

/// capget(hdrp, datap): the caller's sets (another process's only as
/// the caller's own: oxvm does not look into other processes here).
pub fn sys_capget(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (words, pid) = match cap_header(ctx, a.arg(0)) {
        // Asking with no data pointer is how callers negotiate: the
        // preferred version is written back and that is a success.
        Err(Errno::EINVAL) if a.arg(1) == 0 => return ret(0),
        r => r?,
    };
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != 0 && pid as u32 != ctx.process.pid && pid as u32 != ctx.tid {
        return Err(Errno::ESRCH);
    }
    // A NULL data pointer only negotiates the version.
    if a.arg(1) == 0 {
        return ret(0);
    }
    let x = &ctx.process.cred;
    let (e, p, i) = (x.cap_effective, x.cap_permitted, x.cap_inheritable);
    let mut b = Vec::new();
    for w in 0..words {
        for set in [e, p, i] {
            b.extend_from_slice(&((set >> (32 * w)) as u32).to_le_bytes());
        }
    }
    ctx.user().write_bytes(a.arg(1), &b)?;
    ret(0)
}

/// capset(hdrp, datap): the caller's own sets; permitted may only shrink,
/// effective must stay within permitted, inheritable within permitted
/// (no CAP_SETPCAP-style widening).
pub fn sys_capset(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (words, pid) = cap_header(ctx, a.arg(0))?;
    if pid != 0 && pid as u32 != ctx.process.pid && pid as u32 != ctx.tid {
        return Err(Errno::EPERM);
    }
    let mut b = vec![0u8; 12 * words];
    ctx.user().read_bytes(a.arg(1), &mut b)?;
    let word = |w: usize, k: usize| u64::from(u32::from_le_bytes(b[12 * w + 4 * k..12 * w + 4 * k + 4].try_into().unwrap())) << (32 * w);
    let (mut e, mut p, mut i) = (0u64, 0u64, 0u64);
    for w in 0..words {
        e |= word(w, 0);
        p |= word(w, 1);
        i |= word(w, 2);
    }
    let full = CAP_FULL;
    let (e, p, i) = (e & full, p & full, i & full);
    let x = &mut ctx.process.cred;
    // A v1 call cannot see the upper 32 capabilities: they are kept.
    let (e, p, i) = if words == 1 {
        let hi = !0xffff_ffffu64;
        (e | x.cap_effective & hi, p | x.cap_permitted & hi, i | x.cap_inheritable & hi)
    } else {
        (e, p, i)
    };
    // CAP_SETPCAP lets inheritable grow up to the bounding set (all).
    let inh_bound =
        if x.cap_effective & CAP_SETPCAP != 0 { x.cap_inheritable | x.cap_bounding } else { x.cap_inheritable | x.cap_permitted };
    if p & !x.cap_permitted != 0 || e & !p != 0 || i & !inh_bound != 0 {
        return Err(Errno::EPERM);
    }
    (x.cap_effective, x.cap_permitted, x.cap_inheritable) = (e, p, i);
    // The ambient set never holds what is not permitted and inheritable.
    x.cap_ambient &= p & i;
    ret(0)
}

const PR_GET_KEEPCAPS: u64 = 7;
const PR_SET_KEEPCAPS: u64 = 8;
const PR_CAPBSET_READ: u64 = 23;
const PR_CAPBSET_DROP: u64 = 24;
const PR_GET_SECUREBITS: u64 = 27;
const PR_SET_SECUREBITS: u64 = 28;
const PR_CAP_AMBIENT: u64 = 47;
/// The securebits Linux knows (the flags and their lock bits).
const SECURE_ALL: u32 = 0xff;
const SECURE_ALL_LOCKS: u32 = 0xaa;

/// The capability prctls; None for any other option (prctl carries on).
pub fn prctl(ctx: &mut Ctx, a: &SyscallArgs) -> Option<SyscallResult> {
    let (op, arg) = (a.arg(0), a.arg(1));
    let x = &mut ctx.process.cred;
    let cap = |c: u64| if c > u64::from(CAP_LAST_CAP) { Err(Errno::EINVAL) } else { Ok(1u64 << c) };
    Some(match op {
        PR_CAPBSET_READ => cap(arg).map(|b| super::SyscallReturn::Return(u64::from(x.cap_bounding & b != 0))),
        PR_CAPBSET_DROP => cap(arg).and_then(|b| {
            if x.cap_effective & CAP_SETPCAP == 0 {
                return Err(Errno::EPERM);
            }
            x.cap_bounding &= !b;
            ret(0)
        }),
        PR_GET_KEEPCAPS => ret(u64::from(x.securebits & SECBIT_KEEP_CAPS != 0)),
        PR_SET_KEEPCAPS => {
            if arg > 1 {
                return Some(Err(Errno::EINVAL));
            }
            if x.securebits & SECBIT_KEEP_CAPS_LOCKED != 0 {
                return Some(Err(Errno::EPERM));
            }
            if arg == 1 {
                x.securebits |= SECBIT_KEEP_CAPS;
            } else {
                x.securebits &= !SECBIT_KEEP_CAPS;
            }
            ret(0)
        }
        PR_GET_SECUREBITS => ret(u64::from(x.securebits)),
        PR_SET_SECUREBITS => {
            let (old, new) = (x.securebits, arg as u32);
            // A locked bit cannot change, a lock cannot be released, and
            // the change needs CAP_SETPCAP.
            let locked = (old & SECURE_ALL_LOCKS) >> 1;
            if arg > u64::from(SECURE_ALL)
                || locked & (old ^ new) != 0
                || old & SECURE_ALL_LOCKS & !new != 0
                || x.cap_effective & CAP_SETPCAP == 0
            {
                return Some(Err(Errno::EPERM));
            }
            x.securebits = new;
            ret(0)
        }
        PR_CAP_AMBIENT => ambient(ctx, a),
        _ => return None,
    })
}

/// PR_CAP_AMBIENT: IS_SET, RAISE (only what is permitted and
/// inheritable), LOWER, CLEAR_ALL.
fn ambient(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (sub, c) = (a.arg(1), a.arg(2));
    if a.arg(3) != 0 || a.arg(4) != 0 {
        return Err(Errno::EINVAL);
    }
    let x = &mut ctx.process.cred;
    if sub == 4 {
        if c != 0 {
            return Err(Errno::EINVAL);
        }
        x.cap_ambient = 0;
        return ret(0);
    }
    if c > u64::from(CAP_LAST_CAP) {
        return Err(Errno::EINVAL);
    }
    let bit = 1u64 << c;
    match sub {
        1 => ret(u64::from(x.cap_ambient & bit != 0)),
        2 => {
            if x.cap_permitted & x.cap_inheritable & bit == 0 || x.securebits & SECBIT_NO_CAP_AMBIENT_RAISE != 0 {
                return Err(Errno::EPERM);
            }
            x.cap_ambient |= bit;
            ret(0)
        }
        3 => {
            x.cap_ambient &= !bit;
            ret(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
