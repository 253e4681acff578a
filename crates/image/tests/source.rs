//! The two sources agree: a directory tree read directly and the same
//! tree packed by GNU tar (plain, gzip, zstd) give the same files with the
//! same attributes and contents.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::Command;

mod common;
use common::{scratch, tree};

use oxvm_image::source::{walk_dir, walk_tar, Entry, Kind};

/// path -> (kind with hard links resolved to their target's data, perm,
/// uid, gid, mtime, bytes).
type Seen = BTreeMap<Vec<u8>, (String, u32, u32, u32, i64, Vec<u8>)>;

fn collect(f: impl FnOnce(&mut dyn FnMut(&Entry, &mut dyn Read) -> Result<(), Box<dyn std::error::Error>>)) -> Seen {
    let mut seen = Seen::new();
    let mut links = Vec::new();
    f(&mut |e: &Entry, data: &mut dyn Read| {
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes)?;
        let kind = match &e.kind {
            Kind::HardLink { target } => {
                links.push((e.path.clone(), target.clone()));
                return Ok(());
            }
            Kind::File { size } => {
                assert_eq!(*size, bytes.len() as u64);
                "file".to_string()
            }
            Kind::Symlink { target } => format!("symlink {}", String::from_utf8_lossy(target)),
            k => format!("{k:?}"),
        };
        seen.insert(e.path.clone(), (kind, e.perm, e.uid, e.gid, e.mtime, bytes));
        Ok(())
    });
    for (path, target) in links {
        let t = seen[&target].clone();
        seen.insert(path, t);
    }
    seen
}

#[test]
fn directory_and_tar_sources_agree() {
    let s = scratch("src");
    let root = s.0.join("root");
    tree(&root);
    let from_dir = collect(|v| walk_dir(&root, v).unwrap());
    assert!(from_dir.len() >= 12, "{}", from_dir.len());
    assert_eq!(from_dir[&b"usr/bin/tool2".to_vec()].0, "file");
    let tar = s.0.join("t.tar");
    let ok = Command::new("tar").args(["--numeric-owner", "-cf"]).arg(&tar).arg("-C").arg(&root).arg(".").status().unwrap();
    assert!(ok.success());
    std::fs::copy(&tar, s.0.join("g.tar")).unwrap();
    assert!(Command::new("gzip").arg("-k").arg(s.0.join("g.tar")).status().unwrap().success());
    let mut sources = vec![tar.clone(), s.0.join("g.tar.gz")];
    if Command::new("zstd").arg("-q").arg("-k").arg(&tar).arg("-o").arg(s.0.join("t.tar.zst")).status().is_ok_and(|x| x.success()) {
        sources.push(s.0.join("t.tar.zst"));
    }
    for src in sources {
        let from_tar = collect(|v| walk_tar(&src, true, v).unwrap());
        assert_eq!(from_tar, from_dir, "{}", src.display());
    }
    // Without --owner-from-tar everything is root's.
    let rooted = collect(|v| walk_tar(&tar, false, v).unwrap());
    assert!(rooted.values().all(|v| v.2 == 0 && v.3 == 0));
}

#[test]
fn bad_tars_are_clear_errors() {
    let s = scratch("bad");
    let garbage = s.0.join("garbage.tar");
    std::fs::write(&garbage, vec![0x55u8; 4096]).unwrap();
    let e = walk_tar(&garbage, true, &mut |_, _| Ok(())).unwrap_err();
    assert!(e.to_string().contains("garbage.tar"), "{e}");
    // A member that climbs out of the root.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    // set_path refuses `..`, so write the name field directly.
    h.as_old_mut().name[..12].copy_from_slice(b"../etc/evil\0");
    h.set_cksum();
    b.append(&h, &b"x"[..]).unwrap();
    let evil = s.0.join("evil.tar");
    std::fs::write(&evil, b.into_inner().unwrap()).unwrap();
    let e = walk_tar(&evil, true, &mut |_, _| Ok(())).unwrap_err();
    assert!(e.to_string().contains("leaves the image root"), "{e}");
    // A truncated gzip stream.
    let gz = s.0.join("t.tar.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2]).unwrap();
    assert!(walk_tar(&gz, true, &mut |_, _| Ok(())).is_err());
    assert!(walk_tar(&s.0.join("missing.tar"), true, &mut |_, _| Ok(())).unwrap_err().to_string().contains("missing.tar"));
}
