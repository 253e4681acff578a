//! The files of /proc that describe the whole system: identity, CPU,
//! memory, counters, mounts and the sysctls under sys/.

use std::fmt::Write;

use super::ProcRegistry;
use crate::errno::Errno;
use crate::host::{Clock, Host};
use crate::syscall::system::{MACHINE, NODENAME, RELEASE, SYSNAME, VERSION};
use crate::vfs::{dev_major, dev_minor, Result};

/// Every static path (from the procfs root) and whether it is a
/// directory; files are read-only unless listed in [`mode`].
const TREE: &[(&str, bool)] = &[
    ("cmdline", false),
    ("cpuinfo", false),
    ("filesystems", false),
    ("loadavg", false),
    ("meminfo", false),
    ("stat", false),
    ("swaps", false),
    ("sys", true),
    ("sys/fs", true),
    ("sys/fs/file-max", false),
    ("sys/fs/file-nr", false),
    ("sys/fs/inotify", true),
    ("sys/fs/inotify/max_queued_events", false),
    ("sys/fs/inotify/max_user_instances", false),
    ("sys/fs/inotify/max_user_watches", false),
    ("sys/fs/nr_open", false),
    ("sys/fs/pipe-max-size", false),
    ("sys/kernel", true),
    ("sys/kernel/cap_last_cap", false),
    ("sys/kernel/hostname", false),
    ("sys/kernel/ngroups_max", false),
    ("sys/kernel/osrelease", false),
    ("sys/kernel/ostype", false),
    ("sys/kernel/overflowgid", false),
    ("sys/kernel/overflowuid", false),
    ("sys/kernel/pid_max", false),
    ("sys/kernel/random", true),
    ("sys/kernel/random/boot_id", false),
    ("sys/kernel/random/entropy_avail", false),
    ("sys/kernel/random/poolsize", false),
    ("sys/kernel/random/uuid", false),
    ("sys/kernel/shmall", false),
    ("sys/kernel/shmmax", false),
    ("sys/kernel/shmmni", false),
    ("sys/kernel/threads-max", false),
    ("sys/kernel/version", false),
    ("sys/vm", true),
    ("sys/vm/max_map_count", false),
    ("sys/vm/mmap_min_addr", false),
    ("sys/vm/overcommit_memory", false),
    ("sys/vm/overcommit_ratio", false),
    ("uptime", false),
    ("version", false),
    ("vmstat", false),
];

pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

fn base(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

/// The entries of static directory `dir` (None: not a directory).
pub fn children(dir: &str) -> Option<Vec<&'static str>> {
    if !dir.is_empty() && !TREE.iter().any(|(p, d)| *p == dir && *d) {
        return None;
    }
    Some(TREE.iter().filter(|(p, _)| parent(p) == dir).map(|(p, _)| base(p)).collect())
}

/// The static path of `name` in `dir`.
pub fn child(dir: &str, name: &str) -> Option<&'static str> {
    let full = join(dir, name);
    TREE.iter().find(|(p, _)| *p == full).map(|(p, _)| *p)
}

pub fn mode(_path: &str) -> u32 {
    0o444
}

/// The flags CPUID advertises, by Linux's names, in /proc/cpuinfo's order
/// (leaf 1 EDX, 0x80000001 EDX, leaf 1 ECX, 0x80000001 ECX).
fn cpu_flags() -> String {
    let l1 = oxvm_cpu::cpuid::cpuid(1, 0);
    let e1 = oxvm_cpu::cpuid::cpuid(0x8000_0001, 0);
    let edx1: &[(u32, &str)] = &[
        (0, "fpu"),
        (1, "vme"),
        (2, "de"),
        (3, "pse"),
        (4, "tsc"),
        (5, "msr"),
        (6, "pae"),
        (7, "mce"),
        (8, "cx8"),
        (9, "apic"),
        (11, "sep"),
        (12, "mtrr"),
        (13, "pge"),
        (14, "mca"),
        (15, "cmov"),
        (16, "pat"),
        (17, "pse36"),
        (19, "clflush"),
        (23, "mmx"),
        (24, "fxsr"),
        (25, "sse"),
        (26, "sse2"),
        (28, "ht"),
    ];
    let edx81: &[(u32, &str)] = &[(11, "syscall"), (20, "nx"), (26, "pdpe1gb"), (27, "rdtscp"), (29, "lm")];
    let ecx1: &[(u32, &str)] = &[
        (0, "pni"),
        (1, "pclmulqdq"),
        (9, "ssse3"),
        (12, "fma"),
        (13, "cx16"),
        (19, "sse4_1"),
        (20, "sse4_2"),
        (22, "movbe"),
        (23, "popcnt"),
        (25, "aes"),
        (26, "xsave"),
        (28, "avx"),
        (29, "f16c"),
        (30, "rdrand"),
    ];
    let ecx81: &[(u32, &str)] = &[(0, "lahf_lm"), (5, "abm")];
    let mut out = Vec::new();
    for (reg, table) in [(l1[3], edx1), (e1[3], edx81), (l1[2], ecx1), (e1[2], ecx81)] {
        for (bit, name) in table {
            if reg & (1 << bit) != 0 {
                out.push(*name);
            }
        }
    }
    out.join(" ")
}

fn brand() -> String {
    let mut b = Vec::new();
    for leaf in 0x8000_0002..=0x8000_0004u32 {
        for r in oxvm_cpu::cpuid::cpuid(leaf, 0) {
            b.extend_from_slice(&r.to_le_bytes());
        }
    }
    let n = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..n]).trim().to_string()
}

/// One processor as CPUID describes it (cache size: the last level of
/// leaf 4, as Linux reports).
fn cpuinfo() -> String {
    let sig = oxvm_cpu::cpuid::cpuid(1, 0)[0];
    let (family, model, stepping) = ((sig >> 8) & 0xf, ((sig >> 4) & 0xf) | ((sig >> 12) & 0xf0), sig & 0xf);
    let flags = cpu_flags();
    format!(
        "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: {family}\nmodel\t\t: {model}\nmodel name\t: {}\nstepping\t: {stepping}\n\
         cpu MHz\t\t: 1000.000\ncache size\t: 8192 KB\nphysical id\t: 0\nsiblings\t: 1\ncore id\t\t: 0\ncpu cores\t: 1\napicid\t\t: 0\n\
         initial apicid\t: 0\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: {}\nwp\t\t: yes\nflags\t\t: {flags}\nbugs\t\t:\n\
         bogomips\t: 2000.00\nclflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 48 bits physical, 48 bits virtual\npower management:\n\n",
        brand(),
        oxvm_cpu::cpuid::cpuid(0, 0)[0],
    )
}

fn meminfo(reg: &ProcRegistry) -> String {
    let total = reg.frame_limit.get() as u64 * 4;
    let used = (reg.frames_in_use.get() as u64 * 4).min(total);
    let free = total - used;
    let rows: &[(&str, u64)] = &[
        ("MemTotal", total),
        ("MemFree", free),
        ("MemAvailable", free),
        ("Buffers", 0),
        ("Cached", 0),
        ("SwapCached", 0),
        ("Active", used),
        ("Inactive", 0),
        ("Active(anon)", used),
        ("Inactive(anon)", 0),
        ("Active(file)", 0),
        ("Inactive(file)", 0),
        ("Unevictable", 0),
        ("Mlocked", 0),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Zswap", 0),
        ("Zswapped", 0),
        ("Dirty", 0),
        ("Writeback", 0),
        ("AnonPages", used),
        ("Mapped", 0),
        ("Shmem", 0),
        ("KReclaimable", 0),
        ("Slab", 0),
        ("SReclaimable", 0),
        ("SUnreclaim", 0),
        ("KernelStack", 0),
        ("PageTables", 0),
        ("SecPageTables", 0),
        ("NFS_Unstable", 0),
        ("Bounce", 0),
        ("WritebackTmp", 0),
        ("CommitLimit", total / 2),
        ("Committed_AS", used),
        ("VmallocTotal", 34_359_738_367),
        ("VmallocUsed", 0),
        ("VmallocChunk", 0),
        ("Percpu", 0),
        ("HardwareCorrupted", 0),
        ("AnonHugePages", 0),
        ("ShmemHugePages", 0),
        ("ShmemPmdMapped", 0),
        ("FileHugePages", 0),
        ("FilePmdMapped", 0),
    ];
    let mut s = String::new();
    for (k, v) in rows {
        let _ = writeln!(s, "{:<16}{v:>8} kB", format!("{k}:"));
    }
    let _ = writeln!(s, "HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0");
    let _ = writeln!(s, "Hugepagesize:       2048 kB\nHugetlb:               0 kB");
    s
}

/// Total CPU time so far, in ticks: all of it counts as user time of the
/// one CPU (idle is what the guest did not use of the wall clock).
fn stat(reg: &ProcRegistry, host: &mut dyn Host) -> String {
    let up = host.now(Clock::Monotonic);
    let real = host.now(Clock::Realtime);
    let btime = real.saturating_sub(up) / 1_000_000_000;
    let user: u64 = reg.all().iter().flat_map(|p| p.threads.iter()).map(|t| reg.thread_now(t).icount / 1_000_000).sum();
    let idle = (up / 10_000_000).saturating_sub(user);
    let running = reg.all().iter().flat_map(|p| p.threads.iter()).filter(|t| reg.thread_now(t).state == 'R').count().max(1);
    let blocked = 0;
    let cpu = format!("{user} 0 0 {idle} 0 0 0 0 0 0");
    format!(
        "cpu  {cpu}\ncpu0 {cpu}\nintr 0\nctxt 0\nbtime {btime}\nprocesses {}\nprocs_running {running}\nprocs_blocked {blocked}\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
        reg.forks.get()
    )
}

/// /proc/vmstat: page counts from the frames in use; no swap, no
/// reclaim, so the event counters oxvm does not keep are 0.
fn vmstat(reg: &ProcRegistry) -> String {
    let total = reg.frame_limit.get() as u64;
    let used = (reg.frames_in_use.get() as u64).min(total);
    let rows: &[(&str, u64)] = &[
        ("nr_free_pages", total - used),
        ("nr_zone_inactive_anon", 0),
        ("nr_zone_active_anon", used),
        ("nr_zone_inactive_file", 0),
        ("nr_zone_active_file", 0),
        ("nr_zone_unevictable", 0),
        ("nr_zone_write_pending", 0),
        ("nr_mlock", 0),
        ("nr_bounce", 0),
        ("nr_free_cma", 0),
        ("nr_inactive_anon", 0),
        ("nr_active_anon", used),
        ("nr_inactive_file", 0),
        ("nr_active_file", 0),
        ("nr_unevictable", 0),
        ("nr_slab_reclaimable", 0),
        ("nr_slab_unreclaimable", 0),
        ("nr_isolated_anon", 0),
        ("nr_isolated_file", 0),
        ("nr_anon_pages", used),
        ("nr_mapped", 0),
        ("nr_file_pages", 0),
        ("nr_dirty", 0),
        ("nr_writeback", 0),
        ("nr_writeback_temp", 0),
        ("nr_shmem", 0),
        ("nr_kernel_stack", 0),
        ("nr_page_table_pages", 0),
        ("pgpgin", 0),
        ("pgpgout", 0),
        ("pswpin", 0),
        ("pswpout", 0),
        ("pgalloc_normal", used),
        ("pgfree", 0),
        ("pgactivate", 0),
        ("pgdeactivate", 0),
        ("pgfault", used),
        ("pgmajfault", 0),
        ("pgsteal_kswapd", 0),
        ("pgsteal_direct", 0),
        ("pgscan_kswapd", 0),
        ("pgscan_direct", 0),
        ("oom_kill", 0),
    ];
    rows.iter().map(|(k, v)| format!("{k} {v}\n")).collect()
}

fn uptime(host: &mut dyn Host) -> String {
    let up = host.now(Clock::Monotonic) / 10_000_000;
    format!("{}.{:02} {}.{:02}\n", up / 100, up % 100, up / 100, up % 100)
}

fn loadavg(reg: &ProcRegistry) -> String {
    let all = reg.all();
    let threads: usize = all.iter().map(|p| p.threads.len()).sum();
    let running = all.iter().flat_map(|p| p.threads.iter()).filter(|t| reg.thread_now(t).state == 'R').count().max(1);
    let last = all.iter().map(|p| p.pid).max().unwrap_or(0);
    format!("0.00 0.00 0.00 {running}/{threads} {last}\n")
}

/// /proc/mounts (and /proc/PID/mounts): the mount table.
pub fn mounts(reg: &ProcRegistry) -> String {
    reg.mounts().iter().map(|m| format!("{} {} {} {} 0 0\n", m.source, m.target, m.fstype, m.options)).collect()
}

/// A mount's id in mountinfo (and fdinfo's mnt_id): 21 for the root,
/// then in mount order.
pub fn mount_id(reg: &ProcRegistry, dev: u64) -> u64 {
    reg.mounts().iter().position(|m| m.dev == dev).map_or(21, |i| 21 + i as u64)
}

/// /proc/PID/mountinfo: id, parent id, device, root, mount point,
/// per-mount options, then the filesystem type, source and its options.
pub fn mountinfo(reg: &ProcRegistry) -> String {
    let mounts = reg.mounts();
    let mut s = String::new();
    for (i, m) in mounts.iter().enumerate() {
        // The parent: the mount with the longest path that contains it.
        let parent = mounts
            .iter()
            .enumerate()
            .filter(|(j, p)| *j != i && (p.target == "/" || m.target.starts_with(&format!("{}/", p.target))))
            .max_by_key(|(_, p)| p.target.len())
            .map_or(1, |(j, _)| 21 + j as u64);
        let (ma, mi) = (dev_major(m.dev), dev_minor(m.dev));
        let per_mount = ["rw", "ro", "nosuid", "nodev", "noexec", "relatime"];
        let mount_opts: Vec<&str> = m.options.split(',').filter(|o| per_mount.contains(o)).collect();
        let mut super_opts: Vec<&str> = m.options.split(',').filter(|o| !per_mount.contains(o)).collect();
        super_opts.insert(0, if m.options.split(',').any(|o| o == "ro") { "ro" } else { "rw" });
        let _ = writeln!(
            s,
            "{} {parent} {ma}:{mi} / {} {} - {} {} {}",
            21 + i,
            m.target,
            mount_opts.join(","),
            m.fstype,
            m.source,
            super_opts.join(",")
        );
    }
    s
}

/// A random UUID (version 4) from the host's entropy.
fn uuid(host: &mut dyn Host) -> String {
    let mut b = [0u8; 16];
    host.random(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}\n", h[0..4].concat(), h[4..6].concat(), h[6..8].concat(), h[8..10].concat(), h[10..16].concat())
}

/// The text of a static file.
pub fn content(reg: &ProcRegistry, path: &str, host: &mut dyn Host) -> Result<Vec<u8>> {
    let s = match path {
        "version" => format!("{SYSNAME} version {RELEASE} (oxvm@{NODENAME}) ({MACHINE}) {VERSION}\n"),
        "cmdline" => "BOOT_IMAGE=/boot/vmlinuz-6.1.0-oxvm ro quiet\n".to_string(),
        "filesystems" => "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\tpipefs\n\text4\n".to_string(),
        "cpuinfo" => cpuinfo(),
        "meminfo" => meminfo(reg),
        "stat" => stat(reg, host),
        "uptime" => uptime(host),
        "loadavg" => loadavg(reg),
        "vmstat" => vmstat(reg),
        "swaps" => "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n".to_string(),
        "sys/fs/file-max" => "9223372036854775807\n".to_string(),
        "sys/fs/file-nr" => "0\t0\t9223372036854775807\n".to_string(),
        "sys/fs/inotify/max_queued_events" => "16384\n".to_string(),
        "sys/fs/inotify/max_user_instances" => "128\n".to_string(),
        "sys/fs/inotify/max_user_watches" => "65536\n".to_string(),
        "sys/fs/nr_open" => "1048576\n".to_string(),
        "sys/fs/pipe-max-size" => "1048576\n".to_string(),
        "sys/kernel/cap_last_cap" => "40\n".to_string(),
        "sys/kernel/hostname" => format!("{}\n", String::from_utf8_lossy(&crate::syscall::system::hostname())),
        "sys/kernel/ngroups_max" => "65536\n".to_string(),
        "sys/kernel/osrelease" => format!("{RELEASE}\n"),
        "sys/kernel/ostype" => format!("{SYSNAME}\n"),
        "sys/kernel/overflowgid" | "sys/kernel/overflowuid" => "65534\n".to_string(),
        "sys/kernel/pid_max" => "4194304\n".to_string(),
        // Random, and the same for the life of the kernel.
        "sys/kernel/random/boot_id" => reg.boot_id.borrow_mut().get_or_insert_with(|| uuid(host)).clone(),
        "sys/kernel/random/entropy_avail" | "sys/kernel/random/poolsize" => "256\n".to_string(),
        "sys/kernel/random/uuid" => uuid(host),
        "sys/kernel/shmall" => "18446744073692774399\n".to_string(),
        "sys/kernel/shmmax" => "18446744073692774399\n".to_string(),
        "sys/kernel/shmmni" => "4096\n".to_string(),
        "sys/kernel/threads-max" => "127406\n".to_string(),
        "sys/kernel/version" => format!("{VERSION}\n"),
        "sys/vm/max_map_count" => "65530\n".to_string(),
        "sys/vm/mmap_min_addr" => "65536\n".to_string(),
        // Heuristic overcommit, Linux's default (oxvm never refuses a
        // mapping for lack of memory before touching it).
        "sys/vm/overcommit_memory" => "0\n".to_string(),
        "sys/vm/overcommit_ratio" => "50\n".to_string(),
        _ => return Err(Errno::ENOENT),
    };
    Ok(s.into_bytes())
}
