//! The Bitbucket API half of the setup, used only when Bitbucket credentials are in the
//! environment: names (workspace, repository slugs, deployment environment names) resolved
//! to the UUIDs the trust policies hold. Sits after `oidc` and before `model`: it reads the
//! settings and gives back settings whose roles carry UUIDs only.
//!
//! Credentials come from the environment only (`BITBUCKET_TOKEN`, or `BITBUCKET_EMAIL` and
//! `BITBUCKET_API_TOKEN`), go only to `--bitbucket-api-url`'s host (redirects are never
//! followed), and are never printed: [`Credentials`] has no readable `Debug`, and the header
//! that carries them is marked sensitive.

mod client;
mod closest;
mod resolve;
pub mod variables;

pub use client::{Client, Scope};
pub use resolve::resolve_names;

use base64::Engine;

use crate::config::Settings;
use crate::error::{Error, Result};

/// A client for a command that needs the API (`why` names the flag, e.g.
/// `--set-variables`), and the workspace slug: both required, exit 64 naming what to set.
pub fn connect(settings: &Settings, why: &str) -> Result<(Client, String)> {
    let Some(credentials) = Credentials::from_env()? else {
        return Err(Error::usage(format!(
            "{why} needs Bitbucket credentials, and none are set"
        ))
        .hint(format!("set {CREDENTIAL_VARIABLES} (docs/bitbucket.md)")));
    };
    let Some(workspace) = settings.trust.bitbucket.workspace.clone() else {
        return Err(Error::usage(format!("{why} needs the Bitbucket workspace"))
            .hint("add workspace = \"SLUG\" to bootstrap.toml (or pass --workspace SLUG)"));
    };
    Ok((Client::new(settings, &credentials)?, workspace))
}

/// The environment variables that hold the credentials, for messages.
pub const CREDENTIAL_VARIABLES: &str =
    "BITBUCKET_TOKEN (an access token), or BITBUCKET_EMAIL and BITBUCKET_API_TOKEN (an API token)";

/// Bitbucket credentials, as the `Authorization` header value they become.
#[derive(Clone)]
pub struct Credentials {
    header: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(hidden)")
    }
}

impl Credentials {
    /// Read the credentials from the environment: `BITBUCKET_TOKEN` (Bearer) wins over
    /// `BITBUCKET_EMAIL` + `BITBUCKET_API_TOKEN` (Basic). `None` when neither is set; one of
    /// the pair without the other is a usage error naming the missing one.
    pub fn from_env() -> Result<Option<Credentials>> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if let Some(token) = var("BITBUCKET_TOKEN") {
            return Self::checked("BITBUCKET_TOKEN", &token).map(|t| {
                Some(Credentials {
                    header: format!("Bearer {t}"),
                })
            });
        }
        match (var("BITBUCKET_EMAIL"), var("BITBUCKET_API_TOKEN")) {
            (Some(email), Some(token)) => {
                let email = Self::checked("BITBUCKET_EMAIL", &email)?;
                let token = Self::checked("BITBUCKET_API_TOKEN", &token)?;
                let pair = base64::engine::general_purpose::STANDARD.encode(format!("{email}:{token}"));
                Ok(Some(Credentials {
                    header: format!("Basic {pair}"),
                }))
            }
            (Some(_), None) => Err(Error::usage(
                "BITBUCKET_EMAIL is set without BITBUCKET_API_TOKEN",
            )
            .hint("set BITBUCKET_API_TOKEN to an Atlassian API token with scopes, or use BITBUCKET_TOKEN (docs/bitbucket.md)")),
            (None, Some(_)) => Err(Error::usage(
                "BITBUCKET_API_TOKEN is set without BITBUCKET_EMAIL",
            )
            .hint("set BITBUCKET_EMAIL to the Atlassian account's email address (docs/bitbucket.md)")),
            (None, None) => Ok(None),
        }
    }

    /// A credential value fit for a header (no spaces or control characters); the message
    /// names the variable, never the value.
    fn checked(name: &str, value: &str) -> Result<String> {
        let value = value.trim();
        if value.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(value.to_string())
        } else {
            Err(Error::usage(format!(
                "{name} holds spaces or characters that cannot be sent in an HTTP header"
            ))
            .hint(format!(
                "set {name} to the token exactly as Bitbucket showed it"
            )))
        }
    }

    pub(crate) fn header_value(&self) -> Result<reqwest::header::HeaderValue> {
        let mut v = reqwest::header::HeaderValue::from_str(&self.header).map_err(|_| {
            Error::usage("the Bitbucket credentials cannot be sent in an HTTP header")
        })?;
        v.set_sensitive(true);
        Ok(v)
    }
}
