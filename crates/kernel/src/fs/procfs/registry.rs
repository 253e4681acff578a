//! What procfs knows about the kernel: a registry shared (`Rc`) by the
//! kernel and the procfs inodes. The kernel owns the process table and
//! lends one process mutably to each syscall, so procfs cannot look at
//! processes when a file is opened; instead the kernel records, at the
//! events that change them, a snapshot of each process ([`ProcInfo`]),
//! and before each syscall which task is calling (`/proc/self`). Parts
//! that are already shared (the descriptor table) are shared, not copied,
//! so /proc/PID/fd is always current.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::loader::Creds;
use crate::mm::Vma;
use crate::task::{Pid, Rlimit, RLIM_NLIMITS};
use crate::vfs::{Dentry, FdTable};

/// One mounted filesystem, as /proc/mounts shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    pub source: String,
    /// Absolute path in the guest.
    pub target: String,
    pub fstype: String,
    pub options: String,
    /// The filesystem's device number (mountinfo's major:minor).
    pub dev: u64,
}

/// A part of a program image the kernel loaded at exec: pages
/// [start, end) hold the file's bytes from `offset` (what Linux maps from
/// the file; the rest of a segment is anonymous).
#[derive(Clone)]
pub struct ImageSeg {
    pub start: u64,
    pub end: u64,
    pub offset: u64,
    pub file: Dentry,
}

/// What exec established: the executable, the arguments and environment
/// (as passed; a process rewriting its argv in place is not seen), and
/// where the executable and its interpreter were loaded.
#[derive(Clone, Default)]
pub struct ExecInfo {
    pub exe: Option<Dentry>,
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    pub segs: Vec<ImageSeg>,
    /// The initial stack pointer (stat's startstack).
    pub stack: u64,
    /// The executable's code: the lowest start and highest file end of
    /// its executable segments (stat's startcode, endcode).
    pub code: (u64, u64),
}

/// One thread of a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadInfo {
    pub tid: Pid,
    /// Instructions it retired (procfs turns them into CPU time).
    pub icount: u64,
    /// 'R' runnable, 'S' waiting.
    pub state: char,
    /// Its blocked and pending (thread-directed) signals.
    pub mask: u64,
    pub pending: u64,
}

/// A snapshot of one process, refreshed by the kernel.
#[derive(Clone)]
pub struct ProcInfo {
    pub pid: Pid,
    pub ppid: Pid,
    pub pgid: Pid,
    pub sid: Pid,
    pub comm: [u8; 16],
    /// Set once the process exited: a zombie.
    pub zombie: bool,
    pub creds: Creds,
    /// The saved set-user-ID and set-group-ID, and the fs ids.
    pub saved_ids: (u32, u32),
    pub fs_ids: (u32, u32),
    pub exec: Rc<ExecInfo>,
    pub cwd: Dentry,
    pub root: Dentry,
    pub umask: u32,
    /// The live descriptor table (None once the process exited).
    pub files: Option<Rc<RefCell<FdTable>>>,
    pub threads: Vec<ThreadInfo>,
    pub rlimits: [Rlimit; RLIM_NLIMITS],
    pub nice: i32,
    /// Creation time (monotonic ns).
    pub start: u64,
    /// The VMAs as of the last refresh, and the pages present then (by
    /// file-backed and anonymous VMAs).
    pub vmas: Vec<Vma>,
    pub rss_file: u64,
    pub rss_anon: u64,
    /// Signal sets: pending for the process, blocked (first thread),
    /// ignored, caught.
    pub sig_pending: u64,
    pub sig_blocked: u64,
    pub sig_ignored: u64,
    pub sig_caught: u64,
    pub no_new_privs: bool,
}

/// Shared between the kernel and procfs.
pub struct ProcRegistry {
    /// The calling (pid, tid): what /proc/self and /proc/thread-self name.
    current: Cell<(Pid, Pid)>,
    procs: RefCell<BTreeMap<Pid, Rc<ProcInfo>>>,
    /// Guest memory: frames in use (refreshed before each syscall) and the
    /// limit.
    pub frames_in_use: Cell<usize>,
    pub frame_limit: Cell<usize>,
    mounts: RefCell<Vec<MountEntry>>,
    /// Processes created since boot (/proc/stat's `processes`).
    pub forks: Cell<u64>,
    /// Writes to /proc/PID/comm, applied by the kernel after the syscall
    /// (the process is the kernel's, not procfs's, to change).
    comm_writes: RefCell<Vec<(Pid, [u8; 16])>>,
    /// oom_score_adj values written (procfs keeps them: nothing reads them
    /// in the kernel).
    oom_adj: RefCell<BTreeMap<Pid, i32>>,
    /// Audit login uids set through /proc/PID/loginuid (inherited by
    /// children, as on Linux).
    loginuid: RefCell<BTreeMap<Pid, u32>>,
    /// The time (realtime) of the current syscall, for file times.
    pub now: Cell<crate::vfs::Timespec>,
    /// Every thread's state and instruction count, refreshed more often
    /// than the snapshots (before a syscall that may read procfs).
    live: RefCell<BTreeMap<Pid, ThreadInfo>>,
    /// When (monotonic ns) every process's resident pages were last
    /// counted (the kernel's business).
    pub rss_refreshed: Cell<Option<u64>>,
    /// /proc/sys/kernel/random/boot_id, drawn at its first read.
    pub boot_id: RefCell<Option<String>>,
}

impl Default for ProcRegistry {
    fn default() -> Self {
        ProcRegistry {
            current: Cell::new((0, 0)),
            procs: RefCell::default(),
            frames_in_use: Cell::new(0),
            frame_limit: Cell::new(crate::mm::DEFAULT_FRAME_LIMIT),
            mounts: RefCell::default(),
            forks: Cell::new(0),
            comm_writes: RefCell::default(),
            oom_adj: RefCell::default(),
            loginuid: RefCell::default(),
            now: Cell::new(Default::default()),
            live: RefCell::default(),
            boot_id: RefCell::default(),
            rss_refreshed: Cell::new(None),
        }
    }
}

impl ProcRegistry {
    /// Before a syscall: who is calling.
    pub fn enter(&self, pid: Pid, tid: Pid) {
        self.current.set((pid, tid));
    }

    pub fn current(&self) -> (Pid, Pid) {
        self.current.get()
    }

    pub fn update(&self, info: ProcInfo) {
        self.procs.borrow_mut().insert(info.pid, Rc::new(info));
    }

    /// The process is gone (reaped).
    pub fn remove(&self, pid: Pid) {
        self.procs.borrow_mut().remove(&pid);
        self.oom_adj.borrow_mut().remove(&pid);
        self.loginuid.borrow_mut().remove(&pid);
    }

    /// Forget every process. Snapshots hold dentries and descriptor
    /// tables, which may hold procfs and tmpfs inodes, which hold this
    /// registry: the kernel breaks those cycles when it goes.
    pub fn clear(&self) {
        self.procs.borrow_mut().clear();
        self.live.borrow_mut().clear();
    }

    /// Drop every process not in `live`.
    pub fn retain(&self, live: &dyn Fn(Pid) -> bool) {
        self.procs.borrow_mut().retain(|p, _| live(*p));
        self.oom_adj.borrow_mut().retain(|p, _| live(*p));
        self.loginuid.borrow_mut().retain(|p, _| live(*p));
    }

    pub fn get(&self, pid: Pid) -> Option<Rc<ProcInfo>> {
        self.procs.borrow().get(&pid).cloned()
    }

    /// The process a thread id belongs to.
    pub fn thread(&self, tid: Pid) -> Option<Rc<ProcInfo>> {
        self.procs.borrow().values().find(|p| p.threads.iter().any(|t| t.tid == tid)).cloned()
    }

    pub fn pids(&self) -> Vec<Pid> {
        self.procs.borrow().keys().copied().collect()
    }

    pub fn all(&self) -> Vec<Rc<ProcInfo>> {
        self.procs.borrow().values().cloned().collect()
    }

    /// Record every thread's current state and CPU use.
    pub fn set_live(&self, threads: impl Iterator<Item = ThreadInfo>) {
        let mut live = self.live.borrow_mut();
        live.clear();
        live.extend(threads.map(|t| (t.tid, t)));
    }

    /// The freshest record of thread `t`.
    pub fn thread_now(&self, t: &ThreadInfo) -> ThreadInfo {
        self.live.borrow().get(&t.tid).copied().unwrap_or(*t)
    }

    pub fn set_mounts(&self, m: Vec<MountEntry>) {
        *self.mounts.borrow_mut() = m;
    }

    pub fn mounts(&self) -> Vec<MountEntry> {
        self.mounts.borrow().clone()
    }

    pub fn write_comm(&self, pid: Pid, name: [u8; 16]) {
        self.comm_writes.borrow_mut().push((pid, name));
    }

    /// The comm writes since the last call.
    pub fn take_comm_writes(&self) -> Vec<(Pid, [u8; 16])> {
        std::mem::take(&mut *self.comm_writes.borrow_mut())
    }

    pub fn has_comm_writes(&self) -> bool {
        !self.comm_writes.borrow().is_empty()
    }

    pub fn oom_score_adj(&self, pid: Pid) -> i32 {
        self.oom_adj.borrow().get(&pid).copied().unwrap_or(0)
    }

    pub fn set_oom_score_adj(&self, pid: Pid, v: i32) {
        self.oom_adj.borrow_mut().insert(pid, v);
    }

    /// The login uid of `pid` (u32::MAX: unset).
    pub fn loginuid(&self, pid: Pid) -> u32 {
        self.loginuid.borrow().get(&pid).copied().unwrap_or(u32::MAX)
    }

    /// A new process: it inherits its parent's login uid and
    /// oom_score_adj.
    pub fn inherit(&self, pid: Pid, ppid: Pid) {
        let u = self.loginuid(ppid);
        if u != u32::MAX {
            self.set_loginuid(pid, u);
        }
        let adj = self.oom_score_adj(ppid);
        if adj != 0 {
            self.set_oom_score_adj(pid, adj);
        }
    }

    pub fn set_loginuid(&self, pid: Pid, uid: u32) {
        self.loginuid.borrow_mut().insert(pid, uid);
    }
}

impl ExecInfo {
    /// What a successful exec of `p` (loaded as `l`) established.
    pub fn new(p: &crate::loader::binfmt::Prepared, l: &crate::loader::Loaded, envp: Vec<Vec<u8>>) -> ExecInfo {
        let mut segs = image_segs(&p.exe, &p.image, |_| l.bias);
        if let (Some(d), Some(bytes)) = (&p.interp_file, &p.interp) {
            // The interpreter's lowest page went to AT_BASE.
            segs.extend(image_segs(d, bytes, |lo| l.interp_base.wrapping_sub(lo)));
        }
        let code = crate::loader::ElfFile::parse(&p.image).ok().map_or((0, 0), |elf| {
            let x: Vec<_> = elf.loads().filter(|ph| ph.p_flags & crate::loader::elf::PF_X != 0).collect();
            let lo = x.iter().map(|ph| ph.p_vaddr).min().unwrap_or(0);
            let hi = x.iter().map(|ph| ph.p_vaddr.wrapping_add(ph.p_filesz)).max().unwrap_or(0);
            (lo.wrapping_add(l.bias), hi.wrapping_add(l.bias))
        });
        ExecInfo { exe: Some(p.exe.clone()), argv: p.argv.clone(), envp, segs, stack: l.sp, code }
    }
}

/// The file-backed pages of each PT_LOAD segment of `image`, loaded at
/// `bias(lowest segment page)`.
fn image_segs(file: &Dentry, image: &[u8], bias: impl Fn(u64) -> u64) -> Vec<ImageSeg> {
    use crate::mm::{page_down, page_up};
    let Ok(elf) = crate::loader::ElfFile::parse(image) else { return Vec::new() };
    let lo = elf.loads().map(|ph| page_down(ph.p_vaddr)).min().unwrap_or(0);
    let b = bias(lo);
    elf.loads()
        .filter(|ph| ph.p_filesz > 0)
        .filter_map(|ph| {
            let start = page_down(ph.p_vaddr.wrapping_add(b));
            let end = page_up(ph.p_vaddr.wrapping_add(b).checked_add(ph.p_filesz)?)?;
            Some(ImageSeg { start, end, offset: page_down(ph.p_offset), file: file.clone() })
        })
        .collect()
}

/// tmpfs asks who is calling: the current process's effective ids.
impl crate::fs::tmpfs::Caller for ProcRegistry {
    fn creds(&self) -> (u32, u32) {
        self.get(self.current().0).map_or((0, 0), |p| (p.creds.euid, p.creds.egid))
    }
    fn now(&self) -> crate::vfs::Timespec {
        self.now.get()
    }
}
