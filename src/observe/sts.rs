//! `verify --assume`: ask STS itself whether it accepts the token, then who the temporary
//! credentials belong to.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_sts::error::SdkError;
use aws_sdk_sts::operation::assume_role_with_web_identity::{
    AssumeRoleWithWebIdentityError, AssumeRoleWithWebIdentityOutput,
};
use aws_sdk_sts::types::Credentials;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use serde::Serialize;

use super::token::Secret;
use crate::aws::retry::{self, Backoff};
use crate::aws::{self, Aws};
use crate::error::{Error, Result};
use crate::jwt::rfc3339;
use crate::progress::Progress;

/// `--assume` asks for the shortest session STS allows.
const ASSUME_SECONDS: i32 = 900;

/// The session name `--assume` uses (shows up in CloudTrail and in the assumed-role ARN).
pub const SESSION_NAME: &str = "bootstrap-verify";

/// What STS answered with the token's temporary credentials.
#[derive(Debug, Clone, Serialize)]
pub struct Assumed {
    pub assumed_role_arn: String,
    pub caller_identity: CallerIdentity,
    pub subject_from_token: Option<String>,
    pub audience: Option<String>,
    pub provider: Option<String>,
    /// When the credentials expire (RFC 3339).
    pub expires: Option<String>,
}

/// `sts:GetCallerIdentity` with the temporary credentials.
#[derive(Debug, Clone, Serialize)]
pub struct CallerIdentity {
    pub arn: Option<String>,
    pub account: Option<String>,
    pub user_id: Option<String>,
}

/// Assume the role with the token, then ask who we are with the temporary credentials.
/// `Ok(Err(cause))` when STS refuses the token.
pub async fn assume(
    aws: &Aws,
    role_arn: &str,
    token: &Secret,
    reporter: &dyn Progress,
) -> Result<std::result::Result<Assumed, String>> {
    reporter.progress(&format!(
        "calling sts:AssumeRoleWithWebIdentity for {role_arn}"
    ));
    let out = match settled_answer(aws, role_arn, token, reporter).await? {
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
    let creds = out
        .credentials()
        .ok_or_else(|| Error::failure("sts:AssumeRoleWithWebIdentity returned no credentials"))?;
    let expiry = SystemTime::try_from(*creds.expiration()).ok();
    let caller_identity = caller_identity(aws, creds, expiry, role_arn).await?;
    let owned = |s: Option<&str>| s.map(str::to_string);
    Ok(Ok(Assumed {
        assumed_role_arn: out
            .assumed_role_user()
            .map(|u| u.arn().to_string())
            .unwrap_or_default(),
        caller_identity,
        subject_from_token: owned(out.subject_from_web_identity_token()),
        audience: owned(out.audience()),
        provider: owned(out.provider()),
        expires: expiry.map(|t| rfc3339(unix_seconds(t))),
    }))
}

type Answer = std::result::Result<
    AssumeRoleWithWebIdentityOutput,
    SdkError<AssumeRoleWithWebIdentityError, HttpResponse>,
>;

/// One `sts:AssumeRoleWithWebIdentity` call with the token.
async fn ask(aws: &Aws, role_arn: &str, token: &Secret) -> Answer {
    aws.sts
        .assume_role_with_web_identity()
        .role_arn(role_arn)
        .role_session_name(SESSION_NAME)
        .web_identity_token(token.expose())
        .duration_seconds(ASSUME_SECONDS)
        .send()
        .await
}

/// STS's answer. IAM is eventually consistent: a role created moments ago is not assumable
/// for a few seconds, so for such a role STS is asked again, with the one backoff, while it
/// says AccessDenied.
async fn settled_answer(
    aws: &Aws,
    role_arn: &str,
    token: &Secret,
    reporter: &dyn Progress,
) -> Result<Answer> {
    let answer = ask(aws, role_arn, token).await;
    let refused = answer
        .as_ref()
        .is_err_and(|e| aws::errors::is(e, &["AccessDenied"]));
    if !refused || !role_is_new(aws, role_arn).await {
        return Ok(answer);
    }
    reporter.progress(&format!(
        "{role_arn} was created moments ago; asking STS again while the change reaches it"
    ));
    let new_role = aws::errors::Known {
        assuming_new_role: true,
        ..Default::default()
    };
    let last = std::sync::Mutex::new(None);
    let settled = retry::until(Backoff::BRIEF, || async {
        match ask(aws, role_arn, token).await {
            Err(e)
                if aws::errors::retryable(
                    &aws::classify(&e, "assuming the role", role_arn),
                    new_role,
                ) =>
            {
                if let Ok(mut l) = last.lock() {
                    *l = Some(e);
                }
                Ok(None)
            }
            other => Ok(Some(other)),
        }
    })
    .await?;
    Ok(settled
        .or_else(|| last.into_inner().ok().flatten().map(Err))
        .unwrap_or(answer))
}

/// `sts:GetCallerIdentity` with the temporary credentials.
async fn caller_identity(
    aws: &Aws,
    creds: &Credentials,
    expiry: Option<SystemTime>,
    role_arn: &str,
) -> Result<CallerIdentity> {
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
    let owned = |s: Option<&str>| s.map(str::to_string);
    Ok(CallerIdentity {
        arn: owned(me.arn()),
        account: owned(me.account()),
        user_id: owned(me.user_id()),
    })
}

/// Whether the role was created in the last minute (IAM's changes take seconds to reach
/// STS). False when it cannot be read.
async fn role_is_new(aws: &Aws, role_arn: &str) -> bool {
    let name = role_arn.rsplit('/').next().unwrap_or(role_arn);
    let Ok(out) = aws.iam.get_role().role_name(name).send().await else {
        return false;
    };
    let Some(created) = out.role().map(|r| *r.create_date()) else {
        return false;
    };
    unix_seconds(SystemTime::now()) - created.secs() < 60
}

fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
