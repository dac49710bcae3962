//! `verdict demo`.

use std::process::ExitCode;

/// Arguments of `verdict demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {}

/// Runs `verdict demo`.
pub fn run(_args: DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`verdict demo` is not built yet")
}
