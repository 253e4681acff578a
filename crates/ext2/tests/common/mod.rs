//! Shared helpers for the ext2 tests: temp dirs, the e2fsprogs oracles, a
//! seeded PRNG, and a tree walker over our library.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use oxvm_block::BlockDevice;
use oxvm_ext2::{Ext2, FileType, Ino};

/// A temp directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!("oxvm-ext2-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `e2fsck -fn`: (exit status, output). Status 0 means no problems found.
pub fn e2fsck(image: &Path) -> (i32, String) {
    let out = Command::new("e2fsck").arg("-fn").arg(image).output().expect("e2fsck (e2fsprogs) must be installed");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

pub fn assert_fsck_clean(image: &Path) {
    let (code, text) = e2fsck(image);
    assert_eq!(code, 0, "e2fsck -fn found problems:\n{text}");
}

/// Runs debugfs commands (one per line) against an image, read-only.
pub fn debugfs(image: &Path, cmds: &str) -> String {
    let dir = image.parent().unwrap();
    let cmdfile = dir.join(format!("debugfs-cmds-{}", std::process::id()));
    std::fs::write(&cmdfile, cmds).unwrap();
    let out = Command::new("debugfs").arg("-f").arg(&cmdfile).arg(image).output().expect("debugfs (e2fsprogs) must be installed");
    let _ = std::fs::remove_file(&cmdfile);
    assert!(out.status.success(), "debugfs failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `debugfs -R 'rdump / OUT'`: extracts the whole tree with e2fsprogs' reader.
pub fn rdump(image: &Path, out: &Path) {
    std::fs::create_dir_all(out).unwrap();
    let st = Command::new("debugfs")
        .arg("-R")
        .arg(format!("rdump / {}", out.display()))
        .arg(image)
        .output()
        .expect("debugfs (e2fsprogs) must be installed");
    assert!(st.status.success(), "rdump failed: {}", String::from_utf8_lossy(&st.stderr));
}

pub fn mke2fs(image: &Path, size: u64, args: &[&str], src: Option<&Path>) {
    let f = std::fs::File::create(image).unwrap();
    f.set_len(size).unwrap();
    drop(f);
    let mut c = Command::new("mke2fs");
    c.args(["-q", "-F", "-t", "ext2"]).args(args);
    if let Some(s) = src {
        c.arg("-d").arg(s);
    }
    c.arg(image);
    let out = c.output().expect("mke2fs (e2fsprogs) must be installed");
    assert!(out.status.success(), "mke2fs failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// splitmix64: a small deterministic PRNG for reproducible tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// What our library sees at one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Length and content hash (files may be sparse and many GiB).
    File(u64, u64),
    Dir,
    Symlink(Vec<u8>),
    Other(FileType),
}

/// Walks the whole tree through the library: path -> node (file contents,
/// link targets), skipping lost+found.
pub fn walk<D: BlockDevice>(fs: &mut Ext2<D>) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    let mut stack: Vec<(Ino, String)> = vec![(fs.root(), String::new())];
    while let Some((dir, path)) = stack.pop() {
        let mut cursor = 0;
        loop {
            let ents = fs.read_dir(dir, cursor, 64).unwrap();
            if ents.is_empty() {
                break;
            }
            for e in ents {
                cursor = e.next;
                if e.name == b"." || e.name == b".." || (path.is_empty() && e.name == b"lost+found") {
                    continue;
                }
                let p = format!("{path}/{}", String::from_utf8_lossy(&e.name));
                let md = fs.stat(e.ino).unwrap();
                assert_eq!(md.file_type, e.file_type, "{p}: directory entry type and inode type differ");
                let node = match e.file_type {
                    FileType::Directory => {
                        stack.push((e.ino, p.clone()));
                        Node::Dir
                    }
                    FileType::Regular => {
                        let mut h = Hasher::default();
                        let mut buf = vec![0u8; 1 << 20];
                        for (start, end) in sample_ranges(md.size) {
                            let mut off = start;
                            while off < end {
                                let want = ((end - off) as usize).min(buf.len());
                                let n = fs.read(e.ino, off, &mut buf[..want]).unwrap();
                                assert!(n > 0, "{p}: short read at {off} of {}", md.size);
                                h.update(&buf[..n]);
                                off += n as u64;
                            }
                        }
                        Node::File(md.size, h.0)
                    }
                    FileType::Symlink => Node::Symlink(fs.readlink(e.ino).unwrap()),
                    t => Node::Other(t),
                };
                out.insert(p, node);
            }
        }
    }
    out
}

/// The same view of a host directory tree.
pub fn walk_host(root: &Path) -> BTreeMap<String, Node> {
    use std::os::unix::fs::FileTypeExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, path)) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if path.is_empty() && name == "lost+found" {
                continue;
            }
            let p = format!("{path}/{name}");
            let ft = e.file_type().unwrap();
            let node = if ft.is_dir() {
                stack.push((e.path(), p.clone()));
                Node::Dir
            } else if ft.is_symlink() {
                use std::os::unix::ffi::OsStrExt;
                Node::Symlink(std::fs::read_link(e.path()).unwrap().as_os_str().as_bytes().to_vec())
            } else if ft.is_file() {
                use std::os::unix::fs::FileExt;
                let f = std::fs::File::open(e.path()).unwrap();
                let len = f.metadata().unwrap().len();
                let mut h = Hasher::default();
                let mut buf = vec![0u8; 1 << 20];
                for (start, end) in sample_ranges(len) {
                    let mut off = start;
                    while off < end {
                        let want = ((end - off) as usize).min(buf.len());
                        let n = f.read_at(&mut buf[..want], off).unwrap();
                        assert!(n > 0);
                        h.update(&buf[..n]);
                        off += n as u64;
                    }
                }
                Node::File(len, h.0)
            } else if ft.is_fifo() {
                Node::Other(FileType::Fifo)
            } else if ft.is_socket() {
                Node::Other(FileType::Socket)
            } else if ft.is_char_device() {
                Node::Other(FileType::CharDevice)
            } else {
                Node::Other(FileType::BlockDevice)
            };
            out.insert(p, node);
        }
    }
    out
}

/// Compares two trees, reporting the first few differences readably.
pub fn assert_same_tree(ours: &BTreeMap<String, Node>, theirs: &BTreeMap<String, Node>, what: &str) {
    let a: HashSet<&String> = ours.keys().collect();
    let b: HashSet<&String> = theirs.keys().collect();
    let mut only_a: Vec<_> = a.difference(&b).collect();
    let mut only_b: Vec<_> = b.difference(&a).collect();
    only_a.sort();
    only_b.sort();
    assert!(only_a.is_empty() && only_b.is_empty(), "{what}: paths only in ours {only_a:?}, only in theirs {only_b:?}");
    for (k, v) in ours {
        let w = &theirs[k];
        if v != w {
            let short = |n: &Node| match n {
                Node::File(len, h) => format!("file of {len} bytes, hash {h:x}"),
                other => format!("{other:?}"),
            };
            panic!("{what}: {k} differs: ours {}, theirs {}", short(v), short(w));
        }
    }
}

/// A fast streaming hash that does not depend on how the bytes are chunked.
pub struct Hasher(pub u64, u64);

impl Default for Hasher {
    fn default() -> Self {
        Hasher(0xcbf2_9ce4_8422_2325, 0)
    }
}

impl Hasher {
    /// Chunk boundaries must be multiples of 8 except the last (the callers
    /// read in 1 MiB pieces).
    pub fn update(&mut self, data: &[u8]) {
        let mut words = data.chunks_exact(8);
        for w in &mut words {
            let v = u64::from_le_bytes(w.try_into().unwrap());
            self.0 = (self.0 ^ v).wrapping_mul(0x100_0000_01b3).rotate_left(29);
        }
        for &b in words.remainder() {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        self.1 = self.1.wrapping_add(data.len() as u64);
    }
}

/// The byte ranges hashed for a file: all of it, except that files of over
/// 256 MiB (sparse giants) are sampled at the start, around 4 GiB, and the end.
pub fn sample_ranges(len: u64) -> Vec<(u64, u64)> {
    const MIB: u64 = 1 << 20;
    if len <= 256 * MIB {
        return vec![(0, len)];
    }
    let four_g = 4u64 << 30;
    let mut v = vec![(0, MIB)];
    if len > four_g + MIB {
        v.push((four_g - MIB, four_g + MIB));
    }
    v.push((len - 8 * MIB, len));
    v
}
