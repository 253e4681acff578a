//! POSIX timers, CPU-time interval timers, robust mutexes and
//! credentials (supplementary groups, fs ids, capabilities) against
//! native Linux: tests/c/timers.c and tests/c/creds.c natively and under
//! `oxvm run`, and Debian's python3 in the chroot and under
//! `oxvm run --root`.

mod common;
use common::chroot::{same, same_as};

#[test]
fn timers_c_matches_native() {
    let Some((_dir, exe)) = common::build_c("timers", &[]) else { return };
    common::assert_same_as_native(&exe, "timers: done");
}

#[test]
fn creds_c_matches_native() {
    // SAFETY: geteuid has no arguments and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: creds.c changes ids, which needs root");
        return;
    }
    let Some((_dir, exe)) = common::build_c("creds", &[]) else { return };
    common::assert_same_as_native(&exe, "creds: done");
}

/// ITIMER_VIRTUAL and ITIMER_PROF fire by CPU time in a busy loop;
/// getitimer reads the interval back; ITIMER_REAL still works.
const ITIMERS: &str = r#"
import signal, time
counts = {}
def h(sig, frame):
    counts[sig] = counts.get(sig, 0) + 1
for which, sig in ((signal.ITIMER_VIRTUAL, signal.SIGVTALRM), (signal.ITIMER_PROF, signal.SIGPROF)):
    signal.signal(sig, h)
    signal.setitimer(which, 0.01, 0.01)
    print("interval", signal.getitimer(which)[1])
    end = time.monotonic() + 20
    n = 0
    while counts.get(sig, 0) < 3 and time.monotonic() < end:
        n += 1
    old = signal.setitimer(which, 0)
    print(signal.Signals(sig).name, counts.get(sig, 0) >= 3, old[1], signal.getitimer(which))
signal.signal(signal.SIGALRM, h)
signal.setitimer(signal.ITIMER_REAL, 0.02)
time.sleep(1)
print("SIGALRM", counts.get(signal.SIGALRM))
"#;

/// Supplementary groups as root: sorted, kept across fork and exec, and
/// used for the group class once the process is no longer root
/// (/etc/shadow is root:shadow 0640).
const GROUPS: &str = r#"
import os, subprocess, sys
print(os.getgroups())
os.setgroups([1000, 42, 7])
print(os.getgroups())
print(subprocess.run(["python3", "-c", "import os; print(os.getgroups())"], capture_output=True, text=True).stdout, end="")
sys.stdout.flush()
pid = os.fork()
if pid == 0:
    os.setgid(1000)
    os.setuid(1000)
    print("child", os.getgroups(), len(open("/etc/shadow").read()) > 0, flush=True)
    try:
        os.setgroups([])
    except PermissionError as e:
        print("setgroups as user:", e.errno, flush=True)
    os._exit(0)
os.waitpid(pid, 0)
os.setgroups([])
sys.stdout.flush()
pid = os.fork()
if pid == 0:
    os.setgid(1000)
    os.setuid(1000)
    try:
        open("/etc/shadow")
    except PermissionError as e:
        print("no group:", e.errno, flush=True)
    os._exit(0)
os.waitpid(pid, 0)
"#;

/// As uid 1000: no setgroups, and files of other groups stay closed.
const USER: &str = r#"
import os
try:
    os.setgroups([42])
except PermissionError as e:
    print("setgroups:", e.errno)
try:
    open("/etc/shadow")
except PermissionError as e:
    print("shadow:", e.errno)
print(os.getuid(), os.geteuid(), os.getgid())
"#;

/// glibc's timer_create with SIGEV_THREAD through ctypes: the
/// notification thread must see si_value intact.
const THREAD_TIMER: &str = r#"
import ctypes, time
rt = ctypes.CDLL(None, use_errno=True)
calls = []
CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
@CB
def fire(v):
    calls.append(v)
class SigEvent(ctypes.Structure):
    _fields_ = [("value", ctypes.c_void_p), ("signo", ctypes.c_int), ("notify", ctypes.c_int),
                ("function", CB), ("attributes", ctypes.c_void_p), ("pad", ctypes.c_char * 32)]
ev = SigEvent(value=4321, notify=2, function=fire)
tid = ctypes.c_void_p()
print("create", rt.timer_create(1, ctypes.byref(ev), ctypes.byref(tid)))
spec = (ctypes.c_long * 4)(0, 5000000, 0, 5000000)
print("settime", rt.timer_settime(tid, 0, spec, None))
end = time.monotonic() + 20
while len(calls) < 3 and time.monotonic() < end:
    time.sleep(0.005)
print("calls", len(calls) >= 3, set(calls))
print("delete", rt.timer_delete(tid))
"#;

#[test]
fn python_itimers() {
    same(&["python3", "-c", ITIMERS], b"");
}

#[test]
fn python_setgroups_as_root() {
    same(&["python3", "-c", GROUPS], b"");
}

#[test]
fn python_groups_as_user() {
    same_as(Some(1000), &["python3", "-c", USER], b"");
}

#[test]
fn python_sigev_thread_timer() {
    same(&["python3", "-c", THREAD_TIMER], b"");
}

/// util-linux setpriv: PR_SET_KEEPCAPS, capset to re-raise, setresgid,
/// setgroups, the bounding and ambient sets, then exec as uid 1000.
#[test]
fn setpriv_supplementary_group_reads_shadow() {
    same(&["setpriv", "--groups", "42", "--reuid", "1000", "--regid", "1000", "--inh-caps=-all", "head", "-c", "5", "/etc/shadow"], b"");
}

#[test]
fn setpriv_without_groups_is_denied() {
    same(&["setpriv", "--clear-groups", "--reuid", "1000", "--regid", "1000", "--inh-caps=-all", "cat", "/etc/shadow"], b"");
}

#[test]
fn setpriv_id_lists_groups() {
    same(&["setpriv", "--groups", "42,7", "--reuid", "1000", "--regid", "1000", "--inh-caps=-all", "id"], b"");
    same(&["setpriv", "--keep-groups", "--reuid", "1000", "--regid", "1000", "--inh-caps=-all", "--bounding-set=-all", "id"], b"");
}

/// An ambient CAP_SETUID survives the exec as uid 1000: python may
/// setuid(0); without it, EPERM.
#[test]
fn setpriv_ambient_capability() {
    let py = "import os\ntry:\n    os.setuid(0)\n    print(os.getuid(), os.geteuid())\nexcept PermissionError as e:\n    print(e.errno)";
    for amb in ["--ambient-caps=+setuid", "--ambient-caps=-all"] {
        same(&["setpriv", "--inh-caps=+setuid", amb, "--reuid", "1000", "--regid", "1000", "--clear-groups", "python3", "-c", py], b"");
    }
}

/// The guest's real-time clock is its own: root moves it (the host's
/// clock stays where it was: the native side cannot be the oracle here),
/// monotonic time is not affected, and other users get EPERM.
#[test]
fn guest_root_sets_its_own_clock() {
    let Some(root) = common::chroot::rootfs() else { return };
    let script = r#"
import time, os
host = time.time()
m1 = time.monotonic()
time.clock_settime(time.CLOCK_REALTIME, host - 3600)
print("moved back", 3590 < host - time.time() < 3610)
print("monotonic", time.monotonic() >= m1)
print("file times follow", abs(os.stat("/proc/self").st_mtime - time.time()) < 10 or "n/a")
time.clock_settime(time.CLOCK_REALTIME, host + 5)
print("forward", 4 < time.time() - host < 15)
os.setuid(1000)
try:
    time.clock_settime(time.CLOCK_REALTIME, host)
except PermissionError:
    print("user: EPERM")
"#;
    let before = std::time::SystemTime::now();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_oxvm"))
        .arg("run")
        .arg("--root")
        .arg(&root)
        .args(["--", "python3", "-c", script])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        out,
        "moved back True\nmonotonic True\nfile times follow True\nforward True\nuser: EPERM\n",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let drift = std::time::SystemTime::now().duration_since(before).unwrap();
    assert!(drift < std::time::Duration::from_secs(120), "the host clock moved");
}
