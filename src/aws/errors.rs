//! The one place AWS errors are classified into a message, a code and a hint.

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
            format!("the AWS identity running bootstrap may not do this ({action}); run it with an administrator profile (--profile)")
        }
        "ExpiredToken" | "ExpiredTokenException" | "InvalidClientTokenId" | "UnrecognizedClientException"
        | "SignatureDoesNotMatch" | "InvalidAccessKeyId" => {
            "the AWS credentials are invalid or expired; refresh them (aws sso login) or pick another --profile".to_string()
        }
        "Throttling" | "ThrottlingException" | "TooManyRequestsException" | "RequestLimitExceeded"
        | "SlowDown" | "ProvisionedThroughputExceededException" => {
            "AWS kept throttling after five attempts; wait a minute and run again (a re-run continues where this one stopped)".to_string()
        }
        "LimitExceeded" | "LimitExceededException" => {
            "an account quota is reached; remove unused resources or ask AWS for a higher limit".to_string()
        }
        "PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException" => {
            "the bucket lives in another region; pass that region with --region, or choose another --state-bucket".to_string()
        }
        "EntityAlreadyExists" | "ResourceInUseException" | "OperationAborted" | "ConcurrentModification" => {
            "something else changed this resource at the same time; run again".to_string()
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
