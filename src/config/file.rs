//! `bootstrap.toml`: found or named, read (bounded), and parsed into [`Inputs`]. Unknown
//! keys and wrong types are errors that name the line.

use std::path::{Path, PathBuf};

use super::keys::{self, did_you_mean};
use super::settings::{Inputs, Source};
use crate::bounded::{self, ReadError};
use crate::error::{Error, Result};

/// A configuration file that was read: where from, and what it holds.
#[derive(Debug)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub inputs: Inputs,
    /// Its top-level keys (`role` when it has `[[role]]` tables).
    pub keys: Vec<String>,
}

impl ConfigFile {
    /// Where the settings came from, when they came from this file (or from the flags alone).
    pub fn source(file: Option<&ConfigFile>) -> Source {
        Source {
            file: file.map(|f| (f.path.clone(), f.keys.clone())),
        }
    }
}

/// The file named by `--config`, or `./bootstrap.toml` when it exists (`None` otherwise).
pub fn load_file(explicit: Option<&Path>) -> Result<Option<ConfigFile>> {
    let (path, required) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => (Path::new(".").join("bootstrap.toml"), false),
    };
    let text = match bounded::read_text_file(&path, bounded::CONFIG_FILE_MAX) {
        Ok(t) => t,
        Err(ReadError::Io(e)) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None)
        }
        Err(e) => {
            return Err(
                Error::usage(format!("cannot read config file {}: {e}", path.display()))
                    .hint("pass a bootstrap.toml of at most 1 MiB with --config FILE"),
            )
        }
    };
    let inputs = parse(&text).map_err(|(e, hint)| {
        Error::usage(format!("config file {}: {e}", path.display())).hint(hint.unwrap_or_else(
            || {
                "keys are the long flag names without dashes in front, e.g. role-name = \"deploy\""
                    .to_string()
            },
        ))
    })?;
    let keys = text
        .parse::<toml::Table>()
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    Ok(Some(ConfigFile { path, inputs, keys }))
}

/// Parse the text of a config file. Unknown keys and wrong types are errors.
pub fn parse_file(text: &str) -> std::result::Result<Inputs, String> {
    parse(text).map_err(|(message, _)| message)
}

/// The message of a file that cannot be used, and a hint when a better one than the general
/// one is known.
type Refusal = (String, Option<String>);

/// [`parse_file`], with the hint: an unknown key names the closest known one, and a setting
/// that TOML put into a `tags` table (written after the table's header) is refused.
fn parse(text: &str) -> std::result::Result<Inputs, Refusal> {
    let inputs = toml_inputs(text).map_err(|e| (did_you_mean(&e), None))?;
    keys::settings_in_tags(text, &inputs)?;
    Ok(inputs)
}

fn toml_inputs(text: &str) -> std::result::Result<Inputs, String> {
    toml::from_str::<Inputs>(text).map_err(|e| {
        // toml's messages span several lines with a source excerpt; keep the first sentence.
        let msg = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        match e.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].lines().count().max(1);
                format!("line {line}: {msg}")
            }
            None => msg,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_refused() {
        let err = parse_file("role-nam = \"x\"\n").unwrap_err();
        assert!(err.contains("unknown key `role-nam`"), "{err}");
        assert!(err.contains("did you mean `role-name`?"), "{err}");
        assert!(!err.contains("`state-bucket`"), "{err}");
        assert!(err.starts_with("line 1:"), "{err}");
    }

    #[test]
    fn wrong_type_is_refused() {
        let err = parse_file("max-session-duration = \"long\"").unwrap_err();
        assert!(err.contains("invalid type"), "{err}");
    }
}
