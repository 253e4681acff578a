//! The file descriptor table: small integers to open file descriptions,
//! each with its own close-on-exec bit. Processes hold it behind an
//! `Rc<RefCell<..>>` so that clone(CLONE_FILES) can share it and fork can
//! copy it ([`FdTable::clone`] shares the descriptions, as fork does).

use std::rc::Rc;

use super::OpenFile;
use crate::errno::Errno;

/// RLIMIT_NOFILE's default soft limit.
pub const DEFAULT_MAX_FDS: usize = 1024;

#[derive(Clone)]
struct Slot {
    file: Rc<OpenFile>,
    cloexec: bool,
}

#[derive(Clone)]
pub struct FdTable {
    slots: Vec<Option<Slot>>,
    max: usize,
}

impl Default for FdTable {
    fn default() -> Self {
        FdTable { slots: Vec::new(), max: DEFAULT_MAX_FDS }
    }
}

impl FdTable {
    pub fn get(&self, fd: i32) -> Result<Rc<OpenFile>, Errno> {
        usize::try_from(fd).ok().and_then(|i| self.slots.get(i)).and_then(|s| s.as_ref()).map(|s| s.file.clone()).ok_or(Errno::EBADF)
    }

    /// Install `file` at the lowest free descriptor >= `min`.
    pub fn insert_from(&mut self, min: usize, file: Rc<OpenFile>, cloexec: bool) -> Result<i32, Errno> {
        if min >= self.max {
            return Err(Errno::EINVAL);
        }
        let fd = (min..self.max).find(|&i| self.slots.get(i).is_none_or(|s| s.is_none())).ok_or(Errno::EMFILE)?;
        if fd >= self.slots.len() {
            self.slots.resize(fd + 1, None);
        }
        self.slots[fd] = Some(Slot { file, cloexec });
        Ok(fd as i32)
    }

    pub fn insert(&mut self, file: Rc<OpenFile>, cloexec: bool) -> Result<i32, Errno> {
        self.insert_from(0, file, cloexec)
    }

    /// Put `file` at exactly `fd`, closing what was there (dup2).
    pub fn install(&mut self, fd: i32, file: Rc<OpenFile>, cloexec: bool) -> Result<(), Errno> {
        let i = usize::try_from(fd).ok().filter(|&i| i < self.max).ok_or(Errno::EBADF)?;
        if i >= self.slots.len() {
            self.slots.resize(i + 1, None);
        }
        self.slots[i] = Some(Slot { file, cloexec });
        Ok(())
    }

    pub fn close(&mut self, fd: i32) -> Result<Rc<OpenFile>, Errno> {
        let slot = usize::try_from(fd).ok().and_then(|i| self.slots.get_mut(i)).ok_or(Errno::EBADF)?;
        let s = slot.take().ok_or(Errno::EBADF)?;
        Ok(s.file)
    }

    pub fn cloexec(&self, fd: i32) -> Result<bool, Errno> {
        usize::try_from(fd).ok().and_then(|i| self.slots.get(i)).and_then(|s| s.as_ref()).map(|s| s.cloexec).ok_or(Errno::EBADF)
    }

    pub fn set_cloexec(&mut self, fd: i32, on: bool) -> Result<(), Errno> {
        let s = usize::try_from(fd).ok().and_then(|i| self.slots.get_mut(i)).and_then(|s| s.as_mut()).ok_or(Errno::EBADF)?;
        s.cloexec = on;
        Ok(())
    }

    /// execve: close every close-on-exec descriptor.
    pub fn close_on_exec(&mut self) {
        for s in &mut self.slots {
            if s.as_ref().is_some_and(|s| s.cloexec) {
                *s = None;
            }
        }
    }

    /// Descriptors in use, ascending.
    pub fn fds(&self) -> impl Iterator<Item = i32> + '_ {
        self.slots.iter().enumerate().filter(|(_, s)| s.is_some()).map(|(i, _)| i as i32)
    }

    pub fn max(&self) -> usize {
        self.max
    }

    pub fn set_max(&mut self, max: usize) {
        self.max = max.clamp(1, 1 << 20);
    }
}
