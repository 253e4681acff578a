//! A store on a native directory.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::{check_name, Store, StoreFile};
use crate::Result;

/// Files of a [`Store`] are the regular files of one directory.
#[derive(Clone, Debug)]
pub struct FsStore {
    dir: PathBuf,
}

impl FsStore {
    /// Uses `dir`, creating it (and its parents) if needed.
    pub fn new(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(FsStore { dir: dir.to_path_buf() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A created or removed file is durable only once its directory entry
    /// is: sync the directory itself.
    fn sync_dir(&self) -> Result<()> {
        File::open(&self.dir)?.sync_all()?;
        Ok(())
    }
}

impl Store for FsStore {
    fn open(&self, name: &str, create: bool) -> Result<Option<Box<dyn StoreFile>>> {
        check_name(name)?;
        let path = self.dir.join(name);
        match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => Ok(Some(Box::new(FsFile { file }))),
            Err(e) if e.kind() == ErrorKind::NotFound && create => {
                let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path)?;
                self.sync_dir()?;
                Ok(Some(Box::new(FsFile { file })))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn list(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                if let Some(name) = entry.file_name().to_str() {
                    if check_name(name).is_ok() {
                        names.push(name.to_string());
                    }
                }
            }
        }
        Ok(names)
    }

    fn remove(&self, name: &str) -> Result<()> {
        check_name(name)?;
        match std::fs::remove_file(self.dir.join(name)) {
            Ok(()) => self.sync_dir(),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

struct FsFile {
    file: File,
}

impl StoreFile for FsFile {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        loop {
            match self.file.read_at(buf, offset) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        Ok(self.file.write_all_at(data, offset)?)
    }

    fn len(&self) -> Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn set_len(&mut self, len: u64) -> Result<()> {
        Ok(self.file.set_len(len)?)
    }

    fn sync(&mut self) -> Result<()> {
        Ok(self.file.sync_data()?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fs_store_behaves_like_a_store() {
        let dir = std::env::temp_dir().join(format!("oxvm-block-fsstore-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        super::super::tests::exercise(&super::FsStore::new(&dir).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
