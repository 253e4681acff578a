//! The host interface: everything the kernel needs from the machine it runs
//! on. The native runner implements it with std, the browser worker with
//! JS imports; the kernel never touches the host's I/O directly (sans-io).

use crate::errno::Errno;

/// Result of a console read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleRead {
    /// `n` bytes were read (0 means end of file).
    Data(usize),
    /// Nothing is available yet. The task waits and the kernel's run loop
    /// returns `Idle`; the host calls `run` again when input arrives.
    WouldBlock,
}

/// Which clock a time query reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Wall-clock time since the Unix epoch.
    Realtime,
    /// Time since an arbitrary fixed point, never going backwards.
    Monotonic,
}

/// Nanoseconds, as the host's clocks report them.
pub type Nanos = u64;

pub trait Host {
    /// Write guest output for fd 1 (stdout) or fd 2 (stderr). Returns the
    /// number of bytes accepted.
    fn console_write(&mut self, fd: i32, data: &[u8]) -> Result<usize, Errno>;

    /// Read guest input for fd 0 (stdin).
    fn console_read(&mut self, buf: &mut [u8]) -> Result<ConsoleRead, Errno>;

    /// The current time on `clock`, in nanoseconds.
    fn now(&mut self, clock: Clock) -> Nanos;

    /// Fill `buf` with random bytes (AT_RANDOM, getrandom).
    fn random(&mut self, buf: &mut [u8]);

    /// The kernel struct termios (36 bytes) of console stream `fd` when it
    /// is a terminal; None when it is not (the guest then sees ENOTTY).
    fn console_tcgets(&mut self, _fd: i32) -> Option<[u8; 36]> {
        None
    }

    /// Apply a struct termios to console stream `fd`.
    fn console_tcsets(&mut self, _fd: i32, _termios: &[u8; 36]) -> Result<(), Errno> {
        Err(Errno::ENOTTY)
    }

    /// The terminal size (rows, columns, x pixels, y pixels) of console
    /// stream `fd`, when it is a terminal.
    fn console_winsize(&mut self, _fd: i32) -> Option<[u16; 4]> {
        None
    }

    /// A diagnostic line from oxvm itself (warnings, strace output), not
    /// guest output. `line` has no trailing newline.
    fn diag(&mut self, line: &str);
}
