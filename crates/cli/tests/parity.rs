//! CPython-parity differentials: Python programs under `tests/parity/`
//! (CPU-time clock ids, pidfds, pipe atomicity, signal handlers changed
//! while another thread raises) run natively, in private mount and PID
//! namespaces with /proc like the guest's, and under `oxvm run`; stdout,
//! stderr and the status must be identical.

mod common;

use std::path::Path;
use std::process::Command;

use common::chroot::{env, rootfs, run, status};

/// Run `parity/<name>.py` with the chroot's python3 both ways.
fn same_py(name: &str) {
    let Some(root) = rootfs() else { return };
    if !common::chroot::can_make_native_system(&root) {
        eprintln!("skipping: the native side needs mount and PID namespaces");
        return;
    }
    let script = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity").join(format!("{name}.py"))).unwrap();
    let side = |oxvm: bool| {
        let mut cmd = if oxvm {
            let mut c = Command::new(env!("CARGO_BIN_EXE_oxvm"));
            c.arg("run").arg("--root").arg(&root).arg("--");
            c
        } else {
            common::chroot::native_system(&root)
        };
        env(&mut cmd);
        cmd.args(["/usr/bin/python3", "-c", &script]);
        run(cmd, b"")
    };
    let (native, guest) = (side(false), side(true));
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert_eq!(text(&guest.stdout), text(&native.stdout), "{name}: stdout differs (oxvm stderr: {})", text(&guest.stderr));
    assert_eq!(text(&guest.stderr), text(&native.stderr), "{name}: stderr differs");
    assert_eq!(status(&guest), status(&native), "{name}: exit status differs");
    assert!(!native.stdout.is_empty(), "{name}: printed nothing");
}

#[test]
fn cpu_clock_ids() {
    same_py("cpuclock");
}

#[test]
fn pidfd_send_signal_and_waitid() {
    same_py("pidfd");
}

#[test]
fn pipe_slots_atomicity_and_writability() {
    same_py("pipes");
}

#[test]
fn handlers_changed_while_another_thread_raises() {
    same_py("sighandlers");
}
