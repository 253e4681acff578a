import socket, os, errno, threading, select, struct, tempfile, signal, time

srv = socket.create_server(("", 0), family=socket.AF_INET6, dualstack_ipv6=True)
port = srv.getsockname()[1]
c4 = socket.create_connection(("127.0.0.1", port))
c6 = socket.create_connection(("::1", port))
for _ in range(2):
    a, addr = srv.accept()
    print("dualstack accept", addr[0])
    a.close()
c4.close(); c6.close(); srv.close()

a, b = socket.socketpair()
print("sendmsg parts", a.sendmsg([b"ab", b"", b"cde", memoryview(b"fg")]))
buf1, buf2 = bytearray(3), bytearray(10)
print("recvmsg_into", b.recvmsg_into([buf1, buf2]), bytes(buf1), bytes(buf2))
a.send(b"xyz")
ba = bytearray(10)
print("recv_into", b.recv_into(ba, 2), bytes(ba))
print("rest", b.recv(10))
d = b.dup()
print("dup type", d.type == socket.SOCK_STREAM, d.fileno() != b.fileno())
a.send(b"to dup")
print(d.recv(10))
f = socket.fromfd(b.fileno(), socket.AF_UNIX, socket.SOCK_STREAM)
print("fromfd", f.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE))
f.close(); d.close()

# sendfile over a socket
with tempfile.TemporaryFile() as tf:
    tf.write(b"file contents " * 1000)
    tf.seek(0)
    print("sendfile", a.sendfile(tf))
got = b""
while len(got) < 14000:
    got += b.recv(65536)
print("got", len(got), got[:14])

# poll states
p = select.poll()
p.register(b, select.POLLIN | select.POLLOUT | select.POLLRDHUP)
print("poll idle", p.poll(0))
a.shutdown(socket.SHUT_WR)
print("poll peer shut wr", p.poll(0))
a.close()
print("poll peer closed", p.poll(0))
b.close()

# blocked recv interrupted by a signal
def on_alarm(*_):
    print("alarm handler")
signal.signal(signal.SIGALRM, on_alarm)
a, b = socket.socketpair()
signal.setitimer(signal.ITIMER_REAL, 0.1)
def late():
    time.sleep(0.3)
    a.send(b"after the signal")
threading.Thread(target=late).start()
print("recv across signal (PEP 475 retries)", b.recv(100))
a.close(); b.close()

# TCP options
t = socket.socket()
for opt in ["TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT", "TCP_MAXSEG"]:
    print(opt, t.getsockopt(socket.IPPROTO_TCP, getattr(socket, opt)))
t.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 60)
print("keepidle set", t.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE))
try:
    t.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 0)
except OSError as e:
    print("keepcnt 0", errno.errorcode[e.errno])
print("ttl", t.getsockopt(socket.IPPROTO_IP, socket.IP_TTL), "tos", t.getsockopt(socket.IPPROTO_IP, socket.IP_TOS))
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
print("reuseport", t.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT))
t.close()

# MSG_PEEK and MSG_WAITALL over TCP
l = socket.create_server(("127.0.0.1", 0))
c = socket.create_connection(l.getsockname())
s, _ = l.accept()
c.send(b"peekaboo")
print("tcp peek", s.recv(4, socket.MSG_PEEK), s.recv(100))
def dribble():
    for part in [b"one ", b"two ", b"three"]:
        time.sleep(0.05)
        c.send(part)
threading.Thread(target=dribble).start()
print("waitall", s.recv(13, socket.MSG_WAITALL))
c.close(); s.close(); l.close()

# MSG_ERRQUEUE: nothing queued, no waiting
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    u.recvmsg(10, 100, socket.MSG_ERRQUEUE)
except BlockingIOError as e:
    print("errqueue", errno.errorcode[e.errno])
u.close()

# UDP-Lite: its own port space beside UDP, and checksum coverage options
lite = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDPLITE)
lite.bind(("127.0.0.1", 0))
port = lite.getsockname()[1]
plain = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
plain.bind(("127.0.0.1", port))
plain.setblocking(False)
tx = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_UDPLITE)
tx.sendto(b"lite", ("::ffff:127.0.0.1", port))
print("udplite", lite.recv(10), lite.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL))
try:
    plain.recv(10)
except BlockingIOError:
    print("udp hears nothing")
for v in (0, 3, 20, 70000):
    lite.setsockopt(socket.IPPROTO_UDPLITE, 10, v)
    print("cscov", v, lite.getsockopt(socket.IPPROTO_UDPLITE, 10), lite.getsockopt(socket.IPPROTO_UDP, 11))
try:
    plain.setsockopt(socket.IPPROTO_UDPLITE, 10, 20)
except OSError as e:
    print("udp cscov", errno.errorcode[e.errno])
lite.close(); plain.close(); tx.close()
