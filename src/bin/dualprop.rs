use clap::Parser;

fn main() {
    std::process::exit(dualprop::cli::run(dualprop::cli::Cli::parse()));
}
