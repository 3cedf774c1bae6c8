//! Unit tests of trust policy evaluation, with shared fixtures.

use super::*;
use serde_json::{json, Value};

const PROVIDER: &str = "arn:aws:iam::123456789012:oidc-provider/api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
const P: &str = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
const AUD: &str = "ari:cloud:bitbucket::workspace/1111-2222";
const REPO: &str = "{aaaa-1111}";

fn key(name: &str) -> String {
    format!("{P}:{name}")
}

fn request(sub: &str) -> Request {
    Request::web_identity(PROVIDER)
        .with(key("aud"), [AUD])
        .with(key("sub"), [sub])
}

/// A single-statement trust policy with the given condition block.
fn policy(condition: Value) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "Bitbucket",
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition
        }]
    })
}

fn allowed(condition: Value, req: &Request) -> bool {
    evaluate(&policy(condition), req).allowed
}

fn only_condition(e: &Evaluation) -> &ConditionResult {
    &e.statements[0].conditions[0]
}

mod operators;
mod statements;
