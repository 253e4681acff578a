# pidfd_send_signal(2) and waitid(P_PIDFD): errors in Linux's order,
# siginfo checks, zombies, reaped processes, /proc/PID descriptors,
# permission (a child that dropped root), non-blocking pidfds.
import ctypes, errno, os, signal, struct, sys, time

libc = ctypes.CDLL(None, use_errno=True)
P_PIDFD = 3


def send(fd, sig, info=None, flags=0):
    buf = None
    if info is not None:
        buf = ctypes.create_string_buffer(128)
        signo, code = info
        struct.pack_into("iii", buf, 0, signo, 0, code)
        struct.pack_into("ii", buf, 16, 4242, 0)
    r = libc.syscall(424, fd, sig, buf, flags)
    return "ok" if r == 0 else errno.errorcode[ctypes.get_errno()]


def waitid(fd, opts):
    try:
        r = os.waitid(P_PIDFD, fd, opts)
        return "none" if r is None else (r.si_code, r.si_status)
    except OSError as e:
        return errno.errorcode[e.errno]


print("bad fd", send(99, 0), "pipe", send(0, 0), "flags", send(99, 0, flags=0x100))
got = []
signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
me = os.pidfd_open(os.getpid())
print("self usr1", send(me, signal.SIGUSR1), got)
print("self queue", send(me, signal.SIGUSR1, (signal.SIGUSR1, -1)), got)
print("self forged", send(me, signal.SIGUSR1, (signal.SIGUSR1, 0)), got)
print("self wait", waitid(me, os.WEXITED | os.WNOHANG))

sys.stdout.flush()
r, w = os.pipe()
ready_r, ready_w = os.pipe()
child = os.fork()
if child == 0:
    os.close(w)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGUSR2})
    os.write(ready_w, b"r")
    for _ in range(2):
        i = signal.sigwaitinfo({signal.SIGUSR1, signal.SIGUSR2})
        print("child got", i.si_signo, i.si_code, i.si_pid == os.getppid() or i.si_pid, flush=True)
    os.read(r, 1)
    os._exit(7)
os.close(r)
os.read(ready_r, 1)
fd = os.pidfd_open(child)
nb = os.pidfd_open(child, os.O_NONBLOCK)
print("probe", send(fd, 0), "bad sig", send(fd, 100), send(fd, -1))
print("info mismatch", send(fd, signal.SIGUSR1, (signal.SIGUSR2, -1)))
print("forged user", send(fd, signal.SIGUSR1, (signal.SIGUSR1, 0)))
print("forged tkill", send(fd, signal.SIGUSR1, (signal.SIGUSR1, -6)))
print("forged kernel", send(fd, signal.SIGUSR1, (signal.SIGUSR1, 0x80)))
print("efault", libc.syscall(424, fd, signal.SIGUSR1, ctypes.c_void_p(8), 0), errno.errorcode[ctypes.get_errno()])
print("usr1", send(fd, signal.SIGUSR1))
time.sleep(0.3)
print("queue usr2", send(fd, signal.SIGUSR2, (signal.SIGUSR2, -1)))
time.sleep(0.3)
print("nonblocking wait", waitid(nb, os.WEXITED))
print("wnohang wait", waitid(fd, os.WEXITED | os.WNOHANG))
print("proc dir wait", waitid(os.open(f"/proc/{child}", os.O_DIRECTORY), os.WEXITED))
os.write(w, b"x")
time.sleep(0.3)
print("zombie probe", send(fd, 0), "term", send(fd, signal.SIGTERM))
pdir = os.open(f"/proc/{child}", os.O_DIRECTORY)
print("zombie proc dir", send(pdir, 0))
print("peek", waitid(fd, os.WEXITED | os.WNOWAIT))
print("reap", waitid(fd, os.WEXITED))
print("reaped", send(fd, 0), send(fd, 100), send(pdir, 0))
print("reaped wait", waitid(fd, os.WEXITED), waitid(nb, os.WEXITED | os.WNOHANG))

tdir = os.open(f"/proc/self/task/{os.getpid()}", os.O_DIRECTORY)
sdir = os.open("/proc/self", os.O_DIRECTORY)
print("task dir", send(tdir, 0), "proc self", send(sdir, 0), send(sdir, signal.SIGUSR1), len(got))
print("proc file", send(os.open("/proc/self/status", os.O_RDONLY), 0))

# A process that dropped root may not signal root's processes.
sys.stdout.flush()
rr, ww = os.pipe()
child = os.fork()
if child == 0:
    parent = os.pidfd_open(os.getppid())
    os.setgid(65534)
    os.setuid(65534)
    out = [send(parent, 0), send(parent, signal.SIGUSR1), send(parent, signal.SIGCONT)]
    try:
        os.kill(os.getppid(), 0)
        out.append("ok")
    except OSError as e:
        out.append(errno.errorcode[e.errno])
    out.append(send(os.pidfd_open(os.getpid()), 0))
    os.write(ww, (" ".join(out) + "\n").encode())
    os._exit(0)
os.close(ww)
print("unprivileged", os.read(rr, 100).decode().strip())
os.waitpid(child, 0)
print("root signals others", send(os.pidfd_open(os.getpid()), 0), len(got))
