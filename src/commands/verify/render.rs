//! The report: text for people, JSON for scripts.

use std::fmt::Write;

use serde_json::{json, Map, Value};

use super::checks::{Check, Status};
use super::judge::Judge;
use super::LEEWAY_SECS;
use crate::iam::{AudReading, Evaluation, Request};
use crate::jwt::{rfc3339, Decoded};
use crate::report::{Reporter, BOLD, DIM, GREEN, RED, YELLOW};
use crate::verify::explain::Verdict;

/// Everything `verify` found, ready to be shown.
pub(super) struct Report<'a> {
    pub(super) decoded: &'a Decoded,
    pub(super) checks: &'a [Check],
    pub(super) judge: &'a Judge,
    pub(super) request: &'a Request,
    pub(super) evaluation: Option<&'a Evaluation>,
    /// How a list `aud` was judged (None when `aud` is one string).
    pub(super) aud_reading: Option<&'a AudReading>,
    /// What `--assume` got back from STS.
    pub(super) assumed: Option<&'a Value>,
    pub(super) verdict: Verdict,
    pub(super) cause: Option<&'a str>,
    pub(super) now: i64,
    pub(super) issuer_url: &'a str,
    pub(super) jwks_uri: &'a str,
}

impl Report<'_> {
    /// Did the signature check pass (so the claims are trustworthy)?
    fn signature_ok(&self) -> bool {
        self.checks
            .iter()
            .any(|c| c.check == "signature" && c.status == Status::Pass)
    }

    /// The text report.
    pub(super) fn text(&self, reporter: &Reporter) -> String {
        let Report {
            decoded,
            checks,
            judge,
            request,
            evaluation,
            assumed,
            verdict,
            cause,
            now,
            ..
        } = *self;
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
        let signature_ok = self.signature_ok();
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
        for c in checks {
            let _ = writeln!(
                text,
                "  {} {:<17} {}",
                status_word(reporter, c.status),
                c.check,
                c.detail
            );
        }
        if let Some(e) = evaluation {
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
            if let Some(r) = self.aud_reading {
                let _ = writeln!(text, "  {}", reporter.paint(DIM, &r.line()));
            }
            render_evaluation(&mut text, reporter, e, request);
        }
        if let Some(a) = assumed {
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
        match cause {
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
        text
    }

    /// The JSON document (`--output json`).
    pub(super) fn json(&self) -> Value {
        let h = &self.decoded.header;
        let mut claims = Map::new();
        for (k, v) in &self.decoded.claims {
            claims.insert(k.clone(), v.clone());
        }
        let mut doc = json!({
            "verdict": self.verdict,
            "cause": self.cause,
            "issuer": self.issuer_url,
            "jwks_uri": self.jwks_uri,
            "token": {
                "header": { "alg": h.alg, "kid": h.kid, "typ": h.typ },
                "claims": claims,
                "signature_verified": self.signature_ok(),
            },
            "checks": self.checks,
            "judged_against": {
                "source": if self.judge.live { "iam" } else { "offline" },
                "role_name": self.judge.role_name,
                "role_arn": self.judge.role_arn,
                "provider_arn": self.judge.provider_arn,
                "provider_found": self.judge.provider_found,
                "client_ids": self.judge.client_ids,
                "trust_policy": self.judge.trust_policy,
            },
            "request": self.request,
            "evaluation": self.evaluation,
            "aud_reading": self.aud_reading,
            "checked_at": rfc3339(self.now),
            "leeway_seconds": LEEWAY_SECS,
        });
        if let Some(a) = self.assumed {
            doc["sts"] = a.clone();
        }
        if let Some(aws) = &self.judge.aws {
            doc["aws_calls"] = aws.calls.summary();
        }
        doc
    }
}

/// "5 minutes ago", "in 2 hours".
pub(super) fn relative(t: i64, now: i64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        assert_eq!(relative(100, 160), "60 seconds ago");
        assert_eq!(relative(1000 + 3600, 1000), "in 60 minutes");
        assert_eq!(relative(0, 3 * 86_400), "3 days ago");
    }
}
