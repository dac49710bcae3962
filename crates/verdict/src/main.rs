//! `verdict`: the command-line front end of the Verdict inline packet inspection engine.
//!
//! Each subcommand lives in its own module (`cmd_*.rs`) with its `clap` arguments and a
//! `run` function; this file only parses the command line, sets up logging and dispatches.
//! The binary holds no detection logic: that lives in the library crates.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod caps;
mod cmd_config;
mod cmd_demo;
mod cmd_doctor;
mod cmd_firewall;
mod cmd_pcap;
mod cmd_rules;
mod cmd_run;
mod cmd_triage;
mod config;
mod ctmark;
mod eve;
mod eve_app;
mod live;
mod metrics;
mod ruleload;
mod runtime;
mod signals;
mod stats;
mod suricata_yaml;

/// Verdict: inline packet inspection for Linux through NFQUEUE.
#[derive(Debug, Parser)]
#[command(name = "verdict", version, about, propagate_version = true)]
struct Cli {
    /// Log filter (tracing's EnvFilter syntax), e.g. `info` or `verdict=debug`.
    #[arg(long, global = true, env = "VERDICT_LOG", default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run inline: bind NFQUEUE, install firewall rules, inspect and give verdicts.
    Run(cmd_run::RunArgs),
    /// Inspect a pcap/pcapng file offline with Suricata rules and write EVE JSON.
    Pcap(cmd_pcap::PcapArgs),
    /// Work with rule files (`verdict rules check FILE...`).
    Rules(cmd_rules::RulesArgs),
    /// Print configuration help (`verdict config example`).
    Config(cmd_config::ConfigArgs),
    /// Build a throwaway client/gateway/server in network namespaces and show Verdict blocking an attack.
    Demo(cmd_demo::DemoArgs),
    /// Audit this host (kernel, NFQUEUE rules, queues) for known nf_queue kernel bugs and mistakes.
    Doctor(cmd_doctor::DoctorArgs),
    /// Match a kernel oops/panic log against crash signatures of known nf_queue bugs.
    Triage(cmd_triage::TriageArgs),
    /// Install, remove or show Verdict's own firewall rules without running the daemon.
    Firewall(cmd_firewall::FirewallArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log);
    if !matches!(cli.command, Command::Run(_) | Command::Demo(_)) {
        // A report piped into `head` ends quietly, as other command-line tools do, instead
        // of a panic in `println!`. The daemon and the demo keep Rust's default (SIGPIPE
        // ignored, EPIPE returned): a closed metrics client must not kill them.
        restore_sigpipe();
    }
    let result = match cli.command {
        Command::Run(a) => cmd_run::run(a),
        Command::Pcap(a) => cmd_pcap::run(a),
        Command::Rules(a) => cmd_rules::run(a),
        Command::Config(a) => cmd_config::run(a),
        Command::Demo(a) => cmd_demo::run(a),
        Command::Doctor(a) => cmd_doctor::run(a),
        Command::Triage(a) => cmd_triage::run(a),
        Command::Firewall(a) => cmd_firewall::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("verdict: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Restores the default SIGPIPE disposition (terminate) that Rust's runtime sets to ignore.
fn restore_sigpipe() {
    // SAFETY: signal(2) with SIG_DFL installs no handler code; it only changes this
    // process's disposition for SIGPIPE, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn init_logging(filter: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
