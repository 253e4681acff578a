//! Pty masters: what the master reads is the slave's output (and echo);
//! what it writes is the slave's input, through the slave's line
//! discipline. Closing the master hangs the slave up; once every slave
//! descriptor is closed the master reads EIO.

use std::rc::Rc;

use super::{Tty, TtyFile, SIGCONT, SIGHUP, TCGETS, TCSETS, TCSETSF, TCSETSW, TIOCGPTLCK, TIOCGPTN, TIOCGPTPEER, TIOCSPTLCK};
use crate::errno::Errno;
use crate::host::Host;
use crate::mm::UserSpace;
use crate::vfs::{FileOps, Io, Result, Stat, WaitQueue};

pub struct PtyMaster {
    pub(super) tty: Rc<Tty>,
}

impl PtyMaster {
    pub fn index(&self) -> u32 {
        self.tty.index
    }
}

impl Drop for PtyMaster {
    fn drop(&mut self) {
        let t = &self.tty;
        t.master_open.set(false);
        t.hung_up.set(true);
        if let Some(pg) = t.hangup_session() {
            let mut s = t.shared.signals.borrow_mut();
            s.push((pg, SIGHUP));
            s.push((pg, SIGCONT));
        }
        t.queue.notify();
    }
}

impl FileOps for PtyMaster {
    fn wait_queue(&self) -> Option<WaitQueue> {
        Some(self.tty.queue.clone())
    }

    fn read(&self, _host: &mut dyn Host, _off: u64, buf: &mut [u8]) -> Result<Io> {
        let mut q = self.tty.master_out.borrow_mut();
        if !q.is_empty() {
            let n = q.len().min(buf.len());
            for (i, b) in q.drain(..n).enumerate() {
                buf[i] = b;
            }
            drop(q);
            self.tty.queue.notify();
            return Ok(Io::Done(n));
        }
        if self.tty.slave_opened.get() && self.tty.slave_opens.get() == 0 {
            return Err(Errno::EIO);
        }
        Ok(Io::Block)
    }

    fn write(&self, host: &mut dyn Host, _off: u64, data: &[u8]) -> Result<Io> {
        self.tty.input(host, data);
        Ok(Io::Done(data.len()))
    }

    fn ioctl(&self, _host: &mut dyn Host, us: &mut UserSpace, cmd: u32, arg: u64) -> Result<u64> {
        match cmd {
            TIOCGPTN => {
                us.write_val(arg, &self.tty.index)?;
                Ok(0)
            }
            TIOCSPTLCK => {
                let v: i32 = us.read_val(arg)?;
                self.tty.locked.set(v != 0);
                Ok(0)
            }
            TIOCGPTLCK => {
                us.write_val(arg, &i32::from(self.tty.locked.get()))?;
                Ok(0)
            }
            // The master has settings of its own, which do not affect the
            // slave's line discipline.
            TCGETS => {
                us.write_bytes(arg, &self.tty.master_termios.get().to_bytes())?;
                Ok(0)
            }
            TCSETS | TCSETSW | TCSETSF => {
                let mut b = [0u8; super::TERMIOS_SIZE];
                us.read_bytes(arg, &mut b)?;
                self.tty.master_termios.set(super::Termios::from_bytes(&b));
                Ok(0)
            }
            TIOCGPTPEER => Err(Errno::EINVAL),
            // Window size, FIONREAD, flushing... act on the pair.
            super::FIONREAD => {
                us.write_val(arg, &(self.tty.master_out.borrow().len() as i32))?;
                Ok(0)
            }
            super::TIOCGWINSZ | super::TIOCSWINSZ | super::TCFLSH | super::TCXONC | super::TIOCOUTQ | super::TCSBRK | super::TCSBRKP => {
                self.tty.ioctl(us, cmd, arg)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn ioctl_open(&self, cmd: u32, _arg: u64) -> Option<Result<Rc<dyn FileOps>>> {
        if cmd != TIOCGPTPEER {
            return None;
        }
        if self.tty.locked.get() {
            return Some(Err(Errno::EIO));
        }
        Some(Ok(TtyFile::open(&self.tty, 1, true)))
    }

    fn poll(&self) -> u16 {
        let mut ev = 0x4;
        if !self.tty.master_out.borrow().is_empty() {
            ev |= 0x1;
        }
        if self.tty.slave_opened.get() && self.tty.slave_opens.get() == 0 {
            ev |= 0x10 | 0x8;
        }
        ev
    }

    fn stat(&self) -> Option<Result<Stat>> {
        None
    }
}
