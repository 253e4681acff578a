//! Process groups, sessions and job control: setpgid/setsid/getpgid/getsid
//! (they look at other processes, so the run loop calls them), signals to
//! a group, stopping and continuing processes, orphaned groups, and the
//! signals the terminals raise.

use super::Kernel;
use crate::errno::Errno;
use crate::syscall::SyscallArgs;
use crate::task::job::JobReport;
use crate::task::Pid;

pub const SIGHUP: u64 = 1;
pub const SIGCHLD: u64 = 17;
pub const SIGCONT: u64 = 18;
pub const SIGSTOP: u64 = 19;
pub const SIGTSTP: u64 = 20;
pub const SIGTTIN: u64 = 21;
pub const SIGTTOU: u64 = 22;
/// sa_flags: no SIGCHLD when a child stops or continues.
const SA_NOCLDSTOP: u64 = 1;

/// The stop signals (their default action stops the process).
pub fn is_stop(sig: u64) -> bool {
    (SIGSTOP..=SIGTTOU).contains(&sig)
}

impl Kernel {
    /// The live processes of group `pgid`.
    pub(super) fn group(&self, pgid: Pid) -> Vec<Pid> {
        self.processes.values().filter(|p| p.exit.is_none() && p.job.pgid == pgid).map(|p| p.pid).collect()
    }

    /// A group is orphaned when no member has a parent in another group of
    /// the same session (nobody is left to resume it with job control).
    /// The first process (no parent) stands for a job of the host's shell,
    /// so its group is never orphaned.
    pub(super) fn pgrp_orphaned(&self, pgid: Pid) -> bool {
        !self.processes.values().filter(|p| p.exit.is_none() && p.job.pgid == pgid).any(|p| {
            p.ppid == 0 || self.processes.get(&p.ppid).is_some_and(|q| q.exit.is_none() && q.job.pgid != pgid && q.job.sid == p.job.sid)
        })
    }

    /// Send `sig` to every process of group `pgid`; false when it has none.
    pub(crate) fn send_group(&mut self, pgid: Pid, sig: u64, code: i32, word: u64) -> bool {
        let members = self.group(pgid);
        for &pid in &members {
            self.send(pid, sig, code, word);
        }
        !members.is_empty()
    }

    /// Before a signal is queued: SIGCONT resumes a stopped process (whatever
    /// its disposition) and discards pending stop signals; a stop signal
    /// discards a pending SIGCONT.
    pub(super) fn job_signal(&mut self, pid: Pid, sig: u64) {
        let stops = (1u64 << (SIGSTOP - 1)) | (1 << (SIGTSTP - 1)) | (1 << (SIGTTIN - 1)) | (1 << (SIGTTOU - 1));
        if sig == SIGCONT {
            for t in self.tasks.iter_mut().filter(|t| t.pid == pid) {
                discard(&t.sig.pending, stops);
                // A waiting call looks again: a background terminal read
                // continued in the background stops again, as on Linux.
                t.waits = None;
            }
            let Some(p) = self.processes.get_mut(&pid) else { return };
            discard(&p.pending, stops);
            if p.job.stopped && p.exit.is_none() {
                p.job.stopped = false;
                p.job.report = Some(JobReport::Continued);
                self.notify_parent(pid, crate::task::job::CLD_CONTINUED, SIGCONT);
            }
        } else if is_stop(sig) {
            for t in self.tasks.iter().filter(|t| t.pid == pid) {
                t.sig.pending.discard(SIGCONT as u32);
            }
            if let Some(p) = self.processes.get(&pid) {
                p.pending.discard(SIGCONT as u32);
            }
        }
    }

    /// Stop process `pid` (the default action of a stop signal): its
    /// threads stop running until SIGCONT; the parent hears of it.
    /// SIGTSTP/SIGTTIN/SIGTTOU are discarded for an orphaned group, as
    /// on Linux.
    pub(super) fn stop_process(&mut self, pid: Pid, sig: u64) {
        let Some(p) = self.processes.get(&pid) else { return };
        if sig != SIGSTOP && self.pgrp_orphaned(p.job.pgid) {
            return;
        }
        let Some(p) = self.processes.get_mut(&pid) else { return };
        if p.job.stopped || p.exit.is_some() {
            return;
        }
        p.job.stopped = true;
        p.job.report = Some(JobReport::Stopped(sig as u8));
        self.notify_parent(pid, crate::task::job::CLD_STOPPED, sig);
    }

    /// Wake the parent's wait and send it SIGCHLD (unless SA_NOCLDSTOP).
    fn notify_parent(&mut self, pid: Pid, code: i32, status: u64) {
        let (ppid, uid) = match self.processes.get(&pid) {
            Some(p) => (p.ppid, p.creds.uid),
            None => return,
        };
        let Some(parent) = self.processes.get(&ppid) else { return };
        parent.child_events.notify();
        // This may happen while the scheduler checks which tasks are
        // ready: the parent's wait may now end, so the pass made progress.
        self.job_woke = true;
        if parent.sigactions[SIGCHLD as usize - 1][1] & SA_NOCLDSTOP == 0 {
            let _ = status;
            self.send(ppid, SIGCHLD, code, u64::from(pid) | u64::from(uid) << 32);
        }
    }

    /// A signal whose default action ends process `pid`: SIGKILL ends it
    /// now; any other is left pending and ends it when it next runs (or
    /// once continued), as on Linux, where the target dies on its own time
    /// and not inside the sender's kill(2).
    pub(super) fn fatal_signal(&mut self, pid: Pid, info: crate::signal::pending::SigInfo) {
        let Some(p) = self.processes.get_mut(&pid) else { return };
        let sig = info.signo();
        if sig == 9 {
            self.exit_process(pid, crate::task::ExitStatus::Signaled(crate::signal::Signal(sig as u8)));
            return;
        }
        p.pending.post(info);
    }

    /// Whether task `ti`'s process is stopped (the scheduler skips it).
    pub(super) fn stopped(&self, ti: usize) -> bool {
        self.processes.get(&self.tasks[ti].pid).is_some_and(|p| p.job.stopped)
    }

    /// Whether `sig`, about to be taken by task `ti`, takes the default
    /// stop action: then it is dequeued and the process stops.
    pub(super) fn take_stop(&mut self, ti: usize, sig: u64) -> bool {
        let pid = self.tasks[ti].pid;
        let Some(p) = self.processes.get_mut(&pid) else { return false };
        if !is_stop(sig) || p.sigactions[sig as usize - 1][0] != 0 {
            return false;
        }
        if self.tasks[ti].sig.pending.take(sig as u32).is_none() {
            p.pending.take(sig as u32);
        }
        self.stop_process(pid, sig);
        true
    }

    /// kill(2)'s targets: pid > 0 that process; 0 the caller's group;
    /// -1 every process but init and the caller; < -1 group -pid.
    pub(super) fn kill_targets(&self, me: Pid, pid: i32) -> Vec<Pid> {
        let mine = self.processes.get(&me).map_or(me, |p| p.job.pgid);
        match pid {
            1.. => self.processes.contains_key(&(pid as Pid)).then_some(vec![pid as Pid]).unwrap_or_default(),
            0 => self.group(mine),
            -1 => self.processes.values().filter(|p| p.exit.is_none() && p.pid != me && Some(p.pid) != self.init).map(|p| p.pid).collect(),
            _ => self.group(pid.unsigned_abs()),
        }
    }

    /// wait4's pid argument: does child `c` of `me` match `sel`?
    pub(super) fn wait_selects(&self, me: Pid, c: Pid, sel: i64) -> bool {
        let pg = |p: Pid| self.processes.get(&p).map_or(0, |p| p.job.pgid);
        match sel {
            1.. => i64::from(c) == sel,
            0 => pg(c) == pg(me),
            -1 => true,
            _ => i64::from(pg(c)) == -sel,
        }
    }

    /// A child with a stop (`stopped`) or continue (`continued`) not yet
    /// reported, taken unless `keep`.
    pub(super) fn take_report(&mut self, kids: &[Pid], stopped: bool, continued: bool, keep: bool) -> Option<(Pid, JobReport, u32)> {
        let &pid = kids.iter().find(|k| {
            self.processes.get(k).is_some_and(|p| {
                p.exit.is_none()
                    && match p.job.report {
                        Some(JobReport::Stopped(_)) => stopped,
                        Some(JobReport::Continued) => continued,
                        None => false,
                    }
            })
        })?;
        let p = self.processes.get_mut(&pid)?;
        let r = p.job.report?;
        if !keep {
            p.job.report = None;
        }
        Some((pid, r, p.creds.uid))
    }

    /// setpgid(2).
    pub(super) fn sys_setpgid(&mut self, ti: usize, a: &SyscallArgs) -> Result<u64, Errno> {
        let (pid, pgid) = (a.arg(0) as i32, a.arg(1) as i32);
        if pgid < 0 || pid < 0 {
            return Err(Errno::EINVAL);
        }
        let me = self.tasks[ti].pid;
        let target = if pid == 0 { me } else { pid as Pid };
        let pgid = if pgid == 0 { target } else { pgid as Pid };
        let (my_sid, t) = match (self.processes.get(&me), self.processes.get(&target)) {
            (Some(m), Some(t)) if t.exit.is_none() => (m.job.sid, t),
            _ => return Err(Errno::ESRCH),
        };
        if target != me {
            if t.ppid != me {
                return Err(Errno::ESRCH);
            }
            if t.job.sid != my_sid {
                return Err(Errno::EPERM);
            }
            if t.job.execed {
                return Err(Errno::EACCES);
            }
        }
        if t.job.sid == target {
            return Err(Errno::EPERM);
        }
        if pgid != target && !self.processes.values().any(|p| p.exit.is_none() && p.job.pgid == pgid && p.job.sid == my_sid) {
            return Err(Errno::EPERM);
        }
        if let Some(t) = self.processes.get_mut(&target) {
            t.job.pgid = pgid;
        }
        self.tty_groups_changed();
        Ok(0)
    }

    /// setsid(2): a new session and group led by the caller, without a
    /// controlling terminal; EPERM for a group leader.
    pub(super) fn sys_setsid(&mut self, ti: usize) -> Result<u64, Errno> {
        let me = self.tasks[ti].pid;
        if self.processes.values().any(|p| p.exit.is_none() && p.job.pgid == me) {
            return Err(Errno::EPERM);
        }
        let p = self.processes.get_mut(&me).ok_or(Errno::ESRCH)?;
        p.job.pgid = me;
        p.job.sid = me;
        self.tty_groups_changed();
        Ok(u64::from(me))
    }

    /// getpgid(2) (`sid` false) and getsid(2).
    pub(super) fn sys_getpgid(&mut self, ti: usize, a: &SyscallArgs, sid: bool) -> Result<u64, Errno> {
        let pid = a.arg(0) as i32;
        if pid < 0 {
            return Err(Errno::ESRCH);
        }
        let target = if pid == 0 { self.tasks[ti].pid } else { pid as Pid };
        let p = self.processes.get(&target).ok_or(Errno::ESRCH)?;
        // A zombie still has its group and session.
        Ok(u64::from(if sid { p.job.sid } else { p.job.pgid }))
    }

    /// A session leader exited: its controlling terminal hangs up (SIGHUP
    /// and SIGCONT to the foreground group) and belongs to no session.
    /// Groups this exit orphaned that have stopped members get SIGHUP and
    /// SIGCONT, as POSIX requires.
    pub(super) fn job_exit(&mut self, pid: Pid, before: &[(Pid, bool)]) {
        let leader = self.processes.get(&pid).is_some_and(|p| p.job.sid == pid);
        if leader {
            for pg in self.ttys.hangup_session(pid) {
                self.send_group(pg, SIGHUP, 0x80, 0);
                self.send_group(pg, SIGCONT, 0x80, 0);
            }
        }
        for &(pg, was_orphaned) in before {
            if !was_orphaned
                && self.pgrp_orphaned(pg)
                && self.group(pg).iter().any(|p| self.processes.get(p).is_some_and(|p| p.job.stopped))
            {
                self.send_group(pg, SIGHUP, 0x80, 0);
                self.send_group(pg, SIGCONT, 0x80, 0);
            }
        }
        self.tty_groups_changed();
    }

    /// The groups an exit of `pid` may orphan (its own and its children's),
    /// with whether they are orphaned already.
    pub(super) fn groups_before_exit(&self, pid: Pid) -> Vec<(Pid, bool)> {
        let mut gs: Vec<Pid> = self.processes.values().filter(|p| p.ppid == pid || p.pid == pid).map(|p| p.job.pgid).collect();
        gs.sort_unstable();
        gs.dedup();
        gs.into_iter().map(|g| (g, self.pgrp_orphaned(g))).collect()
    }

    /// The terminals' view of the process table is out of date.
    pub(super) fn tty_groups_changed(&mut self) {
        let procs = self
            .processes
            .values()
            .filter(|p| p.exit.is_none())
            .map(|p| crate::tty::ProcInfo { pid: p.pid, ppid: p.ppid, pgid: p.job.pgid, sid: p.job.sid })
            .collect();
        self.ttys.set_procs(procs);
    }

    /// Deliver the signals the terminals raised (ISIG characters, SIGWINCH,
    /// SIGTTIN/SIGTTOU for background jobs) to their process groups.
    pub(super) fn flush_tty_signals(&mut self) {
        for (pgid, sig) in self.ttys.take_signals() {
            self.send_group(pgid, u64::from(sig), 0x80, 0);
        }
    }
}

impl Kernel {
    /// Tell the terminals who is making the syscall task `ti` is about to
    /// make (job-control checks, controlling-terminal assignment).
    pub(super) fn set_tty_caller(&mut self, ti: usize) {
        if !self.ttys.active() {
            return;
        }
        let t = &self.tasks[ti];
        let Some(p) = self.processes.get(&t.pid) else { return };
        let off = |sig: u64| p.sigactions[sig as usize - 1][0] == 1 || t.sig.mask & (1 << (sig - 1)) != 0;
        self.ttys.set_caller(crate::tty::Caller {
            pid: p.pid,
            pgid: p.job.pgid,
            sid: p.job.sid,
            euid: p.creds.euid,
            egid: p.creds.egid,
            ttin_off: off(SIGTTIN),
            ttou_off: off(SIGTTOU),
        });
    }

    /// Key bytes from the host's terminal (when `Host::console_terminal`
    /// said there is one): through the console's line discipline, which
    /// echoes and may signal the foreground group.
    pub fn console_input(&mut self, data: &[u8]) {
        self.ttys.console_input(&mut *self.host, data);
        self.flush_tty_signals();
    }

    /// The host terminal's new size (rows, columns): SIGWINCH to the
    /// console's foreground group when it changed.
    pub fn console_resize(&mut self, rows: u16, cols: u16) {
        self.ttys.console_resize([rows, cols, 0, 0]);
        self.flush_tty_signals();
    }
}

/// Drop every pending instance of the signals in `set` (bit n-1: signal n).
fn discard(pending: &crate::signal::pending::PendingSet, set: u64) {
    for sig in 1..=64u32 {
        if set & (1 << (sig - 1)) != 0 {
            pending.discard(sig);
        }
    }
}
