//! `discover`: the issuer's discovery document and signing keys.

use std::fmt::Write;

use serde::Serialize;

use super::{Paint, Report};
use crate::jwt::Jwk;
use crate::oidc::discovery::DiscoveryDocument;
use crate::oidc::Discovery;

/// `bootstrap discover`.
#[derive(Debug, Serialize)]
pub struct DiscoverReport<'a> {
    pub issuer: &'a str,
    pub discovery_url: &'a str,
    pub jwks_uri: &'a str,
    pub signing_algorithms: &'a [String],
    /// Each key's `kid`, `(no kid)` for a key without one.
    pub key_ids: Vec<String>,
    pub keys: &'a [Jwk],
    pub document: &'a DiscoveryDocument,
}

impl<'a> DiscoverReport<'a> {
    pub fn new(d: &'a Discovery) -> Self {
        DiscoverReport {
            issuer: &d.issuer,
            discovery_url: &d.discovery_url,
            jwks_uri: &d.jwks_uri,
            signing_algorithms: &d.document.id_token_signing_alg_values_supported,
            key_ids: d
                .jwks
                .keys
                .iter()
                .map(|k| k.kid.clone().unwrap_or_else(|| "(no kid)".into()))
                .collect(),
            keys: &d.jwks.keys,
            document: &d.document,
        }
    }
}

impl Report for DiscoverReport<'_> {
    fn text(&self, _paint: Paint) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "issuer      {}", self.issuer);
        let _ = writeln!(text, "discovery   {}", self.discovery_url);
        let _ = writeln!(text, "jwks_uri    {}", self.jwks_uri);
        let algorithms = if self.signing_algorithms.is_empty() {
            "(not listed)".to_string()
        } else {
            self.signing_algorithms.join(", ")
        };
        let _ = writeln!(text, "algorithms  {algorithms}");
        let _ = writeln!(text, "keys        {}", self.keys.len());
        for k in self.keys {
            let _ = writeln!(
                text,
                "  kid {}  {} {}",
                k.kid.as_deref().unwrap_or("(none)"),
                k.kty,
                k.alg.as_deref().unwrap_or("")
            );
        }
        text
    }
}
