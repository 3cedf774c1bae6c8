//! What `verify` found, as one value: serialized, it is the `--output json` document.

use serde::Serialize;
use serde_json::{Map, Value};

use super::checks::Check;
use super::explain::Verdict;
use crate::iam::{AudReading, Evaluation, Request};
use crate::jwt::Header;
use crate::observe::sts::Assumed;
use crate::observe::verify::Target;

/// Everything `verify` found. Serialized, it is the `--output json` document.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub verdict: Verdict,
    pub cause: Option<String>,
    pub issuer: String,
    pub jwks_uri: String,
    pub token: TokenSummary,
    pub checks: Vec<Check>,
    pub judged_against: Target,
    pub request: Request,
    pub evaluation: Option<Evaluation>,
    /// How a list `aud` was judged (None when `aud` is one string).
    pub aud_reading: Option<AudReading>,
    pub checked_at: String,
    pub leeway_seconds: i64,
    /// What `--assume` got back from STS.
    #[serde(rename = "sts", skip_serializing_if = "Option::is_none")]
    pub assumed: Option<Assumed>,
    /// The AWS calls made, when the role was read from IAM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_calls: Option<Value>,
    /// When the checks were made (unix seconds), for the relative times in the text.
    #[serde(skip)]
    pub now: i64,
}

/// The token as decoded: its header and claims, and whether its signature verified (so the
/// claims can be trusted).
#[derive(Debug, Clone, Serialize)]
pub struct TokenSummary {
    pub header: Header,
    pub claims: Map<String, Value>,
    pub signature_verified: bool,
}

impl VerifyReport {
    /// `--assume` was answered: STS issued credentials, or refused the token.
    pub fn assumed(&mut self, answer: Result<Assumed, String>) {
        match answer {
            Ok(assumed) => {
                self.checks.push(Check::pass(
                    "sts",
                    format!("assumed {}", assumed.assumed_role_arn),
                ));
                self.assumed = Some(assumed);
            }
            Err(refusal) => {
                self.checks.push(Check::fail(
                    "sts",
                    "sts:AssumeRoleWithWebIdentity",
                    refusal.clone(),
                ));
                self.verdict = Verdict::Refused;
                self.cause = Some(refusal);
            }
        }
    }

    /// `--assume` was not tried, because the checks above do not pass (or cannot be judged).
    pub fn not_assumed(&mut self) {
        self.checks.push(Check::skipped(
            "sts",
            if self.verdict == Verdict::Undetermined {
                "not called: pass --source-ip so the IP condition can be judged first"
            } else {
                "not called: the checks above do not pass"
            },
        ));
    }
}
