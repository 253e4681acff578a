//! The I/O the library asks of its device: open reads only the superblock
//! and descriptor table; data goes in large runs; multi-run reads and
//! directory scans are announced with `prefetch` first (one round trip on a
//! network device instead of one per block).

use std::ops::Range;

use oxvm_block::{BlockDevice, MemDevice, Result};
use oxvm_ext2::*;

/// A memory device that logs every call.
#[derive(Default)]
struct Log {
    reads: Vec<(u64, usize)>,
    writes: Vec<(u64, usize)>,
    prefetches: Vec<Vec<Range<u64>>>,
}

struct Logged {
    inner: MemDevice,
    log: Log,
}

impl BlockDevice for Logged {
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.log.reads.push((offset, buf.len()));
        self.inner.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        self.log.writes.push((offset, data.len()));
        self.inner.write_at(offset, data)
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    fn prefetch(&mut self, ranges: &[Range<u64>]) {
        self.log.prefetches.push(ranges.to_vec());
    }
}

fn reopen(fs: Ext2<Logged>) -> Ext2<Logged> {
    let mut dev = fs.into_device().unwrap();
    dev.log = Log::default();
    Ext2::open(dev).unwrap()
}

#[test]
fn open_reads_only_the_superblock_and_descriptors() {
    let dev = Logged { inner: MemDevice::new(256 << 20), log: Log::default() };
    let fs = Ext2::format(dev, &FormatOptions::default()).unwrap();
    let fs = reopen(fs);
    let bytes: usize = fs.device().log.reads.iter().map(|r| r.1).sum();
    assert!(bytes <= 1024 + 4096, "open read {bytes} bytes: {:?}", fs.device().log.reads);
}

#[test]
fn sequential_data_goes_in_large_runs_and_reads_are_prefetched() {
    let dev = Logged { inner: MemDevice::new(256 << 20), log: Log::default() };
    let mut fs = Ext2::format(dev, &FormatOptions::default()).unwrap();
    let root = fs.root();
    let a = fs.create(root, b"a", S_IFREG | 0o644, 0, 0, 0).unwrap();
    let b = fs.create(root, b"b", S_IFREG | 0o644, 0, 0, 0).unwrap();
    let mut fs = reopen(fs);
    // Interleaved 1 MiB appends to two files: each file is a few long runs.
    let chunk = vec![1u8; 1 << 20];
    for i in 0..16u64 {
        fs.write(a, i << 20, &chunk).unwrap();
        fs.write(b, i << 20, &chunk).unwrap();
    }
    let big_writes = fs.device().log.writes.iter().filter(|w| w.1 >= 512 << 10).count();
    assert!(big_writes >= 30, "data was not written in large runs: {:?}", &fs.device().log.writes[..10]);
    let mut fs = reopen(fs);
    let mut buf = vec![0u8; 16 << 20];
    assert_eq!(fs.read(a, 0, &mut buf).unwrap(), 16 << 20);
    assert!(buf.iter().all(|&x| x == 1));
    let log = &fs.device().log;
    let data_reads = log.reads.iter().filter(|r| r.1 > 4096).count();
    assert!(data_reads <= 40, "{data_reads} data reads for 16 MiB");
    // The runs were announced together before being read.
    assert!(log.prefetches.iter().any(|p| p.iter().map(|r| r.end - r.start).sum::<u64>() >= 15 << 20), "{:?}", log.prefetches);
}

#[test]
fn directory_scans_are_prefetched() {
    let dev = Logged { inner: MemDevice::new(64 << 20), log: Log::default() };
    let mut fs = Ext2::format(dev, &FormatOptions::default()).unwrap();
    let root = fs.root();
    let d = fs.mkdir(root, b"d", 0o755, 0, 0).unwrap();
    for i in 0..2000 {
        fs.create(d, format!("a-fairly-long-file-name-{i}").as_bytes(), S_IFREG | 0o644, 0, 0, 0).unwrap();
    }
    let mut fs = reopen(fs);
    fs.lookup(d, b"a-fairly-long-file-name-1999").unwrap();
    let log = &fs.device().log;
    let announced: u64 = log.prefetches.iter().flatten().map(|r| r.end - r.start).sum();
    assert!(announced >= 10 * 4096, "directory blocks were not announced: {:?}", log.prefetches);
}

/// The kernel keeps the file system in its (Send) state.
#[test]
fn ext2_is_send() {
    fn send<T: Send>() {}
    send::<Ext2<MemDevice>>();
    send::<Ext2<Box<dyn BlockDevice + Send>>>();
}

#[test]
fn whole_files_and_inode_tables_can_be_announced() {
    let dev = Logged { inner: MemDevice::new(64 << 20), log: Log::default() };
    let mut fs = Ext2::format(dev, &FormatOptions::default()).unwrap();
    let root = fs.root();
    let f = fs.create(root, b"exe", S_IFREG | 0o755, 0, 0, 0).unwrap();
    fs.write(f, 0, &vec![1u8; 3 << 20]).unwrap();
    fs.write(f, 10 << 20, b"after a hole").unwrap();
    let mut inos = Vec::new();
    for i in 0..300 {
        inos.push(fs.create(root, format!("f{i}").as_bytes(), S_IFREG | 0o644, 0, 0, 0).unwrap());
    }
    let mut fs = reopen(fs);
    fs.prefetch_file(f, 0..u64::MAX).unwrap();
    let announced: u64 = fs.device().log.prefetches.iter().flatten().map(|r| r.end - r.start).sum();
    // 3 MiB of data, one block after the hole, and nothing for the hole.
    assert_eq!(announced, (3 << 20) + 4096, "{:?}", fs.device().log.prefetches);
    assert!(fs.device().log.prefetches[0].len() <= 3, "the file is not in a few runs");
    let mut fs = reopen(fs);
    fs.prefetch_inodes(&inos).unwrap();
    let p = &fs.device().log.prefetches;
    assert_eq!(p.len(), 1);
    // Inodes 13..=312 of 256 bytes: inode-table blocks 0..=19, in one range.
    assert_eq!(p[0].iter().map(|r| r.end - r.start).sum::<u64>(), 20 * 4096, "{p:?}");
}
