//! Pipes: a bounded byte queue with a read end and a write end. A reader
//! of an empty pipe waits while a writer exists (end of file after the
//! last one closes); a writer waits while the pipe is full and gets EPIPE
//! once no reader is left. Waiting is [`Io::Block`]: the task sleeps and
//! the syscall restarts (or EAGAIN under O_NONBLOCK).
//!
//! The queue is Linux's ring of page buffers (pipe(7)): a pipe of 64 KiB
//! has 16 slots of one page each. A write first tops up the last page
//! with its first `len % 4096` bytes when they fit there, then takes a
//! fresh slot per page; a page leaves its slot once read. That is what
//! makes writes of at most PIPE_BUF (4096) bytes atomic, never
//! interleaved with other writers nor cut short (a non-blocking one with
//! no room fails with EAGAIN), while larger writes may be split; and a
//! write end polls writable only while a slot is free.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use crate::errno::Errno;
use crate::host::Host;
use crate::vfs::{makedev, FileOps, FileType, Io, Result, Stat, StatFs, WaitQueue};

/// Linux's default pipe capacity.
pub const PIPE_BUF_SIZE: usize = 65536;
/// The largest write that is atomic (pipe(7)).
pub const PIPE_BUF: usize = 4096;
/// /proc/sys/fs/pipe-max-size: the most F_SETPIPE_SZ grants without
/// CAP_SYS_RESOURCE.
pub const PIPE_MAX_SIZE: usize = 1 << 20;
const PAGE: usize = 4096;

pub const POLLIN: u16 = 0x1;
pub const POLLOUT: u16 = 0x4;
pub const POLLERR: u16 = 0x8;
pub const POLLHUP: u16 = 0x10;

/// One slot of the ring: the bytes written into its page, of which the
/// first `read` were consumed. Written by write(2) it takes more bytes
/// (`merge`); filled by splice it does not.
struct PageBuf {
    bytes: Vec<u8>,
    read: usize,
    merge: bool,
}

struct Shared {
    bufs: VecDeque<PageBuf>,
    /// Unread bytes in all the slots.
    len: usize,
    /// The ring's size in bytes, a power of two pages (F_SETPIPE_SZ).
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

impl Shared {
    fn new(readers: usize, writers: usize, ino: u64) -> Shared {
        Shared { bufs: VecDeque::new(), len: 0, capacity: PIPE_BUF_SIZE, readers, writers, ino, queue: WaitQueue::default() }
    }

    /// Every slot holds a page.
    fn full(&self) -> bool {
        self.bufs.len() >= self.capacity / PAGE
    }

    /// Bytes the free slots take.
    fn room(&self) -> usize {
        (self.capacity / PAGE).saturating_sub(self.bufs.len()) * PAGE
    }

    /// Add what fits of `data` without waiting, as Linux's pipe_write
    /// does (`merge`: a write(2), which may top up the last page first);
    /// returns how many bytes went in.
    fn put(&mut self, data: &[u8], merge: bool) -> usize {
        let mut done = 0;
        let head = data.len() % PAGE;
        if let Some(last) = self.bufs.back_mut().filter(|b| merge && head > 0 && b.merge && b.bytes.len() + head <= PAGE) {
            last.bytes.extend_from_slice(&data[..head]);
            done = head;
        }
        while done < data.len() && !self.full() {
            let n = (data.len() - done).min(PAGE);
            let mut bytes = Vec::with_capacity(PAGE);
            bytes.extend_from_slice(&data[done..done + n]);
            self.bufs.push_back(PageBuf { bytes, read: 0, merge });
            done += n;
        }
        self.len += done;
        done
    }

    /// Copy out up to `out.len()` bytes; consumed pages free their slots.
    fn take(&mut self, out: &mut [u8]) -> usize {
        let mut done = 0;
        while done < out.len() {
            let Some(b) = self.bufs.front_mut() else { break };
            let n = (out.len() - done).min(b.bytes.len() - b.read);
            out[done..done + n].copy_from_slice(&b.bytes[b.read..b.read + n]);
            b.read += n;
            done += n;
            if b.read == b.bytes.len() {
                self.bufs.pop_front();
            }
        }
        self.len -= done;
        done
    }

    /// A copy of the first `n` bytes.
    fn peek(&self, n: usize) -> Vec<u8> {
        self.bufs.iter().flat_map(|b| &b.bytes[b.read..]).take(n).copied().collect()
    }

    /// Drop the first `n` bytes, as a read would; true when the ring was
    /// full and some bytes went (writers waiting look again).
    fn consume(&mut self, n: usize) -> bool {
        let was_full = self.full();
        let mut left = n.min(self.len);
        self.len -= left;
        while left > 0 {
            let Some(b) = self.bufs.front_mut() else { break };
            let k = left.min(b.bytes.len() - b.read);
            b.read += k;
            left -= k;
            if b.read == b.bytes.len() {
                self.bufs.pop_front();
            }
        }
        was_full && n > 0
    }
}

/// A new pipe: (read end, write end).
pub fn new_pair(ino: u64) -> (Rc<dyn FileOps>, Rc<dyn FileOps>) {
    let shared = Rc::new(RefCell::new(Shared::new(1, 1, ino)));
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
            shared: Rc::new(RefCell::new(Shared::new(0, 0, id.1))),
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
        self.0.borrow().len
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes that can be added before it is full (whole free slots:
    /// spliced pages are not topped up).
    pub fn room(&self) -> usize {
        self.0.borrow().room()
    }
    pub fn has_readers(&self) -> bool {
        self.0.borrow().readers > 0
    }
    pub fn has_writers(&self) -> bool {
        self.0.borrow().writers > 0
    }
    /// A copy of the first `n` bytes, left in the pipe.
    pub fn peek(&self, n: usize) -> Vec<u8> {
        self.0.borrow().peek(n)
    }
    /// Drop the first `n` bytes (as a read of them would).
    pub fn consume(&self, n: usize) {
        let mut s = self.0.borrow_mut();
        if s.consume(n) {
            s.queue.notify_events(POLLOUT);
        }
    }
    /// Append bytes in pages of their own (at most the room there is), as
    /// splice fills a pipe.
    pub fn push(&self, data: &[u8]) -> usize {
        let mut s = self.0.borrow_mut();
        let n = s.put(data, false);
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
        // The slots in use must fit in the new ring.
        if s.bufs.len() > size / PAGE {
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
        if s.len == 0 {
            return Ok(if s.writers == 0 || buf.is_empty() { Io::Done(0) } else { Io::Block });
        }
        let was_full = s.full();
        let n = s.take(buf);
        // Only a full pipe has writers waiting (Linux wakes them only
        // then, whether or not a slot came free: they look again): an
        // output edge for epoll, never an input one.
        if was_full {
            s.queue.notify_events(POLLOUT);
        }
        Ok(Io::Done(n))
    }

    fn write(&self, _host: &mut dyn Host, _off: u64, data: &[u8]) -> Result<Io> {
        let mut s = self.shared.borrow_mut();
        // Linux answers an empty write before looking at the readers.
        if data.is_empty() {
            return Ok(Io::Done(0));
        }
        if s.readers == 0 {
            return Err(Errno::EPIPE);
        }
        let n = s.put(data, true);
        if n == 0 {
            return Ok(Io::Block);
        }
        s.queue.notify_events(POLLIN);
        Ok(Io::Done(n))
    }

    fn poll(&self) -> u16 {
        let s = self.shared.borrow();
        if self.write {
            // Writable while a slot is free: a write of PIPE_BUF then
            // goes in whole.
            let mut m = if s.full() { 0 } else { POLLOUT };
            if s.readers == 0 {
                m |= POLLERR;
            }
            m
        } else {
            let mut m = if s.len == 0 { 0 } else { POLLIN };
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes fill page slots as Linux's do: small writes top up the last
    /// page only when they fit in it whole.
    #[test]
    fn slots_and_atomic_writes() {
        let mut s = Shared::new(1, 1, 1);
        for _ in 0..16 {
            assert_eq!(s.put(&[1; 3000], true), 3000);
        }
        assert!(s.full());
        assert_eq!(s.put(&[2; 100], true), 100, "fits in the last page");
        assert_eq!(s.put(&[3; 1000], true), 0, "no slot, no room in the page: nothing");
        assert_eq!(s.put(&[4; 5000], true), 904, "a large write tops up the page with len % 4096");
        let mut out = [0u8; 2999];
        assert_eq!(s.take(&mut out), 2999);
        assert!(s.full(), "a partly read page keeps its slot");
        assert!(s.consume(1));
        assert!(!s.full());
        assert_eq!(s.put(&[5; 4096], false), 4096);
        assert_eq!(s.peek(2), vec![1, 1]);
        assert_eq!(s.len, 15 * 3000 + 3000 + 100 + 904 + 4096 - 3000);
    }
}
