//! getdents64(2) and the older getdents(2).

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;

/// struct linux_dirent64's fixed part: d_ino, d_off, d_reclen, d_type.
const HEADER: usize = 19;

pub fn sys_getdents64(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let file = ctx.file(a.arg(0) as i32)?;
    let (buf, count) = (a.arg(1), a.arg(2).min(i32::MAX as u64) as usize);
    let listing = file.listing()?;
    // The position is an index into the listing: entry i's d_off is i + 1.
    let start = file.offset() as usize;
    let mut out = Vec::new();
    let mut next = start;
    for (i, e) in listing.iter().enumerate().skip(start) {
        let reclen = (HEADER + e.name.len() + 1).next_multiple_of(8);
        if out.len() + reclen > count {
            break;
        }
        let at = out.len();
        out.resize(at + reclen, 0);
        out[at..at + 8].copy_from_slice(&e.ino.to_le_bytes());
        out[at + 8..at + 16].copy_from_slice(&((i + 1) as u64).to_le_bytes());
        out[at + 16..at + 18].copy_from_slice(&(reclen as u16).to_le_bytes());
        out[at + 18] = e.kind.map_or(0, |k| k.dirent_type());
        out[at + HEADER..at + HEADER + e.name.len()].copy_from_slice(&e.name);
        next = i + 1;
    }
    if out.is_empty() && start < listing.len() {
        return Err(Errno::EINVAL);
    }
    ctx.user().write_bytes(buf, &out)?;
    file.set_offset(next as u64);
    ret(out.len() as u64)
}

/// getdents(2): struct linux_dirent (d_ino, d_off, d_reclen, d_name, a
/// NUL, then d_type in the record's last byte).
pub fn sys_getdents(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let file = ctx.file(a.arg(0) as i32)?;
    let (buf, count) = (a.arg(1), a.arg(2).min(i32::MAX as u64) as usize);
    let listing = file.listing()?;
    let start = file.offset() as usize;
    let mut out = Vec::new();
    let mut next = start;
    for (i, e) in listing.iter().enumerate().skip(start) {
        let reclen = (18 + e.name.len() + 2).next_multiple_of(8);
        if out.len() + reclen > count {
            break;
        }
        let at = out.len();
        out.resize(at + reclen, 0);
        out[at..at + 8].copy_from_slice(&e.ino.to_le_bytes());
        out[at + 8..at + 16].copy_from_slice(&((i + 1) as u64).to_le_bytes());
        out[at + 16..at + 18].copy_from_slice(&(reclen as u16).to_le_bytes());
        out[at + 18..at + 18 + e.name.len()].copy_from_slice(&e.name);
        out[at + reclen - 1] = e.kind.map_or(0, |k| k.dirent_type());
        next = i + 1;
    }
    if out.is_empty() && start < listing.len() {
        return Err(Errno::EINVAL);
    }
    ctx.user().write_bytes(buf, &out)?;
    file.set_offset(next as u64);
    ret(out.len() as u64)
}
