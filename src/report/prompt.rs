//! The one confirmation prompt: show what is about to change, then ask on the terminal.
//! Without `--yes` and without a terminal, writes are refused.

use std::io::{BufRead, IsTerminal, Write};

use super::Reporter;
use crate::error::{Error, Result};

impl Reporter {
    /// Show `shown` (what the user is asked to confirm), then ask `question`. `hint` says
    /// how to confirm without a terminal (usually: review `plan`, then pass `--yes`).
    pub fn confirm(&self, yes: bool, shown: &str, question: &str, hint: &str) -> Result<()> {
        self.show_for_confirmation(yes, shown);
        ask(yes, question, hint)
    }

    /// Show what is about to change. Without `--yes` it goes to stderr where the prompt is,
    /// always (even with `-q`); with `--yes` it is progress (silenced by `-q`), and with
    /// `--output json` the document carries it instead.
    pub fn show_for_confirmation(&self, yes: bool, shown: &str) {
        if shown.is_empty() {
            return;
        }
        if !yes {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{shown}");
            if !shown.ends_with('\n') {
                let _ = writeln!(err);
            }
        } else if self.is_text() {
            self.progress(shown.trim_end_matches('\n'));
        }
    }
}

/// Ask on the terminal; refuse without one. Nothing is asked with `--yes`.
fn ask(yes: bool, question: &str, hint: &str) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Error::usage(
            "refusing to change AWS without confirmation, and there is no terminal to ask on",
        )
        .hint(hint.to_string()));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    // A terminal's answer is one short line: read no more than that.
    std::io::Read::take(std::io::stdin().lock(), 64)
        .read_line(&mut answer)
        .map_err(|e| Error::failure(format!("reading the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
        Ok(())
    } else {
        Err(Error::failure("cancelled; nothing was changed"))
    }
}
