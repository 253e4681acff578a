//! eventfd: a 64-bit counter. A write adds to it (waiting while the sum
//! would pass 0xffff_ffff_ffff_fffe), a read takes it all and resets it to
//! 0, or in semaphore mode takes 1; a read of 0 waits. Transfers are
//! exactly 8 bytes (shorter buffers: EINVAL; longer ones move 8).

use std::any::Any;
use std::cell::Cell;

use super::{anon_stat, anon_statfs, POLLERR, POLLIN, POLLOUT};
use crate::errno::Errno;
use crate::host::Host;
use crate::vfs::{FileOps, Io, Result, Stat, StatFs, WaitQueue};

/// The largest value the counter can hold.
pub const MAX: u64 = u64::MAX - 1;

pub struct EventFd {
    count: Cell<u64>,
    semaphore: bool,
    queue: WaitQueue,
}

impl EventFd {
    pub fn new(initval: u64, semaphore: bool) -> EventFd {
        EventFd { count: Cell::new(initval), semaphore, queue: WaitQueue::default() }
    }

    pub fn count(&self) -> u64 {
        self.count.get()
    }
}

impl FileOps for EventFd {
    fn wait_queue(&self) -> Option<WaitQueue> {
        Some(self.queue.clone())
    }

    fn read(&self, _host: &mut dyn Host, _off: u64, buf: &mut [u8]) -> Result<Io> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let c = self.count.get();
        if c == 0 {
            return Ok(Io::Block);
        }
        let v = if self.semaphore { 1 } else { c };
        self.count.set(c - v);
        buf[..8].copy_from_slice(&v.to_le_bytes());
        // Room for writers: an output edge only.
        self.queue.notify_events(POLLOUT);
        Ok(Io::Done(8))
    }

    fn write(&self, _host: &mut dyn Host, _off: u64, data: &[u8]) -> Result<Io> {
        if data.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let v = u64::from_le_bytes(data[..8].try_into().unwrap());
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let c = self.count.get();
        if MAX - c < v {
            return Ok(Io::Block);
        }
        self.count.set(c + v);
        // Even adding 0 wakes (an edge for EPOLLET watchers), as on Linux.
        self.queue.notify_events(POLLIN);
        Ok(Io::Done(8))
    }

    fn poll(&self) -> u16 {
        let c = self.count.get();
        let mut m = 0;
        if c > 0 {
            m |= POLLIN;
        }
        if c < MAX {
            m |= POLLOUT;
        }
        if c == u64::MAX {
            m |= POLLERR;
        }
        m
    }

    fn stat(&self) -> Option<Result<Stat>> {
        Some(Ok(anon_stat()))
    }

    fn statfs(&self) -> StatFs {
        anon_statfs()
    }

    fn anon_name(&self) -> Option<&'static str> {
        Some("anon_inode:[eventfd]")
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::testhost::FakeHost as NullHost;

    fn rd(e: &EventFd) -> Result<Io> {
        let mut b = [0u8; 8];
        e.read(&mut NullHost::default(), 0, &mut b).map(|r| if let Io::Done(_) = r { Io::Done(u64::from_le_bytes(b) as usize) } else { r })
    }

    #[test]
    fn counter_and_semaphore() {
        let h = &mut NullHost::default();
        let e = EventFd::new(0, false);
        assert_eq!(rd(&e), Ok(Io::Block));
        assert_eq!(e.write(h, 0, &5u64.to_le_bytes()), Ok(Io::Done(8)));
        assert_eq!(e.write(h, 0, &2u64.to_le_bytes()), Ok(Io::Done(8)));
        assert_eq!(rd(&e), Ok(Io::Done(7)));
        assert_eq!(e.poll(), POLLOUT);
        let s = EventFd::new(2, true);
        assert_eq!(rd(&s), Ok(Io::Done(1)));
        assert_eq!(rd(&s), Ok(Io::Done(1)));
        assert_eq!(rd(&s), Ok(Io::Block));
        assert_eq!(e.read(h, 0, &mut [0u8; 4]), Err(Errno::EINVAL));
        assert_eq!(e.write(h, 0, &u64::MAX.to_le_bytes()), Err(Errno::EINVAL));
        assert_eq!(e.write(h, 0, &MAX.to_le_bytes()), Ok(Io::Done(8)));
        assert_eq!(e.write(h, 0, &1u64.to_le_bytes()), Ok(Io::Block));
        assert_eq!(e.poll(), POLLIN);
    }
}
