//! The native host: guest console on this process's stdin/stdout/stderr,
//! time and randomness from std.

use std::io::{Read, Write};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use oxvm_kernel::{Clock, ConsoleRead, Errno, Host};

pub struct NativeHost {
    start: Instant,
}

impl NativeHost {
    pub fn new() -> Self {
        NativeHost { start: Instant::now() }
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
        // Blocking is fine natively: there is nothing else to run.
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

    fn console_tcgets(&mut self, fd: i32) -> Option<[u8; 36]> {
        let mut t = [0u8; 36];
        // SAFETY: TCGETS writes a kernel struct termios, 36 bytes on
        // x86-64, into the buffer, which is that large.
        let r = unsafe { libc::ioctl(fd, libc::TCGETS, t.as_mut_ptr()) };
        (r == 0).then_some(t)
    }

    fn console_tcsets(&mut self, fd: i32, termios: &[u8; 36]) -> Result<(), Errno> {
        // SAFETY: TCSETS reads a 36-byte kernel struct termios.
        let r = unsafe { libc::ioctl(fd, libc::TCSETS, termios.as_ptr()) };
        if r == 0 {
            Ok(())
        } else {
            Err(errno(std::io::Error::last_os_error()))
        }
    }

    fn console_winsize(&mut self, fd: i32) -> Option<[u16; 4]> {
        let mut ws = [0u16; 4];
        // SAFETY: TIOCGWINSZ writes a struct winsize (four u16) into the
        // buffer, which is that large.
        let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, ws.as_mut_ptr()) };
        (r == 0).then_some(ws)
    }

    fn diag(&mut self, line: &str) {
        eprintln!("{line}");
    }
}
