//! `operator-policy`: the IAM policy whoever runs `bootstrap` needs, and what it covers.

use serde::Serialize;
use serde_json::Value;

use super::{Paint, Report};

/// `bootstrap operator-policy`. The text is the policy document alone, ready to paste.
#[derive(Debug, Serialize)]
pub struct OperatorPolicyReport {
    pub policy: Value,
    pub mode: &'static str,
    pub stack: Option<String>,
    pub stackset: Option<String>,
    /// `--account-id`, when given (otherwise the ARNs match any account).
    pub account: Option<String>,
    pub region: Option<String>,
    pub roles: Vec<String>,
    /// The commands the policy lets its holder run.
    pub covers: Vec<&'static str>,
    /// The policy's size as IAM counts it (no whitespace).
    pub characters: usize,
}

impl Report for OperatorPolicyReport {
    fn text(&self, _paint: Paint) -> String {
        serde_json::to_string_pretty(&self.policy).unwrap_or_default() + "\n"
    }
}
