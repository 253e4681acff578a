//! Images made by our `format` and changed by our library, checked by
//! e2fsprogs: `e2fsck -fn` must find nothing, and `debugfs rdump` must give
//! back exactly the tree a host directory mirrored along the way.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use oxvm_block::{BlockDevice, FileDevice};
use oxvm_ext2::*;

/// Resolves a '/'-separated path (no symlinks) to an inode.
fn resolve<D: BlockDevice>(fs: &mut Ext2<D>, path: &str) -> Ino {
    let mut ino = fs.root();
    for c in path.split('/').filter(|c| !c.is_empty()) {
        ino = fs.lookup(ino, c.as_bytes()).unwrap_or_else(|e| panic!("lookup {path}: {e}"));
    }
    ino
}

fn split(path: &str) -> (&str, &str) {
    let i = path.rfind('/').unwrap();
    (&path[..i], &path[i + 1..])
}

/// The file system under test and a host directory that mirrors it.
struct Both {
    fs: Ext2<FileDevice>,
    model: std::path::PathBuf,
}

impl Both {
    fn mkdir(&mut self, p: &str) {
        let (d, n) = split(p);
        let dir = resolve(&mut self.fs, d);
        self.fs.mkdir(dir, n.as_bytes(), 0o755, 0, 0).unwrap();
        std::fs::create_dir(self.model.join(&p[1..])).unwrap();
    }
    fn write(&mut self, p: &str, off: u64, data: &[u8]) {
        let ino = match resolve_opt(&mut self.fs, p) {
            Some(i) => i,
            None => {
                let (d, n) = split(p);
                let dir = resolve(&mut self.fs, d);
                self.fs.create(dir, n.as_bytes(), S_IFREG | 0o644, 0, 0, 0).unwrap()
            }
        };
        assert_eq!(self.fs.write(ino, off, data).unwrap(), data.len());
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new().create(true).write(true).truncate(false).open(self.model.join(&p[1..])).unwrap();
        f.write_all_at(data, off).unwrap();
    }
    fn truncate(&mut self, p: &str, size: u64) {
        let ino = resolve(&mut self.fs, p);
        self.fs.truncate(ino, size).unwrap();
        std::fs::OpenOptions::new().write(true).open(self.model.join(&p[1..])).unwrap().set_len(size).unwrap();
    }
    fn symlink(&mut self, p: &str, target: &str) {
        let (d, n) = split(p);
        let dir = resolve(&mut self.fs, d);
        self.fs.symlink(dir, n.as_bytes(), target.as_bytes(), 0, 0).unwrap();
        std::os::unix::fs::symlink(target, self.model.join(&p[1..])).unwrap();
    }
    fn link(&mut self, from: &str, to: &str) {
        let ino = resolve(&mut self.fs, from);
        let (d, n) = split(to);
        let dir = resolve(&mut self.fs, d);
        self.fs.link(ino, dir, n.as_bytes()).unwrap();
        std::fs::hard_link(self.model.join(&from[1..]), self.model.join(&to[1..])).unwrap();
    }
    fn unlink(&mut self, p: &str) {
        let (d, n) = split(p);
        let dir = resolve(&mut self.fs, d);
        let u = self.fs.unlink(dir, n.as_bytes()).unwrap();
        if u.last_link {
            self.fs.evict(u.ino).unwrap();
        }
        std::fs::remove_file(self.model.join(&p[1..])).unwrap();
    }
    fn rmdir(&mut self, p: &str) {
        let (d, n) = split(p);
        let dir = resolve(&mut self.fs, d);
        let ino = self.fs.rmdir(dir, n.as_bytes()).unwrap();
        self.fs.evict(ino).unwrap();
        std::fs::remove_dir(self.model.join(&p[1..])).unwrap();
    }
    fn rename(&mut self, a: &str, b: &str) {
        let (da, na) = split(a);
        let (db, nb) = split(b);
        let (da, db) = (resolve(&mut self.fs, da), resolve(&mut self.fs, db));
        if let Some(gone) = self.fs.rename(da, na.as_bytes(), db, nb.as_bytes()).unwrap() {
            self.fs.evict(gone).unwrap();
        }
        std::fs::rename(self.model.join(&a[1..]), self.model.join(&b[1..])).unwrap();
    }
}

fn resolve_opt<D: BlockDevice>(fs: &mut Ext2<D>, path: &str) -> Option<Ino> {
    let mut ino = fs.root();
    for c in path.split('/').filter(|c| !c.is_empty()) {
        ino = fs.lookup(ino, c.as_bytes()).ok()?;
    }
    Some(ino)
}

/// Compares what e2fsprogs extracts, and what we read after a reopen, with the model.
fn check_against_model(image: &Path, model: &Path, tmp: &Path) {
    assert_fsck_clean(image);
    let out = tmp.join("rdump");
    rdump(image, &out);
    let mut theirs = walk_host(&out);
    theirs.retain(|_, n| !matches!(n, Node::Other(_)));
    let mut want = walk_host(model);
    want.retain(|_, n| !matches!(n, Node::Other(_)));
    assert_same_tree(&theirs, &want, "debugfs rdump vs model");
    let mut fs = Ext2::open(FileDevice::open_read_only(image).unwrap()).unwrap();
    let mut ours = walk(&mut fs);
    ours.retain(|_, n| !matches!(n, Node::Other(_)));
    assert_same_tree(&ours, &want, "our reader vs model");
    std::fs::remove_dir_all(&out).unwrap();
}

fn scenario(bs: u32, size: u64) {
    let tmp = TempDir::new(&format!("fmt{bs}"));
    let image = tmp.path().join("img");
    let model = tmp.path().join("model");
    std::fs::create_dir(&model).unwrap();
    std::fs::set_permissions(&model, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dev = FileDevice::create(&image, size).unwrap();
    let fs = Ext2::format(dev, &FormatOptions { block_size: bs, label: b"test".to_vec(), ..Default::default() }).unwrap();
    // A fresh file system is clean, and so is its first backup superblock
    // and descriptor table (group 1, sparse_super).
    drop(fs);
    assert_fsck_clean(&image);
    let backup = (if bs == 1024 { 1 } else { 0 }) + 8 * bs;
    let out =
        std::process::Command::new("e2fsck").args(["-fn", "-b", &backup.to_string(), "-B", &bs.to_string()]).arg(&image).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "backup superblock: {}", String::from_utf8_lossy(&out.stdout));
    let fs = Ext2::open(FileDevice::open_read_write(&image).unwrap()).unwrap();
    let mut b = Both { fs, model: model.clone() };
    let mut rng = Rng(bs as u64);
    let bsu = bs as u64;

    b.mkdir("/a");
    b.mkdir("/a/b");
    let mut deep = String::from("/a/b");
    for i in 0..20 {
        deep.push_str(&format!("/d{i}"));
        b.mkdir(&deep);
    }
    b.write(&format!("{deep}/leaf"), 0, b"deep leaf\n");
    for (i, len) in [0, 1, bsu - 1, bsu, bsu + 1, 12 * bsu, 12 * bsu + 1, 300 * bsu + 7, 1100 * bsu / 4].iter().enumerate() {
        let data = rng.bytes(*len as usize);
        b.write(&format!("/a/f{i}"), 0, &data);
    }
    // Sparse: holes in direct, single, double and triple indirect ranges.
    let p = bsu / 4;
    for (i, lblk) in [3, 12 + p / 2, 12 + p + p * 3 + 1, 12 + p + p * p + 5].iter().enumerate() {
        b.write("/sparse", lblk * bsu + 100, format!("chunk {i}").as_bytes());
    }
    // Past 4 GiB (once: reading it back in three trees costs seconds).
    let big_off = if bs == 4096 { (4 << 30) + 3 } else { 70 << 20 };
    b.write("/big", big_off, b"beyond four gigabytes");
    // Overwrite the middle of an existing file and append.
    b.write("/a/f7", 5 * bsu + 3, &rng.bytes(3 * bs as usize));
    b.write("/a/f7", 300 * bsu + 7, b"appended");
    // Truncates: mid-block, to zero, then extend.
    b.truncate("/a/f8", 700 * bsu / 4 + 5);
    b.truncate("/a/f6", 0);
    b.truncate("/a/f5", 20 * bsu + 3);
    b.truncate("/sparse", 12 + p + 10);
    b.write("/a/f5", 30 * bsu, b"after the hole");
    // Symlinks, fast and slow.
    b.symlink("/a/fast", "f1");
    b.symlink("/a/slow", &"x/".repeat(100));
    b.symlink("/a/max", &"y".repeat(59));
    b.symlink("/a/min_slow", &"z".repeat(60));
    // Hard links.
    b.link("/a/f3", "/a/b/f3-again");
    b.link("/a/f3", "/f3-root");
    b.unlink("/a/f3");
    // Special files (not extracted by rdump: checked by stat below).
    let a = resolve(&mut b.fs, "/a");
    let dev_ino = b.fs.create(a, b"null", S_IFCHR | 0o666, 0, 0, makedev(1, 3)).unwrap();
    let dev2 = b.fs.create(a, b"bigdev", S_IFBLK | 0o600, 1000, 70000, makedev(300, 70000)).unwrap();
    let fifo = b.fs.create(a, b"fifo", S_IFIFO | 0o644, 0, 0, 0).unwrap();
    let sock = b.fs.create(a, b"sock", S_IFSOCK | 0o644, 0, 0, 0).unwrap();
    std::fs::create_dir(model.join("a/ignored")).ok();
    std::fs::remove_dir(model.join("a/ignored")).ok();
    // Many files in one directory, then half removed, then a rename storm.
    b.mkdir("/many");
    for i in 0..1500 {
        b.write(&format!("/many/file-with-a-longish-name-{i}"), 0, format!("{i}").as_bytes());
    }
    for i in (0..1500).step_by(2) {
        b.unlink(&format!("/many/file-with-a-longish-name-{i}"));
    }
    for i in (1..300).step_by(2) {
        b.rename(&format!("/many/file-with-a-longish-name-{i}"), &format!("/a/b/moved-{i}"));
    }
    // Rename over an existing file, a directory to another parent, a
    // directory over an empty directory.
    b.write("/victim", 0, b"to be replaced");
    b.rename("/a/f2", "/victim");
    b.rename("/a/b/d0", "/moved-tree");
    b.mkdir("/empty");
    b.mkdir("/a/src");
    b.write("/a/src/inside", 0, b"inside");
    b.rename("/a/src", "/empty");
    b.mkdir("/gone");
    b.rmdir("/gone");

    // Errors the kernel relies on.
    let root = b.fs.root();
    assert_eq!(b.fs.mkdir(root, b"a", 0o755, 0, 0).unwrap_err().errno(), errno::EEXIST);
    assert_eq!(b.fs.rmdir(root, b"a").unwrap_err().errno(), errno::ENOTEMPTY);
    assert_eq!(b.fs.lookup(root, b"nope").unwrap_err().errno(), errno::ENOENT);
    assert_eq!(b.fs.lookup(root, &[b'n'; 256]).unwrap_err().errno(), errno::ENAMETOOLONG);
    let victim = resolve(&mut b.fs, "/victim");
    assert_eq!(b.fs.lookup(victim, b"x").unwrap_err().errno(), errno::ENOTDIR);
    assert_eq!(b.fs.unlink(root, b"a").unwrap_err().errno(), errno::EISDIR);
    let moved = resolve(&mut b.fs, "/moved-tree");
    assert_eq!(b.fs.rename(root, b"moved-tree", moved, b"inside").unwrap_err().errno(), errno::EINVAL);
    assert_eq!(b.fs.rename(root, b"victim", root, b"a").unwrap_err().errno(), errno::EISDIR);
    assert_eq!(b.fs.write(victim, b.fs.max_file_size(), b"x").unwrap_err().errno(), errno::EFBIG);

    // Attributes, including 32-bit ids.
    b.fs.set_attr(
        victim,
        &SetAttr { mode: Some(0o4711), uid: Some(100_000), gid: Some(200_000), atime: Some(1), mtime: Some(2), ..Default::default() },
    )
    .unwrap();
    let md = b.fs.stat(victim).unwrap();
    assert_eq!((md.mode, md.uid, md.gid, md.atime, md.mtime), (S_IFREG | 0o4711, 100_000, 200_000, 1, 2));
    b.fs.sync().unwrap();
    drop(b);

    check_against_model(&image, &model, tmp.path());
    // debugfs agrees on the special files and the attributes.
    let out = debugfs(&image, "stat /a/null\nstat /a/bigdev\nstat /a/fifo\nstat /a/sock\nstat /victim\n");
    assert!(out.contains("Type: character special") && out.contains("Device major/minor number: 01:03"), "{out}");
    assert!(out.contains("Type: block special") && out.contains("Device major/minor number: 300:70000"), "{out}");
    assert!(out.contains("Type: FIFO") && out.contains("Type: socket"), "{out}");
    assert!(out.contains("User: 100000   Group: 200000"), "{out}");
    let mut fs = Ext2::open(FileDevice::open_read_only(&image).unwrap()).unwrap();
    assert_eq!(fs.stat(dev_ino).unwrap().rdev, makedev(1, 3));
    let md2 = fs.stat(dev2).unwrap();
    assert_eq!((major(md2.rdev), minor(md2.rdev), md2.uid, md2.gid), (300, 70000, 1000, 70000));
    assert_eq!(fs.stat(fifo).unwrap().file_type, FileType::Fifo);
    assert_eq!(fs.stat(sock).unwrap().file_type, FileType::Socket);
    // The big sparse file owns a handful of blocks, not gigabytes.
    let big = resolve(&mut fs, "/big");
    let md = fs.stat(big).unwrap();
    assert_eq!(md.size, big_off + 21);
    assert!(md.blocks <= 5 * bsu / 512, "{} sectors", md.blocks);
}

#[test]
fn format_and_modify_1k() {
    scenario(1024, 40 << 20);
}

#[test]
fn format_and_modify_2k() {
    scenario(2048, 48 << 20);
}

#[test]
fn format_and_modify_4k() {
    scenario(4096, 300 << 20);
}

/// Fill the disk to ENOSPC with files, check, delete everything, check that
/// every block and inode came back.
#[test]
fn fill_to_enospc_then_delete() {
    for bs in [1024u32, 4096] {
        let tmp = TempDir::new("fill");
        let image = tmp.path().join("img");
        let dev = FileDevice::create(&image, 12 << 20).unwrap();
        let mut fs = Ext2::format(dev, &FormatOptions { block_size: bs, bytes_per_inode: 8192, ..Default::default() }).unwrap();
        let before = fs.statfs();
        let root = fs.root();
        let d = fs.mkdir(root, b"d", 0o755, 0, 0).unwrap();
        let chunk = vec![0xabu8; 300_000];
        let mut names = Vec::new();
        let mut full = false;
        for i in 0.. {
            let name = format!("f{i}");
            let ino = match fs.create(d, name.as_bytes(), S_IFREG | 0o644, 0, 0, 0) {
                Ok(ino) => ino,
                Err(e) => {
                    assert_eq!(e.errno(), errno::ENOSPC);
                    break;
                }
            };
            names.push(name);
            let n = match fs.write(ino, 0, &chunk) {
                Ok(n) => n,
                Err(e) => {
                    assert_eq!(e.errno(), errno::ENOSPC);
                    0
                }
            };
            if n < chunk.len() {
                full = true;
            }
            if full && i % 7 == 0 {
                // Keep creating empty files to exhaust inodes or directory space too.
                if fs.statfs().free_files == 0 {
                    break;
                }
            }
        }
        assert!(full, "the disk never filled");
        assert_eq!(fs.statfs().free_blocks, 0);
        fs.sync().unwrap();
        assert_fsck_clean(&image);
        for name in &names {
            let u = fs.unlink(d, name.as_bytes()).unwrap();
            assert!(u.last_link);
            fs.evict(u.ino).unwrap();
            fs.evict(u.ino).unwrap(); // harmless twice
        }
        let ino = fs.rmdir(root, b"d").unwrap();
        fs.evict(ino).unwrap();
        fs.sync().unwrap();
        let after = fs.statfs();
        assert_eq!((after.free_blocks, after.free_files), (before.free_blocks, before.free_files));
        drop(fs);
        assert_fsck_clean(&image);
    }
}

/// `format` over a spread of sizes and options: every result passes
/// `e2fsck -fn`, and mke2fs-like facts hold (root 0:0 0755, lost+found).
#[test]
fn format_variants() {
    let tmp = TempDir::new("variants");
    let image = tmp.path().join("img");
    let mut rng = Rng(99);
    let mut checked = 0;
    for case in 0..36 {
        let bs = [1024u32, 2048, 4096][case % 3];
        let size = match case / 3 {
            0 => 100 << 10,
            1 => 1 << 20,
            2 => (8 << 20) + 5 * 1024, // just past one 1 KiB-block group
            _ => (1 << 20) + rng.below(200 << 20),
        };
        let opts = FormatOptions {
            block_size: bs,
            inode_size: if rng.below(2) == 0 { 128 } else { 256 },
            bytes_per_inode: [4096, 8192, 16384, 65536][rng.below(4) as usize],
            reserved_percent: [0, 5][rng.below(2) as usize],
            label: b"variant".to_vec(),
            uuid: Some([case as u8; 16]),
            ..Default::default()
        };
        let dev = FileDevice::create(&image, size).unwrap();
        let mut fs = match Ext2::format(dev, &opts) {
            Ok(fs) => fs,
            Err(e) => {
                assert!(size < 256 << 10, "format of {size} bytes with {bs}-byte blocks failed: {e}");
                continue;
            }
        };
        let root = fs.stat(fs.root()).unwrap();
        assert_eq!((root.mode, root.uid, root.gid, root.nlink), (S_IFDIR | 0o755, 0, 0, 3));
        let lpf = fs.lookup(fs.root(), b"lost+found").unwrap();
        assert_eq!(fs.stat(lpf).unwrap().mode, S_IFDIR | 0o700);
        let st = fs.statfs();
        assert_eq!(st.avail_blocks, st.free_blocks - st.blocks * opts.reserved_percent as u64 / 100);
        drop(fs);
        let (code, out) = e2fsck(&image);
        assert_eq!(code, 0, "case {case}: {size} bytes, {opts:?}\n{out}");
        let d = debugfs(&image, "stats\n");
        assert!(d.contains("Filesystem volume name:   variant"), "{d}");
        checked += 1;
    }
    assert!(checked >= 30);
}

/// Formatting over old contents (a reused image file): nothing stale leaks
/// into the new file system.
#[test]
fn format_over_garbage() {
    for bs in [1024u32, 4096] {
        let tmp = TempDir::new("garbage");
        let image = tmp.path().join("img");
        let mut rng = Rng(bs as u64);
        std::fs::write(&image, rng.bytes(20 << 20)).unwrap();
        let mut fs =
            Ext2::format(FileDevice::open_read_write(&image).unwrap(), &FormatOptions { block_size: bs, ..Default::default() }).unwrap();
        let root = fs.root();
        let d = fs.mkdir(root, b"d", 0o755, 0, 0).unwrap();
        for i in 0..200 {
            let f = fs.create(d, format!("f{i}").as_bytes(), S_IFREG | 0o644, 0, 0, 0).unwrap();
            fs.write(f, (i * 1000) as u64, b"x").unwrap();
        }
        let f = fs.lookup(d, b"f150").unwrap();
        let mut buf = vec![1u8; 150_000];
        assert_eq!(fs.read(f, 0, &mut buf).unwrap(), 150_001.min(buf.len()));
        assert!(buf.iter().all(|&b| b == 0), "a hole read old bytes");
        fs.sync().unwrap();
        drop(fs);
        assert_fsck_clean(&image);
    }
}

/// Files unlinked while "open" (never evicted, as when the VM stops) sit on
/// the orphan list; the next writable open frees them.
#[test]
fn orphans_are_reclaimed_at_open() {
    let tmp = TempDir::new("orphans");
    let image = tmp.path().join("img");
    let mut fs =
        Ext2::format(FileDevice::create(&image, 16 << 20).unwrap(), &FormatOptions { block_size: 1024, ..Default::default() }).unwrap();
    let before = fs.statfs();
    let root = fs.root();
    let d = fs.mkdir(root, b"d", 0o755, 0, 0).unwrap();
    for i in 0..5 {
        let f = fs.create(d, format!("f{i}").as_bytes(), S_IFREG | 0o644, 0, 0, 0).unwrap();
        fs.write(f, 0, &vec![1u8; 100_000]).unwrap();
        let u = fs.unlink(d, format!("f{i}").as_bytes()).unwrap();
        assert!(u.last_link);
    }
    // One is evicted normally (taken off the middle of the list).
    let f = fs.create(d, b"evicted", S_IFREG | 0o644, 0, 0, 0).unwrap();
    let u = fs.unlink(d, b"evicted").unwrap();
    fs.create(d, b"later", S_IFREG | 0o644, 0, 0, 0).unwrap();
    fs.unlink(d, b"later").unwrap();
    fs.evict(f).unwrap();
    assert_eq!(u.ino, f);
    let sub = fs.mkdir(d, b"sub", 0o755, 0, 0).unwrap();
    assert_eq!(fs.rmdir(d, b"sub").unwrap(), sub);
    fs.sync().unwrap();
    drop(fs);
    // e2fsck itself accepts the list: a fixing run on a copy only releases the orphans.
    let copy = tmp.path().join("copy");
    std::fs::copy(&image, &copy).unwrap();
    let out = std::process::Command::new("e2fsck").arg("-fy").arg(&copy).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("e2fsck -fy on the orphan list:\n{report}");
    assert_fsck_clean(&copy);
    let mut fs = Ext2::open(FileDevice::open_read_write(&image).unwrap()).unwrap();
    let ino = fs.rmdir(root, b"d").unwrap();
    fs.evict(ino).unwrap();
    fs.sync().unwrap();
    let after = fs.statfs();
    assert_eq!((after.free_blocks, after.free_files), (before.free_blocks, before.free_files));
    drop(fs);
    assert_fsck_clean(&image);
}
