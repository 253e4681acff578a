//! read(2), write(2) on the console descriptors 0, 1 and 2.
//!
//! There is no file table yet: fd 0 is the host's stdin, fds 1 and 2 its
//! stdout and stderr.

use super::{Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;
use crate::host::ConsoleRead;

/// Copy at most this much per host call, so a huge count does not make
/// the host allocate a huge buffer.
const CHUNK: usize = 64 * 1024;
/// Linux caps one read or write at 2 GiB minus a page.
const MAX_RW_COUNT: u64 = 0x7fff_f000;

pub fn sys_write(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (fd, buf, count) = (a.arg(0) as i32, a.arg(1), a.arg(2).min(MAX_RW_COUNT));
    if fd != 1 && fd != 2 {
        return Err(Errno::EBADF);
    }
    let mut done = 0u64;
    let mut chunk = vec![0u8; CHUNK.min(count as usize)];
    while done < count {
        let n = (count - done).min(CHUNK as u64) as usize;
        // A fault after some bytes went out reports the partial count, as
        // Linux does.
        let copied = ctx.user().read_bytes(buf.wrapping_add(done), &mut chunk[..n]);
        if let Err(e) = copied {
            return if done > 0 { Ok(SyscallReturn::Return(done)) } else { Err(e) };
        }
        let w = ctx.host.console_write(fd, &chunk[..n]);
        match w {
            Ok(w) => {
                done += w as u64;
                if w < n {
                    break;
                }
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(SyscallReturn::Return(done))
}

pub fn sys_read(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (fd, buf, count) = (a.arg(0) as i32, a.arg(1), a.arg(2).min(MAX_RW_COUNT));
    if fd != 0 {
        return Err(Errno::EBADF);
    }
    if count == 0 {
        return Ok(SyscallReturn::Return(0));
    }
    let mut chunk = vec![0u8; (count as usize).min(CHUNK)];
    match ctx.host.console_read(&mut chunk)? {
        ConsoleRead::WouldBlock => Ok(SyscallReturn::Block),
        ConsoleRead::Data(n) => {
            let n = n.min(chunk.len());
            ctx.user().write_bytes(buf, &chunk[..n])?;
            Ok(SyscallReturn::Return(n as u64))
        }
    }
}
