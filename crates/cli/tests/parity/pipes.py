# Pipe capacity in page slots, PIPE_BUF atomicity and writability, as
# pipe(7) and Linux's ring of pages make them.
import errno, fcntl, os, select, signal, sys

signal.signal(signal.SIGPIPE, signal.SIG_IGN)
F_SETPIPE_SZ, F_GETPIPE_SZ = 1031, 1032


def nb_pipe():
    r, w = os.pipe()
    os.set_blocking(w, False)
    os.set_blocking(r, False)
    return r, w


def try_write(fd, data):
    try:
        return os.write(fd, data)
    except OSError as e:
        return errno.errorcode[e.errno]


def writable(fd):
    p = select.poll()
    p.register(fd, select.POLLOUT)
    return bool(p.poll(0)), bool(select.select([], [fd], [], 0)[1])


def fill(w, size):
    total = 0
    while True:
        n = try_write(w, b"x" * size)
        if not isinstance(n, int):
            return total, n
        total += n


for size in (1, 100, 3000, 4096, 5000, 65536, 100000):
    r, w = nb_pipe()
    print("fill with", size, fill(w, size), "writable", writable(w))
    os.close(r), os.close(w)

r, w = nb_pipe()
print("3000s", fill(w, 3000))
print("merge 100", try_write(w, b"m" * 100), "page", try_write(w, b"p" * 4096), "5000", try_write(w, b"q" * 5000))
print("writable full", writable(w))
print("read 1", len(os.read(r, 1)), writable(w))
print("read rest of page", len(os.read(r, 2999)), writable(w))
print("4096 into a free slot", try_write(w, b"z" * 4096), writable(w), try_write(w, b"z"))
os.close(r), os.close(w)

r, w = nb_pipe()
print("getsz", fcntl.fcntl(w, F_GETPIPE_SZ), "setsz", fcntl.fcntl(w, F_SETPIPE_SZ, 4096))
print("one slot", try_write(w, b"a" * 10), try_write(w, b"b" * 4087), try_write(w, b"c"), writable(w))
print("writev atomic", end=" ")
try:
    print(os.writev(w, [b"1" * 10, b"2" * 20]))
except OSError as e:
    print(errno.errorcode[e.errno])
print("drain", len(os.read(r, 10000)), writable(w))
print("writev fits", os.writev(w, [b"1" * 1000, b"2" * 2000, b"3" * 1096]), try_write(w, b"x"))
try:
    fcntl.fcntl(w, F_SETPIPE_SZ, 0)
    print("shrink ok")
except OSError as e:
    print("shrink", errno.errorcode[e.errno])
print("grow", fcntl.fcntl(w, F_SETPIPE_SZ, 8192), len(os.read(r, 100)), try_write(w, b"y" * 4096), try_write(w, b"y"))
try:
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
except OSError as e:
    print("busy", errno.errorcode[e.errno])
os.close(r)
print("no reader: empty", try_write(w, b""), "one", try_write(w, b"!"), "poll", select.select([], [], [w], 0)[2] == [w])
os.close(w)

# Writers racing on one blocking pipe: records of at most PIPE_BUF bytes
# arrive whole; a large write may be split but loses nothing.
sys.stdout.flush()
for rec in (4096, 4000, 512):
    r, w = os.pipe()
    kids = []
    for letter in b"abcd":
        pid = os.fork()
        if pid == 0:
            os.close(r)
            for _ in range(40):
                os.write(w, bytes([letter]) * rec)
            os._exit(0)
        kids.append(pid)
    os.close(w)
    data = bytearray()
    while chunk := os.read(r, 65536):
        data += chunk
    for k in kids:
        os.waitpid(k, 0)
    recs = [data[i:i + rec] for i in range(0, len(data), rec)]
    whole = all(x == x[:1] * rec for x in recs)
    print("records of", rec, len(data), "whole", whole, sorted(set(bytes(x[:1]) for x in recs)))

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.write(w, b"L" * 300000)
    os._exit(0)
os.close(w)
got = bytearray()
while chunk := os.read(r, 7000):
    got += chunk
os.waitpid(pid, 0)
print("large write", len(got), got == b"L" * 300000)
