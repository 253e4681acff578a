//! The console: descriptors 0, 1 and 2 of the first process, backed by the
//! host's stdin, stdout and stderr. When the host stream is a terminal the
//! termios ioctls reach it; otherwise they fail with ENOTTY, as on a pipe.

use crate::errno::Errno;
use crate::host::{ConsoleRead, Host};
use crate::mm::UserSpace;
use crate::vfs::{makedev, FileOps, FileType, Io, Result, Stat};

pub const TCGETS: u32 = 0x5401;
pub const TCSETS: u32 = 0x5402;
pub const TCSETSW: u32 = 0x5403;
pub const TCSETSF: u32 = 0x5404;
pub const TIOCGPGRP: u32 = 0x540f;
pub const TIOCGWINSZ: u32 = 0x5413;
pub const TIOCSWINSZ: u32 = 0x5414;
pub const FIONREAD: u32 = 0x541b;

/// The kernel's struct termios (not glibc's): 4 flag words, c_line and 19
/// control characters.
pub const TERMIOS_SIZE: usize = 36;

/// Linux caps one read or write at 2 GiB minus a page.
pub struct Console {
    /// Which host stream: 0 stdin, 1 stdout, 2 stderr.
    pub stream: i32,
    /// Whether the host stream is a terminal (decided when the descriptor
    /// is created; fstat reports it).
    pub tty: bool,
}

impl FileOps for Console {
    fn read(&self, host: &mut dyn Host, _off: u64, buf: &mut [u8]) -> Result<Io> {
        if buf.is_empty() {
            return Ok(Io::Done(0));
        }
        match host.console_read(buf)? {
            ConsoleRead::WouldBlock => Ok(Io::Block),
            ConsoleRead::Data(n) => Ok(Io::Done(n.min(buf.len()))),
        }
    }

    fn write(&self, host: &mut dyn Host, _off: u64, data: &[u8]) -> Result<Io> {
        let stream = if self.stream == 0 { 1 } else { self.stream };
        host.console_write(stream, data).map(Io::Done)
    }

    fn ioctl(&self, host: &mut dyn Host, us: &mut UserSpace, cmd: u32, arg: u64) -> Result<u64> {
        match cmd {
            TCGETS => {
                let t = host.console_tcgets(self.stream).ok_or(Errno::ENOTTY)?;
                us.write_bytes(arg, &t)?;
                Ok(0)
            }
            TCSETS | TCSETSW | TCSETSF => {
                if !self.tty {
                    return Err(Errno::ENOTTY);
                }
                let mut t = [0u8; TERMIOS_SIZE];
                us.read_bytes(arg, &mut t)?;
                host.console_tcsets(self.stream, &t)?;
                Ok(0)
            }
            TIOCGWINSZ => {
                let ws = host.console_winsize(self.stream).ok_or(Errno::ENOTTY)?;
                let bytes: Vec<u8> = ws.iter().flat_map(|v| v.to_le_bytes()).collect();
                us.write_bytes(arg, &bytes)?;
                Ok(0)
            }
            TIOCSWINSZ if self.tty => Ok(0),
            _ => Err(Errno::ENOTTY),
        }
    }

    fn stat(&self) -> Option<Result<Stat>> {
        // A terminal looks like /dev/pts/0; anything else like a pipe.
        let st = if self.tty {
            Stat {
                mode: FileType::CharDev.mode_bits() | 0o620,
                rdev: makedev(136, 0),
                dev: 0x19,
                ino: 3,
                nlink: 1,
                blksize: 1024,
                ..Default::default()
            }
        } else {
            Stat {
                mode: FileType::Fifo.mode_bits() | 0o600,
                dev: 0xd,
                ino: 1000 + self.stream as u64,
                nlink: 1,
                blksize: 4096,
                ..Default::default()
            }
        };
        Some(Ok(st))
    }
}
