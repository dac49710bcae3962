//! `verdict triage FILE`: match a kernel oops/panic log, `vmcore-dmesg.txt` or `crash`'s `bt`
//! output against the crash signatures of known nf_queue bugs (`verdict_netfilter::triage`).
//!
//! Exit codes: 0 a known bug matched, 1 no known signature, 2 error.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Arguments of `verdict triage`.
#[derive(Debug, clap::Args)]
pub struct TriageArgs {
    /// The log to read (`-` for stdin).
    file: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `verdict triage`.
pub fn run(args: TriageArgs) -> anyhow::Result<ExitCode> {
    let bytes = if args.file.as_os_str() == "-" {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut v).context("reading stdin")?;
        v
    } else {
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?
    };
    // Logs may hold stray non-UTF-8 bytes (serial consoles); keep the rest.
    let text = String::from_utf8_lossy(&bytes);
    let t = verdict_netfilter::triage::triage(&text);
    if args.json {
        emit(&(serde_json::to_string_pretty(&t)? + "\n"))?;
    } else {
        emit(&t.render_human())?;
    }
    Ok(if t.best().is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
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
