//! A device backed by a local file (an image on disk).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::{check_range, BlockDevice, BlockError, Result};

/// A local image file, read-only or read-write. Its size is fixed when opened.
#[derive(Debug)]
pub struct FileDevice {
    file: File,
    size: u64,
    writable: bool,
}

impl FileDevice {
    /// Opens an existing image for reading only.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        let file = File::open(path)?;
        let size = file.metadata()?.len();
        Ok(FileDevice { file, size, writable: false })
    }

    /// Opens an existing image for reading and writing.
    pub fn open_read_write(path: &Path) -> Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(FileDevice { file, size, writable: true })
    }

    /// Creates (or truncates) an image of `size` bytes, sparse where the host
    /// file system allows.
    pub fn create(path: &Path, size: u64) -> Result<Self> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path)?;
        file.set_len(size)?;
        Ok(FileDevice { file, size, writable: true })
    }
}

impl BlockDevice for FileDevice {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(offset, buf.len(), self.size)?;
        self.file.read_exact_at(buf, offset)?;
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        if !self.writable {
            return Err(BlockError::ReadOnly);
        }
        check_range(offset, data.len(), self.size)?;
        self.file.write_all_at(data, offset)?;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.writable {
            self.file.sync_data()?;
        }
        Ok(())
    }

    fn read_only(&self) -> bool {
        !self.writable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_device_round_trip_and_read_only() {
        let dir = std::env::temp_dir().join(format!("oxvm-block-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("img");
        let mut d = FileDevice::create(&path, 1 << 20).unwrap();
        d.write_at(4096, b"hello").unwrap();
        d.flush().unwrap();
        drop(d);
        let mut r = FileDevice::open_read_only(&path).unwrap();
        assert_eq!(r.size(), 1 << 20);
        let mut b = [0u8; 5];
        r.read_at(4096, &mut b).unwrap();
        assert_eq!(&b, b"hello");
        assert!(matches!(r.write_at(0, b"x"), Err(BlockError::ReadOnly)));
        assert!(matches!(r.read_at((1 << 20) - 2, &mut b), Err(BlockError::OutOfRange { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
