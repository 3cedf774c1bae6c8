//! The checks of the report: the token itself (algorithm, issuer, key, signature, lifetime)
//! and the account's side (provider, audience, role, trust policy).

use serde::Serialize;
use serde_json::Value;

use super::explain::{self, Fix, Verdict};
use super::when::relative;
use crate::config::Source;
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
pub(super) fn token_checks(
    decoded: &Decoded,
    discovery: &Discovery,
    issuer_url: &str,
    now: i64,
) -> Vec<Check> {
    let verified = jwt::verify_signature(decoded, &discovery.jwks.keys);
    let problems = jwt::check_claims(&decoded.claims, issuer_url, now, LEEWAY_SECS);
    let mut checks = vec![
        Check::pass("structure", "a signed JWT (header.payload.signature)"),
        match &verified {
            Err(e) if e.is_refused_algorithm() => Check::fail(
                "algorithm",
                format!("alg `{}`", decoded.header.alg),
                e.to_string(),
            ),
            _ => Check::pass("algorithm", "RS256"),
        },
        issuer_check(decoded, &problems, issuer_url),
    ];
    let kid = decoded.header.kid.clone().unwrap_or_default();
    checks.extend(key_checks(verified.err(), &kid, &discovery.jwks_uri));
    checks.push(lifetime_check(decoded, &problems, now));
    checks
}

fn issuer_check(decoded: &Decoded, problems: &[ClaimProblem], issuer_url: &str) -> Check {
    match problems
        .iter()
        .find(|p| matches!(p, ClaimProblem::WrongIssuer { .. }))
    {
        Some(p) => Check::fail(
            "issuer",
            format!(
                "iss `{}`",
                jwt::claim_str(&decoded.claims, "iss").unwrap_or("(none)")
            ),
            p.to_string(),
        ),
        None => Check::pass("issuer", format!("iss is {issuer_url}")),
    }
}

/// The signing key and the signature, from what verifying the signature found (`None`: it
/// verified).
fn key_checks(error: Option<JwtError>, kid: &str, jwks_uri: &str) -> [Check; 2] {
    let key_found = || {
        Check::pass(
            "signing key",
            format!("kid `{kid}` is in the issuer's JWKS ({jwks_uri})"),
        )
    };
    match error {
        None => [
            key_found(),
            Check::pass(
                "signature",
                format!("RS256 signature verifies with key `{kid}`"),
            ),
        ],
        Some(e) if e.is_refused_algorithm() => [
            Check::skipped("signing key", "not looked up: the algorithm is refused"),
            Check::skipped("signature", "not checked: the algorithm is refused"),
        ],
        Some(e) if e.is_unusable_key() => [
            Check::fail(
                "signing key",
                format!("kid `{kid}`, JWKS {jwks_uri}"),
                e.to_string(),
            ),
            Check::skipped("signature", "not checked: no usable key"),
        ],
        Some(e) => [
            key_found(),
            Check::fail(
                "signature",
                format!("RS256 with key `{kid}`"),
                e.to_string(),
            ),
        ],
    }
}

fn lifetime_check(decoded: &Decoded, problems: &[ClaimProblem], now: i64) -> Check {
    let time_problem = problems
        .iter()
        .find(|p| !matches!(p, ClaimProblem::WrongIssuer { .. }));
    if let Some(p) = time_problem {
        Check::fail(
            "lifetime",
            format!("checked at {} with {LEEWAY_SECS} s leeway", rfc3339(now)),
            p.to_string(),
        )
    } else {
        let exp = decoded
            .claims
            .get("exp")
            .and_then(Value::as_i64)
            .map_or_else(
                || "valid".to_string(),
                |e| format!("valid until {} ({})", rfc3339(e), relative(e, now)),
            );
        Check::pass("lifetime", exp)
    }
}

/// The account's side: provider, audience, role, trust policy. The verdict is
/// `Undetermined` when only an unknown source IP keeps the trust policy from allowing it.
pub(super) fn account_checks(
    target: &Target,
    issuer_url: &str,
    token_auds: &[String],
    evaluation: Option<&Evaluation>,
    source_ip_given: bool,
    source: &Source,
) -> (Vec<Check>, Option<Verdict>) {
    let fix = Fix {
        source,
        role: &target.role_name,
    };
    let mut checks = provider_checks(target, issuer_url, token_auds, fix).to_vec();
    let role = match &target.role_arn {
        None => Check::fail(
            "role",
            format!("no role {} in account {}", target.role_name, target.account),
            format!(
                "role `{}` does not exist in account {}, so STS answers \"Not authorized to perform sts:AssumeRoleWithWebIdentity\": check --role-name, or create the role with `bootstrap init`",
                target.role_name, target.account
            ),
        ),
        Some(arn) => Check::pass("role", arn.clone()),
    };
    let trust = match (&target.role_arn, evaluation) {
        (None, _) => Check::skipped("trust policy", "no role to read it from"),
        (Some(_), Some(e)) => trust_check(e, source_ip_given, fix),
        (Some(_), None) => Check::skipped("trust policy", "not evaluated"),
    };
    // A skipped trust policy with a cause is one that cannot be judged without the IP.
    let undetermined = trust.status == Status::Skipped && trust.cause.is_some();
    checks.extend([role, trust]);
    (checks, undetermined.then_some(Verdict::Undetermined))
}

/// The provider for the issuer, and whether it accepts the token's audience.
fn provider_checks(
    target: &Target,
    issuer_url: &str,
    token_auds: &[String],
    fix: Fix<'_>,
) -> [Check; 2] {
    if !target.provider_found {
        return [
            Check::fail(
                "identity provider",
                format!("no IAM OIDC provider for {issuer_url} in account {}", target.account),
                format!(
                    "account {} has no IAM OIDC provider for {issuer_url}, so STS answers InvalidIdentityToken (no OpenIDConnect provider found): run `bootstrap init` for this issuer",
                    target.account
                ),
            ),
            Check::skipped("audience", "no provider to compare with"),
        ];
    }
    let provider = Check::pass(
        "identity provider",
        if target.live() {
            format!("IAM has {}", target.provider_arn)
        } else {
            format!("{} (as `bootstrap init` creates it)", target.provider_arn)
        },
    );
    let audience = match token_auds.iter().find(|a| target.client_ids.contains(a)) {
        Some(a) => Check::pass(
            "audience",
            format!("aud `{a}` is a client ID of the provider"),
        ),
        None => Check::fail(
            "audience",
            format!("provider client IDs: {}", target.client_ids.join(", ")),
            explain::audience_cause(
                token_auds,
                &target.client_ids,
                "the IAM OIDC provider's audiences, so STS answers \"Incorrect token audience\"",
                fix,
            ),
        ),
    };
    [provider, audience]
}

/// What the trust policy's evaluation means for the token.
fn trust_check(e: &Evaluation, source_ip_given: bool, fix: Fix<'_>) -> Check {
    match explain::trust_cause(e, source_ip_given, fix) {
        None => Check::pass("trust policy", e.reason.clone()),
        Some((Verdict::Undetermined, cause)) => Check {
            check: "trust policy",
            status: Status::Skipped,
            detail: e.reason.clone(),
            cause: Some(cause),
        },
        Some((_, cause)) => Check::fail("trust policy", e.reason.clone(), cause),
    }
}
