//! Looking inside an image without running it: resolve a path, list a
//! directory, copy a file out, unpack a tree (`oxvm image ls|cat|unpack`).

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use oxvm_block::BlockDevice;
use oxvm_ext2::{Error as FsError, Ext2, FileType, Ino, Metadata};

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Symlinks followed while resolving one path, as Linux's MAXSYMLINKS.
const MAX_LINKS: usize = 40;

fn err(path: &[u8], e: impl std::fmt::Display) -> Box<dyn std::error::Error> {
    format!("{}: {e}", String::from_utf8_lossy(path)).into()
}

/// The inode `path` names inside the image (absolute or relative to the
/// root). Symlinks on the way are followed inside the image; the last one
/// too when `follow`.
pub fn resolve<D: BlockDevice>(fs: &mut Ext2<D>, path: &[u8], follow: bool) -> Result<Ino> {
    let mut links = 0;
    let mut stack: Vec<Ino> = vec![fs.root()];
    let mut todo: Vec<Vec<u8>> = path.split(|&b| b == b'/').filter(|c| !c.is_empty()).rev().map(<[u8]>::to_vec).collect();
    while let Some(name) = todo.pop() {
        let dir = *stack.last().expect("the root stays");
        match name.as_slice() {
            b"." => continue,
            b".." => {
                if stack.len() > 1 {
                    stack.pop();
                }
                continue;
            }
            _ => {}
        }
        let ino = fs.lookup(dir, &name).map_err(|e| err(path, e))?;
        let md = fs.stat(ino).map_err(|e| err(path, e))?;
        if md.file_type == FileType::Symlink && (follow || !todo.is_empty()) {
            links += 1;
            if links > MAX_LINKS {
                return Err(err(path, "too many levels of symbolic links"));
            }
            let target = fs.readlink(ino).map_err(|e| err(path, e))?;
            if target.first() == Some(&b'/') {
                stack.truncate(1);
            }
            todo.extend(target.split(|&b| b == b'/').filter(|c| !c.is_empty()).rev().map(<[u8]>::to_vec));
            continue;
        }
        if !todo.is_empty() && md.file_type != FileType::Directory {
            return Err(err(path, FsError::NotDir));
        }
        stack.push(ino);
    }
    Ok(*stack.last().expect("the root stays"))
}

/// One line of `ls -l`: mode, links, owner, size, time, name (and target).
pub fn long_line<D: BlockDevice>(fs: &mut Ext2<D>, md: &Metadata, name: &[u8]) -> Result<String> {
    let kind = match md.file_type {
        FileType::Directory => 'd',
        FileType::Symlink => 'l',
        FileType::CharDevice => 'c',
        FileType::BlockDevice => 'b',
        FileType::Fifo => 'p',
        FileType::Socket => 's',
        _ => '-',
    };
    let m = md.mode as u32;
    let bit = |b: u32, c: char| if m & b != 0 { c } else { '-' };
    let exec = |x: u32, special: u32, on: char, off: char| match (m & x != 0, m & special != 0) {
        (true, true) => on,
        (false, true) => off,
        (true, false) => 'x',
        (false, false) => '-',
    };
    let perms: String = [
        bit(0o400, 'r'),
        bit(0o200, 'w'),
        exec(0o100, 0o4000, 's', 'S'),
        bit(0o040, 'r'),
        bit(0o020, 'w'),
        exec(0o010, 0o2000, 's', 'S'),
        bit(0o004, 'r'),
        bit(0o002, 'w'),
        exec(0o001, 0o1000, 't', 'T'),
    ]
    .iter()
    .collect();
    let size = match md.file_type {
        FileType::CharDevice | FileType::BlockDevice => format!("{}, {}", oxvm_ext2::major(md.rdev), oxvm_ext2::minor(md.rdev)),
        _ => md.size.to_string(),
    };
    let mut line = format!(
        "{kind}{perms} {:>3} {:>5} {:>5} {:>10} {:>10} {}",
        md.nlink,
        md.uid,
        md.gid,
        size,
        md.mtime,
        String::from_utf8_lossy(name)
    );
    if md.file_type == FileType::Symlink {
        line += &format!(" -> {}", String::from_utf8_lossy(&fs.readlink(md.ino)?));
    }
    Ok(line)
}

/// `ls -l` of a directory (or of one file) inside the image.
pub fn list<D: BlockDevice>(fs: &mut Ext2<D>, path: &[u8], out: &mut dyn Write) -> Result<()> {
    let ino = resolve(fs, path, true)?;
    let md = fs.stat(ino)?;
    if md.file_type != FileType::Directory {
        let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
        writeln!(out, "{}", long_line(fs, &md, name)?)?;
        return Ok(());
    }
    for e in fs.read_dir_all(ino)? {
        let md = fs.stat(e.ino)?;
        writeln!(out, "{}", long_line(fs, &md, &e.name)?)?;
    }
    Ok(())
}

/// Copy a regular file's bytes out.
pub fn cat<D: BlockDevice>(fs: &mut Ext2<D>, path: &[u8], out: &mut dyn Write) -> Result<()> {
    let ino = resolve(fs, path, true)?;
    let md = fs.stat(ino)?;
    if md.file_type != FileType::Regular {
        return Err(err(path, "not a regular file"));
    }
    copy_out(fs, &md, out)
}

/// A regular file's bytes, in 1 MiB reads, to `out`.
fn copy_out<D: BlockDevice>(fs: &mut Ext2<D>, md: &Metadata, out: &mut dyn Write) -> Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0;
    while off < md.size {
        let n = fs.read(md.ino, off, &mut buf)?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])?;
        off += n as u64;
    }
    Ok(())
}

/// What [`unpack`] wrote.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unpacked {
    pub files: u64,
    pub dirs: u64,
    pub links: u64,
    pub bytes: u64,
    pub skipped_specials: u64,
}

/// Copy the tree at `path` inside the image to `dest` on the host (which
/// must not exist yet). Modes and times are kept; owners too when we are
/// root. Device nodes are made only when we are root, else counted as
/// skipped. Nothing outside `dest` is ever written: names come from
/// directory entries, which cannot contain `/`.
pub fn unpack<D: BlockDevice>(fs: &mut Ext2<D>, path: &[u8], dest: &Path) -> Result<Unpacked> {
    let ino = resolve(fs, path, true)?;
    if dest.exists() {
        return Err(format!("{}: already exists", dest.display()).into());
    }
    let root = running_as_root();
    let mut stats = Unpacked::default();
    let mut dirs: Vec<(std::path::PathBuf, Metadata)> = Vec::new();
    let mut todo = vec![(ino, dest.to_path_buf())];
    while let Some((ino, at)) = todo.pop() {
        let md = fs.stat(ino)?;
        match md.file_type {
            FileType::Directory => {
                std::fs::create_dir(&at).map_err(|e| format!("{}: {e}", at.display()))?;
                stats.dirs += 1;
                for e in fs.read_dir_all(ino)? {
                    if e.name != b"." && e.name != b".." {
                        todo.push((e.ino, at.join(std::ffi::OsStr::from_bytes(&e.name))));
                    }
                }
                dirs.push((at, md));
                continue;
            }
            FileType::Regular => {
                let mut f = std::fs::File::create(&at).map_err(|e| format!("{}: {e}", at.display()))?;
                copy_out(fs, &md, &mut f)?;
                stats.files += 1;
                stats.bytes += md.size;
            }
            FileType::Symlink => {
                let target = fs.readlink(ino)?;
                std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&target), &at).map_err(|e| format!("{}: {e}", at.display()))?;
                stats.links += 1;
            }
            _ => {
                if !root || !make_node(&at, &md) {
                    stats.skipped_specials += 1;
                }
                continue;
            }
        }
        finish(&at, &md, root, md.file_type == FileType::Symlink)?;
    }
    // Directories last, deepest first: filling them moved their times.
    for (at, md) in dirs.iter().rev() {
        finish(at, md, root, false)?;
    }
    Ok(stats)
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false)
}

/// Special files need mknod, which std has no wrapper for: use mkfifo/mknod(1).
fn make_node(at: &Path, md: &Metadata) -> bool {
    let mut cmd = std::process::Command::new("mknod");
    cmd.arg("-m").arg(format!("{:o}", md.mode & 0o7777)).arg(at);
    match md.file_type {
        FileType::CharDevice => cmd.arg("c").arg(oxvm_ext2::major(md.rdev).to_string()).arg(oxvm_ext2::minor(md.rdev).to_string()),
        FileType::BlockDevice => cmd.arg("b").arg(oxvm_ext2::major(md.rdev).to_string()).arg(oxvm_ext2::minor(md.rdev).to_string()),
        FileType::Fifo => cmd.arg("p"),
        _ => return false,
    };
    cmd.status().is_ok_and(|s| s.success())
}

/// Owner (when root), mode and times of an unpacked file.
fn finish(at: &Path, md: &Metadata, root: bool, symlink: bool) -> Result<()> {
    if root {
        std::os::unix::fs::lchown(at, Some(md.uid), Some(md.gid)).map_err(|e| format!("{}: {e}", at.display()))?;
    }
    if !symlink {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(at, std::fs::Permissions::from_mode(md.mode as u32 & 0o7777))
            .map_err(|e| format!("{}: {e}", at.display()))?;
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(md.mtime as u64);
        let f = std::fs::File::options().read(true).open(at).or_else(|_| std::fs::File::open(at));
        if let Ok(f) = f {
            let _ = f.set_times(
                std::fs::FileTimes::new()
                    .set_modified(t)
                    .set_accessed(std::time::UNIX_EPOCH + std::time::Duration::from_secs(md.atime as u64)),
            );
        }
    }
    Ok(())
}
