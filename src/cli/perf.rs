//! `dualprop perf` (to be written).

/// Arguments of `dualprop perf`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> crate::Result<i32> {
    Err(crate::Error::Unsupported(
        "`dualprop perf` is not written yet".into(),
    ))
}
