//! Threads and processes against native Linux: tests/c/threads.c, built
//! static with gcc into a scratch directory, runs natively and under
//! `oxvm run`; stdout, stderr and the exit status must match.

mod common;

#[test]
fn pthreads_fork_and_wait_match_native() {
    let Some((_dir, exe)) = common::build_c("threads", &["-pthread"]) else { return };
    common::assert_same_as_native(&exe, "counter 80000 finished 4 sum 64");
}
