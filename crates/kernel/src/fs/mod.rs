//! Filesystem implementations, one folder (or file) each, behind the
//! [`crate::vfs`] traits.

pub mod devpts;
pub mod devtmpfs;
#[cfg(target_os = "linux")]
pub mod hostfs;
pub mod pipe;
pub mod procfs;
