//! read(2), write(2), pread64(2), pwrite64(2), readv(2), writev(2),
//! lseek(2).

use std::rc::Rc;

use super::signal::on_epipe;
use super::{ret, Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;
use crate::vfs::file::{O_APPEND, O_NONBLOCK};
use crate::vfs::{FileType, Io, OpenFile};
use oxvm_cpu::state::reg;

/// Copy at most this much per filesystem call, so a huge count does not
/// make the kernel allocate a huge buffer.
const CHUNK: usize = 64 * 1024;
/// Linux caps one read or write at 2 GiB minus a page.
pub const MAX_RW_COUNT: u64 = 0x7fff_f000;
/// Most iovecs one readv/writev takes (UIO_MAXIOV).
const UIO_MAXIOV: u64 = 1024;

/// Read up to `count` bytes into guest memory at `buf`, at the file
/// position (`pos` None) or at `pos`. Stops at the first short read.
fn read_into(ctx: &mut Ctx, file: &OpenFile, buf: u64, count: u64, pos: Option<u64>) -> Result<Io, Errno> {
    // Shared mappings' writes first (see mm/shmem.rs).
    let _ = super::mm::writeback_file(ctx, file);
    let mut done = 0u64;
    let mut chunk = vec![0u8; CHUNK.min(count as usize)];
    while done < count {
        let n = (count - done).min(CHUNK as u64) as usize;
        let r = match pos {
            None => file.read(ctx.host, &mut chunk[..n]),
            Some(p) => file.pread(ctx.host, p + done, &mut chunk[..n]),
        };
        let got = match r {
            Ok(Io::Done(g)) => g,
            Ok(Io::Block) if done == 0 => return Ok(Io::Block),
            Ok(Io::Block) => break,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        if let Err(e) = ctx.user().write_bytes(buf.wrapping_add(done), &chunk[..got]) {
            // Bytes that never reached the guest were not read: the
            // position goes back to just after the last delivered byte.
            if pos.is_none() && file.ops.seekable() {
                file.set_offset(file.offset() - got as u64);
            }
            return if done > 0 { Ok(Io::Done(done as usize)) } else { Err(e) };
        }
        done += got as u64;
        if got < n {
            break;
        }
    }
    Ok(Io::Done(done as usize))
}

/// Write `count` bytes from guest memory at `buf`.
fn write_from(ctx: &mut Ctx, file: &OpenFile, buf: u64, count: u64, pos: Option<u64>) -> Result<Io, Errno> {
    // Shared mappings' writes go to the file first, and see this write
    // after (see mm/shmem.rs).
    let _ = super::mm::writeback_file(ctx, file);
    let r = write_chunks(ctx, file, buf, count, pos);
    if let Ok(Io::Done(n)) = r {
        // Where the bytes went: at `pos`, or just before the new position;
        // O_APPEND (pwrite too) puts them at the end.
        let n = n as u64;
        let end = match pos {
            _ if file.flags() & O_APPEND != 0 => file.stat().map_or(u64::MAX, |st| st.size),
            Some(p) => p + n,
            None => file.offset(),
        };
        if n > 0 && file.ops.seekable() {
            super::mm::refresh_file(ctx, file, end.saturating_sub(n), end);
        }
    }
    r
}

fn write_chunks(ctx: &mut Ctx, file: &OpenFile, buf: u64, count: u64, pos: Option<u64>) -> Result<Io, Errno> {
    let mut done = 0u64;
    let mut chunk = vec![0u8; CHUNK.min(count as usize)];
    while done < count {
        let n = (count - done).min(CHUNK as u64) as usize;
        // A fault after some bytes went out reports the partial count, as
        // Linux does.
        if let Err(e) = ctx.user().read_bytes(buf.wrapping_add(done), &mut chunk[..n]) {
            return if done > 0 { Ok(Io::Done(done as usize)) } else { Err(e) };
        }
        let r = match pos {
            None => file.write(ctx.host, &chunk[..n]),
            Some(p) => file.pwrite(ctx.host, p + done, &chunk[..n]),
        };
        let put = match r {
            Ok(Io::Done(p)) => p,
            Ok(Io::Block) if done == 0 => return Ok(Io::Block),
            Ok(Io::Block) => break,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += put as u64;
        if put < n {
            break;
        }
    }
    Ok(Io::Done(done as usize))
}

fn io_ret(r: Io) -> SyscallResult {
    match r {
        Io::Done(n) => ret(n as u64),
        Io::Block => Ok(SyscallReturn::Block),
    }
}

fn checked_buf(buf: u64, count: u64) -> Result<u64, Errno> {
    let count = count.min(MAX_RW_COUNT);
    buf.checked_add(count).ok_or(Errno::EFAULT)?;
    Ok(count)
}

fn not_dir(file: &OpenFile) -> Result<(), Errno> {
    if file.dentry.as_ref().is_some_and(|d| d.inode().kind() == FileType::Directory) {
        return Err(Errno::EISDIR);
    }
    Ok(())
}

pub fn sys_read(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let file = ctx.file(a.arg(0) as i32)?;
    not_dir(&file)?;
    let count = checked_buf(a.arg(1), a.arg(2))?;
    // Sockets: one message per call, whatever the size (msg.rs).
    if let Some(s) = crate::net::sock_of(&file) {
        return super::msg::sock_readv(ctx, &file, &s, &[(a.arg(1), count)]);
    }
    io_ret(read_into(ctx, &file, a.arg(1), count, None)?)
}

pub fn sys_write(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let file = ctx.file(a.arg(0) as i32)?;
    let count = checked_buf(a.arg(1), a.arg(2))?;
    if let Some(s) = crate::net::sock_of(&file) {
        let r = super::msg::sock_writev(ctx, &file, &s, &[(a.arg(1), count)]);
        return on_epipe(ctx, r);
    }
    let r = write_from(ctx, &file, a.arg(1), count, None);
    // A blocking write to a pipe returns only once everything is written:
    // after a partial write the call restarts for the rest, its buffer and
    // count advanced in the registers and the bytes so far kept in
    // `ctx.progress`.
    let blocking_stream = !file.ops.seekable() && file.flags() & O_NONBLOCK == 0;
    let r = match r {
        Ok(Io::Done(n)) if blocking_stream && n > 0 && (n as u64) < count => {
            *ctx.progress += n as u64;
            ctx.cpu.gpr[reg::RSI] = a.arg(1).wrapping_add(n as u64);
            ctx.cpu.gpr[reg::RDX] = count - n as u64;
            return Ok(SyscallReturn::Block);
        }
        Ok(Io::Done(n)) => ret(std::mem::take(ctx.progress) + n as u64),
        Ok(Io::Block) => Ok(SyscallReturn::Block),
        // A failure after part of the data went out reports that part.
        Err(_) if *ctx.progress > 0 => ret(std::mem::take(ctx.progress)),
        Err(e) => Err(e),
    };
    on_epipe(ctx, r)
}

fn position(v: u64) -> Result<u64, Errno> {
    if (v as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(v)
}

pub fn sys_pread64(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let file = ctx.file(a.arg(0) as i32)?;
    not_dir(&file)?;
    let count = checked_buf(a.arg(1), a.arg(2))?;
    let pos = position(a.arg(3))?;
    io_ret(read_into(ctx, &file, a.arg(1), count, Some(pos))?)
}

pub fn sys_pwrite64(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let file = ctx.file(a.arg(0) as i32)?;
    let count = checked_buf(a.arg(1), a.arg(2))?;
    let pos = position(a.arg(3))?;
    let r = write_from(ctx, &file, a.arg(1), count, Some(pos)).and_then(io_ret);
    on_epipe(ctx, r)
}

/// The (base, len) pairs of an iovec array.
fn iovecs(ctx: &mut Ctx, addr: u64, n: u64) -> Result<Vec<(u64, u64)>, Errno> {
    if n > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::with_capacity(n as usize);
    let mut total = 0u64;
    for i in 0..n {
        let base = ctx.user().read_val::<u64>(addr.wrapping_add(16 * i))?;
        let len = ctx.user().read_val::<u64>(addr.wrapping_add(16 * i + 8))?;
        if (len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        total = total.saturating_add(len);
        v.push((base, len.min(MAX_RW_COUNT.saturating_sub(total - len))));
    }
    Ok(v)
}

fn vector_io(ctx: &mut Ctx, a: &SyscallArgs, write: bool) -> SyscallResult {
    let file: Rc<OpenFile> = ctx.file(a.arg(0) as i32)?;
    if !write {
        not_dir(&file)?;
    }
    let vecs = iovecs(ctx, a.arg(1), a.arg(2))?;
    if let Some(s) = crate::net::sock_of(&file) {
        return if write { super::msg::sock_writev(ctx, &file, &s, &vecs) } else { super::msg::sock_readv(ctx, &file, &s, &vecs) };
    }
    // A pipe takes a gathered write of at most PIPE_BUF bytes whole, as
    // one write(2) of them (never interleaved with other writers).
    let total: u64 = vecs.iter().map(|v| v.1).sum();
    if write && total <= crate::fs::pipe::PIPE_BUF as u64 && crate::fs::pipe::pipe_of(&*file.ops).is_some() {
        let mut data = vec![0u8; total as usize];
        let mut at = 0;
        for &(base, len) in &vecs {
            ctx.user().read_bytes(base, &mut data[at..at + len as usize])?;
            at += len as usize;
        }
        return io_ret(file.write(ctx.host, &data)?);
    }
    let mut done = 0usize;
    for (base, len) in vecs {
        if len == 0 {
            continue;
        }
        let r = if write { write_from(ctx, &file, base, len, None) } else { read_into(ctx, &file, base, len, None) };
        match r {
            Ok(Io::Done(n)) => {
                done += n;
                if (n as u64) < len {
                    break;
                }
            }
            Ok(Io::Block) if done == 0 => return Ok(SyscallReturn::Block),
            Ok(Io::Block) => break,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    ret(done as u64)
}

pub fn sys_readv(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    vector_io(ctx, a, false)
}

pub fn sys_writev(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let r = vector_io(ctx, a, true);
    on_epipe(ctx, r)
}

pub const SEEK_SET: u64 = 0;
pub const SEEK_CUR: u64 = 1;
pub const SEEK_END: u64 = 2;
pub const SEEK_DATA: u64 = 3;
pub const SEEK_HOLE: u64 = 4;

pub fn sys_lseek(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let file = ctx.file(a.arg(0) as i32)?;
    let (off, whence) = (a.arg(1) as i64, a.arg(2));
    if !file.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let size = || file.stat().map(|s| s.size as i64);
    let new = match whence {
        SEEK_SET => Some(off),
        SEEK_CUR => (file.offset() as i64).checked_add(off),
        SEEK_END => size()?.checked_add(off),
        // No holes are known: all data, one hole at the end.
        SEEK_DATA if off >= 0 && off < size()? => Some(off),
        SEEK_HOLE if off >= 0 && off < size()? => Some(size()?),
        SEEK_DATA | SEEK_HOLE => return Err(Errno::ENXIO),
        _ => return Err(Errno::EINVAL),
    };
    let new = new.filter(|&n| n >= 0).ok_or(Errno::EINVAL)?;
    file.set_offset(new as u64);
    ret(new as u64)
}

/// preadv2(2)/pwritev2(2) flags known to Linux 6.1 (the release uname reports).
const RWF_HIPRI: u64 = 0x1;
const RWF_DSYNC: u64 = 0x2;
const RWF_SYNC: u64 = 0x4;
const RWF_NOWAIT: u64 = 0x8;
const RWF_APPEND: u64 = 0x10;
const RWF_SUPPORTED: u64 = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND;

/// preadv(2)/pwritev(2) and the v2 forms: the vector calls at an explicit
/// position (-1 in the v2 forms: the file position, as readv/writev).
fn vector_at(ctx: &mut Ctx, a: &SyscallArgs, write: bool, v2: bool) -> SyscallResult {
    let file: Rc<OpenFile> = ctx.file(a.arg(0) as i32)?;
    if !write {
        not_dir(&file)?;
    }
    let mut pos = a.arg(3) as i64;
    let flags = if v2 { a.arg(5) } else { 0 };
    if flags & !RWF_SUPPORTED != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    // RWF_HIPRI (polled I/O), RWF_DSYNC and RWF_SYNC change nothing here:
    // every write already reached the file when the call returns. Linux
    // ignores RWF_APPEND on reads, as on files that cannot seek.
    let append = write && flags & RWF_APPEND != 0 && file.ops.seekable();
    let nowait = flags & RWF_NOWAIT != 0;
    if nowait && write && file.ops.seekable() {
        // As ext4 on Linux 6.1: buffered writes cannot promise not to wait.
        return Err(Errno::EOPNOTSUPP);
    }
    if v2 && pos == -1 {
        if append {
            file.set_offset(file.stat()?.size);
        }
        let r = vector_io(ctx, a, write);
        // RWF_NOWAIT: fail with EAGAIN instead of waiting, as O_NONBLOCK.
        return if nowait && matches!(r, Ok(SyscallReturn::Block)) { Err(Errno::EAGAIN) } else { r };
    }
    if pos < 0 {
        return Err(Errno::EINVAL);
    }
    if !file.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if append {
        // The bytes go to the end; the file position does not move.
        pos = file.stat()?.size as i64;
    }
    let vecs = iovecs(ctx, a.arg(1), a.arg(2))?;
    let mut done = 0u64;
    for (base, len) in vecs {
        if len == 0 {
            continue;
        }
        let at = Some(pos as u64 + done);
        let r = if write { write_from(ctx, &file, base, len, at) } else { read_into(ctx, &file, base, len, at) };
        match r {
            Ok(Io::Done(n)) => {
                done += n as u64;
                if (n as u64) < len {
                    break;
                }
            }
            Ok(Io::Block) if done == 0 => return Ok(SyscallReturn::Block),
            Ok(Io::Block) => break,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    ret(done)
}

pub fn sys_preadv(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    vector_at(ctx, a, false, false)
}

pub fn sys_pwritev(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let r = vector_at(ctx, a, true, false);
    on_epipe(ctx, r)
}

pub fn sys_preadv2(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    vector_at(ctx, a, false, true)
}

pub fn sys_pwritev2(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let r = vector_at(ctx, a, true, true);
    on_epipe(ctx, r)
}
