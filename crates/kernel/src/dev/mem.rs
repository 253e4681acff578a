//! The memory character devices (major 1): null, zero, full, random,
//! urandom.

use crate::errno::Errno;
use crate::host::Host;
use crate::vfs::{dev_major, dev_minor, FileOps, Io, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemDevice {
    Null,
    Zero,
    Full,
    Random,
}

impl MemDevice {
    /// The device a node with this rdev stands for, if oxvm implements it.
    pub fn from_rdev(rdev: u64) -> Option<MemDevice> {
        match (dev_major(rdev), dev_minor(rdev)) {
            (1, 3) => Some(MemDevice::Null),
            (1, 5) => Some(MemDevice::Zero),
            (1, 7) => Some(MemDevice::Full),
            (1, 8) | (1, 9) => Some(MemDevice::Random),
            _ => None,
        }
    }
}

impl FileOps for MemDevice {
    fn read(&self, host: &mut dyn Host, _off: u64, buf: &mut [u8]) -> Result<Io> {
        match self {
            MemDevice::Null => Ok(Io::Done(0)),
            MemDevice::Zero | MemDevice::Full => {
                buf.fill(0);
                Ok(Io::Done(buf.len()))
            }
            MemDevice::Random => {
                host.random(buf);
                Ok(Io::Done(buf.len()))
            }
        }
    }

    fn write(&self, _host: &mut dyn Host, _off: u64, data: &[u8]) -> Result<Io> {
        match self {
            MemDevice::Full => Err(Errno::ENOSPC),
            _ => Ok(Io::Done(data.len())),
        }
    }

    /// The position is accepted and ignored, as Linux's memory devices do.
    fn seekable(&self) -> bool {
        true
    }

    /// /dev/zero maps as zero-filled memory (MAP_SHARED: new shared
    /// memory, see syscall/mm.rs); the others cannot be mapped.
    fn read_page(&self, _off: u64, buf: &mut [u8]) -> Result<usize> {
        match self {
            MemDevice::Zero => {
                buf.fill(0);
                Ok(buf.len())
            }
            _ => Err(Errno::ENODEV),
        }
    }
}
