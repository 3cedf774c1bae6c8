//! Judging a token, check by check, the way STS would: its signature, issuer and lifetime
//! against the issuer's keys, then the provider's audiences and the role's trust policy for
//! the request STS would build from its claims. No I/O.

use std::net::IpAddr;

use super::checks::{account_checks, token_checks, Check, Status, LEEWAY_SECS};
use super::explain::{aud_reading_cause, Verdict};
use super::result::{TokenSummary, VerifyReport};
use crate::config::Source;
use crate::iam::{self, Request};
use crate::jwt::{self, rfc3339, Decoded};
use crate::observe::verify::Target;
use crate::oidc::discovery::Discovery;

/// Judge `decoded` against the keys of `discovery` and the role and provider of `target`,
/// at `now` (unix seconds). `source_ip` is the address the step calls AWS from, when known.
pub fn judge(
    decoded: Decoded,
    discovery: &Discovery,
    target: Target,
    source_ip: Option<IpAddr>,
    now: i64,
    source: &Source,
) -> VerifyReport {
    let mut checks = token_checks(&decoded, discovery, &discovery.issuer, now);
    let token_auds = jwt::audiences(&decoded.claims);
    let mut request = Request::from_claims(&target.provider_arn, &decoded.claims);
    if let Some(ip) = source_ip {
        request = request.with("aws:SourceIp", [ip.to_string()]);
    }
    // A list aud is judged under both readings of how STS matches it; the stricter applies.
    let (evaluation, request, aud_reading) = match &target.trust_policy {
        Some(policy) => {
            let (e, r, reading) = iam::evaluate_both(policy, &request, &token_auds);
            (Some(e), r, reading)
        }
        None => (None, request, None),
    };
    let (mut more, undetermined) = account_checks(
        &target,
        &discovery.issuer,
        &token_auds,
        evaluation.as_ref(),
        source_ip.is_some(),
        source,
    );
    if let Some(cause) = aud_reading.as_ref().and_then(aud_reading_cause) {
        for c in more.iter_mut().filter(|c| c.check == "trust policy") {
            c.cause = c.cause.take().map(|_| cause.clone());
        }
    }
    checks.extend(more);
    let (verdict, cause) = verdict(&checks, undetermined);
    let signature_verified = checks
        .iter()
        .any(|c| c.check == "signature" && c.status == Status::Pass);
    VerifyReport {
        verdict,
        cause,
        issuer: discovery.issuer.clone(),
        jwks_uri: discovery.jwks_uri.clone(),
        token: TokenSummary {
            header: decoded.header,
            claims: decoded.claims,
            signature_verified,
        },
        checks,
        judged_against: target,
        request,
        evaluation,
        aud_reading,
        checked_at: rfc3339(now),
        leeway_seconds: LEEWAY_SECS,
        assumed: None,
        aws_calls: None,
        now,
    }
}

/// The first failing check refuses the token; without one, an undetermined trust policy
/// (a source-IP condition and no `--source-ip`) leaves the verdict open.
fn verdict(checks: &[Check], undetermined: Option<Verdict>) -> (Verdict, Option<String>) {
    let first_failure = checks
        .iter()
        .find(|c| c.status == Status::Fail)
        .and_then(|c| c.cause.clone());
    match (first_failure, undetermined) {
        (Some(cause), _) => (Verdict::Refused, Some(cause)),
        (None, Some(v)) => (
            v,
            checks
                .iter()
                .find(|c| c.check == "trust policy")
                .and_then(|c| c.cause.clone()),
        ),
        (None, None) => (Verdict::Accepted, None),
    }
}
