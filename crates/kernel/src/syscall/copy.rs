//! In-kernel copies between descriptors: copy_file_range(2),
//! sendfile(2). Both move the bytes through a kernel buffer, chunk by
//! chunk, with the usual offset rules (an explicit offset leaves the file
//! position alone and is updated in place).

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;
use crate::vfs::{FileType, Io, OpenFile};

const CHUNK: usize = 64 * 1024;

fn is_regular(f: &OpenFile) -> bool {
    f.dentry.as_ref().is_some_and(|d| d.inode().kind() == FileType::Regular)
}

/// Copy up to `len` bytes from `src` (at `*src_off`, or its position) to
/// `dst` (likewise). Stops at end of input or a short write.
fn copy(
    ctx: &mut Ctx,
    src: &OpenFile,
    src_off: Option<u64>,
    dst: &OpenFile,
    dst_off: Option<u64>,
    len: u64,
) -> Result<(u64, Option<u64>, Option<u64>), Errno> {
    // Shared mappings' writes reach both files first, and the destination's
    // mappings see the copy after (as read_into/write_from do).
    let _ = super::mm::writeback_file(ctx, src);
    let _ = super::mm::writeback_file(ctx, dst);
    let r = copy_chunks(ctx, src, src_off, dst, dst_off, len);
    if let Ok((n, _, end)) = r {
        // The copy ends at the new offset (or position).
        let end = end.unwrap_or_else(|| dst.offset());
        if n > 0 && dst.ops.seekable() {
            super::mm::refresh_file(ctx, dst, end.saturating_sub(n), end);
        }
    }
    r
}

fn copy_chunks(
    ctx: &mut Ctx,
    src: &OpenFile,
    mut src_off: Option<u64>,
    dst: &OpenFile,
    mut dst_off: Option<u64>,
    len: u64,
) -> Result<(u64, Option<u64>, Option<u64>), Errno> {
    let mut done = 0u64;
    let mut buf = vec![0u8; CHUNK.min(len as usize)];
    while done < len {
        let n = (len - done).min(CHUNK as u64) as usize;
        let r = match src_off {
            Some(o) => src.pread(ctx.host, o, &mut buf[..n]),
            None => src.read(ctx.host, &mut buf[..n]),
        };
        let got = match r {
            Ok(Io::Done(0)) => break,
            Ok(Io::Done(g)) => g,
            Ok(Io::Block) if done == 0 => return Err(Errno::EAGAIN),
            Ok(Io::Block) => break,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        let w = match dst_off {
            Some(o) => dst.pwrite(ctx.host, o, &buf[..got]),
            None => dst.write(ctx.host, &buf[..got]),
        };
        let put = match w {
            Ok(Io::Done(p)) => p,
            Ok(Io::Block) | Err(_) if done > 0 => 0,
            Ok(Io::Block) => return Err(Errno::EAGAIN),
            Err(e) => return Err(e),
        };
        if put < got {
            // Give back what was read but not written.
            match src_off {
                Some(_) => {}
                None if src.ops.seekable() => src.set_offset(src.offset() - (got - put) as u64),
                None => {}
            }
        }
        src_off = src_off.map(|o| o + put as u64);
        dst_off = dst_off.map(|o| o + put as u64);
        done += put as u64;
        if put < got || got < n {
            break;
        }
    }
    Ok((done, src_off, dst_off))
}

fn read_off(ctx: &mut Ctx, p: u64) -> Result<Option<u64>, Errno> {
    if p == 0 {
        return Ok(None);
    }
    let v: i64 = ctx.user().read_val(p)?;
    if v < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Some(v as u64))
}

pub fn sys_copy_file_range(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (fd_in, off_in, fd_out, off_out, len, flags) = (a.arg(0) as i32, a.arg(1), a.arg(2) as i32, a.arg(3), a.arg(4), a.arg(5));
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let (src, dst) = (ctx.file(fd_in)?, ctx.file(fd_out)?);
    if !src.readable() || !dst.writable() || dst.flags() & crate::vfs::file::O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    if !is_regular(&src) || !is_regular(&dst) {
        return Err(Errno::EINVAL);
    }
    let (so, doff) = (read_off(ctx, off_in)?, read_off(ctx, off_out)?);
    let len = len.min(super::read_write::MAX_RW_COUNT);
    // Overlapping ranges of one file are refused, as Linux does.
    if src.stat()?.ino == dst.stat()?.ino && src.stat()?.dev == dst.stat()?.dev {
        let (s, d) = (so.unwrap_or(src.offset()), doff.unwrap_or(dst.offset()));
        if s < d.saturating_add(len) && d < s.saturating_add(len) {
            return Err(Errno::EINVAL);
        }
    }
    let (n, so, doff) = copy(ctx, &src, so, &dst, doff, len)?;
    if let Some(o) = so {
        ctx.user().write_val(off_in, &(o as i64))?;
    }
    if let Some(o) = doff {
        ctx.user().write_val(off_out, &(o as i64))?;
    }
    ret(n)
}

pub fn sys_sendfile(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (out_fd, in_fd, off, count) = (a.arg(0) as i32, a.arg(1) as i32, a.arg(2), a.arg(3));
    let (dst, src) = (ctx.file(out_fd)?, ctx.file(in_fd)?);
    if !src.readable() || !dst.writable() {
        return Err(Errno::EBADF);
    }
    // The input must be a file that can be mapped (seekable), as Linux
    // requires.
    if !src.ops.seekable() {
        return Err(Errno::EINVAL);
    }
    let so = read_off(ctx, off)?;
    let (n, so, _) = copy(ctx, &src, so, &dst, None, count.min(super::read_write::MAX_RW_COUNT))?;
    if let Some(o) = so {
        ctx.user().write_val(off, &(o as i64))?;
    }
    super::signal::on_epipe(ctx, ret(n))
}
