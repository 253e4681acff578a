//! `oxvm image`: building, publishing and inspecting root file system
//! images. The work is in the `oxvm-image` and `oxvm-block` crates; this is
//! the command line.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use oxvm_block::{BlockDevice, Compression, FileDevice};

#[derive(Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    command: ImageCommand,
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Build an ext2 image from a directory or a tar archive (plain, .gz or
    /// .zst), keeping modes and ownership, without root or loop devices.
    #[command(alias = "pack")]
    Build(BuildArgs),
    /// Publish an image as compressed, content-addressed chunks plus a
    /// manifest (manifest.json), for any static web host.
    Publish(PublishArgs),
    /// List a directory inside an image, as `ls -l` (numeric owners).
    Ls(LookArgs),
    /// Write a file inside an image to stdout.
    Cat(LookArgs),
    /// Copy a tree out of an image into a new host directory.
    Unpack(UnpackArgs),
    /// Write DIR/index.json describing the tree under DIR (files,
    /// directories, symlinks), to serve DIR as a web directory
    /// (`oxvm run --web-dir GUEST_PATH=URL`).
    Index(IndexArgs),
}

#[derive(Args)]
struct IndexArgs {
    /// The directory to describe.
    dir: PathBuf,
}

#[derive(Args)]
struct BuildArgs {
    /// A directory, or a tar archive such as `docker export` or
    /// `debootstrap --make-tarball` writes.
    #[arg(long, value_name = "DIR|TAR")]
    from: PathBuf,
    /// The image file to write (replaced only once the new one is complete).
    #[arg(long, value_name = "IMAGE")]
    out: PathBuf,
    /// Image size (suffixes K, M, G), or `auto`: the contents plus a quarter,
    /// and at least 256 MiB free.
    #[arg(long, default_value = "auto", value_parser = parse_image_size)]
    size: ImageSize,
    /// Keep the tar's file owners (uid/gid); otherwise everything from a tar
    /// belongs to root. A directory's owners are always kept.
    #[arg(long)]
    owner_from_tar: bool,
    /// Volume label (up to 16 bytes).
    #[arg(long, default_value = "oxvm-root")]
    label: String,
}

#[derive(Clone, Copy)]
enum ImageSize {
    Auto,
    Bytes(u64),
}

fn parse_image_size(s: &str) -> Result<ImageSize, String> {
    if s == "auto" {
        return Ok(ImageSize::Auto);
    }
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let shift = match unit {
        "" => 0,
        "K" | "k" => 10,
        "M" | "m" => 20,
        "G" | "g" => 30,
        _ => return Err(format!("unknown unit {unit:?} (use K, M or G, or auto)")),
    };
    let n: u64 = digits.parse().map_err(|_| format!("{s:?} is not a size"))?;
    let bytes = n.checked_mul(1 << shift).ok_or_else(|| format!("{s} is too large"))?;
    // ext2 with 32-bit block numbers and 4 KiB blocks stops at 16 TiB.
    if !(1 << 20..=16 << 40).contains(&bytes) {
        return Err(format!("{s}: an image is from 1M to 16T"));
    }
    Ok(ImageSize::Bytes(bytes))
}

#[derive(Args)]
struct LookArgs {
    /// An image file, its http(s) URL, or a chunk store's manifest.
    image: String,
    /// A path inside the image.
    #[arg(default_value = "/")]
    path: String,
}

#[derive(Args)]
struct UnpackArgs {
    /// An image file, its http(s) URL, or a chunk store's manifest.
    image: String,
    /// The host directory to create.
    #[arg(long)]
    out: PathBuf,
    /// The tree inside the image to copy.
    #[arg(long, default_value = "/")]
    path: String,
}

#[derive(Args)]
struct PublishArgs {
    /// The image file to publish.
    image: PathBuf,
    /// The output directory (created if needed; chunks already there are reused).
    #[arg(long)]
    out: PathBuf,
    /// Chunk size: a power of two from 4K to 16M (suffixes K and M).
    #[arg(long, default_value = "128K", value_parser = parse_chunk_size)]
    chunk: u64,
    /// How chunk files are compressed.
    #[arg(long, value_enum, default_value_t = CompressArg::Zstd)]
    compress: CompressArg,
    /// List in the manifest, for clients to fetch in one batch at start,
    /// the chunks holding these byte ranges (a file written by `oxvm run
    /// --image ... --record-reads FILE` while starting the image's command).
    #[arg(long, value_name = "FILE")]
    prefetch_from: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum CompressArg {
    Zstd,
    None,
}

fn parse_chunk_size(s: &str) -> Result<u64, String> {
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let shift = match unit {
        "" => 0,
        "K" | "k" | "KiB" => 10,
        "M" | "m" | "MiB" => 20,
        _ => return Err(format!("unknown unit {unit:?} (use K or M)")),
    };
    let n: u64 = digits.parse().map_err(|_| format!("{s:?} is not a size"))?;
    let bytes = n.checked_mul(1 << shift).ok_or_else(|| format!("{s} is too large"))?;
    if !bytes.is_power_of_two() || !(4096..=16 << 20).contains(&bytes) {
        return Err(format!("{s} is not a power of two from 4K to 16M"));
    }
    Ok(bytes)
}

pub fn run(args: ImageArgs) -> i32 {
    match args.command {
        ImageCommand::Build(b) => build_cmd(b),
        ImageCommand::Publish(p) => publish_cmd(p),
        ImageCommand::Ls(l) => look(&l.image, |fs| oxvm_image::inspect::list(fs, l.path.as_bytes(), &mut std::io::stdout().lock())),
        ImageCommand::Cat(c) => look(&c.image, |fs| oxvm_image::inspect::cat(fs, c.path.as_bytes(), &mut std::io::stdout().lock())),
        ImageCommand::Index(i) => crate::webdir::index_cmd(&i.dir),
        ImageCommand::Unpack(u) => look(&u.image, |fs| {
            let s = oxvm_image::inspect::unpack(fs, u.path.as_bytes(), &u.out)?;
            println!(
                "unpacked {} files ({} bytes), {} directories, {} symlinks into {}{}",
                s.files,
                s.bytes,
                s.dirs,
                s.links,
                u.out.display(),
                if s.skipped_specials > 0 {
                    format!(" ({} device nodes, FIFOs or sockets skipped: not root)", s.skipped_specials)
                } else {
                    String::new()
                }
            );
            Ok(())
        }),
    }
}

fn build_cmd(b: BuildArgs) -> i32 {
    if !b.from.exists() {
        eprintln!("oxvm image build: --from {}: no such file or directory", b.from.display());
        return 2;
    }
    if b.label.len() > 16 {
        eprintln!("oxvm image build: --label is at most 16 bytes");
        return 2;
    }
    let src = oxvm_image::ext2_sink::Source::from_path(&b.from, b.owner_from_tar);
    let size = match b.size {
        ImageSize::Auto => None,
        ImageSize::Bytes(n) => Some(n),
    };
    let start = std::time::Instant::now();
    match oxvm_image::ext2_sink::build(&src, &b.out, size, b.label.as_bytes()) {
        Ok(r) => {
            let s = r.stats;
            println!(
                "built {} ({} bytes): {} files ({} bytes), {} directories, {} symlinks, {} hard links, {} special files in {:.1} s",
                b.out.display(),
                r.size,
                s.files,
                s.bytes,
                s.dirs,
                s.symlinks,
                s.hardlinks,
                s.specials,
                start.elapsed().as_secs_f64()
            );
            0
        }
        Err(e) => {
            eprintln!("oxvm image build: {e}");
            1
        }
    }
}

/// Open an image read-only (any source `oxvm run --image` takes) and look
/// inside it.
fn look(source: &str, f: impl FnOnce(&mut oxvm_ext2::Ext2<Box<dyn BlockDevice>>) -> Result<(), Box<dyn std::error::Error>>) -> i32 {
    let opts = oxvm_block::ImageOptions { overlay: oxvm_block::OverlayMode::ReadOnly, ..Default::default() };
    let opened = match oxvm_block::open_image(source, &opts) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("oxvm image: {source}: {e}");
            return 2;
        }
    };
    let dev: Box<dyn BlockDevice> = opened.device;
    let mut fs = match oxvm_ext2::Ext2::open(dev) {
        Ok(fs) => fs,
        Err(e) => {
            eprintln!("oxvm image: {source}: not a usable ext2 image: {e}");
            return 2;
        }
    };
    match f(&mut fs) {
        Ok(()) => 0,
        Err(e) => {
            // A closed pipe (`| head`) is not an error worth a message.
            if e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) {
                return 0;
            }
            eprintln!("oxvm image: {e}");
            1
        }
    }
}

fn publish_cmd(p: PublishArgs) -> i32 {
    let mut image = match FileDevice::open_read_only(&p.image) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("oxvm image publish: {}: {e}", p.image.display());
            return 2;
        }
    };
    let compression = match p.compress {
        CompressArg::Zstd => Compression::Zstd,
        CompressArg::None => Compression::None,
    };
    let boot = match &p.prefetch_from {
        None => Vec::new(),
        Some(f) => match std::fs::read_to_string(f).map_err(|e| e.to_string()).and_then(|t| oxvm_block::record::parse_reads(&t)) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("oxvm image publish: --prefetch-from {}: {e}", f.display());
                return 2;
            }
        },
    };
    let size = image.size();
    match oxvm_block::publish_with_prefetch(&mut image, &p.out, p.chunk, compression, &boot) {
        Ok(r) => {
            println!(
                "published {} ({size} bytes) as {} chunks of {} bytes: {} files written ({} bytes), {} shared, {} zero, {} to prefetch; manifest {}",
                p.image.display(),
                r.manifest.chunks.len(),
                p.chunk,
                r.files_written,
                r.bytes_written,
                r.chunks_shared,
                r.zero_chunks,
                r.manifest.prefetch.len(),
                p.out.join("manifest.json").display()
            );
            0
        }
        Err(e) => {
            eprintln!("oxvm image publish: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_chunk_size;

    #[test]
    fn chunk_sizes() {
        assert_eq!(parse_chunk_size("128K"), Ok(131072));
        assert_eq!(parse_chunk_size("1M"), Ok(1 << 20));
        assert_eq!(parse_chunk_size("4096"), Ok(4096));
        for bad in ["100K", "2K", "32M", "K", "12Q", "", "99999999999999999999M"] {
            assert!(parse_chunk_size(bad).is_err(), "{bad}");
        }
    }
}
