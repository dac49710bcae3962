//! `verdict config`: print the commented example configuration, check a configuration file,
//! or print the embedded default ruleset.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{Config, DEFAULT_RULES, EXAMPLE};

/// Arguments of `verdict config`.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ConfigCommand {
    /// Print a commented example configuration (every key, its default and meaning).
    Example,
    /// Check a configuration file and print the settings it results in.
    Check {
        /// The configuration file.
        file: PathBuf,
    },
    /// Print the ruleset embedded in the binary (used when no rule file is configured).
    DefaultRules,
}

/// Runs `verdict config`.
pub fn run(args: ConfigArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ConfigCommand::Example => print!("{EXAMPLE}"),
        ConfigCommand::DefaultRules => print!("{DEFAULT_RULES}"),
        ConfigCommand::Check { file } => match Config::load(&file) {
            Ok(cfg) => {
                println!("{}: ok", file.display());
                println!("{cfg:#?}");
            }
            Err(e) => {
                eprintln!("{e}");
                return Ok(ExitCode::from(1));
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}
