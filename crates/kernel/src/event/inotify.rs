//! inotify, as a working stub: descriptors and watch ids behave as on
//! Linux (one id per watched inode, IN_MASK_ADD/IN_MASK_CREATE,
//! rm_watch and its IN_IGNORED event), but no filesystem reports changes
//! yet, so no other event is ever queued: the descriptor polls readable
//! only for IN_IGNORED and a read otherwise waits (or EAGAIN). Programs
//! that use inotify as an optimisation (tail -f, file managers) fall back
//! on their own timers.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use super::{anon_stat, anon_statfs, POLLIN};
use crate::errno::Errno;
use crate::host::Host;
use crate::vfs::{FileOps, Io, Result, Stat, StatFs, WaitQueue};

pub const IN_ALL_EVENTS: u32 = 0xfff;
/// The watch was removed.
pub const IN_IGNORED: u32 = 0x8000;
pub const IN_ONLYDIR: u32 = 0x0100_0000;
pub const IN_DONT_FOLLOW: u32 = 0x0200_0000;
pub const IN_EXCL_UNLINK: u32 = 0x0400_0000;
pub const IN_MASK_CREATE: u32 = 0x1000_0000;
pub const IN_MASK_ADD: u32 = 0x2000_0000;
pub const IN_ONESHOT: u32 = 0x8000_0000;
/// Every bit inotify_add_watch accepts.
pub const VALID: u32 = IN_ALL_EVENTS | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD | IN_ONESHOT;

struct Watch {
    /// The watched inode's (device, inode).
    id: (u64, u64),
    wd: i32,
    mask: u32,
}

#[derive(Default)]
pub struct Inotify {
    watches: RefCell<Vec<Watch>>,
    last_wd: Cell<i32>,
    /// struct inotify_event records (wd, mask, cookie, len = 0) not read.
    events: RefCell<VecDeque<[u8; 16]>>,
    queue: WaitQueue,
}

impl Inotify {
    /// inotify_add_watch for inode `id`: the existing watch's id (its mask
    /// replaced, or extended with IN_MASK_ADD), or a new one.
    pub fn add_watch(&self, id: (u64, u64), mask: u32) -> Result<i32> {
        if mask & IN_MASK_ADD != 0 && mask & IN_MASK_CREATE != 0 {
            return Err(Errno::EINVAL);
        }
        let mut w = self.watches.borrow_mut();
        if let Some(existing) = w.iter_mut().find(|x| x.id == id) {
            if mask & IN_MASK_CREATE != 0 {
                return Err(Errno::EEXIST);
            }
            existing.mask = if mask & IN_MASK_ADD != 0 { existing.mask | mask } else { mask };
            return Ok(existing.wd);
        }
        let wd = self.last_wd.get() + 1;
        self.last_wd.set(wd);
        w.push(Watch { id, wd, mask });
        Ok(wd)
    }

    pub fn rm_watch(&self, wd: i32) -> Result<()> {
        let mut w = self.watches.borrow_mut();
        let i = w.iter().position(|x| x.wd == wd).ok_or(Errno::EINVAL)?;
        w.remove(i);
        let mut ev = [0u8; 16];
        ev[0..4].copy_from_slice(&wd.to_le_bytes());
        ev[4..8].copy_from_slice(&IN_IGNORED.to_le_bytes());
        self.events.borrow_mut().push_back(ev);
        self.queue.notify_events(POLLIN);
        Ok(())
    }
}

impl FileOps for Inotify {
    fn wait_queue(&self) -> Option<WaitQueue> {
        Some(self.queue.clone())
    }

    fn read(&self, _host: &mut dyn Host, _off: u64, buf: &mut [u8]) -> Result<Io> {
        let mut q = self.events.borrow_mut();
        if q.is_empty() {
            return Ok(Io::Block);
        }
        // Whole events only; not even one fitting is EINVAL.
        let mut n = 0;
        while buf.len() - n >= 16 {
            let Some(ev) = q.pop_front() else { break };
            buf[n..n + 16].copy_from_slice(&ev);
            n += 16;
        }
        if n == 0 {
            return Err(Errno::EINVAL);
        }
        Ok(Io::Done(n))
    }

    fn poll(&self) -> u16 {
        if self.events.borrow().is_empty() {
            0
        } else {
            POLLIN
        }
    }

    fn ioctl(&self, _host: &mut dyn Host, us: &mut crate::mm::UserSpace, cmd: u32, arg: u64) -> Result<u64> {
        const FIONREAD: u32 = 0x541b;
        if cmd == FIONREAD {
            us.write_val(arg, &(self.events.borrow().len() as u32 * 16))?;
            return Ok(0);
        }
        Err(Errno::ENOTTY)
    }

    fn stat(&self) -> Option<Result<Stat>> {
        Some(Ok(anon_stat()))
    }

    fn statfs(&self) -> StatFs {
        anon_statfs()
    }

    fn anon_name(&self) -> Option<&'static str> {
        Some("anon_inode:inotify")
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_ids() {
        let i = Inotify::default();
        assert_eq!(i.add_watch((1, 2), 0x2), Ok(1));
        assert_eq!(i.add_watch((1, 3), 0x2), Ok(2));
        assert_eq!(i.add_watch((1, 2), 0x4 | IN_MASK_ADD), Ok(1));
        assert_eq!(i.add_watch((1, 2), 0x4 | IN_MASK_CREATE), Err(Errno::EEXIST));
        assert_eq!(i.add_watch((1, 2), IN_MASK_ADD | IN_MASK_CREATE), Err(Errno::EINVAL));
        assert_eq!(i.rm_watch(1), Ok(()));
        assert_eq!(i.rm_watch(1), Err(Errno::EINVAL));
        assert_eq!(i.add_watch((1, 2), 0x2), Ok(3), "ids are not reused");
        assert_eq!(i.poll(), POLLIN, "IN_IGNORED is queued");
        let h = &mut crate::event::testhost::FakeHost::default();
        assert_eq!(i.read(h, 0, &mut [0; 15]), Err(Errno::EINVAL));
        let mut b = [0u8; 40];
        assert_eq!(i.read(h, 0, &mut b), Ok(Io::Done(16)));
        assert_eq!(&b[..8], &[1, 0, 0, 0, 0, 0x80, 0, 0]);
        assert_eq!(i.read(h, 0, &mut b), Ok(Io::Block));
        assert_eq!(i.poll(), 0);
    }
}
