//! The files of /proc/PID (and /proc/PID/task/TID), in Linux 6.1's
//! formats.

use std::fmt::Write;
use std::rc::Rc;

use super::{maps, system, ProcInfo, ProcRegistry, ThreadInfo, Writer};
use crate::errno::Errno;
use crate::host::Host;
use crate::task::Pid;
use crate::vfs::{Dentry, FileType, Result};

/// Every entry of a process directory: name, type, permission bits.
pub const ENTRIES: &[(&str, FileType, u32)] = &[
    ("cgroup", FileType::Regular, 0o444),
    ("cmdline", FileType::Regular, 0o444),
    ("comm", FileType::Regular, 0o644),
    ("cwd", FileType::Symlink, 0o777),
    ("environ", FileType::Regular, 0o400),
    ("exe", FileType::Symlink, 0o777),
    ("fd", FileType::Directory, 0o500),
    ("fdinfo", FileType::Directory, 0o555),
    ("limits", FileType::Regular, 0o444),
    ("loginuid", FileType::Regular, 0o644),
    ("maps", FileType::Regular, 0o444),
    ("mountinfo", FileType::Regular, 0o444),
    ("mounts", FileType::Regular, 0o444),
    ("oom_score", FileType::Regular, 0o444),
    ("oom_score_adj", FileType::Regular, 0o644),
    ("root", FileType::Symlink, 0o777),
    ("sessionid", FileType::Regular, 0o444),
    ("stat", FileType::Regular, 0o444),
    ("statm", FileType::Regular, 0o444),
    ("status", FileType::Regular, 0o444),
    ("task", FileType::Directory, 0o555),
];

/// The entry called `name` (a thread directory has no `task`).
pub fn entry(name: &str, thread: bool) -> Option<&'static str> {
    ENTRIES.iter().find(|(n, _, _)| *n == name && !(thread && *n == "task")).map(|(n, _, _)| *n)
}

pub fn kind(name: &str) -> FileType {
    ENTRIES.iter().find(|(n, _, _)| *n == name).map_or(FileType::Regular, |e| e.1)
}

pub fn mode(name: &str) -> u32 {
    ENTRIES.iter().find(|(n, _, _)| *n == name).map_or(0o444, |e| e.2)
}

fn link_dentry(p: &ProcInfo, name: &str) -> Result<Dentry> {
    match name {
        "cwd" => Ok(p.cwd.clone()),
        "root" => Ok(p.root.clone()),
        "exe" => p.exec.exe.clone().ok_or(Errno::ENOENT),
        _ => Err(Errno::EINVAL),
    }
}

pub fn readlink(p: &ProcInfo, name: &str) -> Result<Vec<u8>> {
    if p.zombie {
        return Err(Errno::ENOENT);
    }
    let d = link_dentry(p, name)?;
    let mut path = d.path_from(&p.root);
    // A removed file or directory shows so, as on Linux.
    if d.inode().stat().is_ok_and(|st| st.nlink == 0) {
        path.extend_from_slice(b" (deleted)");
    }
    Ok(path)
}

pub fn follow(p: &ProcInfo, name: &str) -> Result<Dentry> {
    if p.zombie {
        return Err(Errno::ENOENT);
    }
    link_dentry(p, name)
}

/// What writing to `name` does, for the writable entries.
pub fn writer(reg: &Rc<ProcRegistry>, p: &ProcInfo, name: &str) -> Option<Writer> {
    let (reg, pid) = (reg.clone(), p.pid);
    match name {
        // The new name applies once the write returns (the kernel owns
        // the process); cut to 15 bytes, a trailing newline dropped.
        "comm" => Some(Box::new(move |data: &[u8]| {
            let mut name = [0u8; 16];
            let text = data.strip_suffix(b"\n").unwrap_or(data);
            let n = text.len().min(15);
            name[..n].copy_from_slice(&text[..n]);
            reg.write_comm(pid, name);
            Ok(data.len())
        })),
        "oom_score_adj" => Some(Box::new(move |data: &[u8]| {
            let v: i32 = std::str::from_utf8(data).ok().and_then(|s| s.trim().parse().ok()).ok_or(Errno::EINVAL)?;
            if !(-1000..=1000).contains(&v) {
                return Err(Errno::EINVAL);
            }
            reg.set_oom_score_adj(pid, v);
            Ok(data.len())
        })),
        // Only root (CAP_AUDIT_CONTROL) may set the login uid.
        "loginuid" => {
            let root = reg.get(reg.current().0).is_none_or(|me| me.creds.euid == 0);
            Some(Box::new(move |data: &[u8]| {
                let v: u32 = std::str::from_utf8(data).ok().and_then(|s| s.trim().parse().ok()).ok_or(Errno::EINVAL)?;
                if !root {
                    return Err(Errno::EPERM);
                }
                reg.set_loginuid(pid, v);
                Ok(data.len())
            }))
        }
        _ => None,
    }
}

/// The freshest record of thread `tid` (the leader for the process view).
fn thread(reg: &ProcRegistry, p: &ProcInfo, tid: Option<Pid>) -> Option<ThreadInfo> {
    let t = tid.unwrap_or(p.pid);
    p.threads.iter().find(|x| x.tid == t).map(|x| reg.thread_now(x))
}

fn comm(p: &ProcInfo) -> String {
    let n = p.comm.iter().position(|&b| b == 0).unwrap_or(16);
    String::from_utf8_lossy(&p.comm[..n]).into_owned()
}

/// Clock ticks (USER_HZ = 100) from nanoseconds.
fn ticks(ns: u64) -> u64 {
    ns / 10_000_000
}

/// CPU time from retired instructions: oxvm counts instructions, not
/// time; 100 million a second is roughly the interpreter's speed.
fn cpu_ticks(icount: u64) -> u64 {
    icount / 1_000_000
}

fn state(p: &ProcInfo, reg: &ProcRegistry, tid: Option<Pid>) -> (char, &'static str) {
    if p.zombie {
        return ('Z', "zombie");
    }
    // A process shows its leader thread's state; the caller is running,
    // the others as the kernel last saw them (waiting their turn counts
    // as running, as on Linux).
    let t = tid.unwrap_or(p.pid);
    let state = if t == reg.current().1 { 'R' } else { p.threads.iter().find(|x| x.tid == t).map_or('S', |x| reg.thread_now(x).state) };
    match state {
        'R' => ('R', "running"),
        _ => ('S', "sleeping"),
    }
}

fn stat(reg: &ProcRegistry, p: &ProcInfo, tid: Option<Pid>) -> String {
    let (st, _) = state(p, reg, tid);
    let icount: u64 = match tid {
        Some(t) => p.threads.iter().filter(|x| x.tid == t).map(|x| reg.thread_now(x).icount).sum(),
        None => p.threads.iter().map(|x| reg.thread_now(x).icount).sum(),
    };
    let z = maps::sizes(p);
    let rss = p.rss_anon + p.rss_file;
    let rsslim = p.rlimits[5].cur;
    let (code_lo, code_hi) = p.exec.code;
    let id = tid.unwrap_or(p.pid);
    format!(
        "{id} ({}) {st} {} {} {} 0 -1 4194304 0 0 0 0 {} 0 0 0 20 {} {} 0 {} {} {} {} {} {} {} 0 0 {} {} {} {} 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
        comm(p),
        p.ppid,
        p.pgid,
        p.sid,
        cpu_ticks(icount),
        p.nice,
        p.threads.len().max(1),
        ticks(p.start),
        z.total * crate::mm::PAGE,
        rss,
        rsslim,
        code_lo,
        code_hi,
        p.exec.stack,
        // The thread's own pending set, and only the first 31 signals
        // (the fields are obsolete; status has them all).
        thread(reg, p, tid).map_or(0, |t| t.pending) & 0x7fff_ffff,
        thread(reg, p, tid).map_or(p.sig_blocked, |t| t.mask) & 0x7fff_ffff,
        p.sig_ignored & 0x7fff_ffff,
        p.sig_caught & 0x7fff_ffff,
    )
}

fn status(reg: &ProcRegistry, p: &ProcInfo, tid: Option<Pid>) -> String {
    let (st, word) = state(p, reg, tid);
    let c = p.creds;
    let kb = |pages: u64| pages * 4;
    let z = maps::sizes(p);
    let rss = p.rss_anon + p.rss_file;
    let fdsize = p.files.as_ref().map_or(0, |f| f.borrow().fds().last().map_or(64, |m| ((m as usize / 64) + 1) * 64));
    let mut s = String::new();
    let _ = writeln!(s, "Name:\t{}", comm(p));
    let _ = writeln!(s, "Umask:\t{:04o}", p.umask);
    let _ = writeln!(s, "State:\t{st} ({word})");
    let _ = writeln!(s, "Tgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\nTracerPid:\t0", p.pid, tid.unwrap_or(p.pid), p.ppid);
    let _ = writeln!(s, "Uid:\t{}\t{}\t{}\t{}", c.uid, c.euid, p.saved_ids.0, p.fs_ids.0);
    let _ = writeln!(s, "Gid:\t{}\t{}\t{}\t{}", c.gid, c.egid, p.saved_ids.1, p.fs_ids.1);
    let _ = writeln!(s, "FDSize:\t{fdsize}\nGroups:\t");
    let _ = writeln!(s, "NStgid:\t{}\nNSpid:\t{}\nNSpgid:\t{}\nNSsid:\t{}", p.pid, tid.unwrap_or(p.pid), p.pgid, p.sid);
    if !p.zombie {
        let _ = writeln!(s, "VmPeak:\t{:8} kB\nVmSize:\t{:8} kB\nVmLck:\t{:8} kB\nVmPin:\t{:8} kB", kb(z.total), kb(z.total), 0, 0);
        let _ = writeln!(s, "VmHWM:\t{:8} kB\nVmRSS:\t{:8} kB", kb(rss), kb(rss));
        let _ = writeln!(s, "RssAnon:\t{:8} kB\nRssFile:\t{:8} kB\nRssShmem:\t{:8} kB", kb(p.rss_anon), kb(p.rss_file), 0);
        let _ = writeln!(
            s,
            "VmData:\t{:8} kB\nVmStk:\t{:8} kB\nVmExe:\t{:8} kB\nVmLib:\t{:8} kB",
            kb(z.data),
            kb(z.stack),
            kb(z.exe),
            kb(z.lib)
        );
        let _ = writeln!(s, "VmPTE:\t{:8} kB\nVmSwap:\t{:8} kB\nHugetlbPages:\t{:8} kB", 4 * (z.total / 512 + 1), 0, 0);
        let _ = writeln!(s, "CoreDumping:\t0\nTHP_enabled:\t1");
    }
    let _ = writeln!(s, "Threads:\t{}", p.threads.len().max(1));
    let _ = writeln!(s, "SigQ:\t0/{}", p.rlimits[11].cur);
    let t = thread(reg, p, tid);
    let _ = writeln!(s, "SigPnd:\t{:016x}\nShdPnd:\t{:016x}", t.map_or(0, |t| t.pending), p.sig_pending);
    let blocked = t.map_or(p.sig_blocked, |t| t.mask);
    let _ = writeln!(s, "SigBlk:\t{blocked:016x}\nSigIgn:\t{:016x}\nSigCgt:\t{:016x}", p.sig_ignored, p.sig_caught);
    let caps = if c.euid == 0 { 0x1ff_ffff_ffffu64 } else { 0 };
    let _ = writeln!(
        s,
        "CapInh:\t{:016x}\nCapPrm:\t{caps:016x}\nCapEff:\t{caps:016x}\nCapBnd:\t{:016x}\nCapAmb:\t{:016x}",
        0, 0x1ff_ffff_ffffu64, 0
    );
    let _ = writeln!(s, "NoNewPrivs:\t{}\nSeccomp:\t0\nSeccomp_filters:\t0", p.no_new_privs as u8);
    let _ = writeln!(s, "Speculation_Store_Bypass:\tvulnerable\nSpeculationIndirectBranch:\talways enabled");
    // One CPU; one memory node in Debian's 1024-node mask.
    let nodes = format!("{}00000001", "00000000,".repeat(31));
    let _ = writeln!(s, "Cpus_allowed:\t1\nCpus_allowed_list:\t0\nMems_allowed:\t{nodes}\nMems_allowed_list:\t0");
    let _ = writeln!(s, "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0");
    s
}

fn statm(p: &ProcInfo) -> String {
    let z = maps::sizes(p);
    format!("{} {} {} {} 0 {} 0\n", z.total, p.rss_anon + p.rss_file, p.rss_file, z.exe, z.data + z.stack)
}

/// NUL-terminated strings, one after the other.
fn strings(v: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in v {
        out.extend_from_slice(s);
        out.push(0);
    }
    out
}

const LIMITS: [(&str, &str); 16] = [
    ("Max cpu time", "seconds"),
    ("Max file size", "bytes"),
    ("Max data size", "bytes"),
    ("Max stack size", "bytes"),
    ("Max core file size", "bytes"),
    ("Max resident set", "bytes"),
    ("Max processes", "processes"),
    ("Max open files", "files"),
    ("Max locked memory", "bytes"),
    ("Max address space", "bytes"),
    ("Max file locks", "locks"),
    ("Max pending signals", "signals"),
    ("Max msgqueue size", "bytes"),
    ("Max nice priority", ""),
    ("Max realtime priority", ""),
    ("Max realtime timeout", "us"),
];

fn limits(p: &ProcInfo) -> String {
    let mut s = format!("{:<25} {:<20} {:<20} {:<10}\n", "Limit", "Soft Limit", "Hard Limit", "Units");
    let v = |x: u64| if x == u64::MAX { "unlimited".to_string() } else { x.to_string() };
    for (i, (name, unit)) in LIMITS.iter().enumerate() {
        let l = p.rlimits[i];
        let _ = write!(s, "{name:<25} {:<20} {:<20} ", v(l.cur), v(l.max));
        if !unit.is_empty() {
            let _ = write!(s, "{unit:<10}");
        }
        s.push('\n');
    }
    s
}

/// The text of /proc/PID/`name`.
pub fn content(reg: &ProcRegistry, p: &ProcInfo, tid: Option<Pid>, name: &str, _host: &mut dyn Host) -> Result<Vec<u8>> {
    // A process that went away since the open reads as on Linux: ESRCH.
    let p = &*reg.get(p.pid).ok_or(Errno::ESRCH)?;
    Ok(match name {
        "stat" => stat(reg, p, tid).into_bytes(),
        "status" => status(reg, p, tid).into_bytes(),
        "statm" => statm(p).into_bytes(),
        "cmdline" if p.zombie => Vec::new(),
        "cmdline" => strings(&p.exec.argv),
        "environ" if p.zombie => Vec::new(),
        "environ" => strings(&p.exec.envp),
        "comm" => format!("{}\n", comm(p)).into_bytes(),
        "maps" => maps::render(p).into_bytes(),
        "limits" => limits(p).into_bytes(),
        "mounts" => system::mounts(reg).into_bytes(),
        "mountinfo" => system::mountinfo(reg).into_bytes(),
        "oom_score" => b"0\n".to_vec(),
        "oom_score_adj" => format!("{}\n", reg.oom_score_adj(p.pid)).into_bytes(),
        "loginuid" => reg.loginuid(p.pid).to_string().into_bytes(),
        "sessionid" => b"4294967295".to_vec(),
        "cgroup" => b"0::/\n".to_vec(),
        _ => return Err(Errno::ENOENT),
    })
}
