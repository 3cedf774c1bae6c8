//! `bootstrap`: set up an AWS account for Bitbucket Pipelines OpenID Connect.
//!
//! The modules follow the flow of one run: `config` (flags, file, environment -> Settings),
//! `oidc` (discovery, JWKS, thumbprints), `model` (the desired state and its policy
//! documents), `observe` (live AWS state), `plan` (the difference), `apply` (make it so) and
//! `report` (what the user sees). `cli` holds the clap types and `commands` ties the steps
//! together for each subcommand, picking the deployment mode once. Under them all sit the
//! leaves: `iam` (the policy interpreter), `jwt` (tokens), `aws` (clients, error
//! classification, retry), `progress`, `error` and `bounded`. [`run`] is the whole program:
//! parse, settle the settings, dispatch, print. docs/architecture.md has the picture.

pub mod apply;
pub mod aws;
pub mod bitbucket;
pub mod bounded;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod iam;
pub mod jwt;
pub mod model;
pub mod observe;
pub mod oidc;
pub mod plan;
pub mod progress;
pub mod report;
pub mod verify;

use std::ffi::OsString;
use std::io::Write;

use clap::Parser;

use crate::config::{OutputFormat, Settings};
use crate::error::{Error, Kind};
use crate::report::Reporter;

/// Run the command line and return the process exit code. Never panics outward: a bug is
/// reported as one line and exit 1.
pub fn run(args: Vec<OsString>) -> i32 {
    let format = fallback_format(&args);
    match std::panic::catch_unwind(move || run_inner(args)) {
        Ok(code) => code,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let err = Error::failure(format!("internal error: {what}"))
                .hint("this is a bug in bootstrap; please report it with the command you ran");
            report::emit_error(format, false, &err);
            1
        }
    }
}

/// JSON when `--output json` (or `--output=json`) is anywhere on the line, for errors found
/// before the flags are fully parsed.
fn fallback_format(args: &[OsString]) -> OutputFormat {
    let json = args
        .windows(2)
        .any(|w| w[0] == "--output" && w[1] == "json")
        || args.iter().any(|a| a == "--output=json");
    if json {
        OutputFormat::Json
    } else {
        OutputFormat::Text
    }
}

/// Say on stderr which configuration file is in use (even with `-q`: a file picked up from
/// the working directory changes what the run does), and return its inputs.
fn announce_config(file: Option<config::ConfigFile>) -> config::Inputs {
    match file {
        Some(f) => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "using configuration {}",
                f.path.display()
            );
            f.inputs
        }
        None => config::Inputs::default(),
    }
}

/// Parse the line, then run the command it names: the flow of one run.
fn run_inner(args: Vec<OsString>) -> i32 {
    // No panic message on stderr for the caught panics above: the error line says it all.
    std::panic::set_hook(Box::new(|_| {}));
    let fallback_format = fallback_format(&args);
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return clap_error(e, fallback_format),
    };
    if let Some(result) = cli::generated(&cli.command) {
        return print_generated(result, fallback_format);
    }
    let settings = match settings(&cli) {
        Ok(s) => s,
        Err(e) => {
            report::emit_error(fallback_format, false, &e);
            return e.exit_code();
        }
    };
    let reporter = Reporter::new(
        settings.output,
        settings.color,
        cli.global.quiet,
        cli.global.verbose,
    );
    // The runtime lives until the result is printed.
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            reporter.emit_error(&e);
            return e.exit_code();
        }
    };
    match runtime.block_on(commands::dispatch(cli.command, &settings, &reporter)) {
        Ok(output) => {
            reporter.emit(&output);
            output.exit_code
        }
        Err(err) => {
            reporter.emit_error(&err);
            err.exit_code()
        }
    }
}

/// Flags over `bootstrap.toml` (or `--config FILE`), validated into the run's settings.
fn settings(cli: &cli::Cli) -> Result<Settings, Error> {
    let flags = cli.inputs()?;
    let file = config::load_file(cli.global.config.as_deref())?;
    let source = config::ConfigFile::source(file.as_ref());
    let mut settings = Settings::from_inputs(announce_config(file).overlay(flags))?;
    settings.source = source;
    Ok(settings)
}

/// The async runtime the commands run on.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .map_err(|e| Error::failure(format!("cannot start the async runtime: {e}")))
}

/// A completion script or man page, printed as it is. A reader that stops early (`| head`)
/// is not an error.
fn print_generated(result: Result<Vec<u8>, Error>, format: OutputFormat) -> i32 {
    match result {
        Ok(bytes) => {
            let _ = std::io::stdout().lock().write_all(&bytes);
            0
        }
        Err(e) => {
            report::emit_error(format, false, &e);
            e.exit_code()
        }
    }
}

fn clap_error(e: clap::Error, format: OutputFormat) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            0
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            Kind::Usage.exit_code()
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ")
                .to_string();
            let tip = rendered
                .lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix("[possible values: ")
                        .map(|v| format!("accepted values: {}", v.trim_end_matches(']')))
                })
                .or_else(|| {
                    rendered
                        .lines()
                        .find_map(|l| l.trim().strip_prefix("tip: ").map(str::to_string))
                });
            let mut err = Error::usage(first);
            err = match tip {
                Some(tip) => err.hint(tip),
                None => err.hint("see `bootstrap --help`"),
            };
            report::emit_error(format, false, &err);
            err.exit_code()
        }
    }
}
