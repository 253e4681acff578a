//! Programs that change a tree, against native Linux: the host's own
//! coreutils run natively and under `oxvm run` (root /) in two identical
//! scratch trees; output, status and the resulting trees must match.

use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn setup(dir: &Path) {
    std::fs::create_dir_all(dir.join("sub/deep")).unwrap();
    std::fs::write(dir.join("a.txt"), b"hello\nworld\n").unwrap();
    std::fs::write(dir.join("sub/deep/f"), b"x\n").unwrap();
    symlink("a.txt", dir.join("link")).unwrap();
}

/// Every entry below `dir`: path, type, mode, size, owner, link target.
fn listing(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let target = std::fs::read_link(&p).map(|t| t.display().to_string()).unwrap_or_default();
            let size = if m.is_dir() { 0 } else { m.len() };
            out.push(format!("{} {:o} {} {}:{} {}", p.strip_prefix(base).unwrap().display(), m.mode(), size, m.uid(), m.gid(), target));
            if m.is_dir() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn compare(args: &[&str]) {
    let which = Command::new("sh").arg("-c").arg(format!("command -v {}", args[0])).output().unwrap();
    if !which.status.success() {
        eprintln!("skipping {args:?}: not on this host");
        return;
    }
    let base = std::env::temp_dir().join(format!("oxvm-writes-{}-{}", std::process::id(), args.join("_").replace(['/', ' '], "_")));
    let _cleanup = Scratch(base.clone());
    let (n, g) = (base.join("native"), base.join("guest"));
    setup(&n);
    setup(&g);
    let env = |c: &mut Command| {
        c.env_clear().env("PATH", "/usr/bin:/bin").env("LANG", "C");
    };
    let mut native = Command::new(args[0]);
    env(&mut native);
    let native: Output = native.args(&args[1..]).current_dir(&n).output().unwrap();
    let mut guest = Command::new(env!("CARGO_BIN_EXE_oxvm"));
    env(&mut guest);
    let guest = guest.arg("run").arg("--cwd").arg(&g).arg("--").args(args).current_dir(&g).output().unwrap();
    let text = |b: &[u8], from: &Path| String::from_utf8_lossy(b).replace(&from.display().to_string(), "DIR");
    assert_eq!(text(&guest.stdout, &g), text(&native.stdout, &n), "{args:?}: stdout");
    assert_eq!(text(&guest.stderr, &g), text(&native.stderr, &n), "{args:?}: stderr");
    assert_eq!(guest.status.code(), native.status.code(), "{args:?}: status");
    assert_eq!(listing(&g), listing(&n), "{args:?}: resulting tree");
}

macro_rules! writes {
    ($($name:ident: [$($arg:expr),+];)*) => {$(
        #[test]
        fn $name() {
            compare(&[$($arg),+]);
        }
    )*};
}

writes! {
    cp_file: ["cp", "a.txt", "b.txt"];
    cp_recursive: ["cp", "-r", "sub", "sub2"];
    cp_archive: ["cp", "-a", "sub", "copy"];
    cp_into_dir: ["cp", "-a", "link", "a.txt", "sub/deep"];
    cp_symlink_itself: ["cp", "-P", "link", "l2"];
    mv_file: ["mv", "a.txt", "sub/deep/moved"];
    mv_dir: ["mv", "sub", "renamed"];
    rm_recursive: ["rm", "-r", "sub", "link"];
    rm_missing: ["rm", "nope"];
    rmdir_nonempty: ["rmdir", "sub"];
    mkdir_parents: ["mkdir", "-p", "-m", "750", "x/y/z"];
    ln_symbolic: ["ln", "-s", "sub/deep/f", "l3"];
    ln_hard: ["ln", "a.txt", "hard"];
    touch_new: ["touch", "-d", "2001-02-03 04:05:06", "new", "a.txt"];
    truncate_: ["truncate", "-s", "100", "a.txt"];
    chmod_recursive: ["chmod", "-R", "go-rwx", "sub"];
    chown_: ["chown", "-R", "12:34", "sub"];
    chown_link_itself: ["chown", "-h", "5:6", "link"];
    install_: ["install", "-m", "600", "a.txt", "sub/installed"];
    sort_output: ["sort", "-r", "-o", "sorted", "a.txt"];
    split_: ["split", "-l", "1", "a.txt", "part."];
    tar_create_and_list: ["tar", "-cvf", "t.tar", "sub", "a.txt"];
    dd_: ["dd", "if=a.txt", "of=copy", "bs=3", "status=none"];
    python_files: ["python3", "-c", "import os, shutil; shutil.copytree('sub', 'tree'); os.rename('tree/deep/f', 'tree/g'); os.symlink('g', 'tree/l'); print(sorted(os.listdir('tree')), os.readlink('tree/l'), os.path.getsize('tree/g'))"];
}
