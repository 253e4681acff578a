import asyncio, socket
async def handle(r, w):
    data = await r.read(100)
    w.write(data[::-1]); await w.drain(); w.close(); await w.wait_closed()
async def main():
    for host in ["127.0.0.1", "::1"]:
        srv = await asyncio.start_server(handle, host, 0)
        port = srv.sockets[0].getsockname()[1]
        r, w = await asyncio.open_connection(host, port)
        w.write(b"epoll echo"); await w.drain()
        print(host, await r.read(100))
        w.close(); await w.wait_closed()
        srv.close(); await srv.wait_closed()
    # unix
    srv = await asyncio.start_unix_server(handle, "\0oxvm-aio")
    r, w = await asyncio.open_unix_connection("\0oxvm-aio")
    w.write(b"unix"); await w.drain(); print(await r.read(100))
    w.close(); srv.close(); await srv.wait_closed()
    # udp
    loop = asyncio.get_running_loop()
    got = loop.create_future()
    class P(asyncio.DatagramProtocol):
        def datagram_received(self, d, a): 
            if not got.done(): got.set_result(d)
    t, _ = await loop.create_datagram_endpoint(P, local_addr=("127.0.0.1", 0))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"dgram", t.get_extra_info("sockname"))
    print(await asyncio.wait_for(got, 5)); t.close(); s.close()
    # timeouts via wait_for on a socket read
    a, b = socket.socketpair()
    r, w = await asyncio.open_connection(sock=a)
    try:
        await asyncio.wait_for(r.read(10), 0.2)
    except asyncio.TimeoutError:
        print("timeout ok")
    w.close(); b.close()
asyncio.run(main())
import select, socket
a, b = socket.socketpair()
ep = select.epoll()
ep.register(b, select.EPOLLIN | select.EPOLLET)
print("idle", ep.poll(0))
a.send(b"1")
print("data", ep.poll(0))
print("again, no new edge", ep.poll(0))
a.send(b"2")
print("more data", ep.poll(0))
b.recv(10)
print("after read", ep.poll(0))
ep.register(a, select.EPOLLOUT | select.EPOLLET)
print("writable edge", ep.poll(0))
print("no new", ep.poll(0))
a.close()
print("hup", ep.poll(0))
l = socket.create_server(("127.0.0.1", 0))
ep2 = select.epoll(); ep2.register(l, select.EPOLLIN)
c = socket.create_connection(l.getsockname())
print("listener", len(ep2.poll(1)))
