//! The syscall layer: decode the registers, look the number up in
//! [`table`], run the handler, put the result in RAX.
//!
//! One file per syscall family; the handlers read like the man page and
//! leave the real work to the subsystems (`mm`, `loader`, ...).

pub mod arch;
pub mod exit;
pub mod io;
pub mod mm;
pub mod strace;
pub mod table;
pub mod time;

use std::collections::HashSet;

use oxvm_cpu::state::reg;
use oxvm_cpu::{CpuState, Memory};

use crate::errno::Errno;
use crate::host::Host;
use crate::mm::UserSpace;
use crate::task::Process;

/// A syscall's number and raw arguments, as the x86-64 ABI passes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallArgs {
    pub nr: u64,
    pub args: [u64; 6],
}

impl SyscallArgs {
    /// Number in RAX; arguments in RDI, RSI, RDX, R10, R8, R9.
    pub fn from_cpu(cpu: &CpuState) -> Self {
        let g = &cpu.gpr;
        SyscallArgs { nr: g[reg::RAX], args: [g[reg::RDI], g[reg::RSI], g[reg::RDX], g[reg::R10], g[reg::R8], g[reg::R9]] }
    }

    pub fn arg(&self, i: usize) -> u64 {
        self.args[i]
    }
}

/// What a handler asks the dispatcher to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallReturn {
    /// Put this value in RAX and continue.
    Return(u64),
    /// The task is gone (exit); nothing to return to.
    NoReturn,
    /// The task must wait; the syscall restarts from scratch when the task
    /// next runs.
    Block,
}

pub type SyscallResult = Result<SyscallReturn, Errno>;

/// Everything a handler may touch.
pub struct Ctx<'a> {
    pub cpu: &'a mut CpuState,
    pub process: &'a mut Process,
    pub mem: &'a mut Memory,
    pub host: &'a mut dyn Host,
}

impl Ctx<'_> {
    /// Typed access to the calling process's memory.
    pub fn user(&mut self) -> UserSpace<'_> {
        self.process.mm.user(self.mem)
    }
}

pub type Handler = fn(&mut Ctx, &SyscallArgs) -> SyscallResult;

/// Length of the SYSCALL instruction (0F 05), to restart a blocked call.
const SYSCALL_LEN: u64 = 2;

/// Per-kernel syscall bookkeeping: tracing and the once-per-number
/// warnings for unsupported calls.
#[derive(Default)]
pub struct Dispatcher {
    pub strace: bool,
    warned: HashSet<u64>,
}

impl Dispatcher {
    /// Handle the SYSCALL the task just executed (RIP is past it).
    pub fn dispatch(&mut self, ctx: &mut Ctx) -> SyscallReturn {
        let args = SyscallArgs::from_cpu(ctx.cpu);
        let entry = table::lookup(args.nr);
        let outcome = match entry.and_then(|e| e.handler) {
            Some(handler) => handler(ctx, &args).unwrap_or_else(|e| SyscallReturn::Return(e.as_return())),
            None => {
                if self.warned.insert(args.nr) {
                    let name = entry.map_or("unknown", |e| e.name);
                    ctx.host.diag(&format!("oxvm: unsupported syscall {name} ({}), returning ENOSYS", args.nr));
                }
                SyscallReturn::Return(Errno::ENOSYS.as_return())
            }
        };
        match outcome {
            SyscallReturn::Return(v) => ctx.cpu.gpr[reg::RAX] = v,
            // RAX still holds the number: re-executing SYSCALL restarts it.
            SyscallReturn::Block => ctx.cpu.rip = ctx.cpu.rip.wrapping_sub(SYSCALL_LEN),
            SyscallReturn::NoReturn => {}
        }
        if self.strace && outcome != SyscallReturn::Block {
            let ret = match outcome {
                SyscallReturn::Return(v) => Some(v),
                _ => None,
            };
            let line = strace::format(&mut ctx.process.mm.user(ctx.mem), entry, &args, ret);
            ctx.host.diag(&line);
        }
        outcome
    }
}
