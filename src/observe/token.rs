//! Reading the token `verify` judges (`--token`): a file or stdin, never the command line,
//! size-limited, and kept in a [`Secret`] from then on.

use std::io::IsTerminal;

use crate::bounded::{self, ReadError};
use crate::config::validate::shown;
use crate::error::{Error, Result};
use crate::jwt;

/// The raw token. Never formatted: `Debug` is redacted and there is no `Display`.
pub struct Secret(String);

impl Secret {
    /// The token itself, for `jwt::decode` and STS only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty (never, once read).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<token, {} bytes, redacted>", self.0.len())
    }
}

/// Whether a `--token` value looks like a token rather than a file name (so it is never
/// echoed in an error).
fn looks_like_token(arg: &str) -> bool {
    arg.starts_with("eyJ") || arg.len() > 200 || arg.matches('.').count() >= 2 && arg.len() > 60
}

const TOKEN_HINT: &str =
    "pass a file holding the value of $BITBUCKET_STEP_OIDC_TOKEN, or - to read it from stdin";

/// Read the token from file `arg`, or from stdin when it is `-`.
pub fn read_token(arg: &str) -> Result<Secret> {
    let cap = jwt::MAX_TOKEN_LEN as u64;
    let what;
    let read = if arg == "-" {
        what = "stdin".to_string();
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Err(Error::usage(
                "--token - reads the token from stdin, but stdin is a terminal",
            )
            .hint(
                "pipe it in, e.g. `bootstrap verify --token - < token.txt`, or pass a file name",
            ));
        }
        bounded::read_capped(stdin.lock(), cap)
    } else {
        let path = std::path::Path::new(arg);
        if looks_like_token(arg) && !path.exists() {
            return Err(Error::usage(
                "--token takes a file name or -, and this value looks like the token itself (it is not repeated here)",
            )
            .hint("never put tokens on a command line, where shell history and process lists keep them; write it to a file, or pipe it in with --token -"));
        }
        what = format!("the token file {}", shown(arg));
        bounded::read_file(path, cap)
    };
    let buf = match read {
        Ok(buf) => buf,
        Err(ReadError::TooLarge { .. }) => {
            return Err(Error::usage(format!(
                "{what} holds more than {}, far more than any Bitbucket OIDC token",
                bounded::size(cap)
            ))
            .hint(TOKEN_HINT))
        }
        Err(e) => return Err(Error::usage(format!("cannot read {what}: {e}")).hint(TOKEN_HINT)),
    };
    let text = String::from_utf8(buf)
        .map_err(|_| Error::usage(format!("{what} is not text")).hint(TOKEN_HINT))?;
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(Error::usage(format!("{what} is empty")).hint(TOKEN_HINT));
    }
    Ok(Secret(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_like_arguments_are_recognised() {
        assert!(looks_like_token("eyJhbGciOiJSUzI1NiJ9.e30.sig"));
        assert!(looks_like_token(&"a".repeat(201)));
        assert!(!looks_like_token("token.txt"));
        assert!(!looks_like_token("/tmp/step/oidc-token"));
        assert!(!looks_like_token("-"));
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret("eyJhbGciOiJSUzI1NiJ9.e30.c2ln".into());
        let shown = format!("{s:?}");
        assert!(!shown.contains("eyJ"), "{shown}");
        assert!(shown.contains("redacted"));
    }
}
