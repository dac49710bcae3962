//! `verdict run`.

use std::process::ExitCode;

/// Arguments of `verdict run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {}

/// Runs `verdict run`.
pub fn run(_args: RunArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`verdict run` is not built yet")
}
