//! Socket addresses: the guest's `struct sockaddr_*` bytes to and from
//! [`Addr`], with the length rules of bind(2)/connect(2) and the exact
//! lengths getsockname(2) reports.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::errno::Errno;

pub const AF_UNSPEC: u16 = 0;
pub const AF_UNIX: u16 = 1;
pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;

/// offsetof(struct sockaddr_un, sun_path).
pub const SUN_PATH_OFFSET: usize = 2;
/// sizeof(struct sockaddr_un).
pub const SOCKADDR_UN_LEN: usize = 110;
pub const SOCKADDR_IN_LEN: usize = 16;
pub const SOCKADDR_IN6_LEN: usize = 28;
/// The RFC 2133 sockaddr_in6 without sin6_scope_id, still accepted.
pub const SIN6_LEN_RFC2133: usize = 24;

/// An AF_UNIX name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnixName {
    /// Not bound (or a socketpair end).
    Unnamed,
    /// A filesystem name, as given (without the NUL).
    Path(Vec<u8>),
    /// The abstract namespace: the bytes after the leading NUL.
    Abstract(Vec<u8>),
}

/// A socket's own or its peer's address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Addr {
    Unix(UnixName),
    Inet(SocketAddr),
    /// A netlink port id and multicast groups (port 0 is the kernel).
    Netlink {
        pid: u32,
        groups: u32,
    },
}

impl Addr {
    /// The bytes getsockname/getpeername/accept/recvfrom copy out; their
    /// length is what `*addrlen` reports.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Addr::Unix(n) => {
                let mut b = AF_UNIX.to_le_bytes().to_vec();
                match n {
                    UnixName::Unnamed => {}
                    UnixName::Path(p) => {
                        b.extend_from_slice(p);
                        b.push(0);
                    }
                    UnixName::Abstract(a) => {
                        b.push(0);
                        b.extend_from_slice(a);
                    }
                }
                b
            }
            Addr::Inet(SocketAddr::V4(a)) => {
                let mut b = vec![0u8; SOCKADDR_IN_LEN];
                b[..2].copy_from_slice(&AF_INET.to_le_bytes());
                b[2..4].copy_from_slice(&a.port().to_be_bytes());
                b[4..8].copy_from_slice(&a.ip().octets());
                b
            }
            Addr::Netlink { pid, groups } => super::netlink::encode_addr(*pid, *groups),
            Addr::Inet(SocketAddr::V6(a)) => {
                let mut b = vec![0u8; SOCKADDR_IN6_LEN];
                b[..2].copy_from_slice(&AF_INET6.to_le_bytes());
                b[2..4].copy_from_slice(&a.port().to_be_bytes());
                b[4..8].copy_from_slice(&a.flowinfo().to_be_bytes());
                b[8..24].copy_from_slice(&a.ip().octets());
                b[24..28].copy_from_slice(&a.scope_id().to_le_bytes());
                b
            }
        }
    }
}

/// The family field of a sockaddr (0 when too short to have one).
pub fn family(b: &[u8]) -> Option<u16> {
    (b.len() >= 2).then(|| u16::from_le_bytes([b[0], b[1]]))
}

/// An AF_UNIX name from a bind/connect/sendto address (`b` is the
/// `addrlen` bytes). The path ends at the first NUL, as Linux reads it.
pub fn parse_unix(b: &[u8]) -> Result<UnixName, Errno> {
    if b.len() <= SUN_PATH_OFFSET || b.len() > SOCKADDR_UN_LEN || family(b) != Some(AF_UNIX) {
        return Err(Errno::EINVAL);
    }
    let path = &b[SUN_PATH_OFFSET..];
    if path[0] == 0 {
        return Ok(UnixName::Abstract(path[1..].to_vec()));
    }
    let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
    Ok(UnixName::Path(path[..end].to_vec()))
}

/// An AF_INET or AF_INET6 address for a socket of family `v6`. `bind`
/// selects bind(2)'s rules (an AF_UNSPEC INADDR_ANY is accepted on IPv4).
pub fn parse_inet(b: &[u8], v6: bool, bind: bool) -> Result<SocketAddr, Errno> {
    if v6 {
        if b.len() < SIN6_LEN_RFC2133 {
            return Err(Errno::EINVAL);
        }
        if family(b) != Some(AF_INET6) {
            return Err(Errno::EAFNOSUPPORT);
        }
        let port = u16::from_be_bytes([b[2], b[3]]);
        let flow = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
        let mut ip = [0u8; 16];
        ip.copy_from_slice(&b[8..24]);
        let scope = if b.len() >= SOCKADDR_IN6_LEN { u32::from_le_bytes([b[24], b[25], b[26], b[27]]) } else { 0 };
        return Ok(SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(ip), port, flow, scope)));
    }
    if b.len() < SOCKADDR_IN_LEN {
        return Err(Errno::EINVAL);
    }
    let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
    match family(b) {
        Some(AF_INET) => {}
        Some(AF_UNSPEC) if bind && ip.is_unspecified() => {}
        _ => return Err(Errno::EAFNOSUPPORT),
    }
    Ok(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be_bytes([b[2], b[3]]))))
}

/// The IPv4 address behind an IPv4-mapped IPv6 one; others unchanged.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `ip` as a socket of the given family shows it (IPv4 in an AF_INET6
/// socket is IPv4-mapped).
pub fn in_family(a: SocketAddr, v6: bool) -> SocketAddr {
    match (a, v6) {
        (SocketAddr::V4(a4), true) => SocketAddr::V6(SocketAddrV6::new(a4.ip().to_ipv6_mapped(), a4.port(), 0, 0)),
        (SocketAddr::V6(a6), false) => match a6.ip().to_ipv4_mapped() {
            Some(ip) => SocketAddr::V4(SocketAddrV4::new(ip, a6.port())),
            None => a,
        },
        _ => a,
    }
}

/// strace's rendering of an address family.
pub fn family_name(v: u64) -> String {
    match v as u16 {
        _ if v > u16::MAX as u64 => v.to_string(),
        AF_UNSPEC => "AF_UNSPEC".into(),
        AF_UNIX => "AF_UNIX".into(),
        AF_INET => "AF_INET".into(),
        AF_INET6 => "AF_INET6".into(),
        16 => "AF_NETLINK".into(),
        17 => "AF_PACKET".into(),
        f => f.to_string(),
    }
}

/// strace's rendering of a socket type with its flags.
pub fn type_name(v: u64) -> String {
    let mut s = match v & 0xf {
        1 => "SOCK_STREAM".to_string(),
        2 => "SOCK_DGRAM".to_string(),
        3 => "SOCK_RAW".to_string(),
        5 => "SOCK_SEQPACKET".to_string(),
        t => t.to_string(),
    };
    if v & 0o2000000 != 0 {
        s += "|SOCK_CLOEXEC";
    }
    if v & 0o4000 != 0 {
        s += "|SOCK_NONBLOCK";
    }
    s
}

/// strace's rendering of a struct sockaddr.
pub fn describe(b: &[u8]) -> String {
    let fam = family(b).map_or("?".to_string(), |f| family_name(f as u64));
    match family(b) {
        Some(AF_UNIX) if b.len() > SUN_PATH_OFFSET => match parse_unix(b) {
            Ok(UnixName::Path(p)) => format!("{{sa_family={fam}, sun_path={:?}}}", String::from_utf8_lossy(&p)),
            Ok(UnixName::Abstract(a)) => format!("{{sa_family={fam}, sun_path=@{:?}}}", String::from_utf8_lossy(&a)),
            _ => format!("{{sa_family={fam}}}"),
        },
        Some(AF_INET) => match parse_inet(b, false, false) {
            Ok(a) => format!("{{sa_family={fam}, sin_port=htons({}), sin_addr=inet_addr(\"{}\")}}", a.port(), a.ip()),
            Err(_) => format!("{{sa_family={fam}}}"),
        },
        Some(AF_INET6) => match parse_inet(b, true, false) {
            Ok(a) => format!("{{sa_family={fam}, sin6_port=htons({}), sin6_addr={}}}", a.port(), a.ip()),
            Err(_) => format!("{{sa_family={fam}}}"),
        },
        Some(super::netlink::AF_NETLINK) => match super::netlink::parse_addr(b) {
            Ok((pid, groups)) => format!("{{sa_family={fam}, nl_pid={pid}, nl_groups={groups:08x}}}"),
            Err(_) => format!("{{sa_family={fam}}}"),
        },
        _ => format!("{{sa_family={fam}}}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_names_round_trip_with_linux_lengths() {
        let mut b = vec![1, 0];
        b.extend_from_slice(b"/tmp/s\0garbage");
        let n = parse_unix(&b).unwrap();
        assert_eq!(n, UnixName::Path(b"/tmp/s".to_vec()));
        assert_eq!(Addr::Unix(n).encode().len(), 2 + 6 + 1);
        let n = parse_unix(&[1, 0, 0, b'a', b'b']).unwrap();
        assert_eq!(n, UnixName::Abstract(b"ab".to_vec()));
        assert_eq!(Addr::Unix(n).encode(), vec![1, 0, 0, b'a', b'b']);
        assert_eq!(Addr::Unix(UnixName::Unnamed).encode().len(), 2);
        assert_eq!(parse_unix(&[1, 0]), Err(Errno::EINVAL));
        assert_eq!(parse_unix(&[2, 0, b'a']), Err(Errno::EINVAL));
        assert_eq!(parse_unix(&[1u8; 111]), Err(Errno::EINVAL));
    }

    #[test]
    fn inet_addresses_parse_and_map() {
        let b = Addr::Inet("127.0.0.1:8080".parse().unwrap()).encode();
        assert_eq!(b[..8], [2, 0, 0x1f, 0x90, 127, 0, 0, 1]);
        assert_eq!(parse_inet(&b, false, false).unwrap(), "127.0.0.1:8080".parse().unwrap());
        assert_eq!(parse_inet(&b[..15], false, false), Err(Errno::EINVAL));
        assert_eq!(parse_inet(&b, true, false), Err(Errno::EINVAL));
        let mut unspec = vec![0u8; 16];
        assert!(parse_inet(&unspec, false, true).is_ok());
        assert_eq!(parse_inet(&unspec, false, false), Err(Errno::EAFNOSUPPORT));
        unspec[4] = 127;
        assert_eq!(parse_inet(&unspec, false, true), Err(Errno::EAFNOSUPPORT));
        let m = in_family("127.0.0.1:1".parse().unwrap(), true);
        assert_eq!(m.to_string(), "[::ffff:127.0.0.1]:1");
        assert_eq!(canonical(m.ip()), IpAddr::V4(Ipv4Addr::LOCALHOST));
        let b6 = Addr::Inet("[::1]:80".parse().unwrap()).encode();
        assert_eq!(b6.len(), 28);
        assert_eq!(parse_inet(&b6, true, false).unwrap(), "[::1]:80".parse().unwrap());
    }

    #[test]
    fn strace_shows_addresses() {
        let mut b = vec![1, 0];
        b.extend_from_slice(b"/run/x\0");
        assert_eq!(describe(&b), "{sa_family=AF_UNIX, sun_path=\"/run/x\"}");
        assert_eq!(describe(&[1, 0, 0, b'a']), "{sa_family=AF_UNIX, sun_path=@\"a\"}");
        let v4 = Addr::Inet("127.0.0.1:80".parse().unwrap()).encode();
        assert_eq!(describe(&v4), "{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"127.0.0.1\")}");
        assert_eq!(type_name(1 | 0o2000000 | 0o4000), "SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK");
        assert_eq!(family_name(10), "AF_INET6");
    }
}
