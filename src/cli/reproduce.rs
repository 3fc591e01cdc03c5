//! `dualprop reproduce` (to be written).

/// Arguments of `dualprop reproduce`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> crate::Result<i32> {
    Err(crate::Error::Unsupported(
        "`dualprop reproduce` is not written yet".into(),
    ))
}
