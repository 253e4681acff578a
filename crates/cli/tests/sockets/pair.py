import socket, os, stat, fcntl, termios, struct, errno

a, b = socket.socketpair()
print("family", a.family == socket.AF_UNIX, "type", a.type == socket.SOCK_STREAM)
print("isfifo", stat.S_ISSOCK(os.fstat(a.fileno()).st_mode))
a.sendall(b"hello world")
print("peek", b.recv(5, socket.MSG_PEEK))
print("fionread", struct.unpack("i", fcntl.ioctl(b.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0])
print("recv", b.recv(5), b.recv(100))
try:
    b.recv(10, socket.MSG_DONTWAIT)
except BlockingIOError as e:
    print("dontwait", errno.errorcode[e.errno])
b.setblocking(False)
try:
    b.recv(10)
except BlockingIOError as e:
    print("nonblock", errno.errorcode[e.errno])
b.setblocking(True)
print("names", repr(a.getsockname()), repr(a.getpeername()))
print("so_type", a.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE), "so_domain", a.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN))
print("so_error", a.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), "acceptconn", a.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
print("sndbuf default", a.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))
a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
print("sndbuf set", a.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))
a.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 5)
print("keepalive", a.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 7))
print("linger", struct.unpack("ii", a.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8)))
a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 2, 500000))
print("rcvtimeo", struct.unpack("ll", a.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16)))
try:
    a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 2, 5000000))
except OSError as e:
    print("rcvtimeo bad", errno.errorcode[e.errno])
try:
    a.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
except OSError as e:
    print("tcp level on unix", errno.errorcode[e.errno])
cred = struct.unpack("3i", a.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
print("peercred", cred[0] == os.getpid(), cred[1:])

# shutdown: the peer reads EOF, writes fail with EPIPE
a.shutdown(socket.SHUT_WR)
print("after shut_wr", b.recv(10))
try:
    a.send(b"x")
except BrokenPipeError as e:
    print("send after shut_wr", errno.errorcode[e.errno])
b.send(b"back")
print("other way", a.recv(10))
a.close()
print("eof", b.recv(10))
try:
    b.send(b"x")
except BrokenPipeError as e:
    print("send to closed", errno.errorcode[e.errno])

# unread data at close resets the peer
a, b = socket.socketpair()
b.send(b"unread")
a.close()
try:
    b.recv(10)
except ConnectionResetError as e:
    print("reset", errno.errorcode[e.errno])
print("then eof", b.recv(10))

for kind, name in [(socket.SOCK_DGRAM, "dgram"), (socket.SOCK_SEQPACKET, "seqpacket")]:
    a, b = socket.socketpair(socket.AF_UNIX, kind)
    for m in [b"one", b"three", b"", b"fourteen bytes"]:
        a.send(m)
    print(name, b.recv(100), b.recv(2), b.recv(100), b.recv(100))
    a.send(b"truncated message")
    data, anc, flags, addr = b.recvmsg(5)
    print(name, "recvmsg", data, flags & socket.MSG_TRUNC != 0, addr)
    a.send(b"0123456789")
    print(name, "MSG_TRUNC", len(b.recv(4, socket.MSG_TRUNC)))
    n = b.recv_into(bytearray(3), 0, socket.MSG_TRUNC) if False else None
    a.close()
    if kind == socket.SOCK_SEQPACKET:
        print(name, "eof", b.recv(10))
    b.close()

# socketpair of inet sockets is not supported on Linux either
try:
    socket.socketpair(socket.AF_INET, socket.SOCK_STREAM)
except OSError as e:
    print("inet pair", errno.errorcode[e.errno])
for args in [(socket.AF_UNIX, 99), (12345, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_STREAM, 17), (socket.AF_UNIX, socket.SOCK_STREAM, 5)]:
    try:
        socket.socket(*args)
    except OSError as e:
        print("socket", args, errno.errorcode[e.errno])

# A receiver with SO_PASSCRED sees an autobound sender name.
r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
r.bind(b"\0oxvm-passcred")
r.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"hi", b"\0oxvm-passcred")
data, anc, flags, addr = r.recvmsg(10, socket.CMSG_SPACE(12))
print("passcred sender", data, addr, repr(s.getsockname()), [a[:2] for a in anc])

# read/write and readv/writev on datagram sockets: one message per call,
# larger than any internal chunk.
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
big = bytes(range(256)) * 400
print("write big dgram", os.write(a.fileno(), big))
os.write(a.fileno(), b"small")
print("read big dgram", len(os.read(b.fileno(), 200000)), os.read(b.fileno(), 100))
print("writev", os.writev(a.fileno(), [b"ab", b"cd", b"e"]))
buf1, buf2 = bytearray(2), bytearray(10)
print("readv", os.readv(b.fileno(), [buf1, buf2]), bytes(buf1), bytes(buf2))
os.write(a.fileno(), big)
print("short read truncates", len(os.read(b.fileno(), 1000)))
a.setblocking(False)
print("nothing left", b.recv(10, socket.MSG_DONTWAIT) if False else "ok")

# SO_RCVTIMEO / SO_SNDTIMEO: blocking calls give up with EAGAIN.
import threading, time
tv = struct.pack("ll", 0, 150000)
a, b = socket.socketpair()
b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
t0 = time.monotonic()
try:
    b.recv(10)
except BlockingIOError as e:
    print("rcvtimeo", errno.errorcode[e.errno], time.monotonic() - t0 >= 0.14)
b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 5, 0))
threading.Timer(0.05, lambda: a.send(b"in time")).start()
t0 = time.monotonic()
print("rcvtimeo data first", b.recv(10), time.monotonic() - t0 < 4)
a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
try:
    while True:
        a.send(b"x" * 65536)
except BlockingIOError as e:
    print("sndtimeo", errno.errorcode[e.errno])
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
l.bind(b"\0oxvm-rcvtimeo-listener")
l.listen()
l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
try:
    l.accept()
except BlockingIOError as e:
    print("accept rcvtimeo", errno.errorcode[e.errno])
