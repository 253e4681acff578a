//! `oxvm run --image`: programs run from an ext2 image on the block stack.
//! The oracles are e2fsck (the file system the guest leaves is clean) and
//! the guest's own view across runs (writes persist in the overlay, never
//! in the image; acknowledged fsyncs survive a SIGKILL of the runner).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::image::{fsck, materialize, rootfs_image};
use common::Scratch;

fn scratch(tag: &str) -> Scratch {
    let d = common::image::dir().join(format!("{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Scratch(d)
}

fn oxvm(image: &Path, overlay: Option<&Path>, script: &str) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_oxvm"));
    common::chroot::env(&mut c);
    c.arg("run").arg("--image").arg(image);
    match overlay {
        Some(o) => c.arg("--overlay").arg(o),
        None => c.arg("--ephemeral"),
    };
    c.args(["--", "/bin/bash", "-c", script]).stdin(Stdio::null());
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn writes_persist_in_the_overlay_and_never_in_the_image() {
    let Some(image) = rootfs_image() else { return };
    let s = scratch("persist");
    let overlay = s.0.join("overlay");
    let before = std::fs::metadata(&image).unwrap().modified().unwrap();
    let o = oxvm(&image, Some(&overlay), "echo kept > /root/note && mkdir -p /srv/a/b && ln -s note /root/link && rm /etc/motd && echo ok");
    assert_eq!(text(&o.stdout), "ok\n", "{}", text(&o.stderr));
    let o = oxvm(&image, Some(&overlay), "cat /root/link; ls /srv/a; test -e /etc/motd || echo motd gone; grep ' / ' /proc/mounts");
    assert_eq!(text(&o.stdout), "kept\nb\nmotd gone\n/dev/vda1 / ext2 rw,relatime 0 0\n", "{}", text(&o.stderr));
    // The ephemeral overlay forgets; the image itself was never written.
    let o = oxvm(&image, None, "echo gone > /root/note2; cat /root/note2");
    assert_eq!(text(&o.stdout), "gone\n");
    let o = oxvm(&image, None, "test -e /root/note2 || echo absent; test -e /root/note || echo base untouched");
    assert_eq!(text(&o.stdout), "absent\nbase untouched\n");
    assert_eq!(std::fs::metadata(&image).unwrap().modified().unwrap(), before, "the base image was written");
    let flat = s.0.join("flat.img");
    materialize(&image, &overlay, &flat);
    fsck(&flat).unwrap();
}

/// Unpack a source tree, build it with make and gcc, delete it: the file
/// system left behind is clean.
#[test]
fn a_write_heavy_workload_leaves_a_clean_file_system() {
    let Some(image) = rootfs_image() else { return };
    let s = scratch("heavy");
    let overlay = s.0.join("overlay");
    let script = r#"
set -e
mkdir -p /root/src && cd /root/src
for i in $(seq 1 12); do
  printf '#include <stdio.h>\nint f%d(int x) { return x * %d; }\n' $i $i > f$i.c
done
printf 'int main(void) { return 0; }\n' > main.c
printf 'OBJS = $(patsubst %%.c,%%.o,$(wildcard *.c))\nprog: $(OBJS)\n\tgcc -o $@ $(OBJS)\n%%.o: %%.c\n\tgcc -O1 -c $<\n' > Makefile
cd /root && tar czf src.tgz src && rm -rf src
mkdir build && tar xzf src.tgz -C build && cd build/src
make -s >/dev/null
./prog && echo built
cp -a /usr/lib/python3.11/json /root/copy
find /root/copy -type f | wc -l
dd if=/dev/urandom of=/root/big bs=1M count=24 status=none
truncate -s 3G /root/sparse && echo tail >> /root/sparse
rm -rf /root/build /root/copy /root/big
sync
echo done
"#;
    let o = oxvm(&image, Some(&overlay), script);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).contains("built\n") && text(&o.stdout).ends_with("done\n"), "{}", text(&o.stdout));
    let flat = s.0.join("flat.img");
    materialize(&image, &overlay, &flat);
    if let Err(e) = fsck(&flat) {
        panic!("e2fsck after the workload:\n{e}");
    }
    let o = oxvm(&image, Some(&overlay), "ls /root; tail -c 5 /root/sparse; stat -c %s /root/sparse");
    assert_eq!(text(&o.stdout), "sparse\nsrc.tgz\ntail\n3221225477\n", "{}", text(&o.stderr));
}

/// Kill the runner (SIGKILL) at many points of a write workload: every
/// file whose fsync was acknowledged is there, whole, and e2fsck finds the
/// file system clean.
#[test]
fn a_killed_runner_keeps_every_acknowledged_write() {
    let Some(image) = rootfs_image() else { return };
    let s = scratch("crash");
    let overlay = s.0.join("overlay");
    // Each step writes a file of known content, fsyncs it with dd's
    // conv=fsync, and reports it; in between, unsynced churn.
    let script = r#"
mkdir -p /root/w
n=$(ls /root/w | wc -l)
while true; do
  n=$((n + 1))
  head -c $((n * 997 % 50000 + 1)) /dev/zero | tr '\0' "$(printf \\$(printf %o $((65 + n % 26))))" > /root/w/tmp
  dd if=/root/w/tmp of=/root/w/f$n conv=fsync status=none
  rm /root/w/tmp
  echo "acked $n"
  mkdir -p /root/churn/$n && echo x > /root/churn/$n/y && rm -rf /root/churn/$((n - 3))
done
"#;
    let mut rng = 0x9e3779b97f4a7c15u64;
    let mut acked_total = 0;
    for round in 0..8 {
        let mut c = Command::new(env!("CARGO_BIN_EXE_oxvm"));
        common::chroot::env(&mut c);
        c.arg("run").arg("--image").arg(&image).arg("--overlay").arg(&overlay).args(["--", "/bin/bash", "-c", script]);
        let mut child = c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(1500 + rng % 2500));
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        let acked: Vec<u64> = text(&out.stdout).lines().filter_map(|l| l.strip_prefix("acked ")?.parse().ok()).collect();
        acked_total += acked.len();
        // The next start sees every acknowledged file with its content
        // (and frees what was unlinked but open when the runner died).
        let check = acked
            .iter()
            .map(|n| {
                format!(
                    "f={}; test $(stat -c %s /root/w/f{n}) = {} && tr -d {} < /root/w/f{n} | wc -c | grep -qx 0 || echo bad f{n}\n",
                    n,
                    n * 997 % 50000 + 1,
                    (b'A' + (n % 26) as u8) as char
                )
            })
            .collect::<String>();
        let o = oxvm(&image, Some(&overlay), &format!("{check}echo checked"));
        assert_eq!(text(&o.stdout), "checked\n", "round {round}: {}", text(&o.stderr));
        let flat = s.0.join("flat.img");
        materialize(&image, &overlay, &flat);
        if let Err(e) = fsck(&flat) {
            panic!("round {round}: e2fsck after SIGKILL and a restart:\n{e}");
        }
        std::fs::remove_file(&flat).unwrap();
    }
    assert!(acked_total >= 8, "the workload made too little progress to test anything ({acked_total} acks)");
}

#[test]
fn bad_images_and_manifests_are_refused_cleanly() {
    let s = scratch("bad");
    let garbage = s.0.join("garbage.img");
    std::fs::write(&garbage, vec![0x5au8; 1 << 20]).unwrap();
    let run = |source: &Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_oxvm"))
            .arg("run")
            .arg("--image")
            .arg(source)
            .args(["--ephemeral", "--", "/bin/true"])
            .output()
            .unwrap();
        (o.status.code(), text(&o.stderr))
    };
    let (code, err) = run(&garbage);
    assert_eq!(code, Some(2));
    assert!(err.contains("not a usable ext2 image"), "{err}");
    let (code, err) = run(&s.0.join("missing.img"));
    assert_eq!(code, Some(2));
    assert!(err.contains("missing.img"), "{err}");
    let manifest = s.0.join("manifest.json");
    std::fs::write(&manifest, b"{\"version\": 99}").unwrap();
    let (code, err) = run(&manifest);
    assert_eq!(code, Some(2));
    assert!(!err.contains("panicked"), "{err}");
    // A chunk that fails its hash: the guest sees an I/O error, oxvm stays up.
    let Some(image) = rootfs_image() else { return };
    let store = s.0.join("store");
    common::image::publish(&image, &store);
    let m: PathBuf = store.join("manifest.json");
    let chunks = store.join("chunks");
    let victim = std::fs::read_dir(&chunks).ok().and_then(|mut d| d.next()).map(|e| e.unwrap().path());
    let victim = victim.unwrap_or_else(|| std::fs::read_dir(&store).unwrap().map(|e| e.unwrap().path()).find(|p| p != &m).unwrap());
    std::fs::write(&victim, b"not the chunk").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_oxvm"))
        .env("XDG_CACHE_HOME", s.0.join("cache"))
        .arg("run")
        .arg("--image")
        .arg(&m)
        .args(["--ephemeral", "--", "/bin/sh", "-c", "cat /usr/bin/* /usr/lib/x86_64-linux-gnu/* > /dev/null 2>&1; echo exit $?"])
        .output()
        .unwrap();
    assert!(!text(&o.stderr).contains("panicked"), "{}", text(&o.stderr));
}
