import asyncio, selectors, socket, errno, time

# asyncio streams on a poll-based loop (the default epoll selector is
# another subsystem's).
async def handle(reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            break
        writer.write(line.upper())
        await writer.drain()
    writer.close()
    await writer.wait_closed()

async def main(host):
    server = await asyncio.start_server(handle, host, 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection(host, port)
    for word in [b"alpha\n", b"beta\n", b"gamma\n" * 3]:
        writer.write(word)
        await writer.drain()
        got = b""
        for _ in range(word.count(b"\n")):
            got += await reader.readline()
        print(host, got)
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()

for host in ["127.0.0.1", "::1"]:
    loop = asyncio.SelectorEventLoop(selectors.PollSelector())
    loop.run_until_complete(main(host))
    loop.close()

# A selectors-driven echo server with several clients.
sel = selectors.PollSelector()
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()
srv.setblocking(False)
sel.register(srv, selectors.EVENT_READ)
clients = [socket.create_connection(srv.getsockname()) for _ in range(3)]
for i, c in enumerate(clients):
    c.sendall(b"client %d" % i)
answered = 0
conns = {}
while answered < 3:
    for key, ev in sel.select():
        if key.fileobj is srv:
            conn, _ = srv.accept()
            conn.setblocking(False)
            sel.register(conn, selectors.EVENT_READ)
        else:
            d = key.fileobj.recv(100)
            if d:
                key.fileobj.send(b"echo " + d)
                answered += 1
            else:
                sel.unregister(key.fileobj)
                key.fileobj.close()
for c in clients:
    print(c.recv(100))
    c.close()
sel.close()
srv.close()

# Timeouts: nothing arrives, the call gives up.
a, b = socket.socketpair()
b.settimeout(0.2)
t = time.monotonic()
try:
    b.recv(10)
except socket.timeout as e:
    print("recv timeout:", e, time.monotonic() - t >= 0.19)
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen()
srv.settimeout(0.1)
try:
    srv.accept()
except socket.timeout as e:
    print("accept timeout:", e)
c = socket.create_connection(srv.getsockname(), timeout=1)
conn, _ = srv.accept()
c.sendall(b"in time")
conn.settimeout(1)
print("with timeout", conn.recv(100))
print("gettimeout", c.gettimeout(), conn.gettimeout())
# Non-blocking connect reports EINPROGRESS, then SO_ERROR.
where = srv.getsockname()
srv.close()
n = socket.socket()
n.setblocking(False)
print("nonblocking connect", errno.errorcode[n.connect_ex(where)])
import select
print("poll", select.select([], [n], [], 1)[1] == [n], errno.errorcode[n.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)])
