//! `verdict config`.

use std::process::ExitCode;

/// Arguments of `verdict config`.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {}

/// Runs `verdict config`.
pub fn run(_args: ConfigArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`verdict config` is not built yet")
}
