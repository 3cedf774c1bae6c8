//! `thumbprint`: each host's verified chain and the thumbprints to register; `--check`
//! compares them with the ones registered on the IAM provider.

use crate::aws::Aws;
use crate::config::Settings;
use crate::error::Result;
use crate::observe;
use crate::oidc;
use crate::report::{Output, Reporter, ThumbprintCheck, ThumbprintReport};

pub(super) async fn run(settings: &Settings, reporter: &Reporter, check: bool) -> Result<Output> {
    let issuer = settings.require_issuer()?;
    reporter.progress(format!("fetching the discovery document of {}", issuer.url));
    let facts = oidc::issuer_facts(settings, issuer, false).await?;
    for h in &facts.hosts {
        for w in &h.warnings {
            reporter.warn(w.clone());
        }
    }
    let check = if check {
        reporter.progress("reading the IAM OIDC provider");
        let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
        let registered = observe::registered_thumbprints(&aws, issuer).await?;
        Some(ThumbprintCheck::new(
            registered.arn,
            registered.thumbprints,
            &facts.thumbprints,
        ))
    } else {
        None
    };
    let report = ThumbprintReport {
        issuer: &issuer.url,
        jwks_uri: &facts.jwks_uri,
        thumbprints: &facts.thumbprints,
        hosts: &facts.hosts,
        check,
    };
    Ok(Output::of(&report, reporter))
}
