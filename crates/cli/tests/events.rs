//! Event descriptors (epoll, eventfd, timerfd, signalfd, inotify) and
//! signal waiting (sigtimedwait, sigqueue, real-time queueing) against
//! native Linux: tests/c/events.c natively and under `oxvm run`, and
//! Debian's python3 in the chroot and under `oxvm run --root`.

mod common;

#[test]
fn events_c_matches_native() {
    let Some((_dir, exe)) = common::build_c("events", &[]) else { return };
    common::assert_same_as_native(&exe, "events done");
}
