//! One error type for every file-system operation.
//!
//! The kernel turns these into errno values for the guest, so each variant maps
//! to exactly one errno ([`Error::errno`]). Damage found in the image is
//! `Corrupt` (EIO): the guest sees an I/O error, the host never panics.

use std::fmt;

use oxvm_block::BlockError;

/// Linux x86-64 errno values (the guest ABI), kept here so the crate needs no libc.
pub mod errno {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const EIO: i32 = 5;
    pub const EEXIST: i32 = 17;
    pub const ENOTDIR: i32 = 20;
    pub const EISDIR: i32 = 21;
    pub const EINVAL: i32 = 22;
    pub const EFBIG: i32 = 27;
    pub const ENOSPC: i32 = 28;
    pub const EROFS: i32 = 30;
    pub const EMLINK: i32 = 31;
    pub const ENAMETOOLONG: i32 = 36;
    pub const ENOTEMPTY: i32 = 39;
    pub const ELOOP: i32 = 40;
}

#[derive(Debug)]
pub enum Error {
    NotFound,
    Exists,
    NotDir,
    IsDir,
    NotEmpty,
    NoSpace,
    NameTooLong,
    TooManyLinks,
    FileTooBig,
    /// The operation is not allowed on this kind of file (a hard link to a directory).
    NotPermitted,
    ReadOnly,
    /// A bad argument from the caller (a name with '/', a rename into its own subtree, ...).
    Invalid(&'static str),
    /// The image uses a feature this crate does not implement; refused at open.
    Unsupported(String),
    /// The image contradicts itself (a block number past the end, a bad
    /// directory record, ...).
    Corrupt(String),
    /// The device failed.
    Io(BlockError),
}

impl Error {
    pub fn errno(&self) -> i32 {
        use errno::*;
        match self {
            Error::NotFound => ENOENT,
            Error::Exists => EEXIST,
            Error::NotDir => ENOTDIR,
            Error::IsDir => EISDIR,
            Error::NotEmpty => ENOTEMPTY,
            Error::NoSpace => ENOSPC,
            Error::NameTooLong => ENAMETOOLONG,
            Error::TooManyLinks => EMLINK,
            Error::FileTooBig => EFBIG,
            Error::NotPermitted => EPERM,
            Error::ReadOnly => EROFS,
            Error::Invalid(_) | Error::Unsupported(_) => EINVAL,
            Error::Corrupt(_) | Error::Io(_) => EIO,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound => write!(f, "no such file or directory"),
            Error::Exists => write!(f, "file exists"),
            Error::NotDir => write!(f, "not a directory"),
            Error::IsDir => write!(f, "is a directory"),
            Error::NotEmpty => write!(f, "directory not empty"),
            Error::NoSpace => write!(f, "no space left on the file system"),
            Error::NameTooLong => write!(f, "file name too long"),
            Error::TooManyLinks => write!(f, "too many links"),
            Error::FileTooBig => write!(f, "file too large"),
            Error::NotPermitted => write!(f, "operation not permitted"),
            Error::ReadOnly => write!(f, "read-only file system"),
            Error::Invalid(why) => write!(f, "invalid argument: {why}"),
            Error::Unsupported(why) => write!(f, "unsupported ext2 image: {why}"),
            Error::Corrupt(why) => write!(f, "corrupt ext2 image: {why}"),
            Error::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<BlockError> for Error {
    fn from(e: BlockError) -> Self {
        Error::Io(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand for a corruption error with a formatted message.
macro_rules! corrupt {
    ($($arg:tt)*) => { $crate::error::Error::Corrupt(format!($($arg)*)) };
}
pub(crate) use corrupt;
