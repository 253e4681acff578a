//! splice(2) and tee(2): moving bytes between a pipe and another file
//! (or a second pipe), and copying them from one pipe to another without
//! consuming them. The bytes go through a kernel buffer (pipes hold bytes
//! here, not page references), with Linux's rules: one side must be a
//! pipe, a pipe side takes no offset (ESPIPE), the other side's offset
//! is used and updated in place if given (the file position otherwise),
//! an empty input pipe gives 0 once no writer is left and waits before,
//! a full output pipe waits, and an output pipe without readers raises
//! SIGPIPE and fails with EPIPE. SPLICE_F_NONBLOCK, or O_NONBLOCK on a
//! pipe, turns those waits into EAGAIN.

use super::read_write::MAX_RW_COUNT;
use super::{ret, Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;
use crate::fs::pipe::{pipe_of, PipeRef};
use crate::vfs::file::{O_APPEND, O_NONBLOCK};
use crate::vfs::{FileType, Io, OpenFile};

const SPLICE_F_NONBLOCK: u64 = 2;
/// MOVE, NONBLOCK, MORE and GIFT: MOVE, MORE and GIFT are hints.
const SPLICE_F_ALL: u64 = 0xf;

/// Whether an input pipe has bytes: Ok(true), or the result to give.
fn input_ready(p: &PipeRef, nonblock: bool) -> Result<bool, SyscallResult> {
    if !p.is_empty() {
        return Ok(true);
    }
    if !p.has_writers() {
        return Err(ret(0));
    }
    Err(if nonblock { Err(Errno::EAGAIN) } else { Ok(SyscallReturn::Block) })
}

/// Whether an output pipe has readers and room: Ok(()), or the result.
fn output_ready(p: &PipeRef, nonblock: bool) -> Result<(), SyscallResult> {
    if !p.has_readers() {
        return Err(Err(Errno::EPIPE));
    }
    if p.room() == 0 {
        return Err(if nonblock { Err(Errno::EAGAIN) } else { Ok(SyscallReturn::Block) });
    }
    Ok(())
}

/// The offset a non-pipe side names: None for its position. An offset
/// needs a file that can seek, and must not be negative.
fn read_off(ctx: &mut Ctx, f: &OpenFile, p: u64) -> Result<Option<u64>, Errno> {
    if p == 0 {
        return Ok(None);
    }
    let v: i64 = ctx.user().read_val(p)?;
    if !f.ops.seekable() || v < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Some(v as u64))
}

fn is_dir(f: &OpenFile) -> bool {
    f.dentry.as_ref().is_some_and(|d| d.inode().kind() == FileType::Directory)
}

pub fn sys_splice(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (fd_in, off_in, fd_out, off_out, len, flags) = (a.arg(0) as i32, a.arg(1), a.arg(2) as i32, a.arg(3), a.arg(4), a.arg(5));
    if len == 0 {
        return ret(0);
    }
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let (src, dst) = (ctx.file(fd_in)?, ctx.file(fd_out)?);
    let (ipipe, opipe) = (pipe_of(&*src.ops), pipe_of(&*dst.ops));
    if (ipipe.is_some() && off_in != 0) || (opipe.is_some() && off_out != 0) {
        return Err(Errno::ESPIPE);
    }
    if !src.readable() || !dst.writable() {
        return Err(Errno::EBADF);
    }
    let len = len.min(MAX_RW_COUNT) as usize;
    let mut nonblock = flags & SPLICE_F_NONBLOCK != 0;
    let r = match (ipipe, opipe) {
        (Some(i), Some(o)) => {
            if i.same(&o) {
                return Err(Errno::EINVAL);
            }
            nonblock |= (src.flags() | dst.flags()) & O_NONBLOCK != 0;
            pipe_to_pipe(&i, &o, len, nonblock, true)
        }
        (Some(i), None) => {
            let off = read_off(ctx, &dst, off_out)?;
            if dst.flags() & O_APPEND != 0 {
                return Err(Errno::EINVAL);
            }
            nonblock |= src.flags() & O_NONBLOCK != 0;
            match input_ready(&i, nonblock) {
                Ok(_) => {}
                Err(r) => return r,
            }
            let data = i.peek(len);
            let _ = super::mm::writeback_file(ctx, &dst);
            let w = match off {
                Some(o) => dst.pwrite(ctx.host, o, &data),
                None => dst.write(ctx.host, &data),
            };
            match w {
                Ok(Io::Done(n)) => {
                    i.consume(n);
                    if n > 0 && dst.ops.seekable() {
                        let end = off.map_or_else(|| dst.offset(), |o| o + n as u64);
                        super::mm::refresh_file(ctx, &dst, end - n as u64, end);
                    }
                    if let Some(o) = off {
                        ctx.user().write_val(off_out, &((o + n as u64) as i64))?;
                    }
                    ret(n as u64)
                }
                Ok(Io::Block) if nonblock => Err(Errno::EAGAIN),
                Ok(Io::Block) => Ok(SyscallReturn::Block),
                Err(e) => Err(e),
            }
        }
        (None, Some(o)) => {
            if is_dir(&src) {
                return Err(Errno::EINVAL);
            }
            let off = read_off(ctx, &src, off_in)?;
            nonblock |= dst.flags() & O_NONBLOCK != 0;
            match output_ready(&o, nonblock) {
                Ok(()) => file_to_pipe(ctx, &src, off, off_in, &o, len.min(o.room()), nonblock),
                Err(r) => r,
            }
        }
        (None, None) => Err(Errno::EINVAL),
    };
    super::signal::on_epipe(ctx, r)
}

/// Read up to `len` bytes of `src` (at `off`, or its position) into the
/// pipe, which has that much room.
fn file_to_pipe(ctx: &mut Ctx, src: &OpenFile, off: Option<u64>, off_ptr: u64, o: &PipeRef, len: usize, nonblock: bool) -> SyscallResult {
    let _ = super::mm::writeback_file(ctx, src);
    let mut buf = vec![0u8; len];
    let r = match off {
        Some(p) => src.pread(ctx.host, p, &mut buf),
        None => src.read(ctx.host, &mut buf),
    };
    match r {
        Ok(Io::Done(n)) => {
            o.push(&buf[..n]);
            if let Some(p) = off {
                ctx.user().write_val(off_ptr, &((p + n as u64) as i64))?;
            }
            ret(n as u64)
        }
        Ok(Io::Block) if nonblock => Err(Errno::EAGAIN),
        Ok(Io::Block) => Ok(SyscallReturn::Block),
        Err(e) => Err(e),
    }
}

/// Move (splice) or copy (tee) up to `len` bytes from pipe `i` to `o`.
fn pipe_to_pipe(i: &PipeRef, o: &PipeRef, len: usize, nonblock: bool, take: bool) -> SyscallResult {
    match input_ready(i, nonblock) {
        Ok(_) => {}
        Err(r) => return r,
    }
    if let Err(r) = output_ready(o, nonblock) {
        return r;
    }
    let data = i.peek(len.min(o.room()));
    let n = o.push(&data);
    if take {
        i.consume(n);
    }
    ret(n as u64)
}

pub fn sys_tee(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (fd_in, fd_out, len, flags) = (a.arg(0) as i32, a.arg(1) as i32, a.arg(2), a.arg(3));
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return ret(0);
    }
    let (src, dst) = (ctx.file(fd_in)?, ctx.file(fd_out)?);
    if !src.readable() || !dst.writable() {
        return Err(Errno::EBADF);
    }
    let r = match (pipe_of(&*src.ops), pipe_of(&*dst.ops)) {
        (Some(i), Some(o)) if !i.same(&o) => {
            let nonblock = flags & SPLICE_F_NONBLOCK != 0 || (src.flags() | dst.flags()) & O_NONBLOCK != 0;
            pipe_to_pipe(&i, &o, len.min(MAX_RW_COUNT) as usize, nonblock, false)
        }
        _ => Err(Errno::EINVAL),
    };
    super::signal::on_epipe(ctx, r)
}
