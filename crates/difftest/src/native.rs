//! The native executor: runs test cases on the host CPU in a forked worker
//! process, so a wild case cannot corrupt the tester.
//!
//! The worker maps the code page and data region at the fixed addresses of
//! [`crate::layout`], then for each case copies in the test bytes, data and
//! initial state and calls the entry stub, which loads the guest state and
//! falls into the test bytes; an exit point records the final RIP and jumps
//! to the exit stub, which stores the state and returns. A fault is caught
//! by a signal handler on an alternate stack, which records the state at
//! the fault and resumes at the restore stub.
//!
//! Parent and worker share one anonymous mapping with the batch's inputs
//! and outputs; a pipe in each direction says "run cases [start, count)"
//! and "done". The worker allocates nothing after the fork (the parent may
//! have had other threads holding the allocator lock).

use core::mem::size_of;
use core::ptr::{addr_of, addr_of_mut};
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::layout::*;
use crate::state::{Fx, MachineState};

/// Cases per batch.
pub const BATCH: usize = 128;
/// How long a batch may take before the worker is declared hung.
const BATCH_TIMEOUT_MS: i32 = 20_000;

/// Address of the worker's read-write alias of the code page and data
/// region (file offsets 0..0x4000 of its memfd).
const ALIAS: u64 = 0x5e00_0000;

#[repr(C)]
pub struct CaseIn {
    pub region: [u8; TEST_REGION],
    pub state: MachineState,
    pub data: [u8; DATA_LEN],
}

/// What a native run produced.
#[repr(C)]
pub struct CaseOut {
    pub state: MachineState,
    pub data: [u8; DATA_LEN],
    /// 0 when the case reached an exit point.
    pub signo: i32,
    pub si_code: i32,
    pub si_addr: u64,
    /// 0 = ran; 1 = the worker died or hung on this case.
    pub status: u32,
}

#[repr(C)]
struct Shared {
    progress: AtomicU32,
    start: u32,
    count: u32,
    code_page: [u8; 4096],
    cases: [CaseIn; BATCH],
    outs: [CaseOut; BATCH],
}

/// Layout of what the signal handler records at `SIG_INFO`.
#[repr(C)]
struct SigRecord {
    signo: u64,
    si_code: u64,
    si_addr: u64,
    gpr: [u64; 16],
    rip: u64,
    rflags: u64,
}

pub struct Worker {
    shared: *mut Shared,
    pid: libc::pid_t,
    cmd: libc::c_int,
    resp: libc::c_int,
    /// Number of times the worker had to be restarted.
    pub restarts: u64,
    running: Option<usize>,
    /// How long a batch may take before the worker is declared hung.
    pub timeout_ms: i32,
}

fn check(r: libc::c_int, what: &str) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::new(io::Error::last_os_error().kind(), format!("{what}: {}", io::Error::last_os_error())))
    } else {
        Ok(r)
    }
}

impl Worker {
    pub fn new(code_page: &[u8; 4096]) -> io::Result<Worker> {
        // SAFETY: a fresh anonymous shared mapping; checked for failure.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                size_of::<Shared>(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let shared = p as *mut Shared;
        // SAFETY: the mapping is large enough and zero-filled, which is a
        // valid `Shared`.
        unsafe { (*shared).code_page.copy_from_slice(code_page) };
        let mut w = Worker { shared, pid: 0, cmd: -1, resp: -1, restarts: 0, running: None, timeout_ms: BATCH_TIMEOUT_MS };
        w.spawn()?;
        Ok(w)
    }

    fn spawn(&mut self) -> io::Result<()> {
        let mut c = [0; 2];
        let mut r = [0; 2];
        // SAFETY: plain syscalls on local arrays.
        unsafe {
            check(libc::pipe2(c.as_mut_ptr(), libc::O_CLOEXEC), "pipe")?;
            check(libc::pipe2(r.as_mut_ptr(), libc::O_CLOEXEC), "pipe")?;
        }
        // SAFETY: the child only runs `worker_main`, which makes syscalls and
        // touches preallocated memory (no allocation, no locks).
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: in the child; see above.
            unsafe {
                // Keep only our two pipe ends (and stdio): a worker holding
                // another worker's pipe would hide that one's death.
                for fd in 3..1024 {
                    if fd != c[0] && fd != r[1] {
                        libc::close(fd);
                    }
                }
                worker_main(self.shared, c[0], r[1]);
            }
        }
        // SAFETY: closing our copies of the child's pipe ends.
        unsafe {
            libc::close(c[0]);
            libc::close(r[1]);
        }
        self.pid = pid;
        self.cmd = c[1];
        self.resp = r[0];
        Ok(())
    }

    fn kill(&mut self) {
        // SAFETY: `pid` is our own child; reaping it.
        unsafe {
            libc::close(self.cmd);
            libc::close(self.resp);
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, core::ptr::null_mut(), 0);
        }
    }

    pub fn input(&mut self, i: usize) -> &mut CaseIn {
        // SAFETY: `shared` is valid for the worker's lifetime; the child
        // does not touch inputs while no batch is running.
        assert!(self.running.is_none());
        unsafe { &mut (*self.shared).cases[i] }
    }

    pub fn output(&self, i: usize) -> &CaseOut {
        assert!(self.running.is_none());
        // SAFETY: as for `input`.
        unsafe { &(*self.shared).outs[i] }
    }

    fn send(&mut self, start: usize, count: usize) -> io::Result<()> {
        // SAFETY: the child is idle (waiting on the pipe).
        unsafe {
            (*self.shared).start = start as u32;
            (*self.shared).count = count as u32;
        }
        let b = [1u8];
        // SAFETY: writing one byte from a local buffer.
        let n = unsafe { libc::write(self.cmd, b.as_ptr().cast(), 1) };
        if n != 1 {
            // The worker is gone: the caller's wait will notice.
            return Ok(());
        }
        Ok(())
    }

    /// Start running cases `0..count` in the background.
    pub fn start(&mut self, count: usize) -> io::Result<()> {
        assert!(count <= BATCH);
        self.send(0, count)?;
        self.running = Some(count);
        Ok(())
    }

    /// Wait for the batch started with [`Worker::start`]; restarts the
    /// worker (and marks the case it died on) if it crashed or hung.
    pub fn finish(&mut self) -> io::Result<()> {
        let count = self.running.take().expect("no batch running");
        loop {
            let mut pfd = libc::pollfd { fd: self.resp, events: libc::POLLIN, revents: 0 };
            // SAFETY: polling one local pollfd.
            let n = unsafe { libc::poll(&mut pfd, 1, self.timeout_ms) };
            let mut byte = [0u8];
            // SAFETY: reading one byte into a local buffer.
            let ok = n == 1 && unsafe { libc::read(self.resp, byte.as_mut_ptr().cast(), 1) } == 1;
            if ok {
                return Ok(());
            }
            if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            // Crashed (EOF) or hung (timeout): blame the case in progress.
            // SAFETY: the child is dead after `kill`.
            self.kill();
            let p = unsafe { (*self.shared).progress.load(Ordering::SeqCst) } as usize;
            // SAFETY: as above.
            unsafe { (*self.shared).outs[p].status = 1 };
            self.restarts += 1;
            self.spawn()?;
            if p + 1 >= count {
                return Ok(());
            }
            self.send(p + 1, count)?;
        }
    }

    /// Run cases `0..count` and wait.
    pub fn run(&mut self, count: usize) -> io::Result<()> {
        self.start(count)?;
        self.finish()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.running.is_some() {
            let _ = self.finish();
        }
        self.kill();
        // SAFETY: unmapping our own mapping; nothing refers to it any more.
        unsafe { libc::munmap(self.shared.cast(), size_of::<Shared>()) };
    }
}

/// Map `len` bytes at exactly `addr`, or die.
unsafe fn map_fixed(addr: u64, len: usize, prot: libc::c_int, flags: libc::c_int, fd: libc::c_int, off: i64) {
    let p = libc::mmap(addr as *mut libc::c_void, len, prot, flags | libc::MAP_FIXED_NOREPLACE, fd, off);
    if p as u64 != addr {
        die(b"difftest worker: cannot map fixed address\n");
    }
}

unsafe fn die(msg: &[u8]) -> ! {
    libc::write(2, msg.as_ptr().cast(), msg.len());
    libc::_exit(101)
}

unsafe fn worker_main(shared: *mut Shared, cmd: libc::c_int, resp: libc::c_int) -> ! {
    let name = b"oxvm-difftest\0";
    let fd = libc::memfd_create(name.as_ptr().cast(), 0);
    if fd < 0 || libc::ftruncate(fd, 0x4000) != 0 {
        die(b"difftest worker: memfd\n");
    }
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    map_fixed(ALIAS, 0x4000, rw, libc::MAP_SHARED, fd, 0);
    map_fixed(CODE, 0x1000, libc::PROT_READ | libc::PROT_EXEC, libc::MAP_SHARED, fd, 0);
    map_fixed(DATA, 0x2000, rw, libc::MAP_SHARED, fd, 0x1000);
    map_fixed(RO_PAGE, 0x1000, libc::PROT_READ, libc::MAP_SHARED, fd, 0x3000);
    map_fixed(STATE, STATE_LEN, rw, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0);
    // The guard pages must be unmapped: claim them and give them back.
    for g in [DATA - 0x1000, DATA_END] {
        let p = libc::mmap(
            g as *mut libc::c_void,
            0x1000,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        );
        if p as u64 != g {
            die(b"difftest worker: guard page is mapped\n");
        }
        libc::munmap(p, 0x1000);
    }

    // The signal stack: the guest's RSP points anywhere.
    const ALT: usize = 256 * 1024;
    let alt = libc::mmap(core::ptr::null_mut(), ALT, rw, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0);
    if alt == libc::MAP_FAILED {
        die(b"difftest worker: altstack\n");
    }
    let ss = libc::stack_t { ss_sp: alt, ss_flags: 0, ss_size: ALT };
    libc::sigaltstack(&ss, core::ptr::null_mut());
    for sig in [libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE, libc::SIGILL, libc::SIGTRAP] {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, core::ptr::null_mut());
    }

    let alias_code = ALIAS as *mut u8;
    core::ptr::copy_nonoverlapping(addr_of!((*shared).code_page) as *const u8, alias_code, 4096);
    let entry: extern "C" fn() = core::mem::transmute(ENTRY_STUB as usize);

    loop {
        let mut b = [0u8];
        if libc::read(cmd, b.as_mut_ptr().cast(), 1) != 1 {
            libc::_exit(0);
        }
        let (start, count) = ((*shared).start as usize, (*shared).count as usize);
        for idx in start..count {
            (*shared).progress.store(idx as u32, Ordering::SeqCst);
            let input = addr_of!((*shared).cases[idx]);
            let out = addr_of_mut!((*shared).outs[idx]);
            run_case(&*input, &mut *out, entry);
        }
        if libc::write(resp, b.as_ptr().cast(), 1) != 1 {
            libc::_exit(0);
        }
    }
}

unsafe fn run_case(input: &CaseIn, out: &mut CaseOut, entry: extern "C" fn()) {
    let alias = ALIAS as *mut u8;
    core::ptr::copy_nonoverlapping(input.region.as_ptr(), alias.add((TEST_ADDR - CODE) as usize), TEST_REGION);
    core::ptr::copy_nonoverlapping(input.data.as_ptr(), alias.add(0x1000), DATA_LEN);
    core::ptr::copy_nonoverlapping(input.state.gpr.as_ptr(), IN_GPR as *mut u64, 16);
    *(IN_FLAGS as *mut u64) = input.state.rflags;
    *(IN_FX as *mut Fx) = input.state.fx;
    *(OUT_RIP as *mut u64) = 0;
    let rec = SIG_INFO as *mut SigRecord;
    (*rec).signo = 0;

    entry();

    out.status = 0;
    if (*rec).signo != 0 {
        out.signo = (*rec).signo as i32;
        out.si_code = (*rec).si_code as i32;
        out.si_addr = (*rec).si_addr;
        out.state.gpr = (*rec).gpr;
        out.state.rip = (*rec).rip;
        out.state.rflags = (*rec).rflags;
        out.state.fx = *(SIG_FX as *const Fx);
    } else {
        out.signo = 0;
        out.si_code = 0;
        out.si_addr = 0;
        core::ptr::copy_nonoverlapping(OUT_GPR as *const u64, out.state.gpr.as_mut_ptr(), 16);
        out.state.rip = *(OUT_RIP as *const u64);
        out.state.rflags = *(OUT_FLAGS as *const u64);
        out.state.fx = *(OUT_FX as *const Fx);
    }
    core::ptr::copy_nonoverlapping(alias.add(0x1000), out.data.as_mut_ptr(), DATA_LEN);
}

/// Fault handler: record the signal and the guest state at the fault, then
/// make the kernel resume at the restore stub (which returns to `run_case`).
extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes valid siginfo and ucontext pointers to an
    // SA_SIGINFO handler; the state block is mapped in the worker.
    unsafe {
        let uc = ctx as *mut libc::ucontext_t;
        let g = &mut (*uc).uc_mcontext.gregs;
        let rip = g[libc::REG_RIP as usize] as u64;
        if *(IN_GUEST as *const u64) == 0 {
            // A fault in the harness itself: die with the default action
            // (the instruction re-executes and faults again).
            libc::signal(sig, libc::SIG_DFL);
            return;
        }
        let rec = SIG_INFO as *mut SigRecord;
        (*rec).signo = sig as u64;
        (*rec).si_code = (*info).si_code as u64;
        (*rec).si_addr = (*info).si_addr() as u64;
        let order = [
            libc::REG_RAX,
            libc::REG_RCX,
            libc::REG_RDX,
            libc::REG_RBX,
            libc::REG_RSP,
            libc::REG_RBP,
            libc::REG_RSI,
            libc::REG_RDI,
            libc::REG_R8,
            libc::REG_R9,
            libc::REG_R10,
            libc::REG_R11,
            libc::REG_R12,
            libc::REG_R13,
            libc::REG_R14,
            libc::REG_R15,
        ];
        for (n, r) in order.iter().enumerate() {
            (*rec).gpr[n] = g[*r as usize] as u64;
        }
        (*rec).rip = rip;
        (*rec).rflags = g[libc::REG_EFL as usize] as u64;
        let fp = (*uc).uc_mcontext.fpregs as *const u8;
        if !fp.is_null() {
            core::ptr::copy_nonoverlapping(fp, SIG_FX as *mut u8, 512);
        }
        g[libc::REG_RIP as usize] = RESTORE_STUB as i64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codepage;

    fn case(w: &mut Worker, i: usize, code: &[u8]) {
        let input = w.input(i);
        input.region = codepage::test_region(code);
        input.state = MachineState { rip: TEST_ADDR, rflags: 0x202, ..Default::default() };
        input.data = [0; DATA_LEN];
    }

    /// A case that wrecks the harness (or hangs) kills the worker; it is
    /// marked, the worker restarts, and the rest of the batch still runs.
    #[test]
    fn crashing_and_hanging_cases_are_contained() {
        let mut w = Worker::new(&codepage::image()).unwrap();
        w.timeout_ms = 500;
        // mov qword [HOST_RSP], 0: the exit stub then returns through a
        // null stack pointer.
        let mut smash = vec![0x48, 0xc7, 0x04, 0x25];
        smash.extend_from_slice(&(HOST_RSP as u32).to_le_bytes());
        smash.extend_from_slice(&[0, 0, 0, 0]);
        case(&mut w, 0, &[0x90]);
        case(&mut w, 1, &smash);
        case(&mut w, 2, &[0x48, 0xff, 0xc0]); // inc rax
        case(&mut w, 3, &[0xeb, 0xfe]); // jmp $
        case(&mut w, 4, &[0x48, 0xff, 0xc8]); // dec rax
        w.run(5).unwrap();
        let st: Vec<u32> = (0..5).map(|i| w.output(i).status).collect();
        assert_eq!(st, [0, 1, 0, 1, 0]);
        assert_eq!(w.output(2).state.gpr[0], 1);
        assert_eq!(w.output(4).state.gpr[0], u64::MAX);
        assert_eq!(w.restarts, 2);
    }
}
