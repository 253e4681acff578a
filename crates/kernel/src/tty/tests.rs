//! The terminal layer without a guest: a registry, ptys and the console
//! driven directly, checking data, echo, signals and job-control answers.

use std::cell::RefCell;
use std::rc::Rc;

use super::*;
use crate::host::ConsoleRead;
use crate::vfs::file::O_NOCTTY;

#[derive(Default)]
struct Out {
    written: Vec<u8>,
}

struct FakeHost(Rc<RefCell<Out>>, Option<ConsoleTerminal>);

impl Host for FakeHost {
    fn console_write(&mut self, _fd: i32, data: &[u8]) -> std::result::Result<usize, Errno> {
        self.0.borrow_mut().written.extend_from_slice(data);
        Ok(data.len())
    }
    fn console_read(&mut self, _buf: &mut [u8]) -> std::result::Result<ConsoleRead, Errno> {
        Ok(ConsoleRead::WouldBlock)
    }
    fn now(&mut self, _clock: Clock) -> u64 {
        0
    }
    fn random(&mut self, buf: &mut [u8]) {
        buf.fill(1);
    }
    fn console_terminal(&mut self) -> Option<ConsoleTerminal> {
        self.1
    }
    fn diag(&mut self, _line: &str) {}
}

fn host() -> (FakeHost, Rc<RefCell<Out>>) {
    let out = Rc::new(RefCell::new(Out::default()));
    (FakeHost(out.clone(), None), out)
}

/// Session 10 led by pid 10 (group 10), with pid 11 in background group 11
/// whose parent is 10, and pid 20 in group 20 whose parent is outside.
fn procs(reg: &TtyRegistry) {
    reg.set_procs(vec![
        ProcInfo { pid: 10, ppid: 1, pgid: 10, sid: 10 },
        ProcInfo { pid: 11, ppid: 10, pgid: 11, sid: 10 },
        ProcInfo { pid: 20, ppid: 99, pgid: 20, sid: 10 },
    ]);
}

fn caller(pid: Pid, pgid: Pid, sid: Pid) -> Caller {
    Caller { pid, pgid, sid, ..Default::default() }
}

/// A pty pair whose slave is the controlling terminal of session 10.
fn pair(reg: &Rc<TtyRegistry>) -> (Rc<dyn FileOps>, Rc<dyn FileOps>, Rc<Tty>) {
    reg.set_caller(caller(10, 10, 10));
    procs(reg);
    let master = reg.open_ptmx().unwrap();
    let tty = reg.pts(0).unwrap();
    assert_eq!(reg.open_pts(0, 0).err(), Some(Errno::EIO), "locked until unlockpt");
    tty.locked.set(false);
    let slave = reg.open_pts(0, 0).unwrap();
    (master, slave, tty)
}

fn read(f: &Rc<dyn FileOps>, h: &mut FakeHost) -> Result<Vec<u8>> {
    let mut b = [0u8; 100];
    match f.read(h, 0, &mut b)? {
        Io::Done(n) => Ok(b[..n].to_vec()),
        Io::Block => Ok(b"<block>".to_vec()),
    }
}

#[test]
fn pty_data_both_ways_with_echo() {
    let reg = Rc::new(TtyRegistry::default());
    let (mut h, _) = host();
    let (m, s, tty) = pair(&reg);
    assert_eq!(tty.session.get(), Some(10), "a session leader opening without O_NOCTTY gets it");
    assert_eq!(m.write(&mut h, 0, b"ls\r").unwrap(), Io::Done(3));
    assert_eq!(read(&s, &mut h).unwrap(), b"ls\n");
    assert_eq!(read(&m, &mut h).unwrap(), b"ls\r\n", "echo");
    assert_eq!(s.write(&mut h, 0, b"out\n").unwrap(), Io::Done(4));
    assert_eq!(read(&m, &mut h).unwrap(), b"out\r\n", "ONLCR");
    assert_eq!(read(&m, &mut h).unwrap(), b"<block>");
    assert_eq!(read(&s, &mut h).unwrap(), b"<block>");
    drop(s);
    assert_eq!(read(&m, &mut h).err(), Some(Errno::EIO), "no slave left");
}

#[test]
fn signal_characters_go_to_the_foreground_group() {
    let reg = Rc::new(TtyRegistry::default());
    let (mut h, _) = host();
    let (m, _s, tty) = pair(&reg);
    tty.pgrp.set(Some(11));
    m.write(&mut h, 0, b"\x03\x1c\x1a").unwrap();
    assert_eq!(reg.take_signals(), vec![(11, 2), (11, 3), (11, 20)]);
    tty.resize([24, 80, 0, 0]);
    tty.resize([24, 80, 0, 0]);
    assert_eq!(reg.take_signals(), vec![(11, 28)], "SIGWINCH once, on a change");
}

#[test]
fn background_jobs_get_sigttin_sigttou_or_eio() {
    let reg = Rc::new(TtyRegistry::default());
    let (mut h, _) = host();
    let (_m, s, tty) = pair(&reg);
    // pid 11 in background group 11 (its parent 10 is in the session).
    reg.set_caller(caller(11, 11, 10));
    assert_eq!(read(&s, &mut h).unwrap(), b"<block>", "the read restarts after the stop");
    assert_eq!(reg.take_signals(), vec![(11, 21)]);
    assert_eq!(s.write(&mut h, 0, b"x").unwrap(), Io::Done(1), "writes pass without TOSTOP");
    let mut t = tty.ld.borrow().termios;
    t.lflag |= TOSTOP;
    tty.ld.borrow_mut().set_termios(t);
    assert_eq!(s.write(&mut h, 0, b"x").unwrap(), Io::Block);
    assert_eq!(reg.take_signals(), vec![(11, 22)]);
    // Ignored SIGTTIN: EIO; ignored SIGTTOU: the write goes through.
    reg.set_caller(Caller { ttin_off: true, ttou_off: true, ..caller(11, 11, 10) });
    assert_eq!(read(&s, &mut h).err(), Some(Errno::EIO));
    assert_eq!(s.write(&mut h, 0, b"x").unwrap(), Io::Done(1));
    // Group 20 is orphaned (its parent is outside the session): EIO.
    reg.set_caller(caller(20, 20, 10));
    assert_eq!(read(&s, &mut h).err(), Some(Errno::EIO));
    assert_eq!(s.write(&mut h, 0, b"x").err(), Some(Errno::EIO));
    assert!(reg.take_signals().is_empty());
    // The foreground group reads normally.
    reg.set_caller(caller(10, 10, 10));
    assert_eq!(read(&s, &mut h).unwrap(), b"<block>");
    assert!(reg.take_signals().is_empty());
}

#[test]
fn dev_tty_and_hangup() {
    let reg = Rc::new(TtyRegistry::default());
    let (mut h, _) = host();
    reg.set_caller(caller(30, 30, 30));
    assert_eq!(reg.open_dev(0, 0).err(), Some(Errno::ENXIO), "no controlling terminal");
    let (m, s, tty) = pair(&reg);
    let t = reg.open_dev(0, 0).unwrap();
    t.write(&mut h, 0, b"hi").unwrap();
    assert_eq!(read(&m, &mut h).unwrap(), b"hi");
    // Another session leader opening it with O_NOCTTY does not take it.
    reg.set_caller(caller(40, 40, 40));
    let _other = reg.open_pts(0, O_NOCTTY).unwrap();
    assert_eq!(tty.session.get(), Some(10));
    drop(m);
    assert_eq!(reg.take_signals(), vec![(10, 1), (10, 18)], "SIGHUP and SIGCONT to the foreground");
    assert_eq!(read(&s, &mut h).unwrap(), b"", "end of file after hangup");
    assert_eq!(s.write(&mut h, 0, b"x").err(), Some(Errno::EIO));
    assert!(reg.pts(0).is_none(), "gone from devpts with its master");
}

#[test]
fn console_terminal_echoes_to_the_host_and_signals() {
    let reg = Rc::new(TtyRegistry::default());
    let out = Rc::new(RefCell::new(Out::default()));
    let term = ConsoleTerminal { streams: 7, termios: None, winsize: [24, 80, 0, 0] };
    let mut h = FakeHost(out.clone(), Some(term));
    let (tty, streams) = reg.console_or_create(&mut h).unwrap();
    assert_eq!(streams, 7);
    reg.attach_console(1);
    let stdin = TtyFile::open_console(&tty, 0);
    reg.console_input(&mut h, b"echo\r");
    assert_eq!(out.borrow().written, b"echo\r\n");
    assert_eq!(read(&stdin, &mut h).unwrap(), b"echo\n");
    reg.console_input(&mut h, b"\x1a");
    assert_eq!(reg.take_signals(), vec![(1, 20)]);
    assert_eq!(tty.stat().rdev, makedev(136, 0), "the console is /dev/pts/0");
    assert_eq!(reg.pts(0).map(|t| t.index), Some(0));
}
