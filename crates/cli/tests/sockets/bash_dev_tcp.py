import socket, subprocess, threading
l = socket.create_server(("127.0.0.1", 0))
port = l.getsockname()[1]
def serve():
    s, _ = l.accept()
    f = s.makefile("rwb")
    line = f.readline()
    f.write(b"server saw: " + line)
    f.close(); s.close()
t = threading.Thread(target=serve); t.start()
out = subprocess.run(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/%d; echo 'hello from bash' >&3; cat <&3" % port], capture_output=True)
t.join()
print(out.returncode, out.stdout, out.stderr)
