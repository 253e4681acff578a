//! Pipes: a bounded byte queue with a read end and a write end. A reader
//! of an empty pipe waits while a writer exists (end of file after the
//! last one closes); a writer waits while the pipe is full and gets EPIPE
//! once no reader is left. Waiting is [`Io::Block`]: the task sleeps and
//! the syscall restarts (or EAGAIN under O_NONBLOCK).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use crate::errno::Errno;
use crate::host::Host;
use crate::vfs::{makedev, FileOps, FileType, Io, Result, Stat, StatFs, WaitQueue};

/// Linux's default pipe capacity.
pub const PIPE_BUF_SIZE: usize = 65536;
/// /proc/sys/fs/pipe-max-size: the most F_SETPIPE_SZ grants without
/// CAP_SYS_RESOURCE.
pub const PIPE_MAX_SIZE: usize = 1 << 20;
const PAGE: usize = 4096;

pub const POLLIN: u16 = 0x1;
pub const POLLOUT: u16 = 0x4;
pub const POLLERR: u16 = 0x8;
pub const POLLHUP: u16 = 0x10;

struct Shared {
    data: VecDeque<u8>,
    /// How many bytes the pipe holds before writers wait (F_SETPIPE_SZ).
    capacity: usize,
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
    /// Opened through a FIFO's name: fstat asks the inode.
    named: bool,
}

/// A new pipe: (read end, write end).
pub fn new_pair(ino: u64) -> (Rc<dyn FileOps>, Rc<dyn FileOps>) {
    let shared = Rc::new(RefCell::new(Shared {
        data: VecDeque::new(),
        capacity: PIPE_BUF_SIZE,
        readers: 1,
        writers: 1,
        ino,
        queue: WaitQueue::default(),
    }));
    (Rc::new(PipeEnd { shared: shared.clone(), write: false, named: false }), Rc::new(PipeEnd { shared, write: true, named: false }))
}

/// Named pipes in use, by the FIFO inode's (dev, ino): every open of one
/// name reaches the same pipe, while any end is open or an open waits.
#[derive(Default)]
pub struct FifoTable {
    pipes: RefCell<HashMap<(u64, u64), Fifo>>,
}

struct Fifo {
    shared: Rc<RefCell<Shared>>,
    /// How many opens for reading / writing there have been: a blocked
    /// open waits for the other side's count to move.
    read_opens: u64,
    write_opens: u64,
}

/// What opening a FIFO gave.
pub enum FifoOpen {
    Opened(Rc<dyn FileOps>),
    /// The other side is not open yet: wait on the queue, then retry the
    /// open with the same `progress` (already counted as an opener).
    Wait(WaitQueue),
}

impl FifoTable {
    /// Open the FIFO `id` for reading, writing or both (O_RDWR never
    /// waits), as fifo(7) says: a reader waits for a writer and a writer
    /// for a reader, unless O_NONBLOCK (then a reader succeeds and a
    /// writer gets ENXIO). `progress` is the caller's restart state: 0 on
    /// the first attempt; while waiting it holds 1 + the other side's open
    /// count seen then, and the waiter already counts as an end.
    ///
    /// An open interrupted by a signal leaves its count behind (Linux
    /// takes it back): a later open of the other side may then not wait.
    pub fn open(&self, id: (u64, u64), read: bool, write: bool, nonblock: bool, progress: &mut u64) -> Result<FifoOpen> {
        let mut pipes = self.pipes.borrow_mut();
        pipes.retain(|_, f| {
            let s = f.shared.borrow();
            s.readers + s.writers > 0
        });
        let f = pipes.entry(id).or_insert_with(|| Fifo {
            shared: Rc::new(RefCell::new(Shared {
                data: VecDeque::new(),
                capacity: PIPE_BUF_SIZE,
                readers: 0,
                writers: 0,
                ino: id.1,
                queue: WaitQueue::default(),
            })),
            read_opens: 0,
            write_opens: 0,
        });
        let end = |write: bool| Rc::new(PipeEnd { shared: f.shared.clone(), write, named: true }) as Rc<dyn FileOps>;
        if read && write {
            let mut s = f.shared.borrow_mut();
            s.readers += 1;
            s.writers += 1;
            f.read_opens += 1;
            f.write_opens += 1;
            s.queue.notify();
            drop(s);
            // One description, both ends: a read-write end.
            return Ok(FifoOpen::Opened(Rc::new(FifoRw { r: end(false), w: end(true) })));
        }
        let first = *progress == 0;
        let (others, seen_opens) = {
            let s = f.shared.borrow();
            if write {
                (s.readers, f.read_opens)
            } else {
                (s.writers, f.write_opens)
            }
        };
        if first {
            if write && nonblock && others == 0 {
                return Err(Errno::ENXIO);
            }
            let mut s = f.shared.borrow_mut();
            if write {
                s.writers += 1;
                f.write_opens += 1;
            } else {
                s.readers += 1;
                f.read_opens += 1;
            }
            s.queue.notify();
        }
        let other_came = !first && seen_opens + 1 != *progress;
        if others > 0 || other_came || (nonblock && !write) {
            *progress = 0;
            return Ok(FifoOpen::Opened(end(write)));
        }
        if first {
            *progress = seen_opens + 1;
        }
        let q = f.shared.borrow().queue.clone();
        Ok(FifoOpen::Wait(q))
    }
}

/// The pipe behind an open pipe end or FIFO, for splice(2) and tee(2),
/// which look at and move its bytes directly.
pub struct PipeRef(Rc<RefCell<Shared>>);

/// The pipe `ops` is an end of (any end, named or not, a read-write FIFO
/// showing its read end), if it is one.
pub fn pipe_of(ops: &dyn FileOps) -> Option<PipeRef> {
    let e = ops.as_any()?.downcast_ref::<PipeEnd>()?;
    Some(PipeRef(e.shared.clone()))
}

impl PipeRef {
    pub fn same(&self, other: &PipeRef) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
    /// Bytes waiting to be read.
    pub fn len(&self) -> usize {
        self.0.borrow().data.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes that can be added before it is full.
    pub fn room(&self) -> usize {
        PIPE_BUF_SIZE - self.len()
    }
    pub fn has_readers(&self) -> bool {
        self.0.borrow().readers > 0
    }
    pub fn has_writers(&self) -> bool {
        self.0.borrow().writers > 0
    }
    /// A copy of the first `n` bytes, left in the pipe.
    pub fn peek(&self, n: usize) -> Vec<u8> {
        self.0.borrow().data.iter().take(n).copied().collect()
    }
    /// Drop the first `n` bytes (as a read of them would).
    pub fn consume(&self, n: usize) {
        let mut s = self.0.borrow_mut();
        let was_full = s.data.len() >= PIPE_BUF_SIZE;
        let n = n.min(s.data.len());
        s.data.drain(..n);
        if was_full && n > 0 {
            s.queue.notify_events(POLLOUT);
        }
    }
    /// Append bytes (at most the room there is), as a write would.
    pub fn push(&self, data: &[u8]) -> usize {
        let mut s = self.0.borrow_mut();
        let n = data.len().min(PIPE_BUF_SIZE - s.data.len());
        s.data.extend(&data[..n]);
        if n > 0 {
            s.queue.notify_events(POLLIN);
        }
        n
    }
}

/// A FIFO opened O_RDWR: reads from and writes to the same pipe.
struct FifoRw {
    r: Rc<dyn FileOps>,
    w: Rc<dyn FileOps>,
}

impl FileOps for FifoRw {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        self.r.as_any()
    }
    fn wait_queue(&self) -> Option<WaitQueue> {
        self.r.wait_queue()
    }
    fn read(&self, host: &mut dyn Host, off: u64, buf: &mut [u8]) -> Result<Io> {
        self.r.read(host, off, buf)
    }
    fn write(&self, host: &mut dyn Host, off: u64, data: &[u8]) -> Result<Io> {
        self.w.write(host, off, data)
    }
    fn poll(&self) -> u16 {
        (self.r.poll() & !POLLHUP) | (self.w.poll() & POLLOUT)
    }
    fn stat(&self) -> Option<Result<Stat>> {
        None
    }
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

impl PipeEnd {
    /// F_GETPIPE_SZ: the capacity in bytes.
    pub fn size(&self) -> usize {
        self.shared.borrow().capacity
    }

    /// F_SETPIPE_SZ, as fcntl(2) says: the size is rounded up to a power
    /// of two pages (at least one page); above pipe-max-size it needs
    /// CAP_SYS_RESOURCE (EPERM), and it cannot drop below what the pipe
    /// holds now (EBUSY). Returns the size granted.
    pub fn set_size(&self, want: u32, privileged: bool) -> Result<usize> {
        if want > 1 << 31 {
            return Err(Errno::EINVAL);
        }
        let size = (want as usize).max(PAGE).next_power_of_two();
        let mut s = self.shared.borrow_mut();
        if size > s.capacity && size > PIPE_MAX_SIZE && !privileged {
            return Err(Errno::EPERM);
        }
        // Linux counts the page buffers in use; bytes rounded up to pages
        // come close.
        if s.data.len().div_ceil(PAGE) > size / PAGE {
            return Err(Errno::EBUSY);
        }
        let grew = size > s.capacity;
        s.capacity = size;
        if grew {
            s.queue.notify_events(POLLOUT);
        }
        Ok(size)
    }
}

impl FileOps for PipeEnd {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn wait_queue(&self) -> Option<WaitQueue> {
        Some(self.shared.borrow().queue.clone())
    }

    fn read(&self, _host: &mut dyn Host, _off: u64, buf: &mut [u8]) -> Result<Io> {
        let mut s = self.shared.borrow_mut();
        if s.data.is_empty() {
            return Ok(if s.writers == 0 || buf.is_empty() { Io::Done(0) } else { Io::Block });
        }
        let was_full = s.data.len() >= s.capacity;
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
        let room = s.capacity.saturating_sub(s.data.len());
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
            match (s.readers, s.data.len() < s.capacity) {
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
        if self.named {
            return None;
        }
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
