//! oxvm's x86-64 engine.
//!
//! - [`state`]: the guest register state, with a fixed layout for the JIT;
//! - [`flags`]: lazy arithmetic flags;
//! - [`mem`]: the soft-MMU (frames, page tables, TLB, typed accessors);
//! - [`block`]: decoded-block cache with invalidation on writes to code;
//! - [`interp`]: the interpreter and its run loop;
//! - [`cpuid`]: what the engine tells programs it implements.

pub mod block;
pub mod cpuid;
pub mod fault;
pub mod flags;
pub mod interp;
pub mod mem;
pub mod state;

pub use fault::{Access, Exit, Fault, Result};
pub use interp::run;
pub use mem::{AddressSpace, Bus, Memory, Prot};
pub use state::CpuState;
