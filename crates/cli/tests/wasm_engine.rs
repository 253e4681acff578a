//! The browser engine (oxvm.wasm with the web app's engine worker code)
//! under Node: `web/tests/engine-node.mjs` drives the worker protocol end
//! to end on the test root filesystem's image — programs one after another
//! and side by side, exit statuses, process events, files in and out,
//! extra mounts, the overlay across boots, reset. `cargo xtask test` builds
//! the wasm and names it in `OXVM_WASM`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn engine_protocol_under_node() {
    let Some(wasm) = std::env::var_os("OXVM_WASM").map(PathBuf::from) else {
        eprintln!("skipping: OXVM_WASM is not set (cargo xtask test builds the engine for wasm32 and sets it)");
        return;
    };
    let Some(image) = common::image::rootfs_image() else { return };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/tests/engine-node.mjs");
    let out = Command::new("node")
        .arg(script)
        .arg("--wasm")
        .arg(&wasm)
        .arg("--image")
        .arg(&image)
        .arg("--oxvm")
        .arg(env!("CARGO_BIN_EXE_oxvm"))
        .output()
        .expect("run node");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "engine-node.mjs failed:\n{text}");
    assert!(text.contains("engine-node: all passed"), "engine-node.mjs did not finish:\n{text}");
}
