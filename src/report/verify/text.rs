//! `verify`'s text for people: the token's header and claims, each check, the trust policy
//! statement by statement, what STS answered, and the verdict with its cause.

use std::fmt::Write;

use serde_json::Value;

use crate::jwt::rfc3339;
use crate::observe::sts::Assumed;
use crate::report::{Paint, BOLD, DIM, GREEN, RED, YELLOW};
use crate::verify::{relative, Evaluation, Request, Status, TokenSummary, Verdict, VerifyReport};

/// The text report.
pub(super) fn render(report: &VerifyReport, paint: Paint) -> String {
    let mut text = String::new();
    token_section(&mut text, paint, &report.token, report.now);
    let _ = writeln!(text, "\n{}", paint.paint(BOLD, "checks"));
    for c in &report.checks {
        let _ = writeln!(
            text,
            "  {} {:<17} {}",
            status_word(paint, c.status),
            c.check,
            c.detail
        );
    }
    if let Some(e) = &report.evaluation {
        trust_policy_section(&mut text, paint, report, e);
    }
    if let Some(a) = &report.assumed {
        sts_section(&mut text, paint, a);
    }
    verdict_section(&mut text, paint, report);
    text
}

/// The header, then every claim (marked unverified unless the signature checks out).
fn token_section(text: &mut String, paint: Paint, token: &TokenSummary, now: i64) {
    let h = &token.header;
    let _ = writeln!(
        text,
        "{}  alg {}, kid {}, typ {}",
        paint.paint(BOLD, "token"),
        h.alg,
        h.kid.as_deref().unwrap_or("(none)"),
        h.typ.as_deref().unwrap_or("(none)")
    );
    let width = token
        .claims
        .keys()
        .map(String::len)
        .max()
        .unwrap_or(0)
        .min(26);
    if !token.signature_verified {
        let _ = writeln!(
            text,
            "  {}",
            paint.paint(
                YELLOW,
                "(claims NOT verified: the signature check did not pass, so anyone could have written them)"
            )
        );
    }
    for (k, v) in &token.claims {
        let _ = writeln!(text, "  {k:<width$}  {}", claim_text(k, v, now));
    }
}

/// Whose trust policy was judged, how a list `aud` was read, and each statement.
fn trust_policy_section(text: &mut String, paint: Paint, report: &VerifyReport, e: &Evaluation) {
    let target = &report.judged_against;
    let title = if target.live() {
        format!(
            "trust policy of role {} (read from IAM)",
            target.role_arn.as_deref().unwrap_or(&target.role_name)
        )
    } else {
        format!(
            "trust policy `bootstrap init` writes for role {} (--offline)",
            target.role_name
        )
    };
    let _ = writeln!(text, "\n{}", paint.paint(BOLD, &title));
    if let Some(r) = &report.aud_reading {
        let _ = writeln!(text, "  {}", paint.paint(DIM, &r.line()));
    }
    render_evaluation(text, paint, e, &report.request);
}

/// What STS answered with `--assume`.
fn sts_section(text: &mut String, paint: Paint, a: &Assumed) {
    let _ = writeln!(text, "\n{}", paint.paint(BOLD, "sts"));
    let _ = writeln!(text, "  assumed role    {}", a.assumed_role_arn);
    let _ = writeln!(
        text,
        "  caller identity {}",
        a.caller_identity.arn.as_deref().unwrap_or_default()
    );
    if let Some(exp) = &a.expires {
        let _ = writeln!(text, "  expires         {exp}");
    }
}

/// The verdict, and its cause or what STS does with the token.
fn verdict_section(text: &mut String, paint: Paint, report: &VerifyReport) {
    let color = match report.verdict {
        Verdict::Accepted => GREEN,
        Verdict::Refused => RED,
        Verdict::Undetermined => YELLOW,
    };
    let _ = writeln!(
        text,
        "\nverdict: {}",
        paint.paint(color, report.verdict.word())
    );
    let _ = match &report.cause {
        Some(c) => writeln!(text, "cause: {c}"),
        None if report.assumed.is_some() => {
            writeln!(text, "STS issued credentials for this token")
        }
        None => writeln!(
            text,
            "STS would accept this token for this role (add --assume to try it)"
        ),
    };
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

fn status_word(paint: Paint, s: Status) -> String {
    match s {
        Status::Pass => paint.paint(GREEN, "ok  "),
        Status::Fail => paint.paint(RED, "FAIL"),
        Status::Skipped => paint.paint(YELLOW, "--  "),
    }
}

fn render_evaluation(text: &mut String, paint: Paint, e: &Evaluation, request: &Request) {
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
            paint.paint(BOLD, &label),
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
        let pass = |b: bool| status_word(paint, if b { Status::Pass } else { Status::Fail });
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
                let _ = writeln!(text, "           {}", paint.paint(DIM, note));
            }
        }
        for n in &s.notes {
            let _ = writeln!(text, "    {}", paint.paint(DIM, &format!("note: {n}")));
        }
    }
}
