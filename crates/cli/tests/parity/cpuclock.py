# CPU-time clock ids (pthread_getcpuclockid, clock_getcpuclockid): own,
# other processes (child, zombie, reaped, init), sibling threads, bad ids.
import time, os, threading
def tryit(c):
    try:
        r = time.clock_getres(c); t = time.clock_gettime(c); return (r, t >= 0)
    except OSError as e: return e.errno
me = threading.get_ident()
cid = time.pthread_getcpuclockid(me)
print("thread", cid != time.CLOCK_THREAD_CPUTIME_ID, tryit(cid))
print("self", [tryit(c) for c in range(-8, 0)])
pid = os.getpid()
for p in (pid, 1):
    print("proc", [tryit((~p << 3) | w) for w in range(4)], [tryit((~p << 3) | 4 | w) for w in range(4)])
print("none", tryit((~99999 << 3) | 2), tryit((~99999 << 3) | 6))
r, w = os.pipe()
child = os.fork()
if child == 0:
    os.read(r, 1); os._exit(0)
print("child", tryit((~child << 3) | 2), tryit((~child << 3) | 6))
os.write(w, b"x"); os.waitpid(child, 0)
print("reaped", tryit((~child << 3) | 2))
box = []
th = threading.Thread(target=lambda: box.append(threading.get_native_id()) or time.sleep(0.2)); th.start()
time.sleep(0.05)
print("sibling", tryit((~box[0] << 3) | 6), tryit((~box[0] << 3) | 2))
th.join()
time.sleep(0.3)  # join returns before the thread has quite exited
print("gone", tryit((~box[0] << 3) | 6))
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print("efault", libc.clock_gettime(ctypes.c_int(-6), ctypes.c_void_p(1)), ctypes.get_errno(), libc.syscall(229, -6, None))
