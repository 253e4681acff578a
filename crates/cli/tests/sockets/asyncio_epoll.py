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
