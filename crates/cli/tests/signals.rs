//! Signal delivery against native Linux: tests/c/signals.c, built
//! static with gcc into a scratch directory, runs natively and under
//! `oxvm run`; stdout, stderr and the exit status must match.

mod common;

#[test]
fn handlers_frames_and_interruptions_match_native() {
    let Some((_dir, exe)) = common::build_c("signals", &[]) else { return };
    common::assert_same_as_native(&exe, "sigchld: got 17 status 3");
}
