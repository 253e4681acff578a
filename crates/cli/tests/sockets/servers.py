import http.server, threading, urllib.request, socketserver, socket

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("you asked for %s" % self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

srv = http.server.HTTPServer(("127.0.0.1", 0), H)
t = threading.Thread(target=srv.serve_forever)
t.start()
for p in ["/a", "/b/c?x=1"]:
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (srv.server_address[1], p)) as r:
        print(r.status, r.read())
srv.shutdown()
t.join()
srv.server_close()

class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line[::-1])

class TS(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    pass
s = TS("\0oxvm-socketserver", Echo)
t = threading.Thread(target=s.serve_forever); t.start()
c = socket.socket(socket.AF_UNIX); c.connect("\0oxvm-socketserver")
f = c.makefile("rwb")
f.write(b"abc\n"); f.flush(); print(f.readline())
f.write(b"hello\n"); f.flush(); print(f.readline())
c.close(); f.close()
s.shutdown(); t.join(); s.server_close()

sp = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
sp.bind("\0oxvm-seq"); sp.listen()
c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); c.connect("\0oxvm-seq")
a, _ = sp.accept()
c.send(b"m1"); c.send(b"message two")
print(a.recv(100), a.recv(3))
c.close()
print(a.recv(100))
