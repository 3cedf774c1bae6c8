//! Everything the user sees: data on stdout (text, or one JSON document with `--output json`),
//! progress and warnings on stderr, the one confirmation prompt, and the single place errors
//! are printed.
//!
//! A command returns a typed result that implements [`Report`]: it serializes to the JSON
//! document and renders itself as text, so the two can never disagree.

pub mod destroy;
pub mod destroy_stack;
mod discover;
pub mod files;
mod init;
mod next_steps;
mod operator_policy;
pub mod pipeline;
mod plan;
mod prompt;
pub mod render;
pub mod stack;
pub mod stack_status;
pub mod stack_text;
pub mod stackset;
pub mod state_keys;
mod status;
mod thumbprint;
mod values;
mod verdicts;
pub mod verify;

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{json, Value};

use crate::config::{ColorChoice, OutputFormat};
use crate::error::Error;

pub use discover::DiscoverReport;
pub use init::{DirectInitBody, InitOutputs, InitReport};
pub use next_steps::{NextSteps, RoleArn, Variables};
pub use operator_policy::OperatorPolicyReport;
pub(crate) use plan::names_text;
pub use plan::{plan_text, summary_line, DirectPlanBody, PlanReport, PlanSummary};
pub use status::{DirectStatusBody, StatusReport};
pub use thumbprint::{ThumbprintCheck, ThumbprintReport};
pub use verdicts::verdict_text;

/// A command's typed result: serialized, it is the `--output json` document; rendered, the
/// text people read on stdout.
pub trait Report: Serialize {
    /// The text for people. `paint` colors it when stdout is a terminal that wants color.
    fn text(&self, paint: Paint) -> String;

    /// The process exit code for a result that is not an error (`plan --detailed-exitcode`
    /// exits 2 when there are changes).
    fn exit_code(&self) -> i32 {
        0
    }
}

/// Colors for text on stdout: on only for a terminal that wants them (`--color`, `NO_COLOR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paint(bool);

impl Paint {
    /// No color at all (for text written to files or compared in tests).
    pub const NONE: Paint = Paint(false);

    pub fn paint(self, color: &str, text: &str) -> String {
        paint(self.0, color, text)
    }
}

/// A command's result: the JSON document and its text rendering, and the exit code
/// (non-zero for results that are not errors, e.g. `plan --detailed-exitcode`).
#[derive(Debug, Clone)]
pub struct Output {
    pub json: Value,
    pub text: String,
    pub exit_code: i32,
}

impl Output {
    pub fn new(json: Value, text: String) -> Output {
        Output {
            json,
            text,
            exit_code: 0,
        }
    }

    /// The output of a typed result: its JSON document, its text and its exit code.
    pub fn of<R: Report>(result: &R, reporter: &Reporter) -> Output {
        let json = serde_json::to_value(result).unwrap_or_else(|e| {
            json!({ "error": { "message": format!("internal error: the result cannot be serialized: {e}") } })
        });
        Output {
            json,
            text: result.text(reporter.painter()),
            exit_code: result.exit_code(),
        }
    }
}

pub struct Reporter {
    pub format: OutputFormat,
    pub color: bool,
    err_color: bool,
    quiet: bool,
    verbose: u8,
    warnings: Mutex<Vec<String>>,
}

/// Whether to color a stream, honouring `--color` and `NO_COLOR`.
fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

impl Reporter {
    pub fn new(format: OutputFormat, color: ColorChoice, quiet: bool, verbose: u8) -> Reporter {
        Reporter {
            format,
            color: format == OutputFormat::Text
                && use_color(color, std::io::stdout().is_terminal()),
            err_color: use_color(color, std::io::stderr().is_terminal()),
            quiet,
            verbose,
            warnings: Mutex::new(Vec::new()),
        }
    }

    pub fn verbose(&self) -> bool {
        self.verbose > 0 && !self.quiet
    }

    /// A progress line on stderr (silenced by `-q`).
    pub fn progress(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{}", msg.as_ref());
        }
    }

    /// Detail shown with `-v`.
    pub fn debug(&self, msg: impl AsRef<str>) {
        if self.verbose > 0 && !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "  {}", msg.as_ref());
        }
    }

    /// A warning: on stderr even with `-q`, and in the JSON document under `warnings`.
    pub fn warn(&self, msg: impl Into<String>) {
        let msg = msg.into();
        let label = paint(self.err_color, YELLOW, "warning:");
        let _ = writeln!(std::io::stderr().lock(), "{label} {msg}");
        if let Ok(mut w) = self.warnings.lock() {
            if !w.contains(&msg) {
                w.push(msg);
            }
        }
    }

    /// Print a command's result on stdout.
    pub fn emit(&self, output: &Output) {
        let mut out = std::io::stdout().lock();
        match self.format {
            OutputFormat::Json => {
                let mut doc = output.json.clone();
                if let (Value::Object(map), Ok(w)) = (&mut doc, self.warnings.lock()) {
                    if !w.is_empty() && !map.contains_key("warnings") {
                        map.insert("warnings".into(), json!(*w));
                    }
                }
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&doc).unwrap_or_default()
                );
            }
            OutputFormat::Text => {
                let _ = write!(out, "{}", output.text);
                if !output.text.is_empty() && !output.text.ends_with('\n') {
                    let _ = writeln!(out);
                }
            }
        }
    }

    /// The single error path: one line on stderr, or one JSON document on stdout.
    pub fn emit_error(&self, err: &Error) {
        emit_error(self.format, self.err_color, err);
    }

    pub fn paint(&self, color: &str, text: &str) -> String {
        paint(self.color, color, text)
    }

    /// Colors for stdout text.
    pub fn painter(&self) -> Paint {
        Paint(self.color)
    }

    /// Whether results go out as text (not `--output json`).
    pub fn is_text(&self) -> bool {
        self.format == OutputFormat::Text
    }
}

/// Print an error (also used before a `Reporter` exists, e.g. for flag-parsing errors).
pub fn emit_error(format: OutputFormat, err_color: bool, err: &Error) {
    match format {
        OutputFormat::Json => {
            let doc = json!({ "error": err, "exit_code": err.exit_code() });
            let _ = writeln!(
                std::io::stdout().lock(),
                "{}",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            );
        }
        OutputFormat::Text => {
            let label = paint(err_color, RED, "error:");
            // One line, whatever a message from a library contains.
            let line = err
                .to_string()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let _ = writeln!(std::io::stderr().lock(), "{label} {line}");
        }
    }
}

pub const RED: &str = "31";
pub const GREEN: &str = "32";
pub const YELLOW: &str = "33";
pub const BOLD: &str = "1";
pub const DIM: &str = "2";

pub fn paint(enabled: bool, color: &str, text: &str) -> String {
    if enabled {
        format!("\x1b[{color}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

impl crate::progress::Progress for Reporter {
    fn progress(&self, msg: &str) {
        Reporter::progress(self, msg);
    }

    fn warn(&self, msg: String) {
        Reporter::warn(self, msg);
    }
}
