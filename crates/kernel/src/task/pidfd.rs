//! Process file descriptors (pidfd_open(2)): a descriptor that names one
//! process and becomes readable (POLLIN) once the whole process has
//! exited, which poll/select/epoll wait for. Reading one fails (EINVAL),
//! as on Linux. The process keeps weak handles on its pidfds' shared
//! state to mark them when it exits and when it is reaped: from then on
//! the pidfd names no process (pidfd_send_signal: ESRCH, waitid: ECHILD),
//! even if its pid number were given to a new process.

use std::any::Any;
use std::cell::Cell;
use std::rc::{Rc, Weak};

use super::Pid;
use crate::event::{anon_stat, anon_statfs, POLLIN};
use crate::vfs::{FileOps, Result, Stat, StatFs, WaitQueue};

/// POLLRDNORM, which Linux reports with POLLIN for an exited process.
const POLLRDNORM: u16 = 0x40;

/// What every pidfd of one process shares.
pub struct PidFdState {
    pub pid: Pid,
    exited: Cell<bool>,
    /// The process was reaped (or never had a zombie): gone for good.
    reaped: Cell<bool>,
    queue: WaitQueue,
}

impl PidFdState {
    /// Whether the process this names was reaped.
    pub fn reaped(&self) -> bool {
        self.reaped.get()
    }
}

/// A process's pidfds (weak: a closed pidfd is dropped here later).
#[derive(Default)]
pub struct PidFdWatchers(Vec<Weak<PidFdState>>);

impl PidFdWatchers {
    /// A new pidfd's state for process `pid` (`exited`: it is a zombie).
    pub fn open(&mut self, pid: Pid, exited: bool) -> Rc<PidFdState> {
        self.0.retain(|w| w.strong_count() > 0);
        if let Some(s) = self.0.iter().find_map(Weak::upgrade) {
            return s;
        }
        let s = Rc::new(PidFdState { pid, exited: Cell::new(exited), reaped: Cell::new(false), queue: WaitQueue::default() });
        self.0.push(Rc::downgrade(&s));
        s
    }

    /// The process left the process table: its pidfds name nothing now.
    pub fn reaped(&self) {
        for s in self.0.iter().filter_map(Weak::upgrade) {
            s.reaped.set(true);
        }
    }

    /// The process exited: its pidfds become readable.
    pub fn exited(&self) {
        for s in self.0.iter().filter_map(Weak::upgrade) {
            s.exited.set(true);
            s.queue.notify_events(POLLIN | POLLRDNORM);
        }
    }
}

/// An open pidfd.
pub struct PidFd(pub Rc<PidFdState>);

impl FileOps for PidFd {
    fn wait_queue(&self) -> Option<WaitQueue> {
        Some(self.0.queue.clone())
    }

    fn poll(&self) -> u16 {
        if self.0.exited.get() {
            POLLIN | POLLRDNORM
        } else {
            0
        }
    }

    fn stat(&self) -> Option<Result<Stat>> {
        Some(Ok(anon_stat()))
    }

    fn statfs(&self) -> StatFs {
        anon_statfs()
    }

    fn anon_name(&self) -> Option<&'static str> {
        Some("anon_inode:[pidfd]")
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
