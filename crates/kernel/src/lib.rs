//! The Linux personality.
