//! `build` against real oracles: e2fsck finds nothing wrong with the
//! images, and debugfs (e2fsprogs' own reader) dumps back exactly the
//! source's files, modes, owners and times.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

mod common;
use common::{scratch, tree};

use oxvm_image::ext2_sink::{build, Source};
use oxvm_image::source::{walk_dir, Entry, Kind};

fn have(tool: &str) -> bool {
    Command::new(tool).arg("-V").output().is_ok()
}

fn fsck_clean(image: &Path) {
    let o = Command::new("e2fsck").arg("-fn").arg(image).output().unwrap();
    assert!(
        o.status.success(),
        "e2fsck -fn {}:\n{}{}",
        image.display(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Kind, perm, uid, gid, mtime, contents.
type Seen = (String, u32, u32, u32, i64, Vec<u8>);
type Listing = BTreeMap<String, Seen>;

/// Every file under `root`: kind, perm, owner, mtime (directories' too)
/// and contents; hard links resolved to their file.
fn listing(root: &Path) -> Listing {
    let mut out = Listing::new();
    let mut links = Vec::new();
    walk_dir(root, &mut |e: &Entry, data: &mut dyn Read| {
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes)?;
        let path = String::from_utf8_lossy(&e.path).into_owned();
        let kind = match &e.kind {
            Kind::HardLink { target } => {
                links.push((path, String::from_utf8_lossy(target).into_owned()));
                return Ok(());
            }
            Kind::File { .. } => "file".to_string(),
            Kind::Symlink { target } => format!("symlink to {} bytes", target.len()),
            // debugfs's rdump skips special files; `ls -p` checks them.
            Kind::CharDev { .. } | Kind::BlockDev { .. } | Kind::Fifo | Kind::Socket => return Ok(()),
            _ if path == "lost+found" => return Ok(()),
            k => format!("{k:?}"),
        };
        // debugfs does not restore the root's own attributes or symlink
        // times; compare what it does restore.
        let mtime = if matches!(e.kind, Kind::Symlink { .. }) || e.path.is_empty() { 0 } else { e.mtime };
        // Modes and owners are compared through `ls -p` (rdump's chown
        // after chmod clears set-id bits).
        out.insert(path, (kind, 0, 0, 0, mtime, bytes));
        Ok(())
    })
    .unwrap();
    for (path, target) in links {
        let t = out[&target].clone();
        out.insert(path, t);
    }
    out
}

/// The entries that differ, briefly (contents by length and checksum).
fn differences(got: &Listing, want: &Listing) -> Vec<String> {
    let brief = |v: Option<&Seen>| match v {
        None => "missing".to_string(),
        Some((k, p, u, g, t, b)) => {
            format!("{k} {p:o} {u}:{g} mtime {t} {} bytes sum {}", b.len(), b.iter().map(|&x| x as u64).sum::<u64>())
        }
    };
    want.keys()
        .chain(got.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| got.get(*k) != want.get(*k))
        .map(|k| format!("{k}: image has {}, source has {}", brief(got.get(k)), brief(want.get(k))))
        .collect()
}

/// Mode (type and permissions), uid and gid of every name in the image,
/// as debugfs lists them (`ls -p`, directory by directory).
fn debugfs_modes(image: &Path) -> BTreeMap<String, (u32, u32, u32)> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![String::new()];
    while let Some(dir) = dirs.pop() {
        let o = Command::new("debugfs").arg("-R").arg(format!("ls -p /{dir}")).arg(image).output().unwrap();
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            // /ino/mode/uid/gid/name/size/
            let f: Vec<&str> = line.split('/').collect();
            if f.len() < 7 || f[1] == "0" || f[5].is_empty() || f[5] == "." || f[5] == ".." {
                continue;
            }
            let mode = u32::from_str_radix(f[2], 8).unwrap();
            let path = if dir.is_empty() { f[5].to_string() } else { format!("{dir}/{}", f[5]) };
            if mode & 0o170000 == 0o040000 {
                dirs.push(path.clone());
            }
            out.insert(path, (mode, f[3].parse().unwrap(), f[4].parse().unwrap()));
        }
    }
    out
}

/// The same for the source tree.
fn source_modes(root: &Path) -> BTreeMap<String, (u32, u32, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((full, rel)) = stack.pop() {
        for d in std::fs::read_dir(&full).unwrap() {
            let d = d.unwrap();
            let name = d.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let m = std::fs::symlink_metadata(d.path()).unwrap();
            use std::os::unix::fs::MetadataExt;
            if m.is_dir() {
                stack.push((d.path(), path.clone()));
            }
            out.insert(path, (m.mode(), m.uid(), m.gid()));
        }
    }
    out
}

fn map_diff(got: &BTreeMap<String, (u32, u32, u32)>, want: &BTreeMap<String, (u32, u32, u32)>) -> Vec<String> {
    let keys: std::collections::BTreeSet<_> = got.keys().chain(want.keys()).collect();
    keys.into_iter()
        .filter(|k| got.get(*k) != want.get(*k))
        .map(|k| {
            format!(
                "{k}: {:?} vs {:?}",
                got.get(k).map(|m| (format!("{:o}", m.0), m.1, m.2)),
                want.get(k).map(|m| (format!("{:o}", m.0), m.1, m.2))
            )
        })
        .collect()
}

fn rdump(image: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    let o = Command::new("debugfs").arg("-R").arg(format!("rdump / {}", into.display())).arg(image).output().unwrap();
    assert!(o.status.success(), "debugfs: {}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn images_from_a_directory_and_a_tar_are_clean_and_hold_the_source() {
    if !have("e2fsck") || !have("debugfs") {
        eprintln!("skipping: e2fsprogs is needed");
        return;
    }
    let s = scratch("build");
    let root = s.0.join("root");
    tree(&root);
    // A sparse file: data at both ends of 64 MiB.
    let sparse = std::fs::File::create(root.join("home/sparse")).unwrap();
    sparse.set_len(64 << 20).unwrap();
    std::os::unix::fs::FileExt::write_at(&sparse, b"start", 0).unwrap();
    std::os::unix::fs::FileExt::write_at(&sparse, b"end", (64 << 20) - 3).unwrap();
    drop(sparse);
    let image = s.0.join("dir.img");
    let built = build(&Source::Dir(root.clone()), &image, None, b"test").unwrap();
    assert!(built.size >= 256 << 20, "auto size leaves room: {}", built.size);
    assert!(built.stats.files >= 5 && built.stats.hardlinks == 1, "{:?}", built.stats);
    fsck_clean(&image);
    // The sparse file's holes take no space in the image.
    let stat = Command::new("debugfs").arg("-R").arg("stat /home/sparse").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&stat.stdout);
    let blocks: u64 = text.split("Blockcount: ").nth(1).and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse().ok()).unwrap();
    assert!(blocks <= 64, "sparse file uses {blocks} sectors:\n{text}");
    let out = s.0.join("dump");
    rdump(&image, &out);
    let diff = differences(&listing(&out), &listing(&root));
    assert!(diff.is_empty(), "debugfs's copy of the image differs from the source:\n{}", diff.join("\n"));
    let mut modes = debugfs_modes(&image);
    assert_eq!(modes.remove("lost+found").map(|m| m.0), Some(0o040700));
    let diff = map_diff(&modes, &source_modes(&root));
    assert!(diff.is_empty(), "modes and owners (image vs source):\n{}", diff.join("\n"));

    // The same tree through tar, owners kept, into a fixed size.
    let tar = s.0.join("t.tar.gz");
    assert!(Command::new("tar").args(["--numeric-owner", "-czf"]).arg(&tar).arg("-C").arg(&root).arg(".").status().unwrap().success());
    let image2 = s.0.join("tar.img");
    build(&Source::Tar { path: tar.clone(), owner_from_tar: true }, &image2, Some(300 << 20), b"").unwrap();
    assert_eq!(std::fs::metadata(&image2).unwrap().len(), 300 << 20);
    fsck_clean(&image2);
    let out2 = s.0.join("dump2");
    rdump(&image2, &out2);
    let diff = differences(&listing(&out2), &listing(&root));
    assert!(diff.is_empty(), "the image built from tar differs from the source:\n{}", diff.join("\n"));
    let mut modes = debugfs_modes(&image2);
    modes.remove("lost+found");
    let diff = map_diff(&modes, &source_modes(&root));
    assert!(diff.is_empty(), "modes and owners from tar (image vs source):\n{}", diff.join("\n"));

    // Too small: a clear error, and nothing left under the name.
    std::fs::write(root.join("home/dense"), vec![0xa5u8; 3 << 20]).unwrap();
    let small = s.0.join("small.img");
    let e = build(&Source::Dir(root.clone()), &small, Some(2 << 20), b"").unwrap_err();
    assert!(!small.exists() && !s.0.join("small.img.partial").exists(), "{e}");
    assert!(e.to_string().to_lowercase().contains("space"), "{e}");
}
