use std::fmt::Write;

use serde_json::json;

use crate::config::Settings;
use crate::error::Result;
use crate::oidc;
use crate::report::{Output, Reporter, BOLD, DIM, GREEN, RED};

pub async fn run(settings: &Settings, reporter: &Reporter, check: bool) -> Result<Output> {
    let issuer = settings.require_issuer()?;
    reporter.progress(format!("fetching the discovery document of {}", issuer.url));
    let facts = oidc::issuer_facts(settings, issuer, false).await?;
    for h in &facts.hosts {
        for w in &h.warnings {
            reporter.warn(w.clone());
        }
    }

    let mut text = String::new();
    for h in &facts.hosts {
        let _ = writeln!(
            text,
            "{} ({})",
            reporter.paint(BOLD, &format!("{}:{}", h.host, h.port)),
            h.serves
        );
        let last = h.chain.len().saturating_sub(1);
        for (i, c) in h.chain.iter().enumerate() {
            let marker = if i == last { "=> " } else { "   " };
            let _ = writeln!(text, "  {marker}[{i}] {} {}", c.position, c.subject);
            let _ = writeln!(text, "         issuer    {}", c.issuer);
            let _ = writeln!(text, "         not after {}", c.not_after);
            let _ = writeln!(text, "         sha1      {}", c.sha1);
        }
        let _ = writeln!(
            text,
            "  thumbprint {}  {}",
            reporter.paint(GREEN, &h.thumbprint),
            reporter.paint(DIM, &format!("({})", h.why))
        );
    }
    let _ = writeln!(
        text,
        "\nthumbprints to register: {}",
        facts.thumbprints.join(" ")
    );

    let mut doc = json!({
        "issuer": issuer.url,
        "jwks_uri": facts.jwks_uri,
        "thumbprints": facts.thumbprints,
        "hosts": facts.hosts,
    });
    let mut exit_code = 0;
    if check {
        let registered = crate::observe::provider_thumbprints(settings, reporter, issuer).await?;
        let missing: Vec<&String> = facts
            .thumbprints
            .iter()
            .filter(|t| !registered.thumbprints.contains(t))
            .collect();
        let stale: Vec<&String> = registered
            .thumbprints
            .iter()
            .filter(|t| !facts.thumbprints.contains(t))
            .collect();
        let in_sync = missing.is_empty();
        let _ = writeln!(
            text,
            "registered on {}: {}",
            registered.arn,
            if registered.thumbprints.is_empty() {
                "(none)".to_string()
            } else {
                registered.thumbprints.join(" ")
            }
        );
        if in_sync {
            let _ = writeln!(
                text,
                "{}",
                reporter.paint(
                    GREEN,
                    "check: the provider has every thumbprint the hosts serve now"
                )
            );
        } else {
            let _ = writeln!(
                text,
                "{}",
                reporter.paint(
                    RED,
                    &format!(
                        "check: the provider lacks {}; run `bootstrap init` to register it",
                        missing
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                )
            );
            exit_code = 3;
        }
        doc["check"] = json!({
            "provider_arn": registered.arn,
            "registered": registered.thumbprints,
            "missing": missing,
            "not_served": stale,
            "in_sync": in_sync,
        });
    }
    Ok(Output::new(doc, text).with_exit_code(exit_code))
}
