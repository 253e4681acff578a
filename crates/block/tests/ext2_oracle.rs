//! The stack end to end with e2fsprogs as the oracle: an ext2 image made by
//! mke2fs is published, served over HTTP, and changed through a persistent
//! overlay exactly as debugfs changed a copy of it; after a reopen the
//! device must equal debugfs's image byte for byte, and e2fsck must find it
//! clean.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{Server, TempDir};
use oxvm_block::{open_image, publish, BlockDevice, Compression, FileDevice, ImageOptions, OverlayMode, SourceKind};

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e} (e2fsprogs is needed)"));
    assert!(o.status.success(), "{cmd:?}: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn overlay_over_a_served_chunk_store_reproduces_a_debugfs_change() {
    let dir = TempDir::new("ext2");
    let tree = dir.0.join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("hello.txt"), "hello from the base image\n").unwrap();
    std::fs::write(tree.join("sub/big.bin"), (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect::<Vec<_>>()).unwrap();
    let base_img = dir.0.join("base.img");
    run(Command::new("mke2fs").args(["-q", "-F", "-t", "ext2", "-b", "1024", "-d"]).arg(&tree).arg(&base_img).arg("8M"));

    // The oracle's change: debugfs writes a new file into a copy.
    let changed_img = dir.0.join("changed.img");
    std::fs::copy(&base_img, &changed_img).unwrap();
    let new_file = dir.0.join("new.txt");
    let new_content: String = (0..2000).map(|i| format!("line {i} written through the overlay\n")).collect();
    std::fs::write(&new_file, &new_content).unwrap();
    run(Command::new("debugfs").args(["-w", "-R", &format!("write {} new.txt", new_file.display())]).arg(&changed_img));
    let base = std::fs::read(&base_img).unwrap();
    let changed = std::fs::read(&changed_img).unwrap();
    assert_eq!(base.len(), changed.len());

    let store = dir.0.join("www/store");
    publish(&mut FileDevice::open_read_only(&base_img).unwrap(), &store, 64 * 1024, Compression::Zstd).unwrap();
    let server = Server::start(&dir.0.join("www"), false, Duration::ZERO);
    let opts =
        ImageOptions { overlay: OverlayMode::Dir(dir.0.join("overlay")), cache_dir: Some(dir.0.join("cache")), ..Default::default() };
    let source = format!("{}store/manifest.json", server.base);

    // Apply debugfs's change as the kernel would: the differing 1 KiB blocks,
    // in two flushed transactions.
    let mut opened = open_image(&source, &opts).unwrap();
    assert_eq!(opened.kind, SourceKind::ChunkStore);
    let dev = &mut opened.device;
    let differing: Vec<usize> = (0..base.len() / 1024).filter(|b| base[b * 1024..][..1024] != changed[b * 1024..][..1024]).collect();
    assert!(differing.len() > 5, "debugfs changed {} blocks", differing.len());
    let (first, second) = differing.split_at(differing.len() / 2);
    for part in [first, second] {
        for &b in part {
            dev.write_at(b as u64 * 1024, &changed[b * 1024..][..1024]).unwrap();
        }
        dev.flush().unwrap();
    }
    drop(opened);

    let mut reopened = open_image(&source, &opts).unwrap();
    let mut now = vec![0u8; base.len()];
    reopened.device.read_at(0, &mut now).unwrap();
    assert!(now == changed, "the overlay device differs from debugfs's image");
    let dump = dir.0.join("dump.img");
    std::fs::write(&dump, &now).unwrap();
    run(Command::new("e2fsck").args(["-f", "-n"]).arg(&dump));
    assert_eq!(run(Command::new("debugfs").args(["-R", "cat /new.txt"]).arg(&dump)), new_content);
    assert_eq!(run(Command::new("debugfs").args(["-R", "cat /hello.txt"]).arg(&dump)), "hello from the base image\n");
    // The published store is untouched: it still reads as the base image.
    assert_eq!(std::fs::read(&base_img).unwrap(), base);
    let mut ro = open_image(&source, &ImageOptions { overlay: OverlayMode::ReadOnly, ..opts }).unwrap();
    ro.device.read_at(0, &mut now).unwrap();
    assert!(now == base);
}
