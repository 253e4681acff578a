//! Images made by `mke2fs -t ext2 -d SRC` (1, 2 and 4 KiB blocks, with the
//! default ext2 features: sparse_super, large_file, filetype, resize_inode,
//! dir_index, ext_attr) read by our library and compared with the source
//! tree and with what `debugfs` reports for every inode; then changed by our
//! library and checked with `e2fsck -fn` and `debugfs rdump`.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::process::Command;

use common::*;
use oxvm_block::{BlockDevice, FileDevice};
use oxvm_ext2::*;

fn sh(cmd: &str, args: &[&str]) {
    let st = Command::new(cmd).args(args).status().unwrap();
    assert!(st.success(), "{cmd} {args:?}");
}

/// For what needs root (device nodes, chown): without root the tree simply
/// lacks them (devices are still covered by the format tests).
fn sh_if_root(cmd: &str, args: &[&str]) {
    let root = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false);
    if root {
        sh(cmd, args);
    } else {
        eprintln!("not root: skipping {cmd} {args:?}");
    }
}

/// The source tree: every kind of file mke2fs -d copies.
fn build_source(src: &Path, rng: &mut Rng) {
    std::fs::create_dir_all(src.join("etc/deep")).unwrap();
    std::fs::write(src.join("empty"), b"").unwrap();
    std::fs::write(src.join("small"), b"hello\n").unwrap();
    for (i, len) in [1000usize, 4096, 5000, 50_000, 300_000, 1_500_000].iter().enumerate() {
        std::fs::write(src.join(format!("etc/file{i}")), rng.bytes(*len)).unwrap();
    }
    // Sparse files: a hole at the start, holes between data, and one past 4 GiB.
    let f = std::fs::File::create(src.join("sparse")).unwrap();
    f.write_all_at(b"middle", 3 << 20).unwrap();
    f.write_all_at(b"later", 20 << 20).unwrap();
    f.set_len(30 << 20).unwrap();
    let f = std::fs::File::create(src.join("huge")).unwrap();
    f.write_all_at(b"start", 0).unwrap();
    f.write_all_at(b"past four gigabytes", (5 << 30) + 12345).unwrap();
    // Symlinks: fast (< 60 bytes) and slow.
    std::os::unix::fs::symlink("small", src.join("fastlink")).unwrap();
    std::os::unix::fs::symlink("a/".repeat(70), src.join("slowlink")).unwrap();
    std::os::unix::fs::symlink("/etc/deep", src.join("etc/abs")).unwrap();
    // Hard links.
    std::fs::hard_link(src.join("small"), src.join("etc/small-link")).unwrap();
    std::fs::hard_link(src.join("small"), src.join("etc/deep/small-link2")).unwrap();
    // FIFOs, sockets and device nodes (old and new encodings).
    sh("mkfifo", &[src.join("fifo").to_str().unwrap()]);
    let _sock = std::os::unix::net::UnixListener::bind(src.join("sock")).unwrap();
    sh_if_root("mknod", &[src.join("null").to_str().unwrap(), "c", "1", "3"]);
    sh_if_root("mknod", &[src.join("bigdev").to_str().unwrap(), "b", "259", "70000"]);
    // Deep directories.
    let mut p = src.join("etc/deep");
    for i in 0..30 {
        p = p.join(format!("level{i}"));
    }
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("bottom"), b"bottom of the tree").unwrap();
    // A directory with thousands of entries.
    std::fs::create_dir(src.join("many")).unwrap();
    for i in 0..2000 {
        std::fs::write(src.join(format!("many/entry-number-{i:05}")), format!("{i}")).unwrap();
    }
    // Ownership and modes.
    let o = src.join("owned");
    std::fs::write(&o, b"owned").unwrap();
    sh_if_root("chown", &["123456:654321", o.to_str().unwrap()]);
    sh("chmod", &["4750", o.to_str().unwrap()]);
    sh("touch", &["-d", "@1000000000", o.to_str().unwrap()]);
}

/// `debugfs stat` fields for one inode.
#[derive(Debug, Default, PartialEq)]
struct DebugStat {
    ino: u32,
    mode: u16,
    uid: u32,
    gid: u32,
    size: u64,
    links: u16,
    blocks: u64,
    atime: u32,
    mtime: u32,
    ctime: u32,
    rdev: Option<(u32, u32)>,
}

fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let i = text.find(key)? + key.len();
    text[i..].split_whitespace().next()
}

fn parse_stat(text: &str) -> DebugStat {
    let num = |k: &str| field(text, k).unwrap_or_else(|| panic!("no {k} in {text}")).parse::<u64>().unwrap();
    let time = |k: &str| {
        let v = field(text, k).unwrap();
        u32::from_str_radix(v.trim_start_matches("0x").split(':').next().unwrap(), 16).unwrap()
    };
    let ty = field(text, "Type:").unwrap();
    let tbits = match ty {
        "regular" => S_IFREG,
        "directory" => S_IFDIR,
        "symlink" => S_IFLNK,
        "FIFO" => S_IFIFO,
        "socket" => S_IFSOCK,
        "character" => S_IFCHR,
        "block" => S_IFBLK,
        t => panic!("type {t}"),
    };
    let perm = u16::from_str_radix(field(text, "Mode:").unwrap(), 8).unwrap();
    let rdev = field(text, "Device major/minor number:").map(|v| {
        let (a, b) = v.split_once(':').unwrap();
        (a.parse().unwrap(), b.parse().unwrap())
    });
    DebugStat {
        ino: num("Inode:") as u32,
        mode: tbits | perm,
        uid: num("User:") as u32,
        gid: num("Group:") as u32,
        size: num("Size:"),
        links: num("Links:") as u16,
        blocks: num("Blockcount:"),
        atime: time("atime:"),
        mtime: time("mtime:"),
        ctime: time("ctime:"),
        rdev,
    }
}

/// Every path (and its inode) reachable from the root, via our library.
fn all_paths<D: BlockDevice>(fs: &mut Ext2<D>) -> BTreeMap<String, Ino> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(fs.root(), String::new())];
    while let Some((dir, path)) = stack.pop() {
        let mut cursor = 0;
        loop {
            let ents = fs.read_dir(dir, cursor, 100).unwrap();
            if ents.is_empty() {
                break;
            }
            for e in ents {
                cursor = e.next;
                if e.name == b"." || e.name == b".." {
                    continue;
                }
                let p = format!("{path}/{}", String::from_utf8(e.name.clone()).unwrap());
                if e.file_type == FileType::Directory {
                    stack.push((e.ino, p.clone()));
                }
                out.insert(p, e.ino);
            }
        }
    }
    out
}

fn check_image(bs: u32) {
    let tmp = TempDir::new(&format!("mke2fs{bs}"));
    let src = tmp.path().join("src");
    let mut rng = Rng(7 + bs as u64);
    build_source(&src, &mut rng);
    let image = tmp.path().join("img");
    mke2fs(&image, 64 << 20, &["-b", &bs.to_string(), "-N", "8192", "-L", "from-mke2fs"], Some(&src));
    // Index the big directory (htree), as a long-lived system image would have it.
    let st = Command::new("e2fsck").args(["-fyD"]).arg(&image).output().unwrap();
    assert!(st.status.code().unwrap() <= 1, "e2fsck -fyD: {}", String::from_utf8_lossy(&st.stdout));
    assert_fsck_clean(&image);
    assert!(debugfs(&image, "stat /many\n").contains("Flags: 0x1000"), "/many is not an htree directory");

    // Read: the tree equals the source.
    let mut fs = Ext2::open(FileDevice::open_read_only(&image).unwrap()).unwrap();
    assert!(fs.read_only());
    let ours = walk(&mut fs);
    assert_same_tree(&ours, &walk_host(&src), "our reader vs the mke2fs source");

    // Every inode's stat equals debugfs's.
    let paths = all_paths(&mut fs);
    let mut cmds = String::new();
    for p in paths.keys() {
        cmds.push_str(&format!("stat \"{p}\"\n"));
    }
    let out = debugfs(&image, &cmds);
    let sections: Vec<&str> = out.split("debugfs: stat").skip(1).collect();
    assert_eq!(sections.len(), paths.len());
    for ((p, &ino), text) in paths.iter().zip(sections) {
        if p.starts_with("/lost+found") {
            continue;
        }
        let d = parse_stat(text);
        let md = fs.stat(ino).unwrap();
        let rdev = d.rdev.map(|(a, b)| makedev(a, b)).unwrap_or(0);
        let got = DebugStat {
            ino: md.ino,
            mode: md.mode,
            uid: md.uid,
            gid: md.gid,
            size: md.size,
            links: md.nlink,
            blocks: md.blocks,
            atime: md.atime,
            mtime: md.mtime,
            ctime: md.ctime,
            rdev: d.rdev.map(|_| (major(md.rdev), minor(md.rdev))),
        };
        assert_eq!(got, d, "{p}: ours vs debugfs");
        assert_eq!(md.rdev, rdev, "{p}");
        // And against the source file itself where the fields carry over.
        let hm = std::fs::symlink_metadata(src.join(&p[1..])).unwrap();
        assert_eq!((md.mode as u32, md.uid, md.gid, md.nlink as u64), (hm.mode(), hm.uid(), hm.gid(), hm.nlink()), "{p}");
        assert_eq!(md.mtime as i64, hm.mtime(), "{p}");
        if !hm.is_dir() {
            assert_eq!(md.size, hm.size(), "{p}");
        }
        if hm.file_type().is_char_device() || hm.file_type().is_block_device() {
            assert_eq!(
                (major(md.rdev), minor(md.rdev)),
                ((hm.rdev() >> 8) as u32 & 0xfff, (hm.rdev() & 0xff | (hm.rdev() >> 12) & !0xff) as u32),
                "{p}"
            );
        }
    }
    use std::os::unix::fs::FileTypeExt;
    let huge = fs.lookup(fs.root(), b"huge").unwrap();
    let mut buf = [0u8; 19];
    assert_eq!(fs.read(huge, (5 << 30) + 12345, &mut buf).unwrap(), 19);
    assert_eq!(&buf, b"past four gigabytes");
    drop(fs);

    // Write: change the mke2fs image (the source dir mirrors each change).
    let mut fs = Ext2::open(FileDevice::open_read_write(&image).unwrap()).unwrap();
    assert!(!fs.read_only());
    let root = fs.root();
    let many = fs.lookup(root, b"many").unwrap();
    for i in (0..2000).step_by(3) {
        let name = format!("entry-number-{i:05}");
        let u = fs.unlink(many, name.as_bytes()).unwrap();
        fs.evict(u.ino).unwrap();
        std::fs::remove_file(src.join("many").join(&name)).unwrap();
    }
    for i in 0..300 {
        let name = format!("added-{i}");
        let ino = fs.create(many, name.as_bytes(), S_IFREG | 0o600, 0, 0, 0).unwrap();
        let data = rng.bytes(i * 37);
        fs.write(ino, 0, &data).unwrap();
        std::fs::write(src.join("many").join(&name), &data).unwrap();
        sh("chmod", &["600", src.join("many").join(&name).to_str().unwrap()]);
    }
    let u = fs.unlink(root, b"huge").unwrap();
    fs.evict(u.ino).unwrap();
    std::fs::remove_file(src.join("huge")).unwrap();
    let sparse = fs.lookup(root, b"sparse").unwrap();
    fs.truncate(sparse, (3 << 20) + 2).unwrap();
    std::fs::OpenOptions::new().write(true).open(src.join("sparse")).unwrap().set_len((3 << 20) + 2).unwrap();
    let etc = fs.lookup(root, b"etc").unwrap();
    fs.rename(etc, b"deep", many, b"deep-moved").unwrap();
    std::fs::rename(src.join("etc/deep"), src.join("many/deep-moved")).unwrap();
    let u = fs.unlink(root, b"small").unwrap();
    assert!(!u.last_link);
    std::fs::remove_file(src.join("small")).unwrap();
    fs.sync().unwrap();
    drop(fs);
    assert_fsck_clean(&image);
    assert!(!debugfs(&image, "stat /many\n").contains("Flags: 0x1000"), "the index flag survived a change");
    let dump = tmp.path().join("rdump");
    rdump(&image, &dump);
    let mut theirs = walk_host(&dump);
    let mut want = walk_host(&src);
    theirs.retain(|_, n| !matches!(n, Node::Other(_)));
    want.retain(|_, n| !matches!(n, Node::Other(_)));
    assert_same_tree(&theirs, &want, "debugfs rdump vs source after our changes");
    let mut fs = Ext2::open(FileDevice::open_read_only(&image).unwrap()).unwrap();
    assert_same_tree(&walk(&mut fs), &walk_host(&src), "our reader vs source after our changes");
}

#[test]
fn mke2fs_1k() {
    check_image(1024);
}

#[test]
fn mke2fs_2k() {
    check_image(2048);
}

#[test]
fn mke2fs_4k() {
    check_image(4096);
}

/// Features we do not implement are refused (incompat) or give a read-only
/// mount (unknown ro_compat), with a clear error.
#[test]
fn unsupported_features() {
    let tmp = TempDir::new("feat");
    let image = tmp.path().join("img");
    mke2fs(&image, 8 << 20, &["-O", "extent"], None);
    match Ext2::open(FileDevice::open_read_only(&image).unwrap()) {
        Err(e @ Error::Unsupported(_)) => assert!(e.to_string().contains("incompatible"), "{e}"),
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("opened an extent-mapped image"),
    }
    mke2fs(&image, 8 << 20, &["-O", "huge_file"], None);
    let mut fs = Ext2::open(FileDevice::open_read_write(&image).unwrap()).unwrap();
    assert!(fs.read_only());
    let root = fs.root();
    assert_eq!(fs.mkdir(root, b"x", 0o755, 0, 0).unwrap_err().errno(), errno::EROFS);
    assert!(fs.read_dir(root, 0, 10).unwrap().iter().any(|e| e.name == b"lost+found"));
}

/// Files carrying an extended-attribute block (mke2fs copies xattrs from the
/// source): deleting them through our library frees that block too.
#[test]
fn xattr_blocks_are_released() {
    let tmp = TempDir::new("xattr");
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    for f in ["a", "b"] {
        std::fs::write(src.join(f), b"hi\n").unwrap();
    }
    let set = Command::new("python3")
        .arg("-c")
        .arg("import os,sys\nfor f in sys.argv[1:]: os.setxattr(f, b'user.big', b'v'*700)")
        .arg(src.join("a"))
        .arg(src.join("b"))
        .status();
    if !matches!(set, Ok(s) if s.success()) {
        eprintln!("skipped: cannot set user xattrs in {}", src.display());
        return;
    }
    let image = tmp.path().join("img");
    mke2fs(&image, 4 << 20, &["-b", "1024"], Some(&src));
    assert!(debugfs(&image, "stat /a\n").contains("File ACL: "), "no xattr block");
    let mut fs = Ext2::open(FileDevice::open_read_write(&image).unwrap()).unwrap();
    let root = fs.root();
    let free = fs.statfs().free_blocks;
    let a = fs.lookup(root, b"a").unwrap();
    assert_eq!(fs.stat(a).unwrap().blocks, 4, "one data block and one xattr block, in sectors");
    for f in [b"a", b"b"] {
        let u = fs.unlink(root, f).unwrap();
        fs.evict(u.ino).unwrap();
    }
    fs.sync().unwrap();
    assert_eq!(fs.statfs().free_blocks, free + 4);
    drop(fs);
    assert_fsck_clean(&image);
}

/// An ext3 image with a clean journal opens as ext2 (the journal inode is
/// left alone) and stays valid after our changes.
#[test]
fn clean_ext3_is_writable_as_ext2() {
    let tmp = TempDir::new("ext3");
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("x")).unwrap();
    std::fs::write(src.join("x/file"), b"ext3 file").unwrap();
    let image = tmp.path().join("img");
    std::fs::File::create(&image).unwrap().set_len(32 << 20).unwrap();
    let out = Command::new("mke2fs").args(["-q", "-F", "-t", "ext3", "-d"]).arg(&src).arg(&image).output().unwrap();
    assert!(out.status.success());
    let mut fs = Ext2::open(FileDevice::open_read_write(&image).unwrap()).unwrap();
    assert!(!fs.read_only());
    let root = fs.root();
    let x = fs.lookup(root, b"x").unwrap();
    let f = fs.lookup(x, b"file").unwrap();
    let mut buf = [0u8; 9];
    fs.read(f, 0, &mut buf).unwrap();
    assert_eq!(&buf, b"ext3 file");
    let n = fs.create(x, b"new", S_IFREG | 0o644, 0, 0, 0).unwrap();
    fs.write(n, 0, &vec![3u8; 200_000]).unwrap();
    let u = fs.unlink(x, b"file").unwrap();
    fs.evict(u.ino).unwrap();
    fs.sync().unwrap();
    drop(fs);
    assert_fsck_clean(&image);
}

/// Without the filetype feature (and in revision 0 images), entry types come
/// from the inodes, and entries we write carry no type.
#[test]
fn no_filetype_and_revision_0() {
    for args in [&["-O", "^filetype"][..], &["-r", "0"][..]] {
        let tmp = TempDir::new("nofiletype");
        let src = tmp.path().join("src");
        std::fs::create_dir_all(src.join("d/e")).unwrap();
        std::fs::write(src.join("d/f"), b"file").unwrap();
        std::os::unix::fs::symlink("d/f", src.join("l")).unwrap();
        let image = tmp.path().join("img");
        mke2fs(&image, 8 << 20, args, Some(&src));
        let mut fs = Ext2::open(FileDevice::open_read_write(&image).unwrap()).unwrap();
        assert_same_tree(&walk(&mut fs), &walk_host(&src), &format!("mke2fs {args:?}"));
        let root = fs.root();
        let d = fs.lookup(root, b"d").unwrap();
        let n = fs.create(d, b"new", S_IFREG | 0o644, 0, 0, 0).unwrap();
        fs.write(n, 0, b"new file").unwrap();
        std::fs::write(src.join("d/new"), b"new file").unwrap();
        fs.mkdir(root, b"nd", 0o755, 0, 0).unwrap();
        std::fs::create_dir(src.join("nd")).unwrap();
        fs.rename(d, b"f", root, b"moved").unwrap();
        std::fs::rename(src.join("d/f"), src.join("moved")).unwrap();
        fs.sync().unwrap();
        assert_same_tree(&walk(&mut fs), &walk_host(&src), &format!("after changes, mke2fs {args:?}"));
        drop(fs);
        assert_fsck_clean(&image);
    }
}

/// Other mke2fs feature sets: our changes keep each valid, and a file over
/// 2 GiB on an image without large_file turns the feature on.
#[test]
fn mke2fs_feature_variants() {
    let sets: [&[&str]; 5] = [
        &["-O", "^large_file"],
        &["-O", "^sparse_super,^resize_inode", "-b", "1024"],
        &["-O", "^resize_inode,^dir_index,^ext_attr"],
        &["-I", "128", "-b", "2048"],
        &["-O", "sparse_super2"],
    ];
    for args in sets {
        let tmp = TempDir::new("variants");
        let src = tmp.path().join("src");
        std::fs::create_dir_all(src.join("a")).unwrap();
        std::fs::write(src.join("a/f"), vec![5u8; 30_000]).unwrap();
        let image = tmp.path().join("img");
        mke2fs(&image, 40 << 20, args, Some(&src));
        let mut fs = match Ext2::open(FileDevice::open_read_write(&image).unwrap()) {
            Ok(fs) => fs,
            Err(e) => panic!("mke2fs {args:?}: {e}"),
        };
        assert!(!fs.read_only(), "mke2fs {args:?} opened read-only");
        let root = fs.root();
        let big = fs.create(root, b"big", S_IFREG | 0o644, 0, 0, 0).unwrap();
        fs.write(big, 3 << 30, b"three gigabytes in").unwrap();
        let a = fs.lookup(root, b"a").unwrap();
        for i in 0..100 {
            let f = fs.create(a, format!("n{i}").as_bytes(), S_IFREG | 0o600, 0, 0, 0).unwrap();
            fs.write(f, 0, &vec![i as u8; i * 100]).unwrap();
        }
        let u = fs.unlink(a, b"f").unwrap();
        fs.evict(u.ino).unwrap();
        fs.sync().unwrap();
        drop(fs);
        let (code, out) = e2fsck(&image);
        assert_eq!(code, 0, "mke2fs {args:?}:\n{out}");
        assert!(debugfs(&image, "features\n").contains("large_file"), "mke2fs {args:?}: large_file not set");
    }
}
