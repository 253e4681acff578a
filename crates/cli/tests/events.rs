//! Event descriptors (epoll, eventfd, timerfd, signalfd, inotify) and
//! signal waiting (sigtimedwait, sigqueue, real-time queueing) against
//! native Linux: tests/c/events.c natively and under `oxvm run`, and
//! Debian's python3 in the chroot and under `oxvm run --root`.

mod common;
use common::chroot::same;

#[test]
fn events_c_matches_native() {
    let Some((_dir, exe)) = common::build_c("events", &[]) else { return };
    common::assert_same_as_native(&exe, "events done");
}

/// select.epoll over pipes: level and edge triggered, modify, unregister, EPERM for a regular file, HUP.
const EPOLL1: &str = r#"
import os, select
r, w = os.pipe()
ep = select.epoll()
ep.register(r, select.EPOLLIN)
ep.register(w, select.EPOLLOUT)
print(sorted(ep.poll(0)))
os.write(w, b"hello")
print(sorted(ep.poll(0)))
ep.modify(w, 0)
print(ep.poll(0.01))
print(os.read(r, 5), ep.poll(0))
ep.unregister(r)
try:
    ep.unregister(r)
except OSError as e:
    print("unregister again:", e.errno == 2, type(e).__name__)
ep2 = select.epoll()
ep2.register(r, select.EPOLLIN | select.EPOLLET)
os.write(w, b"0123456789")
print("et", ep2.poll(0), ep2.poll(0))
os.read(r, 3)
print("et partial", ep2.poll(0))
os.write(w, b"x")
print("et more", ep2.poll(0))
try:
    ep2.register(open("/etc/passwd"), select.EPOLLIN)
except PermissionError as e:
    print("regular:", e.errno)
os.close(w)
print("hup", ep2.poll(0.5))
print(ep.fileno() >= 0, ep.closed)
ep.close(); ep2.close()
print(ep.closed)
"#;

#[test]
fn python_epoll() {
    same(&["python3", "-c", EPOLL1], b"");
}

/// selectors.DefaultSelector (EpollSelector) and subprocess.run with capture_output and a timeout (poll with a finite timeout woken by the pipes).
const SELECTORS1: &str = r#"
import os, selectors, subprocess
sel = selectors.DefaultSelector()
print(type(sel).__name__)
r, w = os.pipe()
sel.register(r, selectors.EVENT_READ, "reader")
print(sel.select(0))
os.write(w, b"x")
print([(k.data, ev) for k, ev in sel.select(0)])
p = subprocess.run(["echo", "via", "subprocess"], capture_output=True)
print(p.stdout, p.returncode)
p = subprocess.run(["sh", "-c", "echo out; echo err >&2; exit 3"], capture_output=True, timeout=10)
print(p.stdout, p.stderr, p.returncode)
"#;

#[test]
fn python_selectors_and_subprocess() {
    same(&["python3", "-c", SELECTORS1], b"");
}

/// pthread_sigmask, sigpending, sigwait, sigtimedwait (timeout and success), sigwaitinfo, a signal from a timer thread, set_wakeup_fd.
const SIG1: &str = r#"
import os, signal, time, threading
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGUSR2})
print(sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])))
os.kill(os.getpid(), signal.SIGUSR1)
print(signal.sigpending())
print(signal.sigwait({signal.SIGUSR1}))
print(signal.sigtimedwait({signal.SIGUSR2}, 0.02))
signal.raise_signal(signal.SIGUSR2)
i = signal.sigtimedwait({signal.SIGUSR2}, 1)
print(i.si_signo, i.si_code, i.si_pid == os.getpid())
i = signal.sigwaitinfo({signal.SIGUSR1, signal.SIGUSR2}) if os.kill(os.getpid(), signal.SIGUSR2) is None else None
print(i.si_signo, i.si_code)
t = threading.Timer(0.03, os.kill, (os.getpid(), signal.SIGUSR1))
t.start()
print(signal.sigwait({signal.SIGUSR1}))
t.join()
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1, signal.SIGUSR2})
print(signal.sigpending())
# set_wakeup_fd: the signal number is written to the pipe
r, w = os.pipe()
os.set_blocking(w, False)
got = []
signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
print(signal.set_wakeup_fd(w))
os.kill(os.getpid(), signal.SIGUSR1)
print(got, os.read(r, 10))
print(signal.set_wakeup_fd(-1) == w)
"#;

#[test]
fn python_sigwait_and_wakeup_fd() {
    same(&["python3", "-c", SIG1], b"");
}

/// os.eventfd: semaphore mode, EAGAIN, short writes, bad flags, epoll and poll readiness, fstat, a blocking read woken by a child.
const EFD1: &str = r#"
import os, select
fd = os.eventfd(3, os.EFD_SEMAPHORE | os.EFD_NONBLOCK | os.EFD_CLOEXEC)
print([os.eventfd_read(fd) for _ in range(3)])
try:
    os.eventfd_read(fd)
except BlockingIOError as e:
    print("empty:", e.errno)
os.eventfd_write(fd, 5)
print(os.eventfd_read(fd), os.get_inheritable(fd), os.get_blocking(fd))
fd2 = os.eventfd(0)
os.eventfd_write(fd2, 7)
os.eventfd_write(fd2, 8)
print(os.eventfd_read(fd2))
try:
    os.write(fd2, b"abc")
except OSError as e:
    print("short:", e.errno)
try:
    os.eventfd(0, 0x10)
except OSError as e:
    print("flags:", e.errno)
ep = select.epoll()
ep.register(fd2, select.EPOLLIN | select.EPOLLOUT)
print(ep.poll(0))
os.eventfd_write(fd2, 1)
print(ep.poll(0))
p = select.poll(); p.register(fd2, select.POLLIN)
print(p.poll(0))
st = os.fstat(fd2)
print(oct(st.st_mode), st.st_size)
pid = os.fork()
if pid == 0:
    import time; time.sleep(0.02); os.eventfd_write(fd, 9); os._exit(0)
os.set_blocking(fd, True)
s = os.eventfd(0)
print("blocking semaphore read:", os.eventfd_read(fd))
os.waitpid(pid, 0)
"#;

#[test]
fn python_eventfd() {
    same(&["python3", "-c", EFD1], b"");
}

/// timerfd through ctypes: periodic expirations, gettime, epoll, errors.
const TFD1: &str = r#"
import ctypes, os, select, struct, time
libc = ctypes.CDLL(None, use_errno=True)
class timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]
class itimerspec(ctypes.Structure):
    _fields_ = [("interval", timespec), ("value", timespec)]
fd = libc.timerfd_create(1, os.O_NONBLOCK)
spec = itimerspec(timespec(0, 10_000_000), timespec(0, 10_000_000))
print(libc.timerfd_settime(fd, 0, ctypes.byref(spec), None))
try:
    os.read(fd, 8)
except BlockingIOError:
    print("not yet")
time.sleep(0.035)
n = struct.unpack("Q", os.read(fd, 8))[0]
print("expirations >= 3:", n >= 3)
cur = itimerspec()
libc.timerfd_gettime(fd, ctypes.byref(cur))
print(cur.interval.sec, cur.interval.nsec)
ep = select.epoll()
ep.register(fd, select.EPOLLIN)
print(ep.poll(1))
print(libc.timerfd_create(99, 0), ctypes.get_errno())
print(libc.timerfd_settime(0, 0, ctypes.byref(spec), None), ctypes.get_errno())
"#;

#[test]
fn python_timerfd_via_ctypes() {
    same(&["python3", "-c", TFD1], b"");
}

/// tail -f follows with inotify (a stub: no events) until timeout(1)
/// ends it.
#[test]
fn tail_follow_until_timeout() {
    same(&["bash", "-c", "timeout 0.3 tail -f /etc/hostname; echo rc=$?"], b"");
    same(&["bash", "-c", "timeout 0.3 tail -n2 -F /etc/passwd; echo rc=$?"], b"");
}

/// asyncio: a subprocess (Python 3.11 waits for it with a
/// ThreadedChildWatcher: a thread in waitpid, neither pidfd nor
/// SIGCHLD), add_reader on a pipe, timers. The event loop's self-pipe is
/// a socketpair, which needs AF_UNIX sockets.
const ASYNCIO: &str = r#"
import asyncio, os
async def main():
    p = await asyncio.create_subprocess_exec("sh", "-c", "echo one; sleep 0.05; echo two", stdout=asyncio.subprocess.PIPE)
    out, _ = await p.communicate()
    print(out, p.returncode)
    r, w = os.pipe()
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    loop.add_reader(r, lambda: fut.set_result(os.read(r, 10)))
    loop.call_later(0.02, os.write, w, b"ping")
    print(await asyncio.wait_for(fut, 5))
    loop.remove_reader(r)
    await asyncio.sleep(0.01)
    res = await asyncio.gather(*(asyncio.sleep(0.01 * i, result=i) for i in range(3)))
    print(res)
asyncio.run(main())
"#;

#[test]
fn python_asyncio_subprocess_and_pipes() {
    same(&["python3", "-c", ASYNCIO], b"");
}

/// Threads: one blocked in epoll (selectors), in sigwait (woken by
/// pthread_kill) and in an eventfd read, each woken by another thread.
const THREADS: &str = r#"
import os, selectors, threading, time, signal
r, w = os.pipe()
sel = selectors.DefaultSelector()
sel.register(r, selectors.EVENT_READ)
out = []
def waiter():
    ev = sel.select(5)
    out.append(os.read(r, 10))
t = threading.Thread(target=waiter); t.start()
time.sleep(0.05); os.write(w, b"wake"); t.join()
print(out)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
got = []
def sigwaiter():
    got.append(signal.sigwait({signal.SIGUSR1}))
t = threading.Thread(target=sigwaiter); t.start()
time.sleep(0.05)
signal.pthread_kill(t.ident, signal.SIGUSR1)
t.join(5)
print(got)
ev = os.eventfd(0)
def reader():
    got.append(os.eventfd_read(ev))
t = threading.Thread(target=reader); t.start()
time.sleep(0.05); os.eventfd_write(ev, 3); t.join(5)
print(got)
"#;

#[test]
fn python_threads_wake_each_other() {
    same(&["python3", "-c", THREADS], b"");
}
