//! A rough throughput check of the image-builder path: format an image file,
//! write one big file sequentially and many small files, sync, then read
//! everything back. `cargo run --release -p oxvm-ext2 --example ext2_bench -- IMAGE [MiB]`

use std::time::Instant;

use oxvm_block::FileDevice;
use oxvm_ext2::*;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = std::path::PathBuf::from(args.get(1).ok_or("usage: ext2_bench IMAGE [MiB]")?);
    let mib: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1024);
    let t = Instant::now();
    let mut fs = Ext2::format(FileDevice::create(&path, mib << 20)?, &FormatOptions::default())?;
    println!("format {mib} MiB: {:?}", t.elapsed());
    let root = fs.root();
    let chunk = vec![0x5au8; 1 << 20];
    let big = fs.create(root, b"big", S_IFREG | 0o644, 0, 0, 0)?;
    let t = Instant::now();
    let big_mib = mib / 2;
    for i in 0..big_mib {
        fs.write(big, i << 20, &chunk)?;
    }
    println!("sequential write {big_mib} MiB: {:?}", t.elapsed());
    let t = Instant::now();
    let d = fs.mkdir(root, b"small", 0o755, 0, 0)?;
    let mut dirs = vec![d];
    for i in 0..20_000u32 {
        if i % 500 == 0 {
            let sub = fs.mkdir(d, format!("d{i}").as_bytes(), 0o755, 0, 0)?;
            dirs.push(sub);
        }
        let parent = *dirs.last().unwrap();
        let f = fs.create(parent, format!("file-{i}").as_bytes(), S_IFREG | 0o644, 0, 0, 0)?;
        fs.write(f, 0, &chunk[..(i as usize * 97) % 12_000])?;
    }
    println!("20000 small files: {:?}", t.elapsed());
    let t = Instant::now();
    fs.sync()?;
    println!("sync: {:?}", t.elapsed());
    let t = Instant::now();
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0;
    loop {
        let n = fs.read(big, off, &mut buf)?;
        if n == 0 {
            break;
        }
        off += n as u64;
    }
    println!("sequential read {} MiB: {:?}", off >> 20, t.elapsed());
    println!("statfs: {:?}", fs.statfs());
    Ok(())
}
