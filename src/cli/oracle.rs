//! `dualprop oracle` and `dualprop verify` (to be written).

/// Arguments of `dualprop oracle`.
#[derive(Debug, clap::Args)]
pub struct OracleArgs {}

/// Arguments of `dualprop verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {}

pub fn run_oracle(_args: OracleArgs) -> crate::Result<i32> {
    Err(crate::Error::Unsupported(
        "`dualprop oracle` is not written yet".into(),
    ))
}

pub fn run_verify(_args: VerifyArgs) -> crate::Result<i32> {
    Err(crate::Error::Unsupported(
        "`dualprop verify` is not written yet".into(),
    ))
}
