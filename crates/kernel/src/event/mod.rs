//! Event descriptors: files that are not on any filesystem and exist to
//! be waited on. `epoll` (readiness of other descriptors), `eventfd` (a
//! counter), `timerfd` (a timer's expirations), `signalfd` (pending
//! signals) and `inotify` (filesystem events; a stub that reports none).
//!
//! They all live on Linux's single anonymous inode: fstat shows mode 0600
//! with no file type, and /proc/PID/fd shows `anon_inode:[name]`
//! (`FileOps::anon_name`). The syscalls are in `syscall/epoll.rs`,
//! `eventfd.rs`, `timerfd.rs`, `signalfd.rs` and `inotify.rs`.

pub mod epoll;
pub mod eventfd;
pub mod inotify;
pub mod signalfd;
pub mod timerfd;

#[cfg(test)]
mod tests;

use crate::vfs::{makedev, Stat, StatFs, NAME_MAX};

pub const POLLIN: u16 = 0x1;
pub const POLLOUT: u16 = 0x4;
pub const POLLERR: u16 = 0x8;

/// What fstat says of an anonymous-inode file.
pub fn anon_stat() -> Stat {
    Stat { dev: makedev(0, 14), ino: 1, mode: 0o600, nlink: 1, blksize: 4096, ..Default::default() }
}

/// What fstatfs says of one (ANON_INODE_FS_MAGIC).
pub fn anon_statfs() -> StatFs {
    StatFs {
        fs_type: 0x0904_1934,
        bsize: 4096,
        blocks: 0,
        bfree: 0,
        bavail: 0,
        files: 0,
        ffree: 0,
        fsid: 0,
        namelen: NAME_MAX as u64,
        flags: 0,
    }
}

/// A host with a settable clock, for the unit tests here.
#[cfg(test)]
pub(crate) mod testhost {
    use crate::errno::Errno;
    use crate::host::{Clock, ConsoleRead, Host};

    #[derive(Default)]
    pub struct FakeHost {
        /// Both clocks read this (ns); realtime is `now + offset`.
        pub now: u64,
        pub offset: u64,
    }

    impl Host for FakeHost {
        fn console_write(&mut self, _fd: i32, data: &[u8]) -> Result<usize, Errno> {
            Ok(data.len())
        }
        fn console_read(&mut self, _buf: &mut [u8]) -> Result<ConsoleRead, Errno> {
            Ok(ConsoleRead::Data(0))
        }
        fn now(&mut self, clock: Clock) -> u64 {
            match clock {
                Clock::Monotonic => self.now,
                Clock::Realtime => self.now + self.offset,
            }
        }
        fn random(&mut self, buf: &mut [u8]) {
            buf.fill(0);
        }
        fn diag(&mut self, _line: &str) {}
    }
}
