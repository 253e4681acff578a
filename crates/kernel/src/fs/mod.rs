//! Filesystem implementations, one folder (or file) each, behind the
//! [`crate::vfs`] traits.

#[cfg(target_os = "linux")]
pub mod hostfs;
pub mod pipe;
