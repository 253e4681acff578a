//! Signal delivery: pending signals become handler frames (or default
//! actions) before a task resumes; faults go to handlers; blocked,
//! sleeping and futex-waiting tasks are interrupted.

use oxvm_cpu::state::reg;
use oxvm_cpu::{Bus, Fault};

use super::Kernel;
use crate::errno::Errno;
use crate::signal::frame::{self, Delivery};
use crate::signal::{FaultSignal, Signal};
use crate::task::{ExitStatus, TaskState};

pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;
const SIG_IGN: u64 = 1;
const SS_ONSTACK: u32 = 1;
const SS_DISABLE: u32 = 2;
const UNBLOCKABLE: u64 = (1 << 8) | (1 << 18);

impl Kernel {
    /// The lowest pending signal task `ti`'s process does not block.
    pub(super) fn deliverable(&self, ti: usize) -> Option<u64> {
        let t = &self.tasks[ti];
        let p = self.processes.get(&t.pid)?;
        let ready = (p.pending.mask() | t.sig.pending.mask()) & !t.sig.mask;
        crate::signal::pending::next_signal(ready).map(u64::from)
    }

    /// A task waiting in the kernel has a signal to take: end the wait so
    /// the handler can run (EINTR, or a restart for SA_RESTART).
    pub(super) fn interrupt(&mut self, ti: usize, sig: u64) {
        // A runnable sibling thread not blocking a process-directed signal
        // takes it when it next runs: waking this one too would only give it
        // a spurious EINTR.
        let (pid, tid) = (self.tasks[ti].pid, self.tasks[ti].tid);
        let bit = 1u64 << (sig - 1);
        let own = self.tasks[ti].sig.pending.mask() & bit != 0;
        if !own && self.tasks.iter().any(|t| t.pid == pid && t.tid != tid && t.state == TaskState::Runnable && t.sig.mask & bit == 0) {
            return;
        }
        let restart = self
            .processes
            .get(&self.tasks[ti].pid)
            .is_some_and(|p| p.sigactions[sig as usize - 1][1] & SA_RESTART != 0 && p.sigactions[sig as usize - 1][0] > SIG_IGN);
        let task = &mut self.tasks[ti];
        match task.state {
            TaskState::Blocked => {
                // RIP is back at the SYSCALL and RAX holds its number:
                // leaving it so restarts the call after the handler.
                // Calls Linux never restarts after a handler (ERESTARTNOHAND
                // and friends): pause, rt_sigsuspend, rt_sigtimedwait, poll,
                // select, ppoll, pselect6, epoll_wait, epoll_pwait, epoll_pwait2.
                let nr = task.cpu.gpr[reg::RAX];
                if !restart || matches!(nr, 34 | 130 | 128 | 7 | 23 | 271 | 270 | 232 | 281 | 441) {
                    // A write that already moved bytes returns their count.
                    let done = std::mem::take(&mut task.progress);
                    task.cpu.gpr[reg::RAX] = if done > 0 { done } else { Errno::EINTR.as_return() };
                    task.cpu.rip = task.cpu.rip.wrapping_add(2);
                }
            }
            TaskState::Sleep(until) => {
                task.cpu.gpr[reg::RAX] = Errno::EINTR.as_return();
                let rem = std::mem::take(&mut task.sleep_rem);
                if rem != 0 {
                    let left = until.saturating_sub(self.host.now(crate::host::Clock::Monotonic));
                    let mut b = [0u8; 16];
                    b[..8].copy_from_slice(&(left / 1_000_000_000).to_le_bytes());
                    b[8..].copy_from_slice(&(left % 1_000_000_000).to_le_bytes());
                    let pid = self.tasks[ti].pid;
                    if let Some(p) = self.processes.get_mut(&pid) {
                        // A bad pointer is the caller's problem: Linux gives EFAULT; keep EINTR.
                        let _ = p.mm.user(&mut self.mem).write_bytes(rem, &b);
                    }
                }
            }
            TaskState::Futex { .. } => {
                task.cpu.gpr[reg::RAX] = Errno::EINTR.as_return();
                let tid = task.tid;
                self.futexes.remove(tid);
            }
            _ => return,
        }
        self.tasks[ti].state = TaskState::Runnable;
    }

    /// Take task `ti`'s deliverable signals: default actions, or handler
    /// frames stacked one per signal. Returns false when the process ended
    /// or stopped.
    pub(super) fn deliver(&mut self, ti: usize) -> bool {
        let pid = self.tasks[ti].pid;
        while let Some(sig) = self.deliverable(ti) {
            let Some(p) = self.processes.get_mut(&pid) else { return false };
            // Thread-directed first, as Linux dequeues.
            let Some(info) = self.tasks[ti].sig.pending.take(sig as u32).or_else(|| p.pending.take(sig as u32)) else { continue };
            let act = p.sigactions[sig as usize - 1];
            if act[0] == SIG_IGN {
                continue;
            }
            if act[0] == 0 {
                if super::job::is_stop(sig) {
                    self.stop_process(pid, sig);
                    if self.processes.get(&pid).is_some_and(|p| p.job.stopped) {
                        return false;
                    }
                    continue;
                }
                if matches!(sig, 17 | 18 | 23 | 28) {
                    continue;
                }
                self.exit_process(pid, ExitStatus::Signaled(Signal(sig as u8)));
                return false;
            }
            // Linux keeps going while unblocked signals remain (the exit to
            // user mode loops), each frame on top of the last: the handler
            // of the last one taken runs first.
            if !self.enter_handler(ti, sig, info.0, (0, 0, 0)) {
                return false;
            }
        }
        // rt_sigsuspend returned without a handler to run: its mask goes.
        let t = &mut self.tasks[ti].sig;
        if let Some(m) = t.saved_mask.take() {
            t.mask = m;
        }
        true
    }

    /// Build the frame for `sig` and point task `ti` at the handler; a
    /// frame that cannot be written kills with SIGSEGV.
    fn enter_handler(&mut self, ti: usize, sig: u64, info: [u8; 128], fault: (u64, u64, u64)) -> bool {
        let pid = self.tasks[ti].pid;
        let Some(p) = self.processes.get_mut(&pid) else { return false };
        let act = p.sigactions[sig as usize - 1];
        let task = &mut self.tasks[ti];
        let sp = task.cpu.gpr[reg::RSP];
        let (ss_sp, ss_flags, ss_size) = task.sig.altstack;
        let on_alt = ss_flags & SS_DISABLE == 0 && sp > ss_sp && sp <= ss_sp.wrapping_add(ss_size);
        let stack_top = if act[1] & SA_ONSTACK != 0 && ss_flags & SS_DISABLE == 0 && !on_alt {
            ss_sp.wrapping_add(ss_size)
        } else {
            frame::current_stack_top(&task.cpu)
        };
        let old_mask = task.sig.saved_mask.take().unwrap_or(task.sig.mask);
        let d = Delivery {
            signo: sig as u32,
            info,
            handler: act[0],
            restorer: act[2],
            old_mask,
            stack_top,
            altstack: (ss_sp, if on_alt { SS_ONSTACK } else { ss_flags }, ss_size),
            trapno: fault.0,
            err: fault.1,
            cr2: fault.2,
        };
        // The frame may land on pages not touched yet (an alternate stack
        // in .bss): fault them in as the CPU would, a few times at most.
        let mut r = Err(Fault::GeneralProtection);
        for _ in 0..8 {
            r = {
                let mut mm = p.mm.borrow_mut();
                let mut bus = Bus::new(&mut mm.space, &mut self.mem);
                frame::setup(&mut task.cpu, &mut bus, &d)
            };
            match r {
                Err(Fault::Page { addr, access, .. }) if p.mm.borrow_mut().handle_fault(&mut self.mem, addr, access).is_ok() => {}
                _ => break,
            }
        }
        if r.is_err() {
            self.exit_process(pid, ExitStatus::Signaled(Signal::SIGSEGV));
            return false;
        }
        let mut mask = old_mask | act[3];
        if act[1] & SA_NODEFER == 0 {
            mask |= 1 << (sig - 1);
        }
        task.sig.mask = mask & !UNBLOCKABLE;
        if act[1] & SA_RESETHAND != 0 {
            p.sigactions[sig as usize - 1][0] = 0;
        }
        true
    }

    /// A synchronous signal from a faulting instruction: its handler runs
    /// if one is installed and the signal is neither blocked nor ignored;
    /// otherwise the process dies (Linux's force_sig). Returns false when
    /// it died.
    pub(super) fn fault_signal(&mut self, ti: usize, f: Fault, fs: FaultSignal) -> bool {
        let pid = self.tasks[ti].pid;
        let sig = u64::from(fs.signal.0);
        let mask = self.tasks[ti].sig.mask;
        let handled = !fs.out_of_memory
            && self.processes.get(&pid).is_some_and(|p| {
                let h = p.sigactions[sig as usize - 1][0];
                h > SIG_IGN && mask & (1 << (sig - 1)) == 0
            });
        if handled {
            let (code, trapno, err) = match f {
                Fault::Page { present, access, .. } => {
                    let write = matches!(access, oxvm_cpu::Access::Write);
                    // SEGV_MAPERR (1) / SEGV_ACCERR (2), or BUS_ADRERR (2)
                    // past a file's end.
                    let code = if present || fs.signal == crate::signal::Signal::SIGBUS { 2 } else { 1 };
                    (code, 14, 4 | u64::from(present) | (u64::from(write) << 1))
                }
                Fault::GeneralProtection => (0x80, 13, 0),
                Fault::StackFault => (0x80, 12, 0),
                Fault::InvalidOpcode => (2, 6, 0),
                Fault::DivideError => (1, 0, 0),
                Fault::X87 => (0, 16, 0),
                Fault::Simd => (0, 19, 0),
                Fault::Breakpoint => (0x80, 3, 0),
            };
            let info = frame::siginfo(sig as u32, code, fs.addr);
            let cr2 = if matches!(f, Fault::Page { .. }) { fs.addr } else { 0 };
            return self.enter_handler(ti, sig, info, (trapno, err, cr2));
        }
        self.last_fatal = Some(fs);
        self.exit_process(pid, ExitStatus::Signaled(fs.signal));
        false
    }
}
