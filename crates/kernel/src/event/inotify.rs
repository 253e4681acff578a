//! inotify, as a working stub: descriptors and watch ids behave as on
//! Linux (one id per watched inode, IN_MASK_ADD/IN_MASK_CREATE,
//! rm_watch), but no filesystem reports changes yet, so no event is ever
//! queued: the descriptor never polls readable and a read waits (or
//! EAGAIN). Programs that use inotify as an optimisation (tail -f,
//! file managers) fall back on their own timers.

use std::any::Any;
use std::cell::{Cell, RefCell};

use super::{anon_stat, anon_statfs};
use crate::errno::Errno;
use crate::host::Host;
use crate::vfs::{FileOps, Io, Result, Stat, StatFs, WaitQueue};

pub const IN_ALL_EVENTS: u32 = 0xfff;
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
    /// Never moves: no events come.
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
        Ok(())
    }
}

impl FileOps for Inotify {
    fn wait_queue(&self) -> Option<WaitQueue> {
        Some(self.queue.clone())
    }

    fn read(&self, _host: &mut dyn Host, _off: u64, _buf: &mut [u8]) -> Result<Io> {
        Ok(Io::Block)
    }

    fn poll(&self) -> u16 {
        0
    }

    fn ioctl(&self, _host: &mut dyn Host, us: &mut crate::mm::UserSpace, cmd: u32, arg: u64) -> Result<u64> {
        const FIONREAD: u32 = 0x541b;
        if cmd == FIONREAD {
            us.write_val(arg, &0u32)?;
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
        assert_eq!(i.poll(), 0);
    }
}
