//! pipe(2), pipe2(2).

use std::sync::atomic::{AtomicU64, Ordering};

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;
use crate::fs::pipe;
use crate::vfs::file::{O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_RDONLY, O_WRONLY};
use crate::vfs::OpenFile;

/// Inode numbers for pipes, as pipefs hands them out.
static NEXT_INO: AtomicU64 = AtomicU64::new(1000);

fn pipe_with(ctx: &mut Ctx, fds: u64, flags: u32) -> SyscallResult {
    if flags & !(O_CLOEXEC | O_NONBLOCK | O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    let (r, w) = pipe::new_pair(NEXT_INO.fetch_add(1, Ordering::Relaxed));
    let status = flags & O_NONBLOCK;
    let cloexec = flags & O_CLOEXEC != 0;
    let (rf, wf) = (OpenFile::new(r, None, O_RDONLY | status), OpenFile::new(w, None, O_WRONLY | status));
    let mut table = ctx.process.files.borrow_mut();
    let rfd = table.insert(rf, cloexec)?;
    let wfd = match table.insert(wf, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = table.close(rfd);
            return Err(e);
        }
    };
    drop(table);
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&rfd.to_le_bytes());
    b[4..].copy_from_slice(&wfd.to_le_bytes());
    if let Err(e) = ctx.user().write_bytes(fds, &b) {
        // Undo: the caller never learnt the descriptors.
        let mut table = ctx.process.files.borrow_mut();
        let _ = table.close(rfd);
        let _ = table.close(wfd);
        return Err(e);
    }
    ret(0)
}

pub fn sys_pipe(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    pipe_with(ctx, a.arg(0), 0)
}

pub fn sys_pipe2(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    pipe_with(ctx, a.arg(0), a.arg(1) as u32)
}
