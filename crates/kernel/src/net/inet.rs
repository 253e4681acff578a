//! AF_INET and AF_INET6 naming: bound ports, ephemeral ports, and the
//! loopback "routing" that decides which guest socket an address reaches.
//!
//! Only loopback exists: 127.0.0.0/8, ::1, the IPv4-mapped 127.x
//! addresses and the unspecified addresses (connecting to 0.0.0.0 or ::
//! reaches loopback, as on Linux). Any other destination is ENETUNREACH;
//! a network backend (smoltcp) will take those in [`route`]. IPv4-mapped
//! addresses are compared as the IPv4 address they carry, so a dual-stack
//! AF_INET6 socket bound to `::` also receives IPv4 traffic unless
//! IPV6_V6ONLY is set.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::rc::{Rc, Weak};

use super::addr::{canonical, in_family};
use super::{with_ns, Addr, Kind, Sock};
use crate::errno::Errno;
use crate::vfs::Result;

/// Linux's default net.ipv4.ip_local_port_range.
const EPHEMERAL: (u16, u16) = (32768, 60999);

/// One bound inet socket.
pub struct Binding {
    pub sock: Weak<Sock>,
    pub kind: Kind,
    /// UDP and UDP-Lite have separate port spaces.
    pub protocol: i32,
    /// As bound, in the socket's family.
    pub ip: IpAddr,
    pub port: u16,
    pub v6only: bool,
    pub reuse: bool,
}

/// The addresses a binding receives for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Set {
    AllV4,
    AllV6,
    All,
    One(IpAddr),
}

fn set_of(ip: IpAddr, v6only: bool) -> Set {
    match ip {
        IpAddr::V4(a) if a.is_unspecified() => Set::AllV4,
        IpAddr::V6(a) if a.is_unspecified() => {
            if v6only {
                Set::AllV6
            } else {
                Set::All
            }
        }
        _ => Set::One(canonical(ip)),
    }
}

fn overlap(a: Set, b: Set) -> bool {
    match (a, b) {
        (Set::All, _) | (_, Set::All) => true,
        (Set::One(x), Set::One(y)) => x == y,
        (Set::One(x), Set::AllV4) | (Set::AllV4, Set::One(x)) => x.is_ipv4(),
        (Set::One(x), Set::AllV6) | (Set::AllV6, Set::One(x)) => x.is_ipv6(),
        (x, y) => x == y,
    }
}

/// How well a binding matches destination `ip` (canonical): exact
/// addresses beat wildcards.
fn covers(s: Set, ip: IpAddr) -> Option<u8> {
    match s {
        Set::One(x) if x == ip => Some(2),
        Set::All => Some(1),
        Set::AllV4 if ip.is_ipv4() => Some(1),
        Set::AllV6 if ip.is_ipv6() => Some(1),
        _ => None,
    }
}

/// Whether `ip` is one of this machine's addresses (or a wildcard).
fn is_local(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(a) => a.is_loopback() || a.is_unspecified(),
        IpAddr::V6(a) => a.is_loopback() || a.is_unspecified(),
    }
}

/// Where a packet to `to` goes: the canonical destination (a wildcard
/// means loopback). Only loopback is reachable so far.
pub fn route(to: SocketAddr) -> Result<SocketAddr> {
    let ip = match canonical(to.ip()) {
        IpAddr::V4(a) if a.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(a) if a.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip if is_local(ip) => ip,
        // The place for a real network backend.
        _ => return Err(Errno::ENETUNREACH),
    };
    Ok(SocketAddr::new(ip, to.port()))
}

/// [`route`] for traffic from `sock`: an IPV6_V6ONLY socket cannot
/// reach IPv4-mapped addresses.
pub fn route_from(sock: &Sock, to: SocketAddr) -> Result<SocketAddr> {
    if is_mapped(to.ip()) && sock.st.borrow().opts.v6only {
        return Err(Errno::ENETUNREACH);
    }
    route(to)
}

fn is_mapped(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(a) if a.to_ipv4_mapped().is_some())
}

/// bind(2) for an inet socket (port 0: an ephemeral port).
pub fn bind(sock: &Sock, a: SocketAddr, euid: u32) -> Result<()> {
    if is_mapped(a.ip()) && sock.st.borrow().opts.v6only {
        return Err(Errno::EINVAL);
    }
    if !is_local(a.ip()) {
        return Err(Errno::EADDRNOTAVAIL);
    }
    if a.port() != 0 && a.port() < 1024 && euid != 0 {
        return Err(Errno::EACCES);
    }
    let (v6only, reuse) = {
        let st = sock.st.borrow();
        if st.local.is_some() {
            return Err(Errno::EINVAL);
        }
        (st.opts.v6only, st.opts.reuseaddr)
    };
    let set = set_of(a.ip(), v6only && sock.is_v6());
    let live: Vec<(Set, u16, Kind, bool, bool)> = with_ns(|ns| {
        ns.inet.retain(|b| b.sock.strong_count() > 0);
        ns.inet
            .iter()
            .filter(|b| b.protocol == sock.protocol)
            .map(|b| (set_of(b.ip, b.v6only), b.port, b.kind, b.reuse, b.sock.upgrade().is_some_and(|s| s.is_listening())))
            .collect()
    });
    let clash = |port: u16| {
        live.iter().any(|&(s, p, k, r, listening)| {
            p == port && k == sock.kind && overlap(s, set) && !(r && reuse && (k == Kind::Dgram || !listening))
        })
    };
    let port = if a.port() != 0 {
        if clash(a.port()) {
            return Err(Errno::EADDRINUSE);
        }
        a.port()
    } else {
        let span = (EPHEMERAL.1 - EPHEMERAL.0 + 1) as u32;
        let start = with_ns(|ns| ns.next_port) as u32;
        let port =
            (0..span).map(|i| EPHEMERAL.0 + ((start + i) % span) as u16).find(|&p| !live.iter().any(|l| l.1 == p && l.2 == sock.kind));
        let port = port.ok_or(Errno::EADDRINUSE)?;
        with_ns(|ns| ns.next_port = (port - EPHEMERAL.0 + 1) % span as u16);
        port
    };
    let local = match a {
        SocketAddr::V4(v4) => SocketAddr::V4(SocketAddrV4::new(*v4.ip(), port)),
        SocketAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(*v6.ip(), port, 0, 0)),
    };
    with_ns(|ns| {
        ns.inet.push(Binding {
            sock: sock.weak(),
            kind: sock.kind,
            protocol: sock.protocol,
            ip: a.ip(),
            port,
            v6only: v6only && sock.is_v6(),
            reuse,
        })
    });
    sock.st.borrow_mut().local = Some(Addr::Inet(local));
    Ok(())
}

/// An unbound socket gets the wildcard address and an ephemeral port
/// (connect, listen, sendto do this).
pub fn autobind(sock: &Sock) -> Result<()> {
    if sock.st.borrow().local.is_some() {
        return Ok(());
    }
    let any = if sock.is_v6() { IpAddr::V6(Ipv6Addr::UNSPECIFIED) } else { IpAddr::V4(Ipv4Addr::UNSPECIFIED) };
    bind(sock, SocketAddr::new(any, 0), 0)
}

/// The bound address and port of an inet socket.
pub fn local_of(sock: &Sock) -> Option<SocketAddr> {
    match &sock.st.borrow().local {
        Some(Addr::Inet(a)) => Some(*a),
        _ => None,
    }
}

/// The source address of traffic from `sock` to `to` (canonical): its
/// bound address, or for a wildcard the loopback address of `to`'s
/// family. In the socket's family.
pub fn source_for(sock: &Sock, to: SocketAddr) -> SocketAddr {
    let local = local_of(sock).unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));
    let ip = if local.ip().is_unspecified() {
        match to.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        }
    } else {
        canonical(local.ip())
    };
    in_family(SocketAddr::new(ip, local.port()), sock.is_v6())
}

/// The socket of `protocol` that receives traffic for `to` (canonical): a
/// listener for streams, a bound socket for datagrams (one connected
/// elsewhere takes nothing from `from`).
pub fn find(kind: Kind, protocol: i32, to: SocketAddr, from: Option<SocketAddr>) -> Option<Rc<Sock>> {
    let cands: Vec<(Rc<Sock>, u8)> = with_ns(|ns| {
        ns.inet
            .iter()
            .filter(|b| b.kind == kind && b.protocol == protocol && b.port == to.port())
            .filter_map(|b| Some((b.sock.upgrade()?, covers(set_of(b.ip, b.v6only), to.ip())?)))
            .collect()
    });
    cands
        .into_iter()
        .filter(|(s, _)| {
            if kind != Kind::Dgram {
                return s.is_listening();
            }
            match (s.st.borrow().udp_peer, from) {
                (Some(p), Some(f)) => canonical(p.ip()) == canonical(f.ip()) && p.port() == f.port(),
                _ => true,
            }
        })
        .max_by_key(|(_, score)| *score)
        .map(|(s, _)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_sets_overlap_like_dual_stack_linux() {
        let any4 = set_of("0.0.0.0".parse().unwrap(), false);
        let any6 = set_of("::".parse().unwrap(), false);
        let only6 = set_of("::".parse().unwrap(), true);
        let lo4 = set_of("127.0.0.1".parse().unwrap(), false);
        let mapped = set_of("::ffff:127.0.0.1".parse().unwrap(), false);
        assert!(overlap(any4, any6));
        assert!(!overlap(any4, only6));
        assert!(overlap(lo4, mapped));
        assert!(overlap(lo4, any4));
        assert!(!overlap(lo4, set_of("127.0.0.2".parse().unwrap(), false)));
        assert_eq!(covers(any6, "127.0.0.1".parse().unwrap()), Some(1));
        assert_eq!(covers(only6, "127.0.0.1".parse().unwrap()), None);
        assert_eq!(covers(mapped, "127.0.0.1".parse().unwrap()), Some(2));
    }

    #[test]
    fn only_loopback_routes() {
        assert_eq!(route("0.0.0.0:5".parse().unwrap()).unwrap(), "127.0.0.1:5".parse().unwrap());
        assert_eq!(route("[::]:5".parse().unwrap()).unwrap(), "[::1]:5".parse().unwrap());
        assert_eq!(route("[::ffff:127.0.0.3]:5".parse().unwrap()).unwrap(), "127.0.0.3:5".parse().unwrap());
        assert_eq!(route("10.0.0.1:5".parse().unwrap()), Err(Errno::ENETUNREACH));
    }
}
