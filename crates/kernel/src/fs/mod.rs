//! Filesystem implementations, one folder (or file) each, behind the
//! [`crate::vfs`] traits.

pub mod hostfs;
