//! The kernel's host interface over the JavaScript imports.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use oxvm_kernel::{Clock, ConsoleRead, ConsoleTerminal, Errno, Host};

use crate::abi;

pub struct WasmHost {
    /// rows, columns of the page's terminal; None: the console is a byte
    /// stream (Node tests running a command with its output captured).
    pub terminal: Option<(u16, u16)>,
    /// Console input when the console is not a terminal (shared with the
    /// exports, which the host feeds).
    pub input: Rc<RefCell<StreamInput>>,
}

/// Bytes for guest reads of a non-terminal console.
#[derive(Default)]
pub struct StreamInput {
    pub bytes: VecDeque<u8>,
    /// The host closed console input: reads see end of file.
    pub closed: bool,
}

impl Host for WasmHost {
    fn console_write(&mut self, fd: i32, data: &[u8]) -> Result<usize, Errno> {
        abi::console_write(fd, data);
        Ok(data.len())
    }

    fn console_read(&mut self, buf: &mut [u8]) -> Result<ConsoleRead, Errno> {
        let mut input = self.input.borrow_mut();
        if input.bytes.is_empty() {
            return Ok(if input.closed { ConsoleRead::Data(0) } else { ConsoleRead::WouldBlock });
        }
        let n = buf.len().min(input.bytes.len());
        for (b, v) in buf.iter_mut().zip(input.bytes.drain(..n)) {
            *b = v;
        }
        Ok(ConsoleRead::Data(n))
    }

    fn now(&mut self, clock: Clock) -> u64 {
        let ms = abi::now_ms(clock == Clock::Monotonic);
        (ms * 1e6).max(0.0) as u64
    }

    fn random(&mut self, buf: &mut [u8]) {
        abi::random(buf)
    }

    fn console_terminal(&mut self) -> Option<ConsoleTerminal> {
        self.terminal.map(|(rows, cols)| ConsoleTerminal { streams: 7, termios: None, winsize: [rows, cols, 0, 0] })
    }

    fn diag(&mut self, line: &str) {
        abi::diag(line)
    }
}
