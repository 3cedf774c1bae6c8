//! The checks of the report: the token itself (algorithm, issuer, key, signature, lifetime)
//! and the account's side (provider, audience, role, trust policy).

use serde::Serialize;
use serde_json::Value;

use super::explain::{self, Verdict};
use super::when::relative;
use crate::iam::Evaluation;
use crate::jwt::{self, rfc3339, ClaimProblem, Decoded, JwtError};
use crate::observe::verify::Target;
use crate::oidc::discovery::Discovery;

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECS: i64 = 60;

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub status: Status,
    pub detail: String,
    /// For a failing check: the cause in words that say what to change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Skipped,
}

impl Check {
    pub fn pass(check: &'static str, detail: impl Into<String>) -> Check {
        Check {
            check,
            status: Status::Pass,
            detail: detail.into(),
            cause: None,
        }
    }

    pub fn fail(check: &'static str, detail: impl Into<String>, cause: impl Into<String>) -> Check {
        Check {
            check,
            status: Status::Fail,
            detail: detail.into(),
            cause: Some(cause.into()),
        }
    }

    pub fn skipped(check: &'static str, detail: impl Into<String>) -> Check {
        Check {
            check,
            status: Status::Skipped,
            detail: detail.into(),
            cause: None,
        }
    }
}

/// Checks on the token itself: algorithm, issuer, signing key, signature, lifetime.
pub fn token_checks(
    decoded: &Decoded,
    discovery: &Discovery,
    issuer_url: &str,
    now: i64,
) -> Vec<Check> {
    let mut checks = vec![Check::pass(
        "structure",
        "a signed JWT (header.payload.signature)",
    )];
    let verified = jwt::verify_signature(decoded, &discovery.jwks.keys);
    let alg = &decoded.header.alg;
    let kid = decoded.header.kid.clone().unwrap_or_default();
    let problems = jwt::check_claims(&decoded.claims, issuer_url, now, LEEWAY_SECS);

    match &verified {
        Err(
            e @ (JwtError::AlgNone
            | JwtError::AlgHmac { .. }
            | JwtError::AlgEcdsa { .. }
            | JwtError::AlgPss { .. }
            | JwtError::AlgUnsupported { .. }),
        ) => checks.push(Check::fail(
            "algorithm",
            format!("alg `{alg}`"),
            e.to_string(),
        )),
        _ => checks.push(Check::pass("algorithm", "RS256")),
    }

    match problems
        .iter()
        .find(|p| matches!(p, ClaimProblem::WrongIssuer { .. }))
    {
        Some(p) => checks.push(Check::fail(
            "issuer",
            format!(
                "iss `{}`",
                jwt::claim_str(&decoded.claims, "iss").unwrap_or("(none)")
            ),
            p.to_string(),
        )),
        None => checks.push(Check::pass("issuer", format!("iss is {issuer_url}"))),
    }

    match &verified {
        Ok(_) => {
            checks.push(Check::pass(
                "signing key",
                format!(
                    "kid `{kid}` is in the issuer's JWKS ({})",
                    discovery.jwks_uri
                ),
            ));
            checks.push(Check::pass(
                "signature",
                format!("RS256 signature verifies with key `{kid}`"),
            ));
        }
        Err(
            JwtError::AlgNone
            | JwtError::AlgHmac { .. }
            | JwtError::AlgEcdsa { .. }
            | JwtError::AlgPss { .. }
            | JwtError::AlgUnsupported { .. },
        ) => {
            checks.push(Check::skipped(
                "signing key",
                "not looked up: the algorithm is refused",
            ));
            checks.push(Check::skipped(
                "signature",
                "not checked: the algorithm is refused",
            ));
        }
        Err(
            e @ (JwtError::MissingKid { .. }
            | JwtError::UnknownKid { .. }
            | JwtError::KeyNotRsa { .. }
            | JwtError::KeyAlgMismatch { .. }
            | JwtError::BadKey { .. }),
        ) => {
            checks.push(Check::fail(
                "signing key",
                format!("kid `{kid}`, JWKS {}", discovery.jwks_uri),
                e.to_string(),
            ));
            checks.push(Check::skipped("signature", "not checked: no usable key"));
        }
        Err(e) => {
            checks.push(Check::pass(
                "signing key",
                format!(
                    "kid `{kid}` is in the issuer's JWKS ({})",
                    discovery.jwks_uri
                ),
            ));
            checks.push(Check::fail(
                "signature",
                format!("RS256 with key `{kid}`"),
                e.to_string(),
            ));
        }
    }

    let time_problem = problems
        .iter()
        .find(|p| !matches!(p, ClaimProblem::WrongIssuer { .. }));
    match time_problem {
        Some(p) => checks.push(Check::fail(
            "lifetime",
            format!("checked at {} with {LEEWAY_SECS} s leeway", rfc3339(now)),
            p.to_string(),
        )),
        None => {
            let exp = decoded
                .claims
                .get("exp")
                .and_then(Value::as_i64)
                .map(|e| format!("valid until {} ({})", rfc3339(e), relative(e, now)))
                .unwrap_or_else(|| "valid".to_string());
            checks.push(Check::pass("lifetime", exp));
        }
    }
    checks
}

/// The account's side: provider, audience, role, trust policy.
pub fn account_checks(
    target: &Target,
    issuer_url: &str,
    token_auds: &[String],
    evaluation: Option<&Evaluation>,
    source_ip_given: bool,
) -> (Vec<Check>, Option<Verdict>) {
    let mut checks = Vec::new();
    let mut undetermined = false;
    if target.provider_found {
        checks.push(Check::pass(
            "identity provider",
            if target.live() {
                format!("IAM has {}", target.provider_arn)
            } else {
                format!("{} (as `bootstrap init` creates it)", target.provider_arn)
            },
        ));
        if token_auds.iter().any(|a| target.client_ids.contains(a)) {
            checks.push(Check::pass(
                "audience",
                format!(
                    "aud {} is a client ID of the provider",
                    token_auds
                        .iter()
                        .find(|a| target.client_ids.contains(a))
                        .map(|a| format!("`{a}`"))
                        .unwrap_or_default()
                ),
            ));
        } else {
            checks.push(Check::fail(
                "audience",
                format!("provider client IDs: {}", target.client_ids.join(", ")),
                explain::audience_cause(
                    token_auds,
                    &target.client_ids,
                    "the IAM OIDC provider's audiences, so STS answers \"Incorrect token audience\"",
                ),
            ));
        }
    } else {
        checks.push(Check::fail(
            "identity provider",
            format!("no IAM OIDC provider for {issuer_url} in account {}", target.account),
            format!(
                "account {} has no IAM OIDC provider for {issuer_url}, so STS answers InvalidIdentityToken (no OpenIDConnect provider found): run `bootstrap init` for this issuer",
                target.account
            ),
        ));
        checks.push(Check::skipped("audience", "no provider to compare with"));
    }

    match (&target.role_arn, evaluation) {
        (None, _) => {
            checks.push(Check::fail(
                "role",
                format!("no role {} in account {}", target.role_name, target.account),
                format!(
                    "role `{}` does not exist in account {}, so STS answers \"Not authorized to perform sts:AssumeRoleWithWebIdentity\": check --role-name, or create the role with `bootstrap init`",
                    target.role_name, target.account
                ),
            ));
            checks.push(Check::skipped("trust policy", "no role to read it from"));
        }
        (Some(arn), Some(e)) => {
            checks.push(Check::pass("role", arn.clone()));
            match explain::trust_cause(e, source_ip_given) {
                None => checks.push(Check::pass("trust policy", e.reason.clone())),
                Some((Verdict::Undetermined, cause)) => {
                    undetermined = true;
                    checks.push(Check {
                        check: "trust policy",
                        status: Status::Skipped,
                        detail: e.reason.clone(),
                        cause: Some(cause),
                    });
                }
                Some((_, cause)) => {
                    checks.push(Check::fail("trust policy", e.reason.clone(), cause))
                }
            }
        }
        (Some(arn), None) => {
            checks.push(Check::pass("role", arn.clone()));
            checks.push(Check::skipped("trust policy", "not evaluated"));
        }
    }
    (checks, undetermined.then_some(Verdict::Undetermined))
}
