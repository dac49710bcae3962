//! `verdict firewall`.

use std::process::ExitCode;

/// Arguments of `verdict firewall`.
#[derive(Debug, clap::Args)]
pub struct FirewallArgs {}

/// Runs `verdict firewall`.
pub fn run(_args: FirewallArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`verdict firewall` is not built yet")
}
