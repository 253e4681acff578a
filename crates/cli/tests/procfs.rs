//! /proc, /sys and tmpfs under oxvm. Differential tests run the native
//! side in new mount and PID namespaces with a proc mounted on the root's
//! /proc and a tmpfs on its /dev/shm (nothing is written to the tree), so
//! the first program is PID 1 on both sides and PIDs match. What cannot
//! match the host (addresses, memory sizes, the host's mounts) is checked
//! for structure instead.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::chroot::{env, native_system, rootfs, run, status};

/// The native side: `args` in the root as a booted system has it (its
/// own PID namespace and procfs, /dev/pts, a tmpfs on /dev/shm).
fn native(root: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = native_system(root);
    env(&mut cmd);
    cmd.args(args);
    run(cmd, stdin)
}

fn guest(root: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxvm"));
    env(&mut cmd);
    cmd.arg("run").arg("--root").arg(root).arg("--").args(args);
    run(cmd, stdin)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Run both ways; stdout, stderr and status must be identical.
fn same(args: &[&str], stdin: &[u8]) {
    let Some(root) = rootfs() else { return };
    let n = native(&root, args, stdin);
    if status(&n) != 0 && text(&n.stderr).contains("unshare") {
        eprintln!("skipping: no namespaces here: {}", text(&n.stderr));
        return;
    }
    let g = guest(&root, args, stdin);
    assert_eq!(text(&g.stdout), text(&n.stdout), "{args:?}: stdout differs (oxvm stderr: {})", text(&g.stderr));
    assert_eq!(text(&g.stderr), text(&n.stderr), "{args:?}: stderr differs");
    assert_eq!(status(&g), status(&n), "{args:?}: exit status differs");
}

/// Run under oxvm only; must succeed. Returns stdout.
fn oxvm(args: &[&str]) -> Option<String> {
    let root = rootfs()?;
    let g = guest(&root, args, b"");
    assert_eq!(status(&g), 0, "{args:?} failed: {}", text(&g.stderr));
    Some(text(&g.stdout))
}

macro_rules! differential {
    ($($name:ident: [$($arg:expr),+] $(, stdin $stdin:expr)?;)*) => {$(
        #[test]
        fn $name() {
            #[allow(unused_mut, unused_assignments)]
            let mut stdin: &[u8] = b"";
            $(stdin = $stdin;)?
            same(&[$($arg),+], stdin);
        }
    )*};
}

differential! {
    ps_tree: ["bash", "-c", "ps -o pid,ppid,comm; true"];
    ps_background: ["bash", "-c", "sleep 10 & sleep 0.3; ps -e -o pid,ppid,comm,args; kill $!"];
    ps_columns: ["bash", "-c", "sleep 10 & sleep 0.3; ps -eo pid,ppid,user,group,uid,tty,nice,pri,cls,nlwp,comm,args; kill $!"];
    ps_threads: ["python3", "-c", "import threading, subprocess\ne = threading.Event()\nt = threading.Thread(target=e.wait)\nt.start()\nprint(subprocess.run(['ps', '-eLo', 'pid,lwp,nlwp,comm'], capture_output=True, text=True).stdout, end='')\nprint(sorted(__import__('os').listdir('/proc/self/task')))\ne.set()\nt.join()"];
    ps_states: ["bash", "-c", "sleep 10 | cat & sleep 0.5; ps -o pid,ppid,state,comm; kill %1"];
    pgrep_sleep: ["bash", "-c", "sleep 10 & sleep 0.3; pgrep -l sleep; pgrep -x nothing; echo $?; kill $!"];
    // (Not SigQ: it counts the user's queued signals system-wide.)
    status_fields: ["bash", "-c", "grep -E '^(Name|Umask|State|Tgid|Pid|PPid|TracerPid|Uid|Gid|Threads|NoNewPrivs|Mems_allowed|Mems_allowed_list)' /proc/self/status"];
    // (Signal 32 is left out: the native side may inherit it ignored.)
    signal_masks: ["python3", "-c", "import signal, os\nsignal.signal(signal.SIGUSR1, lambda *a: 0)\nsignal.signal(signal.SIGHUP, signal.SIG_IGN)\nsignal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2, signal.SIGTERM])\nos.kill(os.getpid(), signal.SIGUSR2)\nsignal.pthread_kill(signal.pthread_self(), signal.SIGTERM)\nfor l in open('/proc/self/status'):\n  k, v = l.split(':')\n  if k in ('SigPnd', 'ShdPnd', 'SigBlk', 'SigIgn', 'SigCgt'): print(k, hex(int(v, 16) & ~(1 << 31)))\nprint(open('/proc/self/stat').read().split()[30:34])"];
    status_of_parent: ["bash", "-c", "grep -E '^(Name|Pid|PPid|Uid)' /proc/$$/status; true"];
    // (Not the process group and session: outside the native namespace.)
    stat_fields: ["bash", "-c", "cut -d' ' -f1-4,7-8,14-20 /proc/self/stat; true"];
    comm_read_write: ["bash", "-c", "cat /proc/self/comm; echo -n renamed-to-a-very-long-name > /proc/self/comm; cat /proc/$$/comm; cat /proc/$$/task/$$/comm"];
    cmdline_environ: ["bash", "-c", "cat /proc/self/cmdline | od -c; env -i A=1 B='x y' cat /proc/self/environ | tr '\\0' '\\n'"];
    limits: ["cat", "/proc/self/limits"];
    links: ["bash", "-c", "readlink /proc/self/exe /proc/self/cwd /proc/self/root /proc/1/exe; cd /usr/share && readlink /proc/self/cwd /proc/$$/cwd"];
    self_links: ["bash", "-c", "readlink /proc/self /proc/thread-self /proc/mounts; ls /proc/self/task"];
    fd_links: ["bash", "-c", "exec 3</etc/hostname 4>/dev/null 5<>/dev/zero; for f in 3 4 5; do readlink /proc/$$/fd/$f; done; ls /proc/$$/fd; stat -c '%A' /proc/$$/fd/3 /proc/$$/fd/4 /proc/$$/fd/5"];
    fd_deleted: ["bash", "-c", "exec 3>/dev/shm/del; echo data >&3; rm /dev/shm/del; readlink /proc/$$/fd/3; cat /proc/$$/fd/3; stat -L -c '%h %s' /proc/$$/fd/3"];
    cwd_deleted: ["bash", "-c", "mkdir /dev/shm/gone && cd /dev/shm/gone && rmdir /dev/shm/gone && readlink /proc/self/cwd /proc/$$/cwd; exec 3</dev/shm; readlink /proc/$$/fd/3"];
    // What root gets trying to change procfs (not the sysctls: oxvm's are
    // read-only).
    write_errors: ["bash", "-c", "touch /proc/x; mkdir /proc/self/d; rm /proc/version; rmdir /proc/sys; ln -s a /proc/l; mv /proc/version /proc/v; echo x > /proc/version; echo x > /proc/self/stat; echo x > /proc/self/fdinfo/1; chmod 600 /proc/self/stat; touch -c /proc/self/stat /proc/uptime; echo $?"];
    fdinfo: ["bash", "-c", "exec 3</etc/hostname; read -n 3 x <&3; grep -E '^(pos|flags)' /proc/$$/fdinfo/3; exec 4</etc/passwd; grep flags /proc/$$/fdinfo/4"];
    dev_stdin_stdout: ["bash", "-c", "cat /dev/stdin; echo err > /dev/stderr; cat < /proc/self/fd/0; echo out >> /dev/stdout"], stdin b"piped input\n";
    process_substitution: ["bash", "-c", "cat <(echo from-substitution) ; wc -l < <(seq 5)"];
    modes: ["bash", "-c", "stat -c '%A %U %G %n' /proc/self/environ /proc/self/fd /proc/self/fdinfo /proc/self/stat /proc/self/status /proc/self/comm /proc/self/maps /proc/self/task /proc/self/oom_score_adj /proc/self/exe /proc/self"];
    loginuid: ["bash", "-c", "cat /proc/self/loginuid; echo; echo 1000 > /proc/self/loginuid; cat /proc/$$/loginuid; echo; cat /proc/self/loginuid; echo"];
    oom_score_adj: ["bash", "-c", "cat /proc/self/oom_score_adj; echo 500 > /proc/self/oom_score_adj; cat /proc/$$/oom_score_adj; cat /proc/self/oom_score_adj; echo 5000 > /proc/self/oom_score_adj; echo $?"];
    python_proc: ["python3", "-c", "import os; print(sorted(os.listdir('/proc/self/fd'))); print(os.readlink('/proc/self/exe')); print(open('/proc/self/stat').read().split()[:4]); print(os.path.exists('/proc/%d' % os.getpid()), os.path.exists('/proc/999999'))"];
    proc_dir_is_pid: ["bash", "-c", "echo /proc/[0-9]*; test -d /proc/1/task/1 && echo thread-dir"];
    zombie_state: ["python3", "-c", "import os, time\npid = os.fork()\nif pid == 0: os._exit(3)\ntime.sleep(0.5)\nprint(open('/proc/%d/stat' % pid).read().split()[2], os.waitpid(pid, 0)[1] >> 8, os.path.exists('/proc/%d' % pid))"];
    shm_tree: ["bash", "-c", "cd /dev/shm && echo a > f && ln f g && ln -s f s && mkdir -m 700 d && mv g d/ && ls -l --time-style=+ . d && stat -c '%F %s %h %a %U' f s d d/g && rm -r d f s && ls -A"];
    shm_statfs: ["bash", "-c", "stat -f -c '%T %b %S %l' /dev/shm; df -T /dev/shm | tail -1; grep shm /proc/mounts | cut -d' ' -f1-3"];
    shm_rename_errors: ["bash", "-c", "cd /dev/shm && mkdir a b && touch a/x b/y && mv -T a b; echo $?; mv a a/sub; echo $?; mv -T a/x b; echo $?; rm -r a b"];
    shm_truncate_and_append: ["bash", "-c", "cd /dev/shm && printf 123456789 > t && truncate -s 4 t && cat t && echo && printf ab >> t && cat t && echo && truncate -s 10 t && od -c t && stat -c %s t && rm t"];
    python_shm: ["python3", "-c", "import os\nfd = os.open('/dev/shm/py', os.O_CREAT | os.O_RDWR, 0o600)\nos.write(fd, b'hello world')\nos.lseek(fd, 6, 0)\nprint(os.read(fd, 5))\nimport mmap\nm = mmap.mmap(fd, 11, mmap.MAP_PRIVATE)\nprint(m[:5])\nos.unlink('/dev/shm/py')\nprint(os.fstat(fd).st_nlink, os.listdir('/dev/shm'))"];
    mknod_shm: ["bash", "-c", "cd /dev/shm && mkfifo -m 600 p && mknod n c 1 3 && mknod -m 640 b b 7 0 && stat -c '%F %t:%T %a' p n b && (echo x > n; echo $?); mknod p c 1 3; echo $?; rm p n b; ls -A"];
    // Every file mapping (program, interpreter, libraries, locale files)
    // with Linux's permissions, offsets, device and inode; addresses
    // differ (ASLR natively, and oxvm has no vDSO).
    maps_files_awk: ["bash", "-c", "awk '$6 ~ /^\\// {print $2, $3, $4, $5, $6}' /proc/self/maps"];
    maps_files_python: ["bash", "-c", "python3 -c 'import sys; sys.stdout.write(open(\"/proc/self/maps\").read())' | awk '$6 ~ /^\\// {print $2, $3, $4, $5, $6}'"];
    sticky_shm: ["bash", "-c", "cd /dev/shm && touch mine && mkdir open && chmod 777 open && touch open/f && python3 -c 'import os\nos.setgid(1000); os.setuid(1000)\nfor p in [\"mine\", \"open/f\"]:\n  try: os.unlink(p); print(\"removed\", p)\n  except OSError as e: print(p, e)\nopen(\"theirs\", \"w\").close(); print(os.stat(\"theirs\").st_uid)'; ls; rm -r mine open theirs"];
}

#[test]
fn maps_show_python_mappings() {
    // Each mapping Python makes shows up with its permissions, sharing and
    // (for files) offset and inode.
    let script = "import mmap, os, ctypes\n\
        lines = lambda: open('/proc/self/maps').read().splitlines()\n\
        def find(addr):\n\
        \x20   for l in lines():\n\
        \x20       a, b = (int(x, 16) for x in l.split()[0].split('-'))\n\
        \x20       if a <= addr < b: return l\n\
        for flags, prot in [(mmap.MAP_PRIVATE, mmap.PROT_READ | mmap.PROT_WRITE), (mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)]:\n\
        \x20   m = mmap.mmap(-1, 5 * 4096, flags=flags, prot=prot)\n\
        \x20   l = find(ctypes.addressof(ctypes.c_char.from_buffer(m))).split()\n\
        \x20   print(l[1], l[2], ' '.join(l[5:]))\n\
        f = open('/etc/passwd', 'rb')\n\
        fm = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)\n\
        mine = [l for l in lines() if l.endswith(' /etc/passwd')]\n\
        print(len(mine), mine[0].split()[1], mine[0].split()[2], int(mine[0].split()[4]) == os.fstat(f.fileno()).st_ino)\n\
        print(any(l.endswith('[heap]') for l in lines()), lines()[-1].endswith('[stack]'))\n\
        print(sum(1 for l in lines() if l.endswith('/usr/bin/python3.11')) >= 3)\n\
        print(all(len(l.split()) < 6 or l.index(l.split()[5]) >= 73 for l in lines()))\n";
    let Some(out) = oxvm(&["python3", "-c", script]) else { return };
    assert_eq!(out, "rw-p 00000000 \nrw-s 00000000 /dev/zero (deleted)\n1 r--s 00000000 True\nTrue True\nTrue\nTrue\n", "{out}");
}

#[test]
fn maps_match_linux_format_for_cat() {
    // cat's own maps: the executable's segments at the unrandomised PIE
    // base with Linux's offsets and permissions, then the heap.
    let Some(out) = oxvm(&["cat", "/proc/self/maps"]) else { return };
    let lines: Vec<&str> = out.lines().collect();
    let exe: Vec<String> = lines
        .iter()
        .filter(|l| l.ends_with("/usr/bin/cat"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            format!("{} {}", f[1], f[2])
        })
        .collect();
    assert_eq!(exe, ["r--p 00000000", "r-xp 00002000", "r--p 00007000", "r--p 00009000", "rw-p 0000a000"], "{out}");
    assert!(lines[0].starts_with("555555554000-"), "{out}");
    assert!(lines.iter().any(|l| l.ends_with("/usr/lib/x86_64-linux-gnu/libc.so.6")), "{out}");
    assert!(lines.last().unwrap().ends_with("[stack]"), "{out}");
    // Host Linux prints the same columns.
    let host = std::fs::read_to_string("/proc/self/maps").unwrap();
    let col = |s: &str| s.lines().find(|l| l.contains('/')).map(|l| l.find('/').unwrap());
    assert_eq!(col(&out), col(&host));
}

#[test]
fn status_field_names_are_linuxs() {
    let Some(out) = oxvm(&["cat", "/proc/self/status"]) else { return };
    let host = std::fs::read_to_string("/proc/self/status").unwrap();
    let names = |s: &str| s.lines().map(|l| l.split(':').next().unwrap().to_string()).collect::<Vec<_>>();
    let (ours, theirs) = (names(&out), names(&host));
    // Every field we print exists on the host, in the same order.
    let mut at = 0;
    for n in &ours {
        let pos = theirs[at..].iter().position(|t| t == n).unwrap_or_else(|| panic!("{n} not in host status after {at}"));
        at += pos + 1;
    }
    for must in ["Name", "State", "Pid", "PPid", "Uid", "VmRSS", "VmSize", "Threads", "SigBlk", "Cpus_allowed_list"] {
        assert!(ours.iter().any(|n| n == must), "{must}");
    }
}

#[test]
fn proc_entries_exist_on_host() {
    let Some(out) = oxvm(&["ls", "/proc/self", "/proc"]) else { return };
    let host: Vec<String> = std::fs::read_dir("/proc/self").unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    let mut section = "";
    for l in out.lines() {
        if l.ends_with(':') {
            section = l;
            continue;
        }
        if l.is_empty() {
            continue;
        }
        if section == "/proc/self:" {
            assert!(host.iter().any(|h| h == l), "/proc/self/{l} is not on the host");
        } else {
            assert!(l.parse::<u32>().is_ok() || Path::new("/proc").join(l).exists(), "/proc/{l} is not on the host");
        }
    }
}

#[test]
fn tools_run() {
    let Some(out) = oxvm(&[
        "bash",
        "-c",
        "free; uptime; ps aux; top -bn1 | head -8; nproc; getconf _NPROCESSORS_ONLN; python3 -c 'import os; print(os.cpu_count())'; vmstat | tail -1 | wc -w; pmap $$ | tail -1 | grep -c total",
    ]) else {
        return;
    };
    let l: Vec<&str> = out.lines().collect();
    assert!(l[0].split_whitespace().eq(["total", "used", "free", "shared", "buff/cache", "available"]), "{out}");
    let mem: Vec<u64> = l[1].split_whitespace().skip(1).map(|x| x.parse().unwrap()).collect();
    assert!(mem[0] > 0 && mem[1] > 0 && mem[0] == mem[1] + mem[2], "{out}");
    assert!(l[3].contains(" up ") && l[3].contains("load average: 0.00, 0.00, 0.00"), "{out}");
    assert!(l[4].starts_with("USER") && out.contains("ps aux") && out.contains("bash -c free"), "{out}");
    assert!(out.contains("Tasks:") && out.contains("MiB Mem"), "{out}");
    assert!(out.ends_with("1\n1\n1\n17\n1\n"), "{out}");
}

#[test]
fn global_files() {
    let Some(out) = oxvm(&["bash", "-c", "cat /proc/cpuinfo /proc/meminfo /proc/stat /proc/uptime /proc/loadavg /proc/mounts /proc/self/mountinfo /proc/sys/vm/overcommit_memory /proc/sys/kernel/osrelease; ls /proc/sys/kernel/random; cat /sys/devices/system/cpu/online /sys/devices/system/cpu/possible /sys/kernel/mm/transparent_hugepage/enabled; ls /sys/fs/cgroup /sys/class | wc -l"]) else {
        return;
    };
    let get = |k: &str| out.lines().find(|l| l.starts_with(k)).map(|l| l.split_once(':').map_or(l, |x| x.1).trim().to_string());
    assert_eq!(get("vendor_id").as_deref(), Some("GenuineIntel"));
    assert_eq!(get("cpu family").as_deref(), Some("6"));
    assert_eq!(out.matches("processor\t:").count(), 1);
    let flags = get("flags").unwrap();
    // Exactly what CPUID reports: SSE2 yes, nothing newer.
    for f in ["fpu", "tsc", "cx8", "cmov", "mmx", "fxsr", "sse", "sse2", "syscall", "nx", "lm", "cx16"] {
        assert!(flags.split(' ').any(|x| x == f), "{f} missing from {flags}");
    }
    for f in ["pni", "ssse3", "sse4_1", "sse4_2", "avx", "avx2", "popcnt"] {
        assert!(!flags.split(' ').any(|x| x == f), "{f} in {flags}");
    }
    let kb = |k: &str| get(k).unwrap().trim_end_matches(" kB").trim().parse::<u64>().unwrap();
    assert_eq!(kb("MemTotal"), 2 << 20, "the default guest memory limit");
    assert!(kb("MemFree") < kb("MemTotal") && kb("MemAvailable") == kb("MemFree"));
    assert!(out.lines().any(|l| l.starts_with("cpu  ")) && out.lines().any(|l| l.starts_with("btime ")));
    assert!(out.contains("proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"), "{out}");
    assert!(out.contains("shm /dev/shm tmpfs "), "{out}");
    assert!(out.contains(" / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"), "{out}");
    assert!(out.contains("\n0\n6.1.0-oxvm\n"), "{out}");
    assert!(out.contains("boot_id\n") && out.contains("uuid\n"));
    assert!(out.contains("\n0\n0\nalways [madvise] never\n"), "{out}");
}

#[test]
fn environ_is_private() {
    // Another user's environment and links cannot be read; their status
    // can, and one's own environment can.
    let script = "import os, sys\n\
        if os.fork():\n\
        \x20   os.wait(); sys.exit()\n\
        os.setgid(1000); os.setuid(1000)\n\
        for f in ['/proc/1/environ', '/proc/1/status', '/proc/self/environ']:\n\
        \x20   try: print(f, len(open(f, 'rb').read()) > 0)\n\
        \x20   except OSError as e: print(f, e.strerror)\n\
        for l in ['/proc/1/exe', '/proc/self/exe']:\n\
        \x20   try: print(l, os.readlink(l))\n\
        \x20   except OSError as e: print(l, e.strerror)\n";
    let Some(out) = oxvm(&["python3", "-c", script]) else { return };
    assert_eq!(
        out,
        "/proc/1/environ Permission denied\n/proc/1/status True\n/proc/self/environ True\n/proc/1/exe Permission denied\n/proc/self/exe /usr/bin/python3.11\n"
    );
}

#[test]
fn every_process_has_resident_pages() {
    // Other processes' memory is counted too, not only the reader's.
    let Some(out) =
        oxvm(&["bash", "-c", "sleep 10 & sleep 0.3; ps -o rss= -p 1,2; cut -d' ' -f2 /proc/1/statm; grep VmRSS /proc/2/status; kill $!"])
    else {
        return;
    };
    let nums: Vec<u64> = out.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    assert_eq!(nums.len(), 4, "{out}");
    assert!(nums.iter().all(|&n| n > 0), "{out}");
}

#[test]
fn lscpu_sees_one_cpu() {
    let Some(out) = oxvm(&["lscpu"]) else { return };
    for want in [
        "CPU(s):              1\n",
        "Vendor ID:           GenuineIntel\n",
        "Thread(s) per core:  1\n",
        "Socket(s):           1\n",
        "L1d cache:           32 KiB (1 instance)\n",
        "L3 cache:            8 MiB (1 instance)\n",
    ] {
        assert!(out.contains(want), "{want:?} not in {out}");
    }
}

#[test]
fn sysfs_is_read_only() {
    let Some(out) = oxvm(&["bash", "-c", "touch /sys/x; echo 1 > /sys/devices/system/cpu/online; mkdir /sys/d; rm /sys/devices/system/cpu/online; stat -f -c %T /sys; cat /sys/devices/system/cpu/online 2>&1"]) else {
        return;
    };
    assert_eq!(out, "sysfs\n0\n");
}
