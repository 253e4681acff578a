//! AF_NETLINK sockets of the NETLINK_ROUTE protocol: the requests glibc
//! and tools make to learn the VM's interfaces and addresses
//! (`if_nameindex`, `getifaddrs`, getaddrinfo's AI_ADDRCONFIG check, `ip
//! link`/`ip addr`). A request goes to the kernel (port 0) and its answer
//! is queued on the sender's own receive queue as datagrams, so receiving
//! is the datagram path every socket has. Interface data comes from
//! [`super::iface`]. Changing links, addresses or routes is refused
//! (EPERM); other message types get EOPNOTSUPP, each as netlink's error
//! message, as Linux answers requests it does not know.

use super::addr::Addr;
use super::buffer::Segment;
use super::iface::{self, Iface};
use super::{with_ns, Sock, POLLIN};
use crate::errno::Errno;
use crate::vfs::{Io, Result};

pub const AF_NETLINK: u16 = 16;
pub const NETLINK_ROUTE: i32 = 0;
/// sizeof(struct sockaddr_nl).
pub const SOCKADDR_NL_LEN: usize = 12;

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_MULTI: u16 = 0x2;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
/// An acknowledgement without the request's payload.
const NLM_F_CAPPED: u16 = 0x100;

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_SETLINK: u16 = 19;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;

const IFLA_ADDRESS: u16 = 1;
const IFLA_BROADCAST: u16 = 2;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_TXQLEN: u16 = 13;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKMODE: u16 = 17;
/// IF_OPER_UNKNOWN: what `lo` reports.
const IF_OPER_UNKNOWN: u8 = 0;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_CACHEINFO: u16 = 6;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;
const RT_SCOPE_HOST: u8 = 254;

/// (nl_pid, nl_groups) from a sockaddr_nl.
pub fn parse_addr(b: &[u8]) -> Result<(u32, u32)> {
    if b.len() < SOCKADDR_NL_LEN || super::addr::family(b) != Some(AF_NETLINK) {
        return Err(Errno::EINVAL);
    }
    let word = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
    Ok((word(4), word(8)))
}

pub fn encode_addr(pid: u32, groups: u32) -> Vec<u8> {
    let mut b = vec![0u8; SOCKADDR_NL_LEN];
    b[..2].copy_from_slice(&AF_NETLINK.to_le_bytes());
    b[4..8].copy_from_slice(&pid.to_le_bytes());
    b[8..12].copy_from_slice(&groups.to_le_bytes());
    b
}

fn port_of(s: &Sock) -> Option<u32> {
    match s.st.borrow().local {
        Some(Addr::Netlink { pid, .. }) => Some(pid),
        _ => None,
    }
}

fn port_taken(pid: u32) -> bool {
    with_ns(|ns| ns.netlink_ports.get(&pid).is_some_and(|w| w.strong_count() > 0))
}

/// bind(2): a port id of 0 asks for one to be chosen. Multicast groups
/// are accepted and never receive anything (nothing changes at run time).
pub fn bind(s: &Sock, pid: u32, groups: u32) -> Result<()> {
    if let Some(bound) = port_of(s) {
        return if pid == 0 || pid == bound { Ok(()) } else { Err(Errno::EINVAL) };
    }
    if pid == 0 {
        return autobind_with(s, groups);
    }
    if port_taken(pid) {
        return Err(Errno::EADDRINUSE);
    }
    claim(s, pid, groups);
    Ok(())
}

fn claim(s: &Sock, pid: u32, groups: u32) {
    with_ns(|ns| ns.netlink_ports.insert(pid, s.weak()));
    s.st.borrow_mut().local = Some(Addr::Netlink { pid, groups });
}

/// The port id Linux picks: the process id for a process's first socket,
/// then negative numbers counting down from -4096.
fn autobind_with(s: &Sock, groups: u32) -> Result<()> {
    if port_of(s).is_some() {
        return Ok(());
    }
    let mut pid = s.owner.pid;
    if port_taken(pid) {
        pid = with_ns(|ns| {
            let mut next = ns.netlink_rover.wrapping_sub(1);
            if next == 0 || next > (-4096i32) as u32 {
                next = (-4096i32) as u32;
            }
            while ns.netlink_ports.get(&next).is_some_and(|w| w.strong_count() > 0) {
                next = next.wrapping_sub(1);
            }
            ns.netlink_rover = next;
            next
        });
    }
    claim(s, pid, groups);
    Ok(())
}

/// What a netlink socket's getsockname reports.
pub fn local_addr(s: &Sock) -> Addr {
    s.st.borrow().local.clone().unwrap_or(Addr::Netlink { pid: 0, groups: 0 })
}

/// sendmsg(2) to port `dest`: the kernel (0) answers; user ports are not
/// reachable.
pub fn send(s: &Sock, data: &[u8], dest: u32) -> Result<Io> {
    // The sender gets its port first, even when the send then fails.
    autobind_with(s, 0)?;
    if dest != 0 {
        return Err(Errno::ECONNREFUSED);
    }
    let port = port_of(s).unwrap_or(0);
    let replies = answer(data, port);
    if !replies.is_empty() {
        let mut st = s.st.borrow_mut();
        for r in replies {
            let mut seg = Segment::new(r, s.owner);
            seg.from = Some(Addr::Netlink { pid: 0, groups: 0 });
            st.rx.push(seg);
        }
        drop(st);
        s.queue.notify_events(POLLIN);
    }
    Ok(Io::Done(data.len()))
}

/// One message: header then payload, padded to 4 bytes.
struct Msg {
    buf: Vec<u8>,
}

impl Msg {
    fn new(ty: u16, flags: u16, seq: u32, port: u32) -> Msg {
        let mut buf = vec![0u8; NLMSG_HDRLEN];
        buf[4..6].copy_from_slice(&ty.to_le_bytes());
        buf[6..8].copy_from_slice(&flags.to_le_bytes());
        buf[8..12].copy_from_slice(&seq.to_le_bytes());
        buf[12..16].copy_from_slice(&port.to_le_bytes());
        Msg { buf }
    }

    fn put(&mut self, b: &[u8]) -> &mut Msg {
        self.buf.extend_from_slice(b);
        self
    }

    /// A route attribute (struct rtattr and its payload, aligned).
    fn attr(&mut self, ty: u16, payload: &[u8]) -> &mut Msg {
        let len = 4 + payload.len();
        self.buf.extend_from_slice(&(len as u16).to_le_bytes());
        self.buf.extend_from_slice(&ty.to_le_bytes());
        self.buf.extend_from_slice(payload);
        self.align();
        self
    }

    fn align(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.align();
        let len = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&len.to_le_bytes());
        self.buf
    }
}

fn cstr(s: &str) -> Vec<u8> {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    b
}

fn link_msg(dev: &Iface, flags: u16, seq: u32, port: u32) -> Vec<u8> {
    let mut m = Msg::new(RTM_NEWLINK, flags, seq, port);
    // struct ifinfomsg: family, pad, type, index, flags, change.
    let mut info = vec![0u8; 16];
    info[2..4].copy_from_slice(&dev.kind.to_le_bytes());
    info[4..8].copy_from_slice(&dev.index.to_le_bytes());
    info[8..12].copy_from_slice(&dev.flags.to_le_bytes());
    m.put(&info)
        .attr(IFLA_IFNAME, &cstr(dev.name))
        .attr(IFLA_TXQLEN, &dev.txqlen.to_le_bytes())
        .attr(IFLA_OPERSTATE, &[IF_OPER_UNKNOWN])
        .attr(IFLA_LINKMODE, &[0])
        .attr(IFLA_MTU, &dev.mtu.to_le_bytes())
        .attr(IFLA_ADDRESS, &dev.hwaddr)
        .attr(IFLA_BROADCAST, &dev.hwaddr);
    m.finish()
}

/// RTM_NEWADDR messages for `dev`'s addresses of `family` (0: all).
fn addr_msgs(dev: &Iface, family: u8, flags: u16, seq: u32, port: u32, out: &mut Vec<Vec<u8>>) {
    // struct ifa_cacheinfo: preferred and valid lifetimes (forever), then
    // creation and update stamps.
    let mut cache = [0u8; 16];
    cache[..8].fill(0xff);
    let mut one = |fam: u16, prefix: u8, ip: &[u8], label: bool| {
        let mut m = Msg::new(RTM_NEWADDR, flags, seq, port);
        let mut ifa = [0u8; 8];
        ifa[0] = fam as u8;
        ifa[1] = prefix;
        ifa[2] = IFA_F_PERMANENT as u8;
        ifa[3] = RT_SCOPE_HOST;
        ifa[4..8].copy_from_slice(&(dev.index as u32).to_le_bytes());
        m.put(&ifa).attr(IFA_ADDRESS, ip);
        if label {
            m.attr(IFA_LOCAL, ip).attr(IFA_LABEL, &cstr(dev.name));
        }
        m.attr(IFA_FLAGS, &IFA_F_PERMANENT.to_le_bytes()).attr(IFA_CACHEINFO, &cache);
        out.push(m.finish());
    };
    if family == 0 || family as u16 == super::addr::AF_INET {
        for &(ip, prefix) in dev.v4 {
            one(super::addr::AF_INET, prefix, &ip.octets(), true);
        }
    }
    if family == 0 || family as u16 == super::addr::AF_INET6 {
        for &(ip, prefix) in dev.v6 {
            one(super::addr::AF_INET6, prefix, &ip.octets(), false);
        }
    }
}

/// NLMSG_ERROR: `err` 0 acknowledges. An error carries the whole request;
/// an acknowledgement only its header.
fn error_msg(err: i32, req: &[u8], port: u32) -> Vec<u8> {
    let seq = u32::from_le_bytes(req[8..12].try_into().expect("header"));
    let body = if err == 0 { &req[..NLMSG_HDRLEN] } else { req };
    let mut m = Msg::new(NLMSG_ERROR, if err == 0 { NLM_F_CAPPED } else { 0 }, seq, port);
    m.put(&err.to_le_bytes()).put(body);
    m.finish()
}

fn done_msg(seq: u32, port: u32) -> Vec<u8> {
    let mut m = Msg::new(NLMSG_DONE, NLM_F_MULTI, seq, port);
    m.put(&0i32.to_le_bytes());
    m.finish()
}

/// The attributes after a fixed header of `skip` bytes: (type, payload).
fn attrs(payload: &[u8], skip: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut rest = payload.get(skip..).unwrap_or(&[]);
    while rest.len() >= 4 {
        let len = u16::from_le_bytes([rest[0], rest[1]]) as usize;
        if len < 4 || len > rest.len() {
            break;
        }
        out.push((u16::from_le_bytes([rest[2], rest[3]]) & 0x3fff, &rest[4..len]));
        rest = rest.get((len + 3) & !3..).unwrap_or(&[]);
    }
    out
}

/// Everything the kernel sends back for the requests in `data`, one
/// datagram per entry (a dump's records share one, its NLMSG_DONE has its
/// own, as Linux sends them).
fn answer(data: &[u8], port: u32) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = data;
    // Linux stops at the first header that does not fit.
    while rest.len() >= NLMSG_HDRLEN {
        let len = u32::from_le_bytes(rest[..4].try_into().expect("header")) as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            break;
        }
        let req = &rest[..len];
        rest = rest.get((len + 3) & !3..).unwrap_or(&[]);
        let ty = u16::from_le_bytes([req[4], req[5]]);
        let flags = u16::from_le_bytes([req[6], req[7]]);
        let seq = u32::from_le_bytes(req[8..12].try_into().expect("header"));
        // Only requests are acted on; the control types are no-ops.
        if flags & NLM_F_REQUEST == 0 || ty < RTM_NEWLINK {
            continue;
        }
        let payload = &req[NLMSG_HDRLEN..];
        let result = match ty {
            RTM_GETLINK if flags & NLM_F_DUMP == NLM_F_DUMP => {
                let batch: Vec<u8> = iface::all().flat_map(|d| link_msg(d, NLM_F_MULTI, seq, port)).collect();
                out.push(batch);
                out.push(done_msg(seq, port));
                Ok(())
            }
            RTM_GETLINK => get_link(payload).map(|d| out.push(link_msg(d, 0, seq, port))),
            RTM_GETADDR if flags & NLM_F_DUMP == NLM_F_DUMP => {
                let family = payload.first().copied().unwrap_or(0);
                let mut recs = Vec::new();
                for d in iface::all() {
                    addr_msgs(d, family, NLM_F_MULTI, seq, port, &mut recs);
                }
                // Linux's IPv6 address dump ends in the same datagram;
                // the others send NLMSG_DONE on its own.
                if family as u16 == super::addr::AF_INET6 {
                    recs.push(done_msg(seq, port));
                    out.push(recs.concat());
                } else {
                    out.push(recs.concat());
                    out.push(done_msg(seq, port));
                }
                Ok(())
            }
            RTM_NEWLINK | RTM_DELLINK | RTM_SETLINK | RTM_NEWADDR | RTM_DELADDR | RTM_NEWROUTE | RTM_DELROUTE => Err(Errno::EPERM),
            _ => Err(Errno::EOPNOTSUPP),
        };
        match result {
            Err(e) => out.push(error_msg(-e.0, req, port)),
            Ok(()) if flags & NLM_F_ACK != 0 => out.push(error_msg(0, req, port)),
            Ok(()) => {}
        }
    }
    out
}

/// RTM_GETLINK for one interface: by index, else by IFLA_IFNAME.
fn get_link(payload: &[u8]) -> Result<&'static Iface> {
    if payload.len() < 16 {
        return Err(Errno::EINVAL);
    }
    let index = i32::from_le_bytes(payload[4..8].try_into().expect("ifinfomsg"));
    if index > 0 {
        return iface::by_index(index).ok_or(Errno::ENODEV);
    }
    let name = attrs(payload, 16).into_iter().find(|&(t, _)| t == IFLA_IFNAME).map(|(_, v)| v).ok_or(Errno::EINVAL)?;
    let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
    iface::by_name(&name[..end]).ok_or(Errno::ENODEV)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut m = Msg::new(ty, flags, seq, 0);
        m.put(payload);
        m.finish()
    }

    fn headers(dgram: &[u8]) -> Vec<(u16, u16, u32)> {
        let mut out = Vec::new();
        let mut rest = dgram;
        while rest.len() >= NLMSG_HDRLEN {
            let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
            out.push((
                u16::from_le_bytes([rest[4], rest[5]]),
                u16::from_le_bytes([rest[6], rest[7]]),
                u32::from_le_bytes(rest[8..12].try_into().unwrap()),
            ));
            rest = &rest[(len + 3) & !3..];
        }
        out
    }

    #[test]
    fn link_dump_lists_loopback_then_done() {
        let r = answer(&request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 7, &[0; 16]), 42);
        assert_eq!(r.len(), 2);
        assert_eq!(headers(&r[0]), vec![(RTM_NEWLINK, NLM_F_MULTI, 7)]);
        assert_eq!(headers(&r[1]), vec![(NLMSG_DONE, NLM_F_MULTI, 7)]);
        let names: Vec<_> = attrs(&r[0][NLMSG_HDRLEN..], 16).into_iter().filter(|a| a.0 == IFLA_IFNAME).collect();
        assert_eq!(names, vec![(IFLA_IFNAME, &b"lo\0"[..])]);
    }

    #[test]
    fn addr_dump_filters_by_family() {
        let all = answer(&request(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, &[0]), 1);
        assert_eq!(headers(&all[0]).len(), 2);
        let v6 = answer(&request(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, &[10]), 1);
        assert_eq!(headers(&v6[0]).len(), 2, "the IPv6 dump carries its NLMSG_DONE");
        assert_eq!(v6[0][NLMSG_HDRLEN], 10);
    }

    #[test]
    fn unknown_and_malformed_requests_get_errors_not_panics() {
        let r = answer(&request(RTM_GETLINK, NLM_F_REQUEST, 3, &[0; 4]), 1);
        assert_eq!(headers(&r[0]), vec![(NLMSG_ERROR, 0, 3)]);
        assert_eq!(i32::from_le_bytes(r[0][16..20].try_into().unwrap()), -Errno::EINVAL.0);
        let r = answer(&request(99, NLM_F_REQUEST | NLM_F_ACK, 4, &[]), 1);
        assert_eq!(i32::from_le_bytes(r[0][16..20].try_into().unwrap()), -Errno::EOPNOTSUPP.0);
        let mut by_name = vec![0u8; 16];
        by_name.extend_from_slice(&[7, 0, 3, 0, b'l', b'o', 0, 0]);
        let r = answer(&request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 5, &by_name), 1);
        assert_eq!(headers(&r[0]), vec![(RTM_NEWLINK, 0, 5)]);
        assert_eq!(headers(&r[1]), vec![(NLMSG_ERROR, NLM_F_CAPPED, 5)]);
        for junk in
            [&[1u8, 2, 3][..], &[255; 40], &[16, 0, 0, 0, 18, 0, 1, 0], &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]
        {
            let _ = answer(junk, 1);
        }
    }
}
