//! `verdict rules`.

use std::process::ExitCode;

/// Arguments of `verdict rules`.
#[derive(Debug, clap::Args)]
pub struct RulesArgs {}

/// Runs `verdict rules`.
pub fn run(_args: RulesArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`verdict rules` is not built yet")
}
