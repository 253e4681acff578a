//! Extended attributes (xattr(7)): getxattr(2), setxattr(2), listxattr(2),
//! removexattr(2) and their l/f forms. The names, sizes and the VFS
//! permission rules (trusted.* for CAP_SYS_ADMIN, user.* only on regular
//! files and directories, read/write access to the file) are checked
//! here; storing them is the filesystem's (`Inode::getxattr` ...): the
//! host tree keeps them in the host file, filesystems without a store
//! find none (ENODATA) and refuse new ones (EOPNOTSUPP).

use super::{ret, Ctx, SyscallArgs, SyscallResult, AT_FDCWD};
use crate::errno::Errno;
use crate::vfs::{permitted, FileType, InodeRef, Stat};

/// XATTR_NAME_MAX, XATTR_SIZE_MAX and XATTR_LIST_MAX of Linux.
const NAME_MAX: usize = 255;
const SIZE_MAX: u64 = 65536;
const LIST_MAX: u64 = 65536;
const XATTR_CREATE: u64 = 1;
const XATTR_REPLACE: u64 = 2;
/// CAP_SYS_ADMIN and CAP_FOWNER of capabilities(7).
const CAP_SYS_ADMIN: u32 = 21;
const CAP_FOWNER: u32 = 3;

/// The inode a path names (symlinks followed for the plain forms).
fn path_inode(ctx: &mut Ctx, path: u64, follow: bool) -> Result<InodeRef, Errno> {
    let p = ctx.path(path)?;
    Ok(ctx.lookup_at(AT_FDCWD, &p, follow)?.inode().clone())
}

/// The inode an open file is (an O_PATH descriptor does not do: EBADF).
/// None for objects with no inode in a filesystem (pipes, sockets...).
fn fd_inode(ctx: &mut Ctx, fd: u64) -> Result<Target, Errno> {
    let f = ctx.file(fd as i32)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    Ok(match f.dentry.as_ref() {
        Some(d) => Target::Inode(d.inode().clone()),
        None => Target::Anon(f.stat()?),
    })
}

/// What an attribute call acts on: a filesystem's inode, or a pipe or
/// socket (its stat for the permission check), which stores none.
enum Target {
    Inode(InodeRef),
    Anon(Stat),
}

/// An attribute name: 1 to 255 bytes, else ERANGE.
fn read_name(ctx: &mut Ctx, name: u64) -> Result<Vec<u8>, Errno> {
    let n = ctx.user().read_cstring(name, NAME_MAX + 1).map_err(|e| if e == Errno::ENAMETOOLONG { Errno::ERANGE } else { e })?;
    if n.is_empty() || n.len() > NAME_MAX {
        return Err(Errno::ERANGE);
    }
    Ok(n)
}

/// The VFS's checks before any filesystem sees the name.
fn permission(ctx: &Ctx, inode: &InodeRef, name: &[u8], write: bool) -> Result<(), Errno> {
    // security.* and system.* are left to the filesystem.
    if name.starts_with(b"security.") || name.starts_with(b"system.") {
        return Ok(());
    }
    let admin = ctx.process.cred.capable(CAP_SYS_ADMIN);
    if name.starts_with(b"trusted.") {
        return match (admin, write) {
            (true, _) => Ok(()),
            (false, true) => Err(Errno::EPERM),
            (false, false) => Err(Errno::ENODATA),
        };
    }
    let st = inode.stat()?;
    let c = ctx.process.creds;
    if name.starts_with(b"user.") {
        let kind = inode.kind();
        if kind != FileType::Regular && kind != FileType::Directory {
            return Err(if write { Errno::EPERM } else { Errno::ENODATA });
        }
        // In a sticky directory only its owner writes attributes.
        if kind == FileType::Directory && st.mode & 0o1000 != 0 && write && c.euid != st.uid && !ctx.process.cred.capable(CAP_FOWNER) {
            return Err(Errno::EPERM);
        }
    }
    if !permitted(&st, c.euid, c.egid, &ctx.process.cred.groups, if write { 2 } else { 4 }) {
        return Err(Errno::EACCES);
    }
    Ok(())
}

/// The error for a pipe or socket, which stores no attributes: the
/// permission rules first (user.* is for files and directories only),
/// then no handler for the name.
fn no_inode(ctx: &Ctx, st: &Stat, name: &[u8], write: bool) -> Errno {
    let admin = ctx.process.cred.capable(CAP_SYS_ADMIN);
    if name.starts_with(b"user.") || (name.starts_with(b"trusted.") && !admin) {
        return if write { Errno::EPERM } else { Errno::ENODATA };
    }
    let c = ctx.process.creds;
    let system = name.starts_with(b"security.") || name.starts_with(b"system.");
    if !system && !admin && !permitted(st, c.euid, c.egid, &ctx.process.cred.groups, if write { 2 } else { 4 }) {
        return Errno::EACCES;
    }
    Errno::EOPNOTSUPP
}

fn get(ctx: &mut Ctx, inode: Target, a: &SyscallArgs) -> SyscallResult {
    let name = read_name(ctx, a.arg(1))?;
    let inode = match inode {
        Target::Inode(i) => i,
        Target::Anon(st) => return Err(no_inode(ctx, &st, &name, false)),
    };
    permission(ctx, &inode, &name, false)?;
    let (buf, size) = (a.arg(2), a.arg(3).min(SIZE_MAX));
    let mut value = vec![0u8; size as usize];
    let n = inode.getxattr(&name, &mut value)?;
    if size > 0 {
        ctx.user().write_bytes(buf, &value[..n])?;
    }
    ret(n as u64)
}

fn list(ctx: &mut Ctx, inode: Target, a: &SyscallArgs) -> SyscallResult {
    let Target::Inode(inode) = inode else { return ret(0) };
    let (buf, size) = (a.arg(1), a.arg(2).min(LIST_MAX));
    let names = if ctx.process.cred.capable(CAP_SYS_ADMIN) {
        let mut names = vec![0u8; size as usize];
        let n = inode.listxattr(&mut names)?;
        names.truncate(n);
        names
    } else {
        // trusted.* names are not shown to the unprivileged, as Linux's
        // filesystems do; the whole list is read to drop them.
        let mut all = vec![0u8; inode.listxattr(&mut [])?.max(1)];
        let len = inode.listxattr(&mut all)?;
        let kept: Vec<u8> = all[..len].split_inclusive(|&b| b == 0).filter(|s| !s.starts_with(b"trusted.")).flatten().copied().collect();
        if size > 0 && kept.len() > size as usize {
            return Err(Errno::ERANGE);
        }
        kept
    };
    let n = names.len();
    if size > 0 {
        ctx.user().write_bytes(buf, &names[..n])?;
    }
    ret(n as u64)
}

fn set(ctx: &mut Ctx, inode: Target, a: &SyscallArgs) -> SyscallResult {
    let flags = a.arg(4);
    if flags & !(XATTR_CREATE | XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = read_name(ctx, a.arg(1))?;
    let size = a.arg(3);
    if size > SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let mut value = vec![0u8; size as usize];
    ctx.user().read_bytes(a.arg(2), &mut value)?;
    let inode = match inode {
        Target::Inode(i) => i,
        Target::Anon(st) => return Err(no_inode(ctx, &st, &name, true)),
    };
    permission(ctx, &inode, &name, true)?;
    inode.setxattr(&name, &value, flags as u32)?;
    ret(0)
}

fn remove(ctx: &mut Ctx, inode: Target, a: &SyscallArgs) -> SyscallResult {
    let name = read_name(ctx, a.arg(1))?;
    let inode = match inode {
        Target::Inode(i) => i,
        Target::Anon(st) => return Err(no_inode(ctx, &st, &name, true)),
    };
    permission(ctx, &inode, &name, true)?;
    inode.removexattr(&name)?;
    ret(0)
}

pub fn sys_getxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let i = path_inode(ctx, a.arg(0), true)?;
    get(ctx, Target::Inode(i), a)
}

pub fn sys_lgetxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let i = path_inode(ctx, a.arg(0), false)?;
    get(ctx, Target::Inode(i), a)
}

pub fn sys_fgetxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let i = fd_inode(ctx, a.arg(0))?;
    get(ctx, i, a)
}

pub fn sys_listxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let i = path_inode(ctx, a.arg(0), true)?;
    list(ctx, Target::Inode(i), a)
}

pub fn sys_llistxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let i = path_inode(ctx, a.arg(0), false)?;
    list(ctx, Target::Inode(i), a)
}

pub fn sys_flistxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let i = fd_inode(ctx, a.arg(0))?;
    list(ctx, i, a)
}

pub fn sys_setxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let i = path_inode(ctx, a.arg(0), true)?;
    set(ctx, Target::Inode(i), a)
}

pub fn sys_lsetxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let i = path_inode(ctx, a.arg(0), false)?;
    set(ctx, Target::Inode(i), a)
}

pub fn sys_fsetxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let i = fd_inode(ctx, a.arg(0))?;
    set(ctx, i, a)
}

pub fn sys_removexattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let i = path_inode(ctx, a.arg(0), true)?;
    remove(ctx, Target::Inode(i), a)
}

pub fn sys_lremovexattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let i = path_inode(ctx, a.arg(0), false)?;
    remove(ctx, Target::Inode(i), a)
}

pub fn sys_fremovexattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let i = fd_inode(ctx, a.arg(0))?;
    remove(ctx, i, a)
}
