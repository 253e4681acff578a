//! The native host: guest console on this process's stdin/stdout/stderr,
//! time and randomness from std.

use std::cell::Cell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use oxvm_kernel::{Clock, ConsoleRead, ConsoleTerminal, Errno, Host};

pub struct NativeHost {
    start: Instant,
    /// Our terminal, as it was before raw mode, when stdin is one.
    terminal: Option<ConsoleTerminal>,
    /// Set when a console read found nothing yet: the runner then waits
    /// for stdin while the guest is idle.
    wants_input: Rc<Cell<bool>>,
}

impl NativeHost {
    pub fn new(terminal: Option<ConsoleTerminal>, wants_input: Rc<Cell<bool>>) -> Self {
        NativeHost { start: Instant::now(), terminal, wants_input }
    }
}

fn errno(e: std::io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(Errno::EIO.0))
}

impl Host for NativeHost {
    fn console_write(&mut self, fd: i32, data: &[u8]) -> Result<usize, Errno> {
        // Unbuffered, as a write(2) is: flush so stdout and stderr
        // interleave as the guest wrote them.
        let r = if fd == 2 {
            let mut e = std::io::stderr().lock();
            e.write_all(data).and_then(|_| e.flush())
        } else {
            let mut o = std::io::stdout().lock();
            o.write_all(data).and_then(|_| o.flush())
        };
        r.map(|_| data.len()).map_err(errno)
    }

    fn console_read(&mut self, buf: &mut [u8]) -> Result<ConsoleRead, Errno> {
        // Never wait here: other guest tasks must keep running. Nothing
        // ready yet is WouldBlock; the runner polls stdin while idle.
        if crate::terminal::wait_stdin(0) == 0 {
            self.wants_input.set(true);
            return Ok(ConsoleRead::WouldBlock);
        }
        std::io::stdin().lock().read(buf).map(ConsoleRead::Data).map_err(errno)
    }

    fn now(&mut self, clock: Clock) -> u64 {
        match clock {
            Clock::Realtime => SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64),
            Clock::Monotonic => self.start.elapsed().as_nanos() as u64,
        }
    }

    fn random(&mut self, buf: &mut [u8]) {
        if std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf)).is_ok() {
            return;
        }
        // No /dev/urandom: std's per-process random hash keys still give
        // unpredictable bytes.
        use std::hash::{BuildHasher, Hasher};
        for (i, chunk) in buf.chunks_mut(8).enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(i);
            chunk.copy_from_slice(&h.finish().to_le_bytes()[..chunk.len()]);
        }
    }

    fn console_terminal(&mut self) -> Option<ConsoleTerminal> {
        self.terminal
    }

    fn diag(&mut self, line: &str) {
        eprintln!("{line}");
    }
}
