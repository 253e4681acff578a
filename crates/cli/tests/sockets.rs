//! Sockets against native Linux: Python programs (tests/sockets/*.py)
//! run in the test root natively (`chroot`) and under `oxvm run --root`
//! and must print the same; tests/c/sockets.c (static) covers the errno
//! cases line by line. Everything stays on loopback or AF_UNIX (abstract
//! names in the Python programs, so the read-only root is never written).

mod common;

#[test]
fn c_errno_cases_match_native() {
    let Some((_dir, exe)) = common::build_c("sockets", &[]) else { return };
    common::assert_same_as_native(&exe, "done");
}

/// Interfaces through if_nameindex, getifaddrs, raw rtnetlink dumps and
/// the SIOCGIF* ioctls, against a native network namespace with only
/// loopback up.
#[test]
fn interfaces_and_netlink_match_native() {
    let Some((_dir, exe)) = common::build_c("netif", &[]) else { return };
    common::assert_same_as_native_on_loopback(&exe, "done");
}

#[test]
fn strace_decodes_socket_calls() {
    let Some((_dir, exe)) = common::build_c("sockets", &[]) else { return };
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_oxvm")).args(["run", "--strace", "--"]).arg(&exe).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    for want in [
        "socket(AF_INET, SOCK_STREAM, 17) = -1 EPROTONOSUPPORT (Protocol not supported)\n",
        "bind(5, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr(\"192.0.2.1\")}, 16) = -1 EADDRNOTAVAIL",
        "socket(AF_INET6, SOCK_STREAM, 0) = ",
        "connect(",
        "{sa_family=AF_UNIX, sun_path=@\"oxvm-c-test\"}, 14) = ",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

differential! {
    // socketpair: stream/dgram/seqpacket, peek, nonblocking, options,
    // shutdown, EOF and reset, socket(2) errors.
    python_socketpair: ["python3", "-c", include_str!("sockets/pair.py")];
    // A threaded AF_UNIX echo server on an abstract name, fork + SO_PEERCRED,
    // SCM_RIGHTS (send_fds/recv_fds, MSG_CTRUNC, MSG_CMSG_CLOEXEC), SO_PASSCRED.
    python_unix_server: ["python3", "-c", include_str!("sockets/unix_server.py")];
    // TCP on 127.0.0.1 and ::1 with a client thread, port conflicts,
    // refused connections, dual stack and IPV6_V6ONLY, UDP echo.
    python_inet_loopback: ["python3", "-c", include_str!("sockets/inet.py")];
    // asyncio streams and a selectors server on loopback, socket timeouts,
    // non-blocking connect.
    python_asyncio_selectors_timeouts: ["python3", "-c", include_str!("sockets/asyncio_echo.py")];
    // asyncio on its default (epoll) loop: TCP v4/v6, AF_UNIX, UDP, a
    // wait_for timeout on a socket read.
    python_asyncio_epoll: ["python3", "-c", include_str!("sockets/asyncio_epoll.py")];
    // http.server + urllib on 127.0.0.1, a threading socketserver on an
    // AF_UNIX abstract name, a SOCK_SEQPACKET listener.
    python_stdlib_servers: ["python3", "-c", include_str!("sockets/servers.py")];
    // Dual-stack create_server, sendmsg/recvmsg_into, dup/fromfd, sendfile,
    // poll masks, a recv across a signal, TCP/IP options, TCP MSG_PEEK and
    // MSG_WAITALL.
    python_misc: ["python3", "-c", include_str!("sockets/misc.py")];
    // bash's /dev/tcp against a Python server (subprocess + thread).
    bash_dev_tcp: ["python3", "-c", include_str!("sockets/bash_dev_tcp.py")];
    // Perl IO::Socket::INET server and forked client, socketpair.
    perl_sockets: ["bash", "-c", include_str!("sockets/perl.sh")];
}
