//! getsockopt(2) and setsockopt(2): SOL_SOCKET for every socket,
//! IPPROTO_TCP/IPPROTO_IP/IPPROTO_IPV6 for inet ones. Options with an
//! effect here: SO_ERROR, SO_PASSCRED, SO_REUSEADDR (bind), IPV6_V6ONLY
//! (bind), SO_RCVTIMEO/SO_SNDTIMEO (blocking receives/accepts and
//! sends/connects give up with EAGAIN); the buffer sizes are Linux's
//! numbers (doubled on set) and the rest are stored and reported back.

use super::socket::sock_fd;
use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;
use crate::net::{Domain, Kind, Sock};

pub const SOL_SOCKET: i32 = 1;
pub const IPPROTO_IP: i32 = 0;
pub const IPPROTO_TCP: i32 = 6;
pub const IPPROTO_IPV6: i32 = 41;
const IPPROTO_UDP: i32 = 17;
const IPPROTO_UDPLITE: i32 = super::socket::IPPROTO_UDPLITE;
const UDPLITE_SEND_CSCOV: i32 = 10;
const UDPLITE_RECV_CSCOV: i32 = 11;

const SO_DEBUG: i32 = 1;
const SO_REUSEADDR: i32 = 2;
const SO_TYPE: i32 = 3;
const SO_ERROR: i32 = 4;
const SO_DONTROUTE: i32 = 5;
const SO_BROADCAST: i32 = 6;
const SO_SNDBUF: i32 = 7;
const SO_RCVBUF: i32 = 8;
const SO_KEEPALIVE: i32 = 9;
const SO_OOBINLINE: i32 = 10;
const SO_NO_CHECK: i32 = 11;
const SO_PRIORITY: i32 = 12;
const SO_LINGER: i32 = 13;
const SO_REUSEPORT: i32 = 15;
const SO_PASSCRED: i32 = 16;
const SO_PEERCRED: i32 = 17;
const SO_RCVLOWAT: i32 = 18;
const SO_SNDLOWAT: i32 = 19;
const SO_RCVTIMEO_OLD: i32 = 20;
const SO_SNDTIMEO_OLD: i32 = 21;
const SO_TIMESTAMP: i32 = 29;
const SO_ACCEPTCONN: i32 = 30;
const SO_SNDBUFFORCE: i32 = 32;
const SO_RCVBUFFORCE: i32 = 33;
const SO_MARK: i32 = 36;
const SO_PROTOCOL: i32 = 38;
const SO_DOMAIN: i32 = 39;
const SO_RCVTIMEO_NEW: i32 = 66;
const SO_SNDTIMEO_NEW: i32 = 67;

const TCP_NODELAY: i32 = 1;
const TCP_KEEPIDLE: i32 = 4;
const TCP_KEEPINTVL: i32 = 5;
const TCP_KEEPCNT: i32 = 6;
const IPV6_V6ONLY: i32 = 26;
const IPV6_UNICAST_HOPS: i32 = 16;
const IPV6_TCLASS: i32 = 67;
const IP_TTL: i32 = 2;
const SOL_NETLINK: i32 = 270;

/// net.core.wmem_max/rmem_max as Linux defaults them: the most a plain
/// SO_SNDBUF/SO_RCVBUF asks for before doubling.
const BUF_MAX: i32 = 212992;
const SOCK_MIN_SNDBUF: i32 = 4608;
const SOCK_MIN_RCVBUF: i32 = 2304;

/// Stored-only integer options and their defaults, by level.
fn stored_default(s: &Sock, level: i32, name: i32) -> Option<i32> {
    let inet = s.domain.is_inet();
    Some(match (level, name) {
        (SOL_SOCKET, SO_DEBUG | SO_DONTROUTE | SO_NO_CHECK | SO_PRIORITY | SO_TIMESTAMP | SO_MARK) => 0,
        (SOL_SOCKET, SO_RCVLOWAT | SO_SNDLOWAT) => 1,
        // TCP_MAXSEG, TCP_CORK, TCP_SYNCNT, TCP_LINGER2, TCP_DEFER_ACCEPT,
        // TCP_WINDOW_CLAMP, TCP_QUICKACK, TCP_CONGESTION excluded,
        // TCP_USER_TIMEOUT, TCP_FASTOPEN, TCP_NOTSENT_LOWAT.
        (IPPROTO_TCP, 3 | 9 | 10 | 18 | 23) if inet && s.kind == Kind::Stream => 0,
        (IPPROTO_TCP, 2) if inet && s.kind == Kind::Stream => 536,
        (IPPROTO_TCP, 7) if inet && s.kind == Kind::Stream => 6,
        (IPPROTO_TCP, 8) if inet && s.kind == Kind::Stream => 60,
        (IPPROTO_TCP, 12) if inet && s.kind == Kind::Stream => 1,
        (IPPROTO_TCP, 25) if inet && s.kind == Kind::Stream => -1,
        (IPPROTO_TCP, TCP_KEEPIDLE) if inet && s.kind == Kind::Stream => 7200,
        (IPPROTO_TCP, TCP_KEEPINTVL) if inet && s.kind == Kind::Stream => 75,
        (IPPROTO_TCP, TCP_KEEPCNT) if inet && s.kind == Kind::Stream => 9,
        // IP_TOS, IP_TTL, IP_PKTINFO, IP_RECVERR, IP_RECVTOS, IP_FREEBIND,
        // IP_MULTICAST_TTL, IP_MULTICAST_LOOP.
        (IPPROTO_IP, 1 | 8 | 11 | 12 | 13 | 15) if inet => 0,
        (IPPROTO_IP, 2) if inet => 64,
        (IPPROTO_IP, 33 | 34) if inet => 1,
        // IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS, IPV6_RECVERR,
        // IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS, IPV6_TCLASS.
        (IPPROTO_IPV6, 16) if s.is_v6() => 64,
        (IPPROTO_IPV6, 18) if s.is_v6() => 1,
        (IPPROTO_IPV6, 25 | 49 | 51 | 66 | 67) if s.is_v6() => 0,
        // NETLINK_PKTINFO, NETLINK_BROADCAST_ERROR, NETLINK_NO_ENOBUFS,
        // NETLINK_LISTEN_ALL_NSID, NETLINK_CAP_ACK, NETLINK_EXT_ACK,
        // NETLINK_GET_STRICT_CHK: flags that change nothing in the
        // answers this kernel gives; membership (1, 2) joins groups that
        // never send.
        (SOL_NETLINK, 1..=5 | 8 | 10..=12) if s.domain == Domain::Netlink => 0,
        // UDP-Lite checksum coverage (0: the whole datagram), at either
        // UDP level.
        (IPPROTO_UDP | IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV | UDPLITE_RECV_CSCOV) if s.protocol == IPPROTO_UDPLITE => 0,
        _ => return None,
    })
}

/// The level is wrong for this socket: AF_UNIX has no protocol options.
fn bad_level(s: &Sock) -> Errno {
    if matches!(s.domain, Domain::Unix | Domain::Netlink) {
        Errno::EOPNOTSUPP
    } else {
        Errno::ENOPROTOOPT
    }
}

fn int(v: i32) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn timeval(t: (i64, i64)) -> Vec<u8> {
    let mut b = t.0.to_le_bytes().to_vec();
    b.extend_from_slice(&t.1.to_le_bytes());
    b
}

/// The option's current value, as bytes.
fn get(s: &Sock, level: i32, name: i32) -> Result<Vec<u8>, Errno> {
    let mut st = s.st.borrow_mut();
    if let Some(&v) = st.opts.other.get(&(level, name)) {
        return Ok(int(v));
    }
    let o = &st.opts;
    Ok(match (level, name) {
        (SOL_SOCKET, SO_TYPE) => int(s.kind.number() as i32),
        (SOL_SOCKET, SO_PROTOCOL) => int(s.protocol),
        (SOL_SOCKET, SO_DOMAIN) => int(s.domain.family() as i32),
        (SOL_SOCKET, SO_ERROR) => int(st.err.take().map_or(0, |e| e.0)),
        (SOL_SOCKET, SO_SNDBUF) => int(o.sndbuf),
        (SOL_SOCKET, SO_RCVBUF) => int(o.rcvbuf),
        (SOL_SOCKET, SO_REUSEADDR) => int(o.reuseaddr as i32),
        (SOL_SOCKET, SO_REUSEPORT) => int(o.reuseport as i32),
        (SOL_SOCKET, SO_KEEPALIVE) => int(o.keepalive as i32),
        (SOL_SOCKET, SO_BROADCAST) => int(o.broadcast as i32),
        (SOL_SOCKET, SO_OOBINLINE) => int(o.oobinline as i32),
        (SOL_SOCKET, SO_PASSCRED) => int(o.passcred as i32),
        (SOL_SOCKET, SO_ACCEPTCONN) => int(matches!(st.conn, crate::net::Conn::Listening { .. }) as i32),
        (SOL_SOCKET, SO_PEERCRED) => {
            let c = if s.domain == Domain::Unix { st.peercred } else { None };
            let (pid, uid, gid) = c.map_or((0, u32::MAX, u32::MAX), |c| (c.pid, c.uid, c.gid));
            [pid, uid, gid].iter().flat_map(|v| v.to_le_bytes()).collect()
        }
        (SOL_SOCKET, SO_LINGER) => {
            let mut b = int(o.linger.0 as i32);
            b.extend_from_slice(&o.linger.1.to_le_bytes());
            b
        }
        (SOL_SOCKET, SO_RCVTIMEO_OLD | SO_RCVTIMEO_NEW) => timeval(o.rcvtimeo),
        (SOL_SOCKET, SO_SNDTIMEO_OLD | SO_SNDTIMEO_NEW) => timeval(o.sndtimeo),
        (IPPROTO_TCP, TCP_NODELAY) if s.domain.is_inet() && s.kind == Kind::Stream => int(o.nodelay as i32),
        (IPPROTO_IPV6, IPV6_V6ONLY) if s.is_v6() => int(o.v6only as i32),
        (SOL_SOCKET, _) => stored_default(s, level, name).map(int).ok_or(Errno::ENOPROTOOPT)?,
        (IPPROTO_TCP | IPPROTO_IP | IPPROTO_IPV6 | IPPROTO_UDP | IPPROTO_UDPLITE, _) if s.domain.is_inet() => {
            stored_default(s, level, name).map(int).ok_or(Errno::ENOPROTOOPT)?
        }
        (SOL_NETLINK, _) if s.domain == Domain::Netlink => stored_default(s, level, name).map(int).ok_or(Errno::ENOPROTOOPT)?,
        _ => return Err(bad_level(s)),
    })
}

pub fn sys_getsockopt(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (_, s) = sock_fd(ctx, a.arg(0) as i32)?;
    let (level, name, optval, optlen) = (a.arg(1) as i32, a.arg(2) as i32, a.arg(3), a.arg(4));
    let len: i32 = ctx.user().read_val(optlen)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let v = get(&s, level, name)?;
    let n = v.len().min(len as usize);
    ctx.user().write_bytes(optval, &v[..n])?;
    ctx.user().write_val(optlen, &(n as i32))?;
    ret(0)
}

/// SO_SNDBUF/SO_RCVBUF: Linux doubles the request (for its bookkeeping)
/// within [minimum, 2 * max].
fn buf_size(v: i32, min: i32, force: bool) -> i32 {
    let v = if force { v.max(0) } else { v.clamp(0, BUF_MAX) };
    v.saturating_mul(2).max(min)
}

pub fn sys_setsockopt(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (_, s) = sock_fd(ctx, a.arg(0) as i32)?;
    let (level, name, optval, optlen) = (a.arg(1) as i32, a.arg(2) as i32, a.arg(3), a.arg(4) as i32);
    if optlen < 0 {
        return Err(Errno::EINVAL);
    }
    let known = matches!(level, SOL_SOCKET)
        || (s.domain.is_inet() && matches!(level, IPPROTO_TCP | IPPROTO_IP | IPPROTO_IPV6 | IPPROTO_UDP | IPPROTO_UDPLITE))
        || (s.domain == Domain::Netlink && level == SOL_NETLINK);
    if !known {
        return Err(bad_level(&s));
    }
    // Every option here reads at least an int first.
    if optlen < 4 {
        return Err(Errno::EINVAL);
    }
    let v: i32 = ctx.user().read_val(optval)?;
    let timeout = |ctx: &mut Ctx| -> Result<(i64, i64), Errno> {
        if optlen < 16 {
            return Err(Errno::EINVAL);
        }
        let sec: i64 = ctx.user().read_val(optval)?;
        let usec: i64 = ctx.user().read_val(optval.wrapping_add(8))?;
        if !(0..1_000_000).contains(&usec) {
            return Err(Errno::EDOM);
        }
        Ok(if sec < 0 { (0, 0) } else { (sec, usec) })
    };
    let tcp = s.domain.is_inet() && s.kind == Kind::Stream;
    match (level, name) {
        (SOL_SOCKET, SO_TYPE | SO_PROTOCOL | SO_DOMAIN | SO_ERROR | SO_ACCEPTCONN | SO_PEERCRED) => return Err(Errno::ENOPROTOOPT),
        (SOL_SOCKET, SO_SNDBUF | SO_SNDBUFFORCE) => s.st.borrow_mut().opts.sndbuf = buf_size(v, SOCK_MIN_SNDBUF, name == SO_SNDBUFFORCE),
        (SOL_SOCKET, SO_RCVBUF | SO_RCVBUFFORCE) => s.st.borrow_mut().opts.rcvbuf = buf_size(v, SOCK_MIN_RCVBUF, name == SO_RCVBUFFORCE),
        (SOL_SOCKET, SO_REUSEADDR) => s.st.borrow_mut().opts.reuseaddr = v != 0,
        (SOL_SOCKET, SO_REUSEPORT) => s.st.borrow_mut().opts.reuseport = v != 0,
        (SOL_SOCKET, SO_KEEPALIVE) => s.st.borrow_mut().opts.keepalive = v != 0,
        (SOL_SOCKET, SO_BROADCAST) => s.st.borrow_mut().opts.broadcast = v != 0,
        (SOL_SOCKET, SO_OOBINLINE) => s.st.borrow_mut().opts.oobinline = v != 0,
        (SOL_SOCKET, SO_PASSCRED) => s.st.borrow_mut().opts.passcred = v != 0,
        (SOL_SOCKET, SO_LINGER) => {
            if optlen < 8 {
                return Err(Errno::EINVAL);
            }
            let secs: i32 = ctx.user().read_val(optval.wrapping_add(4))?;
            let mut st = s.st.borrow_mut();
            // Turning lingering off keeps the old time, as Linux does.
            st.opts.linger = if v == 0 { (false, st.opts.linger.1) } else { (true, secs.max(0)) };
        }
        (SOL_SOCKET, SO_RCVTIMEO_OLD | SO_RCVTIMEO_NEW) => {
            let t = timeout(ctx)?;
            s.st.borrow_mut().opts.rcvtimeo = t;
        }
        (SOL_SOCKET, SO_SNDTIMEO_OLD | SO_SNDTIMEO_NEW) => {
            let t = timeout(ctx)?;
            s.st.borrow_mut().opts.sndtimeo = t;
        }
        (IPPROTO_TCP, TCP_NODELAY) if tcp => s.st.borrow_mut().opts.nodelay = v != 0,
        (IPPROTO_TCP, TCP_KEEPIDLE | TCP_KEEPINTVL) if tcp && !(1..=32767).contains(&v) => return Err(Errno::EINVAL),
        (IPPROTO_TCP, TCP_KEEPCNT) if tcp && !(1..=127).contains(&v) => return Err(Errno::EINVAL),
        (IPPROTO_IPV6, IPV6_V6ONLY) if s.is_v6() => {
            let mut st = s.st.borrow_mut();
            if st.local.is_some() {
                return Err(Errno::EINVAL);
            }
            st.opts.v6only = v != 0;
        }
        _ => {
            let Some(default) = stored_default(&s, level, name) else {
                return Err(Errno::ENOPROTOOPT);
            };
            // The header fields sends use: -1 asks for the default; ip(7)
            // and ipv6(7) give the ranges.
            let v = match (level, name) {
                (IPPROTO_IP, IP_TTL) if v == -1 => default,
                (IPPROTO_IP, IP_TTL) if !(1..=255).contains(&v) => return Err(Errno::EINVAL),
                (IPPROTO_IPV6, IPV6_UNICAST_HOPS | IPV6_TCLASS) if v == -1 => default,
                (IPPROTO_IPV6, IPV6_UNICAST_HOPS | IPV6_TCLASS) if !(-1..=255).contains(&v) => return Err(Errno::EINVAL),
                // Coverage is at least the 8-byte header, at most 65535.
                (_, UDPLITE_SEND_CSCOV | UDPLITE_RECV_CSCOV) if v != 0 && v < 8 => 8,
                (_, UDPLITE_SEND_CSCOV | UDPLITE_RECV_CSCOV) => v.min(u16::MAX as i32),
                _ => v,
            };
            s.st.borrow_mut().opts.other.insert((level, name), v);
        }
    }
    ret(0)
}
