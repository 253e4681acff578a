fn main() {
    eprintln!("oxvm: no subcommands yet");
    std::process::exit(2);
}
