//! The socket state machines without a guest: pairs, listeners, close
//! and shutdown semantics, loopback ports.

use super::*;

fn me() -> Ucred {
    Ucred { pid: 7, uid: 1000, gid: 1000 }
}

fn send(s: &Sock, d: &[u8]) -> Result<Io> {
    s.send(d, Dest::Connected, Vec::new(), me())
}

fn recv(s: &Sock, max: usize) -> Result<Option<Vec<u8>>> {
    Ok(s.recv(max, false)?.map(|r| r.data))
}

#[test]
fn a_stream_pair_carries_bytes_both_ways_and_sees_eof() {
    let (a, b) = Sock::pair(Kind::Stream, me());
    assert_eq!(send(&a, b"ping").unwrap(), Io::Done(4));
    assert_eq!(b.poll() & POLLIN, POLLIN);
    assert_eq!(recv(&b, 2).unwrap().unwrap(), b"pi");
    assert_eq!(recv(&b, 10).unwrap().unwrap(), b"ng");
    assert!(recv(&b, 10).unwrap().is_none(), "empty: would block");
    assert_eq!(send(&b, b"pong").unwrap(), Io::Done(4));
    assert_eq!(recv(&a, 10).unwrap().unwrap(), b"pong");
    drop(a);
    assert_eq!(recv(&b, 10).unwrap().unwrap(), b"", "end of file");
    assert_eq!(b.poll() & (POLLHUP | POLLIN | POLLRDHUP), POLLHUP | POLLIN | POLLRDHUP);
    assert_eq!(send(&b, b"x"), Err(Errno::EPIPE));
}

#[test]
fn closing_with_unread_data_resets_the_peer() {
    let (a, b) = Sock::pair(Kind::Stream, me());
    send(&b, b"unread").unwrap();
    drop(a);
    assert_eq!(recv(&b, 10), Err(Errno::ECONNRESET));
    assert_eq!(recv(&b, 10).unwrap().unwrap(), b"");
}

#[test]
fn a_full_stream_blocks_the_writer_until_the_reader_drains() {
    let (a, b) = Sock::pair(Kind::Stream, me());
    let big = vec![7u8; STREAM_CAP + 100];
    let Io::Done(n) = send(&a, &big).unwrap() else { panic!("blocked") };
    assert!(n > STREAM_CAP / 2 && n < STREAM_CAP, "{n}");
    assert_eq!(send(&a, b"more").unwrap(), Io::Block);
    assert_eq!(a.poll() & POLLOUT, 0);
    let g = a.queue.generation();
    recv(&b, 1000).unwrap().unwrap();
    assert_ne!(a.queue.generation(), g, "the writer's queue moved");
    assert_eq!(a.poll() & POLLOUT, POLLOUT);
}

#[test]
fn seqpacket_and_dgram_pairs_keep_message_boundaries() {
    for kind in [Kind::Seqpacket, Kind::Dgram] {
        let (a, b) = Sock::pair(kind, me());
        send(&a, b"one").unwrap();
        send(&a, b"two!").unwrap();
        let r = b.recv(2, false).unwrap().unwrap();
        assert_eq!((r.data.as_slice(), r.full_len), (&b"on"[..], 3));
        assert_eq!(recv(&b, 100).unwrap().unwrap(), b"two!");
    }
}

#[test]
fn shutdown_write_gives_the_peer_eof_and_the_writer_epipe() {
    let (a, b) = Sock::pair(Kind::Stream, me());
    a.shutdown(1).unwrap();
    assert_eq!(send(&a, b"x"), Err(Errno::EPIPE));
    assert_eq!(recv(&b, 10).unwrap().unwrap(), b"");
    assert_eq!(send(&b, b"still").unwrap(), Io::Done(5));
    assert_eq!(recv(&a, 10).unwrap().unwrap(), b"still");
}

#[test]
fn listen_connect_accept_over_an_abstract_name() {
    let l = Sock::new(Domain::Unix, Kind::Stream, 0, me());
    let fs_less = |s: &Sock, n: &[u8]| {
        with_ns(|ns| ns.unix_abstract.insert((Kind::Stream, n.to_vec()), s.weak()));
        s.st.borrow_mut().local = Some(Addr::Unix(UnixName::Abstract(n.to_vec())));
    };
    fs_less(&l, b"test-listener");
    l.listen(5, me()).unwrap();
    assert_eq!(l.poll() & POLLIN, 0);
    let c = Sock::new(Domain::Unix, Kind::Stream, 0, me());
    let found = with_ns(|ns| ns.unix_abstract.get(&(Kind::Stream, b"test-listener".to_vec())).and_then(|w| w.upgrade())).unwrap();
    let name = Addr::Unix(UnixName::Abstract(b"test-listener".to_vec()));
    let unnamed = Addr::Unix(UnixName::Unnamed);
    c.connect_to(&found, me(), [name.clone(), unnamed], None, name).unwrap();
    send(&c, b"early").unwrap();
    assert_eq!(l.poll() & POLLIN, POLLIN);
    let s = l.accept().unwrap().unwrap();
    assert!(l.accept().unwrap().is_none());
    assert_eq!(recv(&s, 10).unwrap().unwrap(), b"early");
    assert_eq!(s.st.borrow().peercred, Some(me()));
    // Closing the listener with a connection still pending resets it.
    let c2 = Sock::new(Domain::Unix, Kind::Stream, 0, me());
    c2.connect_to(&l, me(), [Addr::Unix(UnixName::Unnamed), Addr::Unix(UnixName::Unnamed)], None, Addr::Unix(UnixName::Unnamed)).unwrap();
    drop((l, found));
    assert_eq!(recv(&c2, 10), Err(Errno::ECONNRESET));
}

#[test]
fn loopback_ports_conflict_and_route() {
    let a = Sock::new(Domain::Inet, Kind::Stream, 6, me());
    inet::bind(&a, "127.0.0.1:0".parse().unwrap(), 0).unwrap();
    let port = inet::local_of(&a).unwrap().port();
    assert!((32768..=60999).contains(&port));
    let b = Sock::new(Domain::Inet6, Kind::Stream, 6, me());
    assert_eq!(inet::bind(&b, SocketAddr::new("::".parse().unwrap(), port), 0), Err(Errno::EADDRINUSE));
    b.st.borrow_mut().opts.v6only = true;
    inet::bind(&b, SocketAddr::new("::".parse().unwrap(), port), 0).unwrap();
    a.listen(1, me()).unwrap();
    b.listen(1, me()).unwrap();
    let to4 = inet::route(SocketAddr::new("0.0.0.0".parse().unwrap(), port)).unwrap();
    assert!(Rc::ptr_eq(&inet::find(Kind::Stream, 6, to4, None).unwrap(), &a));
    let to6 = inet::route(SocketAddr::new("::1".parse().unwrap(), port)).unwrap();
    assert!(Rc::ptr_eq(&inet::find(Kind::Stream, 6, to6, None).unwrap(), &b));
    drop(a);
    assert!(inet::find(Kind::Stream, 6, to4, None).is_none(), "closed: refused");
}

#[test]
fn udp_lite_has_its_own_ports() {
    let lite = Sock::new(Domain::Inet, Kind::Dgram, 136, me());
    inet::bind(&lite, "127.0.0.1:0".parse().unwrap(), 0).unwrap();
    let port = inet::local_of(&lite).unwrap().port();
    let udp = Sock::new(Domain::Inet, Kind::Dgram, 17, me());
    inet::bind(&udp, SocketAddr::new("127.0.0.1".parse().unwrap(), port), 0).unwrap();
    let tx = Sock::new(Domain::Inet, Kind::Dgram, 136, me());
    let to = SocketAddr::new("127.0.0.1".parse().unwrap(), port);
    tx.send(b"lite", Dest::Inet(to), Vec::new(), me()).unwrap();
    assert_eq!(lite.recv(100, false).unwrap().unwrap().data, b"lite");
    assert!(udp.recv(100, false).unwrap().is_none(), "UDP does not hear UDP-Lite");
}

#[test]
fn udp_datagrams_carry_the_sender_in_the_receivers_family() {
    let rx = Sock::new(Domain::Inet6, Kind::Dgram, 17, me());
    inet::bind(&rx, "[::]:0".parse().unwrap(), 0).unwrap();
    let port = inet::local_of(&rx).unwrap().port();
    let tx = Sock::new(Domain::Inet, Kind::Dgram, 17, me());
    let to = SocketAddr::new("127.0.0.1".parse().unwrap(), port);
    assert_eq!(tx.send(b"v4 to dual stack", Dest::Inet(to), Vec::new(), me()).unwrap(), Io::Done(16));
    let r = rx.recv(100, false).unwrap().unwrap();
    let Some(Addr::Inet(from)) = r.from else { panic!("no sender") };
    assert_eq!(from.ip().to_string(), "::ffff:127.0.0.1");
    assert_eq!(from.port(), inet::local_of(&tx).unwrap().port());
    // Nobody on the port: the datagram is dropped, a connected sender
    // hears of it on its next call.
    let nobody = SocketAddr::new("127.0.0.1".parse().unwrap(), 9);
    assert_eq!(tx.send(b"lost", Dest::Inet(nobody), Vec::new(), me()).unwrap(), Io::Done(4));
    tx.st.borrow_mut().udp_peer = Some(nobody);
    tx.send(b"lost", Dest::Connected, Vec::new(), me()).unwrap();
    assert_eq!(tx.recv(10, false).err(), Some(Errno::ECONNREFUSED));
    let far = SocketAddr::new("192.0.2.1".parse().unwrap(), 9);
    assert_eq!(tx.send(b"x", Dest::Inet(far), Vec::new(), me()), Err(Errno::ENETUNREACH));
}

#[test]
fn a_datagram_socket_connected_elsewhere_refuses_others() {
    let (a, b) = Sock::pair(Kind::Dgram, me());
    let c = Sock::new(Domain::Unix, Kind::Dgram, 0, me());
    assert_eq!(c.send(b"x", Dest::To(a.clone()), Vec::new(), me()), Err(Errno::EPERM));
    drop(b);
    assert_eq!(a.send(b"x", Dest::Connected, Vec::new(), me()), Err(Errno::ECONNREFUSED));
}

#[test]
fn seqpacket_messages_must_fit_whole() {
    let (a, b) = Sock::pair(Kind::Seqpacket, me());
    assert_eq!(send(&a, &vec![0; STREAM_CAP]), Err(Errno::EMSGSIZE));
    let half = vec![1u8; STREAM_CAP / 2];
    assert_eq!(send(&a, &half).unwrap(), Io::Done(half.len()));
    assert_eq!(send(&a, &half).unwrap(), Io::Block, "the second one does not fit whole");
    assert_eq!(recv(&b, STREAM_CAP).unwrap().unwrap().len(), half.len());
    assert_eq!(send(&a, &half).unwrap(), Io::Done(half.len()));
}

#[test]
fn empty_datagrams_still_fill_a_queue() {
    let (a, b) = Sock::pair(Kind::Dgram, me());
    let mut sent = 0;
    while send(&a, b"").unwrap() == Io::Done(0) {
        sent += 1;
        assert!(sent < 10_000, "unbounded");
    }
    assert_eq!(recv(&b, 1).unwrap().unwrap(), b"");
    assert_eq!(send(&a, b"").unwrap(), Io::Done(0), "room again");
    // A receiver not connected back takes at most 11 datagrams.
    let r = Sock::new(Domain::Unix, Kind::Dgram, 0, me());
    let s = Sock::new(Domain::Unix, Kind::Dgram, 0, me());
    let n = (0..20).take_while(|_| s.send(b"x", Dest::To(r.clone()), Vec::new(), me()).unwrap() == Io::Done(1)).count();
    assert_eq!(n, 11);
}
