import socket, threading, errno, os, struct

def echo_once(srv, log):
    c, addr = srv.accept()
    log.append(("accepted", addr, c.getsockname()))
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()

for fam, host, any_ in [(socket.AF_INET, "127.0.0.1", "0.0.0.0"), (socket.AF_INET6, "::1", "::")]:
    srv = socket.socket(fam, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    print("unbound name", srv.getsockname())
    srv.bind((host, 0))
    port = srv.getsockname()[1]
    print("bound", srv.getsockname()[0], 32768 <= port <= 60999)
    srv.listen(5)
    log = []
    c = socket.socket(fam, socket.SOCK_STREAM)
    t = threading.Thread(target=echo_once, args=(srv, log))
    t.start()
    c.connect((host, port))
    print("client", c.getsockname()[0], c.getpeername() == srv.getsockname())
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("nodelay", c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    data = bytes(range(256)) * 1000
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        d = c.recv(100000)
        if not d:
            break
        got += d
    t.join()
    print("echo", len(got), got == data, log[0][0], log[0][1] == c.getsockname(), log[0][2] == srv.getsockname())
    c.close()
    # bind conflicts
    s2 = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s2.bind((host, port))
    except OSError as e:
        print("rebind listening port", errno.errorcode[e.errno])
    s2.close()
    srv.close()
    # nobody listens any more
    c = socket.socket(fam, socket.SOCK_STREAM)
    try:
        c.connect((host, port))
    except OSError as e:
        print("connect closed port", errno.errorcode[e.errno])
    try:
        c.send(b"x")
    except OSError as e:
        print("send unconnected", errno.errorcode[e.errno])
    try:
        c.recv(1)
    except OSError as e:
        print("recv unconnected", errno.errorcode[e.errno])
    c.close()
    # wildcard listener reached through loopback
    srv = socket.socket(fam, socket.SOCK_STREAM)
    srv.bind((any_, 0))
    srv.listen()
    c = socket.create_connection((host, srv.getsockname()[1]))
    a, addr = srv.accept()
    print("wildcard accept", addr[0], a.getsockname()[0], a.getsockname()[1] == srv.getsockname()[1])
    c.sendall(b"ping")
    print("recv", a.recv(10))
    a.close()
    print("after peer close", c.recv(10))
    c.send(b"first write after close is accepted")
    try:
        c.send(b"second")
    except BrokenPipeError as e:
        print("second write", errno.errorcode[e.errno])
    c.close()
    srv.close()

# Dual stack: a v6 wildcard listener takes IPv4 clients (IPv4-mapped peer)
srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
print("v6only default", srv.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
srv.bind(("::", 0))
port = srv.getsockname()[1]
srv.listen()
c = socket.create_connection(("127.0.0.1", port))
a, addr = srv.accept()
print("mapped peer", addr[0], a.getsockname()[0])
a.close(); c.close()
v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    v4.bind(("127.0.0.1", port))
except OSError as e:
    print("v4 bind on dual-stack port", errno.errorcode[e.errno])
v4.close()
srv.close()
srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
srv.bind(("::", 0))
port = srv.getsockname()[1]
srv.listen()
try:
    socket.create_connection(("127.0.0.1", port))
except OSError as e:
    print("v6only refuses v4", errno.errorcode[e.errno])
try:
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
except OSError as e:
    print("v6only after bind", errno.errorcode[e.errno])
srv.close()

# UDP
for fam, host in [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]:
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((host, 0))
    c = socket.socket(fam, socket.SOCK_DGRAM)
    for m in [b"a", b"bb", b"", b"cccc"]:
        c.sendto(m, s.getsockname())
    for _ in range(4):
        d, addr = s.recvfrom(3)
        print("udp", d, addr[0], addr[1] == c.getsockname()[1])
    s.sendto(b"reply", c.getsockname())
    print("reply", c.recvfrom(100)[0])
    c.connect(s.getsockname())
    print("connected udp", c.getpeername() == s.getsockname(), c.getsockname()[0])
    c.send(b"via connect")
    print(s.recv(100))
    try:
        c.sendto(b"x" * 70000, s.getsockname())
    except OSError as e:
        print("too big", errno.errorcode[e.errno])
    u = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        u.send(b"nowhere")
    except OSError as e:
        print("no destination", errno.errorcode[e.errno])
    print("to nobody", u.sendto(b"lost", (host, 9)))
    u.close(); s.close(); c.close()

# Unreachable and unassignable
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
for addr, what in [(("10.1.2.3", 80), "bind"), (("127.0.0.1", 99999), "bind")]:
    try:
        s.bind(addr)
    except (OSError, OverflowError) as e:
        print(what, addr[0], type(e).__name__, errno.errorcode.get(getattr(e, "errno", None)))
