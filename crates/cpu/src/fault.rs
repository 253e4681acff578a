//! Why the engine stopped running guest code.

/// An exception raised by a guest instruction. The kernel layer turns these
/// into signals (SIGSEGV with the fault address, SIGILL, SIGFPE, SIGTRAP).
/// When a fault is reported, the guest state is exactly as it was before the
/// faulting instruction (RIP points at it), except for the completed
/// iterations of a REP string instruction, as on hardware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// #PF: an access to `addr` that the page table does not allow.
    Page { addr: u64, access: Access, present: bool },
    /// #GP: non-canonical address, misaligned SSE operand, privileged
    /// instruction.
    GeneralProtection,
    /// #SS: a non-canonical address through the stack segment (an operand
    /// based on RSP or RBP, or the implicit stack access of PUSH, POP,
    /// CALL, RET, ENTER, LEAVE). Linux delivers SIGBUS.
    StackFault,
    /// #UD: undefined or unimplemented instruction.
    InvalidOpcode,
    /// #DE: division by zero or quotient overflow.
    DivideError,
    /// #MF: an unmasked x87 floating-point exception.
    X87,
    /// #XM: an unmasked SIMD floating-point exception.
    Simd,
    /// #BP: INT3. A trap rather than a fault: RIP is already past the INT3.
    Breakpoint,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Exec,
}

/// Why [`crate::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The guest executed SYSCALL; RIP is already past it and RCX/R11 hold
    /// the return address and RFLAGS, as the instruction defines.
    Syscall,
    /// The guest raised an exception.
    Fault(Fault),
    /// The instruction budget ran out; call `run` again to continue.
    Budget,
}

pub type Result<T> = core::result::Result<T, Fault>;
