//! From a path to something exec can load: find the file in the
//! filesystem, check it may be executed, expand `#!` scripts (interpreter
//! plus one optional argument, nested at most [`MAX_INTERP_DEPTH`] deep as
//! Linux allows) and read the ELF interpreter named by PT_INTERP.

use super::{interpreter_of, Creds, ExecError};
use crate::errno::Errno;
use crate::vfs::file::O_RDONLY;
use crate::vfs::{permitted, Dentry, FileType, FsContext};

/// Linux's BINPRM_MAX_RECURSION.
pub const MAX_INTERP_DEPTH: usize = 4;
/// Bytes of a `#!` line Linux looks at (BINPRM_BUF_SIZE).
const SHEBANG_MAX: usize = 256;
/// Refuse images larger than this (they could not fit guest memory).
const MAX_IMAGE: u64 = 1 << 30;

/// A program ready for [`super::exec`].
pub struct Prepared {
    pub image: Vec<u8>,
    pub interp: Option<Vec<u8>>,
    /// argv after `#!` expansion.
    pub argv: Vec<Vec<u8>>,
    /// The ELF file run, and its interpreter's (for /proc/PID/exe, maps).
    pub exe: Dentry,
    pub interp_file: Option<Dentry>,
}

/// The ids a program runs with after exec: the set-user-ID bit makes the
/// file's owner the effective user, the set-group-ID bit (with group
/// execute; without it the bit means mandatory locking) its group the
/// effective group, unless the process asked for no new privileges or the
/// file system is mounted nosuid. The saved ids follow the effective ones.
pub fn setid_creds(exe: &Dentry, creds: Creds, no_new_privs: bool) -> Creds {
    const S_ISUID: u32 = 0o4000;
    const S_ISGID: u32 = 0o2000;
    const S_IXGRP: u32 = 0o010;
    /// statfs's ST_NOSUID.
    const ST_NOSUID: u64 = 2;
    let inode = exe.inode();
    let Ok(st) = inode.stat() else { return creds };
    if no_new_privs || st.mode & (S_ISUID | S_ISGID) == 0 || inode.statfs().is_ok_and(|f| f.flags & ST_NOSUID != 0) {
        return creds;
    }
    let mut c = creds;
    if st.mode & S_ISUID != 0 {
        c.euid = st.uid;
    }
    if st.mode & (S_ISGID | S_IXGRP) == S_ISGID | S_IXGRP {
        c.egid = st.gid;
    }
    c
}

/// Read a whole regular file.
pub fn read_file(d: &Dentry) -> Result<Vec<u8>, Errno> {
    let st = d.inode().stat()?;
    if st.size > MAX_IMAGE {
        return Err(Errno::ENOMEM);
    }
    let ops = d.inode().open(O_RDONLY)?;
    let mut data = vec![0u8; st.size as usize];
    let n = ops.read_page(0, &mut data)?;
    data.truncate(n);
    Ok(data)
}

fn open_executable(fs: &FsContext, path: &[u8], creds: &Creds) -> Result<Dentry, ExecError> {
    let d = fs.resolve(&fs.cwd, path, true).map_err(ExecError::Io)?;
    let st = d.inode().stat().map_err(ExecError::Io)?;
    if st.file_type() != Some(FileType::Regular) || !permitted(&st, creds.euid, creds.egid, &fs.walker_groups, 1) {
        return Err(ExecError::Io(Errno::EACCES));
    }
    Ok(d)
}

/// Parse a `#!` line: (interpreter, optional argument).
fn shebang(data: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let rest = data.strip_prefix(b"#!")?;
    let line = &rest[..rest.len().min(SHEBANG_MAX - 2)];
    let line = line.split(|&b| b == b'\n').next().unwrap_or(line);
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    let line: Vec<u8> = line.iter().copied().skip_while(is_ws).collect();
    let end = line.iter().position(is_ws).unwrap_or(line.len());
    let (interp, arg) = line.split_at(end);
    if interp.is_empty() {
        return None;
    }
    let arg: Vec<u8> = arg.iter().copied().skip_while(is_ws).collect();
    let arg_end = arg.iter().rposition(|b| !is_ws(b)).map_or(0, |i| i + 1);
    let arg = &arg[..arg_end];
    Some((interp.to_vec(), (!arg.is_empty()).then(|| arg.to_vec())))
}

/// Resolve `path` and prepare it (and whatever it names) for exec.
pub fn prepare(fs: &FsContext, path: &[u8], argv: &[Vec<u8>], creds: &Creds) -> Result<Prepared, ExecError> {
    let mut path = path.to_vec();
    let mut argv = argv.to_vec();
    for _ in 0..=MAX_INTERP_DEPTH {
        let d = open_executable(fs, &path, creds)?;
        let image = read_file(&d).map_err(ExecError::Io)?;
        if image.starts_with(b"#!") {
            let (interp, arg) = shebang(&image).ok_or(ExecError::NotElf)?;
            let mut new = vec![interp.clone()];
            new.extend(arg);
            new.push(path.clone());
            new.extend(argv.into_iter().skip(1));
            argv = new;
            path = interp;
            continue;
        }
        let (interp, interp_file) = match interpreter_of(&image)? {
            Some(ip) => {
                let wrap = |e| ExecError::BadInterpreter(Box::new(ExecError::Io(e)));
                let id = fs.resolve(&fs.cwd, ip.as_bytes(), true).map_err(wrap)?;
                (Some(read_file(&id).map_err(wrap)?), Some(id))
            }
            None => (None, None),
        };
        return Ok(Prepared { image, interp, argv, exe: d, interp_file });
    }
    Err(ExecError::TooManyInterpreters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_lines() {
        assert_eq!(shebang(b"#!/bin/sh\necho"), Some((b"/bin/sh".to_vec(), None)));
        assert_eq!(shebang(b"#! /usr/bin/env  python3 -u \n"), Some((b"/usr/bin/env".to_vec(), Some(b"python3 -u".to_vec()))));
        assert_eq!(shebang(b"#!\n"), None);
        assert_eq!(shebang(b"#!/bin/x"), Some((b"/bin/x".to_vec(), None)));
    }
}
