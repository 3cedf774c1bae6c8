//! The token's issuer and validity period, and readers for the Bitbucket-specific claims.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

/// A problem with the token's issuer or validity period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum ClaimProblem {
    WrongIssuer {
        expected: String,
        actual: Option<String>,
    },
    MissingExp,
    InvalidTime {
        claim: &'static str,
    },
    Expired {
        exp: i64,
        now: i64,
        seconds_ago: i64,
    },
    NotYetValid {
        nbf: i64,
        now: i64,
        seconds_ahead: i64,
    },
    IssuedInFuture {
        iat: i64,
        now: i64,
        seconds_ahead: i64,
    },
}

/// A NumericDate (unix seconds) as RFC 3339 in UTC, or the bare number when out of range.
pub fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

impl fmt::Display for ClaimProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimProblem::WrongIssuer {
                expected,
                actual: Some(actual),
            } => write!(
                f,
                "the token was issued by `{actual}`, not `{expected}`: run the step in the workspace this role was set up for, or set up the role for that workspace"
            ),
            ClaimProblem::WrongIssuer {
                expected,
                actual: None,
            } => write!(
                f,
                "the token has no `iss` string, so it cannot be from `{expected}`: pass the value of $BITBUCKET_STEP_OIDC_TOKEN"
            ),
            ClaimProblem::MissingExp => write!(
                f,
                "the token has no `exp` claim, so it never expires and AWS STS will reject it: pass a token issued by Bitbucket Pipelines"
            ),
            ClaimProblem::InvalidTime { claim } => write!(
                f,
                "the token's `{claim}` claim is not a number of seconds since 1970: pass an unmodified token issued by Bitbucket Pipelines"
            ),
            ClaimProblem::Expired {
                exp, seconds_ago, ..
            } => write!(
                f,
                "the token expired {seconds_ago} seconds ago (at {}): Bitbucket tokens are short-lived, so re-run the step and verify the fresh $BITBUCKET_STEP_OIDC_TOKEN straight away",
                rfc3339(*exp)
            ),
            ClaimProblem::NotYetValid {
                nbf, seconds_ahead, ..
            } => write!(
                f,
                "the token is not valid for another {seconds_ahead} seconds (not before {}): check this machine's clock, which STS does not share",
                rfc3339(*nbf)
            ),
            ClaimProblem::IssuedInFuture {
                iat, seconds_ahead, ..
            } => write!(
                f,
                "the token claims to be issued {seconds_ahead} seconds in the future (at {}): check this machine's clock (for example with `timedatectl` or NTP)",
                rfc3339(*iat)
            ),
        }
    }
}

/// Reads a NumericDate claim. `Ok(None)` when absent; fractional values are floored.
fn numeric_date(
    claims: &Map<String, Value>,
    claim: &'static str,
) -> Result<Option<i64>, ClaimProblem> {
    match claims.get(claim) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
                // `as` saturates on overflow; no panic, and a time beyond i64 is out of range
                // either way.
                #[allow(clippy::cast_possible_truncation, reason = "saturating is the intent")]
                let seconds = f.floor() as i64;
                Ok(Some(seconds))
            } else {
                Err(ClaimProblem::InvalidTime { claim })
            }
        }
        Some(_) => Err(ClaimProblem::InvalidTime { claim }),
    }
}

/// Checks `iss` (exact equality), `exp` (required), `nbf` and `iat` against `now` (unix
/// seconds), allowing `leeway_secs` of clock skew. Returns every problem found (empty = ok).
pub fn check_claims(
    claims: &Map<String, Value>,
    expected_issuer: &str,
    now: i64,
    leeway_secs: i64,
) -> Vec<ClaimProblem> {
    let mut problems = Vec::new();
    let leeway = leeway_secs.max(0);

    let iss = claims.get("iss").and_then(Value::as_str);
    if iss != Some(expected_issuer) {
        problems.push(ClaimProblem::WrongIssuer {
            expected: expected_issuer.to_string(),
            actual: iss.map(str::to_string),
        });
    }

    match numeric_date(claims, "exp") {
        Ok(None) => problems.push(ClaimProblem::MissingExp),
        Ok(Some(exp)) => {
            // Valid while now < exp (+ leeway).
            if now >= exp.saturating_add(leeway) {
                problems.push(ClaimProblem::Expired {
                    exp,
                    now,
                    seconds_ago: now.saturating_sub(exp),
                });
            }
        }
        Err(p) => problems.push(p),
    }

    match numeric_date(claims, "nbf") {
        Ok(Some(nbf)) if nbf > now.saturating_add(leeway) => {
            problems.push(ClaimProblem::NotYetValid {
                nbf,
                now,
                seconds_ahead: nbf.saturating_sub(now),
            });
        }
        Ok(_) => {}
        Err(p) => problems.push(p),
    }

    match numeric_date(claims, "iat") {
        Ok(Some(iat)) if iat > now.saturating_add(leeway) => {
            problems.push(ClaimProblem::IssuedInFuture {
                iat,
                now,
                seconds_ahead: iat.saturating_sub(now),
            });
        }
        Ok(_) => {}
        Err(p) => problems.push(p),
    }

    problems
}

/// A string claim, if present and a string.
pub fn claim_str<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// The `aud` claim as a list: a single string or an array of strings (non-strings ignored).
pub fn audiences(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// `sub`: `{repoUuid}:{stepUuid}`, or `{repoUuid}:{envUuid}:{stepUuid}` on deployment steps.
pub fn sub(claims: &Map<String, Value>) -> Option<&str> {
    claim_str(claims, "sub")
}

/// `repositoryUuid` (with braces).
pub fn repository_uuid(claims: &Map<String, Value>) -> Option<&str> {
    claim_str(claims, "repositoryUuid")
}

/// `deploymentEnvironmentUuid` (with braces); present on deployment steps only.
pub fn deployment_environment_uuid(claims: &Map<String, Value>) -> Option<&str> {
    claim_str(claims, "deploymentEnvironmentUuid")
}

/// `stepUuid` (with braces).
pub fn step_uuid(claims: &Map<String, Value>) -> Option<&str> {
    claim_str(claims, "stepUuid")
}

/// `workspaceUuid` (with braces).
pub fn workspace_uuid(claims: &Map<String, Value>) -> Option<&str> {
    claim_str(claims, "workspaceUuid")
}

/// `pipelineUuid` (with braces).
pub fn pipeline_uuid(claims: &Map<String, Value>) -> Option<&str> {
    claim_str(claims, "pipelineUuid")
}

/// `branchName`; absent on tag and custom pipelines without a branch.
pub fn branch_name(claims: &Map<String, Value>) -> Option<&str> {
    claim_str(claims, "branchName")
}
