//! `verdict doctor`: audit this host (or a saved ruleset) for known nf_queue kernel bugs and
//! queueing mistakes. All the logic lives in `verdict_netfilter::audit`; this module reads the
//! inputs and prints.
//!
//! Exit codes, for monitoring checks: 0 nothing worse than info, 1 warnings (an affected
//! kernel, a queue without a listener, overruns), 2 dangerous (a queue rule that can queue
//! locally generated SYN-ACKs on a kernel that can crash from it); errors also exit 2.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use verdict_netfilter::audit::{self, AuditInput};
use verdict_netfilter::exec::Exec;
use verdict_netfilter::kernel::KernelRelease;

/// Arguments of `verdict doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Audit a saved ruleset (iptables-save or `nft list ruleset` output, auto-detected;
    /// repeatable) instead of the live firewall. Listener/overrun checks are skipped.
    #[arg(long, value_name = "FILE")]
    ruleset: Vec<PathBuf>,
    /// Judge this kernel release instead of the running one (e.g. `4.18.0-305.3.1.el8.x86_64`).
    #[arg(long, value_name = "RELEASE")]
    kernel: Option<String>,
    /// Treat the kernel as affected by the SYN-ACK bug (747670fd9a2d) whatever its version
    /// says (kernels with backported or reverted patches).
    #[arg(long)]
    assume_affected: bool,
    /// Audit inside this named network namespace (`ip netns`) instead of the current one.
    #[arg(long, value_name = "NAME")]
    netns: Option<String>,
}

/// Runs `verdict doctor`.
pub fn run(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let exec = match &args.netns {
        Some(n) => Exec::in_netns(n.clone()),
        None => Exec::host(),
    };
    let mut input = if args.ruleset.is_empty() {
        audit::collect_live(&exec)
    } else {
        let mut input = AuditInput::default();
        for path in &args.ruleset {
            let text = if path.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
                    .context("reading the ruleset from stdin")?
            } else {
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading ruleset {}", path.display()))?
            };
            input.rulesets.push(audit::read_ruleset_file(path, &text)?);
        }
        input
    };
    input.kernel = match &args.kernel {
        Some(k) => Some(KernelRelease::parse(k)?),
        None => match KernelRelease::running() {
            Ok(k) => Some(k),
            Err(e) => {
                input
                    .notes
                    .push(format!("cannot read the running kernel's release: {e}"));
                None
            }
        },
    };
    input.assume_affected = args.assume_affected;
    let report = audit::audit(&input);
    if args.json {
        emit(&(serde_json::to_string_pretty(&report)? + "\n"))?;
    } else {
        emit(&report.render_human())?;
    }
    Ok(ExitCode::from(report.exit_code()))
}

/// Writes to stdout; a closed pipe (`verdict ... | head`) is not an error.
fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
