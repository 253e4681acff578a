//! Signals. For now only the synchronous ones a faulting instruction raises,
//! which kill the process (no handlers yet).

pub mod frame;
pub mod pending;

use core::fmt;

use oxvm_cpu::Fault;

/// A Linux signal number.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signal(pub u8);

impl Signal {
    pub const SIGILL: Signal = Signal(4);
    pub const SIGTRAP: Signal = Signal(5);
    pub const SIGABRT: Signal = Signal(6);
    pub const SIGBUS: Signal = Signal(7);
    pub const SIGFPE: Signal = Signal(8);
    pub const SIGKILL: Signal = Signal(9);
    pub const SIGSEGV: Signal = Signal(11);
    pub const SIGPIPE: Signal = Signal(13);

    pub fn name(self) -> &'static str {
        const NAMES: [&str; 32] = [
            "0",
            "SIGHUP",
            "SIGINT",
            "SIGQUIT",
            "SIGILL",
            "SIGTRAP",
            "SIGABRT",
            "SIGBUS",
            "SIGFPE",
            "SIGKILL",
            "SIGUSR1",
            "SIGSEGV",
            "SIGUSR2",
            "SIGPIPE",
            "SIGALRM",
            "SIGTERM",
            "SIGSTKFLT",
            "SIGCHLD",
            "SIGCONT",
            "SIGSTOP",
            "SIGTSTP",
            "SIGTTIN",
            "SIGTTOU",
            "SIGURG",
            "SIGXCPU",
            "SIGXFSZ",
            "SIGVTALRM",
            "SIGPROF",
            "SIGWINCH",
            "SIGIO",
            "SIGPWR",
            "SIGSYS",
        ];
        NAMES.get(self.0 as usize).copied().unwrap_or("SIGRT")
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A synchronous signal raised by a faulting instruction, with what
/// Linux would put in its siginfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultSignal {
    pub signal: Signal,
    /// si_addr: the faulting data address for SIGSEGV, the instruction for
    /// SIGILL/SIGFPE/SIGTRAP, 0 for a general-protection fault.
    pub addr: u64,
    /// The instruction that faulted.
    pub rip: u64,
    /// The page fault was legal but guest memory ran out (SIGKILL).
    pub out_of_memory: bool,
}

impl FaultSignal {
    /// The signal Linux delivers for a CPU exception at `rip`.
    pub fn from_fault(f: Fault, rip: u64) -> FaultSignal {
        let (signal, addr) = match f {
            Fault::Page { addr, .. } => (Signal::SIGSEGV, addr),
            Fault::GeneralProtection => (Signal::SIGSEGV, 0),
            Fault::StackFault => (Signal::SIGBUS, 0),
            Fault::InvalidOpcode => (Signal::SIGILL, rip),
            Fault::DivideError | Fault::X87 | Fault::Simd => (Signal::SIGFPE, rip),
            Fault::Breakpoint => (Signal::SIGTRAP, rip),
        };
        FaultSignal { signal, addr, rip, out_of_memory: false }
    }

    /// SIGBUS for an access to a file mapping past the end of the file.
    pub fn bus(addr: u64, rip: u64) -> FaultSignal {
        FaultSignal { signal: Signal::SIGBUS, addr, rip, out_of_memory: false }
    }

    /// The OOM killer's SIGKILL for a fault at `addr` that needed a page.
    pub fn out_of_memory(addr: u64, rip: u64) -> FaultSignal {
        FaultSignal { signal: Signal::SIGKILL, addr, rip, out_of_memory: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_mapping() {
        let s = FaultSignal::from_fault(Fault::DivideError, 0x1000);
        assert_eq!(s.signal, Signal::SIGFPE);
        assert_eq!(Signal::SIGSEGV.name(), "SIGSEGV");
        assert_eq!(Signal(64).name(), "SIGRT");
        let p = FaultSignal::from_fault(Fault::Page { addr: 8, access: oxvm_cpu::Access::Read, present: false }, 0x1000);
        assert_eq!((p.signal, p.addr), (Signal::SIGSEGV, 8));
    }
}
