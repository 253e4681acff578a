//! Installing what the commands need, and running child processes.

use std::path::PathBuf;
use std::process::Command;

/// Print a step header.
pub fn step(what: &str) {
    eprintln!("\n==> {what}");
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask has a parent directory").to_path_buf()
}

/// `cargo` from the toolchain running xtask, in the workspace root.
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

pub fn run_checked(cmd: &mut Command) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", describe(cmd)))
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

pub fn have(program: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {program} >/dev/null 2>&1")]).status().map(|s| s.success()).unwrap_or(false)
}

/// Install rustup components that are missing.
pub fn ensure_rust_components(components: &[&str]) -> Result<(), String> {
    let probes = [("rustfmt", ["fmt", "--version"]), ("clippy", ["clippy", "--version"])];
    for comp in components {
        let probe = probes.iter().find(|(c, _)| c == comp).map(|(_, args)| *args);
        let present = probe.map(|args| cargo().args(args).output().map(|o| o.status.success()).unwrap_or(false)).unwrap_or(false);
        if !present {
            step(&format!("installing rustup component {comp}"));
            if !have("rustup") {
                return Err(format!("the Rust component `{comp}` is missing and rustup is not available to install it"));
            }
            run_checked(Command::new("rustup").args(["component", "add", comp]))?;
        }
    }
    Ok(())
}

/// Install Debian packages whose command is missing: (command, package).
pub fn ensure_debian_packages(needs: &[(&str, &str)]) -> Result<(), String> {
    let missing: Vec<&str> = needs.iter().filter(|(cmd, _)| !have(cmd)).map(|(_, pkg)| *pkg).collect();
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!("installing Debian packages: {}", missing.join(" ")));
    if !have("apt-get") {
        return Err(format!("missing programs; install the Debian packages {} (apt-get is not available here)", missing.join(" ")));
    }
    let root = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false);
    let mut prefix: Vec<&str> = Vec::new();
    if !root {
        if !have("sudo") {
            return Err(format!("missing programs; run as root: apt-get install -y {}", missing.join(" ")));
        }
        prefix.push("sudo");
    }
    let apt = |args: &[&str]| {
        let mut all = prefix.clone();
        all.extend_from_slice(args);
        let mut c = Command::new(all[0]);
        c.args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        run_checked(&mut c)
    };
    apt(&["apt-get", "update", "-q"])?;
    let mut install = vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"];
    install.extend(missing.iter().copied());
    apt(&install).map_err(|e| format!("{e}; install the Debian packages {} by hand", missing.join(" ")))
}

/// Install a rustup target (for example wasm32-unknown-unknown) if missing.
pub fn ensure_rust_target(target: &str) -> Result<(), String> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    match installed {
        Ok(o) if String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == target) => Ok(()),
        Ok(_) => {
            step(&format!("installing rustup target {target}"));
            run_checked(Command::new("rustup").args(["target", "add", target]))
        }
        Err(_) => Err(format!("the Rust target `{target}` is needed and rustup is not available to install it")),
    }
}
