//! sendto(2), recvfrom(2), sendmsg(2), recvmsg(2), sendmmsg(2),
//! recvmmsg(2): data through sockets, with addresses and control
//! messages (SCM_RIGHTS, SCM_CREDENTIALS).
//!
//! A blocking stream send larger than the room at the peer sends what
//! fits and restarts for the rest, the bytes so far in `ctx.progress`
//! (as write(2) on a pipe); MSG_WAITALL receives the same way. Receives
//! peek first and consume only once the data reached the caller, so a
//! bad buffer (EFAULT) loses nothing.

use std::rc::Rc;

use super::signal::on_epipe;
use super::socket::{block_or_expire, cred, read_addr, sock_fd, wait_also};
use super::{ret, Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;
use crate::net::addr::{self, Addr};
use crate::net::buffer::{Received, Ucred};
use crate::net::{unix, Dest, Domain, IpSend, Kind, Sock, STREAM_CAP};
use crate::vfs::file::O_NONBLOCK;
use crate::vfs::{Io, OpenFile};

pub const MSG_OOB: u32 = 0x1;
pub const MSG_PEEK: u32 = 0x2;
pub const MSG_CTRUNC: u32 = 0x8;
pub const MSG_TRUNC: u32 = 0x20;
pub const MSG_DONTWAIT: u32 = 0x40;
pub const MSG_WAITALL: u32 = 0x100;
pub const MSG_ERRQUEUE: u32 = 0x2000;
pub const MSG_NOSIGNAL: u32 = 0x4000;
pub const MSG_WAITFORONE: u32 = 0x10000;
pub const MSG_CMSG_CLOEXEC: u32 = 0x4000_0000;

const UIO_MAXIOV: u64 = 1024;
const MAX_RW_COUNT: u64 = 0x7fff_f000;
const SOL_SOCKET: i32 = 1;
const SCM_RIGHTS: i32 = 1;
const SCM_CREDENTIALS: i32 = 2;
const SOL_IP: i32 = 0;
const SOL_IPV6: i32 = 41;
const IP_TOS: i32 = 1;
const IP_TTL: i32 = 2;
const IP_RECVTTL: i32 = 12;
const IP_RECVTOS: i32 = 13;
const IPV6_RECVHOPLIMIT: i32 = 51;
const IPV6_HOPLIMIT: i32 = 52;
const IPV6_RECVTCLASS: i32 = 66;
const IPV6_TCLASS: i32 = 67;
/// Most descriptors one SCM_RIGHTS message may carry.
const SCM_MAX_FD: usize = 253;
const CMSG_HDR: usize = 16;
/// The largest message a datagram send gathers (beyond every buffer).
const MAX_MESSAGE: u64 = 8 << 20;

fn cmsg_align(n: usize) -> usize {
    (n + 7) & !7
}

/// An iovec array as (base, len) pairs, lengths capped so the total stays
/// within MAX_RW_COUNT.
fn iovecs(ctx: &mut Ctx, at: u64, n: u64) -> Result<Vec<(u64, u64)>, Errno> {
    if n > UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    let mut v = Vec::with_capacity(n as usize);
    let mut total = 0u64;
    for i in 0..n {
        let base: u64 = ctx.user().read_val(at.wrapping_add(16 * i))?;
        let len: u64 = ctx.user().read_val(at.wrapping_add(16 * i + 8))?;
        if (len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        let len = len.min(MAX_RW_COUNT - total);
        total += len;
        v.push((base, len));
    }
    Ok(v)
}

/// Up to `max` bytes of the iovecs' data, starting `skip` bytes in.
fn gather(ctx: &mut Ctx, iov: &[(u64, u64)], mut skip: u64, max: u64) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::with_capacity(max.min(STREAM_CAP as u64) as usize);
    for &(base, len) in iov {
        if out.len() as u64 >= max {
            break;
        }
        if skip >= len {
            skip -= len;
            continue;
        }
        let n = (len - skip).min(max - out.len() as u64) as usize;
        let start = out.len();
        out.resize(start + n, 0);
        ctx.user().read_bytes(base.wrapping_add(skip), &mut out[start..])?;
        skip = 0;
    }
    Ok(out)
}

/// Write `data` into the iovecs, starting `skip` bytes in.
fn scatter(ctx: &mut Ctx, iov: &[(u64, u64)], mut skip: u64, mut data: &[u8]) -> Result<(), Errno> {
    for &(base, len) in iov {
        if data.is_empty() {
            break;
        }
        if skip >= len {
            skip -= len;
            continue;
        }
        let n = ((len - skip) as usize).min(data.len());
        ctx.user().write_bytes(base.wrapping_add(skip), &data[..n])?;
        data = &data[n..];
        skip = 0;
    }
    Ok(())
}

/// What a send carries besides data.
#[derive(Default)]
struct Extra {
    rights: Vec<Rc<OpenFile>>,
    creds: Option<Ucred>,
    ip: IpSend,
}

/// Parse sendmsg's control messages.
fn parse_control(ctx: &mut Ctx, s: &Sock, ptr: u64, len: u64) -> Result<Extra, Errno> {
    let mut x = Extra::default();
    if len > i32::MAX as u64 || len > 1 << 16 {
        return Err(Errno::ENOBUFS);
    }
    if len < CMSG_HDR as u64 {
        return Ok(x);
    }
    let mut buf = vec![0u8; len as usize];
    ctx.user().read_bytes(ptr, &mut buf)?;
    let mut off = 0;
    while off + CMSG_HDR <= buf.len() {
        let clen = u64::from_le_bytes(buf[off..off + 8].try_into().expect("8 bytes")) as usize;
        let level = i32::from_le_bytes(buf[off + 8..off + 12].try_into().expect("4 bytes"));
        let ty = i32::from_le_bytes(buf[off + 12..off + 16].try_into().expect("4 bytes"));
        if clen < CMSG_HDR || clen > buf.len() - off {
            return Err(Errno::EINVAL);
        }
        let data = &buf[off + CMSG_HDR..off + clen];
        if level == SOL_SOCKET {
            match ty {
                SCM_RIGHTS if s.domain == Domain::Unix => {
                    let n = data.len() / 4;
                    if x.rights.len() + n > SCM_MAX_FD {
                        return Err(Errno::EINVAL);
                    }
                    for c in data.chunks_exact(4) {
                        let fd = i32::from_le_bytes(c.try_into().expect("4 bytes"));
                        x.rights.push(ctx.process.files.borrow().get(fd)?);
                    }
                }
                SCM_CREDENTIALS if s.domain == Domain::Unix => {
                    if data.len() != 12 {
                        return Err(Errno::EINVAL);
                    }
                    let v = |i: usize| u32::from_le_bytes(data[i..i + 4].try_into().expect("4 bytes"));
                    let c = Ucred { pid: v(0), uid: v(4), gid: v(8) };
                    let me = &ctx.process.creds;
                    let root = me.euid == 0;
                    if !root && (c.pid != ctx.process.pid || (c.uid != me.uid && c.uid != me.euid) || (c.gid != me.gid && c.gid != me.egid))
                    {
                        return Err(Errno::EPERM);
                    }
                    x.creds = Some(c);
                }
                _ => return Err(Errno::EINVAL),
            }
        } else if level == SOL_IPV6 && s.is_v6() && s.kind == Kind::Dgram && matches!(ty, IPV6_HOPLIMIT | IPV6_TCLASS) {
            // ipv6(7): exactly one int, -1 (the default) to 255.
            if data.len() != 4 {
                return Err(Errno::EINVAL);
            }
            let v = i32::from_le_bytes(data.try_into().expect("4 bytes"));
            if !(-1..=255).contains(&v) {
                return Err(Errno::EINVAL);
            }
            if ty == IPV6_HOPLIMIT {
                x.ip.hoplimit = Some(v);
            } else {
                x.ip.tclass = Some(v);
            }
        }
        off += cmsg_align(clen);
    }
    Ok(x)
}

/// Where a send with address bytes `name` goes.
fn dest_of(ctx: &mut Ctx, s: &Sock, name: &[u8]) -> Result<Dest, Errno> {
    if name.is_empty() {
        return Ok(Dest::Connected);
    }
    match (s.domain, s.kind) {
        (Domain::Netlink, _) => Ok(Dest::Netlink(crate::net::netlink::parse_addr(name)?.0)),
        (Domain::Unix, Kind::Dgram) => {
            let n = addr::parse_unix(name)?;
            let who = unix::Caller { fs: &ctx.process.fs, euid: ctx.process.creds.euid, egid: ctx.process.creds.egid };
            Ok(Dest::To(unix::lookup(&n, Kind::Dgram, &who)?))
        }
        (Domain::Unix, Kind::Stream) => {
            let connected = s.peer().is_some() || s.st.borrow().was_connected;
            Err(if connected { Errno::EISCONN } else { Errno::EOPNOTSUPP })
        }
        // SOCK_SEQPACKET ignores the address; TCP does when connected.
        (_, Kind::Seqpacket) | (_, Kind::Stream) => Ok(Dest::Connected),
        (_, Kind::Dgram) => Ok(Dest::Inet(addr::parse_inet(name, s.is_v6(), false)?)),
    }
}

/// The common send. `restart`: a blocking stream send that only partly
/// fits restarts for the rest (not inside sendmmsg).
#[allow(clippy::too_many_arguments)]
fn send_common(
    ctx: &mut Ctx,
    f: &OpenFile,
    s: &Rc<Sock>,
    iov: &[(u64, u64)],
    name: &[u8],
    extra: Extra,
    flags: u32,
    restart: bool,
) -> SyscallResult {
    if flags & MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let nonblock = f.flags() & O_NONBLOCK != 0 || flags & MSG_DONTWAIT != 0;
    let total: u64 = iov.iter().map(|v| v.1).sum();
    let skip = *ctx.progress;
    if skip >= total && skip > 0 {
        // The buffers shrank under a restarted call: it is done.
        return ret(std::mem::take(ctx.progress));
    }
    let message = s.kind != Kind::Stream;
    if message && total > MAX_MESSAGE {
        return Err(Errno::EMSGSIZE);
    }
    let dest = dest_of(ctx, s, name)?;
    let want = if message { total } else { (total - skip).min(STREAM_CAP as u64) };
    let data = match gather(ctx, iov, skip, want) {
        Ok(d) => d,
        Err(_) if skip > 0 => return ret(std::mem::take(ctx.progress)),
        Err(e) => return Err(e),
    };
    let target = match &dest {
        Dest::To(t) => Some(t.clone()),
        _ => None,
    };
    let cred = extra.creds.unwrap_or_else(|| cred(ctx));
    let rights = if skip == 0 { extra.rights } else { Vec::new() };
    match s.send_with(&data, dest, rights, cred, extra.ip) {
        Ok(Io::Done(n)) => {
            if !message && restart && !nonblock && skip + (n as u64) < total {
                *ctx.progress += n as u64;
                // The rest waits for room (within SO_SNDTIMEO).
                return match block_or_expire(ctx, s, true, Errno::EAGAIN) {
                    Err(_) => ret(std::mem::take(ctx.progress)),
                    r => r,
                };
            }
            ret(std::mem::take(ctx.progress) + n as u64)
        }
        Ok(Io::Block) if nonblock || !restart => {
            if skip > 0 {
                ret(std::mem::take(ctx.progress))
            } else {
                Err(Errno::EAGAIN)
            }
        }
        Ok(Io::Block) => {
            if let Some(t) = target {
                wait_also(ctx, &t);
            }
            match block_or_expire(ctx, s, true, Errno::EAGAIN) {
                // SO_SNDTIMEO ran out: what was sent counts.
                Err(_) if skip > 0 => ret(std::mem::take(ctx.progress)),
                r => r,
            }
        }
        Err(_) if skip > 0 => ret(std::mem::take(ctx.progress)),
        Err(e) => Err(e),
    }
}

/// A restarted call that fails after moving bytes (its arguments changed
/// under it, say) reports those bytes, and never leaves them counted for
/// the next call.
fn settle(ctx: &mut Ctx, r: SyscallResult) -> SyscallResult {
    match r {
        Err(_) if *ctx.progress > 0 => ret(std::mem::take(ctx.progress)),
        Ok(SyscallReturn::Return(v)) if *ctx.progress > 0 => {
            *ctx.progress = 0;
            ret(v)
        }
        r => r,
    }
}

fn signal_epipe(ctx: &mut Ctx, r: SyscallResult, flags: u32) -> SyscallResult {
    if flags & MSG_NOSIGNAL != 0 {
        return r;
    }
    on_epipe(ctx, r)
}

pub fn sys_sendto(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (f, s) = sock_fd(ctx, a.arg(0) as i32)?;
    let flags = a.arg(3) as u32;
    let len = a.arg(2).min(MAX_RW_COUNT);
    let name = if a.arg(4) != 0 { read_addr(ctx, a.arg(4), a.arg(5)) } else { Ok(Vec::new()) };
    let r = name.and_then(|name| send_common(ctx, &f, &s, &[(a.arg(1), len)], &name, Extra::default(), flags, true));
    let r = settle(ctx, r);
    signal_epipe(ctx, r, flags)
}

/// A struct msghdr's fields.
struct MsgHdr {
    name: u64,
    namelen: i32,
    iov: u64,
    iovlen: u64,
    control: u64,
    controllen: u64,
}

fn read_msghdr(ctx: &mut Ctx, at: u64) -> Result<MsgHdr, Errno> {
    let mut b = [0u8; 56];
    ctx.user().read_bytes(at, &mut b)?;
    let q = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    let m = MsgHdr {
        name: q(0),
        namelen: i32::from_le_bytes(b[8..12].try_into().expect("4 bytes")),
        iov: q(16),
        iovlen: q(24),
        control: q(32),
        controllen: q(40),
    };
    if m.namelen < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(m)
}

fn sendmsg_one(ctx: &mut Ctx, f: &OpenFile, s: &Rc<Sock>, at: u64, flags: u32, restart: bool) -> SyscallResult {
    let m = read_msghdr(ctx, at)?;
    let name = if m.name != 0 && m.namelen > 0 { read_addr(ctx, m.name, (m.namelen as u64).min(128))? } else { Vec::new() };
    let iov = iovecs(ctx, m.iov, m.iovlen)?;
    let extra = if m.controllen > 0 { parse_control(ctx, s, m.control, m.controllen)? } else { Extra::default() };
    send_common(ctx, f, s, &iov, &name, extra, flags, restart)
}

pub fn sys_sendmsg(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (f, s) = sock_fd(ctx, a.arg(0) as i32)?;
    let flags = a.arg(2) as u32;
    let r = sendmsg_one(ctx, &f, &s, a.arg(1), flags, true);
    let r = settle(ctx, r);
    signal_epipe(ctx, r, flags)
}

pub fn sys_sendmmsg(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (f, s) = sock_fd(ctx, a.arg(0) as i32)?;
    let (vec, vlen, flags) = (a.arg(1), (a.arg(2) as u32 as u64).min(UIO_MAXIOV), a.arg(3) as u32);
    let mut sent = 0u64;
    while sent < vlen {
        let at = vec.wrapping_add(64 * sent);
        match sendmsg_one(ctx, &f, &s, at, flags, false) {
            Ok(SyscallReturn::Return(n)) => {
                if let Err(e) = ctx.user().write_val(at.wrapping_add(56), &(n as u32)) {
                    return if sent > 0 { ret(sent) } else { Err(e) };
                }
                sent += 1;
            }
            Ok(other) if sent == 0 => return Ok(other),
            Err(e) if sent == 0 => return signal_epipe(ctx, Err(e), flags),
            _ => break,
        }
    }
    ret(sent)
}

/// What a receive got, for the caller to report.
struct Got {
    /// The syscall's value (bytes, or the full datagram length with MSG_TRUNC).
    value: u64,
    r: Received,
    msg_flags: u32,
}

/// The common receive: Err(Ok(ret)) is a result to return as is (a
/// block, or a count after an interrupted MSG_WAITALL).
fn recv_common(ctx: &mut Ctx, f: &OpenFile, s: &Rc<Sock>, iov: &[(u64, u64)], flags: u32) -> Result<Result<Got, SyscallReturn>, Errno> {
    if flags & MSG_OOB != 0 {
        return Err(if s.domain == Domain::Unix { Errno::EOPNOTSUPP } else { Errno::EINVAL });
    }
    if flags & MSG_ERRQUEUE != 0 {
        // No ICMP errors or timestamps are ever queued: the queue is empty.
        return Err(Errno::EAGAIN);
    }
    if s.is_listening() {
        return Err(if s.domain == Domain::Unix { Errno::EINVAL } else { Errno::ENOTCONN });
    }
    let nonblock = f.flags() & O_NONBLOCK != 0 || flags & MSG_DONTWAIT != 0;
    let peek = flags & MSG_PEEK != 0;
    let total: u64 = iov.iter().map(|v| v.1).sum();
    let skip = *ctx.progress;
    if skip >= total && skip > 0 {
        return Ok(Err(SyscallReturn::Return(std::mem::take(ctx.progress))));
    }
    let max = (total - skip) as usize;
    let looked = match s.recv(max, true) {
        Ok(r) => r,
        Err(_) if skip > 0 => return Ok(Err(SyscallReturn::Return(std::mem::take(ctx.progress)))),
        Err(e) => return Err(e),
    };
    let Some(looked) = looked else {
        let r = if nonblock { Err(Errno::EAGAIN) } else { block_or_expire(ctx, s, false, Errno::EAGAIN) };
        return match r {
            // Out of time (or not waiting): what MSG_WAITALL got counts.
            Err(_) if skip > 0 => Ok(Err(SyscallReturn::Return(std::mem::take(ctx.progress)))),
            Err(e) => Err(e),
            Ok(r) => Ok(Err(r)),
        };
    };
    if let Err(e) = scatter(ctx, iov, skip, &looked.data) {
        return if skip > 0 { Ok(Err(SyscallReturn::Return(std::mem::take(ctx.progress)))) } else { Err(e) };
    }
    let r = if peek {
        looked
    } else {
        let taken = s.recv(max, false)?.unwrap_or_default();
        Received { data: looked.data, ..taken }
    };
    let n = r.data.len() as u64;
    let stream = s.kind == Kind::Stream;
    if stream && flags & MSG_WAITALL != 0 && !peek && !nonblock && n > 0 && skip + n < total {
        *ctx.progress += n;
        return match block_or_expire(ctx, s, false, Errno::EAGAIN) {
            Err(_) => Ok(Err(SyscallReturn::Return(std::mem::take(ctx.progress)))),
            Ok(r) => Ok(Err(r)),
        };
    }
    let truncated = !stream && r.full_len > r.data.len();
    let value = if !stream && flags & MSG_TRUNC != 0 { r.full_len as u64 } else { std::mem::take(ctx.progress) + n };
    Ok(Ok(Got { value, r, msg_flags: if truncated { MSG_TRUNC } else { 0 } }))
}

pub fn sys_recvfrom(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let r = recvfrom(ctx, a);
    settle(ctx, r)
}

fn recvfrom(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (f, s) = sock_fd(ctx, a.arg(0) as i32)?;
    let flags = a.arg(3) as u32;
    let len = a.arg(2).min(MAX_RW_COUNT);
    let got = match recv_common(ctx, &f, &s, &[(a.arg(1), len)], flags)? {
        Ok(g) => g,
        Err(r) => return Ok(r),
    };
    super::socket::write_addr(ctx, got.r.from.as_ref(), a.arg(4), a.arg(5))?;
    ret(got.value)
}

/// Install received descriptors and build the control messages in the
/// caller's buffer. Returns the bytes used and whether some did not fit.
fn put_control(ctx: &mut Ctx, s: &Sock, m: &MsgHdr, r: &mut Received, flags: u32) -> Result<(u64, bool), Errno> {
    let mut room = if m.control == 0 { 0 } else { m.controllen as usize };
    let mut at = m.control;
    let mut used = 0u64;
    let mut ctrunc = false;
    // As Linux's put_cmsg: no room for a header drops the message; a
    // message that does not fit is cut to the room left (its cmsg_len
    // says so); both set MSG_CTRUNC.
    let mut put = |ctx: &mut Ctx, level: i32, ty: i32, data: &[u8], room: &mut usize| -> Result<bool, Errno> {
        if *room < CMSG_HDR {
            return Ok(false);
        }
        let full = CMSG_HDR + data.len();
        let len = full.min(*room);
        let mut b = Vec::with_capacity(len);
        b.extend_from_slice(&(len as u64).to_le_bytes());
        b.extend_from_slice(&level.to_le_bytes());
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&data[..len - CMSG_HDR]);
        ctx.user().write_bytes(at, &b)?;
        let space = cmsg_align(full).min(*room);
        at = at.wrapping_add(space as u64);
        used += space as u64;
        *room -= space;
        Ok(len == full)
    };
    // The IP header's fields, in Linux's order (TTL before TOS, hop limit
    // before traffic class); an IPv4 packet on an AF_INET6 socket gives
    // the IPv4 ones.
    if let Some(ip) = r.ip {
        let st = s.st.borrow();
        let on = |level: i32, name: i32| st.opts.other.get(&(level, name)).is_some_and(|&v| v != 0);
        let want = if ip.v6 {
            [
                (on(SOL_IPV6, IPV6_RECVHOPLIMIT), SOL_IPV6, IPV6_HOPLIMIT, false),
                (on(SOL_IPV6, IPV6_RECVTCLASS), SOL_IPV6, IPV6_TCLASS, false),
            ]
        } else {
            [(on(SOL_IP, IP_RECVTTL), SOL_IP, IP_TTL, false), (on(SOL_IP, IP_RECVTOS), SOL_IP, IP_TOS, true)]
        };
        drop(st);
        for (i, (wanted, level, ty, byte)) in want.into_iter().enumerate() {
            if !wanted {
                continue;
            }
            let v = if i == 0 { ip.ttl } else { ip.tos };
            // IP_TOS comes as one byte, the others as an int.
            let d = if byte { vec![v] } else { (v as i32).to_le_bytes().to_vec() };
            if !put(ctx, level, ty, &d, &mut room)? {
                ctrunc = true;
            }
        }
    }
    let passcred = s.domain == Domain::Unix && s.st.borrow().opts.passcred;
    if passcred {
        let c = r.cred.unwrap_or(Ucred { pid: 0, uid: 65534, gid: 65534 });
        let mut d = Vec::with_capacity(12);
        for v in [c.pid, c.uid, c.gid] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        if !put(ctx, SOL_SOCKET, SCM_CREDENTIALS, &d, &mut room)? {
            ctrunc = true;
        }
    }
    if !r.rights.is_empty() {
        let fit = room.saturating_sub(CMSG_HDR) / 4;
        let cloexec = flags & MSG_CMSG_CLOEXEC != 0;
        let want = r.rights.len();
        let mut fds = Vec::new();
        for file in r.rights.drain(..).take(fit) {
            match ctx.process.files.borrow_mut().insert(file, cloexec) {
                Ok(fd) => fds.push(fd),
                Err(_) => break,
            }
        }
        // Descriptors that did not fit are closed, as Linux does.
        ctrunc |= fds.len() < want;
        if !fds.is_empty() {
            let d: Vec<u8> = fds.iter().flat_map(|fd| fd.to_le_bytes()).collect();
            put(ctx, SOL_SOCKET, SCM_RIGHTS, &d, &mut room)?;
        }
    }
    Ok((used, ctrunc))
}

fn recvmsg_one(ctx: &mut Ctx, f: &OpenFile, s: &Rc<Sock>, at: u64, flags: u32) -> SyscallResult {
    let m = read_msghdr(ctx, at)?;
    let iov = iovecs(ctx, m.iov, m.iovlen)?;
    let mut got = match recv_common(ctx, f, s, &iov, flags)? {
        Ok(g) => g,
        Err(r) => return Ok(r),
    };
    let total_rights = got.r.rights.len();
    let (used, ctrunc) = put_control(ctx, s, &m, &mut got.r, flags)?;
    let mut msg_flags = got.msg_flags;
    if ctrunc || (total_rights > 0 && m.control == 0) {
        msg_flags |= MSG_CTRUNC;
    }
    let name = if m.name != 0 { got.r.from.as_ref().map(Addr::encode).unwrap_or_default() } else { Vec::new() };
    let n = name.len().min(m.namelen as usize);
    ctx.user().write_bytes(m.name, &name[..n])?;
    ctx.user().write_val(at.wrapping_add(8), &(name.len() as i32))?;
    ctx.user().write_val(at.wrapping_add(40), &used)?;
    ctx.user().write_val(at.wrapping_add(48), &msg_flags)?;
    ret(got.value)
}

pub fn sys_recvmsg(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (f, s) = sock_fd(ctx, a.arg(0) as i32)?;
    let r = recvmsg_one(ctx, &f, &s, a.arg(1), a.arg(2) as u32);
    settle(ctx, r)
}

/// recvmmsg: the timeout is not applied (a blocking call waits for the
/// first message as recvmsg does).
pub fn sys_recvmmsg(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (f, s) = sock_fd(ctx, a.arg(0) as i32)?;
    let (vec, vlen, mut flags) = (a.arg(1), (a.arg(2) as u32 as u64).min(UIO_MAXIOV), a.arg(3) as u32);
    let mut got = 0u64;
    while got < vlen {
        let at = vec.wrapping_add(64 * got);
        match recvmsg_one(ctx, &f, &s, at, flags & !MSG_WAITFORONE) {
            Ok(SyscallReturn::Return(n)) => {
                if let Err(e) = ctx.user().write_val(at.wrapping_add(56), &(n as u32)) {
                    return if got > 0 { ret(got) } else { Err(e) };
                }
                got += 1;
                if flags & MSG_WAITFORONE != 0 {
                    flags |= MSG_DONTWAIT;
                }
            }
            Ok(other) if got == 0 => return Ok(other),
            Err(e) if got == 0 => return Err(e),
            _ => break,
        }
    }
    ret(got)
}

/// read(2)/readv(2) on a socket: a receive with no flags (one message
/// for datagram sockets, however large; passed descriptors are dropped).
pub fn sock_readv(ctx: &mut Ctx, f: &OpenFile, s: &Rc<Sock>, iov: &[(u64, u64)]) -> SyscallResult {
    let r = match recv_common(ctx, f, s, iov, 0) {
        Ok(Ok(g)) => ret(g.value),
        Ok(Err(r)) => Ok(r),
        Err(e) => Err(e),
    };
    settle(ctx, r)
}

/// write(2)/writev(2) on a socket: a send with no flags (all the
/// iovecs make one datagram). The caller raises SIGPIPE on EPIPE.
pub fn sock_writev(ctx: &mut Ctx, f: &OpenFile, s: &Rc<Sock>, iov: &[(u64, u64)]) -> SyscallResult {
    let r = send_common(ctx, f, s, iov, &[], Extra::default(), 0, true);
    settle(ctx, r)
}
