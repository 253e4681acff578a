//! The syscalls that change the set of tasks or wait on other tasks:
//! clone/fork/vfork, exit/exit_group, wait4/waitid and futex. They need
//! the whole kernel (the process and task tables, the futex queues), so
//! the run loop calls them instead of the dispatcher.

use oxvm_cpu::state::reg;
use oxvm_cpu::CpuState;

use super::Kernel;
use crate::errno::Errno;
use crate::mm::UserSpace;
use crate::syscall::{strace, table, SyscallArgs};
use crate::task::futex::FutexKey;
use crate::task::job::{report_code, report_status};
use crate::task::wait::{wait_status, waitid_code};
use crate::task::{ExitStatus, Pid, Process, Task, TaskState};

pub const CLONE_VM: u64 = 0x100;
pub const CLONE_FILES: u64 = 0x400;
pub const CLONE_SIGHAND: u64 = 0x800;
pub const CLONE_VFORK: u64 = 0x4000;
pub const CLONE_PARENT: u64 = 0x8000;
pub const CLONE_THREAD: u64 = 0x10000;
pub const CLONE_SETTLS: u64 = 0x80000;
pub const CLONE_PARENT_SETTID: u64 = 0x100000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x200000;
pub const CLONE_CHILD_SETTID: u64 = 0x1000000;
/// Flags that need something oxvm does not have: EINVAL rather than a
/// silent mismatch. CLONE_PIDFD, CLONE_PTRACE, the namespaces (NEWNS,
/// NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET), CLONE_CLEAR_SIGHAND
/// and CLONE_INTO_CGROUP.
const CLONE_UNSUPPORTED: u64 = 0x1000
    | 0x2000
    | 0x2_0000
    | 0x0200_0000
    | 0x0400_0000
    | 0x0800_0000
    | 0x1000_0000
    | 0x2000_0000
    | 0x4000_0000
    | 0x1_0000_0000
    | 0x2_0000_0000;

const WNOHANG: u64 = 1;
const WEXITED: u64 = 4;
const WNOWAIT: u64 = 0x0100_0000;
const SIGCHLD: i32 = 17;

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_CLOCK_REALTIME: u64 = 256;
const FUTEX_CMD_MASK: u64 = 0x7f;
const FUTEX_PRIVATE_FLAG: u64 = 128;

/// What clone/clone3 asked for.
#[derive(Clone, Copy, Debug, Default)]
struct CloneArgs {
    flags: u64,
    /// The child's stack pointer (0: the parent's).
    stack: u64,
    parent_tid: u64,
    child_tid: u64,
    tls: u64,
}

/// What an intercepted call did with the task.
enum Outcome {
    Return(u64),
    /// The task waits; RIP is rewound so the call is retried.
    Block,
    /// The task changed state itself (exited, queued on a futex, vforked).
    Done,
}

impl Kernel {
    /// Handle syscall `nr` for task `ti` (RIP past the SYSCALL).
    pub(super) fn process_syscall(&mut self, ti: usize, nr: u64) {
        let args = SyscallArgs::from_cpu(&self.tasks[ti].cpu);
        // exit's arguments are shown before the memory they might point
        // into is gone.
        let pid = self.tasks[ti].pid;
        let before = (self.syscalls.strace && matches!(nr, 60 | 231))
            .then(|| self.user(pid).ok().map(|mut us| strace::format(&mut us, table::lookup(nr), &args, None)))
            .flatten();
        let r = match nr {
            56 => self.sys_clone(
                ti,
                CloneArgs { flags: args.arg(0), stack: args.arg(1), parent_tid: args.arg(2), child_tid: args.arg(3), tls: args.arg(4) },
            ),
            435 => self.clone3_args(ti, args.arg(0), args.arg(1)).and_then(|c| self.sys_clone(ti, c)),
            57 => self.sys_clone(ti, CloneArgs { flags: SIGCHLD as u64, ..Default::default() }),
            58 => self.sys_clone(ti, CloneArgs { flags: CLONE_VM | CLONE_VFORK | SIGCHLD as u64, ..Default::default() }),
            60 => {
                self.exit_task(ti, args.arg(0) as u8);
                Ok(Outcome::Done)
            }
            231 => {
                let pid = self.tasks[ti].pid;
                self.exit_process(pid, ExitStatus::Code(args.arg(0) as u8));
                Ok(Outcome::Done)
            }
            61 => self.sys_wait4(ti, &args),
            247 => self.sys_waitid(ti, &args),
            202 => self.sys_futex(ti, &args),
            130 => self.sys_rt_sigsuspend(ti, &args),
            62 => self.sys_kill(ti, &args),
            109 => self.sys_setpgid(ti, &args).map(Outcome::Return),
            112 => self.sys_setsid(ti).map(Outcome::Return),
            121 => self.sys_getpgid(ti, &args, false).map(Outcome::Return),
            124 => self.sys_getpgid(ti, &args, true).map(Outcome::Return),
            200 => self.sys_tgkill(ti, None, args.arg(0) as i32, args.arg(1)),
            234 => self.sys_tgkill(ti, Some(args.arg(0) as i32), args.arg(1) as i32, args.arg(2)),
            129 => self.sys_rt_sigqueueinfo(ti, &args).map(Outcome::Return),
            297 => self.sys_rt_tgsigqueueinfo(ti, &args).map(Outcome::Return),
            222 => self.sys_timer_create(ti, &args).map(Outcome::Return),
            434 => self.sys_pidfd_open(ti, &args).map(Outcome::Return),
            424 => {
                let r = self.sys_pidfd_send_signal(ti, &args);
                let me = self.tasks[ti].pid;
                // A signal to itself may have ended the caller.
                r.map(|v| if self.processes.get(&me).is_none_or(|p| p.exit.is_some()) { Outcome::Done } else { Outcome::Return(v) })
            }
            228 | 229 => self.sys_cpu_clock(ti, nr, &args).map(Outcome::Return),
            _ => Err(Errno::ENOSYS),
        };
        let task = &mut self.tasks[ti];
        let shown = match r {
            Ok(Outcome::Return(v)) => {
                task.cpu.gpr[reg::RAX] = v;
                Some(v)
            }
            Err(e) => {
                task.cpu.gpr[reg::RAX] = e.as_return();
                Some(e.as_return())
            }
            Ok(Outcome::Block) => {
                task.cpu.rip = task.cpu.rip.wrapping_sub(2);
                task.state = TaskState::Blocked;
                // Every call that blocks here waits for a child to change
                // state: retried when the process's child queue moves.
                let pid = task.pid;
                task.waits = self.processes.get(&pid).map(|p| vec![(p.child_events.clone(), p.child_events.generation())]);
                return;
            }
            Ok(Outcome::Done) => None,
        };
        if self.syscalls.strace {
            let pid = task.pid;
            let line = match (before, self.processes.get_mut(&pid)) {
                (Some(line), _) => line,
                (None, Some(p)) if p.exit.is_none() => strace::format(&mut p.mm.user(&mut self.mem), table::lookup(nr), &args, shown),
                (None, _) => format!("{}(...) = ?", table::lookup(nr).map_or("?", |e| e.name)),
            };
            self.host.diag(&line);
        }
    }

    pub(super) fn user(&mut self, pid: Pid) -> Result<UserSpace<'_>, Errno> {
        let p = self.processes.get_mut(&pid).ok_or(Errno::ESRCH)?;
        Ok(p.mm.user(&mut self.mem))
    }

    fn clone3_args(&mut self, ti: usize, addr: u64, size: u64) -> Result<CloneArgs, Errno> {
        // struct clone_args: flags, pidfd, child_tid, parent_tid,
        // exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup.
        if !(64..=4096).contains(&size) {
            return Err(Errno::EINVAL);
        }
        let pid = self.tasks[ti].pid;
        let mut us = self.user(pid)?;
        let mut f = [0u64; 11];
        for (i, v) in f.iter_mut().enumerate().take((size / 8).min(11) as usize) {
            *v = us.read_val(addr.wrapping_add(8 * i as u64))?;
        }
        if f[4] > 64 || f[9] != 0 || f[8] != 0 {
            return Err(Errno::EINVAL);
        }
        // clone3 gives the stack as its lowest address and a size.
        let stack = if f[5] != 0 { f[5].wrapping_add(f[6]) } else { 0 };
        Ok(CloneArgs { flags: f[0] | f[4], stack, parent_tid: f[3], child_tid: f[2], tls: f[7] })
    }

    fn new_pid(&mut self) -> Pid {
        let pid = self.next_pid;
        self.next_pid += 1;
        pid
    }

    fn sys_clone(&mut self, ti: usize, c: CloneArgs) -> Result<Outcome, Errno> {
        let f = c.flags;
        if f & CLONE_UNSUPPORTED != 0 || (f & CLONE_THREAD != 0 && f & CLONE_SIGHAND == 0) || (f & CLONE_SIGHAND != 0 && f & CLONE_VM == 0)
        {
            return Err(Errno::EINVAL);
        }
        let parent = &self.tasks[ti];
        let (ppid_of_caller, caller_pid) = (self.processes.get(&parent.pid).map_or(0, |p| p.ppid), parent.pid);
        let mut cpu: CpuState = parent.cpu.clone();
        cpu.gpr[reg::RAX] = 0;
        cpu.icount = 0;
        if c.stack != 0 {
            cpu.gpr[reg::RSP] = c.stack;
        }
        if f & CLONE_SETTLS != 0 {
            cpu.fs_base = c.tls;
        }
        let tid = self.new_pid();
        if f & CLONE_PARENT_SETTID != 0 {
            self.user(caller_pid)?.write_val(c.parent_tid, &tid)?;
        }
        let child_pid = if f & CLONE_THREAD != 0 {
            caller_pid
        } else {
            // A new process: a copy-on-write copy of the memory, or with
            // CLONE_VM (vfork, posix_spawn) the same memory until the
            // child execs or exits (glibc's posix_spawn reports a failed
            // exec by writing into the parent's memory).
            let p = self.processes.get_mut(&caller_pid).ok_or(Errno::ESRCH)?;
            let mm = if f & CLONE_VM != 0 { p.mm.clone() } else { p.mm.fork(&mut self.mem) };
            let files =
                if f & CLONE_FILES != 0 { p.files.clone() } else { std::rc::Rc::new(std::cell::RefCell::new(p.files.borrow().clone())) };
            let ppid = if f & CLONE_PARENT != 0 { ppid_of_caller } else { caller_pid };
            let mut child = Process::new(tid, ppid, mm, p.creds, p.fs.clone(), Default::default());
            child.files = files;
            child.rlimits = p.rlimits;
            child.sigactions = p.sigactions;
            child.prctl = p.prctl;
            child.prctl.pdeathsig = 0;
            child.nice = p.nice;
            child.job = p.job.child();
            child.exec_info = p.exec_info.clone();
            child.cred = p.cred.clone();
            if f & CLONE_VFORK != 0 {
                child.vfork_parent = Some(self.tasks[ti].tid);
            }
            self.processes.insert(tid, child);
            self.note_created(tid);
            self.tty_groups_changed();
            tid
        };
        if f & CLONE_CHILD_SETTID != 0 {
            // A fault here is ignored, as Linux does.
            let _ = self.user(child_pid)?.write_val(c.child_tid, &tid);
        }
        let clear = if f & CLONE_CHILD_CLEARTID != 0 { c.child_tid } else { 0 };
        // The new thread or process inherits the mask; a thread sharing the
        // memory does not inherit the alternate stack (Linux clears it for
        // CLONE_VM without CLONE_VFORK).
        let mut sig = crate::task::SigState { mask: self.tasks[ti].sig.mask, altstack: self.tasks[ti].sig.altstack, ..Default::default() };
        if f & CLONE_VM != 0 && f & CLONE_VFORK == 0 {
            sig.altstack = (0, 2, 0);
        }
        self.tasks.push(Task {
            tid,
            pid: child_pid,
            cpu,
            state: TaskState::Runnable,
            clear_child_tid: clear,
            progress: 0,
            waits: None,
            sleep_rem: 0,
            deadline: None,
            sig,
            times: Default::default(),
            robust_list: (0, 0),
        });
        let parent = &mut self.tasks[ti];
        parent.cpu.gpr[reg::RAX] = tid as u64;
        if f & CLONE_VFORK != 0 {
            parent.state = TaskState::Vfork(tid);
            return Ok(Outcome::Done);
        }
        Ok(Outcome::Return(tid as u64))
    }

    /// exit(2): this task ends; the last task ends the process.
    fn exit_task(&mut self, ti: usize, code: u8) {
        let (pid, tid) = (self.tasks[ti].pid, self.tasks[ti].tid);
        self.exit_robust_list(ti);
        self.clear_child_tid(ti);
        self.tasks[ti].state = TaskState::Dead;
        self.futexes.remove(tid);
        if !self.tasks.iter().any(|t| t.pid == pid && t.state != TaskState::Dead) {
            self.exit_process(pid, ExitStatus::Code(code));
        }
    }

    /// CLONE_CHILD_CLEARTID / set_tid_address: zero the word and wake one
    /// waiter (pthread_join waits there).
    fn clear_child_tid(&mut self, ti: usize) {
        let (pid, addr) = (self.tasks[ti].pid, std::mem::take(&mut self.tasks[ti].clear_child_tid));
        if addr == 0 {
            return;
        }
        let Ok(key) = self.futex_key(pid, addr, 0) else { return };
        if self.user(pid).is_ok_and(|mut us| us.write_val(addr, &0u32).is_ok()) {
            self.futex_wake(key, 1, u32::MAX);
        }
    }

    /// The process ends with `status`: every task stops, memory and
    /// descriptors are released, children go to init, and it stays a
    /// zombie for its parent's wait.
    pub(super) fn exit_process(&mut self, pid: Pid, status: ExitStatus) {
        let tis: Vec<usize> =
            (0..self.tasks.len()).filter(|&i| self.tasks[i].pid == pid && self.tasks[i].state != TaskState::Dead).collect();
        for ti in tis {
            self.exit_robust_list(ti);
            self.clear_child_tid(ti);
            self.tasks[ti].state = TaskState::Dead;
            let tid = self.tasks[ti].tid;
            self.futexes.remove(tid);
        }
        // A long-lived machine has no init to inherit orphans: they become
        // top-level processes, reaped by the kernel.
        let init = if self.service { 0 } else { self.init.unwrap_or(1) };
        let groups = self.groups_before_exit(pid);
        let Some(p) = self.processes.get_mut(&pid) else { return };
        if p.exit.is_none() || p.mm.borrow().vmas().iter().next().is_some() {
            p.exit.get_or_insert(status);
            p.pidfds.exited();
            let objs = std::mem::take(&mut p.mm).release(&mut self.mem);
            crate::mm::shmem::settle(objs, &mut *self.host, &mut self.mem);
            // Closing the descriptors is what tells a pipe's reader that
            // this writer is gone.
            p.files = Default::default();
            p.fs.vfs.locks.release_owner(crate::vfs::lock::Owner::Posix(pid));
            p.vfork_parent = None;
        }
        let mut orphans = false;
        for child in self.processes.values_mut() {
            if child.ppid == pid && child.pid != pid {
                child.ppid = init;
                orphans = true;
            }
        }
        if self.service {
            // Zombies among the orphans have nobody left to reap them.
            let zombies: Vec<Pid> =
                self.processes.values().filter(|c| c.ppid == 0 && c.pid != pid && c.exit.is_some()).map(|c| c.pid).collect();
            for z in zombies {
                self.forget_process(z);
            }
        }
        self.job_exit(pid, &groups);
        // Wake the parent's wait4 (and init's, which may have inherited
        // zombies), and send it SIGCHLD (ignored by default).
        let ppid = self.processes.get(&pid).map_or(0, |p| p.ppid);
        if let (Some(code), Some(uid)) = (self.processes.get(&pid).and_then(|p| p.exit), self.processes.get(&pid).map(|p| p.creds.uid)) {
            let cld = if matches!(code, ExitStatus::Code(_)) { 1 } else { 2 };
            if ppid != 0 {
                // si_status: the exit code, or the killing signal.
                let status = match code {
                    ExitStatus::Code(c) => u32::from(c),
                    ExitStatus::Signaled(s) => u32::from(s.0),
                };
                let mut info = crate::signal::pending::SigInfo::new(17, cld, u64::from(pid) | u64::from(uid) << 32);
                info.0[24..28].copy_from_slice(&status.to_le_bytes());
                self.send_info(ppid, info);
            }
        }
        for waiter in [Some(ppid), orphans.then_some(init)].into_iter().flatten() {
            if let Some(p) = self.processes.get(&waiter) {
                p.child_events.notify();
            }
        }
        // A parent ignoring SIGCHLD (SIG_IGN or SA_NOCLDWAIT) leaves no
        // zombie: wait then reports ECHILD once no child is left.
        let nocldwait = self.processes.get(&ppid).is_some_and(|p| p.sigactions[16][0] == 1 || p.sigactions[16][1] & 2 != 0);
        let gone = self.processes.get(&pid).is_some_and(|p| p.exit.is_some());
        if nocldwait && gone && Some(pid) != self.init {
            self.forget_process(pid);
            return;
        }
        // The first process has no parent to reap it; in a long-lived
        // machine the host learns how top-level processes ended.
        if (self.service || Some(pid) != self.init) && self.processes.get(&pid).is_some_and(|p| p.ppid == 0) {
            if let Some(status) = self.processes.get(&pid).and_then(|p| p.exit).filter(|_| self.service) {
                self.exits.push((pid, status));
            }
            self.forget_process(pid);
        }
    }

    /// A successful execve: other threads end, the vfork parent resumes.
    pub(super) fn after_exec(&mut self, ti: usize) {
        let (pid, tid) = (self.tasks[ti].pid, self.tasks[ti].tid);
        for t in self.tasks.iter_mut().filter(|t| t.pid == pid && t.tid != tid) {
            t.state = TaskState::Dead;
            self.futexes.remove(t.tid);
        }
        if let Some(p) = self.processes.get_mut(&pid) {
            p.vfork_parent = None;
            p.job.execed = true;
        }
    }

    /// The children of process `pid` that `sel` selects (wait4's pid
    /// argument: > 0 one child, -1 any child, 0 the caller's group, < -1
    /// group -sel).
    fn children(&self, pid: Pid, sel: i64) -> Vec<Pid> {
        self.processes.values().filter(|p| p.ppid == pid && p.pid != pid && self.wait_selects(pid, p.pid, sel)).map(|p| p.pid).collect()
    }

    /// A zombie among `kids`, reaped unless `keep`.
    fn reap(&mut self, kids: &[Pid], keep: bool) -> Option<(Pid, ExitStatus, u32)> {
        let &pid = kids.iter().find(|k| self.processes.get(k).is_some_and(|p| p.exit.is_some()))?;
        let p = self.processes.get(&pid)?;
        let found = (pid, p.exit?, p.creds.uid);
        if !keep {
            // The parent's children's time grows by the child's own and
            // its reaped descendants' (getrusage RUSAGE_CHILDREN, times).
            let mut t = p.times;
            t.add(p.child_times);
            let parent = p.ppid;
            self.forget_process(pid);
            if let Some(pp) = self.processes.get_mut(&parent) {
                pp.child_times.add(t);
            }
        }
        Some(found)
    }

    fn sys_wait4(&mut self, ti: usize, a: &SyscallArgs) -> Result<Outcome, Errno> {
        let (sel, status_ptr, options, rusage) = (a.arg(0) as i32 as i64, a.arg(1), a.arg(2), a.arg(3));
        if options & !(WNOHANG | 2 /* WUNTRACED */ | 8 /* WCONTINUED */ | 0xe000_0000/* __WNOTHREAD|__WALL|__WCLONE */) != 0 {
            return Err(Errno::EINVAL);
        }
        let pid = self.tasks[ti].pid;
        let kids = self.children(pid, sel);
        if kids.is_empty() {
            return Err(Errno::ECHILD);
        }
        let found = match self.reap(&kids, false) {
            Some((child, status, _)) => Some((child, wait_status(status))),
            None => self.take_report(&kids, options & 2 != 0, options & 8 != 0, false).map(|(c, r, _)| (c, report_status(r))),
        };
        let Some((child, status)) = found else {
            return Ok(if options & WNOHANG != 0 { Outcome::Return(0) } else { Outcome::Block });
        };
        let mut us = self.user(pid)?;
        if status_ptr != 0 {
            us.write_val(status_ptr, &status)?;
        }
        if rusage != 0 {
            us.write_bytes(rusage, &[0; 144])?;
        }
        Ok(Outcome::Return(child as u64))
    }

    fn sys_waitid(&mut self, ti: usize, a: &SyscallArgs) -> Result<Outcome, Errno> {
        let (idtype, id, infop, options, rusage) = (a.arg(0), a.arg(1) as i32 as i64, a.arg(2), a.arg(3), a.arg(4));
        if options & (WEXITED | 2 | 8) == 0 || options & !(WNOHANG | 2 | WEXITED | 8 | WNOWAIT | 0xe000_0000) != 0 {
            return Err(Errno::EINVAL);
        }
        // A non-blocking pidfd: EAGAIN instead of waiting (unless WNOHANG).
        let mut pidfd_nonblock = false;
        let sel = match idtype {
            0 => -1,             // P_ALL
            1 if id > 0 => id,   // P_PID
            2 if id >= 0 => -id, // P_PGID (0: the caller's group)
            3 if id >= 0 => {
                let (p, nonblock) = self.pidfd_target(ti, id as i32)?;
                pidfd_nonblock = nonblock && options & WNOHANG == 0;
                p
            }
            _ => return Err(Errno::EINVAL),
        };
        let pid = self.tasks[ti].pid;
        let kids = self.children(pid, sel);
        if kids.is_empty() {
            return Err(Errno::ECHILD);
        }
        let keep = options & WNOWAIT != 0;
        let exited = if options & WEXITED != 0 { self.reap(&kids, keep) } else { None };
        let found = match exited {
            Some((child, status, uid)) => Some((child, waitid_code(status), uid)),
            None => self.take_report(&kids, options & 2 != 0, options & 8 != 0, keep).map(|(c, r, uid)| (c, report_code(r), uid)),
        };
        if found.is_none() && pidfd_nonblock {
            return Err(Errno::EAGAIN);
        }
        if found.is_none() && options & WNOHANG == 0 {
            return Ok(Outcome::Block);
        }
        let mut us = self.user(pid)?;
        if infop != 0 {
            let mut si = [0u8; 128];
            if let Some((child, (code, st), uid)) = found {
                si[0..4].copy_from_slice(&SIGCHLD.to_le_bytes());
                si[8..12].copy_from_slice(&code.to_le_bytes());
                si[16..20].copy_from_slice(&child.to_le_bytes());
                si[20..24].copy_from_slice(&uid.to_le_bytes());
                si[24..28].copy_from_slice(&st.to_le_bytes());
            }
            us.write_bytes(infop, &si)?;
        }
        if rusage != 0 {
            us.write_bytes(rusage, &[0; 144])?;
        }
        Ok(Outcome::Return(0))
    }

    /// rt_sigsuspend(2): replace the mask and wait for a signal; the
    /// handler runs with the old mask saved in its frame, and the call
    /// returns EINTR.
    fn sys_rt_sigsuspend(&mut self, ti: usize, a: &SyscallArgs) -> Result<Outcome, Errno> {
        if a.arg(1) != 8 {
            return Err(Errno::EINVAL);
        }
        let pid = self.tasks[ti].pid;
        let set: u64 = self.user(pid)?.read_val(a.arg(0))?;
        let t = &mut self.tasks[ti].sig;
        // A retry (after a wake-up) keeps the mask saved by the first try.
        if t.saved_mask.is_none() {
            t.saved_mask = Some(t.mask);
        }
        t.mask = set & !((1 << 8) | (1 << 18));
        if self.deliverable(ti).is_some() {
            return Err(Errno::EINTR);
        }
        Ok(Outcome::Block)
    }

    /// kill(2): a process, the caller's group (0), a group (-pgid), or
    /// every process but init and the caller (-1). Targets the caller may
    /// not signal (`may_signal`) are skipped: EPERM when that was all of
    /// them, except for -1, which Linux answers 0 then.
    fn sys_kill(&mut self, ti: usize, a: &SyscallArgs) -> Result<Outcome, Errno> {
        let (pid, sig) = (a.arg(0) as i32, a.arg(1));
        if sig > 64 || pid == i32::MIN {
            return Err(Errno::EINVAL);
        }
        let me = self.tasks[ti].pid;
        let targets = self.kill_targets(me, pid);
        if targets.is_empty() {
            return Err(Errno::ESRCH);
        }
        let uid = self.processes.get(&me).map_or(0, |p| p.creds.uid);
        let allowed: Vec<Pid> = targets.iter().copied().filter(|&t| self.may_signal(me, t, sig)).collect();
        if allowed.is_empty() && pid != -1 {
            return Err(Errno::EPERM);
        }
        for target in allowed {
            // A zombie can still be signalled, to no effect.
            if sig == 0 || self.processes.get(&target).is_none_or(|p| p.exit.is_some()) {
                continue;
            }
            self.send(target, sig, crate::syscall::signal::SI_USER, u64::from(me) | u64::from(uid) << 32);
        }
        let dead = self.processes.get(&me).is_none_or(|p| p.exit.is_some());
        Ok(if dead { Outcome::Done } else { Outcome::Return(0) })
    }

    /// tgkill(2) (`tgid` given) and tkill(2): a thread-directed signal.
    fn sys_tgkill(&mut self, ti: usize, tgid: Option<i32>, tid: i32, sig: u64) -> Result<Outcome, Errno> {
        if tid <= 0 || tgid.is_some_and(|g| g <= 0) || sig > 64 {
            return Err(Errno::EINVAL);
        }
        let target = self
            .tasks
            .iter()
            .position(|t| t.tid == tid as Pid && t.state != TaskState::Dead && tgid.is_none_or(|g| t.pid == g as Pid))
            .ok_or(Errno::ESRCH)?;
        if sig == 0 {
            return Ok(Outcome::Return(0));
        }
        let me = self.tasks[ti].pid;
        let uid = self.processes.get(&me).map_or(0, |p| p.creds.uid);
        let pid = self.tasks[target].pid;
        let Some(p) = self.processes.get_mut(&pid) else { return Err(Errno::ESRCH) };
        let t = &mut self.tasks[target].sig;
        let word = u64::from(me) | u64::from(uid) << 32;
        let info = crate::signal::pending::SigInfo::new(sig as u32, crate::syscall::signal::SI_TKILL, word);
        let posted = crate::syscall::signal::post(&p.sigactions, t.mask, &t.pending, info);
        if posted == crate::syscall::signal::Posted::Kill {
            self.exit_process(pid, ExitStatus::Signaled(crate::signal::Signal(sig as u8)));
        }
        let dead = self.processes.get(&me).is_none_or(|p| p.exit.is_some());
        Ok(if dead { Outcome::Done } else { Outcome::Return(0) })
    }

    /// Make the woken tasks runnable (their RAX already holds 0).
    fn futex_wake(&mut self, key: FutexKey, n: usize, bitset: u32) -> usize {
        let woken = self.futexes.wake(key, n, bitset);
        self.make_runnable(&woken);
        woken.len()
    }

    fn make_runnable(&mut self, tids: &[Pid]) {
        for t in self.tasks.iter_mut().filter(|t| tids.contains(&t.tid)) {
            if matches!(t.state, TaskState::Futex { .. }) {
                t.state = TaskState::Runnable;
                self.woke = true;
            }
        }
    }

    /// The key of the futex word at `addr` in process `pid`'s memory: in
    /// shared memory (unless FUTEX_PRIVATE_FLAG) the shared object and the
    /// offset in it, so processes mapping it anywhere meet; else the
    /// address space and the address.
    pub(super) fn futex_key(&self, pid: Pid, addr: u64, op: u64) -> Result<FutexKey, Errno> {
        let mm = &self.processes.get(&pid).ok_or(Errno::ESRCH)?.mm;
        Ok(match mm.borrow().shared_futex_key(addr, op & FUTEX_PRIVATE_FLAG != 0) {
            Some((obj, off)) => FutexKey { mm: obj, addr: off },
            None => FutexKey { mm: mm.id(), addr },
        })
    }

    fn sys_futex(&mut self, ti: usize, a: &SyscallArgs) -> Result<Outcome, Errno> {
        let (uaddr, op, val, timeout, uaddr2, val3) = (a.arg(0), a.arg(1), a.arg(2) as u32, a.arg(3), a.arg(4), a.arg(5) as u32);
        if !uaddr.is_multiple_of(4) {
            return Err(Errno::EINVAL);
        }
        let (pid, tid) = (self.tasks[ti].pid, self.tasks[ti].tid);
        let key = self.futex_key(pid, uaddr, op)?;
        let cmd = op & FUTEX_CMD_MASK;
        match cmd {
            FUTEX_WAIT | FUTEX_WAIT_BITSET => {
                let bitset = if cmd == FUTEX_WAIT { u32::MAX } else { val3 };
                if bitset == 0 {
                    return Err(Errno::EINVAL);
                }
                let deadline = if timeout != 0 {
                    let (sec, nsec): (i64, i64) = {
                        let mut us = self.user(pid)?;
                        (us.read_val(timeout)?, us.read_val(timeout.wrapping_add(8))?)
                    };
                    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
                        return Err(Errno::EINVAL);
                    }
                    let t = (sec as u64).saturating_mul(1_000_000_000).saturating_add(nsec as u64);
                    let now = self.host.now(crate::host::Clock::Monotonic);
                    Some(if cmd == FUTEX_WAIT {
                        // FUTEX_WAIT's timeout is relative.
                        now.saturating_add(t)
                    } else if op & FUTEX_CLOCK_REALTIME != 0 {
                        let real = self.host.now(crate::host::Clock::Realtime);
                        now.saturating_add(t.saturating_sub(real))
                    } else {
                        t
                    })
                } else {
                    None
                };
                if self.user(pid)?.read_val::<u32>(uaddr)? != val {
                    return Err(Errno::EAGAIN);
                }
                self.futexes.wait(key, tid, bitset);
                let task = &mut self.tasks[ti];
                task.cpu.gpr[reg::RAX] = 0;
                task.state = TaskState::Futex { deadline };
                Ok(Outcome::Done)
            }
            FUTEX_WAKE | FUTEX_WAKE_BITSET => {
                let bitset = if cmd == FUTEX_WAKE { u32::MAX } else { val3 };
                if bitset == 0 {
                    return Err(Errno::EINVAL);
                }
                Ok(Outcome::Return(self.futex_wake(key, val as usize, bitset) as u64))
            }
            FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
                if !uaddr2.is_multiple_of(4) {
                    return Err(Errno::EINVAL);
                }
                if cmd == FUTEX_CMP_REQUEUE && self.user(pid)?.read_val::<u32>(uaddr)? != val3 {
                    return Err(Errno::EAGAIN);
                }
                // val2 travels in the timeout argument.
                let nreq = timeout as u32 as usize;
                let key2 = self.futex_key(pid, uaddr2, op)?;
                let (woken, moved) = self.futexes.requeue(key, key2, val as usize, nreq);
                self.make_runnable(&woken);
                // FUTEX_REQUEUE returns the number woken, CMP_REQUEUE the
                // number woken plus requeued.
                Ok(Outcome::Return(if cmd == FUTEX_CMP_REQUEUE { woken.len() + moved } else { woken.len() } as u64))
            }
            _ => Err(Errno::ENOSYS),
        }
    }
}
