//! execve(2): replace the calling process's program.
//!
//! Everything that can fail (finding the file, `#!` expansion, reading
//! the interpreter, building the new address space and stack) happens
//! before the old image is touched, so a failed exec returns an errno to
//! the unchanged caller: there is no point of no return to kill at.

use oxvm_cpu::state::reg;
use oxvm_cpu::CpuState;

use super::{Ctx, SyscallArgs, SyscallResult, SyscallReturn, AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW};
use crate::errno::Errno;
use crate::fs::procfs::ExecInfo;
use crate::loader::{self, ExecParams};
use crate::mm::Mm;

/// Linux's MAX_ARG_STRLEN: one argument or environment string.
const MAX_ARG_STRLEN: usize = 32 * 4096;
/// Arguments and environment together may take a quarter of the stack
/// limit, as on Linux; checked while copying so a guest cannot make the
/// kernel copy more.
const MAX_ARG_BYTES: u64 = crate::mm::STACK_SIZE / 4;

/// A NULL-terminated array of string pointers (argv or envp); `budget`
/// is what is left of [`MAX_ARG_BYTES`] (each string costs its bytes,
/// NUL and pointer).
fn strings(ctx: &mut Ctx, mut addr: u64, budget: &mut u64) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    loop {
        let p: u64 = ctx.user().read_val(addr)?;
        if p == 0 {
            return Ok(out);
        }
        let s = ctx.user().read_cstring(p, MAX_ARG_STRLEN).map_err(|e| if e == Errno::ENAMETOOLONG { Errno::E2BIG } else { e })?;
        *budget = budget.checked_sub(s.len() as u64 + 1 + 8).ok_or(Errno::E2BIG)?;
        out.push(s);
        addr = addr.checked_add(8).ok_or(Errno::EFAULT)?;
    }
}

pub fn sys_execve(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let path = ctx.path(a.arg(0))?;
    exec_at(ctx, AT_FDCWD, path, a.arg(1), a.arg(2), 0)
}

/// execveat(2): the path is relative to `dirfd`; with AT_EMPTY_PATH and
/// an empty path, the open file itself runs (fexecve), seen by the new
/// program as /dev/fd/N; AT_SYMLINK_NOFOLLOW refuses a final symlink.
pub fn sys_execveat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let path = ctx.path(a.arg(1))?;
    exec_at(ctx, a.arg(0) as i32, path, a.arg(2), a.arg(3), a.arg(4) as u32)
}

fn exec_at(ctx: &mut Ctx, dirfd: i32, path: Vec<u8>, argv: u64, envp: u64, flags: u32) -> SyscallResult {
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut fs = ctx.process.fs.clone();
    let (path, execfn) = if path.is_empty() {
        if flags & AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        let d = ctx.file(dirfd)?.dentry.clone().ok_or(Errno::EACCES)?;
        (d.path_from(&fs.root), format!("/dev/fd/{dirfd}").into_bytes())
    } else {
        if dirfd != AT_FDCWD && path.first() != Some(&b'/') {
            fs.cwd = ctx.base(dirfd, &path)?;
        }
        if flags & AT_SYMLINK_NOFOLLOW != 0 && fs.resolve(&fs.cwd, &path, false)?.inode().kind() == crate::vfs::FileType::Symlink {
            return Err(Errno::ELOOP);
        }
        (path.clone(), path)
    };
    let mut budget = MAX_ARG_BYTES;
    let argv = strings(ctx, argv, &mut budget)?;
    let envp = strings(ctx, envp, &mut budget)?;
    let prepared = loader::binfmt::prepare(&fs, &path, &argv, &ctx.process.creds).map_err(|e| e.errno())?;
    let creds = loader::binfmt::setid_creds(&prepared.exe, ctx.process.creds, ctx.process.prctl.no_new_privs);

    let mut random = [0u8; 16];
    ctx.host.random(&mut random);
    let mut mm = Mm::new();
    mm.set_frame_limit(ctx.process.mm.borrow().frame_limit());
    let params = ExecParams {
        image: &prepared.image,
        interp: prepared.interp.as_deref(),
        argv: &prepared.argv,
        envp: &envp,
        execfn: &execfn,
        creds,
        random,
    };
    let loaded = match loader::exec(&mut mm, ctx.mem, &params) {
        Ok(l) => l,
        Err(e) => {
            mm.clear(ctx.mem);
            return Err(e.errno());
        }
    };

    // The new image is complete. The robust list's futexes are released
    // as at thread exit; their waiters can only be this process's other
    // threads, which exec ends, so none needs waking.
    if ctx.robust_list.0 != 0 {
        let (head, tid) = (ctx.robust_list.0, ctx.tid);
        let _ = crate::kernel::robust::release_robust_list(&mut ctx.user(), head, tid);
    }
    // Switch to the new image. A vfork child hands the shared memory back
    // to its parent here; a process alone in its memory frees it.
    let old = std::mem::replace(&mut ctx.process.mm, crate::mm::MmRef::new(mm));
    let objs = old.release(ctx.mem);
    crate::mm::shmem::settle(objs, ctx.host, ctx.mem);
    let icount = ctx.cpu.icount;
    *ctx.cpu = CpuState { rip: loaded.entry, icount, ..Default::default() };
    ctx.cpu.gpr[reg::RSP] = loaded.sp;
    ctx.process.files.borrow_mut().close_on_exec();
    // Caught signals go back to their default action; ignored ones stay
    // ignored, and the mask is kept.
    for act in ctx.process.sigactions.iter_mut() {
        if act[0] != 1 {
            *act = [0; 4];
        }
    }
    ctx.sig.altstack = (0, 2, 0);
    *ctx.clear_child_tid = 0;
    // The new program registers its own robust list.
    *ctx.robust_list = (0, 0);
    ctx.process.timers.exec();
    if creds != ctx.process.creds {
        // A set-id program: its ids, with the saved ids (kept equal to
        // the effective ones) and capabilities following.
        let old = ctx.process.creds;
        ctx.process.creds = creds;
        let saved = ctx.process.cred.suid;
        ctx.process.cred.uids_changed([old.uid, old.euid, saved], [creds.uid, creds.euid, creds.euid]);
    }
    ctx.process.cred.exec(&creds);
    // The fs ids are the effective ones again.
    ctx.process.fs.walker = (creds.euid, creds.egid);
    ctx.process.set_comm(&execfn);
    ctx.process.exec_info = std::rc::Rc::new(ExecInfo::new(&prepared, &loaded, envp));
    Ok(SyscallReturn::NoReturn)
}
