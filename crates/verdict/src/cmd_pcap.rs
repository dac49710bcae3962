//! `verdict pcap`.

use std::process::ExitCode;

/// Arguments of `verdict pcap`.
#[derive(Debug, clap::Args)]
pub struct PcapArgs {}

/// Runs `verdict pcap`.
pub fn run(_args: PcapArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`verdict pcap` is not built yet")
}
