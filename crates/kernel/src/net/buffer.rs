//! A socket's receive queue: what peers sent, as segments (one per send).
//! Streams read across segments; datagram and seqpacket sockets read one
//! segment per call (the message boundary). Passed descriptors and the
//! sender's credentials ride on the segment they were sent with.

use std::collections::VecDeque;
use std::rc::Rc;

use super::addr::Addr;
use crate::vfs::OpenFile;

/// Who sent a segment (struct ucred).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ucred {
    pub pid: u32,
    pub uid: u32,
    pub gid: u32,
}

/// The IP header fields a receiver can ask for as control messages
/// (IP_RECVTTL/IP_RECVTOS, IPV6_RECVHOPLIMIT/IPV6_RECVTCLASS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpHdr {
    /// Whether the packet went as IPv6 (else IPv4, also when it reaches
    /// an AF_INET6 socket as a mapped address).
    pub v6: bool,
    /// TTL / hop limit.
    pub ttl: u8,
    /// TOS / traffic class.
    pub tos: u8,
}

/// One send's worth of data.
pub struct Segment {
    pub data: Vec<u8>,
    /// Bytes of `data` a stream reader already took.
    pub off: usize,
    /// The sender's address (datagrams).
    pub from: Option<Addr>,
    /// SCM_RIGHTS: open files in flight.
    pub rights: Vec<Rc<OpenFile>>,
    pub cred: Ucred,
    /// The IP header it came with (inet datagrams).
    pub ip: Option<IpHdr>,
}

impl Segment {
    pub fn new(data: Vec<u8>, cred: Ucred) -> Segment {
        Segment { data, off: 0, from: None, rights: Vec::new(), cred, ip: None }
    }

    fn left(&self) -> usize {
        self.data.len() - self.off
    }
}

/// What one receive took.
#[derive(Default)]
pub struct Received {
    pub data: Vec<u8>,
    /// The message's full length (datagrams: more than `data` when cut).
    pub full_len: usize,
    pub from: Option<Addr>,
    pub rights: Vec<Rc<OpenFile>>,
    /// The first segment's sender.
    pub cred: Option<Ucred>,
    pub ip: Option<IpHdr>,
}

/// What each queued segment costs besides its bytes (Linux charges a
/// buffer's bookkeeping too), so a flood of empty datagrams fills a
/// queue like data does.
pub const SEG_OVERHEAD: usize = 768;

#[derive(Default)]
pub struct RecvQueue {
    segs: VecDeque<Segment>,
    bytes: usize,
}

impl RecvQueue {
    /// Unread bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.segs.is_empty()
    }

    /// Queued segments (datagrams).
    pub fn len(&self) -> usize {
        self.segs.len()
    }

    /// Buffer space in use: the bytes plus each segment's overhead.
    pub fn cost(&self) -> usize {
        self.bytes + self.segs.len() * SEG_OVERHEAD
    }

    /// The next message's length (FIONREAD on a datagram socket).
    pub fn next_len(&self) -> usize {
        self.segs.front().map_or(0, Segment::left)
    }

    pub fn push(&mut self, seg: Segment) {
        self.bytes += seg.left();
        self.segs.push_back(seg);
    }

    /// Everything queued (a closing socket drops it, in-flight files too).
    pub fn take_all(&mut self) -> VecDeque<Segment> {
        self.bytes = 0;
        std::mem::take(&mut self.segs)
    }

    /// A stream read of up to `max` bytes. It stops after a segment that
    /// carried descriptors, so they arrive with the bytes sent with them;
    /// `peek` leaves the queue as it was (and copies the descriptors).
    pub fn read_stream(&mut self, max: usize, peek: bool) -> Received {
        let mut r = Received::default();
        let mut i = 0;
        while r.data.len() < max && i < self.segs.len() {
            let seg = &mut self.segs[i];
            let n = seg.left().min(max - r.data.len());
            r.data.extend_from_slice(&seg.data[seg.off..seg.off + n]);
            r.cred.get_or_insert(seg.cred);
            let had_rights = !seg.rights.is_empty();
            if peek {
                r.rights.extend(seg.rights.iter().cloned());
            } else {
                r.rights.append(&mut seg.rights);
                seg.off += n;
                self.bytes -= n;
            }
            if seg.left() == 0 && !peek {
                self.segs.remove(i);
            } else {
                i += 1;
            }
            if had_rights {
                break;
            }
        }
        r.full_len = r.data.len();
        r
    }

    /// One message, cut to `max` bytes (the rest is lost unless `peek`).
    pub fn read_message(&mut self, max: usize, peek: bool) -> Option<Received> {
        let seg = self.segs.front_mut()?;
        let mut r = Received {
            data: seg.data[seg.off..seg.off + seg.left().min(max)].to_vec(),
            full_len: seg.left(),
            from: seg.from.clone(),
            rights: Vec::new(),
            cred: Some(seg.cred),
            ip: seg.ip,
        };
        if peek {
            r.rights = seg.rights.clone();
        } else {
            let seg = self.segs.pop_front()?;
            self.bytes -= seg.left();
            r.rights = seg.rights;
        }
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(d: &[u8]) -> Segment {
        Segment::new(d.to_vec(), Ucred::default())
    }

    #[test]
    fn stream_reads_cross_segments_and_peek_keeps_them() {
        let mut q = RecvQueue::default();
        q.push(seg(b"hello "));
        q.push(seg(b"world"));
        assert_eq!(q.bytes(), 11);
        assert_eq!(q.read_stream(8, true).data, b"hello wo");
        assert_eq!(q.bytes(), 11);
        assert_eq!(q.read_stream(8, false).data, b"hello wo");
        assert_eq!(q.bytes(), 3);
        assert_eq!(q.read_stream(100, false).data, b"rld");
        assert!(q.is_empty());
        assert_eq!(q.read_stream(100, false).data, b"");
    }

    #[test]
    fn messages_keep_boundaries_and_truncate() {
        let mut q = RecvQueue::default();
        q.push(seg(b"one"));
        q.push(seg(b"three"));
        assert_eq!(q.next_len(), 3);
        let r = q.read_message(100, false).unwrap();
        assert_eq!((r.data.as_slice(), r.full_len), (&b"one"[..], 3));
        let r = q.read_message(2, true).unwrap();
        assert_eq!((r.data.as_slice(), r.full_len), (&b"th"[..], 5));
        let r = q.read_message(2, false).unwrap();
        assert_eq!((r.data.as_slice(), r.full_len), (&b"th"[..], 5));
        assert!(q.read_message(2, false).is_none());
        assert_eq!(q.bytes(), 0);
    }

    #[test]
    fn a_stream_read_stops_after_passed_descriptors() {
        let mut q = RecvQueue::default();
        let f = OpenFile::new(Rc::new(crate::dev::mem::MemDevice::Null), None, 0);
        let mut s = seg(b"ab");
        s.rights.push(f);
        q.push(s);
        q.push(seg(b"cd"));
        let r = q.read_stream(10, false);
        assert_eq!((r.data.as_slice(), r.rights.len()), (&b"ab"[..], 1));
        let r = q.read_stream(10, false);
        assert_eq!((r.data.as_slice(), r.rights.len()), (&b"cd"[..], 0));
    }
}
