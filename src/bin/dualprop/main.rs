//! The `dualprop` command line: one thin module per subcommand, each delegating to the library. It lives in the
//! binary, not the library, so the library's public API is the library's alone.

use clap::{Parser, Subcommand};

mod oracle;
mod perf;
mod reproduce;
mod train;

/// dualprop: reference, kernels, experiments and oracle for dual propagation.
#[derive(Debug, Parser)]
#[command(name = "dualprop", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train one network (MNIST or the embedded subset) with a DP variant or back-propagation.
    Train(train::Args),
    /// Reproduce the paper's Table 1, Figure 1 or Figure 2.
    Reproduce(reproduce::Args),
    /// Compute states, gradients and KKT residuals for a case in a safetensors file.
    Oracle(oracle::OracleArgs),
    /// Check another implementation's output tensors against the oracle.
    Verify(oracle::VerifyArgs),
    /// Measure the kernels and write docs/performance.md.
    Perf(perf::Args),
}

/// Runs the parsed command; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let result = match cli.command {
        Command::Train(a) => train::run(a),
        Command::Reproduce(a) => reproduce::run(a),
        Command::Oracle(a) => oracle::run_oracle(a),
        Command::Verify(a) => oracle::run_verify(a),
        Command::Perf(a) => perf::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

fn main() {
    std::process::exit(run(Cli::parse()));
}
