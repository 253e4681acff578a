//! Devices: the console and the memory devices (/dev/null and friends).

pub mod console;
pub mod mem;
