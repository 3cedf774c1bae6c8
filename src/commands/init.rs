use std::fmt::Write;

use serde_json::json;

use super::plan::{plan_json, render, summary_line};
use super::setup::{prepare, Prepared};
use crate::apply;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::model::policy;
use crate::model::DesiredState;
use crate::report::{Output, Reporter};
use crate::{observe, plan};

/// What to put in Bitbucket and Terraform, for the text and JSON reports.
pub(super) fn next_steps(d: &DesiredState) -> (serde_json::Value, String) {
    // The same templates as `bootstrap pipeline`; they cannot fail but for a bug in them.
    let snippets = crate::model::pipeline::snippets(d)
        .unwrap_or_else(|e| crate::model::pipeline::Snippets::unavailable(&e));
    let (step, backend) = (snippets.step, snippets.backend);
    let json = json!({
        "variables": { "AWS_ROLE_ARN": d.role.arn, "AWS_REGION": d.account.region },
        "pipeline_step": step,
        "backend": backend,
    });
    let mut text = String::new();
    let _ = writeln!(
        text,
        "\nNext: in Bitbucket, set these repository variables:"
    );
    let _ = writeln!(text, "  AWS_ROLE_ARN = {}", d.role.arn);
    let _ = writeln!(text, "  AWS_REGION   = {}", d.account.region);
    let oidc = if snippets.custom_audiences.is_empty() {
        "`oidc: true`"
    } else {
        "these OpenID Connect audiences"
    };
    let _ = writeln!(text, "and give the deploying step {oidc}:\n");
    for l in step.lines() {
        let _ = writeln!(text, "  {l}");
    }
    let _ = writeln!(text, "\nTerraform backend:\n");
    for l in backend.lines() {
        let _ = writeln!(text, "  {l}");
    }
    (json, text)
}

/// The trust rules for these settings and this desired state.
pub(crate) fn trust_rules<'a>(settings: &Settings, p: &'a Prepared) -> policy::TrustRules<'a> {
    policy::TrustRules {
        issuer_host_path: &p.desired.issuer_host_path,
        provider_arn: &p.desired.provider.arn,
        allow_any_repository: settings.allow_any_repository,
    }
}

fn outputs(p: &Prepared) -> serde_json::Value {
    json!({
        "role_arn": p.desired.role.arn,
        "provider_arn": p.desired.provider.arn,
        "state_bucket": p.desired.bucket.name,
        "lock_table": p.desired.table.as_ref().map(|t| t.name.clone()),
        "region": p.desired.account.region,
        "account": p.desired.account.id,
    })
}

/// The provider and role differences left after an apply (names for the message).
fn iam_differences(d: &DesiredState, after: &observe::Observed) -> Vec<String> {
    [
        plan::iam::provider(&d.provider, after.provider.as_ref()),
        plan::iam::role(&d.role, after.role.as_ref()),
    ]
    .into_iter()
    .filter(|r| r.action != plan::Action::Unchanged)
    .map(|r| format!("{} {}", r.kind.label(), r.name))
    .collect()
}

/// Read-back: no document on the live role may be administrator-equivalent, except a
/// `--policy-arn` allowed by `--allow-admin`; the same rules as for flags and adoption.
fn live_admin_check(settings: &Settings, p: &Prepared, after: &observe::Observed) -> Result<()> {
    let Some(role) = &after.role else {
        return Ok(());
    };
    let found: Vec<String> =
        plan::ownership::admin_documents(role, &p.desired.role.inline_policy_name)
            .into_iter()
            .filter(|f| {
                !(settings.allow_admin
                    && f.managed_arn
                        .as_ref()
                        .is_some_and(|a| p.desired.role.managed_policies.contains(a)))
            })
            .map(|f| f.to_string())
            .collect();
    if found.is_empty() {
        return Ok(());
    }
    Err(Error::failure(format!(
        "role {} reads back with administrator-equivalent policies: {}",
        p.desired.role.name,
        found.join("; ")
    ))
    .resource(p.desired.role.arn.clone())
    .hint("something else changed the role while init ran; run `bootstrap init` again (a --policy-arn that must stay needs --allow-admin)"))
}

pub async fn run(settings: &Settings, reporter: &Reporter, yes: bool) -> Result<Output> {
    let p = prepare(settings, reporter).await?;
    let mut text = String::new();
    let changed = p.plan.has_changes();
    if changed {
        let shown = format!("{}{}\n", render(&p.plan, reporter), summary_line(&p.plan));
        reporter.confirm(
            yes,
            &shown,
            "Apply these changes?",
            "review `bootstrap plan`, then run `bootstrap init --yes`",
        )?;
        // The provider and the role are read back as soon as their writes are done, and
        // again (bounded backoff) while IAM, eventually consistent, still shows the old state.
        let mut after =
            apply::direct::apply(&p.aws, &p.desired, &p.plan, &p.observed, reporter).await?;
        let mut delay = std::time::Duration::from_millis(500);
        loop {
            let left = iam_differences(&p.desired, &after);
            if left.is_empty() {
                break;
            }
            if delay > std::time::Duration::from_secs(8) {
                return Err(Error::failure(format!(
                    "applied, but reading back shows differences in: {}",
                    left.join(", ")
                ))
                .hint("run `bootstrap status` to see them, then `bootstrap init` again"));
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
            let (provider, role) = tokio::try_join!(
                observe::provider(&p.aws, &p.desired.provider.arn),
                observe::role(
                    &p.aws,
                    &p.desired.role.name,
                    &p.desired.role.inline_policy_name
                )
            )?;
            after.provider = provider;
            after.role = role;
        }
        live_admin_check(settings, &p, &after)?;
        // The live trust policy must also obey the rules, whatever the diff says.
        let live_trust = after
            .role
            .as_ref()
            .map(|r| r.trust_policy.clone())
            .unwrap_or(serde_json::Value::Null);
        let problems = policy::trust_policy_problems(&live_trust, &trust_rules(settings, &p));
        if !problems.is_empty() {
            return Err(Error::failure(format!(
                "the live trust policy of role {} is not safe: {}",
                p.desired.role.name,
                problems.join("; ")
            ))
            .resource(p.desired.role.arn.clone())
            .hint("something else changed the role while init ran; run `bootstrap init` again and check who else manages this role"));
        }
        let _ = writeln!(
            text,
            "done: every change applied; the provider and the role read back as intended"
        );
    } else {
        let _ = writeln!(text, "{}", summary_line(&p.plan));
    }
    let out = outputs(&p);
    let _ = writeln!(text, "  role          {}", p.desired.role.arn);
    let _ = writeln!(text, "  oidc provider {}", p.desired.provider.arn);
    let _ = writeln!(text, "  state bucket  {}", p.desired.bucket.name);
    if let Some(t) = &p.desired.table {
        let _ = writeln!(text, "  lock table    {}", t.name);
    }
    let _ = writeln!(text, "  region        {}", p.desired.account.region);
    let (next_json, next_text) = next_steps(&p.desired);
    text.push_str(&next_text);
    let mut doc = plan_json(&p);
    doc["applied"] = json!(changed);
    doc["outputs"] = out;
    doc["next_steps"] = next_json;
    doc["aws_calls"] = p.aws.calls.summary();
    Ok(Output::new(doc, text))
}
