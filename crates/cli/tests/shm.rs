//! Memory shared between processes against native Linux: tests/c/shm.c
//! (vfork/clone(CLONE_VM) children writing their parent's memory,
//! posix_spawn failures, MAP_SHARED anonymous and file mappings across
//! processes), built static, natively and under `oxvm run`, identical.

mod common;

#[test]
fn shared_memory_matches_native() {
    let Some((_dir, exe)) = common::build_c("shm", &["-pthread"]) else { return };
    common::assert_same_as_native(&exe, "vfork: child wrote 42");
}
