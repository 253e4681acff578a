use std::cell::RefCell;
use std::rc::Rc;

use super::*;
use crate::loader::Creds;
use crate::mm::{FileMap, VmProt, Vma, VmaKind};
use crate::tests::{Record, TestHost};
use crate::vfs::{Dentry, EmptyDir, FdTable, OpenFile};

fn host() -> TestHost {
    TestHost(Rc::new(RefCell::new(Record::default())))
}

fn vma(start: u64, end: u64, prot: VmProt, kind: VmaKind) -> Vma {
    Vma { start, end, prot, kind, file: None, shm: None }
}

/// A registry with process 1 (two threads, uid 1000) calling.
fn setup() -> (Rc<ProcRegistry>, InodeRef, Rc<RefCell<FdTable>>) {
    let reg = Rc::new(ProcRegistry::default());
    let tmp = crate::fs::tmpfs::new_root(0o755, 1 << 20, false, Rc::new(crate::fs::tmpfs::Root));
    tmp.mkdir(b"bin", 0o755).unwrap();
    let bin = tmp.lookup(b"bin").unwrap();
    bin.create(b"prog", 0o755).unwrap();
    let root = Dentry::root(tmp.clone());
    let fs = crate::vfs::FsContext::new(Rc::new(crate::vfs::Vfs::default()), root.clone());
    let exe = fs.resolve(&root, b"/bin/prog", true).unwrap();
    let files = Rc::new(RefCell::new(FdTable::default()));
    let (r, _w) = crate::fs::pipe::new_pair(77);
    files.borrow_mut().insert(OpenFile::new(r, None, 0), false).unwrap();
    let ops = exe.inode().open(0).unwrap();
    files.borrow_mut().insert(OpenFile::new(ops.clone(), Some(exe.clone()), 0), true).unwrap();
    let exec = Rc::new(ExecInfo {
        exe: Some(exe.clone()),
        argv: vec![b"prog".to_vec(), b"-x".to_vec()],
        envp: vec![b"A=1".to_vec()],
        segs: vec![ImageSeg { start: 0x40_0000, end: 0x40_2000, offset: 0, file: exe.clone() }],
        stack: 0,
        code: (0x40_0000, 0x40_1800),
    });
    let page = crate::mm::PAGE;
    let vmas = vec![
        // The image: two file pages then a bss page.
        vma(0x40_0000, 0x40_3000, VmProt::READ | VmProt::EXEC, VmaKind::Image),
        vma(0x40_3000, 0x40_4000, VmProt::RW, VmaKind::Heap),
        // Two adjacent anonymous areas merge; a file mapping shows its file.
        vma(0x7000_0000, 0x7000_1000, VmProt::RW, VmaKind::Anon),
        vma(0x7000_1000, 0x7000_3000, VmProt::RW, VmaKind::Anon),
        Vma {
            start: 0x7000_3000,
            end: 0x7000_4000,
            prot: VmProt::READ,
            kind: VmaKind::File,
            file: Some(FileMap { file: ops, offset: 2 * page, shared: false, dentry: Some(exe.clone()) }),
            shm: None,
        },
        vma(0x7000_4000, 0x7000_5000, VmProt::RW, VmaKind::SharedAnon),
        vma(0x7fff_0000, 0x7fff_f000, VmProt::RW, VmaKind::Stack),
    ];
    let info = ProcInfo {
        pid: 1,
        ppid: 0,
        pgid: 1,
        sid: 1,
        comm: *b"prog\0\0\0\0\0\0\0\0\0\0\0\0",
        zombie: false,
        creds: Creds { uid: 1000, euid: 1000, gid: 1000, egid: 1000 },
        saved_ids: (1000, 1000),
        fs_ids: (1000, 1000),
        exec,
        cwd: exe.parent().unwrap().clone(),
        root: root.clone(),
        umask: 0o022,
        files: Some(files.clone()),
        threads: vec![
            ThreadInfo { tid: 1, icount: 0, state: 'S', mask: 0, pending: 0 },
            ThreadInfo { tid: 5, icount: 0, state: 'R', mask: 0, pending: 0 },
        ],
        rlimits: crate::task::default_rlimits(),
        nice: 0,
        start: 0,
        vmas,
        rss_file: 2,
        rss_anon: 1,
        sig_pending: 0,
        sig_blocked: 0,
        sig_ignored: 0,
        sig_caught: 0,
        no_new_privs: false,
    };
    reg.update(info);
    reg.enter(1, 5);
    let _ = EmptyDir;
    (reg.clone(), new_root(reg), files)
}

fn read(node: &InodeRef) -> String {
    let f = node.open(0).unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let Ok(Io::Done(n)) = f.read(&mut host(), 0, &mut buf) else { panic!() };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn walk(root: &InodeRef, path: &str) -> crate::vfs::Result<InodeRef> {
    let mut at = root.clone();
    for c in path.split('/') {
        at = at.lookup(c.as_bytes())?;
    }
    Ok(at)
}

fn names(dir: &InodeRef) -> Vec<String> {
    dir.open(0).unwrap().readdir().unwrap().into_iter().map(|e| String::from_utf8(e.name).unwrap()).collect()
}

#[test]
fn root_lists_pids_and_self_links() {
    let (reg, root, _) = setup();
    let n = names(&root);
    assert!(n.contains(&"1".into()) && n.contains(&"self".into()) && n.contains(&"cpuinfo".into()), "{n:?}");
    assert!(!n.contains(&"5".into()), "threads are not listed");
    assert_eq!(root.lookup(b"self").unwrap().readlink().unwrap(), b"1");
    assert_eq!(root.lookup(b"thread-self").unwrap().readlink().unwrap(), b"1/task/5");
    assert_eq!(root.lookup(b"mounts").unwrap().readlink().unwrap(), b"self/mounts");
    // A thread id has a (hidden) directory; unknown or odd names do not.
    assert_eq!(read(&walk(&root, "5/status").unwrap()).lines().find(|l| l.starts_with("Pid:")), Some("Pid:\t5"));
    assert_eq!(root.lookup(b"2").err(), Some(Errno::ENOENT));
    assert_eq!(root.lookup(b"01").err(), Some(Errno::ENOENT));
    assert_eq!(names(&walk(&root, "1/task").unwrap()), ["1", "5"]);
    reg.remove(1);
    assert_eq!(root.lookup(b"1").err(), Some(Errno::ENOENT));
}

#[test]
fn process_files() {
    let (_, root, _) = setup();
    let status = read(&walk(&root, "1/status").unwrap());
    assert!(status.starts_with("Name:\tprog\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t1\n"), "{status}");
    assert!(status.contains("\nThreads:\t2\n") && status.contains("\nUid:\t1000\t1000\t1000\t1000\n"), "{status}");
    assert!(status.contains("\nVmRSS:\t      12 kB\nRssAnon:\t       4 kB\nRssFile:\t       8 kB\n"), "{status}");
    let stat = read(&walk(&root, "1/stat").unwrap());
    assert!(stat.starts_with("1 (prog) S 0 1 1 0 -1 "), "{stat}");
    assert_eq!(stat.split(' ').count(), 52);
    assert_eq!(read(&walk(&root, "1/cmdline").unwrap()), "prog\0-x\0");
    assert_eq!(read(&walk(&root, "1/comm").unwrap()), "prog\n");
    assert_eq!(read(&walk(&root, "1/task/5/comm").unwrap()), "prog\n");
    // The caller (thread 5) runs; the leader waits.
    assert!(read(&walk(&root, "1/task/5/status").unwrap()).contains("\nState:\tR (running)\nTgid:\t1\nNgid:\t0\nPid:\t5\n"));
    assert_eq!(walk(&root, "1/task/5/task").err(), Some(Errno::ENOENT));
    assert_eq!(walk(&root, "1/exe").unwrap().readlink().unwrap(), b"/bin/prog");
    assert_eq!(walk(&root, "1/cwd").unwrap().readlink().unwrap(), b"/bin");
    assert_eq!(walk(&root, "1/root").unwrap().readlink().unwrap(), b"/");
    assert!(read(&walk(&root, "1/limits").unwrap())
        .contains("\nMax open files            1024                 1048576              files     \n"));
    // Read-only files refuse data; comm takes a new name for the kernel.
    assert_eq!(walk(&root, "1/stat").unwrap().open(1).unwrap().write(&mut host(), 0, b"x"), Err(Errno::EINVAL));
    assert_eq!(walk(&root, "1").unwrap().unlink(b"stat").err(), Some(Errno::EPERM));
    assert_eq!(walk(&root, "1").unwrap().create(b"new", 0o644).err(), Some(Errno::ENOENT));
    let comm = walk(&root, "1/comm").unwrap().open(1).unwrap();
    assert_eq!(comm.write(&mut host(), 0, b"a-much-longer-name-than-15\n"), Ok(Io::Done(27)));
    let reg = match root.as_any().downcast_ref::<ProcNode>() {
        Some(n) => n.reg.clone(),
        None => unreachable!(),
    };
    assert_eq!(reg.take_comm_writes(), [(1, *b"a-much-longer-n\0")]);
}

#[test]
fn environ_needs_the_same_user() {
    let (reg, root, _) = setup();
    assert_eq!(read(&walk(&root, "1/environ").unwrap()), "A=1\0");
    // A caller of another user (process 2, uid 2000) is refused.
    let mut other = (*reg.get(1).unwrap()).clone();
    other.pid = 2;
    other.threads = vec![ThreadInfo { tid: 2, icount: 0, state: 'R', mask: 0, pending: 0 }];
    other.creds = Creds { uid: 2000, euid: 2000, gid: 0, egid: 0 };
    reg.update(other);
    reg.enter(2, 2);
    assert_eq!(walk(&root, "1/environ").unwrap().open(0).err(), Some(Errno::EACCES));
    assert_eq!(walk(&root, "1/maps").unwrap().open(0).err(), Some(Errno::EACCES));
    assert_eq!(walk(&root, "1/exe").unwrap().readlink().err(), Some(Errno::EACCES));
    assert_eq!(walk(&root, "1/fd").unwrap().open(0).err(), Some(Errno::EACCES));
    assert!(read(&walk(&root, "1/status").unwrap()).contains("State:\tS (sleeping)"));
    assert!(read(&walk(&root, "2/status").unwrap()).contains("State:\tR (running)"));
}

#[test]
fn fds_show_paths_and_objects() {
    let (_, root, files) = setup();
    let fd = walk(&root, "1/fd").unwrap();
    assert_eq!(names(&fd), ["0", "1"]);
    assert_eq!(fd.lookup(b"0").unwrap().readlink().unwrap(), b"pipe:[77]");
    assert_eq!(fd.lookup(b"1").unwrap().readlink().unwrap(), b"/bin/prog");
    assert_eq!(fd.lookup(b"1").unwrap().stat().unwrap().mode, 0o120500);
    assert_eq!(fd.lookup(b"2").err(), Some(Errno::ENOENT));
    // Following a link reaches the object: the pipe's own file operations.
    let to = fd.lookup(b"0").unwrap().follow_link().unwrap().unwrap();
    let pipe = files.borrow().get(0).unwrap();
    assert!(Rc::ptr_eq(&to.inode().open(0).unwrap(), &pipe.ops));
    assert_eq!(to.inode().kind(), FileType::Fifo);
    let to = fd.lookup(b"1").unwrap().follow_link().unwrap().unwrap();
    assert_eq!(to.name(), b"prog");
    // The listing is taken when read: a descriptor opened since shows up.
    let dir = fd.open(0).unwrap();
    files.borrow_mut().insert(pipe, false).unwrap();
    assert_eq!(dir.readdir().unwrap().len(), 3);
    let info = read(&walk(&root, "1/fdinfo/1").unwrap());
    assert!(info.starts_with("pos:\t0\nflags:\t02100000\n"), "{info}");
}

#[test]
fn maps_in_linux_format() {
    let (_, root, _) = setup();
    let maps = read(&walk(&root, "1/maps").unwrap());
    let st = walk(&root, "1/exe").unwrap().follow_link().unwrap().unwrap().inode().stat().unwrap();
    let dev = format!("{:02x}:{:02x} {}", crate::vfs::dev_major(st.dev), crate::vfs::dev_minor(st.dev), st.ino);
    let pad = |head: String, name: &str| format!("{head:<72} {name}");
    let want = [
        pad(format!("00400000-00402000 r-xp 00000000 {dev} "), "/bin/prog"),
        "00402000-00403000 r-xp 00000000 00:00 0 ".to_string(),
        pad("00403000-00404000 rw-p 00000000 00:00 0 ".to_string(), "[heap]"),
        "70000000-70003000 rw-p 00000000 00:00 0 ".to_string(),
        pad(format!("70003000-70004000 r--p 00002000 {dev} "), "/bin/prog"),
        pad(format!("70004000-70005000 rw-s 00000000 00:01 {} ", 0x70004), "/dev/zero (deleted)"),
        pad("7fff0000-7ffff000 rw-p 00000000 00:00 0 ".to_string(), "[stack]"),
    ];
    assert_eq!(maps.lines().collect::<Vec<_>>(), want, "{maps}");
    let statm = read(&walk(&root, "1/statm").unwrap());
    // 24 pages, 3 resident (2 of files), 2 of the executable's code, 19
    // of data and stack.
    assert_eq!(statm, "24 3 2 2 0 19 0\n");
}

#[test]
fn static_files() {
    let (reg, root, _) = setup();
    reg.set_mounts(vec![MountEntry {
        source: "proc".into(),
        target: "/proc".into(),
        fstype: "proc".into(),
        options: "rw,nosuid".into(),
        dev: DEV,
    }]);
    assert_eq!(read(&walk(&root, "1/mounts").unwrap()), "proc /proc proc rw,nosuid 0 0\n");
    assert!(read(&walk(&root, "cpuinfo").unwrap())
        .contains("flags\t\t: fpu tsc cx8 cmov clflush mmx fxsr sse sse2 syscall nx lm cx16 lahf_lm\n"));
    assert!(read(&walk(&root, "meminfo").unwrap()).starts_with("MemTotal:        2097152 kB\n"));
    assert_eq!(read(&walk(&root, "sys/vm/overcommit_memory").unwrap()), "0\n");
    assert_eq!(walk(&root, "sys/kernel").unwrap().kind(), FileType::Directory);
    assert_eq!(walk(&root, "sys/nope").err(), Some(Errno::ENOENT));
    assert_eq!(walk(&root, "version").unwrap().open(1).unwrap().write(&mut host(), 0, b"x"), Err(Errno::EIO));
    assert_eq!(walk(&root, "sys/vm/overcommit_memory").unwrap().open(1).err(), Some(Errno::EACCES));
    let uuid = read(&walk(&root, "sys/kernel/random/uuid").unwrap());
    assert_eq!((uuid.len(), &uuid[14..15]), (37, "4"));
    let boot = read(&walk(&root, "sys/kernel/random/boot_id").unwrap());
    assert_eq!(boot.len(), 37);
    assert_eq!(read(&walk(&root, "sys/kernel/random/boot_id").unwrap()), boot);
}
