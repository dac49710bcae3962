//! `verdict doctor`.

use std::process::ExitCode;

/// Arguments of `verdict doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {}

/// Runs `verdict doctor`.
pub fn run(_args: DoctorArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`verdict doctor` is not built yet")
}
