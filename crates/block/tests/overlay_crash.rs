//! Crash consistency of the persistent overlay, with real process kills.
//!
//! The test (a plain `main`, harness = false, so the child's output is not
//! the test harness's business) re-runs its own executable as a writer
//! (selected by an environment variable) that commits deterministic transactions to an
//! overlay on disk and prints `acked N` after each `flush` returns. The
//! parent SIGKILLs it at a random moment, reopens the overlay, and checks
//! that the device equals exactly the state after transaction `N` or `N+1`
//! (the one possibly flushed but not yet reported): every acknowledged
//! transaction is there and no transaction is there in part. The next
//! writer continues on the recovered overlay, so recovery of a recovered
//! log is exercised too, and compaction runs often enough to be killed.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oxvm_block::{BlockDevice, FsStore, MemDevice, Overlay, OverlayOptions, Result, Store, StoreFile};

const SIZE: usize = 2 << 20;
const CHILD_ENV: &str = "OXVM_OVERLAY_CRASH_WRITER";
const NOSYNC_ENV: &str = "OXVM_OVERLAY_CRASH_NOSYNC";
const SLOW_ENV: &str = "OXVM_OVERLAY_CRASH_SLOW_WRITES";

/// A store whose `sync` does nothing. A process kill leaves the page cache
/// intact, so this changes no outcome, but with fsync gone the kills land
/// spread over the writing and computing, not mostly inside fsync.
struct NoSync(FsStore);
struct NoSyncFile(Box<dyn StoreFile>);

impl Store for NoSync {
    fn open(&self, name: &str, create: bool) -> Result<Option<Box<dyn StoreFile>>> {
        Ok(self.0.open(name, create)?.map(|f| Box::new(NoSyncFile(f)) as Box<dyn StoreFile>))
    }
    fn list(&self) -> Result<Vec<String>> {
        self.0.list()
    }
    fn remove(&self, name: &str) -> Result<()> {
        self.0.remove(name)
    }
}

impl StoreFile for NoSyncFile {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.0.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        self.0.write_at(offset, data)
    }
    fn len(&self) -> Result<u64> {
        self.0.len()
    }
    fn set_len(&mut self, len: u64) -> Result<()> {
        self.0.set_len(len)
    }
    fn sync(&mut self) -> Result<()> {
        Ok(())
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn base() -> MemDevice {
    MemDevice::from_bytes((0..SIZE).map(|i| (i % 253) as u8).collect())
}

fn opts() -> OverlayOptions {
    // Small thresholds so that spills and compactions happen within the
    // short life of each writer.
    OverlayOptions { block_size: 4096, spill_bytes: 64 * 1024, compact_min_bytes: 1 << 20 }
}

/// Transaction `k`'s writes: a pure function of `k`, so the parent can
/// replay them on a model.
fn transaction(k: u64) -> Vec<(u64, Vec<u8>)> {
    let mut rng = Rng(k.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let writes = 1 + rng.below(8);
    (0..writes)
        .map(|i| {
            // Every fifth transaction is large, so it spills before commit.
            let max = if k.is_multiple_of(5) { 150_000 } else { 9000 };
            let len = 1 + rng.below(max) as usize;
            let off = rng.below((SIZE - len) as u64);
            let tag = (k as u8).wrapping_mul(31).wrapping_add(i as u8);
            (off, (0..len).map(|j| tag ^ (j as u8)).collect())
        })
        .collect()
}

fn apply(dev: &mut dyn BlockDevice, k: u64) {
    for (off, data) in transaction(k) {
        dev.write_at(off, &data).unwrap();
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    match std::env::var(CHILD_ENV) {
        Ok(dir) => writer(dir),
        Err(_) => sigkill_at_random_points_leaves_a_flush_point_state(),
    }
}

/// The writer: started by the parent with the environment set.
fn writer(dir: String) {
    let start: u64 = std::env::var("OXVM_OVERLAY_CRASH_START").unwrap().parse().unwrap();
    let store = FsStore::new(&PathBuf::from(dir)).unwrap();
    let store: Box<dyn Store> = if std::env::var_os(NOSYNC_ENV).is_some() { Box::new(NoSync(store)) } else { Box::new(store) };
    let mut o = Overlay::open(base(), store, opts()).unwrap();
    println!("ready");
    let slow = std::env::var_os(SLOW_ENV).is_some();
    for k in start.. {
        for (off, data) in transaction(k) {
            o.write_at(off, &data).unwrap();
            if slow {
                // Widens the window inside a transaction (spilled,
                // uncommitted records on disk) so kills land there too.
                std::thread::sleep(Duration::from_micros(300));
            }
        }
        o.flush().unwrap();
        println!("acked {k}");
    }
}

fn sigkill_at_random_points_leaves_a_flush_point_state() {
    let dir = std::env::temp_dir().join(format!("oxvm-overlay-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let iterations = 90;
    let mut rng = Rng(0x0dd_c0ffee);
    let mut model = base(); // the state after transaction `done`
    let mut done = 0u64;
    let (mut acked_total, mut exact_next, mut exact_last, mut mid_compaction) = (0u64, 0, 0, 0);
    let started = Instant::now();
    for iteration in 0..iterations {
        let mut command = Command::new(std::env::current_exe().unwrap());
        // A third of the writers sync, a third don't (see NoSync), a third
        // don't and pause inside transactions.
        if iteration % 3 >= 1 {
            command.env(NOSYNC_ENV, "1");
        }
        if iteration % 3 == 2 {
            command.env(SLOW_ENV, "1");
        }
        let mut child = command
            .env(CHILD_ENV, &dir)
            .env("OXVM_OVERLAY_CRASH_START", (done + 1).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Wait until the writer has opened the overlay, then let it run a
        // random while before the kill.
        for line in lines.by_ref() {
            if line.unwrap() == "ready" {
                break;
            }
        }
        std::thread::sleep(Duration::from_micros(rng.below(60_000)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let mut last = done;
        for line in lines {
            if let Some(n) = line.unwrap().strip_prefix("acked ") {
                last = n.parse().unwrap();
            }
        }
        if std::fs::read_dir(&dir).unwrap().count() > 1 {
            mid_compaction += 1;
        }
        acked_total += last - done;
        for k in done + 1..=last {
            apply(&mut model, k);
        }
        let store = FsStore::new(&dir).unwrap();
        let mut o = Overlay::open(base(), Box::new(store), opts()).unwrap();
        let mut got = vec![0u8; SIZE];
        o.read_at(0, &mut got).unwrap();
        if got == model.bytes() {
            done = last;
            exact_last += 1;
        } else {
            apply(&mut model, last + 1);
            assert!(
                got == model.bytes(),
                "iteration {iteration}: after acked transaction {last} the overlay is neither state {last} nor {}",
                last + 1
            );
            done = last + 1;
            exact_next += 1;
        }
        drop(o);
    }
    std::fs::remove_dir_all(&dir).unwrap();
    eprintln!(
        "{iterations} kills in {:?}: {acked_total} acked transactions, {done} survived, \
         {exact_last} recovered the last reported flush, {exact_next} the flush after it (killed between a flush's \
         commit write and its report), {mid_compaction} kills during a compaction",
        started.elapsed()
    );
    assert!(done >= iterations as u64 / 3, "the writers should commit work between kills");
    println!("test overlay_crash ... ok");
}
