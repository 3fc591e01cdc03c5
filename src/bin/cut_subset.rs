//! Regenerates the embedded MNIST subset (data/mnist-subset) from the full MNIST, byte for byte.
//! Usage: `cargo run --release --bin cut_subset -- --data ../shared/data/mnist --out data/mnist-subset`

use clap::Parser;

/// Cut the deterministic class-balanced MNIST subset that the binary embeds.
#[derive(Debug, Parser)]
struct Args {
    /// Directory holding the full MNIST IDX files (gzip or raw).
    #[arg(long)]
    data: std::path::PathBuf,
    /// Output directory.
    #[arg(long, default_value = "data/mnist-subset")]
    out: std::path::PathBuf,
}

fn main() {
    let args = Args::parse();
    match dualprop::experiments::data::subset::write_subset(&args.data, &args.out) {
        Ok(files) => {
            for (path, size) in files {
                println!("{size:>9} bytes  {path}");
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
