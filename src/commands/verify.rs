//! `bootstrap verify`: judge a pipeline's OIDC token as AWS STS would, check by check, and
//! name the first cause of a refusal in words that say what to change.
//!
//! The stages: read the token ([`observe::token`]) and the issuer's keys ([`oidc`]); read
//! the role and provider from IAM ([`observe::verify`]) or, with `--offline`, take the ones
//! `init` would create ([`model::desired`]); judge ([`crate::verify::judge`]); with
//! `--assume`, ask STS itself ([`observe::sts`]).
//!
//! The raw token is read once, kept in a [`Secret`] whose `Debug` is redacted, and only ever
//! handed to `jwt::decode` and (with `--assume`) to STS. Claims are printed; the token never.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::aws::{self, Aws};
use crate::config::validate::shown;
use crate::config::{Settings, SourceIp};
use crate::error::{Error, Result};
use crate::jwt;
use crate::model::{self, Account};
use crate::observe::token::{read_token, Secret};
use crate::observe::verify::Target;
use crate::observe::{self, sts};
use crate::oidc;
use crate::report::{Output, Reporter};
use crate::verify::{judge, Verdict, VerifyReport};

/// What `verify` was asked to do, apart from the settings.
#[derive(Debug, Clone)]
pub(super) struct Options {
    /// A file name, or `-` for stdin.
    pub token: String,
    pub offline: bool,
    pub source_ip: Option<String>,
    pub assume: bool,
    pub account_id: Option<String>,
    /// `--role`: the configured role that judges the token.
    pub roles: Vec<String>,
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
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

pub(super) async fn run(settings: &Settings, reporter: &Reporter, opts: Options) -> Result<Output> {
    // Every input is checked before the first network or AWS call.
    let narrowed = settings.narrowed(&opts.roles)?;
    let settings = &*narrowed;
    settings.one_role(&[], "verify")?;
    let issuer = settings.require_issuer()?;
    if opts.offline {
        crate::model::quota::check_trust_inputs(settings)?;
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
    reporter.debug(format!("read a token of {} bytes", token.len()));
    let decoded = jwt::decode(token.expose()).map_err(|e| Error::usage(e.to_string()))?;

    reporter.progress(format!("fetching the signing keys of {}", issuer.url));
    let fetcher = Arc::new(oidc::Fetcher::new(tls, settings.timeout)?);
    let target = async {
        if opts.offline {
            Ok((
                offline_target(settings, &fetcher, account.as_deref()).await?,
                None,
            ))
        } else {
            live_target(settings, reporter).await
        }
    };
    let (discovery, (target, aws)) =
        tokio::try_join!(oidc::discovery::discover(&fetcher, issuer), target)?;

    let mut report = judge(
        decoded,
        &discovery,
        target,
        source_ip,
        now(),
        &settings.source,
    );
    if opts.assume {
        assume(&mut report, aws.as_ref(), &token, reporter).await?;
    }
    drop(token);
    report.aws_calls = aws.map(|aws| aws.calls.summary());
    Ok(Output::of(&report, reporter))
}

/// The live role and provider, read from IAM, and the connection for `--assume`.
async fn live_target(settings: &Settings, reporter: &Reporter) -> Result<(Target, Option<Aws>)> {
    let issuer = settings.require_issuer()?;
    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    let role = settings.one_role(&[], "verify")?;
    reporter.progress(format!(
        "reading role {} and the IAM OIDC provider for {}",
        role.name, issuer.url
    ));
    let target = observe::verify::target(&aws, issuer, &role.name).await?;
    Ok((target, Some(aws)))
}

/// The role and provider `bootstrap init` would create from these settings (`--offline`).
async fn offline_target(
    settings: &Settings,
    fetcher: &oidc::Fetcher,
    account_id: Option<&str>,
) -> Result<Target> {
    let role = settings.one_role(&[], "verify")?;
    let ranges = if role.source_ips.contains(&SourceIp::Bitbucket) {
        oidc::ipranges::fetch(fetcher, &settings.trust.ip_ranges_url).await?
    } else {
        Vec::new()
    };
    let region = settings.aws.region.clone().unwrap_or_default();
    let account = Account {
        id: account_id.unwrap_or("<account>").to_string(),
        partition: aws::partition(&region).to_string(),
        region,
    };
    let desired = model::desired(settings, &account, &[], &ranges)?;
    let role = desired.role(&role.name).unwrap_or(desired.primary_role());
    Ok(Target::desired(&desired, role))
}

/// `--assume`: ask STS itself, when every check passes and the role was read from IAM.
async fn assume(
    report: &mut VerifyReport,
    aws: Option<&Aws>,
    token: &Secret,
    reporter: &Reporter,
) -> Result<()> {
    let role_arn = report.judged_against.role_arn.clone();
    match (aws, role_arn, report.verdict) {
        (Some(aws), Some(arn), Verdict::Accepted) => {
            let answer = sts::assume(aws, &arn, token, reporter).await?;
            report.assumed(answer);
        }
        _ => report.not_assumed(),
    }
    Ok(())
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
