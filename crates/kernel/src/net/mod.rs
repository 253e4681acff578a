//! Sockets, all inside the guest: AF_UNIX (stream, datagram, seqpacket),
//! AF_INET/AF_INET6 on loopback (TCP-like streams and UDP-like datagrams
//! between guest sockets) and AF_NETLINK route queries ([`netlink`],
//! answered from the interface table in [`iface`]). A socket is one [`Sock`]; open file
//! descriptions hold it as their [`FileOps`], so read/write/poll/close and
//! O_NONBLOCK work as for any file, and the socket calls find it again
//! through [`FileOps::as_any`].
//!
//! The model: every socket has a receive queue ([`buffer::RecvQueue`]) and
//! a [`WaitQueue`]. A connected stream socket writes into its peer's
//! queue; a datagram goes into the queue of the socket its address names.
//! Every change notifies both ends' queues, so blocked reads, writes,
//! accepts and polls on either end are retried. Naming lives in
//! [`unix`] (filesystem nodes and abstract names) and [`inet`] (ports and
//! loopback routing); both tables belong to a [`Namespace`], one per host
//! thread (one kernel runs on one thread).
//!
//! Known gaps: descriptors in flight that reference each other in a cycle
//! (a socket sent over itself) leak, as there is no garbage collector;
//! non-loopback addresses give ENETUNREACH until a network backend exists.

pub mod addr;
pub mod buffer;
pub mod iface;
pub mod inet;
pub mod netlink;
pub mod unix;

use std::any::Any;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::errno::Errno;
use crate::host::Host;
use crate::mm::UserSpace;
use crate::vfs::{makedev, FileOps, FileType, Io, OpenFile, Result, Stat, StatFs, WaitQueue};
use addr::{Addr, UnixName};
use buffer::{IpHdr, Received, RecvQueue, Segment, Ucred, SEG_OVERHEAD};

pub const SOCK_STREAM: u32 = 1;
pub const SOCK_DGRAM: u32 = 2;
pub const SOCK_RAW: u32 = 3;
pub const SOCK_SEQPACKET: u32 = 5;

pub const POLLIN: u16 = 0x1;
pub const POLLOUT: u16 = 0x4;
pub const POLLERR: u16 = 0x8;
pub const POLLHUP: u16 = 0x10;
pub const POLLRDNORM: u16 = 0x40;
pub const POLLWRNORM: u16 = 0x100;
pub const POLLRDHUP: u16 = 0x2000;

/// Bytes a stream may have in flight to its peer (Linux's default
/// socket buffer, net.core.wmem_default).
pub const STREAM_CAP: usize = 212992;
/// Bytes a datagram receive queue holds before senders wait.
pub const DGRAM_CAP: usize = 212992;
/// net.unix.max_dgram_qlen.
const MAX_DGRAM_QLEN: usize = 10;
/// The default SO_SNDBUF/SO_RCVBUF of AF_UNIX sockets.
pub const UNIX_BUF: i32 = 212992;

const SIOCINQ: u32 = 0x541b;
const SIOCOUTQ: u32 = 0x5411;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    Unix,
    Inet,
    Inet6,
    /// NETLINK_ROUTE: requests to the kernel about interfaces.
    Netlink,
}

impl Domain {
    pub fn family(self) -> u16 {
        match self {
            Domain::Unix => addr::AF_UNIX,
            Domain::Inet => addr::AF_INET,
            Domain::Inet6 => addr::AF_INET6,
            Domain::Netlink => netlink::AF_NETLINK,
        }
    }

    /// AF_INET or AF_INET6: the families with IP, TCP and UDP.
    pub fn is_inet(self) -> bool {
        matches!(self, Domain::Inet | Domain::Inet6)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Stream,
    Dgram,
    Seqpacket,
}

impl Kind {
    pub fn number(self) -> u32 {
        match self {
            Kind::Stream => SOCK_STREAM,
            Kind::Dgram => SOCK_DGRAM,
            Kind::Seqpacket => SOCK_SEQPACKET,
        }
    }

    /// Whether the socket has connections (listen/accept, EOF, POLLHUP).
    pub fn connection(self) -> bool {
        self != Kind::Dgram
    }
}

/// A datagram send's own IP settings (-1 or None: the socket's).
#[derive(Clone, Copy, Debug, Default)]
pub struct IpSend {
    pub hoplimit: Option<i32>,
    pub tclass: Option<i32>,
}

/// Socket options the calls store and report (syscall/sockopt.rs).
#[derive(Clone, Debug)]
pub struct Options {
    pub sndbuf: i32,
    pub rcvbuf: i32,
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub keepalive: bool,
    pub passcred: bool,
    pub broadcast: bool,
    pub oobinline: bool,
    /// SO_LINGER: on, seconds.
    pub linger: (bool, i32),
    /// SO_RCVTIMEO/SO_SNDTIMEO as (seconds, microseconds); (0, 0): none.
    pub rcvtimeo: (i64, i64),
    pub sndtimeo: (i64, i64),
    pub nodelay: bool,
    pub v6only: bool,
    /// Other integer options, by (level, name), stored and reported back.
    pub other: HashMap<(i32, i32), i32>,
}

impl Options {
    fn new(domain: Domain, kind: Kind) -> Options {
        let (sndbuf, rcvbuf) = match (domain, kind) {
            (Domain::Unix, _) => (UNIX_BUF, UNIX_BUF),
            (_, Kind::Stream) => (16384, 131072),
            _ => (UNIX_BUF, UNIX_BUF),
        };
        Options {
            sndbuf,
            rcvbuf,
            reuseaddr: false,
            reuseport: false,
            keepalive: false,
            passcred: false,
            broadcast: false,
            oobinline: false,
            linger: (false, 0),
            rcvtimeo: (0, 0),
            sndtimeo: (0, 0),
            nodelay: false,
            v6only: false,
            other: HashMap::new(),
        }
    }
}

/// Where a socket is in its life.
pub enum Conn {
    Idle,
    /// listen(2) was called: connections wait in `pending` until accepted.
    Listening {
        backlog: usize,
        pending: VecDeque<Rc<Sock>>,
    },
    /// A stream/seqpacket peer, or the socket a datagram socket connected to.
    Connected(Weak<Sock>),
}

pub struct State {
    /// The bound name (None: unbound).
    pub local: Option<Addr>,
    /// What getpeername reports.
    pub peer_addr: Option<Addr>,
    pub conn: Conn,
    pub rx: RecvQueue,
    /// No more data will arrive (own SHUT_RD, or the peer shut its side).
    pub rcv_shut: bool,
    /// No more sending (own SHUT_WR; for AF_UNIX also the peer's close).
    pub snd_shut: bool,
    /// The pending error SO_ERROR reports (and the next call returns).
    pub err: Option<Errno>,
    pub was_connected: bool,
    /// TCP: the peer closed; the first write after that still "succeeds"
    /// (the peer answers it with a reset), later ones get EPIPE.
    pub peer_closed: bool,
    /// TCP: the peer's FIN arrived (its shutdown(SHUT_WR) or close); with
    /// our own FIN sent too the connection is closed (getpeername:
    /// ENOTCONN).
    pub peer_fin: bool,
    pub reset_seen: bool,
    /// A connection not yet accepted: closing it resets the client.
    pub embryo: bool,
    /// SO_PEERCRED: the peer's identity when the connection was made
    /// (a listener: its own, from listen time).
    pub peercred: Option<Ucred>,
    /// UDP: the connected peer (sends go there, others' datagrams are
    /// not received).
    pub udp_peer: Option<SocketAddr>,
    pub opts: Options,
}

static NEXT_INO: AtomicU64 = AtomicU64::new(20000);

pub struct Sock {
    pub domain: Domain,
    pub kind: Kind,
    pub protocol: i32,
    ino: u64,
    /// Who created it: the credentials a plain write(2) sends with.
    pub owner: Ucred,
    pub queue: WaitQueue,
    pub st: RefCell<State>,
    me: Weak<Sock>,
}

/// Where a send goes.
pub enum Dest {
    /// The connected peer (send, write).
    Connected,
    /// An AF_UNIX socket found by name.
    To(Rc<Sock>),
    /// An AF_INET/AF_INET6 address.
    Inet(SocketAddr),
    /// A netlink port (0: the kernel).
    Netlink(u32),
}

impl Sock {
    pub fn new(domain: Domain, kind: Kind, protocol: i32, owner: Ucred) -> Rc<Sock> {
        Rc::new_cyclic(|me| Sock {
            domain,
            kind,
            protocol,
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            owner,
            queue: WaitQueue::default(),
            st: RefCell::new(State {
                local: None,
                peer_addr: None,
                conn: Conn::Idle,
                rx: RecvQueue::default(),
                rcv_shut: false,
                snd_shut: false,
                err: None,
                was_connected: false,
                peer_closed: false,
                peer_fin: false,
                reset_seen: false,
                embryo: false,
                peercred: None,
                udp_peer: None,
                opts: Options::new(domain, kind),
            }),
            me: me.clone(),
        })
    }

    /// This socket as a counted reference (it is alive: `self` exists).
    pub fn rc(&self) -> Rc<Sock> {
        self.me.upgrade().expect("a live socket")
    }

    pub fn weak(&self) -> Weak<Sock> {
        self.me.clone()
    }

    /// socketpair(2): two AF_UNIX sockets connected to each other.
    pub fn pair(kind: Kind, cred: Ucred) -> (Rc<Sock>, Rc<Sock>) {
        let (a, b) = (Sock::new(Domain::Unix, kind, 0, cred), Sock::new(Domain::Unix, kind, 0, cred));
        for (x, y) in [(&a, &b), (&b, &a)] {
            let mut st = x.st.borrow_mut();
            st.conn = Conn::Connected(Rc::downgrade(y));
            st.peer_addr = Some(Addr::Unix(UnixName::Unnamed));
            st.peercred = Some(cred);
            st.was_connected = true;
        }
        (a, b)
    }

    /// The connected peer, if it is still open.
    pub fn peer(&self) -> Option<Rc<Sock>> {
        match &self.st.borrow().conn {
            Conn::Connected(w) => w.upgrade(),
            _ => None,
        }
    }

    pub fn is_listening(&self) -> bool {
        matches!(self.st.borrow().conn, Conn::Listening { .. })
    }

    pub fn is_v6(&self) -> bool {
        self.domain == Domain::Inet6
    }

    /// Room was made here: writers to this socket (its peer, datagram
    /// senders waiting on its queue) may go on. An output edge only, for
    /// epoll's edge-triggered mode.
    fn wake_writers(&self) {
        self.queue.notify_events(POLLOUT);
        if let Some(p) = self.peer() {
            p.queue.notify_events(POLLOUT);
        }
    }

    /// Wake whoever waits on this socket or its peer.
    pub fn wake(&self) {
        self.queue.notify();
        if let Some(p) = self.peer() {
            p.queue.notify();
        }
    }

    /// listen(2). The caller bound an inet socket first (autobind).
    pub fn listen(&self, backlog: i32, cred: Ucred) -> Result<()> {
        if self.kind == Kind::Dgram {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut st = self.st.borrow_mut();
        if st.local.is_none() {
            return Err(Errno::EINVAL);
        }
        // Negative and too large both become net.core.somaxconn.
        let backlog = if !(0..=4096).contains(&backlog) { 4096 } else { backlog as usize };
        match &mut st.conn {
            Conn::Connected(_) => return Err(Errno::EINVAL),
            Conn::Listening { backlog: b, .. } => *b = backlog,
            Conn::Idle => {
                if st.was_connected {
                    return Err(Errno::EINVAL);
                }
                st.conn = Conn::Listening { backlog, pending: VecDeque::new() };
                st.peercred = Some(cred);
            }
        }
        Ok(())
    }

    /// Connect this (idle) stream socket to listener `l`: the server's end
    /// is created now and waits in the listener's queue for accept. The
    /// addresses are each end's own and its peer's, as each end's family
    /// shows them (`client_local` None: keep this socket's name). Block:
    /// the backlog is full.
    pub fn connect_to(&self, l: &Rc<Sock>, cred: Ucred, server: [Addr; 2], client_local: Option<Addr>, peer_addr: Addr) -> Result<Io> {
        if l.kind != self.kind {
            return Err(Errno::EPROTOTYPE);
        }
        let [server_local, server_peer] = server;
        let server = Sock::new(l.domain, l.kind, l.protocol, l.owner);
        let lcred = {
            let mut ls = l.st.borrow_mut();
            let lcred = ls.peercred;
            let opts = ls.opts.clone();
            let Conn::Listening { backlog, pending } = &mut ls.conn else { return Err(Errno::ECONNREFUSED) };
            if pending.len() > *backlog {
                return Ok(Io::Block);
            }
            {
                let mut ss = server.st.borrow_mut();
                ss.local = Some(server_local);
                ss.peer_addr = Some(server_peer);
                ss.conn = Conn::Connected(self.weak());
                ss.peercred = Some(cred);
                ss.embryo = true;
                ss.was_connected = true;
                ss.opts = opts;
            }
            pending.push_back(server.clone());
            lcred
        };
        l.queue.notify_events(POLLIN);
        let mut st = self.st.borrow_mut();
        st.conn = Conn::Connected(Rc::downgrade(&server));
        st.peer_addr = Some(peer_addr);
        st.peercred = lcred;
        st.was_connected = true;
        if let Some(a) = client_local {
            st.local = Some(a);
        }
        drop(st);
        self.queue.notify_events(POLLOUT);
        Ok(Io::Done(0))
    }

    /// accept(2): the oldest pending connection, or None to wait.
    pub fn accept(&self) -> Result<Option<Rc<Sock>>> {
        if self.kind == Kind::Dgram {
            return Err(Errno::EOPNOTSUPP);
        }
        let s = {
            let mut st = self.st.borrow_mut();
            let shut = st.rcv_shut;
            match &mut st.conn {
                Conn::Listening { pending, .. } => match pending.pop_front() {
                    None if shut => return Err(Errno::EINVAL),
                    s => s,
                },
                _ => return Err(Errno::EINVAL),
            }
        };
        if let Some(s) = &s {
            s.st.borrow_mut().embryo = false;
            self.queue.notify_events(POLLOUT);
        }
        Ok(s)
    }

    /// Put back a connection accept could not hand out.
    pub fn requeue(&self, s: Rc<Sock>) {
        if let Conn::Listening { pending, .. } = &mut self.st.borrow_mut().conn {
            s.st.borrow_mut().embryo = true;
            pending.push_front(s);
        }
    }

    /// Send `data` (all of it for message sockets, what fits for streams).
    /// Block: no room now. Descriptors and credentials ride along.
    pub fn send(&self, data: &[u8], dest: Dest, rights: Vec<Rc<OpenFile>>, cred: Ucred) -> Result<Io> {
        self.send_with(data, dest, rights, cred, IpSend::default())
    }

    /// [`Sock::send`] with a datagram's per-packet IP settings (sendmsg's
    /// IPV6_HOPLIMIT/IPV6_TCLASS control messages).
    pub fn send_with(&self, data: &[u8], dest: Dest, rights: Vec<Rc<OpenFile>>, cred: Ucred, ip: IpSend) -> Result<Io> {
        {
            let mut st = self.st.borrow_mut();
            if let Some(e) = st.err.take() {
                return Err(e);
            }
            if st.snd_shut {
                return Err(Errno::EPIPE);
            }
        }
        match (self.domain, self.kind) {
            (Domain::Netlink, _) => {
                let port = match dest {
                    Dest::Netlink(port) => port,
                    _ => match self.st.borrow().peer_addr {
                        Some(Addr::Netlink { pid, .. }) => pid,
                        _ => 0,
                    },
                };
                netlink::send(self, data, port)
            }
            (Domain::Unix, Kind::Dgram) => self.send_unix_dgram(data, dest, rights, cred),
            (_, Kind::Dgram) => self.send_udp(data, dest, ip),
            _ => self.send_stream(data, dest, rights, cred),
        }
    }

    fn send_stream(&self, data: &[u8], dest: Dest, rights: Vec<Rc<OpenFile>>, cred: Ucred) -> Result<Io> {
        let unix = self.domain == Domain::Unix;
        if unix && !matches!(dest, Dest::Connected) {
            let connected = matches!(self.st.borrow().conn, Conn::Connected(_));
            return Err(if connected { Errno::EISCONN } else { Errno::EOPNOTSUPP });
        }
        let (peer, from) = {
            let mut st = self.st.borrow_mut();
            let peer = match &st.conn {
                Conn::Connected(w) => w.upgrade(),
                _ if unix || self.kind == Kind::Seqpacket => return Err(Errno::ENOTCONN),
                _ => return Err(Errno::EPIPE),
            };
            let Some(peer) = peer else {
                // TCP: the closed peer resets the connection on the first
                // write after its close; AF_UNIX knows at once.
                if !unix && st.peer_closed && !st.reset_seen {
                    st.reset_seen = true;
                    return Ok(Io::Done(data.len()));
                }
                return Err(Errno::EPIPE);
            };
            (peer, if unix { st.local.clone() } else { None })
        };
        let mut ps = peer.st.borrow_mut();
        // Room for the bytes of one more segment.
        let room = STREAM_CAP.saturating_sub(ps.rx.cost() + SEG_OVERHEAD);
        let n = if self.kind == Kind::Seqpacket {
            if data.len() > STREAM_CAP - 32 {
                return Err(Errno::EMSGSIZE);
            }
            if data.len() > room {
                return Ok(Io::Block);
            }
            data.len()
        } else {
            if data.is_empty() {
                return Ok(Io::Done(0));
            }
            if room == 0 {
                return Ok(Io::Block);
            }
            data.len().min(room)
        };
        let mut seg = Segment::new(data[..n].to_vec(), cred);
        seg.rights = rights;
        seg.from = from;
        ps.rx.push(seg);
        drop(ps);
        peer.queue.notify_events(POLLIN);

        Ok(Io::Done(n))
    }

    fn send_unix_dgram(&self, data: &[u8], dest: Dest, rights: Vec<Rc<OpenFile>>, cred: Ucred) -> Result<Io> {
        let target = match dest {
            Dest::To(t) => t,
            Dest::Connected => match &self.st.borrow().conn {
                Conn::Connected(w) => w.upgrade().ok_or(Errno::ECONNREFUSED)?,
                _ => return Err(Errno::ENOTCONN),
            },
            Dest::Inet(_) | Dest::Netlink(_) => return Err(Errno::EINVAL),
        };
        if data.len() > (self.st.borrow().opts.sndbuf.max(0) as usize).saturating_sub(32) {
            return Err(Errno::EMSGSIZE);
        }
        if target.kind != Kind::Dgram {
            return Err(Errno::EPROTOTYPE);
        }
        let from = self.st.borrow().local.clone();
        let mut ts = target.st.borrow_mut();
        // A datagram socket connected elsewhere takes nothing from others.
        if let Conn::Connected(w) = &ts.conn {
            if w.upgrade().is_some_and(|p| !Rc::ptr_eq(&p, &self.rc())) {
                return Err(Errno::EPERM);
            }
        }
        if ts.rcv_shut {
            return Err(Errno::EPIPE);
        }
        // A receiver not connected back to the sender queues at most
        // net.unix.max_dgram_qlen + 1 datagrams; any queue is bounded by
        // its buffer.
        let back = matches!(&ts.conn, Conn::Connected(w) if w.upgrade().is_some_and(|p| Rc::ptr_eq(&p, &self.rc())));
        let full = (!back && ts.rx.len() > MAX_DGRAM_QLEN) || ts.rx.cost() + data.len() + SEG_OVERHEAD > DGRAM_CAP;
        if full && !ts.rx.is_empty() {
            return Ok(Io::Block);
        }
        let mut seg = Segment::new(data.to_vec(), cred);
        seg.rights = rights;
        seg.from = from;
        ts.rx.push(seg);
        drop(ts);
        target.queue.notify_events(POLLIN);

        Ok(Io::Done(data.len()))
    }

    /// The IP header a datagram to `to` leaves with: the send's own
    /// values, else the socket's options (IPV6_UNICAST_HOPS, IPV6_TCLASS
    /// for IPv6 packets, IP_TTL, IP_TOS for IPv4), else Linux's defaults
    /// (64, 0). -1 means the default, as in ipv6(7).
    fn ip_header(&self, to: SocketAddr, ip: IpSend) -> IpHdr {
        let v6 = addr::canonical(to.ip()).is_ipv6();
        let st = self.st.borrow();
        let opt = |level: i32, name: i32| st.opts.other.get(&(level, name)).copied().filter(|&v| v >= 0);
        let (ttl, tos) = if v6 { (opt(41, 16), opt(41, 67)) } else { (opt(0, 2), opt(0, 1)) };
        let ttl = ip.hoplimit.filter(|&v| v >= 0).or(ttl).unwrap_or(64);
        let tos = ip.tclass.filter(|&v| v >= 0).or(tos).unwrap_or(0);
        IpHdr { v6, ttl: ttl as u8, tos: tos as u8 }
    }

    fn send_udp(&self, data: &[u8], dest: Dest, ip: IpSend) -> Result<Io> {
        let to = match dest {
            Dest::Inet(a) => a,
            Dest::Connected => self.st.borrow().udp_peer.ok_or(Errno::EDESTADDRREQ)?,
            Dest::To(_) | Dest::Netlink(_) => return Err(Errno::EINVAL),
        };
        let max = if self.is_v6() && addr::canonical(to.ip()).is_ipv6() { 65527 } else { 65507 };
        if data.len() > max {
            return Err(Errno::EMSGSIZE);
        }
        let to = inet::route_from(self, to)?;
        inet::autobind(self)?;
        let from = inet::source_for(self, to);
        let connected = self.st.borrow().udp_peer.is_some();
        match inet::find(Kind::Dgram, self.protocol, to, Some(from)) {
            Some(target) => {
                let mut ts = target.st.borrow_mut();
                // A full receiver drops the datagram, as UDP does.
                if ts.rx.cost() + data.len() + SEG_OVERHEAD <= DGRAM_CAP && !ts.rcv_shut {
                    let mut seg = Segment::new(data.to_vec(), self.owner);
                    seg.from = Some(Addr::Inet(addr::in_family(from, target.is_v6())));
                    seg.ip = Some(self.ip_header(to, ip));
                    ts.rx.push(seg);
                }
                drop(ts);
                target.queue.notify_events(POLLIN);
            }
            // Nobody listens: the datagram is lost; a connected socket
            // hears of it (ICMP port unreachable) on its next call.
            None if connected => {
                self.st.borrow_mut().err = Some(Errno::ECONNREFUSED);
                self.queue.notify_events(POLLERR);
            }
            None => {}
        }
        Ok(Io::Done(data.len()))
    }

    /// Receive up to `max` bytes (one message for message sockets).
    /// None: nothing yet, the caller waits.
    pub fn recv(&self, max: usize, peek: bool) -> Result<Option<Received>> {
        let mut st = self.st.borrow_mut();
        let got = if self.kind == Kind::Stream {
            if st.rx.is_empty() || (max == 0 && st.err.is_none()) {
                None
            } else {
                Some(st.rx.read_stream(max, peek))
            }
        } else {
            if self.kind == Kind::Seqpacket && !matches!(st.conn, Conn::Connected(_)) {
                return Err(Errno::ENOTCONN);
            }
            st.rx.read_message(max, peek)
        };
        if let Some(r) = got {
            drop(st);
            if !peek {
                self.wake_writers();
            }
            return Ok(Some(r));
        }
        if let Some(e) = st.err.take() {
            return Err(e);
        }
        if st.rcv_shut || (self.kind == Kind::Stream && max == 0) {
            return Ok(Some(Received::default()));
        }
        if self.kind == Kind::Stream {
            match st.conn {
                Conn::Connected(_) => {}
                _ if self.domain == Domain::Unix => return Err(Errno::EINVAL),
                _ if st.was_connected => return Ok(Some(Received::default())),
                _ => return Err(Errno::ENOTCONN),
            }
        }
        Ok(None)
    }

    /// shutdown(2): `how` is SHUT_RD (0), SHUT_WR (1) or SHUT_RDWR (2).
    pub fn shutdown(&self, how: u32) -> Result<()> {
        let (rd, wr) = (how != 1, how != 0);
        let pending = {
            let mut st = self.st.borrow_mut();
            match &mut st.conn {
                // TCP: shutting a listener's reading side stops it (a way
                // to wake a thread blocked in accept); AF_UNIX marks it,
                // and accept then fails once the queue is drained.
                Conn::Listening { pending, .. } if self.domain != Domain::Unix => {
                    let p = if rd { Some(std::mem::take(pending)) } else { None };
                    if rd {
                        st.conn = Conn::Idle;
                    }
                    p
                }
                Conn::Listening { .. } => {
                    st.rcv_shut |= rd;
                    st.snd_shut |= wr;
                    None
                }
                _ => None,
            }
        };
        if self.is_listening() || pending.is_some() {
            // Connections that were never accepted are reset.
            drop(pending);
            self.queue.notify();
            return Ok(());
        }
        let peer = {
            let mut st = self.st.borrow_mut();
            let connected = match st.conn {
                Conn::Connected(_) => true,
                _ => st.udp_peer.is_some(),
            };
            st.rcv_shut |= rd;
            st.snd_shut |= wr;
            if !connected && self.domain != Domain::Unix {
                drop(st);
                self.queue.notify();
                return Err(Errno::ENOTCONN);
            }
            match &st.conn {
                Conn::Connected(w) if self.kind.connection() => w.upgrade(),
                _ => None,
            }
        };
        if let Some(p) = peer {
            let mut ps = p.st.borrow_mut();
            if wr {
                ps.rcv_shut = true;
                ps.peer_fin = true;
            }
            if rd && self.domain == Domain::Unix {
                ps.snd_shut = true;
            }
        }
        self.wake();
        Ok(())
    }

    fn poll_mask(&self) -> u16 {
        let st = self.st.borrow();
        let mut m = 0;
        if st.err.is_some() {
            m |= POLLERR;
        }
        if st.rcv_shut {
            m |= POLLRDHUP | POLLIN | POLLRDNORM;
        }
        if st.rcv_shut && st.snd_shut {
            m |= POLLHUP;
        }
        if !st.rx.is_empty() {
            m |= POLLIN | POLLRDNORM;
        }
        match &st.conn {
            Conn::Listening { pending, .. } => {
                if !pending.is_empty() {
                    m |= POLLIN | POLLRDNORM;
                }
                return m;
            }
            Conn::Idle if self.kind.connection() => m |= POLLHUP,
            _ => {}
        }
        let full = match (&st.conn, self.kind) {
            (Conn::Connected(w), _) => w.upgrade().is_some_and(|p| {
                let ps = p.st.borrow();
                match self.kind {
                    Kind::Stream => ps.rx.cost() + SEG_OVERHEAD >= STREAM_CAP,
                    _ => ps.rx.cost() + SEG_OVERHEAD >= DGRAM_CAP,
                }
            }),
            _ => false,
        };
        if !full {
            m |= POLLOUT | POLLWRNORM;
        }
        m
    }

    /// FIONREAD/SIOCINQ: bytes to read (a datagram socket: the next one).
    fn inq(&self) -> Result<usize> {
        let st = self.st.borrow();
        if matches!(st.conn, Conn::Listening { .. }) {
            return Err(Errno::EINVAL);
        }
        Ok(if self.kind == Kind::Stream { st.rx.bytes() } else { st.rx.next_len() })
    }

    /// SIOCOUTQ: bytes sent and not yet read by the peer (AF_UNIX; on
    /// loopback TCP everything is acknowledged at once).
    fn outq(&self) -> Result<usize> {
        if self.is_listening() {
            return Err(Errno::EINVAL);
        }
        if self.domain != Domain::Unix {
            return Ok(0);
        }
        Ok(self.peer().map_or(0, |p| p.st.borrow().rx.bytes()))
    }
}

impl Drop for Sock {
    /// close: the peer sees end of file (AF_UNIX also its writes failing);
    /// unread data (or a never-accepted connection) resets it instead.
    fn drop(&mut self) {
        let st = self.st.get_mut();
        let conn = std::mem::replace(&mut st.conn, Conn::Idle);
        let rx = st.rx.take_all();
        let reset = !rx.is_empty() || st.embryo;
        if let Conn::Connected(w) = &conn {
            if let Some(p) = w.upgrade() {
                if self.kind.connection() {
                    let mut ps = p.st.borrow_mut();
                    ps.rcv_shut = true;
                    if self.domain == Domain::Unix {
                        ps.snd_shut = true;
                    } else {
                        ps.peer_closed = true;
                        ps.peer_fin = true;
                    }
                    if reset {
                        // TCP: a reset also ends sending at once.
                        ps.err = Some(Errno::ECONNRESET);
                        ps.snd_shut = true;
                    }
                }
                p.queue.notify();
            }
        }
        // Pending connections and in-flight files go now, with no borrow
        // held (their own drops reach other sockets).
        drop(conn);
        drop(rx);
    }
}

impl FileOps for Sock {
    fn wait_queue(&self) -> Option<WaitQueue> {
        Some(self.queue.clone())
    }

    /// read(2): recv with no flags; passed descriptors are discarded.
    fn read(&self, _host: &mut dyn Host, _off: u64, buf: &mut [u8]) -> Result<Io> {
        if self.is_listening() {
            return Err(if self.domain == Domain::Unix { Errno::EINVAL } else { Errno::ENOTCONN });
        }
        match self.recv(buf.len(), false)? {
            Some(r) => {
                buf[..r.data.len()].copy_from_slice(&r.data);
                Ok(Io::Done(r.data.len()))
            }
            None => Ok(Io::Block),
        }
    }

    /// write(2): send to the connected peer.
    fn write(&self, _host: &mut dyn Host, _off: u64, data: &[u8]) -> Result<Io> {
        self.send(data, Dest::Connected, Vec::new(), self.owner)
    }

    fn ioctl(&self, _host: &mut dyn Host, us: &mut UserSpace, cmd: u32, arg: u64) -> Result<u64> {
        let v = match cmd {
            SIOCINQ => self.inq()?,
            SIOCOUTQ => self.outq()?,
            c if iface::is_iface_ioctl(c) => return iface::ioctl(us, self.domain == Domain::Inet, c, arg),
            _ => return Err(Errno::ENOTTY),
        };
        us.write_val(arg, &(v as i32))?;
        Ok(0)
    }

    fn poll(&self) -> u16 {
        self.poll_mask()
    }

    fn stat(&self) -> Option<Result<Stat>> {
        Some(Ok(Stat {
            dev: makedev(0, 8),
            ino: self.ino,
            mode: FileType::Socket.mode_bits() | 0o777,
            nlink: 1,
            uid: self.owner.uid,
            gid: self.owner.gid,
            blksize: 4096,
            ..Default::default()
        }))
    }

    fn statfs(&self) -> StatFs {
        StatFs { fs_type: 0x534f_434b, ..StatFs::pipefs() }
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

/// The naming tables: AF_UNIX names and inet ports.
#[derive(Default)]
pub struct Namespace {
    /// Abstract AF_UNIX names (without the leading NUL), by socket type.
    pub unix_abstract: HashMap<(Kind, Vec<u8>), Weak<Sock>>,
    /// Filesystem-bound AF_UNIX sockets, by the socket node's (dev, ino).
    pub unix_paths: HashMap<(u64, u64), Weak<Sock>>,
    pub inet: Vec<inet::Binding>,
    pub next_port: u16,
    pub next_autobind: u32,
    /// Bound netlink port ids.
    pub netlink_ports: HashMap<u32, Weak<Sock>>,
    /// The last negative port id handed out by netlink autobind.
    pub netlink_rover: u32,
}

thread_local! {
    static NAMESPACE: RefCell<Namespace> = RefCell::new(Namespace::default());
}

/// Run `f` on this thread's namespace. `f` must not drop sockets (the
/// tables hold weak references only, so pruning them never does).
pub fn with_ns<R>(f: impl FnOnce(&mut Namespace) -> R) -> R {
    NAMESPACE.with(|ns| f(&mut ns.borrow_mut()))
}

/// The socket behind an open file, if it is one.
pub fn sock_of(f: &OpenFile) -> Option<Rc<Sock>> {
    f.ops.as_any()?.downcast_ref::<Sock>().map(Sock::rc)
}

#[cfg(test)]
mod tests;
