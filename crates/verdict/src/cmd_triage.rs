//! `verdict triage`.

use std::process::ExitCode;

/// Arguments of `verdict triage`.
#[derive(Debug, clap::Args)]
pub struct TriageArgs {}

/// Runs `verdict triage`.
pub fn run(_args: TriageArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`verdict triage` is not built yet")
}
