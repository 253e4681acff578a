//! Filesystem implementations, one folder (or file) each, behind the
//! [`crate::vfs`] traits.

#[cfg(unix)]
pub mod hostfs;
pub mod pipe;
