//! The line discipline (N_TTY): input processing (CR/NL mapping, signal
//! characters, canonical line editing, echo) and output processing
//! (NL to CR NL). It is pure state: bytes in, bytes and signals out; the
//! terminal around it decides where output goes and who gets signals.

use std::collections::VecDeque;

use super::termios::*;

/// Longest canonical line (Linux's 4096-byte buffer, one kept for the
/// newline).
const MAX_LINE: usize = 4095;
/// Non-canonical input kept before further bytes are dropped.
const MAX_RAW: usize = 4096;

pub const SIGINT: u8 = 2;
pub const SIGQUIT: u8 = 3;
pub const SIGTSTP: u8 = 20;

/// What a read gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// `n` bytes (0: end of file, or a VMIN=0 read with nothing there).
    Done(usize),
    /// Nothing yet; retry when input arrives or at the deadline (monotonic
    /// ns) when there is one.
    Wait(Option<u64>),
}

#[derive(Default)]
pub struct Ldisc {
    pub termios: Termios,
    /// Canonical mode: finished lines, with their delimiter (NL, EOL);
    /// a line ended by EOF has none, and an empty one reads as end of file.
    lines: VecDeque<Vec<u8>>,
    /// The line being edited (canonical) .
    line: Vec<u8>,
    /// Non-canonical input.
    raw: VecDeque<u8>,
    /// The next byte is literal (VLNEXT).
    lnext: bool,
    /// Output column, for erasing tabs and for ECHOCTL pairs.
    column: usize,
    /// Column where the line being edited started.
    line_start: usize,
    /// Output stopped by VSTOP (IXON) or TCOOFF.
    pub stopped: bool,
    /// Bytes for the device side (echo and processed output).
    pub out: Vec<u8>,
    /// Signals for the foreground group, in order.
    pub signals: Vec<u8>,
    /// When the current non-canonical read started waiting (VTIME with
    /// VMIN 0) and when the last byte arrived (VTIME as inter-byte timer).
    read_started: Option<u64>,
    last_byte: u64,
}

fn is_ctl(c: u8) -> bool {
    c < 0x20 || c == 0x7f
}

impl Ldisc {
    pub fn new(termios: Termios) -> Ldisc {
        Ldisc { termios, ..Default::default() }
    }

    fn canon(&self) -> bool {
        self.termios.l(ICANON)
    }

    /// Change the settings (TCSETS*); leaving or entering canonical mode
    /// moves pending input across.
    pub fn set_termios(&mut self, t: Termios) {
        let was = self.canon();
        self.termios = t;
        if was && !self.canon() {
            for l in self.lines.drain(..) {
                self.raw.extend(l);
            }
            self.raw.extend(self.line.drain(..));
        } else if !was && self.canon() {
            self.line.extend(self.raw.drain(..));
        }
    }

    /// Drop pending input (TCIFLUSH, and a signal character without NOFLSH).
    pub fn flush_input(&mut self) {
        self.lines.clear();
        self.line.clear();
        self.raw.clear();
        self.lnext = false;
    }

    /// Bytes a read could take now (FIONREAD): complete lines in canonical
    /// mode.
    pub fn available(&self) -> usize {
        if self.canon() {
            self.lines.iter().map(|l| l.len()).sum()
        } else {
            self.raw.len()
        }
    }

    /// Whether a read would return now (poll's POLLIN).
    pub fn readable(&self) -> bool {
        if self.canon() {
            !self.lines.is_empty()
        } else {
            let (min, time) = (self.termios.cc[VMIN] as usize, self.termios.cc[VTIME]);
            let need = if time == 0 && min > 0 { min } else { 1 };
            self.raw.len() >= need
        }
    }

    /// Output processing (OPOST): NL becomes CR NL with ONLCR. Tracks the
    /// column for echo erasure.
    pub fn output(&mut self, data: &[u8]) {
        let post = self.termios.o(OPOST);
        for &c in data {
            if post && c == b'\n' && self.termios.o(ONLCR) {
                self.out.extend_from_slice(b"\r\n");
                self.column = 0;
                continue;
            }
            self.out.push(c);
            if post {
                match c {
                    b'\r' | b'\n' => self.column = 0,
                    b'\t' => self.column = (self.column | 7) + 1,
                    8 => self.column = self.column.saturating_sub(1),
                    _ if !is_ctl(c) => self.column += 1,
                    _ => {}
                }
            }
        }
    }

    /// Echo one input byte: control characters as ^X with ECHOCTL (but
    /// tab and newline as themselves).
    fn echo(&mut self, c: u8) {
        if !self.termios.l(ECHO) {
            return;
        }
        if self.termios.l(ECHOCTL) && is_ctl(c) && c != b'\t' && c != b'\n' {
            self.output(&[b'^', c ^ 0x40]);
        } else {
            self.output(&[c]);
        }
    }

    /// Display width of `line` starting at column `start`.
    fn width(&self, line: &[u8], start: usize) -> usize {
        let mut col = start;
        for &c in line {
            col = match c {
                b'\t' => (col | 7) + 1,
                // UTF-8 continuation bytes take no column of their own.
                0x80..=0xbf if self.termios.i(IUTF8) => col,
                _ if is_ctl(c) && self.termios.l(ECHOCTL) => col + 2,
                _ if is_ctl(c) => col,
                _ => col + 1,
            };
        }
        col - start
    }

    /// Take the last character of the line being edited off the screen
    /// too (with IUTF8, a whole UTF-8 sequence: one column).
    fn erase_one(&mut self, visual: bool) {
        let Some(c) = self.line.pop() else { return };
        if self.termios.i(IUTF8) && c >= 0x80 {
            let mut lead = c;
            while lead & 0xc0 == 0x80 {
                match self.line.last() {
                    Some(&b) if b >= 0x80 => lead = self.line.pop().unwrap_or(b),
                    _ => break,
                }
            }
            if visual && self.termios.l(ECHO) {
                self.output(b"\x08 \x08");
            }
            return;
        }
        if !self.termios.l(ECHO) {
            return;
        }
        if !visual {
            self.echo(self.termios.cc[VERASE]);
            return;
        }
        let n = if c == b'\t' {
            let before = self.width(&self.line, self.line_start);
            self.width(b"\t", self.line_start + before)
        } else if is_ctl(c) {
            if self.termios.l(ECHOCTL) {
                2
            } else {
                0
            }
        } else {
            1
        };
        for _ in 0..n {
            if c == b'\t' {
                self.output(b"\x08");
            } else {
                self.output(b"\x08 \x08");
            }
        }
    }

    /// Feed bytes from the device side (keyboard, pty master); `now` is
    /// the monotonic time (for VTIME).
    pub fn receive(&mut self, data: &[u8], now: u64) {
        for &b in data {
            self.receive_byte(b);
        }
        if !data.is_empty() {
            self.last_byte = now;
        }
    }

    fn receive_byte(&mut self, mut c: u8) {
        let t = self.termios;
        if t.i(ISTRIP) {
            c &= 0x7f;
        }
        if self.lnext {
            self.lnext = false;
            if self.canon() {
                // Take back the "^\b" shown for VLNEXT.
                if t.l(ECHO) && t.l(ECHOCTL) {
                    self.output(b"\x08");
                    self.column += 0;
                }
            }
            self.store(c);
            return;
        }
        if c == b'\r' {
            if t.i(IGNCR) {
                return;
            }
            if t.i(ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && t.i(INLCR) {
            c = b'\r';
        }
        if t.l(ISIG) {
            let sig = if t.is(VINTR, c) {
                Some(SIGINT)
            } else if t.is(VQUIT, c) {
                Some(SIGQUIT)
            } else if t.is(VSUSP, c) {
                Some(SIGTSTP)
            } else {
                None
            };
            if let Some(s) = sig {
                if !t.l(NOFLSH) {
                    self.flush_input();
                }
                self.stopped = false;
                self.echo(c);
                self.line_start = self.column;
                self.signals.push(s);
                return;
            }
        }
        if t.i(IXON) {
            if t.is(VSTOP, c) {
                self.stopped = true;
                return;
            }
            if t.is(VSTART, c) {
                self.stopped = false;
                return;
            }
        }
        if !self.canon() {
            self.store(c);
            return;
        }
        if t.l(IEXTEN) && t.is(VLNEXT, c) {
            self.lnext = true;
            if t.l(ECHO) && t.l(ECHOCTL) {
                self.output(b"^\x08");
            }
            return;
        }
        if t.is(VERASE, c) {
            self.erase_one(t.l(ECHOE));
            return;
        }
        if t.is(VKILL, c) {
            if t.l(ECHOKE) && t.l(ECHOE) {
                while !self.line.is_empty() {
                    self.erase_one(true);
                }
            } else {
                self.line.clear();
                self.echo(c);
                if t.l(ECHOK) && t.l(ECHO) {
                    self.output(b"\n");
                }
                self.line_start = self.column;
            }
            return;
        }
        if t.l(IEXTEN) && t.is(VWERASE, c) {
            while self.line.last().is_some_and(|&b| b == b' ' || b == b'\t') {
                self.erase_one(t.l(ECHOE));
            }
            while self.line.last().is_some_and(|&b| b != b' ' && b != b'\t') {
                self.erase_one(t.l(ECHOE));
            }
            return;
        }
        if t.l(IEXTEN) && t.is(VREPRINT, c) {
            if t.l(ECHO) {
                self.echo(c);
                self.output(b"\n");
                let l = std::mem::take(&mut self.line);
                self.line_start = self.column;
                for &b in &l {
                    self.echo(b);
                }
                self.line = l;
            }
            return;
        }
        if t.is(VEOF, c) {
            let l = std::mem::take(&mut self.line);
            self.lines.push_back(l);
            self.line_start = self.column;
            return;
        }
        if c == b'\n' || t.is(VEOL, c) || (t.l(IEXTEN) && t.is(VEOL2, c)) {
            if t.l(ECHO) || (c == b'\n' && t.l(ECHONL)) {
                if t.l(ECHO) {
                    self.echo(c);
                } else {
                    self.output(b"\n");
                }
            }
            let mut l = std::mem::take(&mut self.line);
            l.push(c);
            self.lines.push_back(l);
            self.line_start = self.column;
            return;
        }
        self.store(c);
    }

    /// A plain input byte: onto the line (canonical) or the queue.
    fn store(&mut self, c: u8) {
        if self.canon() {
            if self.line.len() >= MAX_LINE {
                return;
            }
            if self.line.is_empty() {
                self.line_start = self.column;
            }
            self.line.push(c);
        } else {
            if self.raw.len() >= MAX_RAW {
                return;
            }
            self.raw.push_back(c);
        }
        self.echo(c);
    }

    /// A read of up to `buf.len()` bytes at monotonic time `now`.
    /// `hung_up`: the device side is gone, so a read that would wait
    /// returns end of file instead.
    pub fn read(&mut self, buf: &mut [u8], now: u64, hung_up: bool) -> Read {
        if self.canon() {
            let Some(front) = self.lines.front_mut() else {
                return if hung_up { Read::Done(0) } else { Read::Wait(None) };
            };
            let n = front.len().min(buf.len());
            buf[..n].copy_from_slice(&front[..n]);
            if n == front.len() {
                self.lines.pop_front();
            } else {
                front.drain(..n);
            }
            return Read::Done(n);
        }
        let (min, time) = (self.termios.cc[VMIN] as usize, u64::from(self.termios.cc[VTIME]) * 100_000_000);
        let take = |me: &mut Ldisc, buf: &mut [u8]| {
            let n = me.raw.len().min(buf.len());
            for (i, b) in me.raw.drain(..n).enumerate() {
                buf[i] = b;
            }
            me.read_started = None;
            Read::Done(n)
        };
        let have = self.raw.len();
        if hung_up {
            return take(self, buf);
        }
        match (min, time) {
            (0, 0) => take(self, buf),
            (_, 0) => {
                if have >= min.min(buf.len()) {
                    take(self, buf)
                } else {
                    Read::Wait(None)
                }
            }
            (0, _) => {
                let start = *self.read_started.get_or_insert(now);
                if have > 0 || now >= start + time {
                    take(self, buf)
                } else {
                    Read::Wait(Some(start + time))
                }
            }
            _ => {
                if have >= min.min(buf.len()) || (have > 0 && now >= self.last_byte + time) {
                    take(self, buf)
                } else if have > 0 {
                    Read::Wait(Some(self.last_byte + time))
                } else {
                    Read::Wait(None)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fed(bytes: &[u8]) -> Ldisc {
        let mut l = Ldisc::new(Termios::default());
        l.receive(bytes, 0);
        l
    }

    fn read_all(l: &mut Ldisc) -> Vec<u8> {
        let mut buf = [0u8; 256];
        match l.read(&mut buf, 0, false) {
            Read::Done(n) => buf[..n].to_vec(),
            Read::Wait(_) => b"<wait>".to_vec(),
        }
    }

    #[test]
    fn canonical_line_with_cr_mapped_and_echoed() {
        let mut l = fed(b"hi\r");
        assert_eq!(read_all(&mut l), b"hi\n");
        assert_eq!(l.out, b"hi\r\n");
        assert_eq!(read_all(&mut l), b"<wait>");
    }

    #[test]
    fn partial_line_waits() {
        let mut l = fed(b"abc");
        assert_eq!(read_all(&mut l), b"<wait>");
        assert!(!l.readable());
        l.receive(b"\n", 0);
        assert!(l.readable());
        assert_eq!(l.available(), 4);
        assert_eq!(read_all(&mut l), b"abc\n");
    }

    #[test]
    fn erase_kill_werase() {
        let mut l = fed(b"abx\x7fc\n");
        assert_eq!(read_all(&mut l), b"abc\n");
        assert_eq!(l.out, b"abx\x08 \x08c\r\n");
        let mut l = fed(b"junk\x15ok\n");
        assert_eq!(read_all(&mut l), b"ok\n");
        let mut l = fed(b"one two\x17three\n");
        assert_eq!(read_all(&mut l), b"one three\n");
        // Erase of a control character echoed as ^X takes two columns.
        let mut l = fed(b"\x01\x7f\n");
        assert_eq!(read_all(&mut l), b"\n");
        assert_eq!(l.out, b"^A\x08 \x08\x08 \x08\r\n");
    }

    #[test]
    fn eof_ends_line_and_empty_line_is_eof() {
        let mut l = fed(b"ab\x04\x04");
        assert_eq!(read_all(&mut l), b"ab");
        assert_eq!(read_all(&mut l), b"");
        assert_eq!(l.out, b"ab");
    }

    #[test]
    fn short_reads_keep_the_rest_of_the_line() {
        let mut l = fed(b"hello\n");
        let mut b = [0u8; 2];
        assert_eq!(l.read(&mut b, 0, false), Read::Done(2));
        assert_eq!(&b, b"he");
        assert_eq!(read_all(&mut l), b"llo\n");
    }

    #[test]
    fn signal_characters() {
        let mut l = fed(b"abc\x03");
        assert_eq!(l.signals, vec![SIGINT]);
        assert_eq!(l.out, b"abc^C");
        assert_eq!(read_all(&mut l), b"<wait>", "input flushed");
        let l = fed(b"\x1c\x1a");
        assert_eq!(l.signals, vec![SIGQUIT, SIGTSTP]);
        let mut t = Termios::default();
        t.lflag &= !ISIG;
        let mut l = Ldisc::new(t);
        l.receive(b"\x03\n", 0);
        assert!(l.signals.is_empty());
        assert_eq!(read_all(&mut l), b"\x03\n");
    }

    #[test]
    fn no_echo_and_echonl() {
        let mut t = Termios::default();
        t.lflag &= !ECHO;
        let mut l = Ldisc::new(t);
        l.receive(b"secret\n", 0);
        assert_eq!(l.out, b"");
        t.lflag |= ECHONL;
        let mut l = Ldisc::new(t);
        l.receive(b"secret\n", 0);
        assert_eq!(l.out, b"\r\n");
        assert_eq!(read_all(&mut l), b"secret\n");
    }

    #[test]
    fn iutf8_erases_whole_characters() {
        let mut l = Ldisc::new(Termios { iflag: ICRNL | IUTF8, ..Termios::default() });
        l.receive("aé€\x7f\x7f\n".as_bytes(), 0);
        assert_eq!(read_all(&mut l), b"a\n");
        let echo = l.out.clone();
        assert!(echo.ends_with(b"\x08 \x08\x08 \x08\r\n"), "{echo:?}");
    }

    #[test]
    fn lnext_quotes_a_special_character() {
        let mut l = fed(b"a\x16\x03\n");
        assert!(l.signals.is_empty());
        assert_eq!(read_all(&mut l), b"a\x03\n");
    }

    #[test]
    fn input_flags() {
        let mut t = Termios { iflag: IGNCR, ..Termios::default() };
        let mut l = Ldisc::new(t);
        l.receive(b"a\rb\n", 0);
        assert_eq!(read_all(&mut l), b"ab\n");
        t.iflag = INLCR | ISTRIP;
        t.lflag &= !ICANON;
        let mut l = Ldisc::new(t);
        l.receive(b"\n\xc1", 0);
        assert_eq!(read_all(&mut l), b"\rA");
    }

    #[test]
    fn ixon_stops_and_starts_output() {
        let mut l = fed(b"\x13");
        assert!(l.stopped);
        l.receive(b"\x11", 0);
        assert!(!l.stopped);
        assert_eq!(read_all(&mut l), b"<wait>");
    }

    #[test]
    fn raw_mode_vmin_vtime() {
        let mut t = Termios::default();
        t.lflag &= !(ICANON | ECHO);
        t.cc[VMIN] = 3;
        t.cc[VTIME] = 0;
        let mut l = Ldisc::new(t);
        let mut b = [0u8; 10];
        l.receive(b"ab", 0);
        assert_eq!(l.read(&mut b, 0, false), Read::Wait(None));
        l.receive(b"c", 0);
        assert_eq!(l.read(&mut b, 0, false), Read::Done(3));
        // VMIN 0, VTIME 5: wait half a second for anything.
        t.cc[VMIN] = 0;
        t.cc[VTIME] = 5;
        l.set_termios(t);
        assert_eq!(l.read(&mut b, 1000, false), Read::Wait(Some(1000 + 500_000_000)));
        assert_eq!(l.read(&mut b, 500_001_000, false), Read::Done(0));
        // VMIN 0, VTIME 0: whatever is there.
        t.cc[VTIME] = 0;
        l.set_termios(t);
        assert_eq!(l.read(&mut b, 0, false), Read::Done(0));
        l.receive(b"xy", 0);
        assert_eq!(l.read(&mut b, 0, false), Read::Done(2));
        // VMIN 2, VTIME 1: after the first byte, an inter-byte timer.
        t.cc[VMIN] = 2;
        t.cc[VTIME] = 1;
        l.set_termios(t);
        l.receive(b"z", 7);
        assert_eq!(l.read(&mut b, 8, false), Read::Wait(Some(7 + 100_000_000)));
        assert_eq!(l.read(&mut b, 7 + 100_000_000, false), Read::Done(1));
    }

    #[test]
    fn output_processing() {
        let mut l = Ldisc::new(Termios::default());
        l.output(b"a\nb");
        assert_eq!(l.out, b"a\r\nb");
        let mut t = Termios::default();
        t.oflag &= !OPOST;
        let mut l = Ldisc::new(t);
        l.output(b"a\nb");
        assert_eq!(l.out, b"a\nb");
    }

    #[test]
    fn switching_to_raw_keeps_typed_input() {
        let mut l = fed(b"ab");
        let mut t = Termios::default();
        t.lflag &= !ICANON;
        l.set_termios(t);
        assert_eq!(read_all(&mut l), b"ab");
    }
}
