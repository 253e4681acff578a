//! oxvm's Linux personality: it runs x86-64 Linux programs on the
//! `oxvm-cpu` engine by implementing the kernel side of the ABI.
//!
//! A reader finds each kernel concept by module name:
//! - [`loader`]: ELF parsing and exec (initial stack, auxv);
//! - [`mm`]: VMAs, demand paging (anonymous and file pages), brk/mmap,
//!   typed user-memory access;
//! - [`vfs`]: path walking, dentries, inodes, open files, descriptor
//!   tables; [`fs`]: the filesystems behind it; [`dev`]: devices;
//! - [`net`]: sockets (AF_UNIX, loopback AF_INET/AF_INET6);
//! - [`task`]: tasks (registers) and processes (memory, identity);
//! - [`syscall`]: the syscall table and one file per syscall family;
//! - [`signal`]: signal numbers, fault-to-signal mapping, pending sets;
//! - [`event`]: epoll, eventfd, timerfd, signalfd, inotify;
//! - [`host`]: what the kernel needs from the machine it runs on;
//! - [`kernel`]: the [`Kernel`] object and its event-driven run loop.

pub mod dev;
pub mod errno;
pub mod event;
pub mod fs;
pub mod host;
pub mod kernel;
pub mod loader;
pub mod mm;
pub mod net;
pub mod signal;
pub mod syscall;
pub mod task;
pub mod tty;
pub mod vfs;

pub use errno::Errno;
pub use host::{Clock, ConsoleRead, Host};
pub use kernel::{Kernel, RunState, Spawn, SpawnPath, WebMountError};
pub use loader::{Creds, ExecError};
pub use signal::{FaultSignal, Signal};
pub use task::{ExitStatus, Rlimit, RLIM_NLIMITS};
pub use tty::ConsoleTerminal;

#[cfg(test)]
mod tests;
