//! epoll: an interest list of (open file, descriptor) pairs and a ready
//! list, as Linux keeps them.
//!
//! Readiness is each file's [`FileOps::poll`]; oxvm has no wake-up
//! callbacks, so a wait *scans* the interest list instead: a
//! level-triggered entry goes on the ready list when its file polls
//! ready; an edge-triggered one when its file's wait queue moved in the
//! direction it watches (input for EPOLLIN, output for EPOLLOUT, see
//! [`WaitQueue::notify_events`]) since the last scan and the file polls
//! ready, so each new write to a pipe is an edge but a partial read is
//! not. Reported level-triggered entries go back to the tail of the ready
//! list (so a small `maxevents` rotates through them), edge-triggered ones
//! leave it, EPOLLONESHOT ones are disabled until EPOLL_CTL_MOD.
//!
//! Entries hold the open file weakly: closing the last descriptor of a
//! file removes it from every interest list, as Linux does; closing one of
//! several duplicates does not. A file without a wait queue (the console)
//! works level-triggered (the wait retries on every scheduler pass);
//! edge-triggered, it reports only when added or modified.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use super::{anon_stat, anon_statfs};
use crate::errno::Errno;
use crate::vfs::{FileOps, OpenFile, Result, Stat, StatFs, WaitQueue};

pub const EPOLLIN: u32 = 0x1;
pub const EPOLLPRI: u32 = 0x2;
pub const EPOLLOUT: u32 = 0x4;
pub const EPOLLERR: u32 = 0x8;
pub const EPOLLHUP: u32 = 0x10;
pub const EPOLLRDNORM: u32 = 0x40;
pub const EPOLLRDBAND: u32 = 0x80;
pub const EPOLLWRNORM: u32 = 0x100;
pub const EPOLLWRBAND: u32 = 0x200;
pub const EPOLLMSG: u32 = 0x400;
pub const EPOLLRDHUP: u32 = 0x2000;
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
pub const EPOLLWAKEUP: u32 = 1 << 29;
pub const EPOLLONESHOT: u32 = 1 << 30;
pub const EPOLLET: u32 = 1 << 31;
/// The bits that are not events.
const PRIVATE: u32 = EPOLLEXCLUSIVE | EPOLLWAKEUP | EPOLLONESHOT | EPOLLET;
/// What EPOLLEXCLUSIVE may be combined with.
pub const EXCLUSIVE_OK: u32 = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/// Events that are edges in the input direction.
const INPUT: u32 = !(EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND | PRIVATE);
const OUTPUT: u32 = EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
/// Deepest chain of epoll instances watching each other.
const MAX_NESTS: usize = 5;

thread_local! {
    /// How deep the current poll/queue walk is in nested instances.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Run `f` one nesting level deeper, or give `cut` past the deepest
/// nesting Linux allows. epoll_ctl only checks the chain below the added
/// instance, so chains built top-down could be longer: this keeps such a
/// chain from recursing without bound.
fn nested<R>(cut: R, f: impl FnOnce() -> R) -> R {
    DEPTH.with(|d| {
        if d.get() > MAX_NESTS {
            return cut;
        }
        d.set(d.get() + 1);
        let r = f();
        d.set(d.get() - 1);
        r
    })
}

/// (the open file's address, the descriptor): how Linux tells entries
/// apart.
type Key = (usize, i32);

struct Entry {
    key: Key,
    file: Weak<OpenFile>,
    /// Requested events and flags (EPOLLERR|EPOLLHUP always added).
    events: u32,
    data: u64,
    /// Input and output counters of the file's queues at the last scan.
    seen: (u64, u64),
    on_list: bool,
    /// EPOLLONESHOT fired: no more reports until EPOLL_CTL_MOD.
    disabled: bool,
}

fn key_of(file: &Rc<OpenFile>, fd: i32) -> Key {
    (Rc::as_ptr(file) as *const () as usize, fd)
}

/// The file's (input, output) counters summed over its queues; None when
/// it has no queue.
fn counters(file: &OpenFile) -> Option<(u64, u64)> {
    let mut qs = Vec::new();
    if !file.ops.wait_queues(&mut qs) {
        return None;
    }
    Some(qs.iter().fold((0u64, 0u64), |(i, o), q| (i.wrapping_add(q.input_generation()), o.wrapping_add(q.output_generation()))))
}

/// The events `file` has now among those `e` asks for.
fn revents(file: &OpenFile, events: u32) -> u32 {
    u32::from(file.ops.poll()) & (events & !PRIVATE)
}

#[derive(Default)]
pub struct Epoll {
    /// In the order added.
    entries: RefCell<Vec<Entry>>,
    ready: RefCell<VecDeque<Key>>,
    /// Moves on every epoll_ctl, so a waiter re-scans.
    queue: WaitQueue,
}

/// What epoll_ctl does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Del,
    Mod,
}

impl Epoll {
    /// Forget entries whose file is gone.
    fn purge(&self) {
        let mut e = self.entries.borrow_mut();
        if e.iter().any(|x| x.file.strong_count() == 0) {
            e.retain(|x| x.file.strong_count() > 0);
        }
    }

    /// The epoll instance behind `file`, if it is one.
    pub fn of(file: &OpenFile) -> Option<&Epoll> {
        file.ops.as_any()?.downcast_ref::<Epoll>()
    }

    /// Whether `target` (an epoll instance) watches `self`, directly or
    /// through others, or sits on a chain deeper than Linux allows.
    fn would_loop(&self, target: &Epoll, depth: usize) -> bool {
        if std::ptr::eq(self, target) || depth >= MAX_NESTS {
            return true;
        }
        target
            .entries
            .borrow()
            .iter()
            .filter_map(|e| e.file.upgrade())
            .any(|f| Epoll::of(&f).is_some_and(|inner| self.would_loop(inner, depth + 1)))
    }

    /// epoll_ctl for descriptor `fd` of `file`. The caller has checked
    /// that the file can be polled and is not this instance.
    pub fn ctl(&self, op: Op, fd: i32, file: &Rc<OpenFile>, events: u32, data: u64) -> Result<()> {
        self.purge();
        if op != Op::Del && events & EPOLLEXCLUSIVE != 0 {
            let nested = Epoll::of(file).is_some();
            if op == Op::Mod || nested || events & !EXCLUSIVE_OK != 0 {
                return Err(Errno::EINVAL);
            }
        }
        if op == Op::Add {
            if let Some(inner) = Epoll::of(file) {
                if self.would_loop(inner, 1) {
                    return Err(Errno::ELOOP);
                }
            }
        }
        let key = key_of(file, fd);
        let mut entries = self.entries.borrow_mut();
        let at = entries.iter().position(|e| e.key == key);
        match (op, at) {
            (Op::Add, Some(_)) => return Err(Errno::EEXIST),
            (Op::Add, None) => {
                entries.push(Entry {
                    key,
                    file: Rc::downgrade(file),
                    events: events | EPOLLERR | EPOLLHUP,
                    data,
                    seen: counters(file).unwrap_or_default(),
                    on_list: false,
                    disabled: false,
                });
                let e = entries.last_mut().unwrap();
                if revents(file, e.events) != 0 {
                    e.on_list = true;
                    self.ready.borrow_mut().push_back(key);
                }
            }
            (Op::Del, Some(i)) => {
                entries.remove(i);
                self.ready.borrow_mut().retain(|k| *k != key);
            }
            (Op::Mod, Some(i)) => {
                let e = &mut entries[i];
                if e.events & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                e.events = events | EPOLLERR | EPOLLHUP;
                e.data = data;
                e.disabled = false;
                e.seen = counters(file).unwrap_or_default();
                if revents(file, e.events) != 0 && !e.on_list {
                    e.on_list = true;
                    self.ready.borrow_mut().push_back(key);
                }
            }
            (_, None) => return Err(Errno::ENOENT),
        }
        self.queue.notify();
        Ok(())
    }

    /// Whether entry `e` of `file` has a new edge (or, level-triggered,
    /// is ready); with `commit`, the edge is consumed.
    fn triggered(e: &mut Entry, file: &OpenFile, commit: bool) -> bool {
        if e.disabled {
            return false;
        }
        let r = revents(file, e.events);
        if e.events & EPOLLET == 0 {
            return r != 0;
        }
        let Some((i, o)) = counters(file) else { return false };
        let edge = (i != e.seen.0 && r & INPUT != 0) || (o != e.seen.1 && r & OUTPUT != 0);
        if commit {
            e.seen = (i, o);
        }
        edge
    }

    /// epoll_wait's harvest: up to `max` (events, data) pairs.
    pub fn collect(&self, max: usize) -> Vec<(u32, u64)> {
        self.purge();
        let mut entries = self.entries.borrow_mut();
        let mut ready = self.ready.borrow_mut();
        for e in entries.iter_mut() {
            let Some(f) = e.file.upgrade() else { continue };
            if Self::triggered(e, &f, true) && !e.on_list {
                e.on_list = true;
                ready.push_back(e.key);
            }
        }
        let mut out = Vec::new();
        let mut again = Vec::new();
        while out.len() < max {
            let Some(key) = ready.pop_front() else { break };
            let Some(e) = entries.iter_mut().find(|e| e.key == key) else { continue };
            e.on_list = false;
            let Some(f) = e.file.upgrade() else { continue };
            if e.disabled {
                continue;
            }
            let r = revents(&f, e.events);
            if r == 0 {
                continue;
            }
            out.push((r, e.data));
            if e.events & EPOLLONESHOT != 0 {
                e.disabled = true;
            } else if e.events & EPOLLET == 0 {
                e.on_list = true;
                again.push(key);
            }
        }
        ready.extend(again);
        out
    }

    /// Whether a wait would report something now (this instance polled
    /// from another one, or from poll/select).
    fn has_ready(&self) -> bool {
        let mut entries = self.entries.borrow_mut();
        entries.iter_mut().any(|e| {
            let Some(f) = e.file.upgrade() else { return false };
            if e.on_list {
                !e.disabled && revents(&f, e.events) != 0
            } else {
                Self::triggered(e, &f, false)
            }
        })
    }
}

impl FileOps for Epoll {
    fn wait_queue(&self) -> Option<WaitQueue> {
        Some(self.queue.clone())
    }

    fn wait_queues(&self, out: &mut Vec<WaitQueue>) -> bool {
        out.push(self.queue.clone());
        nested(true, || {
            let mut complete = true;
            for e in self.entries.borrow().iter() {
                if let Some(f) = e.file.upgrade() {
                    complete &= f.ops.wait_queues(out);
                }
            }
            complete
        })
    }

    fn poll(&self) -> u16 {
        if nested(false, || self.has_ready()) {
            (EPOLLIN | EPOLLRDNORM) as u16
        } else {
            0
        }
    }

    fn stat(&self) -> Option<Result<Stat>> {
        Some(Ok(anon_stat()))
    }

    fn statfs(&self) -> StatFs {
        anon_statfs()
    }

    fn anon_name(&self) -> Option<&'static str> {
        Some("anon_inode:[eventpoll]")
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::eventfd::EventFd;
    use crate::event::testhost::FakeHost;
    use crate::vfs::file::{O_RDONLY, O_RDWR, O_WRONLY};

    fn pipe() -> (Rc<OpenFile>, Rc<OpenFile>) {
        let (r, w) = crate::fs::pipe::new_pair(1);
        (OpenFile::new(r, None, O_RDONLY), OpenFile::new(w, None, O_WRONLY))
    }

    fn write(w: &OpenFile, n: usize) {
        w.write(&mut FakeHost::default(), &vec![b'x'; n]).unwrap();
    }

    fn read(r: &OpenFile, n: usize) {
        r.read(&mut FakeHost::default(), &mut vec![0; n]).unwrap();
    }

    #[test]
    fn level_triggered_reports_while_ready() {
        let ep = Epoll::default();
        let (r, w) = pipe();
        ep.ctl(Op::Add, 3, &r, EPOLLIN, 7).unwrap();
        assert_eq!(ep.collect(8), vec![]);
        write(&w, 2);
        assert_eq!(ep.collect(8), vec![(EPOLLIN, 7)]);
        assert_eq!(ep.collect(8), vec![(EPOLLIN, 7)]);
        read(&r, 2);
        assert_eq!(ep.collect(8), vec![]);
        drop(w);
        assert_eq!(ep.collect(8), vec![(EPOLLHUP, 7)], "HUP is always reported");
        assert_eq!(ep.ctl(Op::Add, 3, &r, EPOLLIN, 7), Err(Errno::EEXIST));
        assert_eq!(ep.ctl(Op::Mod, 4, &r, EPOLLIN, 7), Err(Errno::ENOENT));
        ep.ctl(Op::Del, 3, &r, 0, 0).unwrap();
        assert_eq!(ep.ctl(Op::Del, 3, &r, 0, 0), Err(Errno::ENOENT));
    }

    #[test]
    fn edge_triggered_reports_new_input_only() {
        let ep = Epoll::default();
        let (r, w) = pipe();
        ep.ctl(Op::Add, 3, &r, EPOLLIN | EPOLLET, 1).unwrap();
        write(&w, 10);
        assert_eq!(ep.collect(8), vec![(EPOLLIN, 1)]);
        assert_eq!(ep.collect(8), vec![]);
        read(&r, 5);
        assert_eq!(ep.collect(8), vec![], "a partial read is no edge");
        write(&w, 1);
        assert_eq!(ep.collect(8), vec![(EPOLLIN, 1)], "more data is");
        read(&r, 6);
        write(&w, 1);
        assert_eq!(ep.collect(8), vec![(EPOLLIN, 1)], "drained and refilled between waits");
    }

    #[test]
    fn oneshot_until_modified() {
        let ep = Epoll::default();
        let (r, w) = pipe();
        write(&w, 1);
        ep.ctl(Op::Add, 3, &r, EPOLLIN | EPOLLONESHOT, 1).unwrap();
        assert_eq!(ep.collect(8), vec![(EPOLLIN, 1)]);
        write(&w, 1);
        assert_eq!(ep.collect(8), vec![]);
        ep.ctl(Op::Mod, 3, &r, EPOLLIN | EPOLLONESHOT, 2).unwrap();
        assert_eq!(ep.collect(8), vec![(EPOLLIN, 2)]);
    }

    #[test]
    fn maxevents_rotates_and_closing_removes() {
        let ep = Epoll::default();
        let files: Vec<Rc<OpenFile>> = (0..3).map(|i| OpenFile::new(Rc::new(EventFd::new(i + 1, false)), None, O_RDWR)).collect();
        for (i, f) in files.iter().enumerate() {
            ep.ctl(Op::Add, i as i32, f, EPOLLIN, i as u64).unwrap();
        }
        let d = |v: Vec<(u32, u64)>| v.into_iter().map(|(_, d)| d).collect::<Vec<_>>();
        assert_eq!(d(ep.collect(2)), vec![0, 1]);
        assert_eq!(d(ep.collect(2)), vec![2, 0]);
        let mut files = files;
        files.remove(0);
        assert_eq!(d(ep.collect(8)), vec![1, 2]);
    }

    #[test]
    fn nested_instances_and_loops() {
        let inner = Rc::new(Epoll::default());
        let outer = Rc::new(Epoll::default());
        let fi = OpenFile::new(inner.clone(), None, O_RDONLY);
        let fo = OpenFile::new(outer.clone(), None, O_RDONLY);
        let e = OpenFile::new(Rc::new(EventFd::new(0, false)), None, O_RDWR);
        inner.ctl(Op::Add, 5, &e, EPOLLIN, 9).unwrap();
        outer.ctl(Op::Add, 4, &fi, EPOLLIN, 4).unwrap();
        assert_eq!(outer.collect(8), vec![]);
        e.write(&mut FakeHost::default(), &1u64.to_le_bytes()).unwrap();
        assert_eq!(fi.ops.poll(), 0x41);
        assert_eq!(outer.collect(8), vec![(EPOLLIN, 4)]);
        assert_eq!(inner.ctl(Op::Add, 6, &fo, EPOLLIN, 0), Err(Errno::ELOOP));
        assert_eq!(outer.ctl(Op::Add, 7, &e, EPOLLIN | EPOLLEXCLUSIVE | EPOLLPRI, 0), Err(Errno::EINVAL));
        assert_eq!(outer.ctl(Op::Add, 7, &fi, EPOLLIN | EPOLLEXCLUSIVE, 0), Err(Errno::EINVAL));
        let mut qs = Vec::new();
        assert!(fo.ops.wait_queues(&mut qs));
        assert_eq!(qs.len(), 3, "outer, inner and the eventfd");
    }

    #[test]
    fn chains_built_top_down_do_not_recurse_without_bound() {
        // Each instance added to the next before that one is added to
        // another: every epoll_ctl only sees depth 1 below.
        let files: Vec<Rc<OpenFile>> = (0..10_000).map(|_| OpenFile::new(Rc::new(Epoll::default()), None, O_RDONLY)).collect();
        for w in files.windows(2).rev() {
            Epoll::of(&w[1]).unwrap().ctl(Op::Add, 0, &w[0], EPOLLIN, 0).unwrap();
        }
        assert_eq!(files.last().unwrap().ops.poll(), 0);
        let mut qs = Vec::new();
        files.last().unwrap().ops.wait_queues(&mut qs);
        assert!(qs.len() <= MAX_NESTS + 2);
    }
}
