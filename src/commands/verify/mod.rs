//! `bootstrap verify`: judge a pipeline's OIDC token as AWS STS would, check by check, and
//! name the first cause of a refusal in words that say what to change.
//!
//! The raw token is read once, kept in a [`Secret`](token::Secret) whose `Debug` is
//! redacted, and only ever handed to `jwt::decode` and (with `--assume`) to STS. Claims are
//! printed; the token never.

mod checks;
mod judge;
mod render;
mod sts;
mod token;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::validate::shown;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::iam::{self, Request};
use crate::jwt;
use crate::oidc;
use crate::report::{Output, Reporter};
use crate::verify::explain::Verdict;

use checks::{account_checks, token_checks, Check, Status};
use judge::{live_judge, offline_judge};
use render::Report;
use sts::assume;
use token::read_token;

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECS: i64 = 60;
/// The session name `--assume` uses (shows up in CloudTrail and in the assumed-role ARN).
pub const SESSION_NAME: &str = "bootstrap-verify";

/// What `verify` was asked to do, apart from the settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// A file name, or `-` for stdin.
    pub token: String,
    pub offline: bool,
    pub source_ip: Option<String>,
    pub assume: bool,
    pub account_id: Option<String>,
}

fn parse_source_ip(value: &str) -> Result<IpAddr> {
    let v = shown(value);
    if value.contains('/') {
        return Err(Error::usage(format!(
            "--source-ip {v:?}: verify takes the one address the step calls AWS from, not a range"
        ))
        .hint("the role's allowed ranges are --trust-source-ip (with --offline) or come from the live role"));
    }
    value.trim().parse::<IpAddr>().map_err(|_| {
        Error::usage(format!(
            "--source-ip {v:?}: expected an IP address like 203.0.113.7"
        ))
        .hint("a step can print its public egress IP with `curl -s https://checkip.amazonaws.com`")
    })
}

/// An AWS account id: 12 digits.
pub(crate) fn account_id(value: &str) -> Result<String> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_string())
    } else {
        Err(Error::usage(format!(
            "--account-id {:?}: an AWS account id is 12 digits",
            shown(value)
        )))
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub async fn run(settings: &Settings, reporter: &Reporter, opts: Options) -> Result<Output> {
    // Every input is checked before the first network or AWS call.
    let issuer = settings.require_issuer()?;
    if opts.offline {
        settings.require_trust_inputs()?;
    }
    let source_ip = opts.source_ip.as_deref().map(parse_source_ip).transpose()?;
    let account = opts.account_id.as_deref().map(account_id).transpose()?;
    if account.is_some() && !opts.offline {
        return Err(Error::usage(
            "--account-id is only used with --offline; without it the account is the one the role is read from",
        )
        .hint("drop --account-id, or add --offline"));
    }
    let tls = oidc::tls_config(settings)?;
    let token = read_token(&opts.token)?;
    reporter.debug(format!("read a token of {} bytes", token.0.len()));
    let decoded = jwt::decode(&token.0).map_err(|e| Error::usage(e.to_string()))?;

    reporter.progress(format!("fetching the signing keys of {}", issuer.url));
    let fetcher = Arc::new(oidc::Fetcher::new(tls, settings.timeout)?);
    let judge = async {
        if opts.offline {
            offline_judge(settings, &fetcher, account.as_deref()).await
        } else {
            live_judge(settings, reporter).await
        }
    };
    let (discovery, judge) = tokio::try_join!(oidc::discovery::discover(&fetcher, issuer), judge)?;

    let now = now();
    let mut checks = token_checks(&decoded, &discovery, &issuer.url, now);
    let token_auds = jwt::audiences(&decoded.claims);
    let mut request = Request::from_claims(&judge.provider_arn, &decoded.claims);
    if let Some(ip) = source_ip {
        request = request.with("aws:SourceIp", [ip.to_string()]);
    }
    // A list aud is judged under both readings of how STS matches it; the stricter applies.
    let judged = judge
        .trust_policy
        .as_ref()
        .map(|p| iam::evaluate_both(p, &request, &token_auds));
    let aud_reading = judged.as_ref().and_then(|(_, _, r)| r.clone());
    let (evaluation, request) = match judged {
        Some((e, r, _)) => (Some(e), r),
        None => (None, request),
    };
    let (mut more, undetermined) = account_checks(
        &judge,
        &issuer.url,
        &token_auds,
        evaluation.as_ref(),
        source_ip.is_some(),
    );
    if let Some(cause) = aud_reading
        .as_ref()
        .and_then(crate::verify::explain::aud_reading_cause)
    {
        for c in more.iter_mut().filter(|c| c.check == "trust policy") {
            c.cause = c.cause.take().map(|_| cause.clone());
        }
    }
    checks.extend(more);

    let first_failure = checks
        .iter()
        .find(|c| c.status == Status::Fail)
        .and_then(|c| c.cause.clone());
    let (mut verdict, mut cause) = match (first_failure, undetermined) {
        (Some(cause), _) => (Verdict::Refused, Some(cause)),
        (None, Some(v)) => (
            v,
            checks
                .iter()
                .find(|c| c.check == "trust policy")
                .and_then(|c| c.cause.clone()),
        ),
        (None, None) => (Verdict::Accepted, None),
    };

    let mut assumed = None;
    if opts.assume {
        match (&judge.aws, &judge.role_arn, verdict) {
            (Some(aws), Some(arn), Verdict::Accepted) => {
                match assume(aws, arn, &token, reporter).await? {
                    Ok(v) => {
                        checks.push(Check::pass(
                            "sts",
                            format!(
                                "assumed {}",
                                v["assumed_role_arn"].as_str().unwrap_or_default()
                            ),
                        ));
                        assumed = Some(v);
                    }
                    Err(refusal) => {
                        checks.push(Check::fail(
                            "sts",
                            "sts:AssumeRoleWithWebIdentity",
                            refusal.clone(),
                        ));
                        verdict = Verdict::Refused;
                        cause = Some(refusal);
                    }
                }
            }
            (_, _, Verdict::Undetermined) => checks.push(Check::skipped(
                "sts",
                "not called: pass --source-ip so the IP condition can be judged first",
            )),
            _ => checks.push(Check::skipped(
                "sts",
                "not called: the checks above do not pass",
            )),
        }
    }
    drop(token);

    let report = Report {
        decoded: &decoded,
        checks: &checks,
        judge: &judge,
        request: &request,
        evaluation: evaluation.as_ref(),
        aud_reading: aud_reading.as_ref(),
        assumed: assumed.as_ref(),
        verdict,
        cause: cause.as_deref(),
        now,
        issuer_url: &issuer.url,
        jwks_uri: &discovery.jwks_uri,
    };
    let text = report.text(reporter);
    let doc = report.json();
    let code = if verdict == Verdict::Accepted { 0 } else { 3 };
    Ok(Output::new(doc, text).with_exit_code(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_ip_is_one_address() {
        assert_eq!(
            parse_source_ip("203.0.113.7").unwrap().to_string(),
            "203.0.113.7"
        );
        assert!(parse_source_ip("2001:db8::1").is_ok());
        let e = parse_source_ip("203.0.113.0/24").unwrap_err();
        assert!(e.to_string().contains("not a range"), "{e}");
        assert!(parse_source_ip("bitbucket").is_err());
    }

    #[test]
    fn account_ids() {
        assert!(account_id("123456789012").is_ok());
        assert!(account_id("12345678901").is_err());
        assert!(account_id("12345678901x").is_err());
    }
}
