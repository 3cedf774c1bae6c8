//! Turning a failed check into one sentence that names the cause and says what to change.
//!
//! [`crate::iam::evaluate`] explains a denial in IAM's terms ("condition StringLike on
//! ...:sub failed"). Users need the Bitbucket meaning: the token comes from another
//! repository, the step is not a deployment step, the step has no fixed IP. This module maps
//! the failing condition of the closest Allow statement to that meaning.

use std::cmp::Reverse;

use serde::Serialize;

use crate::config::Source;
use crate::iam::{AudReading, ConditionResult, Evaluation, StatementResult};
use crate::model::pipeline::Scope;

/// How a hint says to change a setting of the role being judged: in the configuration file
/// when one is in use, with a flag otherwise.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fix<'a> {
    pub source: &'a Source,
    pub role: &'a str,
}

impl Fix<'_> {
    /// "add VALUE to KEY in FILE", or "add --KEY VALUE".
    fn add(&self, key: &str, value: &str) -> String {
        self.source.add(key, value, self.role)
    }
}

/// The outcome of `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passes: STS would issue credentials (as far as an offline check can tell).
    Accepted,
    /// A check fails: STS would refuse the token.
    Refused,
    /// Everything checkable passes, but the role restricts the source IP and no
    /// `--source-ip` was given.
    Undetermined,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Accepted => "ACCEPTED",
            Verdict::Refused => "REFUSED",
            Verdict::Undetermined => "UNDETERMINED",
        }
    }
}

/// The prefix Bitbucket uses for the default (workspace) audience.
const WORKSPACE_AUDIENCE_PREFIX: &str = "ari:cloud:bitbucket::workspace/";

fn quoted(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn any_of(values: &[String]) -> String {
    match values {
        [] => "anything (the policy lists no value)".to_string(),
        [one] => format!("`{one}`"),
        many => format!("any of {}", quoted(many)),
    }
}

/// A list of CIDRs, shortened after three.
fn cidr_list(values: &[String]) -> String {
    if values.len() <= 3 {
        values.join(", ")
    } else {
        format!("{} and {} more", values[..3].join(", "), values.len() - 3)
    }
}

fn is_source_ip(c: &ConditionResult) -> bool {
    c.key.eq_ignore_ascii_case("aws:SourceIp")
}

/// The Allow statement that came closest to applying: principal and action first, then the
/// number of passing conditions; the first such statement on a tie.
pub(super) fn closest_allow(e: &Evaluation) -> Option<&StatementResult> {
    e.statements
        .iter()
        .filter(|s| s.effect == "Allow")
        .max_by_key(|s| {
            (
                u8::from(s.principal_matched) * 2 + u8::from(s.action_matched),
                s.conditions.iter().filter(|c| c.passed).count(),
                Reverse(s.index),
            )
        })
}

/// Why the trust policy refuses the request, in words that say what to change; `None` when
/// it allows it. `source_ip_given` says whether the request carried `aws:SourceIp`.
pub(super) fn trust_cause(
    e: &Evaluation,
    source_ip_given: bool,
    fix: Fix<'_>,
) -> Option<(Verdict, String)> {
    if e.allowed {
        return None;
    }
    if e.statements.iter().any(|s| s.effect == "Deny" && s.applies) {
        return Some((
            Verdict::Refused,
            format!(
                "{}: remove or narrow that Deny statement in the role's trust policy",
                e.reason
            ),
        ));
    }
    let Some(s) = closest_allow(e) else {
        return Some((
            Verdict::Refused,
            format!(
                "{}: run `bootstrap init` to write a trust policy for Bitbucket Pipelines",
                e.reason
            ),
        ));
    };
    if !s.principal_matched || !s.action_matched {
        return Some((
            Verdict::Refused,
            format!(
                "{}: the role trusts another identity provider or action; run `bootstrap init` with this issuer to rewrite its trust policy",
                e.reason
            ),
        ));
    }
    let failed: Vec<&ConditionResult> = s.conditions.iter().filter(|c| !c.passed).collect();
    let unknown_ip =
        |c: &&ConditionResult| !source_ip_given && is_source_ip(c) && c.actual.is_empty();
    if failed.is_empty() {
        return Some((Verdict::Refused, e.reason.clone()));
    }
    if failed.iter().all(unknown_ip) {
        let ranges: Vec<String> = failed.iter().flat_map(|c| c.expected.clone()).collect();
        return Some((
            Verdict::Undetermined,
            format!(
                "the role only accepts calls from {} (aws:SourceIp) and no --source-ip was given: pass the step's public egress IP with --source-ip IP (a step can print it with `curl -s https://checkip.amazonaws.com`)",
                cidr_list(&ranges)
            ),
        ));
    }
    let c = failed
        .iter()
        .find(|c| !unknown_ip(c))
        .copied()
        .unwrap_or(failed[0]);
    let key = c.key.to_ascii_lowercase();
    let positive = matches!(
        c.operator.as_str(),
        "StringLike" | "StringEquals" | "StringLikeIfExists" | "StringEqualsIfExists"
    );
    let text = if key.ends_with(":sub") && positive {
        sub_cause(c, fix)
    } else if key.ends_with(":aud") && positive {
        audience_cause(&c.actual, &c.expected, "the role's trust policy", fix)
    } else if is_source_ip(c) && c.operator.starts_with("IpAddress") && !c.actual.is_empty() {
        source_ip_cause(&c.actual[0], &c.expected, fix)
    } else {
        let why = c.note.as_deref().unwrap_or("it does not match");
        format!(
            "condition {} on {} fails: {why}; change the token's step or the role's trust policy",
            c.operator, c.key
        )
    };
    Some((Verdict::Refused, text))
}

/// A `sub` that does not match the policy's patterns: another repository, not a deployment
/// step, or another deployment environment.
pub(super) fn sub_cause(c: &ConditionResult, fix: Fix<'_>) -> String {
    let Some(sub) = c.actual.first() else {
        return "the token has no sub claim, which every Bitbucket Pipelines token has: pass the unmodified $BITBUCKET_STEP_OIDC_TOKEN".to_string();
    };
    let head = format!("sub `{sub}` does not match {}", any_of(&c.expected));
    let parts: Vec<&str> = sub.split(':').collect();
    let repo = parts.first().copied().unwrap_or("");
    let env = (parts.len() == 3).then(|| parts[1]);
    let pattern_parts: Vec<Vec<&str>> = c.expected.iter().map(|p| p.split(':').collect()).collect();
    let same_repo = |p: &&Vec<&str>| p.first().is_some_and(|r| *r == repo);
    if !pattern_parts.iter().any(|p| same_repo(&p)) {
        if pattern_parts
            .iter()
            .any(|p| p.first().is_some_and(|r| r.eq_ignore_ascii_case(repo)))
        {
            return format!(
                "{head}: the repository UUIDs differ only in letter case and StringLike is case-sensitive; write the UUID in the trust policy exactly as the token has it"
            );
        }
        return format!(
            "{head}: the token comes from another repository ({repo}); run the step in a repository the role trusts, or, if {repo} should deploy, {} and run `bootstrap init`; {}",
            fix.add("repository-uuid", repo),
            role_variable(repo, env)
        );
    }
    let envs: Vec<String> = pattern_parts
        .iter()
        .filter(|p| same_repo(p) && p.len() == 3)
        .map(|p| p[1].to_string())
        .collect();
    match env {
        _ if envs.is_empty() => format!("{head}: the subject does not have the form the role expects"),
        None => format!(
            "{head}: the step is not a deployment step, and the role only trusts deployment environments {}; add `deployment:` naming one of them to the step; {}",
            quoted(&envs),
            role_variable(repo, env)
        ),
        Some(e) => format!(
            "{head}: the token comes from another deployment environment ({e}); the role trusts {}; deploy through one of those, or, if {e} should deploy, {} and run `bootstrap init`; {}",
            quoted(&envs),
            fix.add("environment-uuid", e),
            role_variable(repo, env)
        ),
    }
}

/// Where the step that minted the token read the role it assumes, for when that variable
/// names the wrong role: a step reads `AWS_ROLE_ARN`, and Bitbucket gives a deployment step
/// its environment's deployment variable over the repository variable of the same name.
fn role_variable(repo: &str, env: Option<&str>) -> String {
    let repository = format!(
        "the repository variable AWS_ROLE_ARN of repository {repo} ({})",
        Scope::Repository.place()
    );
    let variable = match env {
        None => repository,
        Some(e) => {
            let scope = Scope::Deployment(e.to_string());
            format!(
                "AWS_ROLE_ARN in the {} ({}; without it there, {repository} applies)",
                scope.kind(),
                scope.place()
            )
        }
    };
    format!("if the step used the wrong role ARN, fix {variable}")
}

/// A token audience that is not accepted (by the provider's client IDs or the trust policy).
pub(super) fn audience_cause(
    token_auds: &[String],
    accepted: &[String],
    by: &str,
    fix: Fix<'_>,
) -> String {
    let got = match token_auds {
        [] => {
            return format!(
                "the token has no aud claim, so {by} cannot accept it: pass the unmodified $BITBUCKET_STEP_OIDC_TOKEN"
            )
        }
        [one] => format!("aud `{one}`"),
        many => format!("aud {}", quoted(many)),
    };
    let workspace_aud = token_auds
        .iter()
        .any(|a| a.starts_with(WORKSPACE_AUDIENCE_PREFIX));
    let advice = if workspace_aud {
        "the token comes from another workspace, or the role was set up with the wrong --workspace-uuid; pass the UUID shown under Repository settings > OpenID Connect and run `bootstrap init`".to_string()
    } else {
        format!(
            "the step asks for custom audiences (`oidc: audiences:`); ask for one the role accepts, or {} and run `bootstrap init`",
            fix.add("audience", &token_auds[0])
        )
    };
    format!("{got} is not {} ({by}): {advice}", any_of(accepted))
}

/// An `aws:SourceIp` outside the role's ranges.
pub(super) fn source_ip_cause(ip: &str, ranges: &[String], fix: Fix<'_>) -> String {
    let change = match &fix.source.file {
        Some((path, _)) => format!("its source-ip in {}", path.display()),
        None => "the role's --source-ip".to_string(),
    };
    format!(
        "aws:SourceIp `{ip}` is outside {}: 1x/2x steps have no fixed IP, so run the step with `size: 4x` and `runtime: cloud: atlassian-ip-ranges: true` (or on a self-hosted runner inside the range), or change {change} and run `bootstrap init`",
        cidr_list(ranges)
    )
}

/// The cause to show when the two readings of a list `aud` disagree: the policy works only
/// if STS happens to match element by element.
pub(super) fn aud_reading_cause(reading: &AudReading) -> Option<String> {
    (!reading.readings_agree).then(|| {
        "the trust policy tests the list aud with a plain operator, which allows this token only if STS matches a list element by element (not documented): write the aud conditions as ForAnyValue:StringEquals plus ForAllValues:StringEquals, as `bootstrap init` does when it is given the custom audiences with --audience".to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::{evaluate, Request};
    use serde_json::json;

    const PROVIDER: &str =
        "arn:aws:iam::123456789012:oidc-provider/api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
    const HP: &str = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
    const AUD: &str = "ari:cloud:bitbucket::workspace/1111";
    const FLAGS: Fix<'static> = Fix {
        source: &Source::FLAGS,
        role: "deploy",
    };

    fn policy(subs: &[&str], cidrs: &[&str]) -> serde_json::Value {
        let mut cond = json!({
            "StringEquals": { format!("{HP}:aud"): AUD },
            "StringLike": { format!("{HP}:sub"): subs },
        });
        if !cidrs.is_empty() {
            cond["IpAddress"] = json!({ "aws:SourceIp": cidrs });
        }
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": cond,
        }]})
    }

    fn request(aud: &str, sub: &str) -> Request {
        Request::web_identity(PROVIDER)
            .with(format!("{HP}:aud"), [aud])
            .with(format!("{HP}:sub"), [sub])
    }

    fn cause(p: &serde_json::Value, r: &Request, ip_given: bool) -> (Verdict, String) {
        trust_cause(&evaluate(p, r), ip_given, FLAGS).expect("refused")
    }

    #[test]
    fn allowed_has_no_cause() {
        let e = evaluate(&policy(&["{r}:*"], &[]), &request(AUD, "{r}:{s}"));
        assert!(trust_cause(&e, false, FLAGS).is_none());
    }

    #[test]
    fn another_repository() {
        let (v, t) = cause(&policy(&["{r}:*"], &[]), &request(AUD, "{x}:{s}"), false);
        assert_eq!(v, Verdict::Refused);
        assert!(
            t.starts_with("sub `{x}:{s}` does not match `{r}:*`: the token comes from another repository ({x})"),
            "{t}"
        );
        assert!(t.contains("--repository-uuid {x}"), "{t}");
    }

    #[test]
    fn with_a_file_the_hint_speaks_of_the_file() {
        let file = Source {
            file: Some(("bootstrap.toml".into(), vec!["repository-uuid".into()])),
        };
        let fix = Fix {
            source: &file,
            role: "deploy",
        };
        let e = evaluate(&policy(&["{r}:*"], &[]), &request(AUD, "{x}:{s}"));
        let (_, t) = trust_cause(&e, false, fix).expect("refused");
        assert!(
            t.contains("add {x} to repository-uuid in bootstrap.toml"),
            "{t}"
        );
        assert!(!t.contains("--repository-uuid"), "{t}");
        let tables = Source {
            file: Some(("b.toml".into(), vec!["role".into()])),
        };
        let fix = Fix {
            source: &tables,
            role: "deploy",
        };
        let (_, t) = trust_cause(&e, false, fix).expect("refused");
        assert!(
            t.contains("add {x} to repository-uuid in the [[role]] table of deploy in b.toml"),
            "{t}"
        );
    }

    #[test]
    fn not_a_deployment_step_and_another_environment() {
        let p = policy(&["{r}:{e1}:*"], &[]);
        let (_, t) = cause(&p, &request(AUD, "{r}:{s}"), false);
        assert!(t.contains("the step is not a deployment step"), "{t}");
        assert!(t.contains("`{e1}`"), "{t}");
        let (_, t) = cause(&p, &request(AUD, "{r}:{e2}:{s}"), false);
        assert!(
            t.contains("the token comes from another deployment environment ({e2})"),
            "{t}"
        );
    }

    #[test]
    fn letter_case_is_named() {
        let (_, t) = cause(
            &policy(&["{abc}:*"], &[]),
            &request(AUD, "{ABC}:{s}"),
            false,
        );
        assert!(t.contains("differ only in letter case"), "{t}");
    }

    #[test]
    fn wrong_audience() {
        let other = "ari:cloud:bitbucket::workspace/2222";
        let (_, t) = cause(&policy(&["{r}:*"], &[]), &request(other, "{r}:{s}"), false);
        assert!(
            t.starts_with(&format!(
                "aud `{other}` is not `{AUD}` (the role's trust policy)"
            )),
            "{t}"
        );
        assert!(t.contains("--workspace-uuid"), "{t}");
        let t = audience_cause(&["https://vault.example".into()], &[AUD.into()], "x", FLAGS);
        assert!(t.contains("--audience https://vault.example"), "{t}");
    }

    #[test]
    fn source_ip_outside_and_unknown() {
        let p = policy(&["{r}:*"], &["203.0.113.0/24"]);
        let r = request(AUD, "{r}:{s}").with("aws:SourceIp", ["198.51.100.7"]);
        let (v, t) = cause(&p, &r, true);
        assert_eq!(v, Verdict::Refused);
        assert!(
            t.starts_with("aws:SourceIp `198.51.100.7` is outside 203.0.113.0/24: 1x/2x steps have no fixed IP"),
            "{t}"
        );
        let (v, t) = cause(&p, &request(AUD, "{r}:{s}"), false);
        assert_eq!(v, Verdict::Undetermined);
        assert!(t.contains("no --source-ip was given"), "{t}");
        // A definite failure wins over an unknown IP.
        let (v, t) = cause(&p, &request(AUD, "{x}:{s}"), false);
        assert_eq!(v, Verdict::Refused);
        assert!(t.contains("another repository"), "{t}");
    }

    #[test]
    fn explicit_deny_is_named() {
        let mut p = policy(&["{r}:*"], &[]);
        p["Statement"].as_array_mut().unwrap().push(json!({
            "Sid": "NoFeatureBranches", "Effect": "Deny",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
        }));
        let (_, t) = cause(&p, &request(AUD, "{r}:{s}"), false);
        assert!(t.contains("`NoFeatureBranches`"), "{t}");
        assert!(t.contains("Deny"), "{t}");
    }

    #[test]
    fn readings_that_disagree_are_a_cause() {
        let mut claims = serde_json::Map::new();
        claims.insert("aud".into(), json!(["deploy"]));
        let list = Request::from_claims(PROVIDER, &claims);
        let plain = json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{HP}:aud"): "deploy"}},
        }]});
        let (_, _, reading) = crate::iam::evaluate_both(&plain, &list, &["deploy".into()]);
        let cause = aud_reading_cause(&reading.expect("aud is a list")).expect("they disagree");
        assert!(
            cause.contains("ForAnyValue:StringEquals plus ForAllValues:StringEquals"),
            "{cause}"
        );
        let mut pair = plain.clone();
        pair["Statement"][0]["Condition"] = json!({
            "ForAnyValue:StringEquals": {format!("{HP}:aud"): ["deploy"]},
            "ForAllValues:StringEquals": {format!("{HP}:aud"): ["deploy"]},
        });
        let (_, _, reading) = crate::iam::evaluate_both(&pair, &list, &[]);
        assert!(aud_reading_cause(&reading.expect("aud is a list")).is_none());
    }

    #[test]
    fn many_ranges_are_shortened() {
        let r: Vec<String> = (1..=5).map(|i| format!("10.{i}.0.0/16")).collect();
        assert_eq!(
            cidr_list(&r),
            "10.1.0.0/16, 10.2.0.0/16, 10.3.0.0/16 and 2 more"
        );
    }
}
