//! `oxvm image`: building and publishing root file system images.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use oxvm_block::{publish, BlockDevice, Compression, FileDevice};

#[derive(Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    command: ImageCommand,
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Publish an image as compressed, content-addressed chunks plus a
    /// manifest (manifest.json), for any static web host.
    Publish(PublishArgs),
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
        ImageCommand::Publish(p) => publish_cmd(p),
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
    let size = image.size();
    match publish(&mut image, &p.out, p.chunk, compression) {
        Ok(r) => {
            println!(
                "published {} ({size} bytes) as {} chunks of {} bytes: {} files written ({} bytes), {} shared, {} zero; manifest {}",
                p.image.display(),
                r.manifest.chunks.len(),
                p.chunk,
                r.files_written,
                r.bytes_written,
                r.chunks_shared,
                r.zero_chunks,
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
