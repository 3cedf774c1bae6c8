//! `discover`: fetch and check the issuer's discovery document and signing keys.

use crate::config::Settings;
use crate::error::Result;
use crate::oidc::{self, Discovery};
use crate::report::{DiscoverReport, Output, Reporter};

pub(super) async fn run(settings: &Settings, reporter: &Reporter) -> Result<Output> {
    let issuer = settings.require_issuer()?;
    reporter.progress(format!(
        "fetching {}/.well-known/openid-configuration",
        issuer.url
    ));
    let fetcher = oidc::Fetcher::new(oidc::tls_config(settings)?, settings.timeout)?;
    let d = oidc::discovery::discover(&fetcher, issuer).await?;
    for w in warnings(&d) {
        reporter.warn(w);
    }
    Ok(Output::of(&DiscoverReport::new(&d), reporter))
}

/// What makes the issuer unusable with IAM: no RS256 among the listed algorithms, no keys.
fn warnings(d: &Discovery) -> Vec<String> {
    let mut warnings = Vec::new();
    let algs = &d.document.id_token_signing_alg_values_supported;
    if !algs.is_empty() && !algs.iter().any(|a| a == "RS256") {
        warnings.push(format!(
            "the issuer does not list RS256 among its signing algorithms ({}); IAM and Bitbucket tokens use RS256",
            algs.join(", ")
        ));
    }
    if d.jwks.keys.is_empty() {
        warnings.push("the JWKS has no keys: no token from this issuer can be verified".into());
    }
    warnings
}
