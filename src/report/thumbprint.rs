//! `thumbprint`: each host's verified chain and the thumbprints to register; with `--check`,
//! how they compare with the ones registered on the provider.

use std::fmt::Write;

use serde::Serialize;

use super::{Paint, Report, BOLD, DIM, GREEN, RED};
use crate::oidc::HostChain;

/// `--check`: the served thumbprints against the registered ones.
#[derive(Debug, Serialize)]
pub struct ThumbprintCheck {
    pub provider_arn: String,
    pub registered: Vec<String>,
    /// Served now but not registered: IAM may refuse tokens (exit 3).
    pub missing: Vec<String>,
    /// Registered but no longer served.
    pub not_served: Vec<String>,
    pub in_sync: bool,
}

impl ThumbprintCheck {
    pub fn new(provider_arn: String, registered: Vec<String>, served: &[String]) -> Self {
        let missing: Vec<String> = served
            .iter()
            .filter(|t| !registered.contains(t))
            .cloned()
            .collect();
        let not_served = registered
            .iter()
            .filter(|t| !served.contains(t))
            .cloned()
            .collect();
        ThumbprintCheck {
            provider_arn,
            registered,
            in_sync: missing.is_empty(),
            missing,
            not_served,
        }
    }

    fn text(&self, paint: Paint) -> String {
        let registered = if self.registered.is_empty() {
            "(none)".to_string()
        } else {
            self.registered.join(" ")
        };
        let verdict = if self.in_sync {
            paint.paint(
                GREEN,
                "check: the provider has every thumbprint the hosts serve now",
            )
        } else {
            paint.paint(
                RED,
                &format!(
                    "check: the provider lacks {}; run `bootstrap init` to register it",
                    self.missing.join(", ")
                ),
            )
        };
        format!(
            "registered on {}: {registered}\n{verdict}\n",
            self.provider_arn
        )
    }
}

/// `bootstrap thumbprint`.
#[derive(Debug, Serialize)]
pub struct ThumbprintReport<'a> {
    pub issuer: &'a str,
    pub jwks_uri: &'a str,
    pub thumbprints: &'a [String],
    pub hosts: &'a [HostChain],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<ThumbprintCheck>,
}

impl Report for ThumbprintReport<'_> {
    fn text(&self, paint: Paint) -> String {
        let mut text = String::new();
        for h in self.hosts {
            text.push_str(&host_text(h, paint));
        }
        let _ = writeln!(
            text,
            "\nthumbprints to register: {}",
            self.thumbprints.join(" ")
        );
        if let Some(check) = &self.check {
            text.push_str(&check.text(paint));
        }
        text
    }

    fn exit_code(&self) -> i32 {
        match &self.check {
            Some(c) if !c.in_sync => 3,
            _ => 0,
        }
    }
}

/// One host: its chain (the hashed certificate marked `=>`) and its thumbprint.
fn host_text(h: &HostChain, paint: Paint) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} ({})",
        paint.paint(BOLD, &format!("{}:{}", h.host, h.port)),
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
        paint.paint(GREEN, &h.thumbprint),
        paint.paint(DIM, &format!("({})", h.why))
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_check_names_what_is_missing_and_what_is_no_longer_served() {
        let check = ThumbprintCheck::new("arn:p".into(), s(&["aa", "bb"]), &s(&["bb", "cc"]));
        assert_eq!(check.missing, s(&["cc"]));
        assert_eq!(check.not_served, s(&["aa"]));
        assert!(!check.in_sync);
        assert_eq!(
            check.text(Paint::NONE),
            "registered on arn:p: aa bb\ncheck: the provider lacks cc; run `bootstrap init` to register it\n"
        );
        let report = ThumbprintReport {
            issuer: "https://i",
            jwks_uri: "https://i/jwks",
            thumbprints: &[],
            hosts: &[],
            check: Some(check),
        };
        assert_eq!(report.exit_code(), 3);
        let ok = ThumbprintCheck::new("arn:p".into(), s(&[]), &s(&[]));
        assert!(ok.in_sync);
        assert!(ok
            .text(Paint::NONE)
            .starts_with("registered on arn:p: (none)\n"));
    }
}
