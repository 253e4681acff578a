//! Corrupt images must give errors, never panics, hangs or huge allocations.
//!
//! Small valid images (made by our format and by mke2fs) get random bytes
//! overwritten (seeded) in the superblock, the group descriptors, the inode
//! table, directory blocks, indirect blocks or anywhere; each is then opened,
//! walked in full (stat, read, readlink, read_dir with cursors), and changed
//! (create, write, mkdir, truncate, unlink, rename, sync). Errors are fine;
//! a panic fails the test with the case number, and each case must finish fast.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::*;
use oxvm_block::{BlockDevice, FileDevice, MemDevice};
use oxvm_ext2::*;

/// Image bytes and the interesting byte ranges to corrupt.
struct Sample {
    name: &'static str,
    bytes: Vec<u8>,
    targets: Vec<(u64, u64)>,
}

fn build_ours(bs: u32) -> Vec<u8> {
    let mut fs = Ext2::format(
        MemDevice::new(1 << 20),
        &FormatOptions { block_size: bs, bytes_per_inode: 4096, time: Some(1_600_000_000), ..Default::default() },
    )
    .unwrap();
    let root = fs.root();
    let d = fs.mkdir(root, b"dir", 0o755, 1, 2).unwrap();
    let sub = fs.mkdir(d, b"sub", 0o700, 0, 0).unwrap();
    for i in 0..40 {
        let f = fs.create(if i % 2 == 0 { d } else { sub }, format!("file{i}").as_bytes(), S_IFREG | 0o644, 0, 0, 0).unwrap();
        fs.write(f, 0, &vec![i as u8; i * 700]).unwrap();
    }
    let big = fs.create(root, b"indirect", S_IFREG | 0o644, 0, 0, 0).unwrap();
    fs.write(big, 0, &vec![7u8; 20 * bs as usize]).unwrap();
    let p = bs as u64 / 4;
    fs.write(big, (12 + p + 3) * bs as u64, b"double").unwrap();
    fs.write(big, (12 + p + p * p + 1) * bs as u64, b"triple").unwrap();
    fs.symlink(root, b"fast", b"dir/file2", 0, 0).unwrap();
    fs.symlink(root, b"slow", &[b'x'; 100], 0, 0).unwrap();
    fs.create(root, b"dev", S_IFCHR | 0o600, 0, 0, makedev(4, 5)).unwrap();
    fs.create(root, b"fifo", S_IFIFO | 0o600, 0, 0, 0).unwrap();
    let f = fs.lookup(d, b"file2").unwrap();
    fs.link(f, root, b"hard").unwrap();
    fs.into_device().unwrap().into_bytes()
}

fn build_mke2fs(bs: u32) -> Vec<u8> {
    let tmp = TempDir::new("fuzzsrc");
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("a/b/c")).unwrap();
    for i in 0..150 {
        std::fs::write(src.join(format!("a/entry-{i}")), vec![b'z'; i * 37]).unwrap();
    }
    std::fs::write(src.join("a/b/c/big"), vec![1u8; 40 * 1024]).unwrap();
    std::os::unix::fs::symlink("a/b/c/big", src.join("link")).unwrap();
    std::os::unix::fs::symlink("q".repeat(80), src.join("slowlink")).unwrap();
    let image = tmp.path().join("img");
    mke2fs(&image, 1 << 20, &["-b", &bs.to_string(), "-N", "256"], Some(&src));
    // Index the big directory so htree nodes get fuzzed too.
    let _ = std::process::Command::new("e2fsck").arg("-fyD").arg(&image).output();
    std::fs::read(&image).unwrap()
}

/// Byte ranges worth corrupting: superblock, descriptors, inode table,
/// bitmaps, and the blocks of every directory and indirect-mapped file.
fn targets(bytes: &[u8]) -> Vec<(u64, u64)> {
    let fs = Ext2::open(MemDevice::from_bytes(bytes.to_vec())).unwrap();
    let bs = fs.block_size() as u64;
    let first = if bs == 1024 { 1 } else { 0 };
    let mut t = vec![(1024, 2048), ((first + 1) * bs, (first + 2) * bs)];
    // Group 0 bitmaps and inode table follow the descriptor table (and, in
    // mke2fs images, the reserved GDT blocks): a generous window.
    t.push(((first + 2) * bs, ((first + 2) * bs + 96 * 1024).min(bytes.len() as u64)));
    // Anywhere (directory and indirect blocks included).
    t.push((0, bytes.len() as u64));
    t
}

fn corrupt(rng: &mut Rng, bytes: &mut [u8], targets: &[(u64, u64)]) {
    let n = 1 + rng.below(8);
    for _ in 0..n {
        let (a, b) = targets[rng.below(targets.len() as u64) as usize];
        let off = (a + rng.below(b - a)) as usize;
        match rng.below(4) {
            0 => bytes[off] ^= 1 << rng.below(8),
            1 => bytes[off] = 0xff,
            2 => bytes[off] = 0,
            _ => bytes[off] = rng.next() as u8,
        }
    }
}

/// Open, walk everything, read, then change things; every error is fine.
fn exercise<D: BlockDevice>(dev: D) {
    let Ok(mut fs) = Ext2::open(dev) else { return };
    let _ = fs.statfs();
    let root = fs.root();
    let mut seen = HashSet::new();
    let mut stack = vec![root];
    let mut files = Vec::new();
    let mut budget = 20_000;
    while let Some(dir) = stack.pop() {
        if !seen.insert(dir) {
            continue; // directory cycles in a corrupt image
        }
        let mut cursor = 0;
        while budget > 0 {
            budget -= 1;
            let Ok(ents) = fs.read_dir(dir, cursor, 16) else { break };
            if ents.is_empty() {
                break;
            }
            let last = ents.last().map(|e| e.next).unwrap_or(cursor);
            if last <= cursor {
                panic!("read_dir cursor did not advance");
            }
            cursor = last;
            let _ = fs.prefetch_inodes(&ents.iter().map(|e| e.ino).collect::<Vec<_>>());
            for e in ents {
                if e.name == b"." || e.name == b".." {
                    continue;
                }
                let _ = fs.lookup(dir, &e.name);
                let Ok(md) = fs.stat(e.ino) else { continue };
                match md.file_type {
                    FileType::Directory => stack.push(e.ino),
                    FileType::Regular => {
                        files.push((dir, e.name.clone(), e.ino));
                        let _ = fs.prefetch_file(e.ino, 0..u64::MAX);
                        let mut buf = vec![0u8; 16 * 1024];
                        let mut off = 0;
                        for _ in 0..4 {
                            match fs.read(e.ino, off, &mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => off += n as u64,
                            }
                        }
                        let _ = fs.read(e.ino, md.size.saturating_sub(100), &mut buf);
                    }
                    FileType::Symlink => {
                        let _ = fs.readlink(e.ino);
                    }
                    _ => {}
                }
            }
        }
    }
    if fs.read_only() {
        return;
    }
    if let Ok(ino) = fs.create(root, b"new-file", S_IFREG | 0o644, 0, 0, 0) {
        let _ = fs.write(ino, 5000, &[9u8; 20_000]);
        let _ = fs.truncate(ino, 3000);
    }
    let _ = fs.mkdir(root, b"new-dir", 0o755, 0, 0);
    let _ = fs.symlink(root, b"new-link", &[b'l'; 90], 0, 0);
    for (i, (dir, name, ino)) in files.iter().enumerate().take(6) {
        match i % 3 {
            0 => {
                let _ = fs.truncate(*ino, 10);
            }
            1 => {
                if let Ok(u) = fs.unlink(*dir, name) {
                    if u.last_link {
                        let _ = fs.evict(u.ino);
                    }
                }
            }
            _ => {
                if let Ok(Some(gone)) = fs.rename(*dir, name, root, b"renamed") {
                    let _ = fs.evict(gone);
                }
                let _ = fs.write(*ino, 0, b"rewritten");
            }
        }
    }
    if let Ok(ino) = fs.rmdir(root, b"new-dir") {
        let _ = fs.evict(ino);
    }
    let _ = fs.sync();
}

#[test]
fn fuzz_corrupt_images() {
    let mut samples = Vec::new();
    for bs in [1024u32, 4096] {
        let bytes = build_ours(bs);
        samples.push(Sample { name: if bs == 1024 { "ours-1k" } else { "ours-4k" }, targets: targets(&bytes), bytes });
    }
    for bs in [1024u32, 2048] {
        let bytes = build_mke2fs(bs);
        samples.push(Sample { name: if bs == 1024 { "mke2fs-1k" } else { "mke2fs-2k" }, targets: targets(&bytes), bytes });
    }
    // The uncorrupted images exercise cleanly and stay valid for e2fsck.
    let tmp = TempDir::new("fuzz");
    for s in &samples {
        let image = tmp.path().join(s.name);
        std::fs::write(&image, &s.bytes).unwrap();
        exercise(FileDevice::open_read_write(&image).unwrap());
        assert_fsck_clean(&image);
    }
    let cases: u64 = std::env::var("OXVM_EXT2_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4000);
    let mut rng = Rng(0xE2F5);
    let mut opened = 0;
    let mut slowest = Duration::ZERO;
    for case in 0..cases {
        let s = &samples[(case % samples.len() as u64) as usize];
        let mut bytes = s.bytes.clone();
        corrupt(&mut rng, &mut bytes, &s.targets);
        if Ext2::open(MemDevice::from_bytes(bytes.clone())).is_ok() {
            opened += 1;
        }
        let start = Instant::now();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exercise(MemDevice::from_bytes(bytes))));
        assert!(r.is_ok(), "case {case} ({}) panicked", s.name);
        let took = start.elapsed();
        slowest = slowest.max(took);
        assert!(took < Duration::from_secs(5), "case {case} ({}) took {took:?}", s.name);
    }
    eprintln!("fuzz: {cases} corrupted images, {opened} opened, slowest case {slowest:?}");
}
