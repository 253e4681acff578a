//! `oxvm`: run Linux x86-64 programs (and, later, build images and serve
//! the browser build).

mod host;
mod image;
mod run;
mod serve;
mod terminal;
mod webdir;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "oxvm", version, about = "A Linux x86-64 user-mode VM", propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an x86-64 Linux program (static or dynamically linked, or a #! script).
    Run(run::RunArgs),
    /// Serve the web app and disk images over HTTP (ranges, caching, cross-origin isolation).
    Serve(serve::ServeArgs),
    /// Build and publish root file system images.
    Image(image::ImageArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Serve(args) => serve::serve(args),
        Command::Image(args) => image::run(args),
    };
    std::process::exit(code);
}
