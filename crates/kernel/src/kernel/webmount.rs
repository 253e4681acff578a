//! Mounting a read-only web directory ([`crate::fs::webfs`]): the browser
//! VM's `WebDevice` and `oxvm run --web-dir`.

use std::sync::Arc;

use super::Kernel;
use crate::errno::Errno;
use crate::fs::webfs::{IndexError, WebMount, DEFAULT_CACHE_BYTES};

impl Kernel {
    /// Mount the directory served at `base_url`, described by `index` (its
    /// `index.json`), read-only on the directory `path`; file contents are
    /// fetched through `fetcher` when read. Only before the first program
    /// starts: EBUSY after. A malformed index is EINVAL
    /// ([`Kernel::mount_web_checked`] says why).
    pub fn mount_web(&mut self, path: &[u8], base_url: &str, index: &[u8], fetcher: Arc<dyn oxvm_block::Fetcher>) -> Result<(), Errno> {
        self.mount_web_checked(path, base_url, index, fetcher).map_err(|e| match e {
            WebMountError::Index(_) => Errno::EINVAL,
            WebMountError::Errno(e) => e,
        })
    }

    /// [`Kernel::mount_web`], telling a refused index's reason.
    pub fn mount_web_checked(
        &mut self,
        path: &[u8],
        base_url: &str,
        index: &[u8],
        fetcher: Arc<dyn oxvm_block::Fetcher>,
    ) -> Result<(), WebMountError> {
        let at = self.mount_point(path)?;
        let mount = WebMount::new(base_url, index, fetcher, DEFAULT_CACHE_BYTES).map_err(WebMountError::Index)?;
        let vfs = std::rc::Rc::get_mut(&mut self.vfs).ok_or(Errno::EBUSY)?;
        vfs.mount(&at, mount.root());
        self.note_mount(base_url, path, "webfs", "ro,nosuid,nodev,relatime", mount.dev());
        self.web_mounts.push(mount);
        Ok(())
    }

    /// The web directories mounted, for their fetch statistics.
    pub fn web_mounts(&self) -> &[std::rc::Rc<WebMount>] {
        &self.web_mounts
    }
}

/// Why a web directory could not be mounted.
#[derive(Debug)]
pub enum WebMountError {
    Index(IndexError),
    Errno(Errno),
}

impl From<Errno> for WebMountError {
    fn from(e: Errno) -> Self {
        WebMountError::Errno(e)
    }
}

impl std::fmt::Display for WebMountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebMountError::Index(e) => write!(f, "{e}"),
            WebMountError::Errno(e) => write!(f, "{}", e.text()),
        }
    }
}

impl std::error::Error for WebMountError {}
