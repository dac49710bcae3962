//! `verdict firewall install|remove|show|plan`: Verdict's own queue rules without the daemon
//! (to review them, to run them from a service manager, or to clean up after a crash).
//!
//! The rules come from the same configuration as `verdict run` (`-c FILE`, else the built-in
//! default) through `cmd_run::queue_plan`, and are installed by
//! `verdict_netfilter::firewall`, including the kernel SYN-ACK guard.

use std::path::PathBuf;
use std::process::ExitCode;

use verdict_netfilter::exec::Exec;
use verdict_netfilter::firewall::{Backend, Firewall, GuardContext, IptTable};
use verdict_netfilter::kernel::KernelRelease;

use crate::config::Config;

/// Arguments of `verdict firewall`.
#[derive(Debug, clap::Args)]
pub struct FirewallArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Install (or replace) Verdict's queue rules and leave them in place.
    Install(InstallArgs),
    /// Remove every rule Verdict installed (all backends unless --backend is given).
    Remove(CommonArgs),
    /// Print Verdict's rules currently installed.
    Show(CommonArgs),
    /// Print the rules `install` would add, without touching the firewall.
    Plan(PlanArgs),
}

#[derive(Debug, clap::Args)]
struct CommonArgs {
    /// Backend: auto, iptables-nft, iptables-legacy, nft.
    #[arg(long, default_value = "auto", value_parser = parse_backend)]
    backend: Backend,
    /// The iptables table Verdict's chains live in.
    #[arg(long, default_value = "filter", value_parser = parse_table)]
    table: IptTable,
    /// Act inside this named network namespace (`ip netns`).
    #[arg(long, value_name = "NAME")]
    netns: Option<String>,
}

#[derive(Debug, clap::Args)]
struct InstallArgs {
    /// Configuration file (as for `verdict run`); without it the built-in default.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Backend (overrides `firewall_backend` of the configuration).
    #[arg(long, value_parser = parse_backend)]
    backend: Option<Backend>,
    /// Treat the kernel as affected by the SYN-ACK bug (747670fd9a2d) whatever its version says.
    #[arg(long)]
    assume_affected: bool,
    /// Act inside this named network namespace (`ip netns`).
    #[arg(long, value_name = "NAME")]
    netns: Option<String>,
    /// Print the install report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// Configuration file (as for `verdict run`); without it the built-in default.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Judge this kernel release instead of the running one.
    #[arg(long, value_name = "RELEASE")]
    kernel: Option<String>,
    /// Treat the kernel as affected by the SYN-ACK bug whatever its version says.
    #[arg(long)]
    assume_affected: bool,
    /// Print nft syntax instead of iptables-restore syntax.
    #[arg(long)]
    nft: bool,
}

fn parse_backend(s: &str) -> Result<Backend, String> {
    match s {
        "auto" => Ok(Backend::Auto),
        "iptables-nft" => Ok(Backend::IptablesNft),
        "iptables-legacy" => Ok(Backend::IptablesLegacy),
        "nft" => Ok(Backend::Nft),
        _ => Err(format!(
            "unknown backend `{s}`; use auto, iptables-nft, iptables-legacy or nft"
        )),
    }
}

fn parse_table(s: &str) -> Result<IptTable, String> {
    match s {
        "filter" => Ok(IptTable::Filter),
        "mangle" => Ok(IptTable::Mangle),
        _ => Err(format!("unknown table `{s}`; use filter or mangle")),
    }
}

fn exec_for(netns: &Option<String>) -> Exec {
    match netns {
        Some(n) => Exec::in_netns(n.clone()),
        None => Exec::host(),
    }
}

fn load_config(path: &Option<PathBuf>) -> anyhow::Result<Config> {
    Ok(match path {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    })
}

/// `writeln!` into a `String` (cannot fail).
macro_rules! outln {
    ($out:ident, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

/// `write!` into a `String` (cannot fail).
macro_rules! outp {
    ($out:ident, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = write!($out, $($arg)*);
    }};
}

/// Runs `verdict firewall`.
pub fn run(args: FirewallArgs) -> anyhow::Result<ExitCode> {
    let mut out = String::new();
    let code = run_action(args.action, &mut out);
    // Print what was gathered even when a later step failed.
    emit(&out)?;
    code
}

fn run_action(action: Action, out: &mut String) -> anyhow::Result<ExitCode> {
    match action {
        Action::Install(a) => {
            let cfg = load_config(&a.config)?;
            let plan = crate::cmd_run::queue_plan(&cfg)?;
            let backend = a.backend.unwrap_or(cfg.firewall_backend);
            let ctx = GuardContext::detect(a.assume_affected);
            let fw = Firewall::with_exec(backend, exec_for(&a.netns));
            let installed = fw.install(&plan, &ctx)?;
            let report = installed.disarm();
            if a.json {
                outln!(out, "{}", serde_json::to_string_pretty(&report)?);
            } else {
                for n in &report.notes {
                    outln!(out, "{n}");
                }
                outln!(
                    out,
                    "installed with {}; remove with `verdict firewall remove`",
                    report.backend.name()
                );
                outp!(
                    out,
                    "{}",
                    Firewall::with_exec(report.backend, exec_for(&a.netns)).show(plan.table)?
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::Remove(a) => {
            let fw = Firewall::with_exec(a.backend, exec_for(&a.netns));
            if fw.remove(a.table)? {
                outln!(out, "removed Verdict's firewall rules");
            } else {
                outln!(out, "no Verdict firewall rules were installed");
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::Show(a) => {
            let fw = Firewall::with_exec(a.backend, exec_for(&a.netns));
            let s = fw.show(a.table)?;
            if s.is_empty() {
                outln!(out, "no Verdict firewall rules are installed");
            } else {
                outp!(out, "{s}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::Plan(a) => {
            let cfg = load_config(&a.config)?;
            let plan = crate::cmd_run::queue_plan(&cfg)?;
            let ctx = match &a.kernel {
                Some(k) => GuardContext::for_kernel(&KernelRelease::parse(k)?, a.assume_affected),
                None => GuardContext::detect(a.assume_affected),
            };
            let r = plan.render(&ctx)?;
            for n in &r.notes {
                outln!(out, "# {n}");
            }
            if a.nft {
                outp!(out, "{}", r.nft_table());
            } else {
                use verdict_netfilter::firewall::Family;
                for (fam, tool) in [(Family::V4, "iptables"), (Family::V6, "ip6tables")] {
                    let on = match fam {
                        Family::V4 => r.families.ipv4,
                        Family::V6 => r.families.ipv6,
                    };
                    if !on || r.chains.is_empty() {
                        continue;
                    }
                    outln!(out, "# {tool}-restore --noflush");
                    outln!(out, "*{}", r.table.name());
                    for c in &r.chains {
                        outln!(out, ":{} - [0:0]", c.hook.chain());
                    }
                    for c in &r.chains {
                        outln!(out, "-I {} 1 -j {}", c.hook.builtin(), c.hook.chain());
                    }
                    for (_, l) in r.iptables_rules(fam) {
                        outln!(out, "{l}");
                    }
                    outln!(out, "COMMIT");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
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
