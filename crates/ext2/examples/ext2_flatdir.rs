//! Creation and lookup cost in one large flat directory (linear ext2
//! directories make both O(entries)). `cargo run --release -p oxvm-ext2 --example ext2_flatdir -- N`

use std::time::Instant;

use oxvm_block::MemDevice;
use oxvm_ext2::*;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let n: u32 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(20_000);
    let mut fs = Ext2::format(MemDevice::new(256 << 20), &FormatOptions { inodes: Some(n + 100), ..Default::default() })?;
    let root = fs.root();
    let t = Instant::now();
    for i in 0..n {
        fs.create(root, format!("some-file-name-{i}").as_bytes(), S_IFREG | 0o644, 0, 0, 0)?;
    }
    println!("{n} creates in one directory: {:?}", t.elapsed());
    let t = Instant::now();
    for i in 0..n {
        fs.lookup(root, format!("some-file-name-{i}").as_bytes())?;
    }
    println!("{n} lookups: {:?}", t.elapsed());
    Ok(())
}
