//! Whole-kernel tests: tiny hand-assembled programs run through
//! `Kernel::run` against a host that records what the guest did.

use std::cell::RefCell;
use std::rc::Rc;

use crate::host::{Clock, ConsoleRead, Host};
use crate::loader::elf::ET_EXEC;
use crate::loader::tests::build_elf;
use crate::{Creds, Errno, ExitStatus, Kernel, RunState, Signal, Spawn};

#[derive(Default)]
pub(crate) struct Record {
    pub stdout: Vec<u8>,
    pub diag: Vec<String>,
    pub input: Vec<u8>,
    pub input_ready: bool,
}

pub(crate) struct TestHost(pub Rc<RefCell<Record>>);

impl Host for TestHost {
    fn console_write(&mut self, fd: i32, data: &[u8]) -> Result<usize, Errno> {
        assert!(fd == 1 || fd == 2);
        self.0.borrow_mut().stdout.extend_from_slice(data);
        Ok(data.len())
    }

    fn console_read(&mut self, buf: &mut [u8]) -> Result<ConsoleRead, Errno> {
        let mut r = self.0.borrow_mut();
        if !r.input_ready {
            return Ok(ConsoleRead::WouldBlock);
        }
        let n = buf.len().min(r.input.len());
        buf[..n].copy_from_slice(&r.input[..n]);
        r.input.drain(..n);
        Ok(ConsoleRead::Data(n))
    }

    fn now(&mut self, _clock: Clock) -> u64 {
        0
    }

    fn random(&mut self, buf: &mut [u8]) {
        buf.fill(0x42);
    }

    fn diag(&mut self, line: &str) {
        self.0.borrow_mut().diag.push(line.to_string());
    }
}

fn boot(code: &[u8]) -> (Kernel, Rc<RefCell<Record>>) {
    let rec = Rc::new(RefCell::new(Record::default()));
    let mut k = Kernel::new(Box::new(TestHost(rec.clone())));
    let img = build_elf(ET_EXEC, 0x40_0000, code, b"", 0, &[]);
    k.spawn(&Spawn { image: &img, argv: vec![b"t".to_vec()], envp: vec![], execfn: b"t".to_vec(), creds: Creds::default() }).unwrap();
    (k, rec)
}

/// write(1, "hi\n", 3); a store 1 MiB below RSP (demand-paged stack);
/// syscall 999 twice (r12 keeps the first result); exit_group(7).
const HELLO: &[u8] = &[
    0x48, 0x8d, 0x35, 0x3a, 0x00, 0x00, 0x00, 0xbf, 0x01, 0x00, 0x00, 0x00, 0xba, 0x03, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00,
    0x0f, 0x05, 0x48, 0xc7, 0x84, 0x24, 0x00, 0x00, 0xf0, 0xff, 0x05, 0x00, 0x00, 0x00, 0xb8, 0xe7, 0x03, 0x00, 0x00, 0x0f, 0x05, 0x49,
    0x89, 0xc4, 0xb8, 0xe7, 0x03, 0x00, 0x00, 0x0f, 0x05, 0xbf, 0x07, 0x00, 0x00, 0x00, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x68,
    0x69, 0x0a,
];

#[test]
fn hello_runs_to_exit() {
    let (mut k, rec) = boot(HELLO);
    k.set_strace(true);
    let mut state = RunState::Runnable;
    for _ in 0..100 {
        state = k.run(3);
        if state != RunState::Runnable {
            break;
        }
    }
    assert_eq!(state, RunState::Exited(ExitStatus::Code(7)));
    assert_eq!(state, k.run(1000), "exited stays exited");
    let r = rec.borrow();
    assert_eq!(r.stdout, b"hi\n");
    let warnings: Vec<_> = r.diag.iter().filter(|l| l.contains("unsupported syscall")).collect();
    assert_eq!(warnings, ["oxvm: unsupported syscall unknown (999), returning ENOSYS"], "one warning per number");
    assert!(r.diag.contains(&"write(1, \"hi\\n\", 3) = 3".to_string()), "{:?}", r.diag);
    assert!(
        r.diag.contains(&"syscall_999(0x1, 0x4000f1, 0x3, 0x0, 0x0, 0x0) = -1 ENOSYS (Function not implemented)".to_string()),
        "{:?}",
        r.diag
    );
    assert_eq!(r.diag.last().unwrap(), "exit_group(7) = ?");
    assert_eq!(k.frames_in_use(), 0, "memory released at exit");
}

#[test]
fn bad_load_kills_with_sigsegv() {
    // mov rax, [0x10]
    let (mut k, _) = boot(&[0x48, 0x8b, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00]);
    assert_eq!(k.run(1000), RunState::Exited(ExitStatus::Signaled(Signal::SIGSEGV)));
    let f = k.fatal_fault().unwrap();
    assert_eq!(f.addr, 0x10);
    assert_eq!(f.rip, 0x40_0000 + 64 + 2 * 56);
    assert_eq!(ExitStatus::Signaled(Signal::SIGSEGV).shell_code(), 139);
}

#[test]
fn ud2_and_div0_signals() {
    let (mut k, _) = boot(&[0x0f, 0x0b]);
    assert_eq!(k.run(1000), RunState::Exited(ExitStatus::Signaled(Signal::SIGILL)));
    // xor ecx, ecx; div ecx
    let (mut k, _) = boot(&[0x31, 0xc9, 0xf7, 0xf1]);
    assert_eq!(k.run(1000), RunState::Exited(ExitStatus::Signaled(Signal::SIGFPE)));
}

#[test]
fn memory_limit_kills_with_sigkill() {
    // A loop storing to successive stack pages, downwards:
    // 1: sub rsp, 4096; mov [rsp], al; jmp 1b
    let code = [0x48, 0x81, 0xec, 0x00, 0x10, 0x00, 0x00, 0x88, 0x04, 0x24, 0xeb, 0xf4];
    let rec = Rc::new(RefCell::new(Record::default()));
    let mut k = Kernel::new(Box::new(TestHost(rec)));
    k.set_memory_limit(64 * 4096);
    let img = build_elf(ET_EXEC, 0x40_0000, &code, b"", 0, &[]);
    k.spawn(&Spawn { image: &img, argv: vec![], envp: vec![], execfn: b"t".to_vec(), creds: Creds::default() }).unwrap();
    assert_eq!(k.run(1_000_000), RunState::Exited(ExitStatus::Signaled(Signal::SIGKILL)));
    assert!(k.fatal_fault().unwrap().out_of_memory);
    assert_eq!(k.frames_in_use(), 0);
}

#[test]
fn console_read_blocks_then_restarts() {
    // read(0, rsp-16, 8); mov edi, eax; exit_group(edi)
    let code = [
        0x31, 0xff, // xor edi, edi
        0x48, 0x8d, 0x74, 0x24, 0xf0, // lea rsi, [rsp-16]
        0xba, 0x08, 0x00, 0x00, 0x00, // mov edx, 8
        0x31, 0xc0, // xor eax, eax
        0x0f, 0x05, // syscall
        0x89, 0xc7, // mov edi, eax
        0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax, 231
        0x0f, 0x05,
    ];
    let (mut k, rec) = boot(&code);
    assert_eq!(k.run(1000), RunState::Idle { until: None });
    assert_eq!(k.run(1000), RunState::Idle { until: None });
    {
        let mut r = rec.borrow_mut();
        r.input = b"abcde".to_vec();
        r.input_ready = true;
    }
    assert_eq!(k.run(1000), RunState::Exited(ExitStatus::Code(5)));
}

/// wait4 with no child (ECHILD = -10); fork; the child spins, then
/// exit(5) while the parent blocks in wait4(pid, &status); the parent
/// exits with WEXITSTATUS + (returned pid - pid) + (first result + 10),
/// so 5 only if all three are right.
const FORK_WAIT: &[u8] = &[
    0xb8, 0x3d, 0x00, 0x00, 0x00, 0x48, 0xc7, 0xc7, 0xff, 0xff, 0xff, 0xff, 0x31, 0xf6, 0x31, 0xd2, 0x45, 0x31, 0xd2, 0x0f, 0x05, 0x49,
    0x89, 0xc4, 0xb8, 0x39, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x85, 0xc0, 0x75, 0x1a, 0xb8, 0x27, 0x00, 0x00, 0x00, 0xb9, 0xa0, 0x86,
    0x01, 0x00, 0xff, 0xc9, 0x75, 0xfc, 0xbf, 0x05, 0x00, 0x00, 0x00, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x49, 0x89, 0xc5, 0x48,
    0x89, 0xc7, 0x48, 0x8d, 0x74, 0x24, 0xf0, 0x31, 0xd2, 0x45, 0x31, 0xd2, 0xb8, 0x3d, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x4c, 0x29, 0xe8,
    0x8b, 0x7c, 0x24, 0xf0, 0xc1, 0xef, 0x08, 0x48, 0x01, 0xc7, 0x4c, 0x01, 0xe7, 0x48, 0x83, 0xc7, 0x0a, 0xb8, 0xe7, 0x00, 0x00, 0x00,
    0x0f, 0x05,
];

#[test]
fn fork_and_wait4() {
    let (mut k, _) = boot(FORK_WAIT);
    let mut state = RunState::Runnable;
    for _ in 0..1000 {
        state = k.run(1000);
        if state != RunState::Runnable {
            break;
        }
    }
    assert_eq!(state, RunState::Exited(ExitStatus::Code(5)));
    assert_eq!(k.frames_in_use(), 0, "both address spaces released");
}
