//! Disk images for the tests: the test root filesystem built into an
//! ext2 image (once per test binary), published as a chunk store, served
//! by `oxvm serve`; and reading an image with its overlay back into one
//! plain file for e2fsck.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use oxvm_block::{open_image, BlockDevice, ImageOptions, OverlayMode};

/// Where tests keep their images (under the target directory).
pub fn dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("images");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The test root filesystem as an ext2 image built by `oxvm image build`
/// (None without a root filesystem). Built once per test binary.
pub fn rootfs_image() -> Option<PathBuf> {
    static IMAGE: OnceLock<Option<PathBuf>> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            let root = super::chroot::rootfs()?;
            // One name: test binaries run one after another, and a rebuild
            // (2 s) keeps it current with the tree.
            let out = dir().join("rootfs.img");
            let o = Command::new(env!("CARGO_BIN_EXE_oxvm"))
                .args(["image", "build", "--from"])
                .arg(&root)
                .arg("--out")
                .arg(&out)
                .output()
                .unwrap();
            assert!(o.status.success(), "oxvm image build: {}", String::from_utf8_lossy(&o.stderr));
            Some(out)
        })
        .clone()
}

/// `image` published as a chunk store in `out` (zstd, 128 KiB chunks).
pub fn publish(image: &Path, out: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_oxvm")).args(["image", "publish"]).arg(image).arg("--out").arg(out).output().unwrap();
    assert!(o.status.success(), "oxvm image publish: {}", String::from_utf8_lossy(&o.stderr));
}

/// `oxvm serve` on a free port; stopped when dropped.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve(dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oxvm"))
        .args(["serve", "--port", "0", "--dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    Server { child, url }
}

/// The image as the guest last saw it durable (the base with the overlay
/// in `overlay` applied), written to `out` as a sparse plain file.
pub fn materialize(image: &Path, overlay: &Path, out: &Path) {
    let opts = ImageOptions { overlay: OverlayMode::Dir(overlay.to_path_buf()), ..Default::default() };
    let mut dev = open_image(image.to_str().unwrap(), &opts).unwrap().device;
    let size = dev.size();
    let f = std::fs::File::create(out).unwrap();
    f.set_len(size).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0;
    while off < size {
        let n = (size - off).min(buf.len() as u64) as usize;
        dev.read_at(off, &mut buf[..n]).unwrap();
        for (i, block) in buf[..n].chunks(4096).enumerate() {
            if block.iter().any(|&b| b != 0) {
                std::os::unix::fs::FileExt::write_all_at(&f, block, off + (i * 4096) as u64).unwrap();
            }
        }
        off += n as u64;
    }
}

/// `e2fsck -fn`: the output when it finds a problem.
pub fn fsck(image: &Path) -> Result<(), String> {
    let o = Command::new("e2fsck").arg("-fn").arg(image).output().map_err(|e| format!("e2fsck: {e}"))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
    }
}
