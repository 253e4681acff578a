//! Whole-kernel tests: the scheduler wakes blocked calls at their
//! deadlines (timerfd expiry, epoll_wait and rt_sigtimedwait timeouts)
//! and reports them in `RunState::Idle { until }`.

use std::cell::Cell;
use std::rc::Rc;

use crate::host::{Clock, ConsoleRead, Host};
use crate::loader::elf::ET_EXEC;
use crate::loader::tests::build_elf;
use crate::{Creds, Errno, ExitStatus, Kernel, RunState, Spawn};

/// A host whose clocks read a shared cell (ns).
struct Clocked(Rc<Cell<u64>>);

impl Host for Clocked {
    fn console_write(&mut self, _fd: i32, data: &[u8]) -> Result<usize, Errno> {
        Ok(data.len())
    }
    fn console_read(&mut self, _buf: &mut [u8]) -> Result<ConsoleRead, Errno> {
        Ok(ConsoleRead::WouldBlock)
    }
    fn now(&mut self, _clock: Clock) -> u64 {
        self.0.get()
    }
    fn random(&mut self, buf: &mut [u8]) {
        buf.fill(1);
    }
    fn diag(&mut self, _line: &str) {}
}

fn boot(code: &[u8]) -> (Kernel, Rc<Cell<u64>>) {
    let now = Rc::new(Cell::new(1_000));
    let mut k = Kernel::new(Box::new(Clocked(now.clone())));
    let img = build_elf(ET_EXEC, 0x40_0000, code, b"", 0, &[]);
    k.spawn(&Spawn { image: &img, argv: vec![b"t".to_vec()], envp: vec![], execfn: b"t".to_vec(), creds: Creds::default() }).unwrap();
    (k, now)
}

/// Run until the guest is idle or exits.
fn settle(k: &mut Kernel) -> RunState {
    for _ in 0..100 {
        let s = k.run(100_000);
        if s != RunState::Runnable {
            return s;
        }
    }
    panic!("never settled");
}

/// timerfd_create(CLOCK_MONOTONIC, 0); timerfd_settime(fd, 0, {0, {1s, 0}});
/// read(fd, rsp+32, 8); exit_group(the count).
const TIMERFD_READ: &[u8] = &[
    0xbf, 0x01, 0x00, 0x00, 0x00, // mov edi, 1
    0x31, 0xf6, // xor esi, esi
    0xb8, 0x1b, 0x01, 0x00, 0x00, // mov eax, 283
    0x0f, 0x05, // syscall
    0x89, 0xc3, // mov ebx, eax
    0x48, 0x83, 0xec, 0x40, // sub rsp, 64
    0x48, 0xc7, 0x04, 0x24, 0x00, 0x00, 0x00, 0x00, // mov qword [rsp], 0
    0x48, 0xc7, 0x44, 0x24, 0x08, 0x00, 0x00, 0x00, 0x00, // mov qword [rsp+8], 0
    0x48, 0xc7, 0x44, 0x24, 0x10, 0x01, 0x00, 0x00, 0x00, // mov qword [rsp+16], 1
    0x48, 0xc7, 0x44, 0x24, 0x18, 0x00, 0x00, 0x00, 0x00, // mov qword [rsp+24], 0
    0x89, 0xdf, // mov edi, ebx
    0x31, 0xf6, // xor esi, esi
    0x48, 0x89, 0xe2, // mov rdx, rsp
    0x45, 0x31, 0xd2, // xor r10d, r10d
    0xb8, 0x1e, 0x01, 0x00, 0x00, // mov eax, 286
    0x0f, 0x05, // syscall
    0x89, 0xdf, // mov edi, ebx
    0x48, 0x8d, 0x74, 0x24, 0x20, // lea rsi, [rsp+32]
    0xba, 0x08, 0x00, 0x00, 0x00, // mov edx, 8
    0x31, 0xc0, // xor eax, eax
    0x0f, 0x05, // syscall
    0x8b, 0x7c, 0x24, 0x20, // mov edi, [rsp+32]
    0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax, 231
    0x0f, 0x05, // syscall
];

#[test]
fn a_timerfd_read_waits_for_the_expiry() {
    let (mut k, now) = boot(TIMERFD_READ);
    assert_eq!(settle(&mut k), RunState::Idle { until: Some(1_000_001_000) });
    now.set(1_000_000_999);
    assert_eq!(settle(&mut k), RunState::Idle { until: Some(1_000_001_000) }, "not yet");
    now.set(3_500_000_000);
    assert_eq!(settle(&mut k), RunState::Exited(ExitStatus::Code(1)));
}

/// epoll_create1(0); epoll_wait(fd, rsp-64, 1, 250 ms); exit_group(result + 7).
const EPOLL_TIMEOUT: &[u8] = &[
    0x31, 0xff, // xor edi, edi
    0xb8, 0x23, 0x01, 0x00, 0x00, // mov eax, 291
    0x0f, 0x05, // syscall
    0x89, 0xc7, // mov edi, eax
    0x48, 0x8d, 0x74, 0x24, 0xc0, // lea rsi, [rsp-64]
    0xba, 0x01, 0x00, 0x00, 0x00, // mov edx, 1
    0x41, 0xba, 0xfa, 0x00, 0x00, 0x00, // mov r10d, 250
    0xb8, 0xe8, 0x00, 0x00, 0x00, // mov eax, 232
    0x0f, 0x05, // syscall
    0x8d, 0x78, 0x07, // lea edi, [rax+7]
    0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax, 231
    0x0f, 0x05, // syscall
];

#[test]
fn epoll_wait_times_out_at_its_deadline() {
    let (mut k, now) = boot(EPOLL_TIMEOUT);
    assert_eq!(settle(&mut k), RunState::Idle { until: Some(250_001_000) });
    now.set(250_001_000);
    assert_eq!(settle(&mut k), RunState::Exited(ExitStatus::Code(7)), "0 events");
}

/// rt_sigtimedwait({SIGUSR1}, NULL, {0, 5000 ns}, 8); exit_group(-result).
const SIGTIMEDWAIT_TIMEOUT: &[u8] = &[
    0x48, 0x83, 0xec, 0x40, // sub rsp, 64
    0x48, 0xc7, 0x04, 0x24, 0x00, 0x02, 0x00, 0x00, // mov qword [rsp], 0x200 (SIGUSR1)
    0x48, 0xc7, 0x44, 0x24, 0x08, 0x00, 0x00, 0x00, 0x00, // mov qword [rsp+8], 0
    0x48, 0xc7, 0x44, 0x24, 0x10, 0x88, 0x13, 0x00, 0x00, // mov qword [rsp+16], 5000
    0x48, 0x89, 0xe7, // mov rdi, rsp
    0x31, 0xf6, // xor esi, esi
    0x48, 0x8d, 0x54, 0x24, 0x08, // lea rdx, [rsp+8]
    0x41, 0xba, 0x08, 0x00, 0x00, 0x00, // mov r10d, 8
    0xb8, 0x80, 0x00, 0x00, 0x00, // mov eax, 128
    0x0f, 0x05, // syscall
    0xf7, 0xd8, // neg eax
    0x89, 0xc7, // mov edi, eax
    0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax, 231
    0x0f, 0x05, // syscall
];

#[test]
fn sigtimedwait_gives_eagain_at_its_deadline() {
    let (mut k, now) = boot(SIGTIMEDWAIT_TIMEOUT);
    assert_eq!(settle(&mut k), RunState::Idle { until: Some(6_000) });
    now.set(6_000);
    assert_eq!(settle(&mut k), RunState::Exited(ExitStatus::Code(11)), "EAGAIN");
}
