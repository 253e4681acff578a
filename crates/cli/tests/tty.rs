//! Terminals, job control and process groups: python3 scripts driving
//! ptys (`pty.fork`, `os.openpty`), interactive bash, stty and tty, run
//! natively in the chroot and under oxvm; outputs must be identical.
//!
//! The native side needs /dev/pts inside the chroot: it runs in a private
//! mount namespace (`unshare -m`) with the host's devpts bound over the
//! root's dev/pts, so the root filesystem itself is never written. Without
//! unshare (or the privilege for it) the tests skip.

mod common;

use std::process::{Command, Output};

use common::chroot::{env, rootfs, run, status};

/// Helpers every script starts with: blocking reads from a pty master
/// until a pattern shows up (oxvm's select/poll with a timeout cannot be
/// woken early yet, so no timeouts here: the test's process bounds it),
/// and a transcript with pids and pty numbers masked.
/// Python that ends the script if it hangs, so a hang fails the test
/// instead of stalling it: a watchdog thread (with every signal blocked,
/// so signals still reach the main thread) exits after 120 s. Needs os,
/// sys, time and signal imported.
macro_rules! watchdog {
    () => {
        r#"
import threading
def _watchdog():
    time.sleep(120)
    sys.stderr.write("watchdog: the script took too long\n")
    os._exit(124)
_old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
threading.Thread(target=_watchdog, daemon=True).start()
signal.pthread_sigmask(signal.SIG_SETMASK, _old_mask)
"#
    };
}

const PRELUDE: &str = concat!(
    r#"
import os, pty, sys, re, signal, termios, tty, struct, fcntl, time, errno
sys.stdout.reconfigure(line_buffering=True)
"#,
    watchdog!(),
    r#"
buf = b""
def expect(fd, pat):
    global buf
    while True:
        m = re.search(pat, buf)
        if m:
            out = buf[:m.end()]
            buf = buf[m.end():]
            return mask(out)
        try:
            d = os.read(fd, 4096)
        except OSError:
            d = b""
        if not d:
            raise SystemExit("eof waiting for %r, have %r" % (pat, buf))
        buf += d
def put(fd, b):
    # The native kernel passes pty input on asynchronously: let it land.
    os.write(fd, b)
    time.sleep(0.05)
def drain(fd):
    out = b""
    while True:
        try:
            d = os.read(fd, 4096)
        except OSError as e:
            return mask(out) + ("<%s>" % errno.errorcode[e.errno])
        if not d:
            return mask(out) + "<EOF>"
        out += d
def child_done():
    # The last words of a pty's child: natively, output still in flight
    # when the slave closes can be lost, so wait for the reader's go.
    print("<done>")
    sys.stdout.flush()
    os.read(0, 1)
def collect(fd):
    out = expect(fd, rb"<done>\r\n")
    os.write(fd, b"\n")
    return out
def mask(b):
    b = re.sub(rb"/dev/pts/\d+", b"/dev/pts/N", b)
    b = re.sub(rb"\] \d+", b"] PID", b)
    return b.decode(errors="replace")
def spawn(argv, rows=0, cols=0, env=None):
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(argv[0], argv, env or {"PATH": "/usr/bin:/bin", "TERM": "dumb", "HOME": "/", "LANG": "C"})
        finally:
            os._exit(127)
    if rows:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return pid, fd
def how(st):
    if os.WIFEXITED(st): return "exit %d" % os.WEXITSTATUS(st)
    if os.WIFSIGNALED(st): return "signal %d" % os.WTERMSIG(st)
    if os.WIFSTOPPED(st): return "stopped %d" % os.WSTOPSIG(st)
    if os.WIFCONTINUED(st): return "continued"
    return "?"
"#
);

/// Whether the native side can have ptys (a private mount namespace).
fn native_ptys() -> bool {
    let ok = Command::new("unshare").args(["-m", "true"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping: `unshare -m` is needed to give the chroot a /dev/pts");
    }
    ok
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Run python3 `script` (after the prelude) natively and under oxvm.
fn py_both(script: &str) -> Option<(Output, Output)> {
    let root = rootfs()?;
    if !native_ptys() {
        return None;
    }
    let code = format!("{PRELUDE}\n{script}");
    let mut native = Command::new("unshare");
    env(&mut native);
    native.args(["-m", "sh", "-c", "mount --bind /dev/pts \"$1/dev/pts\" && exec /usr/sbin/chroot \"$1\" python3 -c \"$2\"", "sh"]);
    native.arg(&root).arg(&code);
    let native = run(native, b"");
    let mut guest = Command::new(env!("CARGO_BIN_EXE_oxvm"));
    env(&mut guest);
    guest.arg("run").arg("--root").arg(&root).args(["--", "python3", "-c", &code]);
    let guest = run(guest, b"");
    Some((native, guest))
}

/// `script` prints the same and exits the same both ways.
fn py_same(script: &str) {
    let Some((native, guest)) = py_both(script) else { return };
    assert_eq!(text(&guest.stdout), text(&native.stdout), "stdout differs (oxvm stderr: {})", text(&guest.stderr));
    assert_eq!(text(&guest.stderr), text(&native.stderr), "stderr differs");
    assert_eq!(status(&guest), status(&native), "status differs");
    assert!(!native.stdout.is_empty(), "the script printed nothing: {}", text(&native.stderr));
}

#[test]
fn openpty_line_discipline() {
    py_same(
        r#"
m, s = os.openpty()
print("isatty", os.isatty(m), os.isatty(s), os.ttyname(s).startswith("/dev/pts/"))
st = os.fstat(s)
print("chr", (st.st_mode & 0o170000) == 0o020000, os.major(st.st_rdev), oct(st.st_mode & 0o777))
a = termios.tcgetattr(s)
print("iflag", oct(a[0]), "oflag", oct(a[1]), "lflag", oct(a[3]), "cc", [a[6][i] for i in (termios.VINTR, termios.VERASE, termios.VKILL, termios.VEOF, termios.VMIN)])
put(m, b"abc\x7fd\r")
print("slave reads", os.read(s, 100))
print("echo", os.read(m, 100))
put(m, b"one two\x17three\x15last\x04")
print("after werase/kill/eof", os.read(s, 100))
put(m, b"\x04")
print("eof", os.read(s, 100))
fcntl.ioctl(m, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
print("winsize", struct.unpack("HHHH", fcntl.ioctl(s, termios.TIOCGWINSZ, b"\0" * 8)))
put(m, b"abc")
print("fionread before newline", struct.unpack("i", fcntl.ioctl(s, termios.FIONREAD, b"\0" * 4))[0])
put(m, b"\n")
print("fionread after", struct.unpack("i", fcntl.ioctl(s, termios.FIONREAD, b"\0" * 4))[0])
termios.tcflush(s, termios.TCIFLUSH)
tty.setraw(s)
put(m, b"xy\r\x03")
print("raw", os.read(s, 100))
a = termios.tcgetattr(s)
a[6][termios.VMIN] = 0
a[6][termios.VTIME] = 0
termios.tcsetattr(s, termios.TCSANOW, a)
print("vmin 0", os.read(s, 100))
a[3] |= termios.ECHO | termios.ECHOCTL
a[1] |= termios.OPOST | termios.ONLCR
termios.tcsetattr(s, termios.TCSANOW, a)
put(m, b"\x01z")
put(s, b"out\n")
time.sleep(0.1)
print("echoctl and onlcr", os.read(m, 100))
os.close(s)
print("master after slave close", drain(m))
"#,
    );
}

/// glibc's posix_openpt/grantpt/unlockpt/ptsname and opening /dev/pts/N;
/// a hung-up slave reads end of file and fails writes.
#[test]
fn posix_openpt_and_devpts() {
    py_same(
        r#"
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.ptsname.restype = ctypes.c_char_p
m = libc.posix_openpt(os.O_RDWR | os.O_NOCTTY)
name = libc.ptsname(m).decode()
try:
    os.open(name, os.O_RDWR)
except OSError as e:
    print("before unlockpt", errno.errorcode[e.errno])
print("grantpt", libc.grantpt(m), "unlockpt", libc.unlockpt(m))
s = os.open(name, os.O_RDWR | os.O_NOCTTY)
print(name.startswith("/dev/pts/"), os.ttyname(s) == name, name[len("/dev/pts/"):] in os.listdir("/dev/pts"), "ptmx" in os.listdir("/dev/pts"))
os.write(m, b"ping\n")
print(os.read(s, 10))
os.close(m)
print("slave after master close", os.read(s, 10))
try:
    os.write(s, b"x")
except OSError as e:
    print("write", errno.errorcode[e.errno])
"#,
    );
}

#[test]
fn pty_fork_controlling_terminal() {
    py_same(
        r#"
pid, fd = pty.fork()
if pid == 0:
    print("leader", os.getsid(0) == os.getpid(), "fg", os.tcgetpgrp(0) == os.getpgrp())
    t = os.open("/dev/tty", os.O_RDWR)
    print("dev/tty", os.path.samestat(os.fstat(t), os.fstat(0)), os.ttyname(t))
    os.write(t, b"via dev/tty\n")
    s = struct.unpack("i", fcntl.ioctl(0, 0x5429, b"\0" * 4))[0]  # TIOCGSID
    print("tiocgsid", s == os.getsid(0))
    print("ready")
    line = sys.stdin.readline()
    print("got", repr(line))
    child_done()
    os._exit(7)
print(expect(fd, rb"ready\r\n"))
os.write(fd, b"hello\n")
print(collect(fd))
_, st = os.waitpid(pid, 0)
print(how(st))
"#,
    );
}

#[test]
fn no_controlling_terminal() {
    py_same(
        r#"
if os.fork() == 0:
    os.setsid()
    try:
        os.open("/dev/tty", os.O_RDWR)
    except OSError as e:
        print("open /dev/tty", errno.errorcode[e.errno])
    m, s = os.openpty()
    try:
        os.tcgetpgrp(s)
    except OSError as e:
        print("tcgetpgrp not ctty", errno.errorcode[e.errno])
    fcntl.ioctl(s, termios.TIOCSCTTY, 0)
    print("now ctty", os.tcgetpgrp(s) == os.getpgrp(), os.path.samestat(os.fstat(os.open("/dev/tty", os.O_RDWR)), os.fstat(s)))
    sys.stdout.flush()
    os._exit(0)
os.wait()
"#,
    );
}

#[test]
fn signal_characters_reach_the_foreground_group() {
    // The pty child is a session leader running cat as a foreground job in
    // a group of its own (a job-control shell's way: a group whose parent
    // is in the session, so ^Z may stop it).
    py_same(
        r#"
KEYS = [b"\x03", b"\x1c", b"\x1a"]
pid, fd = pty.fork()
if pid == 0:
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    for key in KEYS:
        k = os.fork()
        if k == 0:
            os.setpgid(0, 0)
            os.tcsetpgrp(0, os.getpgrp())
            signal.signal(signal.SIGTTOU, signal.SIG_DFL)
            os.execv("/bin/cat", ["cat"])
        os.setpgid(k, k)
        _, st = os.waitpid(k, os.WUNTRACED)
        print(repr(key), how(st))
        if os.WIFSTOPPED(st):
            os.kill(k, signal.SIGCONT)
            _, st = os.waitpid(k, os.WCONTINUED)
            print("then", how(st))
            os.kill(k, signal.SIGKILL)
            _, st = os.waitpid(k, 0)
            print("then", how(st))
        os.tcsetpgrp(0, os.getpgrp())
    child_done()
    os._exit(0)
for key in KEYS:
    os.write(fd, b"x\n")
    print(expect(fd, rb"x\r\nx\r\n"))
    os.write(fd, key)
    print(expect(fd, rb"signal \d+\r\n|stopped \d+\r\n"))
print(collect(fd))
_, st = os.waitpid(pid, 0)
print(how(st))
"#,
    );
}

#[test]
#[ignore = "keystroke-driven interactive bash: under load the native side's pty sometimes never delivers a job-control key (the run stalls); cargo xtask compat runs it"]
fn bash_job_control() {
    py_same(
        r#"
env = {"PATH": "/usr/bin:/bin", "TERM": "dumb", "PS1": "$ ", "HOME": "/", "LANG": "C"}
pid, fd = spawn(["/bin/bash", "--norc", "--noprofile", "-i"], env=env)
P = rb"\$ $"
def step(send, pat=P):
    if send is not None:
        os.write(fd, send)
    print(repr(expect(fd, pat)))
step(None)
step(b"sleep 10 &\n")
step(b"jobs\n")
step(b"kill %1; wait %1; echo st $?\n")
step(b"jobs\n")
# Each foreground job says when it runs ("up"), so the keys below never
# race its start.
step(b"sh -c 'echo up; exec cat'\n", rb"up\r\n")
time.sleep(0.3)
step(b"\x03")
step(b"echo status $?\n")
# bash gives a job the terminal before its child execs (so "up" means
# the keys reach the job), but `fg` prints the command line before giving
# the terminal back: the job says when it runs again ("cont", from its
# SIGCONT trap), and only then is it interrupted.
step(b"sh -c 'trap \"echo cont\" CONT; echo up; while :; do sleep 1; done'\n", rb"up\r\n")
step(b"\x1a")
step(b"jobs\n")
step(b"fg\n", rb"cont\r\n")
step(b"\x03")
step(b"echo status $?\n")
# A background job reading the terminal stops (SIGTTIN); fg gives it the
# terminal. Whether it stops before or after the next prompt is a race
# (bash reports the stop at the first prompt after it), so the prompts
# are not shown until `jobs` has seen it stop; then `jobs` lists it.
os.write(fd, b"cat &\n")
expect(fd, P)
for _ in range(200):
    os.write(fd, b"jobs\n")
    if "Stopped" in expect(fd, P):
        break
    time.sleep(0.1)
step(b"jobs\n")
step(b"fg\n", rb"cat\r\n")
time.sleep(0.3)
step(b"x\n", rb"x\r\nx\r\n")
step(b"\x04")
step(b"exit\n", rb"exit\r\n")
_, st = os.waitpid(pid, 0)
print(how(st))
"#,
    );
}

#[test]
fn stty_and_tty_under_a_pty() {
    py_same(
        r#"
pid, fd = spawn(["/bin/sh", "-c", "stty size; stty -a; tty; stty -echo -icanon min 3; stty -g | cut -d: -f1-4; tty -s; echo $?; echo '<done>'; head -c1 >/dev/null"], rows=40, cols=132)
print(collect(fd))
_, st = os.waitpid(pid, 0)
print(how(st))
"#,
    );
}

#[test]
fn process_groups_and_sessions() {
    py_same(
        r#"
def err(f, *a):
    try:
        r = f(*a)
        return "ok" if r is None else "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
me = os.getpid()
print("setpgid bad pid", err(os.setpgid, 999999, 0))
print("setpgid negative", err(os.setpgid, 0, -1))
print("getpgid bad", err(os.getpgid, 999999), "getsid bad", err(os.getsid, 999999))
print("killpg none", err(os.killpg, 999999, 0))
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    print("child same group", os.getpgrp() == os.getpgid(os.getppid()))
    os.setpgid(0, 0)
    print("own group", os.getpgrp() == os.getpid(), "same session", os.getsid(0) == os.getsid(os.getppid()))
    print("setsid as leader", err(os.setsid))
    pid2 = os.fork()
    if pid2 == 0:
        print("grandchild in group", os.getpgrp() == os.getppid())
        print("setsid", err(os.setsid), os.getsid(0) == os.getpid(), os.getpgrp() == os.getpid())
        print("setpgid across sessions", err(os.setpgid, 0, os.getppid()))
        sys.stdout.flush()
        os._exit(0)
    os.waitpid(pid2, 0)
    sys.stdout.flush()
    os.write(w, b"x")
    signal.pause()
    os._exit(0)
os.close(w)
os.read(r, 1)
print("parent sees group", os.getpgid(pid) == pid)
k = os.fork()
if k == 0:
    print("setpgid into other group", err(os.setpgid, 0, pid), os.getpgrp() == pid)
    os._exit(0)
os.waitpid(k, 0)
print("waitpid group", os.waitpid(-pid, os.WNOHANG))
os.killpg(pid, signal.SIGTERM)
_, st = os.waitpid(-pid, 0)
print("killed", how(st))
print("waitpid group again", err(os.waitpid, -pid, 0))
# exec'd children cannot be moved
pid = os.fork()
if pid == 0:
    os.execv("/bin/sleep", ["sleep", "1"])
time.sleep(0.3)
print("setpgid after exec", err(os.setpgid, pid, pid))
os.kill(pid, signal.SIGKILL)
os.waitpid(pid, 0)
# kill(0) reaches the whole group, waitpid(0) waits in it (in a group of
# its own: natively the caller's group holds the test harness too)
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)
    k = os.fork()
    if k == 0:
        # SIGUSR1's default action ends it, whenever it comes.
        signal.pause()
        os._exit(0)
    signal.signal(signal.SIGUSR1, lambda *a: print("leader got USR1"))
    time.sleep(0.2)
    os.kill(0, signal.SIGUSR1)
    _, st = os.waitpid(0, 0)
    print("kill(0) child", how(st))
    os._exit(0)
os.waitpid(pid, 0)
"#,
    );
}

#[test]
fn stop_and_continue_statuses() {
    py_same(
        r#"
got = []
signal.signal(signal.SIGCHLD, lambda s, f: got.append(s))
pid = os.fork()
if pid == 0:
    time.sleep(5)
    os._exit(3)
# The child gets a group of its own, whose parent (here) is in another
# group of the session: so it is not orphaned, and SIGTSTP stops it
# whatever process group the test harness itself runs in.
os.setpgid(pid, pid)
time.sleep(0.1)
os.kill(pid, signal.SIGSTOP)
_, st = os.waitpid(pid, os.WUNTRACED)
print(how(st), "sigchld", len(got) > 0)
print("nothing more", os.waitpid(pid, os.WUNTRACED | os.WNOHANG))
os.kill(pid, signal.SIGCONT)
_, st = os.waitpid(pid, os.WCONTINUED)
print(how(st))
os.kill(pid, signal.SIGTSTP)
r = os.waitid(os.P_PID, pid, os.WSTOPPED)
print("waitid", r.si_code == os.CLD_STOPPED, r.si_status)
os.kill(pid, signal.SIGCONT)
r = os.waitid(os.P_PID, pid, os.WCONTINUED)
print("waitid", r.si_code == os.CLD_CONTINUED, r.si_status)
os.kill(pid, signal.SIGSTOP)
os.waitpid(pid, os.WUNTRACED)
os.kill(pid, signal.SIGKILL)
_, st = os.waitpid(pid, 0)
print("stopped then", how(st))
# SA_NOCLDSTOP: no SIGCHLD for a stop
got.clear()
import ctypes
pid = os.fork()
if pid == 0:
    signal.pause()
    os._exit(0)
time.sleep(0.1)
os.kill(pid, signal.SIGSTOP)
_, st = os.waitpid(pid, os.WUNTRACED)
print(how(st))
os.kill(pid, signal.SIGCONT)
os.kill(pid, signal.SIGTERM)
_, st = os.waitpid(pid, 0)
print(how(st))
"#,
    );
}

#[test]
fn background_reads_and_writes() {
    py_same(
        r#"
pid, fd = pty.fork()
if pid == 0:
    # A background job reading its terminal stops with SIGTTIN.
    bg = os.fork()
    if bg == 0:
        os.setpgid(0, 0)
        os.read(0, 10)
        os._exit(0)
    os.setpgid(bg, bg)
    _, st = os.waitpid(bg, os.WUNTRACED)
    print("bg read", how(st))
    os.kill(bg, signal.SIGKILL)
    os.waitpid(bg, 0)
    # Ignoring SIGTTIN makes it EIO; writing is allowed without TOSTOP.
    bg = os.fork()
    if bg == 0:
        os.setpgid(0, 0)
        signal.signal(signal.SIGTTIN, signal.SIG_IGN)
        try:
            os.read(0, 10)
        except OSError as e:
            os.write(1, b"bg read ignored: %s\n" % errno.errorcode[e.errno].encode())
        os.write(1, b"bg write ok\n")
        os._exit(0)
    os.setpgid(bg, bg)
    _, st = os.waitpid(bg, 0)
    print("then", how(st))
    # Changing the settings from the background stops with SIGTTOU too.
    bg = os.fork()
    if bg == 0:
        os.setpgid(0, 0)
        termios.tcsetattr(0, termios.TCSANOW, termios.tcgetattr(0))
        os._exit(0)
    os.setpgid(bg, bg)
    _, st = os.waitpid(bg, os.WUNTRACED)
    print("bg tcsetattr", how(st))
    os.kill(bg, signal.SIGKILL)
    os.waitpid(bg, 0)
    # With TOSTOP a background write stops with SIGTTOU.
    a = termios.tcgetattr(1)
    a[3] |= termios.TOSTOP
    termios.tcsetattr(1, termios.TCSANOW, a)
    bg = os.fork()
    if bg == 0:
        os.setpgid(0, 0)
        os.write(1, b"written once in the foreground\n")
        os._exit(0)
    os.setpgid(bg, bg)
    _, st = os.waitpid(bg, os.WUNTRACED)
    print("bg write with tostop", how(st))
    # Bringing it to the foreground lets it finish.
    os.tcsetpgrp(0, bg)
    os.kill(bg, signal.SIGCONT)
    _, st = os.waitpid(bg, 0)
    # Back to the foreground (now a background writer under TOSTOP, in an
    # orphaned group: a write would fail with EIO).
    try:
        os.write(1, b"in the background\n")
    except OSError as e:
        err = errno.errorcode[e.errno]
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    os.tcsetpgrp(0, os.getpgrp())
    print("fg then", how(st), "background write", err)
    a[3] &= ~termios.TOSTOP
    termios.tcsetattr(1, termios.TCSANOW, a)
    child_done()
    os._exit(0)
print(collect(fd))
_, st = os.waitpid(pid, 0)
print(how(st))
"#,
    );
}

#[test]
fn hangup_when_the_session_leader_exits() {
    py_same(
        r#"
r, w = os.pipe()
pid, fd = pty.fork()
if pid == 0:
    kid = os.fork()
    if kid == 0:
        def hup(s, f):
            os.write(w, b"child got SIGHUP\n")
            os._exit(0)
        signal.signal(signal.SIGHUP, hup)
        os.write(w, b"ready\n")
        signal.pause()
        os._exit(1)
    os.read(r, 6)
    os._exit(0)
os.close(w)
_, st = os.waitpid(pid, 0)
print("leader", how(st))
print(os.read(r, 100).decode())
"#,
    );
}

/// The runner on a real terminal: oxvm (on a pty of the host) puts it in
/// raw mode and the guest's line discipline does echo, ^C and ^Z; a
/// window-size change on the host reaches the guest (SIGWINCH, stty size).
/// Compared with bash in the chroot on a pty of its own.
#[test]
#[ignore = "keystroke-driven interactive bash: under load the native side's pty sometimes never delivers a job-control key (the run stalls); cargo xtask compat runs it"]
fn host_terminal_through_the_runner() {
    let Some(root) = rootfs() else { return };
    if !native_ptys() || Command::new("python3").arg("-c").arg("import pty").output().map_or(true, |o| !o.status.success()) {
        eprintln!("skipping: needs python3 on the host");
        return;
    }
    let driver = concat!(
        r#"
import os, pty, sys, re, time, fcntl, termios, struct, signal
"#,
        watchdog!(),
        r#"
pid, fd = pty.fork()
if pid == 0:
    os.execve(sys.argv[1], sys.argv[1:] + ["/bin/bash", "--norc", "--noprofile", "-i"], {"PATH": "/usr/bin:/bin", "TERM": "dumb", "PS1": "$ ", "HOME": "/"})
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 90, 0, 0))
buf = b""
def expect(pat):
    global buf
    while not re.search(pat, buf):
        try:
            d = os.read(fd, 4096)
        except OSError:
            d = b""
        if not d:
            raise SystemExit("eof waiting for %r: %r" % (pat, buf))
        buf += d
    m = re.search(pat, buf)
    out = buf[:m.end()]
    buf = buf[m.end():]
    print(repr(re.sub(rb"/dev/pts/\d+", b"/dev/pts/N", out)))
expect(rb"\$ $")
os.write(fd, b"stty size; tty; stty -g | cut -d: -f1-4\n"); expect(rb"\$ $")
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
time.sleep(0.5)
os.write(fd, b"stty size\n"); expect(rb"50 120\r\n\$ $")
os.write(fd, b"sh -c 'echo up; exec cat'\n"); expect(rb"up\r\n"); time.sleep(0.3)
os.write(fd, b"\x03"); expect(rb"\$ $")
# `fg` prints the command line before giving the job the terminal: the
# job says when it runs again ("cont") before it is interrupted.
os.write(fd, b"sh -c 'trap \"echo cont\" CONT; echo up; while :; do sleep 1; done'\n"); expect(rb"up\r\n")
os.write(fd, b"\x1a"); expect(rb"\$ $")
os.write(fd, b"fg\n"); expect(rb"cont\r\n")
os.write(fd, b"\x03"); expect(rb"\$ $")
os.write(fd, b"exit 3\n"); expect(rb"exit\r\n")
_, st = os.waitpid(pid, 0)
print("status", os.WEXITSTATUS(st))
"#
    );
    let r = root.display().to_string();
    let oxvm = env!("CARGO_BIN_EXE_oxvm");
    let native_cmd = ["unshare", "-m", "sh", "-c", "mount --bind /dev/pts \"$0/dev/pts\" && exec /usr/sbin/chroot \"$0\" \"$@\"", &r];
    let guest_cmd = [oxvm, "run", "--root", &r, "--"];
    let drive = |prefix: &[&str]| {
        let mut c = Command::new("python3");
        env(&mut c);
        // unshare is looked up in PATH by the driver's execve: give it a path.
        let mut args: Vec<String> = prefix.iter().map(|s| s.to_string()).collect();
        if args[0] == "unshare" {
            args[0] =
                String::from_utf8_lossy(&Command::new("sh").args(["-c", "command -v unshare"]).output().unwrap().stdout).trim().to_string();
        }
        c.arg("-c").arg(driver).args(&args);
        run(c, b"")
    };
    let native = drive(&native_cmd);
    let guest = drive(&guest_cmd);
    assert_eq!(text(&guest.stdout), text(&native.stdout), "oxvm stderr: {}; native stderr: {}", text(&guest.stderr), text(&native.stderr));
    assert!(text(&native.stdout).contains("status 3"), "{}", text(&native.stderr));
}
