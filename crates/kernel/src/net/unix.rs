//! AF_UNIX naming (unix(7)): filesystem names are socket nodes created
//! in their directory (the host node is a real S_IFSOCK made with
//! mknodat, but only this kernel knows which guest socket it stands for:
//! a table from the node's (dev, ino) to the socket); abstract names
//! (leading NUL) live only in the table, one namespace per socket type;
//! autobind picks "\0XXXXX" (five
//! hex digits), as Linux does.

use std::rc::Rc;

use super::addr::{Addr, UnixName};
use super::{with_ns, Kind, Sock};
use crate::errno::Errno;
use crate::vfs::{permitted, FileType, FsContext, Result};

/// Who is binding or connecting: the filesystem view and the effective
/// ids permission checks use.
pub struct Caller<'a> {
    pub fs: &'a FsContext,
    pub euid: u32,
    pub egid: u32,
}

/// bind(2) of an AF_UNIX socket. Unnamed (an address of just the family)
/// autobinds.
pub fn bind(sock: &Sock, name: UnixName, who: &Caller) -> Result<()> {
    // A path is created before the "already bound" check (so an existing
    // name is EADDRINUSE, and a fresh one is removed again), as Linux does.
    let bound = sock.st.borrow().local.is_some();
    if bound && !matches!(name, UnixName::Path(_)) {
        return Err(Errno::EINVAL);
    }
    match &name {
        UnixName::Unnamed => return autobind(sock),
        UnixName::Abstract(a) => {
            let key = (sock.kind, a.clone());
            let taken = with_ns(|ns| ns.unix_abstract.get(&key).is_some_and(|w| w.strong_count() > 0));
            if taken {
                return Err(Errno::EADDRINUSE);
            }
            with_ns(|ns| ns.unix_abstract.insert(key, sock.weak()));
        }
        UnixName::Path(p) => {
            let fs = who.fs;
            let parent = fs.resolve_parent(&fs.cwd, p)?;
            if parent.name.is_empty() || parent.name == b"." || parent.name == b".." {
                return Err(Errno::EADDRINUSE);
            }
            let dir = parent.dir.inode();
            if !permitted(&dir.stat()?, who.euid, who.egid, &who.fs.walker_groups, 3) {
                return Err(Errno::EACCES);
            }
            dir.mknod(&parent.name, FileType::Socket, 0o777 & !fs.umask, 0).map_err(|e| {
                if e == Errno::EEXIST {
                    Errno::EADDRINUSE
                } else {
                    e
                }
            })?;
            if bound {
                let _ = dir.unlink(&parent.name);
                return Err(Errno::EINVAL);
            }
            let id = dir.lookup(&parent.name)?.id();
            with_ns(|ns| {
                ns.unix_paths.retain(|_, w| w.strong_count() > 0);
                ns.unix_paths.insert(id, sock.weak())
            });
        }
    }
    sock.st.borrow_mut().local = Some(Addr::Unix(name));
    Ok(())
}

/// Give an unbound socket an abstract name of five hex digits.
pub fn autobind(sock: &Sock) -> Result<()> {
    if sock.st.borrow().local.is_some() {
        return Ok(());
    }
    let name = with_ns(|ns| {
        ns.unix_abstract.retain(|_, w| w.strong_count() > 0);
        for _ in 0..0x100000 {
            let n = ns.next_autobind & 0xfffff;
            ns.next_autobind = ns.next_autobind.wrapping_add(1);
            let name = format!("{n:05x}").into_bytes();
            if let std::collections::hash_map::Entry::Vacant(v) = ns.unix_abstract.entry((sock.kind, name.clone())) {
                v.insert(sock.weak());
                return Ok(name);
            }
        }
        Err(Errno::ENOSPC)
    })?;
    sock.st.borrow_mut().local = Some(Addr::Unix(UnixName::Abstract(name)));
    Ok(())
}

/// The socket bound to `name` (connect, sendto). A path must name a
/// socket node the caller may write to, bound by a live socket.
pub fn lookup(name: &UnixName, kind: Kind, who: &Caller) -> Result<Rc<Sock>> {
    let found = match name {
        UnixName::Unnamed => return Err(Errno::EINVAL),
        // Abstract names are per socket type: another type's is not found.
        UnixName::Abstract(a) => with_ns(|ns| ns.unix_abstract.get(&(kind, a.clone())).and_then(|w| w.upgrade())),
        UnixName::Path(p) => {
            let d = who.fs.resolve(&who.fs.cwd, p, true)?;
            let inode = d.inode();
            if inode.kind() != FileType::Socket {
                return Err(Errno::ECONNREFUSED);
            }
            if !permitted(&inode.stat()?, who.euid, who.egid, &who.fs.walker_groups, 2) {
                return Err(Errno::EACCES);
            }
            let id = inode.id();
            with_ns(|ns| ns.unix_paths.get(&id).and_then(|w| w.upgrade()))
        }
    };
    found.ok_or(Errno::ECONNREFUSED)
}
