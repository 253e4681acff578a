//! struct termios as the kernel's TCGETS/TCSETS exchange it (36 bytes:
//! four flag words, c_line, 19 control characters) and the flag bits the
//! line discipline acts on.

pub const TERMIOS_SIZE: usize = 36;
pub const NCCS: usize = 19;

// c_iflag
pub const IGNBRK: u32 = 0o1;
pub const ISTRIP: u32 = 0o40;
pub const INLCR: u32 = 0o100;
pub const IGNCR: u32 = 0o200;
pub const ICRNL: u32 = 0o400;
pub const IXON: u32 = 0o2000;
pub const IUTF8: u32 = 0o40000;
// c_oflag
pub const OPOST: u32 = 0o1;
pub const ONLCR: u32 = 0o4;
// c_cflag
pub const B38400: u32 = 0o17;
pub const CS8: u32 = 0o60;
pub const CREAD: u32 = 0o200;
pub const HUPCL: u32 = 0o2000;
// c_lflag
pub const ISIG: u32 = 0o1;
pub const ICANON: u32 = 0o2;
pub const ECHO: u32 = 0o10;
pub const ECHOE: u32 = 0o20;
pub const ECHOK: u32 = 0o40;
pub const ECHONL: u32 = 0o100;
pub const NOFLSH: u32 = 0o200;
pub const TOSTOP: u32 = 0o400;
pub const ECHOCTL: u32 = 0o1000;
pub const ECHOKE: u32 = 0o4000;
pub const IEXTEN: u32 = 0o100000;

// c_cc indices
pub const VINTR: usize = 0;
pub const VQUIT: usize = 1;
pub const VERASE: usize = 2;
pub const VKILL: usize = 3;
pub const VEOF: usize = 4;
pub const VTIME: usize = 5;
pub const VMIN: usize = 6;
pub const VSTART: usize = 8;
pub const VSTOP: usize = 9;
pub const VSUSP: usize = 10;
pub const VEOL: usize = 11;
pub const VREPRINT: usize = 12;
pub const VWERASE: usize = 14;
pub const VLNEXT: usize = 15;
pub const VEOL2: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; NCCS],
}

impl Default for Termios {
    /// What a new terminal starts with on Linux (`stty sane`-like): cooked
    /// input with echo and signals, CR to NL in, NL to CR NL out.
    fn default() -> Self {
        let mut cc = [0u8; NCCS];
        for (i, v) in [
            (VINTR, 0x03),
            (VQUIT, 0x1c),
            (VERASE, 0x7f),
            (VKILL, 0x15),
            (VEOF, 0x04),
            (VMIN, 1),
            (VSTART, 0x11),
            (VSTOP, 0x13),
            (VSUSP, 0x1a),
            (VREPRINT, 0x12),
            (13, 0x0f), // VDISCARD
            (VWERASE, 0x17),
            (VLNEXT, 0x16),
        ] {
            cc[i] = v;
        }
        Termios {
            iflag: ICRNL | IXON,
            oflag: OPOST | ONLCR,
            cflag: B38400 | CS8 | CREAD | HUPCL,
            lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
            line: 0,
            cc,
        }
    }
}

impl Termios {
    /// A pty slave starts as a terminal does, without HUPCL.
    pub fn pty_slave() -> Termios {
        Termios { cflag: B38400 | CS8 | CREAD, ..Termios::default() }
    }

    /// A pty master's own settings: everything off.
    pub fn raw_master() -> Termios {
        Termios { iflag: 0, oflag: 0, cflag: B38400 | CS8 | CREAD, lflag: 0, ..Termios::default() }
    }

    pub fn to_bytes(&self) -> [u8; TERMIOS_SIZE] {
        let mut b = [0u8; TERMIOS_SIZE];
        for (i, w) in [self.iflag, self.oflag, self.cflag, self.lflag].iter().enumerate() {
            b[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        b[16] = self.line;
        b[17..].copy_from_slice(&self.cc);
        b
    }

    pub fn from_bytes(b: &[u8; TERMIOS_SIZE]) -> Termios {
        let w = |i: usize| u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]);
        let mut cc = [0u8; NCCS];
        cc.copy_from_slice(&b[17..]);
        Termios { iflag: w(0), oflag: w(1), cflag: w(2), lflag: w(3), line: b[16], cc }
    }

    pub fn l(&self, f: u32) -> bool {
        self.lflag & f != 0
    }
    pub fn i(&self, f: u32) -> bool {
        self.iflag & f != 0
    }
    pub fn o(&self, f: u32) -> bool {
        self.oflag & f != 0
    }
    /// Whether `c` is the (enabled: 0 disables) control character `idx`.
    pub fn is(&self, idx: usize, c: u8) -> bool {
        self.cc[idx] != 0 && self.cc[idx] == c
    }
}
