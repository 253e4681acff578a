//! Keeping procfs's view of the processes current (see
//! `fs/procfs/registry.rs`): the kernel records a snapshot of a process
//! at the events that change what procfs shows (spawn, clone, exec,
//! exit, wait, the calls in [`CHANGES`]), and, before a syscall that
//! opens something under /proc, refreshes what changes without such
//! events: the caller's memory map and resident pages, everyone's
//! resident pages (at most every 100 ms) and every thread's state, CPU
//! count and signal mask.

use std::rc::Rc;

use oxvm_cpu::state::reg;
use oxvm_cpu::Memory;

use super::Kernel;
use crate::fs::procfs::{ProcInfo, ThreadInfo};
use crate::task::{Pid, Process, TaskState};

/// Syscalls after which the caller's snapshot is refreshed (its cwd,
/// root, names, ids, limits, dispositions or memory map changed).
const CHANGES: &[u64] = &[
    9, 10, 11, 12, 13, 25, // mmap mprotect munmap brk rt_sigaction mremap
    59, 322, // execve execveat
    80, 81, 95, 161, // chdir fchdir umask chroot
    105, 106, 109, 112, 113, 114, 116, 117, 119, 122, 123, // set*id, setpgid, setsid, setgroups
    141, 157, 160, 302, // setpriority prctl setrlimit prlimit64
];

/// In-kernel syscalls that change the process table.
const TABLE_CHANGES: &[u64] = &[56, 57, 58, 435, 60, 231, 61, 247, 62, 200, 234];

/// Open calls, with the index of their path argument.
fn open_path_arg(nr: u64) -> Option<usize> {
    match nr {
        2 => Some(0),
        257 | 437 => Some(1),
        _ => None,
    }
}

/// A snapshot of `p`. `rss`: count its resident pages now (a page-table
/// walk), else keep `prev`'s counts.
fn snapshot(p: &Process, threads: Vec<ThreadInfo>, prev: Option<&ProcInfo>, start: u64, rss: bool) -> ProcInfo {
    let vmas: Vec<_> = p.mm.borrow().vmas().iter().cloned().collect();
    let (mut rss_file, mut rss_anon) = prev.map_or((0, 0), |q| (q.rss_file, q.rss_anon));
    if rss {
        (rss_file, rss_anon) = p.mm.borrow().resident_pages();
    }
    let mut ignored = 0u64;
    let mut caught = 0u64;
    for (i, act) in p.sigactions.iter().enumerate() {
        match act[0] {
            0 => {}
            1 => ignored |= 1 << i,
            _ => caught |= 1 << i,
        }
    }
    ProcInfo {
        pid: p.pid,
        ppid: p.ppid,
        pgid: p.pid,
        sid: p.pid,
        comm: p.prctl.name,
        zombie: p.exit.is_some(),
        creds: p.creds,
        saved_ids: (p.cred.suid, p.cred.sgid),
        fs_ids: (p.cred.fsuid, p.cred.fsgid),
        exec: p.exec_info.clone(),
        cwd: p.fs.cwd.clone(),
        root: p.fs.root.clone(),
        umask: p.fs.umask,
        files: p.exit.is_none().then(|| p.files.clone()),
        threads,
        rlimits: p.rlimits,
        nice: p.nice,
        start,
        vmas,
        rss_file,
        rss_anon,
        sig_pending: p.pending.mask(),
        sig_blocked: prev.map_or(0, |q| q.sig_blocked),
        sig_ignored: ignored,
        sig_caught: caught,
        no_new_privs: p.prctl.no_new_privs,
    }
}

/// Whether an open of the path at `addr` from directory `dirfd` may read
/// procfs: absolute under /proc, or relative from a procfs directory or
/// naming "proc" somewhere (`proc/self/stat` from /). Links elsewhere
/// that lead into /proc (/dev/stdin) reach only what is always current.
fn may_be_proc(p: &mut Process, mem: &mut Memory, dirfd: Option<i32>, addr: u64) -> bool {
    let Ok(path) = p.mm.user(mem).read_cstring(addr, 255) else { return true };
    if path.first() == Some(&b'/') {
        return path.starts_with(b"/proc");
    }
    let base = match dirfd {
        Some(fd) if fd != crate::syscall::AT_FDCWD => p.files.borrow().get(fd).ok().and_then(|f| f.dentry.clone()),
        _ => Some(p.fs.cwd.clone()),
    };
    base.is_some_and(|d| d.inode().id().0 == crate::fs::procfs::DEV) || path.windows(4).any(|w| w == b"proc")
}

/// What procfs shows of a task: runnable ones are running (R), the rest
/// wait for something (S).
fn thread_info(t: &crate::task::Task) -> ThreadInfo {
    ThreadInfo {
        tid: t.tid,
        icount: t.cpu.icount,
        state: if t.state == TaskState::Runnable { 'R' } else { 'S' },
        mask: t.sig.mask,
        pending: t.sig.pending.mask(),
    }
}

impl Kernel {
    fn threads_of(&self, pid: Pid) -> Vec<ThreadInfo> {
        self.tasks.iter().filter(|t| t.pid == pid && t.state != TaskState::Dead).map(thread_info).collect()
    }

    /// The time file changes are stamped with (tmpfs, procfs).
    pub(super) fn proc_note_time(&mut self) {
        let ns = self.host.now(crate::host::Clock::Realtime);
        self.procfs.now.set(crate::vfs::Timespec { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as u32 });
    }

    /// Record process `pid` as it is now.
    pub(super) fn proc_sync(&mut self, pid: Pid, rss: bool) {
        let threads = self.threads_of(pid);
        let now = self.host.now(crate::host::Clock::Monotonic);
        let Some(p) = self.processes.get(&pid) else {
            self.procfs.remove(pid);
            return;
        };
        let prev = self.procfs.get(pid);
        if prev.is_none() {
            self.procfs.forks.set(self.procfs.forks.get() + 1);
            self.procfs.inherit(pid, p.ppid);
        }
        let start = prev.as_ref().map_or(now, |q| q.start);
        let mut info = snapshot(p, threads, prev.as_deref(), start, rss);
        if let Some(t) = self.tasks.iter().find(|t| t.pid == pid && t.state != TaskState::Dead) {
            info.sig_blocked = t.sig.mask;
        }
        self.procfs.update(info);
    }

    /// Record every process (resident pages: only for new ones), and
    /// forget the reaped ones.
    pub(super) fn proc_sync_all(&mut self) {
        let pids: Vec<Pid> = self.processes.keys().copied().collect();
        for pid in pids {
            let new = self.procfs.get(pid).is_none();
            self.proc_sync(pid, new);
        }
        let live: std::collections::BTreeSet<Pid> = self.processes.keys().copied().collect();
        self.procfs.retain(&|p| live.contains(&p));
    }

    /// Before task `ti` makes syscall `nr`: note the caller, and refresh
    /// its memory figures if the call may open a procfs file.
    pub(super) fn proc_before_syscall(&mut self, ti: usize, nr: u64) {
        let (pid, tid) = (self.tasks[ti].pid, self.tasks[ti].tid);
        self.procfs.enter(pid, tid);
        self.procfs.frames_in_use.set(self.mem.phys.frames_in_use());
        self.proc_note_time();
        let Some(arg) = open_path_arg(nr) else { return };
        let g = &self.tasks[ti].cpu.gpr;
        let (dirfd, addr) = if arg == 0 { (None, g[reg::RDI]) } else { (Some(g[reg::RDI] as i32), g[reg::RSI]) };
        let Some(p) = self.processes.get_mut(&pid) else { return };
        if may_be_proc(p, &mut self.mem, dirfd, addr) {
            // The caller's figures now; everyone's at most every 100 ms (a
            // `ps` reading every process pays for one walk of each).
            let now = self.host.now(crate::host::Clock::Monotonic);
            if self.procfs.rss_refreshed.get().is_none_or(|t| now.saturating_sub(t) >= 100_000_000) {
                self.procfs.rss_refreshed.set(Some(now));
                let pids: Vec<Pid> = self.processes.keys().copied().collect();
                for p in pids {
                    self.proc_sync(p, true);
                }
            } else {
                self.proc_sync(pid, true);
            }
            self.procfs.set_live(self.tasks.iter().filter(|t| t.state != TaskState::Dead).map(thread_info));
        }
    }

    /// After syscall `nr` of process `pid` returned (or blocked).
    pub(super) fn proc_after_syscall(&mut self, pid: Pid, nr: u64) {
        if self.procfs.has_comm_writes() {
            for (p, name) in self.procfs.take_comm_writes() {
                if let Some(proc) = self.processes.get_mut(&p) {
                    proc.prctl.name = name;
                }
                self.proc_sync(p, false);
            }
        }
        if TABLE_CHANGES.contains(&nr) {
            self.proc_sync_all();
        } else if CHANGES.contains(&nr) {
            // Resident pages change at faults, not at these calls: they are
            // counted when procfs is about to be read (and after exec, whose
            // new image is small).
            self.proc_sync(pid, matches!(nr, 59 | 322));
        }
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        self.procfs.clear();
    }
}

/// The registry handle other kernel files use.
pub(super) type Registry = Rc<crate::fs::procfs::ProcRegistry>;
