//! `oxvm image publish`: the real binary, read back through the chunk store.

mod common;

use std::process::Command;
use std::sync::Arc;

use oxvm_block::fetch::LocalFetcher;
use oxvm_block::{open_chunk_store, BlockDevice, ChunkedOptions, Manifest};

fn oxvm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_oxvm"))
}

/// A fresh temp dir, removed when dropped.
fn tmp(name: &str) -> common::Scratch {
    common::scratch(&format!("cli-image-{name}"))
}

fn image(len: usize) -> Vec<u8> {
    let mut x = 88172645463325252u64;
    (0..len)
        .map(|i| {
            if (i / 65536) % 5 == 2 {
                return 0; // zero runs become zero chunks at 64K
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b'a' + (x % 4) as u8
        })
        .collect()
}

#[test]
fn publish_then_read_back_through_the_chunk_store() {
    let dir = tmp("publish");
    let bytes = image(3 * 1024 * 1024 + 12345);
    let img = dir.0.join("root.img");
    std::fs::write(&img, &bytes).unwrap();
    for (chunk, compress, chunk_bytes) in [("64K", "zstd", 65536u64), ("128K", "none", 131072)] {
        let out = dir.0.join(format!("out-{chunk}-{compress}"));
        let o = oxvm()
            .args(["image", "publish"])
            .arg(&img)
            .arg("--out")
            .arg(&out)
            .args(["--chunk", chunk, "--compress", compress])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stdout).contains("published"), "{}", String::from_utf8_lossy(&o.stdout));
        let manifest_path = out.join("manifest.json");
        let m = Manifest::parse(&std::fs::read(&manifest_path).unwrap()).unwrap();
        assert_eq!((m.image_size, m.chunk_size), (bytes.len() as u64, chunk_bytes));
        if chunk_bytes == 65536 {
            assert!(m.chunks.iter().any(|c| c.is_none()), "zero chunks are marked");
        }
        let mut dev = open_chunk_store(manifest_path.to_str().unwrap(), Arc::new(LocalFetcher), None, ChunkedOptions::default()).unwrap();
        let mut back = vec![0u8; bytes.len()];
        dev.read_at(0, &mut back).unwrap();
        assert!(back == bytes, "{chunk} {compress}: read back differs");
    }
}

#[test]
fn bad_arguments_exit_2_with_a_message() {
    let dir = tmp("badargs");
    let img = dir.0.join("root.img");
    std::fs::write(&img, [1u8; 8192]).unwrap();
    let out = dir.0.join("out");
    let cases: [(&[&str], &str); 4] = [
        (&["--chunk", "100K"], "power of two"),
        (&["--chunk", "12Q"], "unit"),
        (&["--compress", "lzma"], "lzma"),
        (&["--chunk", "64M"], "power of two"),
    ];
    for (extra, want) in cases {
        let o = oxvm().args(["image", "publish"]).arg(&img).arg("--out").arg(&out).args(extra).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(want), "{extra:?}: {err}");
    }
    let o = oxvm().args(["image", "publish", "/nonexistent/root.img", "--out"]).arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/root.img"));
    let o = oxvm().args(["image", "publish"]).arg(&img).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "--out is required");
}
