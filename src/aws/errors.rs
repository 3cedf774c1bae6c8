//! The one place AWS errors are classified: into a message, a code and a hint, and as
//! retryable (transient) or not.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::Error;

/// The AWS error code of a service error (`NoSuchEntity`, `ResourceNotFoundException`, ...).
pub fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.as_service_error().and_then(|e| e.code())
}

/// Whether a service error has one of these codes.
pub fn is<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>, codes: &[&str]) -> bool {
    code(err).is_some_and(|c| codes.contains(&c))
}

/// Whether a CloudFormation error says the stack does not exist (CloudFormation answers
/// `ValidationError` with "Stack with id NAME does not exist", not a code of its own).
pub fn is_missing_stack<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    code(err) == Some("ValidationError")
        && err
            .as_service_error()
            .and_then(|e| e.message())
            .is_some_and(|m| m.contains("does not exist"))
}

/// Throttling codes across the services (IAM and STS `Throttling`, DynamoDB
/// `ThrottlingException`, S3 `SlowDown`, ...).
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "ProvisionedThroughputExceededException",
];

/// What the caller knows that makes an otherwise final error transient.
#[derive(Debug, Clone, Copy, Default)]
pub struct Known {
    /// The kind of IAM entity (`role`, `provider`, as IAM's messages name it) the call names
    /// and that was created moments ago (by this run, or AWS just said it exists): IAM,
    /// eventually consistent, may still answer `NoSuchEntity` for it. A `NoSuchEntity` about
    /// something else (a policy ARN that does not exist) stays final.
    pub fresh_entity: Option<&'static str>,
    /// The trust policy names an OIDC provider created moments ago: IAM may still refuse it
    /// as an unknown principal (`MalformedPolicyDocument`).
    pub fresh_principal: bool,
    /// The table is being created or updated: `UpdateTable` answers
    /// `ResourceInUseException` until it is ACTIVE again.
    pub table_in_transition: bool,
    /// The role being assumed was created moments ago: STS refuses it (`AccessDenied`) until
    /// IAM's change has reached it.
    pub assuming_new_role: bool,
    /// The role's policies were removed moments ago: IAM may still see one and refuse to
    /// delete the role (`DeleteConflict`).
    pub policies_just_removed: bool,
}

/// Whether a failed call may succeed if made again shortly (with [`super::retry`]'s
/// backoff). AWS refuses these for a while, then accepts:
///
/// * S3 `OperationAborted`: another configuration write on the bucket is in progress;
/// * DynamoDB `ContinuousBackupsUnavailableException`: backups are still being enabled on a
///   new table;
/// * DynamoDB `ResourceInUseException` while the table is CREATING or UPDATING (otherwise it
///   means the table exists);
/// * IAM `NoSuchEntity` for an entity known to exist (created moments ago), and
///   `MalformedPolicyDocument` naming a principal created moments ago;
/// * STS `AccessDenied` when assuming a role created moments ago, IAM `DeleteConflict` when
///   deleting a role whose policies were removed moments ago;
/// * throttling, when the SDK's own retries (five attempts) did not outlast it.
pub fn retryable(e: &Error, known: Known) -> bool {
    match e.code.as_deref() {
        Some("OperationAborted" | "ContinuousBackupsUnavailableException") => true,
        Some("ResourceInUseException") => known.table_in_transition,
        Some("AccessDenied") => known.assuming_new_role,
        Some("DeleteConflict") => known.policies_just_removed,
        Some("NoSuchEntity") => known
            .fresh_entity
            .is_some_and(|kind| e.message.to_ascii_lowercase().contains(kind)),
        Some("MalformedPolicyDocument") => {
            known.fresh_principal && e.message.to_ascii_lowercase().contains("principal")
        }
        Some(code) => THROTTLING.contains(&code),
        None => false,
    }
}

/// The HTTP status of a service error's response.
pub fn http_status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    match err {
        SdkError::ServiceError(service) => Some(service.raw().status().as_u16()),
        _ => None,
    }
}

/// Classify a failed call. `action` is what we were doing ("creating the role"), `resource`
/// the name of the thing it was done to.
pub fn classify<E>(err: &SdkError<E, HttpResponse>, action: &str, resource: &str) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("Unknown");
            let fallback = if e.message().is_none() && e.code().is_none() {
                // No code or message: say what came back, briefly.
                Some(format!(
                    "unexpected response (HTTP {})",
                    service.raw().status().as_u16()
                ))
            } else {
                None
            };
            let message = e.message().map(str::to_string).or(fallback).unwrap_or_default();
            let message = message.trim();
            let mut out = Error::failure(if message.is_empty() {
                format!("{action} failed")
            } else {
                format!("{action} failed: {message}")
            })
            .resource(resource.to_string())
            .code(code.to_string());
            if let Some(hint) = hint_for(code, action) {
                out = out.hint(hint);
            }
            out
        }
        SdkError::TimeoutError(_) => Error::failure(format!("{action} timed out"))
            .resource(resource.to_string())
            .hint("AWS did not answer in time; check the network path and --endpoint-url, then run again"),
        _ if is_credentials_error(err) => credentials_failure(action, resource),
        SdkError::DispatchFailure(d) => {
            let detail = source_chain(err);
            let (what, hint) = if d.is_io() || d.is_timeout() {
                (
                    format!("cannot reach AWS ({detail})"),
                    "check the network, --region and --endpoint-url",
                )
            } else {
                (detail, "check --region, --endpoint-url and your credentials (--profile)")
            };
            Error::failure(format!("{action} failed: {what}"))
                .resource(resource.to_string())
                .hint(hint)
        }
        other => {
            let detail = source_chain(other);
            Error::failure(format!("{action} failed: {detail}"))
                .resource(resource.to_string())
                .hint("check --region, --endpoint-url and your credentials (--profile)")
        }
    }
}

/// Whether loading credentials failed (rather than the call itself).
fn is_credentials_error(err: &dyn std::error::Error) -> bool {
    source_chain(err)
        .to_ascii_lowercase()
        .contains("credential")
}

/// A credentials failure, with the provider's own words deliberately left out: the SDK's
/// errors quote a `credential_process`'s stderr and output and lines of the credentials
/// file, which may hold the very secrets they failed to load. Nothing of the source chain
/// is shown, at any verbosity.
fn credentials_failure(action: &str, resource: &str) -> Error {
    Error::failure(format!(
        "{action} failed: no usable AWS credentials (the credential provider's message is not shown, as it may contain secrets)"
    ))
    .resource(resource.to_string())
    .hint("check them with `aws sts get-caller-identity` (same --profile), then configure credentials (aws configure / aws sso login) or pick a profile with --profile")
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let s_text = s.to_string();
        if !parts.iter().any(|p| p.contains(&s_text)) {
            parts.push(s_text);
        }
        cur = s.source();
    }
    parts.join(": ")
}

fn hint_for(code: &str, action: &str) -> Option<String> {
    let hint = match code {
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "AuthorizationError" => {
            format!("the AWS identity running bootstrap may not do this ({action}); give it the policy `bootstrap operator-policy` prints for these settings, or use a --profile that has it")
        }
        "ExpiredToken" | "ExpiredTokenException" | "InvalidClientTokenId" | "UnrecognizedClientException"
        | "SignatureDoesNotMatch" | "InvalidAccessKeyId" => {
            "the AWS credentials are invalid or expired; refresh them (aws sso login) or pick another --profile".to_string()
        }
        _ if THROTTLING.contains(&code) => {
            "AWS kept throttling; wait a minute and run again (a re-run continues where this one stopped)".to_string()
        }
        "LimitExceeded" | "LimitExceededException" => {
            "an account quota is reached; remove unused resources or ask AWS for a higher limit".to_string()
        }
        "PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException" => {
            "the bucket lives in another region; pass that region with --region, or choose another --state-bucket".to_string()
        }
        "EntityAlreadyExists" | "ResourceInUseException" | "OperationAborted" | "ConcurrentModification"
        | "ContinuousBackupsUnavailableException" => {
            "something else changed this resource at the same time, or AWS is still settling it; run again".to_string()
        }
        "MalformedPolicyDocument" => {
            "AWS refused a policy document; check --policy-arn, --source-ip and the repository UUIDs".to_string()
        }
        "InsufficientCapabilitiesException" => {
            "CloudFormation wants an extra capability for this template; this is a bug in bootstrap, please report it".to_string()
        }
        "OperationInProgressException" => {
            "another operation on this StackSet is running; wait for it to finish (bootstrap status), then run again".to_string()
        }
        "StackSetNotFoundException" => {
            "no StackSet of that name in this account and region; check --stackset and --region".to_string()
        }
        "TokenAlreadyExistsException" | "OperationIdAlreadyExistsException" => {
            "CloudFormation saw this request twice; run again".to_string()
        }
        "AlreadyExistsException" | "NameAlreadyExistsException" | "CreatedButModifiedException" => {
            "it already exists; run again to pick it up (bootstrap compares before it creates)".to_string()
        }
        "InvalidInput" | "ValidationError" | "ValidationException" => {
            "AWS refused a value; check the flags named in the message".to_string()
        }
        _ => return None,
    };
    Some(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str, message: &str) -> Error {
        Error::failure(message).code(code)
    }

    #[test]
    fn transient_refusals_are_retryable_whatever_the_caller_knows() {
        for code in [
            "OperationAborted",
            "ContinuousBackupsUnavailableException",
            "Throttling",
            "ThrottlingException",
            "SlowDown",
        ] {
            assert!(retryable(&err(code, "x"), Known::default()), "{code}");
        }
    }

    #[test]
    fn access_denied_points_to_the_operator_policy() {
        let hint = hint_for("AccessDenied", "iam:CreateRole").unwrap();
        assert!(hint.contains("iam:CreateRole"), "{hint}");
        assert!(hint.contains("bootstrap operator-policy"), "{hint}");
    }

    #[test]
    fn context_dependent_codes_need_the_context() {
        let in_use = err("ResourceInUseException", "Table is being created: t");
        assert!(!retryable(&in_use, Known::default()));
        let changing = Known {
            table_in_transition: true,
            ..Known::default()
        };
        assert!(retryable(&in_use, changing));

        let missing = err("NoSuchEntity", "The role with name r cannot be found.");
        assert!(!retryable(&missing, Known::default()));
        let fresh = Known {
            fresh_entity: Some("role"),
            ..Known::default()
        };
        assert!(retryable(&missing, fresh));
        let no_policy = err(
            "NoSuchEntity",
            "Policy arn:aws:iam::aws:policy/Nope does not exist or is not attachable.",
        );
        assert!(!retryable(&no_policy, fresh));

        let principal = err("MalformedPolicyDocument", "Invalid principal in policy");
        let syntax = err("MalformedPolicyDocument", "Syntax errors in policy");
        let new_provider = Known {
            fresh_principal: true,
            ..Known::default()
        };
        assert!(retryable(&principal, new_provider));
        assert!(!retryable(&syntax, new_provider));
        assert!(!retryable(&principal, Known::default()));
    }

    #[test]
    fn final_errors_are_not_retryable() {
        let denied = err(
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        );
        assert!(!retryable(&denied, Known::default()));
        let new_role = Known {
            assuming_new_role: true,
            ..Known::default()
        };
        assert!(retryable(&denied, new_role));
        let conflict = err(
            "DeleteConflict",
            "Cannot delete entity, must detach all policies first.",
        );
        assert!(!retryable(&conflict, Known::default()));
        let detached = Known {
            policies_just_removed: true,
            ..Known::default()
        };
        assert!(retryable(&conflict, detached));
        let all = Known {
            fresh_entity: Some("role"),
            fresh_principal: true,
            table_in_transition: true,
            assuming_new_role: false,
            policies_just_removed: true,
        };
        for code in ["AccessDenied", "BucketAlreadyExists", "ValidationError"] {
            assert!(!retryable(&err(code, "x"), all), "{code}");
        }
        assert!(!retryable(&Error::failure("no code"), all));
    }
}
