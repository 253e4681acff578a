# CPython's test_stress_modifying_handlers in small: a thread raises
# SIGUSR1 while the main thread flips its handler between a Python
# function and SIG_IGN; some signals must reach the handler (or be
# reported as lost to the race). Running threads in lockstep, one syscall
# each, made every raise land while SIG_IGN was set.
import signal, sys, threading, time

recv = sent = 0
stop = ignored = False


def handler(s, f):
    global recv
    recv += 1


def raiser():
    global sent
    while not stop:
        signal.raise_signal(signal.SIGUSR1)
        sent += 1


def unraisable(u):
    global ignored
    ignored = "ignored due to race condition" in str(u.exc_value)


sys.unraisablehook = unraisable
signal.signal(signal.SIGUSR1, handler)
t = threading.Thread(target=raiser)
t.start()
# At least 100 raises, then on until one was handled or lost to the race:
# a loaded host can run the threads so that a first hundred all land on
# SIG_IGN. Ten seconds without either is the lockstep bug.
deadline = time.monotonic() + 10
while sent < 100 or not (recv > 0 or ignored) and time.monotonic() < deadline:
    for i in range(2000):
        for h in (handler, signal.SIG_IGN):
            try:
                signal.signal(signal.SIGUSR1, h)
            except OSError as e:
                ignored = True
stop = True
t.join()
print("handled or lost to the race:", recv > 0 or ignored)
