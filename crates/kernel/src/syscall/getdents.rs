//! getdents64(2) and the older getdents(2).

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;
use crate::vfs::DirEntry;

/// The record layouts: both start with d_ino, d_off and d_reclen (18
/// bytes); they differ in where d_type goes.
#[derive(Clone, Copy)]
enum Layout {
    /// struct linux_dirent64: d_type at byte 18, the name after it.
    Dirent64,
    /// struct linux_dirent: the name at byte 18, d_type in the record's
    /// last byte (after the name's NUL).
    Dirent,
}

impl Layout {
    fn reclen(self, name: usize) -> usize {
        match self {
            Layout::Dirent64 => 19 + name + 1,
            Layout::Dirent => 18 + name + 2,
        }
        .next_multiple_of(8)
    }

    fn encode(self, rec: &mut [u8], e: &DirEntry, d_off: u64) {
        let reclen = rec.len();
        rec[..8].copy_from_slice(&e.ino.to_le_bytes());
        rec[8..16].copy_from_slice(&d_off.to_le_bytes());
        rec[16..18].copy_from_slice(&(reclen as u16).to_le_bytes());
        let d_type = e.kind.map_or(0, |k| k.dirent_type());
        match self {
            Layout::Dirent64 => {
                rec[18] = d_type;
                rec[19..19 + e.name.len()].copy_from_slice(&e.name);
            }
            Layout::Dirent => {
                rec[18..18 + e.name.len()].copy_from_slice(&e.name);
                rec[reclen - 1] = d_type;
            }
        }
    }
}

/// Fill the buffer with as many whole records as fit, from the file's
/// position (an index into its listing: entry i's d_off is i + 1).
fn getdents(ctx: &mut Ctx, a: &SyscallArgs, layout: Layout) -> SyscallResult {
    let file = ctx.file(a.arg(0) as i32)?;
    let (buf, count) = (a.arg(1), a.arg(2).min(i32::MAX as u64) as usize);
    let listing = file.listing()?;
    let start = file.offset() as usize;
    let mut out = Vec::new();
    let mut next = start;
    for (i, e) in listing.iter().enumerate().skip(start) {
        let reclen = layout.reclen(e.name.len());
        if out.len() + reclen > count {
            break;
        }
        let at = out.len();
        out.resize(at + reclen, 0);
        layout.encode(&mut out[at..], e, (i + 1) as u64);
        next = i + 1;
    }
    if out.is_empty() && start < listing.len() {
        return Err(Errno::EINVAL);
    }
    ctx.user().write_bytes(buf, &out)?;
    file.set_offset(next as u64);
    ret(out.len() as u64)
}

pub fn sys_getdents64(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    getdents(ctx, a, Layout::Dirent64)
}

pub fn sys_getdents(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    getdents(ctx, a, Layout::Dirent)
}
