//! `dualprop train` (to be written).

/// Arguments of `dualprop train`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> crate::Result<i32> {
    Err(crate::Error::Unsupported(
        "`dualprop train` is not written yet".into(),
    ))
}
