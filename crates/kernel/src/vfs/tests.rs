//! VFS tests on a real host tree: confinement of path walks, descriptor
//! semantics, and file-backed memory.

use std::cell::RefCell;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::rc::Rc;

use oxvm_cpu::Memory;

use super::file::{O_RDONLY, O_RDWR};
use super::*;
use crate::fs::hostfs;
use crate::loader::binfmt::read_file;
use crate::mm::{FileMap, Mm, Placement, VmProt, VmaKind, PAGE};
use crate::tests::{Record, TestHost};

struct Tree(PathBuf);

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Tree {
    let d = std::env::temp_dir().join(format!("oxvm-vfs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Tree(d)
}

/// base/root/{usr/bin/prog, links...} and base/secret outside the root.
fn tree(name: &str) -> (Tree, FsContext) {
    let t = scratch(name);
    let root = t.0.join("root");
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::write(root.join("usr/bin/prog"), b"x").unwrap();
    std::fs::write(t.0.join("secret"), b"outside").unwrap();
    symlink("usr/bin", root.join("bin")).unwrap();
    symlink("/usr/bin/prog", root.join("abs")).unwrap();
    symlink("../../secret", root.join("usr/esc")).unwrap();
    symlink("/../secret", root.join("absesc")).unwrap();
    symlink("../../../../..", root.join("usr/bin/up")).unwrap();
    symlink("loop", root.join("loop")).unwrap();
    symlink("/created-through-link", root.join("dangling")).unwrap();
    let fs = FsContext::new(Rc::new(Vfs::default()), Dentry::root(hostfs::open_root(&root).unwrap()));
    (t, fs)
}

fn res(fs: &FsContext, p: &str) -> Result<Dentry> {
    fs.resolve(&fs.cwd, p.as_bytes(), true)
}

fn path(fs: &FsContext, p: &str) -> String {
    String::from_utf8(res(fs, p).unwrap().path_from(&fs.root)).unwrap()
}

#[test]
fn walks_stay_inside_the_root() {
    let (t, fs) = tree("confine");
    let prog = res(&fs, "/usr/bin/prog").unwrap();
    assert_eq!(path(&fs, "/usr/bin/prog"), "/usr/bin/prog");
    assert_eq!(res(&fs, "bin/prog").unwrap().inode().id(), prog.inode().id(), "relative symlink");
    assert_eq!(res(&fs, "/abs").unwrap().inode().id(), prog.inode().id(), "absolute symlinks start at the root");
    assert_eq!(path(&fs, "/usr/bin/../bin/./prog"), "/usr/bin/prog");
    // `..` is clamped at the root, whether typed or inside a symlink.
    assert_eq!(path(&fs, "/../../.."), "/");
    assert_eq!(path(&fs, "../usr"), "/usr");
    assert_eq!(path(&fs, "/usr/bin/up"), "/");
    assert!(res(&fs, "/usr/bin/up").unwrap().same_inode(&fs.root));
    for p in ["/../secret", "/usr/esc", "/absesc", "../../secret"] {
        assert_eq!(res(&fs, p).err(), Some(Errno::ENOENT), "{p} must not reach the file outside the root");
    }
    // The same names find a file of that name inside the root.
    std::fs::write(t.0.join("root/secret"), b"inside").unwrap();
    for p in ["/../secret", "/usr/esc", "/absesc"] {
        assert_eq!(read_file(&res(&fs, p).unwrap()).unwrap(), b"inside", "{p}");
    }
    assert_eq!(res(&fs, "/loop").err(), Some(Errno::ELOOP));
    assert_eq!(res(&fs, "/usr/bin/prog/x").err(), Some(Errno::ENOTDIR));
    assert_eq!(res(&fs, "/usr/bin/prog/").err(), Some(Errno::ENOTDIR));
    assert_eq!(res(&fs, "").err(), Some(Errno::ENOENT));
    assert_eq!(res(&fs, &"a".repeat(300)).err(), Some(Errno::ENAMETOOLONG));
    // Not following the last symlink gives the link itself.
    let l = fs.resolve(&fs.cwd, b"/abs", false).unwrap();
    assert_eq!(l.inode().kind(), FileType::Symlink);
    assert_eq!(l.inode().readlink().unwrap(), b"/usr/bin/prog");
    // The filesystem itself refuses anything but a plain name.
    for bad in [&b".."[..], b".", b"a/b", b"", b"a\0b"] {
        assert_eq!(fs.root.inode().lookup(bad).err(), Some(Errno::EINVAL), "{bad:?}");
    }
}

#[test]
fn create_follows_dangling_links_inside() {
    let (t, fs) = tree("create");
    let p = fs.resolve_create(&fs.cwd, b"/dangling", true).unwrap();
    assert!(p.dir.same_inode(&fs.root));
    assert_eq!(p.name, b"created-through-link");
    p.dir.inode().create(&p.name, 0o640).unwrap();
    assert!(t.0.join("root/created-through-link").exists());
    let p = fs.resolve_create(&fs.cwd, b"/dangling", false).unwrap();
    assert_eq!(p.name, b"dangling", "O_NOFOLLOW/O_EXCL stop at the link");
    let p = fs.resolve_parent(&fs.cwd, b"/usr/bin/new/").unwrap();
    assert!(p.trailing_slash);
    assert_eq!(p.name, b"new");
    assert_eq!(path(&fs, "/usr/bin"), String::from_utf8(p.dir.path_from(&fs.root)).unwrap());
}

fn host() -> TestHost {
    TestHost(Rc::new(RefCell::new(Record::default())))
}

fn read(f: &OpenFile, n: usize) -> Vec<u8> {
    let mut b = vec![0; n];
    match f.read(&mut host(), &mut b).unwrap() {
        Io::Done(k) => b.truncate(k),
        Io::Block => panic!("a file read never blocks"),
    }
    b
}

#[test]
fn dup_shares_the_offset_and_cloexec_is_per_descriptor() {
    let (t, fs) = tree("fds");
    std::fs::write(t.0.join("root/data"), b"0123456789").unwrap();
    let d = res(&fs, "/data").unwrap();
    let file = OpenFile::new(d.inode().open(O_RDONLY).unwrap(), Some(d), O_RDONLY);
    let mut table = FdTable::default();
    let a = table.insert(file, true).unwrap();
    let b = table.insert(table.get(a).unwrap(), false).unwrap();
    assert_eq!((a, b), (0, 1));
    assert_eq!(read(&table.get(a).unwrap(), 4), b"0123");
    assert_eq!(read(&table.get(b).unwrap(), 3), b"456", "the dup continues where the original stopped");
    assert_eq!(table.get(a).unwrap().offset(), 7);
    assert_eq!((table.cloexec(a), table.cloexec(b)), (Ok(true), Ok(false)));
    // A separate open has its own offset.
    let d2 = res(&fs, "/data").unwrap();
    let other = OpenFile::new(d2.inode().open(O_RDONLY).unwrap(), Some(d2), O_RDONLY);
    assert_eq!(read(&other, 2), b"01");
    assert_eq!(table.insert_from(5, other, false), Ok(5));
    table.close_on_exec();
    assert_eq!(table.get(a).err(), Some(Errno::EBADF), "close-on-exec descriptor closed");
    assert_eq!(read(&table.get(b).unwrap(), 10), b"789", "the other one survives exec");
    assert!(table.close(b).is_ok());
    assert_eq!(table.close(b).err(), Some(Errno::EBADF));
    assert_eq!(table.get(-1).err(), Some(Errno::EBADF));
    assert_eq!(table.fds().collect::<Vec<_>>(), [5]);
    table.set_max(6);
    let f = table.get(5).unwrap();
    assert_eq!(table.insert_from(0, f.clone(), false), Ok(0));
    for _ in 1..5 {
        table.insert(f.clone(), false).unwrap();
    }
    assert_eq!(table.insert(f.clone(), false), Err(Errno::EMFILE));
    assert_eq!(table.install(6, f, false), Err(Errno::EBADF));
}

#[test]
fn file_mappings_read_the_file_and_stay_private() {
    let (t, fs) = tree("mmap");
    let data: Vec<u8> = (0..3 * PAGE as usize + 100).map(|i| (i % 251) as u8).collect();
    std::fs::write(t.0.join("root/blob"), &data).unwrap();
    let d = res(&fs, "/blob").unwrap();
    let ops = d.inode().open(O_RDWR).unwrap();
    let mut mem = Memory::new();
    let mut mm = Mm::new();
    // Four pages from file offset 1 page: the last is past the end.
    let fm = FileMap { file: ops.clone(), offset: PAGE, shared: false, dentry: None };
    let a = mm.map_file(&mut mem, Placement::Hint(0), 4 * PAGE, VmProt::RW, VmaKind::File, Some(fm)).unwrap();
    // Split the VMA before touching anything: the upper part must keep
    // its own file offset.
    mm.protect(a, PAGE, VmProt::READ).unwrap();
    let mut buf = vec![0u8; 16];
    mm.user(&mut mem).read_bytes(a + PAGE + 8, &mut buf).unwrap();
    assert_eq!(buf, data[2 * PAGE as usize + 8..][..16]);
    mm.user(&mut mem).read_bytes(a, &mut buf).unwrap();
    assert_eq!(buf, data[PAGE as usize..][..16]);
    // The page holding the end of the file is zero past it.
    let mut tail = vec![0xffu8; 200];
    mm.user(&mut mem).read_bytes(a + 2 * PAGE, &mut tail).unwrap();
    assert_eq!(&tail[..100], &data[3 * PAGE as usize..]);
    assert!(tail[100..].iter().all(|&b| b == 0));
    // Private: writes change the mapping, not the file.
    mm.user(&mut mem).write_bytes(a + PAGE, b"XY").unwrap();
    mm.user(&mut mem).read_bytes(a + PAGE, &mut buf[..2]).unwrap();
    assert_eq!(&buf[..2], b"XY");
    assert_eq!(std::fs::read(t.0.join("root/blob")).unwrap(), data);
    assert_eq!(mm.user(&mut mem).write_bytes(a, b"no"), Err(Errno::EFAULT), "the read-only part refuses writes");
    // (Shared file mappings go through the page cache: mm/shmem.rs.)
    mm.clear(&mut mem);
    assert_eq!(mem.phys.frames_in_use(), 0);
}

#[test]
fn walks_need_search_permission() {
    use std::os::unix::fs::PermissionsExt;
    let (t, mut fs) = tree("search");
    let private = t.0.join("root/private");
    std::fs::create_dir(&private).unwrap();
    std::fs::write(private.join("f"), b"x").unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(res(&fs, "/private/f").is_ok(), "root searches anything");
    fs.walker = (1000, 1000);
    assert_eq!(res(&fs, "/private/f").err(), Some(Errno::EACCES));
    assert!(res(&fs, "/private").is_ok(), "the directory itself is reachable");
    assert!(res(&fs, "/usr/bin/prog").is_ok());
}

/// hostfs holds directories open: a directory renamed (or replaced by a
/// symlink leading out of the root) on the host keeps resolving to the
/// real directory, and a fresh walk meets the symlink, which it resolves
/// inside the root.
#[test]
fn held_directories_survive_host_renames_and_swaps() {
    let (t, fs) = tree("swap");
    let root = t.0.join("root");
    let usr = res(&fs, "/usr").unwrap();
    std::fs::rename(root.join("usr"), root.join("usr.old")).unwrap();
    symlink(&t.0, root.join("usr")).unwrap();
    let prog = fs.resolve(&usr, b"bin/prog", true).unwrap();
    assert_eq!(read_file(&prog).unwrap(), b"x", "the held directory is the renamed one");
    assert_eq!(res(&fs, "/usr/secret").err(), Some(Errno::ENOENT), "the swapped-in symlink stays inside the root");
    assert!(usr.inode().stat().is_ok());
}

/// A pipe's wait queue moves on every change a blocked peer waits for:
/// data written, room made in a full pipe, an end closed.
#[test]
fn pipe_wait_queue_moves_on_changes() {
    let mut h = host();
    let (r, w) = crate::fs::pipe::new_pair(1);
    let q = r.wait_queue().expect("a pipe has a wait queue");
    let g0 = q.generation();
    let mut buf = [0u8; 4];
    assert_eq!(r.read(&mut h, 0, &mut buf).unwrap(), Io::Block, "empty pipe, writer open");
    assert_eq!(q.generation(), g0, "a blocked read changes nothing");
    assert_eq!(w.write(&mut h, 0, b"ab").unwrap(), Io::Done(2));
    let g1 = q.generation();
    assert_ne!(g1, g0, "a write wakes readers");
    assert_eq!(r.read(&mut h, 0, &mut buf).unwrap(), Io::Done(2));
    let full = vec![0u8; crate::fs::pipe::PIPE_BUF_SIZE];
    assert_eq!(w.write(&mut h, 0, &full).unwrap(), Io::Done(full.len()));
    let g1 = q.generation();
    assert_eq!(r.read(&mut h, 0, &mut buf).unwrap(), Io::Done(4));
    let g2 = q.generation();
    assert_ne!(g2, g1, "a read from a full pipe wakes writers");
    drop(w);
    assert_ne!(q.generation(), g2, "the last writer's close wakes readers");
    while r.read(&mut h, 0, &mut buf).unwrap() != Io::Done(0) {}
}
