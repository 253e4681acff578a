import socket, os, threading, errno, struct, array

NAME = b"\0oxvm-test-server"

log = []

def echo_server(srv, n):
    for _ in range(n):
        c, addr = srv.accept()
        log.append("accepted from %r local %r" % (addr, c.getsockname()))
        while True:
            d = c.recv(4096)
            if not d:
                break
            c.sendall(d.upper())
        c.close()

srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(NAME)
srv.listen(4)
print("listening", srv.getsockname(), srv.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
t = threading.Thread(target=echo_server, args=(srv, 2))
t.start()
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(NAME)
print("peer", c.getpeername(), "local", repr(c.getsockname()))
c.sendall(b"hello from a thread " * 1000)
c.shutdown(socket.SHUT_WR)
got = b""
while True:
    d = c.recv(65536)
    if not d:
        break
    got += d
print("echo", len(got), got[:25])
c.close()

# A bound client shows its name to the server.
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.bind(b"\0oxvm-test-client")
c.connect(NAME)
c.sendall(b"named")
c.shutdown(socket.SHUT_WR)
print("named echo", c.recv(100))
c.close()
t.join()
print("\n".join(log))

# Errors
for name, kind in [(b"\0oxvm-nobody", socket.SOCK_STREAM), (NAME, socket.SOCK_DGRAM), (b"/nonexistent/sock", socket.SOCK_STREAM), (b"/etc/passwd", socket.SOCK_STREAM)]:
    s = socket.socket(socket.AF_UNIX, kind)
    try:
        s.connect(name)
    except OSError as e:
        print("connect", name, errno.errorcode[e.errno])
    s.close()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.bind(NAME)
except OSError as e:
    print("bind taken", errno.errorcode[e.errno])
s.bind(b"")
print("autobind", len(s.getsockname()), s.getsockname()[:1])
try:
    s.bind(b"\0again")
except OSError as e:
    print("bind twice", errno.errorcode[e.errno])
try:
    s.recv(1)
except OSError as e:
    print("recv unconnected", errno.errorcode[e.errno])
try:
    s.send(b"x")
except OSError as e:
    print("send unconnected", errno.errorcode[e.errno])
try:
    s.getpeername()
except OSError as e:
    print("getpeername unconnected", errno.errorcode[e.errno])
u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    u.listen(1)
except OSError as e:
    print("listen unbound", errno.errorcode[e.errno])
try:
    srv.recv(1)
except OSError as e:
    print("recv on listener", errno.errorcode[e.errno])
srv.setblocking(False)
try:
    srv.accept()
except BlockingIOError as e:
    print("accept nonblocking", errno.errorcode[e.errno])
srv.setblocking(True)

# Across fork: the child connects; SO_PEERCRED names it.
pid = os.fork()
if pid == 0:
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(NAME)
    cred = struct.unpack("3i", c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    c.sendall(b"child says %d" % (cred[0] == os.getppid()))
    c.close()
    os._exit(0)
conn, _ = srv.accept()
cred = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
print("peercred pid is child", cred[0] == pid, "uid/gid", cred[1:])
print("from child", conn.recv(100))
print("child eof", conn.recv(100))
os.waitpid(pid, 0)
conn.close()

# SCM_RIGHTS: pass a pipe's write end; the receiver writes through it.
a, b = socket.socketpair()
r, w = os.pipe()
socket.send_fds(a, [b"fd here"], [w])
os.close(w)
msg, fds, flags, addr = socket.recv_fds(b, 100, 4)
print("recv_fds", msg, len(fds), flags)
os.write(fds[0], b"through the passed fd")
os.close(fds[0])
print("pipe got", os.read(r, 100), os.read(r, 100))
os.close(r)
# Too little control space: MSG_CTRUNC, the descriptor is dropped.
r, w = os.pipe()
a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [w, r]))])
data, anc, flags, addr = b.recvmsg(10, socket.CMSG_SPACE(4))
print("ctrunc", data, flags & socket.MSG_CTRUNC != 0, [len(d) for _, _, d in anc])
for _, _, d in anc:
    for fd in array.array("i", d):
        print("cloexec", os.get_inheritable(fd))
        os.close(fd)
a.sendmsg([b"y"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [w]))])
data, anc, flags, addr = b.recvmsg(10, socket.CMSG_SPACE(4), socket.MSG_CMSG_CLOEXEC)
fd = array.array("i", anc[0][2])[0]
print("cmsg_cloexec", data, os.get_inheritable(fd))
os.close(fd)
try:
    a.sendmsg([b"z"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [9999]))])
except OSError as e:
    print("bad fd in rights", errno.errorcode[e.errno])
# SO_PASSCRED: credentials arrive with each message.
b.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
a.send(b"who")
data, anc, flags, addr = b.recvmsg(10, socket.CMSG_SPACE(12))
pid_, uid, gid = struct.unpack("3i", anc[0][2])
print("passcred", data, anc[0][:2], pid_ == os.getpid(), uid, gid)
os.close(r); os.close(w)
srv.close()

# Passing an accepted TCP connection to a forked worker over SCM_RIGHTS.

l = socket.create_server(("127.0.0.1", 0))
a, b = socket.socketpair()
pid = os.fork()
if pid == 0:
    l.close(); a.close()
    msg, fds, _, _ = socket.recv_fds(b, 10, 1)
    conn = socket.socket(fileno=fds[0])
    print("worker got", msg, conn.family == socket.AF_INET, conn.type == socket.SOCK_STREAM, flush=True)
    data = conn.recv(100)
    conn.sendall(b"worker answers " + data)
    conn.close()
    os._exit(0)
b.close()
c = socket.create_connection(l.getsockname())
s, _ = l.accept()
socket.send_fds(a, [b"conn"], [s.fileno()])
s.close()
c.sendall(b"ping")
print("client got", c.recv(100))
print("then eof", c.recv(100))
os.waitpid(pid, 0)
# a socket sent over itself (a cycle in flight) must not break anything
x, y = socket.socketpair()
socket.send_fds(x, [b"self"], [x.fileno(), y.fileno()])
x.close(); y.close()
print("cycle ok")
