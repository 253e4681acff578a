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

    /// Read guest input for fd 0 (stdin) when the console is not a
    /// terminal. Must not wait: `WouldBlock` when nothing is there yet.
    fn console_read(&mut self, buf: &mut [u8]) -> Result<ConsoleRead, Errno>;

    /// The current time on `clock`, in nanoseconds.
    fn now(&mut self, clock: Clock) -> Nanos;

    /// Fill `buf` with random bytes (AT_RANDOM, getrandom).
    fn random(&mut self, buf: &mut [u8]);

    /// Whether the console is a terminal (a real one natively, xterm.js in
    /// the browser), asked once when the first process starts. The kernel
    /// then runs the line discipline itself: the host sends raw key bytes
    /// with `Kernel::console_input`, size changes with
    /// `Kernel::console_resize`, and gets processed output through
    /// `console_write`. None: the console is a byte stream (pipes, files),
    /// read with `console_read`.
    fn console_terminal(&mut self) -> Option<crate::tty::ConsoleTerminal> {
        None
    }

    /// A diagnostic line from oxvm itself (warnings, strace output), not
    /// guest output. `line` has no trailing newline.
    fn diag(&mut self, line: &str);

    /// Set the guest's real-time clock to `ns` since the epoch; false when
    /// this host cannot. Only [`GuestHost`] can: the host's own clock is
    /// never changed.
    fn set_realtime(&mut self, _ns: Nanos) -> bool {
        false
    }
}

/// The host as the kernel uses it: the machine's, except that the guest
/// has a real-time clock of its own (a VM's clock: root in the guest may
/// set it with clock_settime or settimeofday; the host's is untouched),
/// kept as an offset from the host's.
pub struct GuestHost {
    inner: Box<dyn Host>,
    realtime_offset: i64,
}

impl GuestHost {
    pub fn new(inner: Box<dyn Host>) -> GuestHost {
        GuestHost { inner, realtime_offset: 0 }
    }
}

impl Host for GuestHost {
    fn console_write(&mut self, fd: i32, data: &[u8]) -> Result<usize, Errno> {
        self.inner.console_write(fd, data)
    }
    fn console_read(&mut self, buf: &mut [u8]) -> Result<ConsoleRead, Errno> {
        self.inner.console_read(buf)
    }
    fn now(&mut self, clock: Clock) -> Nanos {
        let t = self.inner.now(clock);
        match clock {
            Clock::Realtime => (t as i64).saturating_add(self.realtime_offset).max(0) as Nanos,
            Clock::Monotonic => t,
        }
    }
    fn random(&mut self, buf: &mut [u8]) {
        self.inner.random(buf)
    }
    fn console_terminal(&mut self) -> Option<crate::tty::ConsoleTerminal> {
        self.inner.console_terminal()
    }
    fn diag(&mut self, line: &str) {
        self.inner.diag(line)
    }
    fn set_realtime(&mut self, ns: Nanos) -> bool {
        self.realtime_offset = (ns as i64).saturating_sub(self.inner.now(Clock::Realtime) as i64);
        true
    }
}
