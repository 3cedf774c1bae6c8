use std::fmt::Write;

use serde_json::json;

use crate::config::Settings;
use crate::error::Result;
use crate::oidc;
use crate::report::{Output, Reporter};

pub async fn run(settings: &Settings, reporter: &Reporter) -> Result<Output> {
    let issuer = settings.require_issuer()?;
    reporter.progress(format!(
        "fetching {}/.well-known/openid-configuration",
        issuer.url
    ));
    let fetcher = oidc::Fetcher::new(oidc::tls_config(settings)?, settings.timeout)?;
    let d = oidc::discovery::discover(&fetcher, issuer).await?;

    let algs = &d.document.id_token_signing_alg_values_supported;
    if !algs.is_empty() && !algs.iter().any(|a| a == "RS256") {
        reporter.warn(format!(
            "the issuer does not list RS256 among its signing algorithms ({}); IAM and Bitbucket tokens use RS256",
            algs.join(", ")
        ));
    }
    if d.jwks.keys.is_empty() {
        reporter.warn("the JWKS has no keys: no token from this issuer can be verified");
    }
    let key_ids: Vec<String> = d
        .jwks
        .keys
        .iter()
        .map(|k| k.kid.clone().unwrap_or_else(|| "(no kid)".into()))
        .collect();

    let mut text = String::new();
    let _ = writeln!(text, "issuer      {}", d.issuer);
    let _ = writeln!(text, "discovery   {}", d.discovery_url);
    let _ = writeln!(text, "jwks_uri    {}", d.jwks_uri);
    let _ = writeln!(
        text,
        "algorithms  {}",
        if algs.is_empty() {
            "(not listed)".to_string()
        } else {
            algs.join(", ")
        }
    );
    let _ = writeln!(text, "keys        {}", d.jwks.keys.len());
    for k in &d.jwks.keys {
        let _ = writeln!(
            text,
            "  kid {}  {} {}",
            k.kid.as_deref().unwrap_or("(none)"),
            k.kty,
            k.alg.as_deref().unwrap_or("")
        );
    }
    let doc = json!({
        "issuer": d.issuer,
        "discovery_url": d.discovery_url,
        "jwks_uri": d.jwks_uri,
        "signing_algorithms": algs,
        "key_ids": key_ids,
        "keys": d.jwks.keys,
        "document": d.document,
    });
    Ok(Output::new(doc, text))
}
