//! Advisory locks (flock, POSIX and OFD record locks) and FIFOs between
//! processes against native Linux: tests/c/locks.c runs natively and
//! under `oxvm run`; the output must be identical.

mod common;

#[test]
fn locks_and_fifos_match_native() {
    let Some((_dir, exe)) = common::build_c("locks", &[]) else { return };
    common::assert_same_as_native(&exe, "done");
}
