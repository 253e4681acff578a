//! The console when the host's is not a terminal: descriptors 0, 1 and 2
//! of the first process, backed by the host's stdin, stdout and stderr as
//! plain byte streams (pipe-like: fstat says FIFO, the terminal ioctls
//! give ENOTTY). A terminal console is a [`crate::tty`] terminal instead.

use crate::host::{ConsoleRead, Host};
use crate::vfs::{FileOps, FileType, Io, Result, Stat};

pub struct Console {
    /// Which host stream: 0 stdin, 1 stdout, 2 stderr.
    pub stream: i32,
}

impl FileOps for Console {
    fn read(&self, host: &mut dyn Host, _off: u64, buf: &mut [u8]) -> Result<Io> {
        if buf.is_empty() {
            return Ok(Io::Done(0));
        }
        // WouldBlock: the task waits (retried on every pass) and the run
        // loop goes idle; the host runs it again when input arrives.
        match host.console_read(buf)? {
            ConsoleRead::WouldBlock => Ok(Io::Block),
            ConsoleRead::Data(n) => Ok(Io::Done(n.min(buf.len()))),
        }
    }

    fn write(&self, host: &mut dyn Host, _off: u64, data: &[u8]) -> Result<Io> {
        let stream = if self.stream == 0 { 1 } else { self.stream };
        host.console_write(stream, data).map(Io::Done)
    }

    fn stat(&self) -> Option<Result<Stat>> {
        Some(Ok(Stat {
            mode: FileType::Fifo.mode_bits() | 0o600,
            dev: 0xd,
            ino: 1000 + self.stream as u64,
            nlink: 1,
            blksize: 4096,
            ..Default::default()
        }))
    }
}
