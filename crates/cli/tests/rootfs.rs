//! Native Linux is the oracle: Debian programs from the test root
//! filesystem run natively (`chroot ROOT ...`) and under `oxvm run --root
//! ROOT ...` must print the same stdout and stderr and exit the same way.
//!
//! The root is `$OXVM_TEST_ROOTFS`, by default `<workspace>/target/rootfs/
//! bookworm` (`cargo xtask rootfs` builds it). Without it, or without the
//! privileges chroot needs, the tests skip with a message. The tree is
//! only read.

mod common;

use std::process::Command;

use common::chroot::{env, rootfs, run, same, same_as, status};

const TEXT: &[u8] = b"pear 3\napple 10\nfig 7\napple 10\nbanana 2\n";

differential! {
    true_: ["/bin/true"], status 0;
    false_: ["/bin/false"], status 1;
    echo: ["echo", "hello", "world"];
    cat_os_release: ["cat", "/etc/os-release"];
    ls_la_etc: ["ls", "-la", "/etc"];
    ls_recursive: ["ls", "-lR", "/etc/apt"];
    // Not "/": /dev is a devtmpfs under oxvm, the rootfs's directory natively.
    ls_inodes: ["ls", "-i", "/usr"];
    head_file: ["head", "-n", "3", "/etc/passwd"];
    head_bytes_binary: ["head", "-c", "300", "/usr/bin/ls"];
    tail_file: ["tail", "-n", "4", "/etc/passwd"];
    wc_files: ["wc", "/etc/passwd", "/etc/group", "/etc/os-release"];
    sort_file: ["sort", "-t:", "-k3", "-n", "/etc/passwd"];
    sort_stdin: ["sort"], stdin TEXT;
    uniq_stdin: ["uniq", "-c"], stdin b"a\na\nb\nc\nc\nc\n";
    cut_file: ["cut", "-d:", "-f1,3", "/etc/passwd"];
    tr_stdin: ["tr", "a-z", "A-Z"], stdin TEXT;
    stat_file: ["stat", "/etc/passwd"];
    stat_dir_and_link: ["stat", "/etc", "/bin"];
    stat_format: ["stat", "-c", "%n %s %F %a %U %G %h", "/etc/passwd", "/usr", "/bin", "/etc/os-release"];
    readlink_: ["readlink", "/bin"];
    readlink_f: ["readlink", "-f", "/usr/bin/python3"];
    sha256sum_binary: ["sha256sum", "/usr/bin/ls"];
    md5sum_stdin: ["md5sum"], stdin TEXT;
    find_etc: ["find", "/etc/apt"];
    grep_recursive: ["grep", "-r", "root", "/etc/passwd", "/etc/group"];
    sed_print: ["sed", "-n", "2,4p", "/etc/passwd"];
    od_hostname: ["od", "-c", "/etc/debian_version"];
    du_etc: ["du", "-s", "/etc/apt"];
    id_: ["id"];
    pwd_: ["pwd"];
    env_: ["env"];
    python_arith: ["python3", "-c", "print(2**100)"];
    python_modules: ["python3", "-c", "import json, re, hashlib, os; print(json.dumps({'a': [1, 2]}), re.sub('b+', 'x', 'abbbc'), hashlib.sha256(b'x').hexdigest(), sorted(os.listdir('/etc'))[:5])"];
    python_stdin: ["python3", "-c", "import sys; print(sorted(sys.stdin.read().split()))"], stdin TEXT;
    python_exit_code: ["python3", "-c", "import sys; sys.exit(3)"], status 3;
    python_exception: ["python3", "-c", "1/0"], status 1;
    missing_file: ["cat", "/nonexistent"], status 1;
    missing_dir: ["ls", "/nonexistent/dir"], status 2;
    not_a_directory: ["ls", "/etc/passwd/x"], status 2;
    mkdir_existing: ["mkdir", "/etc"], status 1;
    awk_fields: ["awk", "-F:", "{print $1 \" \" $3}", "/etc/passwd"];
    gzip_stdout: ["gzip", "-c", "/etc/passwd"];
    xz_stdout: ["xz", "-c", "/etc/os-release"];
    bzip2_stdout: ["bzip2", "-c", "/etc/os-release"];
    tar_stdout: ["tar", "-cf", "-", "/etc/apt"];
    dev_zero_and_null: ["head", "-c", "16", "/dev/zero", "/dev/null"];
    // Names and device numbers only: natively (chroot) /dev is the rootfs's
    // directory, under oxvm a devtmpfs with its own inodes and times.
    ls_dev: ["ls", "/dev"];
    dev_numbers: ["stat", "-c", "%n %F %t:%T", "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/console"];
    dev_links: ["readlink", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/fd"];
    dev_urandom_count: ["sh", "-c", "head -c 16 /dev/urandom | wc -c; cat /dev/null; echo x > /dev/full"], status 1;
    python_sqlite: ["python3", "-c", "import sqlite3; c = sqlite3.connect(':memory:'); c.execute('create table t(x)'); c.executemany('insert into t values (?)', [(i,) for i in range(100)]); print(c.execute('select sum(x) from t').fetchone())"];
    python_pipe: ["python3", "-c", "import os; r, w = os.pipe(); os.write(w, b'abc'); os.close(w); print(os.read(r, 10), os.read(r, 10))"];
    python_sigpipe: ["python3", "-c", "import os, signal; signal.signal(signal.SIGPIPE, signal.SIG_DFL); r, w = os.pipe(); os.close(r); os.write(w, b'x')"], status 141;
    python_broken_pipe: ["python3", "-c", "import os; r, w = os.pipe(); os.close(r); os.write(w, b'x')"], status 1;
    python_abort: ["python3", "-c", "import os; os.abort()"], status 134;
    sleep_: ["sleep", "0.05"];
    nice_: ["nice"];
    nice_exec: ["nice", "-n", "5", "nice"];
    python_sleep: ["python3", "-c", "import time; t = time.monotonic(); time.sleep(0.05); print(time.monotonic() - t >= 0.05)"];
    python_select_poll: ["python3", "-c", "import os, select, time\nr, w = os.pipe()\nprint(select.select([r], [w], [], 0.05)[0:2])\nt = time.monotonic(); print(select.select([r], [], [], 0.05), time.monotonic() - t >= 0.05)\np = select.poll(); p.register(r, select.POLLIN)\nt = time.monotonic(); print(p.poll(50), time.monotonic() - t >= 0.05)\nos.write(w, b'x'); print(select.select([r], [], [], None)[0] == [r], p.poll(-1))\nbad = os.dup(w); os.close(bad)\ntry: select.select([bad], [], [], 0)\nexcept OSError as e: print(e.errno)"];
    python_big_buffers: ["python3", "-c", "x = bytearray(10**7); x += bytearray(10**7); print(len(x))"];
    // execve without fork: env, nohup, `#!/usr/bin/env python3`, os.exec*.
    env_exec: ["env", "python3", "-c", "print(1)"];
    env_missing: ["env", "nonexistent"], status 127;
    nohup_: ["nohup", "echo", "hi"];
    env_script: ["pdb3", "--help"];
    python_execv: ["python3", "-c", "import os; os.execv('/bin/echo', ['echo', 'from', 'exec'])"];
    python_execve_env: ["python3", "-c", "import os; os.execve('/usr/bin/env', ['env'], {'A': '1'})"];
    python_execv_missing: ["python3", "-c", "import os; os.execv('/nonexistent', ['x'])"], status 1;
    // `#!/usr/bin/perl`, and `#!/usr/bin/perl -w` (an interpreter argument).
    script: ["json_pp", "-json_opt", "canonical,pretty"], stdin br#"{"b":[1,2],"a":"x"}"#;
    script_with_interpreter_arg: ["debconf-escape", "-e"], stdin b"a\\b\nc\n";
    // fork, exec, wait4, pipes between processes.
    bash_subshells: ["bash", "-c", "echo $((6*7)); (echo sub); echo a | tr a b; x=$(echo cmd); echo $x"];
    sh_or: ["sh", "-c", "false || echo ok"];
    sh_status: ["sh", "-c", "sh -c 'exit 3'; echo $?; (exit 4)"], status 4;
    bash_pipeline: ["bash", "-c", "seq 1000 | sort -r | head -3"];
    bash_long_pipeline: ["bash", "-c", "seq 20000 | sort -n | tail -5 | tr 0-9 a-j | cat -n"];
    bash_signal_status: ["bash", "-c", "x=$(python3 -c 'import os; os.abort()'); echo $?"];
    xargs_: ["xargs", "-n", "2", "echo"], stdin b"a b c d e\n";
    timeout_: ["timeout", "5", "true"];
    python_subprocess: ["python3", "-c", "import subprocess; print(subprocess.run(['echo','hi'],capture_output=True).stdout)"];
    python_fork_wait: ["python3", "-c", "import os\npid = os.fork()\nif pid == 0: os._exit(5)\np, st = os.waitpid(pid, 0)\nprint(p == pid, os.WIFEXITED(st), os.WEXITSTATUS(st))\ntry: os.waitpid(-1, 0)\nexcept ChildProcessError as e: print(e.errno)"];
    python_waitid_nohang: ["python3", "-c", "import os, time\nr, w = os.pipe()\npid = os.fork()\nif pid == 0:\n    os.read(r, 1); os._exit(2)\nprint(os.waitpid(pid, os.WNOHANG))\nos.write(w, b'x')\ni = os.waitid(os.P_PID, pid, os.WEXITED)\nprint(i.si_pid == pid, i.si_status, i.si_code == os.CLD_EXITED)"];
    python_kill_child: ["python3", "-c", "import subprocess; p = subprocess.Popen(['sleep', '5']); p.kill(); print(p.wait())"];
    python_pipe_big_write: ["python3", "-c", "import os\nr, w = os.pipe()\npid = os.fork()\nif pid == 0:\n    os.close(r); n = os.write(w, b'x' * 300000); os._exit(n == 300000)\nos.close(w); n = 0\nwhile b := os.read(r, 65536): n += len(b)\nprint(n, os.waitpid(pid, 0)[1])"];
    // make runs its recipes through posix_spawn (clone3 with CLONE_VM|CLONE_VFORK).
    make_eval: ["make", "-f", "/dev/null", "--eval", "all: ; echo built; false", "--eval", ".IGNORE:"];
    python_os_system: ["python3", "-c", "import os; print(os.system('exit 3') >> 8)"];
    perl_system: ["perl", "-e", "system('false'); print $? >> 8, qq(\n); print qx(echo hi)"];
    // Queue, Event and Semaphore timeouts, Barrier, Timer: futex waits with
    // and without deadlines, wakes and requeues.
    python_thread_sync: ["python3", "-c", "import threading, queue, time\nq = queue.Queue(); out = queue.Queue()\ndef worker():\n    while (item := q.get()) is not None:\n        out.put(item * 2)\nts = [threading.Thread(target=worker) for _ in range(8)]\nfor t in ts: t.start()\nfor i in range(200): q.put(i)\nfor _ in ts: q.put(None)\nfor t in ts: t.join()\nprint(sum(out.get() for _ in range(200)))\ne = threading.Event(); t0 = time.monotonic(); print(e.wait(0.05), time.monotonic() - t0 >= 0.05)\nb = threading.Barrier(3); r = []\ndef bw(): r.append(b.wait())\nts = [threading.Thread(target=bw) for _ in range(3)]\n[t.start() for t in ts]; [t.join() for t in ts]; print(sorted(r))\ns = threading.Semaphore(2); print(s.acquire(timeout=0.01), s.acquire(timeout=0.01), s.acquire(timeout=0.01))\ntimer = threading.Timer(0.01, lambda: print(\"timer\")); timer.start(); timer.join()\n"];
    // Signal delivery: handlers (bash traps, Python's C-level handler plus
    // its main-loop check), SIGALRM from alarm/setitimer, SIGCHLD, default
    // actions as 128+N.
    timeout_kills: ["bash", "-c", "timeout 1 sleep 3; echo $?"];
    bash_trap_usr1: ["bash", "-c", "trap 'echo got' USR1; kill -USR1 $$; echo after"];
    bash_trap_exit: ["bash", "-c", "trap 'echo bye' EXIT; echo hi"];
    bash_trap_chld: ["bash", "-c", "trap 'echo chld' CHLD; sleep 0.1 & wait; echo done $?"];
    bash_kill_self: ["bash", "-c", "kill -TERM $$; echo no"], status 143;
    bash_kill_bg: ["bash", "-c", "sleep 5 & kill $!; wait $!; echo $?"];
    python_alarm: ["python3", "-c", "import signal, time\nsignal.signal(signal.SIGALRM, lambda s, f: print('alarm', s))\nsignal.alarm(1); time.sleep(1.5); print('done')"];
    python_kill_self: ["python3", "-c", "import signal, os\nsignal.signal(signal.SIGUSR1, lambda s, f: print('usr1', s))\nos.kill(os.getpid(), signal.SIGUSR1); print('after')"];
    python_setitimer: ["python3", "-c", "import signal, time\nn = [0]\nsignal.signal(signal.SIGALRM, lambda s, f: n.__setitem__(0, n[0] + 1))\nsignal.setitimer(signal.ITIMER_REAL, 0.05, 0.05); time.sleep(0.3)\nprint(signal.setitimer(signal.ITIMER_REAL, 0)[1], n[0] >= 3)"];
    perl_alarm: ["perl", "-e", "$SIG{ALRM} = sub { print qq(alrm\n); exit 3 }; alarm 1; sleep 5"], status 3;
    bash_trap_int: ["bash", "-c", "trap 'echo int' INT; kill -INT $$; echo after"];
    bash_trap_ignore_term: ["bash", "-c", "trap '' TERM; kill -TERM $$; echo survived"];
    python_sigchld_handler: ["python3", "-c", "import os, signal, time\nsignal.signal(signal.SIGCHLD, lambda s, f: print('chld'))\np = os.fork()\nif p == 0: os._exit(1)\ntime.sleep(0.5); print(os.waitpid(p, 0)[1])"];
    python_select_alarm: ["python3", "-c", "import select, signal, os\nsignal.signal(signal.SIGALRM, lambda s, f: print('a'))\nsignal.alarm(1); r, w = os.pipe(); print(select.select([r], [], [], 1.5))"];
    python_pending_blocked: ["python3", "-c", "import signal, os\nsignal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])\nos.kill(os.getpid(), signal.SIGUSR1); print(signal.sigpending())"];
    python_thread_kill: ["python3", "-c", "import threading, signal, os, time\nsignal.signal(signal.SIGUSR1, lambda s, f: print('got in', threading.current_thread().name))\nt = threading.Thread(target=lambda: os.kill(os.getpid(), signal.SIGUSR1)); t.start(); t.join(); time.sleep(0.1)"];
    // faulthandler: a SIGSEGV handler on an alternate stack that re-raises.
    python_faulthandler: ["bash", "-c", "python3 -X faulthandler -c 'import ctypes; ctypes.string_at(0)' 2>&1 | head -1; echo ${PIPESTATUS[0]}"];
    python_sigchld_ignored: ["python3", "-c", "import os, signal, time\nsignal.signal(signal.SIGCHLD, signal.SIG_IGN)\np = os.fork()\nif p == 0: os._exit(1)\ntime.sleep(0.2)\ntry: os.waitpid(-1, 0)\nexcept ChildProcessError as e: print(e.errno)"];
    python_threads: ["python3", "-c", "import threading\nlock = threading.Lock(); cond = threading.Condition(lock); total = [0]; done = [0]\ndef work():\n    for _ in range(500):\n        with lock: total[0] += 1\n    with cond:\n        done[0] += 1; cond.notify_all()\nts = [threading.Thread(target=work) for _ in range(4)]\nfor t in ts: t.start()\nwith cond: cond.wait_for(lambda: done[0] == 4)\nfor t in ts: t.join()\nprint(total[0], done[0], threading.active_count())"];
}

/// A missing program: chroot and oxvm word the complaint differently, but
/// both exit 127 and say why.
#[test]
fn missing_command() {
    let Some(root) = rootfs() else { return };
    let mut guest = Command::new(env!("CARGO_BIN_EXE_oxvm"));
    env(&mut guest);
    guest.arg("run").arg("--root").arg(&root).args(["--", "/usr/bin/nonexistent"]);
    let o = run(guest, b"");
    assert_eq!(status(&o), 127);
    assert!(String::from_utf8_lossy(&o.stderr).contains("No such file or directory"));
}

/// procfs's static files: natively (chroot) /proc is the rootfs's empty
/// directory, so check the Linux format instead of comparing.
#[test]
fn procfs_static_files() {
    let Some(root) = rootfs() else { return };
    let mut guest = Command::new(env!("CARGO_BIN_EXE_oxvm"));
    env(&mut guest);
    let script = "cat /proc/version /proc/sys/kernel/ostype /proc/sys/kernel/osrelease /proc/sys/kernel/pid_max; grep -c ' /proc proc ' /proc/mounts; uname -r";
    guest.arg("run").arg("--root").arg(&root).args(["--", "sh", "-c", script]);
    let o = run(guest, b"");
    assert_eq!(status(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    assert!(lines[0].starts_with("Linux version "), "{out}");
    assert_eq!(lines[1], "Linux");
    // osrelease is what uname says.
    assert_eq!(lines[2], lines[5]);
    assert!(lines[3].parse::<u32>().is_ok_and(|n| n >= 32768), "{out}");
    assert_eq!(lines[4], "1");
}

/// `..` and absolute symlinks inside the guest stay inside the root,
/// exactly as chroot confines them.
#[test]
fn dotdot_stays_inside() {
    same(&["ls", "/../../.."], b"");
    same(&["cat", "/../../etc/os-release"], b"");
}

/// An unprivileged user meets the tree's permissions: no search in
/// /root, no reading /etc/shadow.
#[test]
fn permissions_as_a_user() {
    for args in [
        &["ls", "/root"][..],
        &["cat", "/root/.bashrc"],
        &["stat", "/root/.bashrc"],
        &["cat", "/etc/shadow"],
        &["id"],
        &["ls", "-l", "/etc/shadow"],
    ] {
        if same_as(Some(1000), args, b"").is_none() {
            return;
        }
    }
}

/// On a terminal (a pty from script(1)) the guest's console is a kernel
/// terminal that starts with the host terminal's settings and size:
/// colours, columns and `stty -a` match.
#[test]
fn terminal_ioctls() {
    let Some(root) = rootfs() else { return };
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipping: script(1) is needed to give the guest a terminal");
        return;
    }
    let oxvm = env!("CARGO_BIN_EXE_oxvm");
    for cmd in ["ls --color=auto /etc/apt", "stty -a", "tty -s"] {
        let on_tty = |line: String| {
            let mut c = Command::new("script");
            env(&mut c);
            c.env("TERM", "xterm").args(["-qec", &line, "/dev/null"]);
            run(c, b"")
        };
        let native = on_tty(format!("/usr/sbin/chroot {} {cmd}", root.display()));
        let guest = on_tty(format!("{oxvm} run --root {} -- {cmd}", root.display()));
        assert_eq!(String::from_utf8_lossy(&guest.stdout), String::from_utf8_lossy(&native.stdout), "{cmd}");
        assert_eq!(status(&guest), status(&native), "{cmd}");
    }
}
