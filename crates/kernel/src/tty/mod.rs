//! Terminals: the line discipline ([`ldisc`]) behind the console (when
//! the host's console is a terminal) and behind pty slaves; pty masters
//! ([`pty`]); controlling terminals, foreground process groups and the
//! job-control checks.
//!
//! A terminal cannot reach the process table: the kernel keeps a small
//! view of it here ([`ProcInfo`], updated when groups or sessions change),
//! says which process is making the current syscall ([`Caller`]), and
//! delivers the signals terminals raise ([`TtyRegistry::take_signals`]),
//! after each syscall and each batch of host input.

pub mod ldisc;
pub mod pty;
pub mod termios;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::{Rc, Weak};

use crate::errno::Errno;
use crate::host::{Clock, Host};
use crate::mm::UserSpace;
use crate::task::Pid;
use crate::vfs::file::O_NOCTTY;
use crate::vfs::{makedev, FileOps, FileType, Io, Result, Stat, WaitQueue};
use ldisc::{Ldisc, Read};
use termios::{Termios, TERMIOS_SIZE, TOSTOP};

pub const TCGETS: u32 = 0x5401;
pub const TCSETS: u32 = 0x5402;
pub const TCSETSW: u32 = 0x5403;
pub const TCSETSF: u32 = 0x5404;
pub const TCSBRK: u32 = 0x5409;
pub const TCXONC: u32 = 0x540a;
pub const TCFLSH: u32 = 0x540b;
pub const TIOCSCTTY: u32 = 0x540e;
pub const TIOCGPGRP: u32 = 0x540f;
pub const TIOCSPGRP: u32 = 0x5410;
pub const TIOCOUTQ: u32 = 0x5411;
pub const TIOCGWINSZ: u32 = 0x5413;
pub const TIOCSWINSZ: u32 = 0x5414;
pub const FIONREAD: u32 = 0x541b;
pub const TIOCNOTTY: u32 = 0x5422;
pub const TCSBRKP: u32 = 0x5425;
pub const TIOCGSID: u32 = 0x5429;
pub const TIOCGPTN: u32 = 0x8004_5430;
pub const TIOCSPTLCK: u32 = 0x4004_5431;
pub const TIOCGPTLCK: u32 = 0x8004_5439;
pub const TIOCGPTPEER: u32 = 0x5441;

const SIGHUP: u8 = 1;
const SIGTTIN: u8 = 21;
const SIGTTOU: u8 = 22;
const SIGCONT: u8 = 18;
const SIGWINCH: u8 = 28;

/// devpts's device number (an anonymous one, as Linux gives it).
pub const DEVPTS_DEV: u64 = 0x19;
/// The pty slaves' major number (/dev/pts/N is 136:N).
pub const PTS_MAJOR: u32 = 136;

/// "Restart the call": a job-control check sent SIGTTIN/SIGTTOU; the
/// syscall waits (rewound) and the signal stops the caller.
pub const ERESTARTSYS: Errno = Errno(512);

/// One live process as the terminals see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: Pid,
    pub ppid: Pid,
    pub pgid: Pid,
    pub sid: Pid,
}

/// The process making the current syscall.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Caller {
    pub pid: Pid,
    pub pgid: Pid,
    pub sid: Pid,
    pub euid: u32,
    pub egid: u32,
    /// SIGTTIN / SIGTTOU ignored or blocked by the calling thread.
    pub ttin_off: bool,
    pub ttou_off: bool,
}

/// What terminals share with the kernel.
#[derive(Default)]
struct Shared {
    signals: RefCell<Vec<(Pid, u8)>>,
    caller: Cell<Caller>,
    procs: RefCell<Vec<ProcInfo>>,
    /// Every terminal by its /dev/pts number.
    ptys: RefCell<BTreeMap<u32, Weak<Tty>>>,
}

impl Shared {
    fn all(&self) -> Vec<Rc<Tty>> {
        self.ptys.borrow().values().filter_map(|w| w.upgrade()).collect()
    }

    /// Session `sid`'s controlling terminal.
    fn ctty(&self, sid: Pid) -> Option<Rc<Tty>> {
        self.all().into_iter().find(|t| t.session.get() == Some(sid))
    }

    fn orphaned(&self, pgid: Pid) -> bool {
        let procs = self.procs.borrow();
        // The first process (no parent) stands for a job of the host's
        // shell: never orphaned.
        !procs
            .iter()
            .filter(|p| p.pgid == pgid)
            .any(|p| p.ppid == 0 || procs.iter().any(|q| q.pid == p.ppid && q.pgid != pgid && q.sid == p.sid))
    }

    fn group_in_session(&self, pgid: Pid, sid: Pid) -> Option<bool> {
        let procs = self.procs.borrow();
        let members: Vec<&ProcInfo> = procs.iter().filter(|p| p.pgid == pgid).collect();
        if members.is_empty() {
            return None;
        }
        Some(members.iter().any(|p| p.sid == sid))
    }
}

/// The host console's terminal, as the host describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsoleTerminal {
    /// Bit n set: console stream n (0 stdin, 1 stdout, 2 stderr) is the
    /// terminal.
    pub streams: u8,
    /// The settings to start with (the host terminal's own, natively);
    /// None: Linux's defaults.
    pub termios: Option<[u8; TERMIOS_SIZE]>,
    /// rows, columns, x pixels, y pixels.
    pub winsize: [u16; 4],
}

/// One terminal: a line discipline plus who it belongs to.
pub struct Tty {
    /// N of /dev/pts/N (the console is /dev/pts/0).
    pub index: u32,
    console: bool,
    ld: RefCell<Ldisc>,
    winsize: Cell<[u16; 4]>,
    /// The session it controls, and that session's foreground group.
    session: Cell<Option<Pid>>,
    pgrp: Cell<Option<Pid>>,
    queue: WaitQueue,
    /// Pty: output for the master to read.
    master_out: RefCell<VecDeque<u8>>,
    master_open: Cell<bool>,
    master_termios: Cell<Termios>,
    slave_opens: Cell<usize>,
    slave_opened: Cell<bool>,
    locked: Cell<bool>,
    /// The master is gone: slave reads give end of file, writes EIO.
    hung_up: Cell<bool>,
    /// A VTIME read's deadline (monotonic ns).
    deadline: Cell<Option<u64>>,
    /// The slave's owner (at first the uid and gid of the process that
    /// opened the master) and permission bits, which chown and chmod
    /// change (sudo and login give a pty to its user, group tty).
    owner: Cell<(u32, u32)>,
    perm: Cell<u32>,
    shared: Rc<Shared>,
}

impl Tty {
    fn new(index: u32, console: bool, termios: Termios, winsize: [u16; 4], owner: (u32, u32), shared: Rc<Shared>) -> Tty {
        Tty {
            index,
            console,
            ld: RefCell::new(Ldisc::new(termios)),
            winsize: Cell::new(winsize),
            session: Cell::new(None),
            pgrp: Cell::new(None),
            queue: WaitQueue::default(),
            master_out: RefCell::new(VecDeque::new()),
            master_open: Cell::new(!console),
            master_termios: Cell::new(Termios::raw_master()),
            slave_opens: Cell::new(0),
            slave_opened: Cell::new(false),
            locked: Cell::new(!console),
            hung_up: Cell::new(false),
            deadline: Cell::new(None),
            owner: Cell::new(owner),
            // devpts' default mount options: mode 600.
            perm: Cell::new(0o600),
            shared,
        }
    }

    /// What stat says of /dev/pts/N.
    pub fn stat(&self) -> Stat {
        Stat {
            mode: FileType::CharDev.mode_bits() | self.perm.get(),
            rdev: makedev(PTS_MAJOR, self.index),
            dev: DEVPTS_DEV,
            ino: u64::from(self.index) + 3,
            nlink: 1,
            uid: self.owner.get().0,
            gid: self.owner.get().1,
            blksize: 1024,
            ..Default::default()
        }
    }

    /// chown(2) of /dev/pts/N (the caller's permission already checked).
    pub fn chown(&self, uid: Option<u32>, gid: Option<u32>) {
        let (u, g) = self.owner.get();
        self.owner.set((uid.unwrap_or(u), gid.unwrap_or(g)));
    }

    /// chmod(2) of /dev/pts/N.
    pub fn chmod(&self, perm: u32) {
        self.perm.set(perm & 0o7777);
    }

    fn signal_fg(&self, sig: u8) {
        if let Some(pg) = self.pgrp.get() {
            self.shared.signals.borrow_mut().push((pg, sig));
        }
    }

    /// Move what the line discipline produced to its destination: the
    /// host (console, on `stream`) or the master's queue; raise its
    /// signals.
    fn flush(&self, host: &mut dyn Host, stream: i32) {
        let (out, sigs) = {
            let mut ld = self.ld.borrow_mut();
            (std::mem::take(&mut ld.out), std::mem::take(&mut ld.signals))
        };
        if !out.is_empty() {
            if self.console {
                // The host console takes what it can; a terminal that fails
                // has nowhere else to report to.
                let _ = host.console_write(if stream == 2 { 2 } else { 1 }, &out);
            } else {
                self.master_out.borrow_mut().extend(out);
            }
        }
        for s in sigs {
            self.signal_fg(s);
        }
        self.queue.notify();
    }

    /// Input from the device side (host keyboard, pty master).
    pub fn input(&self, host: &mut dyn Host, data: &[u8]) {
        let now = host.now(Clock::Monotonic);
        self.ld.borrow_mut().receive(data, now);
        self.flush(host, 1);
    }

    /// A new window size; the foreground group hears of a change.
    pub fn resize(&self, ws: [u16; 4]) {
        if self.winsize.replace(ws) != ws {
            self.signal_fg(SIGWINCH);
        }
    }

    /// Whether this is the caller's controlling terminal.
    fn is_ctty(&self, c: &Caller) -> bool {
        self.session.get() == Some(c.sid)
    }

    /// The job-control check: a background process of the terminal's
    /// session reading (SIGTTIN) or changing it / writing with TOSTOP
    /// (SIGTTOU) gets the signal sent to its group and the call restarts
    /// (ERESTARTSYS) - or EIO when the signal would be ignored (reads) or
    /// its group is orphaned.
    fn job_check(&self, sig: u8) -> Result<()> {
        let c = self.shared.caller.get();
        if !self.is_ctty(&c) || self.pgrp.get().is_none_or(|pg| pg == c.pgid) {
            return Ok(());
        }
        let off = if sig == SIGTTIN { c.ttin_off } else { c.ttou_off };
        if off {
            return if sig == SIGTTIN { Err(Errno::EIO) } else { Ok(()) };
        }
        if self.shared.orphaned(c.pgid) {
            return Err(Errno::EIO);
        }
        self.shared.signals.borrow_mut().push((c.pgid, sig));
        Err(ERESTARTSYS)
    }

    /// Make this the controlling terminal of the caller's session when it
    /// opens it without O_NOCTTY as a session leader with none.
    fn maybe_acquire(&self, flags: u32) {
        let c = self.shared.caller.get();
        if flags & O_NOCTTY != 0 || c.pid == 0 || c.sid != c.pid || self.session.get().is_some() || self.shared.ctty(c.sid).is_some() {
            return;
        }
        self.session.set(Some(c.sid));
        self.pgrp.set(Some(c.pgid));
    }

    /// End the session's hold: SIGHUP and SIGCONT to the foreground group.
    fn hangup_session(&self) -> Option<Pid> {
        let pg = self.pgrp.take();
        self.session.set(None);
        self.queue.notify();
        pg
    }

    fn read(&self, host: &mut dyn Host, buf: &mut [u8]) -> Result<Io> {
        self.job_check(SIGTTIN).map_err(|e| if e == ERESTARTSYS { e } else { Errno::EIO })?;
        if self.hung_up.get() {
            return Ok(Io::Done(0));
        }
        let now = host.now(Clock::Monotonic);
        let r = self.ld.borrow_mut().read(buf, now, false);
        match r {
            Read::Done(n) => {
                self.deadline.set(None);
                Ok(Io::Done(n))
            }
            Read::Wait(d) => {
                self.deadline.set(d);
                Ok(Io::Block)
            }
        }
    }

    fn write(&self, host: &mut dyn Host, stream: i32, data: &[u8]) -> Result<Io> {
        if self.hung_up.get() {
            return Err(Errno::EIO);
        }
        if self.ld.borrow().termios.l(TOSTOP) {
            self.job_check(SIGTTOU)?;
        }
        if self.ld.borrow().stopped {
            return Ok(Io::Block);
        }
        self.ld.borrow_mut().output(data);
        self.flush(host, stream);
        Ok(Io::Done(data.len()))
    }

    fn poll(&self) -> u16 {
        let mut ev = 0;
        if self.ld.borrow().readable() {
            ev |= 0x1;
        }
        if !self.ld.borrow().stopped {
            ev |= 0x4;
        }
        if self.hung_up.get() {
            ev |= 0x1 | 0x10;
        }
        ev
    }

    /// The ioctls of the terminal itself (on the slave side, the console,
    /// and - for the settings and size - the master too).
    fn ioctl(&self, us: &mut UserSpace, cmd: u32, arg: u64) -> Result<u64> {
        let c = self.shared.caller.get();
        match cmd {
            TCGETS => {
                us.write_bytes(arg, &self.ld.borrow().termios.to_bytes())?;
                Ok(0)
            }
            TCSETS | TCSETSW | TCSETSF => {
                self.job_check(SIGTTOU)?;
                let mut b = [0u8; TERMIOS_SIZE];
                us.read_bytes(arg, &mut b)?;
                let mut ld = self.ld.borrow_mut();
                if cmd == TCSETSF {
                    ld.flush_input();
                }
                ld.set_termios(Termios::from_bytes(&b));
                drop(ld);
                self.queue.notify();
                Ok(0)
            }
            TCSBRK | TCSBRKP => {
                self.job_check(SIGTTOU)?;
                Ok(0)
            }
            TCXONC => {
                self.job_check(SIGTTOU)?;
                match arg {
                    0 => self.ld.borrow_mut().stopped = true,
                    1 => self.ld.borrow_mut().stopped = false,
                    2 | 3 => {}
                    _ => return Err(Errno::EINVAL),
                }
                self.queue.notify();
                Ok(0)
            }
            TCFLSH => {
                self.job_check(SIGTTOU)?;
                if arg > 2 {
                    return Err(Errno::EINVAL);
                }
                if arg != 1 {
                    self.ld.borrow_mut().flush_input();
                }
                if arg != 0 {
                    self.master_out.borrow_mut().clear();
                }
                self.queue.notify();
                Ok(0)
            }
            TIOCGWINSZ => {
                let b: Vec<u8> = self.winsize.get().iter().flat_map(|v| v.to_le_bytes()).collect();
                us.write_bytes(arg, &b)?;
                Ok(0)
            }
            TIOCSWINSZ => {
                let mut b = [0u8; 8];
                us.read_bytes(arg, &mut b)?;
                let ws = [0, 2, 4, 6].map(|i| u16::from_le_bytes([b[i], b[i + 1]]));
                self.resize(ws);
                Ok(0)
            }
            FIONREAD => {
                us.write_val(arg, &(self.ld.borrow().available() as i32))?;
                Ok(0)
            }
            TIOCOUTQ => {
                us.write_val(arg, &0i32)?;
                Ok(0)
            }
            TIOCGPGRP => {
                if !self.is_ctty(&c) {
                    return Err(Errno::ENOTTY);
                }
                us.write_val(arg, &(self.pgrp.get().unwrap_or(0) as i32))?;
                Ok(0)
            }
            TIOCSPGRP => {
                if !self.is_ctty(&c) {
                    return Err(Errno::ENOTTY);
                }
                self.job_check(SIGTTOU)?;
                let pg: i32 = us.read_val(arg)?;
                if pg < 0 {
                    return Err(Errno::EINVAL);
                }
                match self.shared.group_in_session(pg as Pid, c.sid) {
                    None => return Err(Errno::ESRCH),
                    Some(false) => return Err(Errno::EPERM),
                    Some(true) => {}
                }
                self.pgrp.set(Some(pg as Pid));
                self.queue.notify();
                Ok(0)
            }
            TIOCGSID => {
                let sid = self.session.get().filter(|_| self.is_ctty(&c)).ok_or(Errno::ENOTTY)?;
                us.write_val(arg, &(sid as i32))?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }
}

/// Every terminal of one kernel.
#[derive(Default)]
pub struct TtyRegistry {
    shared: Rc<Shared>,
    console: RefCell<Option<(Rc<Tty>, u8)>>,
    /// Asked the host once whether its console is a terminal.
    asked: Cell<bool>,
}

impl TtyRegistry {
    /// Whether any terminal exists (the kernel keeps the process view only
    /// then).
    pub fn active(&self) -> bool {
        self.console.borrow().is_some() || !self.shared.ptys.borrow().is_empty()
    }

    /// The console terminal and which streams it serves; created from the
    /// host's description the first time.
    pub fn console_or_create(&self, host: &mut dyn Host) -> Option<(Rc<Tty>, u8)> {
        if !self.asked.replace(true) {
            if let Some(ct) = host.console_terminal() {
                let t = ct.termios.map(|b| Termios::from_bytes(&b)).unwrap_or_default();
                let tty = Rc::new(Tty::new(0, true, t, ct.winsize, (0, 0), self.shared.clone()));
                self.shared.ptys.borrow_mut().insert(0, Rc::downgrade(&tty));
                *self.console.borrow_mut() = Some((tty, ct.streams));
            }
        }
        self.console.borrow().clone()
    }

    pub fn console(&self) -> Option<Rc<Tty>> {
        self.console.borrow().as_ref().map(|(t, _)| t.clone())
    }

    /// The first process's session is controlled by the console.
    pub fn attach_console(&self, pid: Pid) {
        if let Some(t) = self.console() {
            t.session.set(Some(pid));
            t.pgrp.set(Some(pid));
        }
    }

    pub fn set_caller(&self, c: Caller) {
        self.shared.caller.set(c);
    }

    pub fn set_procs(&self, procs: Vec<ProcInfo>) {
        *self.shared.procs.borrow_mut() = procs;
    }

    pub fn has_signals(&self) -> bool {
        !self.shared.signals.borrow().is_empty()
    }

    /// The (process group, signal) pairs raised since the last call.
    pub fn take_signals(&self) -> Vec<(Pid, u8)> {
        std::mem::take(&mut *self.shared.signals.borrow_mut())
    }

    fn all(&self) -> Vec<Rc<Tty>> {
        self.shared.all()
    }

    /// Session `sid`'s controlling terminal.
    pub fn ctty(&self, sid: Pid) -> Option<Rc<Tty>> {
        self.shared.ctty(sid)
    }

    /// Session leader `sid` exited: its terminal hangs up. Returns the
    /// foreground groups to send SIGHUP and SIGCONT.
    pub fn hangup_session(&self, sid: Pid) -> Vec<Pid> {
        self.all().into_iter().filter(|t| t.session.get() == Some(sid)).filter_map(|t| t.hangup_session()).collect()
    }

    /// Wake reads whose VTIME ran out.
    pub fn expire(&self, now: u64) {
        for t in self.all() {
            if t.deadline.get().is_some_and(|d| d <= now) {
                t.deadline.set(None);
                t.queue.notify();
            }
        }
    }

    pub fn next_deadline(&self) -> Option<u64> {
        self.all().iter().filter_map(|t| t.deadline.get()).min()
    }

    /// Keyboard input for the console terminal.
    pub fn console_input(&self, host: &mut dyn Host, data: &[u8]) {
        if let Some(t) = self.console() {
            t.input(host, data);
        }
    }

    pub fn console_resize(&self, ws: [u16; 4]) {
        if let Some(t) = self.console() {
            t.resize(ws);
        }
    }

    /// /dev/pts/N, if that terminal exists.
    pub fn pts(&self, index: u32) -> Option<Rc<Tty>> {
        self.shared.ptys.borrow().get(&index).and_then(|w| w.upgrade()).filter(|t| t.console || t.master_open.get())
    }

    pub fn pts_indices(&self) -> Vec<u32> {
        self.all().iter().filter(|t| t.console || t.master_open.get()).map(|t| t.index).collect()
    }

    /// Open /dev/pts/N.
    pub fn open_pts(self: &Rc<Self>, index: u32, flags: u32) -> Result<Rc<dyn FileOps>> {
        let t = self.pts(index).ok_or(Errno::ENOENT)?;
        if t.locked.get() {
            return Err(Errno::EIO);
        }
        t.maybe_acquire(flags);
        Ok(TtyFile::open(&t, 1, false))
    }

    /// Open a device of major 5: /dev/tty (0), /dev/console (1), /dev/ptmx (2).
    pub fn open_dev(self: &Rc<Self>, minor: u32, flags: u32) -> Result<Rc<dyn FileOps>> {
        match minor {
            0 => {
                let c = self.shared.caller.get();
                let t = self.ctty(c.sid).ok_or(Errno::ENXIO)?;
                Ok(TtyFile::open(&t, 1, false))
            }
            1 => {
                let t = self.console().ok_or(Errno::ENXIO)?;
                t.maybe_acquire(flags);
                Ok(TtyFile::open(&t, 1, false))
            }
            2 => self.open_ptmx(),
            _ => Err(Errno::ENXIO),
        }
    }

    /// A new pty pair; returns the master.
    pub fn open_ptmx(self: &Rc<Self>) -> Result<Rc<dyn FileOps>> {
        let mut ptys = self.shared.ptys.borrow_mut();
        ptys.retain(|_, w| w.strong_count() > 0);
        let index = (0..).find(|i| !ptys.contains_key(i)).ok_or(Errno::ENOSPC)?;
        let c = self.shared.caller.get();
        let owner = (c.euid, c.egid);
        let tty = Rc::new(Tty::new(index, false, Termios::pty_slave(), [0; 4], owner, self.shared.clone()));
        ptys.insert(index, Rc::downgrade(&tty));
        Ok(Rc::new(pty::PtyMaster { tty }))
    }
}

/// An open terminal (the console's streams, /dev/tty, /dev/pts/N).
pub struct TtyFile {
    tty: Rc<Tty>,
    /// The console stream output goes to (1 or 2).
    stream: i32,
    /// Opened without a path (a console descriptor, TIOCGPTPEER): fstat
    /// answers for it, as /dev/pts/N.
    console_fd: bool,
}

impl TtyFile {
    pub fn open(tty: &Rc<Tty>, stream: i32, console_fd: bool) -> Rc<dyn FileOps> {
        tty.slave_opens.set(tty.slave_opens.get() + 1);
        tty.slave_opened.set(true);
        Rc::new(TtyFile { tty: tty.clone(), stream, console_fd })
    }

    /// Console descriptor `stream` (0, 1, 2).
    pub fn open_console(tty: &Rc<Tty>, stream: i32) -> Rc<dyn FileOps> {
        TtyFile::open(tty, if stream == 2 { 2 } else { 1 }, true)
    }
}

impl Drop for TtyFile {
    fn drop(&mut self) {
        self.tty.slave_opens.set(self.tty.slave_opens.get().saturating_sub(1));
        self.tty.queue.notify();
    }
}

impl FileOps for TtyFile {
    fn wait_queue(&self) -> Option<WaitQueue> {
        Some(self.tty.queue.clone())
    }
    fn read(&self, host: &mut dyn Host, _off: u64, buf: &mut [u8]) -> Result<Io> {
        if buf.is_empty() {
            return Ok(Io::Done(0));
        }
        restart(self.tty.read(host, buf))
    }
    fn write(&self, host: &mut dyn Host, _off: u64, data: &[u8]) -> Result<Io> {
        restart(self.tty.write(host, self.stream, data))
    }
    fn ioctl(&self, _host: &mut dyn Host, us: &mut UserSpace, cmd: u32, arg: u64) -> Result<u64> {
        match cmd {
            TIOCSCTTY => {
                let c = self.tty.shared.caller.get();
                if c.sid != c.pid {
                    return Err(Errno::EPERM);
                }
                if self.tty.session.get() == Some(c.sid) {
                    return Ok(0);
                }
                if self.tty.shared.ctty(c.sid).is_some() {
                    return Err(Errno::EPERM);
                }
                if self.tty.session.get().is_some() && !(arg == 1 && c.euid == 0) {
                    return Err(Errno::EPERM);
                }
                self.tty.session.set(Some(c.sid));
                self.tty.pgrp.set(Some(c.pgid));
                Ok(0)
            }
            TIOCNOTTY => {
                let c = self.tty.shared.caller.get();
                if !self.tty.is_ctty(&c) {
                    return Err(Errno::ENOTTY);
                }
                if c.sid == c.pid {
                    if let Some(pg) = self.tty.hangup_session() {
                        let mut s = self.tty.shared.signals.borrow_mut();
                        s.push((pg, SIGHUP));
                        s.push((pg, SIGCONT));
                    }
                }
                Ok(0)
            }
            TIOCGPTN | TIOCSPTLCK | TIOCGPTLCK | TIOCGPTPEER => Err(Errno::ENOTTY),
            _ => self.tty.ioctl(us, cmd, arg),
        }
    }
    fn poll(&self) -> u16 {
        self.tty.poll()
    }
    fn stat(&self) -> Option<Result<Stat>> {
        self.console_fd.then(|| Ok(self.tty.stat()))
    }
    fn statfs(&self) -> crate::vfs::StatFs {
        crate::fs::devpts::statfs()
    }
}

/// A job-control restart becomes a wait: the syscall is rewound and the
/// SIGTTIN/SIGTTOU just raised stops the caller before it retries.
fn restart(r: Result<Io>) -> Result<Io> {
    match r {
        Err(e) if e == ERESTARTSYS => Ok(Io::Block),
        r => r,
    }
}

#[cfg(test)]
mod tests;
