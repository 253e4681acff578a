//! socket(2), socketpair(2), bind(2), listen(2), connect(2), accept(2),
//! accept4(2), getsockname(2), getpeername(2), shutdown(2). The sockets
//! themselves are in `net/`; data transfer is in `msg.rs`, options in
//! `sockopt.rs`.

use std::rc::Rc;

use super::{ret, Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;
use crate::net::addr::{self, Addr, UnixName, AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC};
use crate::net::buffer::Ucred;
use crate::net::{inet, netlink, sock_of, unix, Conn, Domain, Kind, Sock, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, SOCK_STREAM};
use crate::vfs::file::{O_CLOEXEC, O_NONBLOCK, O_RDWR};
use crate::vfs::{Io, OpenFile};

pub const SOCK_NONBLOCK: u32 = O_NONBLOCK;
pub const SOCK_CLOEXEC: u32 = O_CLOEXEC;
const IPPROTO_TCP: i32 = 6;
const IPPROTO_UDP: i32 = 17;
/// UDP-Lite (RFC 3828): UDP with partial checksums; on loopback nothing
/// is corrupted, so it is UDP with its own ports and coverage options.
pub const IPPROTO_UDPLITE: i32 = 136;
/// sizeof(struct sockaddr_storage): the longest address a call reads.
const SOCKADDR_MAX: u64 = 128;

/// The caller as SO_PEERCRED and SCM_CREDENTIALS see it.
pub fn cred(ctx: &Ctx) -> Ucred {
    let c = ctx.process.creds;
    Ucred { pid: ctx.process.pid, uid: c.euid, gid: c.egid }
}

/// The socket behind `fd`: EBADF for no descriptor, ENOTSOCK for another
/// kind of file.
pub fn sock_fd(ctx: &Ctx, fd: i32) -> Result<(Rc<OpenFile>, Rc<Sock>), Errno> {
    let f = ctx.file(fd)?;
    let s = sock_of(&f).ok_or(Errno::ENOTSOCK)?;
    Ok((f, s))
}

/// A sockaddr argument of `len` bytes.
pub fn read_addr(ctx: &mut Ctx, ptr: u64, len: u64) -> Result<Vec<u8>, Errno> {
    // addrlen is an int: the upper half of the register is ignored.
    let len = len as u32 as i32;
    if len < 0 || len as u64 > SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    let mut b = vec![0u8; len as usize];
    ctx.user().read_bytes(ptr, &mut b)?;
    Ok(b)
}

/// Copy an address out through (`ptr`, `*lenp`): as much as fits, and
/// the full length in `*lenp` (0 with no address). A NULL `ptr` skips it
/// (accept, recvfrom: the address is optional).
pub fn write_addr(ctx: &mut Ctx, a: Option<&Addr>, ptr: u64, lenp: u64) -> Result<(), Errno> {
    if ptr == 0 {
        return Ok(());
    }
    copy_addr_out(ctx, a, ptr, lenp)
}

/// getsockname/getpeername: the address is always written, so a NULL
/// buffer faults unless `*lenp` is 0.
fn copy_addr_out(ctx: &mut Ctx, a: Option<&Addr>, ptr: u64, lenp: u64) -> Result<(), Errno> {
    let ulen: i32 = ctx.user().read_val(lenp)?;
    if ulen < 0 {
        return Err(Errno::EINVAL);
    }
    let bytes = a.map(Addr::encode).unwrap_or_default();
    let n = bytes.len().min(ulen as usize);
    if n > 0 {
        ctx.user().write_bytes(ptr, &bytes[..n])?;
    }
    ctx.user().write_val(lenp, &(bytes.len() as i32))
}

/// Install a socket as a new descriptor.
fn install(ctx: &mut Ctx, s: Rc<Sock>, flags: u32) -> Result<i32, Errno> {
    let f = OpenFile::new(s, None, O_RDWR | (flags & SOCK_NONBLOCK));
    ctx.process.files.borrow_mut().insert(f, flags & SOCK_CLOEXEC != 0)
}

/// (domain, kind, protocol) checked as socket(2) does.
fn parse_type(domain: u64, ty: u64, protocol: u64) -> Result<(Domain, Kind, i32, u32), Errno> {
    // All three are C ints: the upper halves of the registers do not count.
    let (domain, ty) = (domain as u32, ty as u32);
    let flags = ty & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    let base = ty & !(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if base > 0xf {
        return Err(Errno::EINVAL);
    }
    let protocol = protocol as i32;
    let domain = match domain as u16 {
        _ if domain > u16::MAX as u32 => return Err(Errno::EAFNOSUPPORT),
        AF_UNIX => Domain::Unix,
        AF_INET => Domain::Inet,
        AF_INET6 => Domain::Inet6,
        netlink::AF_NETLINK => Domain::Netlink,
        _ => return Err(Errno::EAFNOSUPPORT),
    };
    if domain == Domain::Netlink {
        // Raw and datagram mean the same for netlink; only the routing
        // protocol exists here.
        if base != SOCK_RAW && base != SOCK_DGRAM {
            return Err(Errno::ESOCKTNOSUPPORT);
        }
        if protocol != netlink::NETLINK_ROUTE {
            return Err(Errno::EPROTONOSUPPORT);
        }
        return Ok((domain, Kind::Dgram, protocol, flags));
    }
    let kind = match base {
        SOCK_STREAM => Kind::Stream,
        SOCK_DGRAM => Kind::Dgram,
        SOCK_SEQPACKET if domain == Domain::Unix => Kind::Seqpacket,
        // Raw sockets need a network device; packet sockets are another family.
        SOCK_RAW if domain == Domain::Unix => return Err(Errno::ESOCKTNOSUPPORT),
        SOCK_RAW => return Err(Errno::EPROTONOSUPPORT),
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    };
    let ok = match (domain, kind) {
        (Domain::Unix, _) => protocol == 0 || protocol == AF_UNIX as i32,
        (_, Kind::Stream) => protocol == 0 || protocol == IPPROTO_TCP,
        _ => protocol == 0 || protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE,
    };
    if !ok {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let protocol = match (domain, kind, protocol) {
        (Domain::Unix, _, _) => 0,
        (_, Kind::Stream, _) => IPPROTO_TCP,
        (_, _, IPPROTO_UDPLITE) => IPPROTO_UDPLITE,
        _ => IPPROTO_UDP,
    };
    Ok((domain, kind, protocol, flags))
}

pub fn sys_socket(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (domain, kind, protocol, flags) = parse_type(a.arg(0), a.arg(1), a.arg(2))?;
    let s = Sock::new(domain, kind, protocol, cred(ctx));
    if domain == Domain::Netlink && a.arg(1) as u32 & 0xf == SOCK_RAW {
        // SO_TYPE reports the type asked for, though a raw netlink socket
        // works as a datagram one (stored values are reported first).
        s.st.borrow_mut().opts.other.insert((1, 3), SOCK_RAW as i32);
    }
    ret(install(ctx, s, flags)? as u64)
}

pub fn sys_socketpair(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (domain, kind, _, flags) = parse_type(a.arg(0), a.arg(1), a.arg(2))?;
    if domain != Domain::Unix {
        return Err(Errno::EOPNOTSUPP);
    }
    let (x, y) = Sock::pair(kind, cred(ctx));
    let fx = install(ctx, x, flags)?;
    let fy = match install(ctx, y, flags) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = ctx.process.files.borrow_mut().close(fx);
            return Err(e);
        }
    };
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&fx.to_le_bytes());
    b[4..].copy_from_slice(&fy.to_le_bytes());
    if let Err(e) = ctx.user().write_bytes(a.arg(3), &b) {
        let mut t = ctx.process.files.borrow_mut();
        let _ = t.close(fx);
        let _ = t.close(fy);
        return Err(e);
    }
    ret(0)
}

fn caller<'a>(ctx: &'a Ctx) -> unix::Caller<'a> {
    unix::Caller { fs: &ctx.process.fs, euid: ctx.process.creds.euid, egid: ctx.process.creds.egid }
}

pub fn sys_bind(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (_, s) = sock_fd(ctx, a.arg(0) as i32)?;
    let b = read_addr(ctx, a.arg(1), a.arg(2))?;
    match s.domain {
        Domain::Unix => {
            let name = if b.len() == addr::SUN_PATH_OFFSET && addr::family(&b) == Some(AF_UNIX) {
                UnixName::Unnamed
            } else {
                addr::parse_unix(&b)?
            };
            unix::bind(&s, name, &caller(ctx))?;
        }
        Domain::Netlink => {
            let (pid, groups) = netlink::parse_addr(&b)?;
            netlink::bind(&s, pid, groups)?;
        }
        _ => {
            let sa = addr::parse_inet(&b, s.is_v6(), true)?;
            inet::bind(&s, sa, ctx.process.creds.euid)?;
        }
    }
    ret(0)
}

pub fn sys_listen(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (_, s) = sock_fd(ctx, a.arg(0) as i32)?;
    if s.kind == Kind::Dgram {
        return Err(Errno::EOPNOTSUPP);
    }
    if s.domain != Domain::Unix {
        if matches!(s.st.borrow().conn, Conn::Connected(_)) {
            return Err(Errno::EINVAL);
        }
        inet::autobind(&s)?;
    }
    s.listen(a.arg(1) as i32, cred(ctx))?;
    ret(0)
}

/// Wait for `other` too (a blocked connect waits for the listener's
/// queue to move).
pub fn wait_also(ctx: &Ctx, other: &Sock) {
    ctx.wait_on(vec![other.queue.clone()], true);
}

/// SO_RCVTIMEO/SO_SNDTIMEO in nanoseconds; None (a zero timeval): wait
/// forever.
fn timeout_ns(t: (i64, i64)) -> Option<u64> {
    (t != (0, 0)).then(|| (t.0 as u64).saturating_mul(1_000_000_000).saturating_add(t.1 as u64 * 1000))
}

/// A blocking socket call with nothing to do yet: it waits, at most for
/// the socket's timeout (`send`: SO_SNDTIMEO, else SO_RCVTIMEO), after
/// which it fails with `expired`.
pub fn block_or_expire(ctx: &mut Ctx, s: &Sock, send: bool, expired: Errno) -> SyscallResult {
    let t = {
        let st = s.st.borrow();
        if send {
            st.opts.sndtimeo
        } else {
            st.opts.rcvtimeo
        }
    };
    if super::epoll::timed_out(ctx, timeout_ns(t)) {
        return Err(expired);
    }
    Ok(SyscallReturn::Block)
}

pub fn sys_connect(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (f, s) = sock_fd(ctx, a.arg(0) as i32)?;
    let b = read_addr(ctx, a.arg(1), a.arg(2))?;
    let nonblock = f.flags() & O_NONBLOCK != 0;
    if b.len() < 2 {
        return Err(Errno::EINVAL);
    }
    if addr::family(&b) == Some(AF_UNSPEC) && (s.kind == Kind::Dgram || s.domain != Domain::Unix) {
        // Dissolve a datagram association (TCP: nothing to undo here).
        let mut st = s.st.borrow_mut();
        if s.kind == Kind::Dgram {
            st.conn = Conn::Idle;
            st.udp_peer = None;
            st.peer_addr = None;
        }
        return ret(0);
    }
    {
        let st = s.st.borrow();
        match st.conn {
            Conn::Connected(_) if s.kind.connection() => return Err(Errno::EISCONN),
            Conn::Listening { .. } => return Err(if s.domain == Domain::Unix { Errno::EINVAL } else { Errno::EISCONN }),
            _ => {}
        }
    }
    if s.domain == Domain::Unix {
        return connect_unix(ctx, &s, &b, nonblock);
    }
    if s.domain == Domain::Netlink {
        let (pid, groups) = netlink::parse_addr(&b)?;
        netlink::bind(&s, 0, 0)?;
        s.st.borrow_mut().peer_addr = Some(Addr::Netlink { pid, groups });
        return ret(0);
    }
    let dest = addr::parse_inet(&b, s.is_v6(), false)?;
    let to = inet::route_from(&s, dest)?;
    inet::autobind(&s)?;
    let src = inet::source_for(&s, to);
    if s.kind == Kind::Dgram {
        let mut st = s.st.borrow_mut();
        st.udp_peer = Some(to);
        st.peer_addr = Some(Addr::Inet(addr::in_family(to, s.is_v6())));
        st.local = Some(Addr::Inet(src));
        return ret(0);
    }
    if let Some(e) = s.st.borrow_mut().err.take() {
        return Err(e);
    }
    let Some(l) = inet::find(Kind::Stream, s.protocol, to, None) else {
        if nonblock {
            // Linux answers a non-blocking connect with EINPROGRESS even on
            // loopback; the refusal arrives as SO_ERROR.
            s.st.borrow_mut().err = Some(Errno::ECONNREFUSED);
            s.wake();
            return Err(Errno::EINPROGRESS);
        }
        return Err(Errno::ECONNREFUSED);
    };
    let server = [Addr::Inet(addr::in_family(to, l.is_v6())), Addr::Inet(addr::in_family(src, l.is_v6()))];
    match s.connect_to(&l, cred(ctx), server, Some(Addr::Inet(src)), Addr::Inet(addr::in_family(to, s.is_v6())))? {
        Io::Block if nonblock => Err(Errno::EAGAIN),
        Io::Block => {
            wait_also(ctx, &l);
            block_or_expire(ctx, &s, true, Errno::EINPROGRESS)
        }
        Io::Done(_) if nonblock => Err(Errno::EINPROGRESS),
        Io::Done(_) => ret(0),
    }
}

fn connect_unix(ctx: &mut Ctx, s: &Rc<Sock>, b: &[u8], nonblock: bool) -> SyscallResult {
    let name = addr::parse_unix(b)?;
    let target = unix::lookup(&name, s.kind, &caller(ctx))?;
    if target.kind != s.kind {
        return Err(Errno::EPROTOTYPE);
    }
    let target_name = target.st.borrow().local.clone().unwrap_or(Addr::Unix(UnixName::Unnamed));
    if s.kind == Kind::Dgram {
        if let Conn::Connected(w) = &target.st.borrow().conn {
            if w.upgrade().is_some_and(|p| !Rc::ptr_eq(&p, s)) {
                return Err(Errno::EPERM);
            }
        }
        let mut st = s.st.borrow_mut();
        st.conn = Conn::Connected(Rc::downgrade(&target));
        st.peer_addr = Some(target_name);
        return ret(0);
    }
    let mine = s.st.borrow().local.clone().unwrap_or(Addr::Unix(UnixName::Unnamed));
    match s.connect_to(&target, cred(ctx), [target_name.clone(), mine], None, target_name)? {
        Io::Block if nonblock => Err(Errno::EAGAIN),
        Io::Block => {
            wait_also(ctx, &target);
            block_or_expire(ctx, s, true, Errno::EAGAIN)
        }
        Io::Done(_) => ret(0),
    }
}

fn accept_with(ctx: &mut Ctx, a: &SyscallArgs, flags: u32) -> SyscallResult {
    if flags & !(SOCK_CLOEXEC | SOCK_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let (f, s) = sock_fd(ctx, a.arg(0) as i32)?;
    let Some(conn) = s.accept()? else {
        return if f.flags() & O_NONBLOCK != 0 { Err(Errno::EAGAIN) } else { block_or_expire(ctx, &s, false, Errno::EAGAIN) };
    };
    let peer = conn.st.borrow().peer_addr.clone();
    let fd = match install(ctx, conn.clone(), flags) {
        Ok(fd) => fd,
        Err(e) => {
            // No descriptor (EMFILE): the connection stays queued.
            s.requeue(conn);
            return Err(e);
        }
    };
    if let Err(e) = write_addr(ctx, peer.as_ref(), a.arg(1), a.arg(2)) {
        let _ = ctx.process.files.borrow_mut().close(fd);
        return Err(e);
    }
    ret(fd as u64)
}

pub fn sys_accept(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    accept_with(ctx, a, 0)
}

pub fn sys_accept4(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    accept_with(ctx, a, a.arg(3) as u32)
}

/// What getsockname reports for a socket that has no name yet.
fn unbound(s: &Sock) -> Addr {
    match s.domain {
        Domain::Unix => Addr::Unix(UnixName::Unnamed),
        Domain::Inet => Addr::Inet("0.0.0.0:0".parse().expect("literal")),
        Domain::Inet6 => Addr::Inet("[::]:0".parse().expect("literal")),
        Domain::Netlink => netlink::local_addr(s),
    }
}

pub fn sys_getsockname(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (_, s) = sock_fd(ctx, a.arg(0) as i32)?;
    let local = s.st.borrow().local.clone().unwrap_or_else(|| unbound(&s));
    copy_addr_out(ctx, Some(&local), a.arg(1), a.arg(2))?;
    ret(0)
}

pub fn sys_getpeername(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (_, s) = sock_fd(ctx, a.arg(0) as i32)?;
    let peer = {
        let st = s.st.borrow();
        // A TCP connection whose FINs both went is closed.
        let closed = s.domain != Domain::Unix && s.kind == Kind::Stream && st.peer_fin && (st.snd_shut || st.reset_seen);
        match (&st.conn, st.udp_peer) {
            _ if closed => None,
            // A netlink socket's peer is the kernel unless it connected.
            _ if s.domain == Domain::Netlink => Some(st.peer_addr.clone().unwrap_or(Addr::Netlink { pid: 0, groups: 0 })),
            (Conn::Connected(_), _) | (_, Some(_)) => st.peer_addr.clone(),
            _ => None,
        }
    };
    let peer = peer.ok_or(Errno::ENOTCONN)?;
    copy_addr_out(ctx, Some(&peer), a.arg(1), a.arg(2))?;
    ret(0)
}

pub fn sys_shutdown(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (_, s) = sock_fd(ctx, a.arg(0) as i32)?;
    let how = a.arg(1) as i32;
    if !(0..=2).contains(&how) {
        return Err(Errno::EINVAL);
    }
    s.shutdown(how as u32)?;
    ret(0)
}
