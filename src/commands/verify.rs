//! `bootstrap verify`: judge a pipeline's OIDC token as AWS STS would, check by check, and
//! name the first cause of a refusal in words that say what to change.
//!
//! The raw token is read once, kept in a [`Secret`] whose `Debug` is redacted, and only ever
//! handed to `jwt::decode` and (with `--assume`) to STS. Claims are printed; the token never.

use std::fmt::Write;
use std::io::{IsTerminal, Read};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::aws::{self, Aws};
use crate::config::validate::shown;
use crate::config::{Settings, SourceIp};
use crate::error::{Error, Result};
use crate::model::{self, Account, STATE_POLICY_NAME};
use crate::observe;
use crate::oidc::{self, discovery::Discovery};
use crate::report::{Output, Reporter, BOLD, DIM, GREEN, RED, YELLOW};
use crate::verify::evaluate::{self, Evaluation, Request};
use crate::verify::explain::{self, Verdict};
use crate::verify::jwt::{self, ClaimProblem, Decoded, JwtError};

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECS: i64 = 60;
/// The session name `--assume` uses (shows up in CloudTrail and in the assumed-role ARN).
pub const SESSION_NAME: &str = "bootstrap-verify";
/// `--assume` asks for the shortest session STS allows.
const ASSUME_SECONDS: i32 = 900;

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

/// The raw token. Never formatted: `Debug` is redacted and there is no `Display`.
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<token, {} bytes, redacted>", self.0.len())
    }
}

/// Whether a `--token` value looks like a token rather than a file name (so it is never
/// echoed in an error).
fn looks_like_token(arg: &str) -> bool {
    arg.starts_with("eyJ") || arg.len() > 200 || arg.matches('.').count() >= 2 && arg.len() > 60
}

const TOKEN_HINT: &str =
    "pass a file holding the value of $BITBUCKET_STEP_OIDC_TOKEN, or - to read it from stdin";

fn read_token(arg: &str) -> Result<Secret> {
    let limit = jwt::MAX_TOKEN_LEN as u64 + 1;
    let mut buf = Vec::new();
    let what;
    if arg == "-" {
        what = "stdin".to_string();
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Err(Error::usage(
                "--token - reads the token from stdin, but stdin is a terminal",
            )
            .hint(
                "pipe it in, e.g. `bootstrap verify --token - < token.txt`, or pass a file name",
            ));
        }
        stdin
            .lock()
            .take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| Error::usage(format!("cannot read the token from stdin: {e}")))?;
    } else {
        let path = std::path::Path::new(arg);
        if looks_like_token(arg) && !path.exists() {
            return Err(Error::usage(
                "--token takes a file name or -, and this value looks like the token itself (it is not repeated here)",
            )
            .hint("never put tokens on a command line, where shell history and process lists keep them; write it to a file, or pipe it in with --token -"));
        }
        what = format!("the token file {}", shown(arg));
        let file = std::fs::File::open(path)
            .map_err(|e| Error::usage(format!("cannot read {what}: {e}")).hint(TOKEN_HINT))?;
        file.take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| Error::usage(format!("cannot read {what}: {e}")).hint(TOKEN_HINT))?;
    }
    if buf.len() as u64 >= limit {
        return Err(Error::usage(format!(
            "{what} holds more than {} KiB, far more than any Bitbucket OIDC token",
            jwt::MAX_TOKEN_LEN / 1024
        ))
        .hint(TOKEN_HINT));
    }
    let text = String::from_utf8(buf)
        .map_err(|_| Error::usage(format!("{what} is not text")).hint(TOKEN_HINT))?;
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(Error::usage(format!("{what} is empty")).hint(TOKEN_HINT));
    }
    Ok(Secret(text))
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

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
struct Check {
    check: &'static str,
    status: Status,
    detail: String,
    /// For a failing check: the cause in words that say what to change.
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Pass,
    Fail,
    Skipped,
}

impl Check {
    fn pass(check: &'static str, detail: impl Into<String>) -> Check {
        Check {
            check,
            status: Status::Pass,
            detail: detail.into(),
            cause: None,
        }
    }

    fn fail(check: &'static str, detail: impl Into<String>, cause: impl Into<String>) -> Check {
        Check {
            check,
            status: Status::Fail,
            detail: detail.into(),
            cause: Some(cause.into()),
        }
    }

    fn skipped(check: &'static str, detail: impl Into<String>) -> Check {
        Check {
            check,
            status: Status::Skipped,
            detail: detail.into(),
            cause: None,
        }
    }
}

/// What the token is judged against: the live role and provider, or the desired ones.
struct Judge {
    live: bool,
    aws: Option<Aws>,
    role_name: String,
    /// None when the role does not exist.
    role_arn: Option<String>,
    trust_policy: Option<Value>,
    /// The provider ARN the request comes from (the registered one, or the one it would have).
    provider_arn: String,
    provider_found: bool,
    client_ids: Vec<String>,
    account: String,
}

async fn live_judge(settings: &Settings, reporter: &Reporter) -> Result<Judge> {
    let issuer = settings.require_issuer()?;
    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    reporter.progress(format!(
        "reading role {} and the IAM OIDC provider for {}",
        settings.role_name, issuer.url
    ));
    let (role, provider) = tokio::try_join!(
        observe::role(&aws, &settings.role_name, STATE_POLICY_NAME),
        observe::find_provider(&aws, issuer)
    )?;
    let partition = aws::partition(&aws.region);
    let account = role
        .as_ref()
        .map(|r| r.arn.as_str())
        .or(provider.as_ref().map(|p| p.arn.as_str()))
        .and_then(|arn| arn.split(':').nth(4))
        .filter(|a| !a.is_empty())
        .map(str::to_string);
    let account = match account {
        Some(a) => a,
        None => {
            let me = aws.sts.get_caller_identity().send().await.map_err(|e| {
                aws::classify(&e, "finding the AWS account (sts:GetCallerIdentity)", "sts")
            })?;
            me.account().unwrap_or_default().to_string()
        }
    };
    let provider_arn = provider.as_ref().map(|p| p.arn.clone()).unwrap_or_else(|| {
        format!(
            "arn:{partition}:iam::{account}:oidc-provider/{}",
            issuer.host_path
        )
    });
    Ok(Judge {
        live: true,
        role_name: settings.role_name.clone(),
        role_arn: role.as_ref().map(|r| r.arn.clone()),
        trust_policy: role.map(|r| r.trust_policy),
        provider_found: provider.is_some(),
        client_ids: provider.map(|p| p.client_ids).unwrap_or_default(),
        provider_arn,
        account,
        aws: Some(aws),
    })
}

async fn offline_judge(
    settings: &Settings,
    fetcher: &oidc::Fetcher,
    account_id: Option<&str>,
) -> Result<Judge> {
    let ranges = if settings.source_ips.contains(&SourceIp::Bitbucket) {
        oidc::ipranges::fetch(fetcher, &settings.ip_ranges_url).await?
    } else {
        Vec::new()
    };
    let region = settings.aws.region.clone().unwrap_or_default();
    let account = Account {
        id: account_id.unwrap_or("<account>").to_string(),
        partition: aws::partition(&region).to_string(),
        region,
    };
    let cidrs = model::source_cidrs(settings, &ranges);
    let desired = model::desired(settings, &account, &[], &cidrs)?;
    Ok(Judge {
        live: false,
        aws: None,
        role_name: desired.role.name.clone(),
        role_arn: Some(desired.role.arn.clone()),
        trust_policy: Some(desired.role.trust_policy.clone()),
        provider_arn: desired.provider.arn.clone(),
        provider_found: true,
        client_ids: desired.provider.client_ids.clone(),
        account: account.id,
    })
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// "5 minutes ago", "in 2 hours".
fn relative(t: i64, now: i64) -> String {
    let d = t.saturating_sub(now);
    let a = d.unsigned_abs();
    if a < 5 {
        return "now".to_string();
    }
    let amount = if a < 120 {
        format!("{a} seconds")
    } else if a < 7200 {
        format!("{} minutes", a / 60)
    } else if a < 172_800 {
        format!("{} hours", a / 3600)
    } else {
        format!("{} days", a / 86_400)
    };
    if d < 0 {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

fn claim_text(name: &str, value: &Value, now: i64) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) if matches!(name, "iat" | "exp" | "nbf" | "auth_time") => {
            match n.as_i64() {
                Some(t) => format!("{t}  ({}, {})", rfc3339(t), relative(t, now)),
                None => n.to_string(),
            }
        }
        other => other.to_string(),
    }
}

/// The JWKS keys as the verifier's type.
fn jwks_keys(d: &Discovery) -> Vec<jwt::Jwk> {
    d.jwks
        .keys
        .iter()
        .map(|k| jwt::Jwk {
            kid: k.kid.clone(),
            kty: k.kty.clone(),
            alg: k.alg.clone(),
            n: k.n.clone(),
            e: k.e.clone(),
        })
        .collect()
}

/// Checks on the token itself: algorithm, issuer, signing key, signature, lifetime.
fn token_checks(
    decoded: &Decoded,
    discovery: &Discovery,
    issuer_url: &str,
    now: i64,
) -> Vec<Check> {
    let mut checks = vec![Check::pass(
        "structure",
        "a signed JWT (header.payload.signature)",
    )];
    let keys = jwks_keys(discovery);
    let verified = jwt::verify_signature(decoded, &keys);
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
fn account_checks(
    judge: &Judge,
    issuer_url: &str,
    token_auds: &[String],
    evaluation: Option<&Evaluation>,
    source_ip_given: bool,
) -> (Vec<Check>, Option<Verdict>) {
    let mut checks = Vec::new();
    let mut undetermined = false;
    if judge.provider_found {
        checks.push(Check::pass(
            "identity provider",
            if judge.live {
                format!("IAM has {}", judge.provider_arn)
            } else {
                format!("{} (as `bootstrap init` creates it)", judge.provider_arn)
            },
        ));
        if token_auds.iter().any(|a| judge.client_ids.contains(a)) {
            checks.push(Check::pass(
                "audience",
                format!(
                    "aud {} is a client ID of the provider",
                    token_auds
                        .iter()
                        .find(|a| judge.client_ids.contains(a))
                        .map(|a| format!("`{a}`"))
                        .unwrap_or_default()
                ),
            ));
        } else {
            checks.push(Check::fail(
                "audience",
                format!("provider client IDs: {}", judge.client_ids.join(", ")),
                explain::audience_cause(
                    token_auds,
                    &judge.client_ids,
                    "the IAM OIDC provider's audiences, so STS answers \"Incorrect token audience\"",
                ),
            ));
        }
    } else {
        checks.push(Check::fail(
            "identity provider",
            format!("no IAM OIDC provider for {issuer_url} in account {}", judge.account),
            format!(
                "account {} has no IAM OIDC provider for {issuer_url}, so STS answers InvalidIdentityToken (no OpenIDConnect provider found): run `bootstrap init` for this issuer",
                judge.account
            ),
        ));
        checks.push(Check::skipped("audience", "no provider to compare with"));
    }

    match (&judge.role_arn, evaluation) {
        (None, _) => {
            checks.push(Check::fail(
                "role",
                format!("no role {} in account {}", judge.role_name, judge.account),
                format!(
                    "role `{}` does not exist in account {}, so STS answers \"Not authorized to perform sts:AssumeRoleWithWebIdentity\": check --role-name, or create the role with `bootstrap init`",
                    judge.role_name, judge.account
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

fn status_word(reporter: &Reporter, s: Status) -> String {
    match s {
        Status::Pass => reporter.paint(GREEN, "ok  "),
        Status::Fail => reporter.paint(RED, "FAIL"),
        Status::Skipped => reporter.paint(YELLOW, "--  "),
    }
}

fn render_evaluation(text: &mut String, reporter: &Reporter, e: &Evaluation, request: &Request) {
    if e.statements.is_empty() {
        let _ = writeln!(text, "  {}", e.reason);
        return;
    }
    for s in &e.statements {
        let label = match &s.sid {
            Some(sid) if !sid.is_empty() => format!("statement `{sid}`"),
            _ => format!("statement #{}", s.index + 1),
        };
        let _ = writeln!(
            text,
            "  {} ({}): {}",
            reporter.paint(BOLD, &label),
            if s.effect.is_empty() {
                "no Effect"
            } else {
                &s.effect
            },
            if s.applies {
                "applies"
            } else {
                "does not apply"
            }
        );
        let pass = |b: bool| status_word(reporter, if b { Status::Pass } else { Status::Fail });
        let _ = writeln!(
            text,
            "    {} principal  Federated {}",
            pass(s.principal_matched),
            request.federated_principal
        );
        let _ = writeln!(
            text,
            "    {} action     {}",
            pass(s.action_matched),
            request.action
        );
        for c in &s.conditions {
            let _ = writeln!(text, "    {} {} {}", pass(c.passed), c.operator, c.key);
            let show = |v: &[String]| {
                if v.is_empty() {
                    "(absent)".to_string()
                } else {
                    v.iter()
                        .map(|x| format!("`{x}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            let _ = writeln!(text, "           policy   {}", show(&c.expected));
            let _ = writeln!(text, "           request  {}", show(&c.actual));
            if let Some(note) = &c.note {
                let _ = writeln!(text, "           {}", reporter.paint(DIM, note));
            }
        }
        for n in &s.notes {
            let _ = writeln!(text, "    {}", reporter.paint(DIM, &format!("note: {n}")));
        }
    }
}

/// Assume the role with the token, then ask who we are with the temporary credentials.
/// `Ok(Err(cause))` when STS refuses the token.
async fn assume(
    aws: &Aws,
    role_arn: &str,
    token: &Secret,
    reporter: &Reporter,
) -> Result<std::result::Result<Value, String>> {
    reporter.progress(format!(
        "calling sts:AssumeRoleWithWebIdentity for {role_arn}"
    ));
    let out = match aws
        .sts
        .assume_role_with_web_identity()
        .role_arn(role_arn)
        .role_session_name(SESSION_NAME)
        .web_identity_token(token.0.as_str())
        .duration_seconds(ASSUME_SECONDS)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            return match e.as_service_error() {
                Some(service) => {
                    use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
                    let code = service.code().unwrap_or("Unknown");
                    let message = service.message().unwrap_or("").trim();
                    Ok(Err(format!(
                        "STS refused the token: {code}: {message} (docs/troubleshooting.md explains this error)"
                    )))
                }
                None => Err(aws::classify(
                    &e,
                    "calling sts:AssumeRoleWithWebIdentity",
                    role_arn,
                )),
            };
        }
    };
    let assumed = out
        .assumed_role_user()
        .map(|u| u.arn().to_string())
        .unwrap_or_default();
    let creds = out
        .credentials()
        .ok_or_else(|| Error::failure("sts:AssumeRoleWithWebIdentity returned no credentials"))?;
    let expiry = SystemTime::try_from(*creds.expiration()).ok();
    let temporary = aws_sdk_sts::config::Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_string()),
        expiry,
        "bootstrap-verify",
    );
    let client = aws_sdk_sts::Client::from_conf(
        aws.sts
            .config()
            .to_builder()
            .credentials_provider(temporary)
            .build(),
    );
    let me = client.get_caller_identity().send().await.map_err(|e| {
        aws::classify(
            &e,
            "calling sts:GetCallerIdentity with the temporary credentials",
            role_arn,
        )
    })?;
    Ok(Ok(json!({
        "assumed_role_arn": assumed,
        "caller_identity": {
            "arn": me.arn(),
            "account": me.account(),
            "user_id": me.user_id(),
        },
        "subject_from_token": out.subject_from_web_identity_token(),
        "audience": out.audience(),
        "provider": out.provider(),
        "expires": expiry.map(|t| rfc3339(t.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0))),
    })))
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
    let evaluation = judge
        .trust_policy
        .as_ref()
        .map(|p| evaluate::evaluate(p, &request));
    let (more, undetermined) = account_checks(
        &judge,
        &issuer.url,
        &token_auds,
        evaluation.as_ref(),
        source_ip.is_some(),
    );
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

    // Text report.
    let mut text = String::new();
    let h = &decoded.header;
    let _ = writeln!(
        text,
        "{}  alg {}, kid {}, typ {}",
        reporter.paint(BOLD, "token"),
        h.alg,
        h.kid.as_deref().unwrap_or("(none)"),
        h.typ.as_deref().unwrap_or("(none)")
    );
    let width = decoded
        .claims
        .keys()
        .map(|k| k.len())
        .max()
        .unwrap_or(0)
        .min(26);
    let signature_ok = checks
        .iter()
        .any(|c| c.check == "signature" && c.status == Status::Pass);
    if !signature_ok {
        let _ = writeln!(
            text,
            "  {}",
            reporter.paint(
                YELLOW,
                "(claims NOT verified: the signature check did not pass, so anyone could have written them)"
            )
        );
    }
    for (k, v) in &decoded.claims {
        let _ = writeln!(text, "  {k:<width$}  {}", claim_text(k, v, now));
    }
    let _ = writeln!(text, "\n{}", reporter.paint(BOLD, "checks"));
    for c in &checks {
        let _ = writeln!(
            text,
            "  {} {:<17} {}",
            status_word(reporter, c.status),
            c.check,
            c.detail
        );
    }
    if let Some(e) = &evaluation {
        let _ = writeln!(
            text,
            "\n{}",
            reporter.paint(
                BOLD,
                &if judge.live {
                    format!(
                        "trust policy of role {} (read from IAM)",
                        judge.role_arn.as_deref().unwrap_or(&judge.role_name)
                    )
                } else {
                    format!(
                        "trust policy `bootstrap init` writes for role {} (--offline)",
                        judge.role_name
                    )
                }
            )
        );
        render_evaluation(&mut text, reporter, e, &request);
    }
    if let Some(a) = &assumed {
        let _ = writeln!(text, "\n{}", reporter.paint(BOLD, "sts"));
        let _ = writeln!(
            text,
            "  assumed role    {}",
            a["assumed_role_arn"].as_str().unwrap_or_default()
        );
        let _ = writeln!(
            text,
            "  caller identity {}",
            a["caller_identity"]["arn"].as_str().unwrap_or_default()
        );
        if let Some(exp) = a["expires"].as_str() {
            let _ = writeln!(text, "  expires         {exp}");
        }
    }
    let color = match verdict {
        Verdict::Accepted => GREEN,
        Verdict::Refused => RED,
        Verdict::Undetermined => YELLOW,
    };
    let _ = writeln!(text, "\nverdict: {}", reporter.paint(color, verdict.word()));
    match &cause {
        Some(c) => {
            let _ = writeln!(text, "cause: {c}");
        }
        None => {
            let _ = writeln!(
                text,
                "{}",
                if assumed.is_some() {
                    "STS issued credentials for this token"
                } else {
                    "STS would accept this token for this role (add --assume to try it)"
                }
            );
        }
    }

    let mut claims = Map::new();
    for (k, v) in &decoded.claims {
        claims.insert(k.clone(), v.clone());
    }
    let mut doc = json!({
        "verdict": verdict,
        "cause": cause,
        "issuer": issuer.url,
        "jwks_uri": discovery.jwks_uri,
        "token": {
            "header": { "alg": h.alg, "kid": h.kid, "typ": h.typ },
            "claims": claims,
            "signature_verified": signature_ok,
        },
        "checks": checks,
        "judged_against": {
            "source": if judge.live { "iam" } else { "offline" },
            "role_name": judge.role_name,
            "role_arn": judge.role_arn,
            "provider_arn": judge.provider_arn,
            "provider_found": judge.provider_found,
            "client_ids": judge.client_ids,
            "trust_policy": judge.trust_policy,
        },
        "request": request,
        "evaluation": evaluation,
        "checked_at": rfc3339(now),
        "leeway_seconds": LEEWAY_SECS,
    });
    if let Some(a) = assumed {
        doc["sts"] = a;
    }
    if let Some(aws) = &judge.aws {
        doc["aws_calls"] = aws.calls.summary();
    }
    let code = if verdict == Verdict::Accepted { 0 } else { 3 };
    Ok(Output::new(doc, text).with_exit_code(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_like_arguments_are_recognised() {
        assert!(looks_like_token("eyJhbGciOiJSUzI1NiJ9.e30.sig"));
        assert!(looks_like_token(&"a".repeat(201)));
        assert!(!looks_like_token("token.txt"));
        assert!(!looks_like_token("/tmp/step/oidc-token"));
        assert!(!looks_like_token("-"));
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret("eyJhbGciOiJSUzI1NiJ9.e30.c2ln".into());
        let shown = format!("{s:?}");
        assert!(!shown.contains("eyJ"), "{shown}");
        assert!(shown.contains("redacted"));
    }

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
    fn relative_times() {
        assert_eq!(relative(100, 160), "60 seconds ago");
        assert_eq!(relative(1000 + 3600, 1000), "in 60 minutes");
        assert_eq!(relative(0, 3 * 86_400), "3 days ago");
    }

    #[test]
    fn account_ids() {
        assert!(account_id("123456789012").is_ok());
        assert!(account_id("12345678901").is_err());
        assert!(account_id("12345678901x").is_err());
    }
}
