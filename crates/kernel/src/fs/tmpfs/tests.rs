use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::*;
use crate::tests::{Record, TestHost};
use crate::vfs::{dev_major, makedev, RENAME_EXCHANGE, RENAME_NOREPLACE};

/// A caller whose ids and clock the test sets.
#[derive(Default)]
struct Who {
    ids: Cell<(u32, u32)>,
    sec: Cell<i64>,
}

impl Caller for Who {
    fn creds(&self) -> (u32, u32) {
        self.ids.get()
    }
    fn now(&self) -> Timespec {
        Timespec { sec: self.sec.get(), nsec: 0 }
    }
}

fn fs(max: u64) -> (InodeRef, Rc<Who>) {
    let who = Rc::new(Who::default());
    (new_root(0o1777, max, false, who.clone()), who)
}

fn host() -> TestHost {
    TestHost(Rc::new(RefCell::new(Record::default())))
}

fn names(dir: &InodeRef) -> Vec<String> {
    dir.open(0).unwrap().readdir().unwrap().into_iter().map(|e| String::from_utf8(e.name).unwrap()).collect()
}

fn write(f: &InodeRef, off: u64, data: &[u8]) {
    let ops = f.open(2).unwrap();
    assert_eq!(ops.write(&mut host(), off, data), Ok(Io::Done(data.len())));
}

fn read_all(f: &InodeRef) -> Vec<u8> {
    let ops = f.open(0).unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let Ok(Io::Done(n)) = ops.read(&mut host(), 0, &mut buf) else { panic!() };
    buf.truncate(n);
    buf
}

#[test]
fn files_hold_data_and_grow_sparse() {
    let (root, who) = fs(1 << 20);
    who.sec.set(100);
    let f = root.create(b"a", 0o640).unwrap();
    write(&f, 0, b"hello");
    write(&f, 8, b"!");
    assert_eq!(read_all(&f), b"hello\0\0\0!");
    let st = f.stat().unwrap();
    assert_eq!((st.size, st.mode, st.nlink, st.mtime.sec, st.blocks), (9, 0o100640, 1, 100, 8));
    assert_eq!(root.create(b"a", 0o600).err(), Some(Errno::EEXIST));
    // O_TRUNC on open, truncate, read_page for mmap.
    f.truncate(2).unwrap();
    assert_eq!(read_all(&f), b"he");
    let mut page = [0xffu8; 8];
    assert_eq!(f.open(0).unwrap().read_page(0, &mut page), Ok(2));
    f.open(2 | crate::vfs::file::O_TRUNC).unwrap();
    assert_eq!(f.stat().unwrap().size, 0);
    assert_eq!(root.open(0).unwrap().read_page(0, &mut page), Err(Errno::ENODEV));
}

#[test]
fn space_is_limited() {
    let (root, _) = fs(2 * PAGE);
    let f = root.create(b"big", 0o600).unwrap();
    write(&f, 0, &[1; 8192]);
    let ops = f.open(2).unwrap();
    assert_eq!(ops.write(&mut host(), 8192, b"x"), Err(Errno::ENOSPC));
    assert_eq!(root.statfs().unwrap().bfree, 0);
    root.unlink(b"big").unwrap();
    // Still open: the space is held until the last reference goes.
    assert_eq!(root.statfs().unwrap().bfree, 0);
    drop((f, ops));
    assert_eq!(root.statfs().unwrap().bfree, 2);
    assert_eq!(root.statfs().unwrap().fs_type, TMPFS_MAGIC);
}

#[test]
fn directories_links_and_counts() {
    let (root, _) = fs(1 << 20);
    root.mkdir(b"d", 0o755).unwrap();
    assert_eq!(root.stat().unwrap().nlink, 3);
    let d = root.lookup(b"d").unwrap();
    let f = d.create(b"f", 0o644).unwrap();
    d.link(b"g", &f).unwrap();
    assert_eq!(f.stat().unwrap().nlink, 2);
    assert_eq!(d.lookup(b"g").unwrap().id(), f.id());
    d.symlink(b"s", b"f").unwrap();
    assert_eq!(d.lookup(b"s").unwrap().readlink().unwrap(), b"f");
    assert_eq!(d.lookup(b"s").unwrap().stat().unwrap().mode, 0o120777);
    assert_eq!(names(&d), ["f", "g", "s"]);
    assert_eq!(root.rmdir(b"d").err(), Some(Errno::ENOTEMPTY));
    assert_eq!(root.unlink(b"d").err(), Some(Errno::EISDIR));
    assert_eq!(d.rmdir(b"f").err(), Some(Errno::ENOTDIR));
    assert_eq!(d.link(b"x", &root).err(), Some(Errno::EPERM));
    let (other, _) = fs(1 << 20);
    assert_eq!(other.link(b"x", &f).err(), Some(Errno::EXDEV));
    // Unlinked but open: the data stays readable.
    let open = f.open(0).unwrap();
    d.unlink(b"f").unwrap();
    d.unlink(b"g").unwrap();
    d.unlink(b"s").unwrap();
    assert_eq!(f.stat().unwrap().nlink, 0);
    assert_eq!(open.read(&mut host(), 0, &mut [0u8; 4]), Ok(Io::Done(0)));
    root.rmdir(b"d").unwrap();
    assert_eq!(root.stat().unwrap().nlink, 2);
    assert_eq!(root.lookup(b"d").err(), Some(Errno::ENOENT));
}

#[test]
fn rename_rules() {
    let (root, _) = fs(1 << 20);
    root.mkdir(b"a", 0o755).unwrap();
    root.mkdir(b"b", 0o755).unwrap();
    let a = root.lookup(b"a").unwrap();
    a.create(b"x", 0o644).unwrap();
    root.create(b"f", 0o644).unwrap();
    // Into itself, over a non-empty directory, file over directory.
    assert_eq!(root.rename(b"a", &a, b"sub", 0).err(), Some(Errno::EINVAL));
    assert_eq!(root.rename(b"b", &root, b"a", 0).err(), Some(Errno::ENOTEMPTY));
    assert_eq!(root.rename(b"f", &root, b"b", 0).err(), Some(Errno::EISDIR));
    assert_eq!(root.rename(b"b", &root, b"f", 0).err(), Some(Errno::ENOTDIR));
    assert_eq!(root.rename(b"f", &root, b"a", RENAME_NOREPLACE).err(), Some(Errno::EEXIST));
    assert_eq!(root.rename(b"nope", &root, b"z", 0).err(), Some(Errno::ENOENT));
    // A directory over an empty one; link counts follow.
    root.rename(b"a", &root, b"b", 0).unwrap();
    assert_eq!(names(&root), ["b", "f"]);
    assert_eq!(root.stat().unwrap().nlink, 3);
    assert_eq!(names(&root.lookup(b"b").unwrap()), ["x"]);
    // Exchange swaps, and needs both.
    let b = root.lookup(b"b").unwrap();
    let (bid, fid) = (b.id(), root.lookup(b"f").unwrap().id());
    root.rename(b"f", &root, b"b", RENAME_EXCHANGE).unwrap();
    assert_eq!((root.lookup(b"b").unwrap().id(), root.lookup(b"f").unwrap().id()), (fid, bid));
    assert_eq!(root.rename(b"f", &root, b"none", RENAME_EXCHANGE).err(), Some(Errno::ENOENT));
    // Into a subdirectory and back; across filesystems is EXDEV.
    let f = root.lookup(b"f").unwrap();
    root.rename(b"b", &f, b"moved", 0).unwrap();
    assert_eq!(names(&f), ["moved", "x"]);
    let (other, _) = fs(1 << 20);
    assert_eq!(root.rename(b"f", &other, b"f", 0).err(), Some(Errno::EXDEV));
    // Renaming a name onto another name of the same file changes nothing.
    let m = f.lookup(b"moved").unwrap();
    f.link(b"again", &m).unwrap();
    f.rename(b"moved", &f, b"again", 0).unwrap();
    assert_eq!(names(&f), ["again", "moved", "x"]);
}

#[test]
fn owners_sticky_bit_and_times() {
    let (root, who) = fs(1 << 20);
    who.ids.set((1000, 100));
    who.sec.set(5);
    let mine = root.create(b"mine", 0o644).unwrap();
    let st = mine.stat().unwrap();
    assert_eq!((st.uid, st.gid, st.ctime.sec), (1000, 100, 5));
    who.ids.set((0, 0));
    root.create(b"roots", 0o644).unwrap();
    // The root is sticky (1777): another user may not remove or rename
    // these, the owner may.
    who.ids.set((2000, 2000));
    assert_eq!(root.unlink(b"mine").err(), Some(Errno::EPERM));
    assert_eq!(root.rename(b"roots", &root, b"x", 0).err(), Some(Errno::EPERM));
    who.ids.set((1000, 100));
    assert_eq!(root.unlink(b"roots").err(), Some(Errno::EPERM));
    root.rename(b"mine", &root, b"still-mine", 0).unwrap();
    root.unlink(b"still-mine").unwrap();
    who.ids.set((0, 0));
    root.unlink(b"roots").unwrap();
    // chmod keeps the type; chown clears set-id bits; utimes.
    let f = root.create(b"f", 0o4755).unwrap();
    f.chmod(0o6755).unwrap();
    assert_eq!(f.stat().unwrap().mode, 0o106755);
    f.chown(Some(7), None).unwrap();
    let st = f.stat().unwrap();
    assert_eq!((st.uid, st.gid, st.mode), (7, 0, 0o100755));
    f.set_times(Some(Timespec { sec: 1, nsec: 2 }), None).unwrap();
    assert_eq!(f.stat().unwrap().atime, Timespec { sec: 1, nsec: 2 });
    // A set-group-ID directory passes its group on.
    root.mkdir(b"g", 0o2775).unwrap();
    let g = root.lookup(b"g").unwrap();
    g.chown(None, Some(50)).unwrap();
    g.chmod(0o2775).unwrap();
    who.ids.set((1000, 100));
    g.mkdir(b"sub", 0o755).unwrap();
    let st = g.lookup(b"sub").unwrap().stat().unwrap();
    assert_eq!((st.gid, st.mode & 0o7777), (50, 0o2755));
}

#[test]
fn device_nodes() {
    let (root, _) = fs(1 << 20);
    let node = &root;
    node.mknod(b"null", FileType::CharDev, 0o666, makedev(1, 3)).unwrap();
    node.mknod(b"fifo", FileType::Fifo, 0o644, 0).unwrap();
    let n = root.lookup(b"null").unwrap();
    assert_eq!(n.kind(), FileType::CharDev);
    assert_eq!(dev_major(n.stat().unwrap().rdev), 1);
    let dev = n.open(2).unwrap();
    assert_eq!(dev.write(&mut host(), 0, b"gone"), Ok(Io::Done(4)));
    assert_eq!(root.lookup(b"fifo").unwrap().kind(), FileType::Fifo);
    assert_eq!(node.mknod(b"null", FileType::Fifo, 0, 0).err(), Some(Errno::EEXIST));
}
