//! oxvm's engine for the browser and Node.js: the kernel, the CPU and the
//! block stack compiled to `wasm32-unknown-unknown`, behind a narrow ABI of
//! plain numbers and byte buffers (no wasm-bindgen: the JavaScript side is a
//! few hundred lines in `web/src/engine/`, and the ABI stays readable).
//!
//! - Imports (module `oxvm`, [`abi`]): clocks, randomness, console bytes,
//!   diagnostics, and one synchronous I/O call that the JavaScript host
//!   answers (fetches and persistent stores: the host blocks the engine's
//!   worker with `Atomics.wait` while another thread does the asynchronous
//!   work).
//! - Exports ([`exports`]): boot from a JSON config, start programs, run a
//!   budget of instructions, feed terminal input, put and take files.
//!
//! The host interface is the same `oxvm_kernel::Host` the native runner
//! implements ([`host`]); the disk is the same block stack, with the network
//! and the persistence supplied by the JavaScript host ([`disk`]).
//!
//! Everything is compiled only for wasm32; natively the crate is empty, so
//! workspace builds and tests need no wasm toolchain.

#![cfg(target_arch = "wasm32")]

pub mod abi;
pub mod disk;
pub mod exports;
pub mod host;
