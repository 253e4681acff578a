//! Pipes: a bounded byte queue with a read end and a write end. A reader
//! of an empty pipe waits while a writer exists (end of file after the
//! last one closes); a writer waits while the pipe is full and gets EPIPE
//! once no reader is left. Waiting is [`Io::Block`]: the task sleeps and
//! the syscall restarts (or EAGAIN under O_NONBLOCK).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use crate::errno::Errno;
use crate::host::Host;
use crate::vfs::{makedev, FileOps, FileType, Io, Result, Stat, StatFs, WaitQueue};

/// Linux's default pipe capacity.
pub const PIPE_BUF_SIZE: usize = 65536;

pub const POLLIN: u16 = 0x1;
pub const POLLOUT: u16 = 0x4;
pub const POLLERR: u16 = 0x8;
pub const POLLHUP: u16 = 0x10;

struct Shared {
    data: VecDeque<u8>,
    readers: usize,
    writers: usize,
    ino: u64,
    /// Both ends' waiters: readers wait for data or the last writer's
    /// close, writers for room or the last reader's close.
    queue: WaitQueue,
}

pub struct PipeEnd {
    shared: Rc<RefCell<Shared>>,
    write: bool,
}

/// A new pipe: (read end, write end).
pub fn new_pair(ino: u64) -> (Rc<dyn FileOps>, Rc<dyn FileOps>) {
    let shared = Rc::new(RefCell::new(Shared { data: VecDeque::new(), readers: 1, writers: 1, ino, queue: WaitQueue::default() }));
    (Rc::new(PipeEnd { shared: shared.clone(), write: false }), Rc::new(PipeEnd { shared, write: true }))
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut s = self.shared.borrow_mut();
        if self.write {
            s.writers -= 1;
        } else {
            s.readers -= 1;
        }
        s.queue.notify();
    }
}

impl FileOps for PipeEnd {
    fn wait_queue(&self) -> Option<WaitQueue> {
        Some(self.shared.borrow().queue.clone())
    }

    fn read(&self, _host: &mut dyn Host, _off: u64, buf: &mut [u8]) -> Result<Io> {
        let mut s = self.shared.borrow_mut();
        if s.data.is_empty() {
            return Ok(if s.writers == 0 || buf.is_empty() { Io::Done(0) } else { Io::Block });
        }
        let was_full = s.data.len() >= PIPE_BUF_SIZE;
        let n = buf.len().min(s.data.len());
        for (b, d) in buf.iter_mut().zip(s.data.drain(..n)) {
            *b = d;
        }
        // Only a full pipe has writers waiting (Linux wakes them only
        // then): an output edge for epoll, never an input one.
        if was_full {
            s.queue.notify_events(POLLOUT);
        }
        Ok(Io::Done(n))
    }

    fn write(&self, _host: &mut dyn Host, _off: u64, data: &[u8]) -> Result<Io> {
        let mut s = self.shared.borrow_mut();
        if s.readers == 0 {
            return Err(Errno::EPIPE);
        }
        let room = PIPE_BUF_SIZE - s.data.len();
        if room == 0 && !data.is_empty() {
            return Ok(Io::Block);
        }
        let n = data.len().min(room);
        s.data.extend(&data[..n]);
        s.queue.notify_events(POLLIN);
        Ok(Io::Done(n))
    }

    fn poll(&self) -> u16 {
        let s = self.shared.borrow();
        if self.write {
            match (s.readers, s.data.len() < PIPE_BUF_SIZE) {
                (0, _) => POLLOUT | POLLERR,
                (_, true) => POLLOUT,
                _ => 0,
            }
        } else {
            let mut m = if s.data.is_empty() { 0 } else { POLLIN };
            if s.writers == 0 {
                m |= POLLHUP;
            }
            m
        }
    }

    fn stat(&self) -> Option<Result<Stat>> {
        let s = self.shared.borrow();
        Some(Ok(Stat {
            dev: makedev(0, 13),
            ino: s.ino,
            mode: FileType::Fifo.mode_bits() | 0o600,
            nlink: 1,
            blksize: 4096,
            ..Default::default()
        }))
    }

    fn statfs(&self) -> StatFs {
        StatFs::pipefs()
    }
}
