//! Randomized operation sequences (fixed seeds) applied both to our file
//! system and to a host directory (the model, run by Linux): results and
//! errno values must agree op by op; at checkpoints and at the end the image
//! must pass `e2fsck -fn` and read back (ours and `debugfs rdump`) equal to
//! the model.

mod common;

use std::os::unix::fs::FileExt;
use std::path::Path;

use common::*;
use oxvm_block::{BlockDevice, FileDevice};
use oxvm_ext2::*;

fn resolve<D: BlockDevice>(fs: &mut Ext2<D>, path: &str) -> Result<Ino> {
    let mut ino = fs.root();
    for c in path.split('/').filter(|c| !c.is_empty()) {
        ino = fs.lookup(ino, c.as_bytes())?;
    }
    Ok(ino)
}

fn host_errno(r: std::io::Result<()>) -> Option<i32> {
    r.err().map(|e| e.raw_os_error().expect("an OS error"))
}

fn our_errno<T>(r: Result<T>) -> Option<i32> {
    r.err().map(|e| e.errno())
}

/// Directories of the model, relative ("" is the root).
fn model_dirs(model: &Path) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut i = 0;
    while i < out.len() {
        let rel = out[i].clone();
        let mut names: Vec<String> = std::fs::read_dir(model.join(&rel))
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !(rel.is_empty() && n == "lost+found"))
            .collect();
        names.sort();
        for n in names {
            out.push(if rel.is_empty() { n } else { format!("{rel}/{n}") });
        }
        i += 1;
    }
    out
}

/// `tiny_cache`: bound the metadata cache to its minimum (64 blocks) so
/// dirty blocks are evicted and written back all the time.
fn run(seed: u64, bs: u32, size: u64, ops: usize, tiny_cache: bool) {
    let tmp = TempDir::new(&format!("rand{seed}"));
    let image = tmp.path().join("img");
    let model = tmp.path().join("model");
    std::fs::create_dir(&model).unwrap();
    let opts = FormatOptions { block_size: bs, bytes_per_inode: 4096, ..Default::default() };
    let mut fs = Ext2::format(FileDevice::create(&image, size).unwrap(), &opts).unwrap();
    if tiny_cache {
        fs.set_cache_limit(0);
    }
    let mut rng = Rng(seed);
    let mut dirs = model_dirs(&model);
    let mut counts = [0usize; 8];
    for step in 0..ops {
        let dir = dirs[rng.below(dirs.len() as u64) as usize].clone();
        let name = format!("n{}", rng.below(12));
        let rel = if dir.is_empty() { name.clone() } else { format!("{dir}/{name}") };
        let host = model.join(&rel);
        let op = rng.below(100);
        let (ours, theirs, kind) = match op {
            0..=29 => {
                // Write (creating if needed) at a random offset.
                let off = if rng.below(4) == 0 { rng.below(3_000_000) } else { rng.below(40_000) };
                let len = if rng.below(10) == 0 { rng.below(300_000) } else { rng.below(9000) } as usize;
                let data = rng.bytes(len);
                let ours = (|| {
                    let d = resolve(&mut fs, &dir)?;
                    let ino = match fs.lookup(d, name.as_bytes()) {
                        Ok(i) => i,
                        Err(Error::NotFound) => fs.create(d, name.as_bytes(), S_IFREG | 0o644, 0, 0, 0)?,
                        Err(e) => return Err(e),
                    };
                    if fs.stat(ino)?.file_type == FileType::Symlink {
                        return Ok(());
                    }
                    fs.write(ino, off, &data).map(|_| ())
                })();
                let theirs = if std::fs::symlink_metadata(&host).map(|m| m.file_type().is_symlink()).unwrap_or(false) {
                    Ok(())
                } else {
                    std::fs::OpenOptions::new()
                        .create(true)
                        .write(true)
                        .truncate(false)
                        .open(&host)
                        .and_then(|f| f.write_all_at(&data, off))
                };
                (our_errno(ours), host_errno(theirs), 0)
            }
            30..=39 => {
                let size = rng.below(400_000);
                let is_file = std::fs::symlink_metadata(&host).map(|m| m.is_file()).unwrap_or(false);
                if !is_file {
                    continue;
                }
                let ours = resolve(&mut fs, &rel).and_then(|i| fs.truncate(i, size));
                let theirs = std::fs::OpenOptions::new().write(true).open(&host).and_then(|f| f.set_len(size));
                (our_errno(ours), host_errno(theirs), 1)
            }
            40..=51 => {
                let ours = resolve(&mut fs, &dir).and_then(|d| fs.mkdir(d, name.as_bytes(), 0o755, 0, 0));
                (our_errno(ours), host_errno(std::fs::create_dir(&host)), 2)
            }
            52..=59 => {
                let ours = resolve(&mut fs, &dir).and_then(|d| fs.rmdir(d, name.as_bytes())).and_then(|i| fs.evict(i));
                (our_errno(ours), host_errno(std::fs::remove_dir(&host)), 3)
            }
            60..=71 => {
                let ours = resolve(&mut fs, &dir).and_then(|d| fs.unlink(d, name.as_bytes())).and_then(|u| {
                    if u.last_link {
                        fs.evict(u.ino)
                    } else {
                        Ok(())
                    }
                });
                (our_errno(ours), host_errno(std::fs::remove_file(&host)), 4)
            }
            72..=87 => {
                let dir2 = dirs[rng.below(dirs.len() as u64) as usize].clone();
                let name2 = format!("n{}", rng.below(12));
                let rel2 = if dir2.is_empty() { name2.clone() } else { format!("{dir2}/{name2}") };
                let ours = (|| {
                    let (a, b) = (resolve(&mut fs, &dir)?, resolve(&mut fs, &dir2)?);
                    if let Some(gone) = fs.rename(a, name.as_bytes(), b, name2.as_bytes())? {
                        fs.evict(gone)?;
                    }
                    Ok(())
                })();
                (our_errno(ours), host_errno(std::fs::rename(&host, model.join(&rel2))), 5)
            }
            88..=93 => {
                let dir2 = dirs[rng.below(dirs.len() as u64) as usize].clone();
                let name2 = format!("n{}", rng.below(12));
                let rel2 = if dir2.is_empty() { name2.clone() } else { format!("{dir2}/{name2}") };
                if std::fs::symlink_metadata(&host).map(|m| m.file_type().is_symlink()).unwrap_or(false) {
                    continue; // Linux link(2) does not follow, std's hard_link may: keep to files.
                }
                let ours = (|| {
                    let ino = resolve(&mut fs, &rel)?;
                    let d2 = resolve(&mut fs, &dir2)?;
                    fs.link(ino, d2, name2.as_bytes())
                })();
                (our_errno(ours), host_errno(std::fs::hard_link(&host, model.join(&rel2))), 6)
            }
            _ => {
                let target: String = (0..1 + rng.below(200)).map(|i| (b'a' + (i % 26) as u8) as char).collect();
                let ours = resolve(&mut fs, &dir).and_then(|d| fs.symlink(d, name.as_bytes(), target.as_bytes(), 0, 0));
                (our_errno(ours), host_errno(std::os::unix::fs::symlink(&target, &host)), 7)
            }
        };
        assert_eq!(ours, theirs, "seed {seed} step {step}: op kind {kind} on {rel}: errno ours {ours:?}, Linux {theirs:?}");
        if ours.is_none() {
            counts[kind] += 1;
        }
        if kind == 2 || kind == 3 || kind == 5 {
            dirs = model_dirs(&model);
        }
        if step > 0 && step % (ops / 3) == 0 {
            // Checkpoint: sync, check, and continue on a freshly opened instance.
            fs.sync().unwrap();
            assert_fsck_clean(&image);
            drop(fs);
            fs = Ext2::open(FileDevice::open_read_write(&image).unwrap()).unwrap();
            if tiny_cache {
                fs.set_cache_limit(0);
            }
        }
    }
    fs.sync().unwrap();
    let ours = walk(&mut fs);
    drop(fs);
    assert_fsck_clean(&image);
    assert_same_tree(&ours, &walk_host(&model), "our reader vs Linux model");
    let dump = tmp.path().join("rdump");
    rdump(&image, &dump);
    assert_same_tree(&walk_host(&dump), &walk_host(&model), "debugfs rdump vs Linux model");
    eprintln!(
        "seed {seed}, {bs}-byte blocks: successful ops by kind (write, truncate, mkdir, rmdir, unlink, rename, link, symlink) {counts:?}"
    );
}

#[test]
fn random_ops_1k() {
    run(1, 1024, 24 << 20, 3000, true);
}

#[test]
fn random_ops_4k() {
    run(2, 4096, 64 << 20, 3000, false);
}

#[test]
fn random_ops_2k() {
    run(3, 2048, 32 << 20, 2000, true);
}
