use std::fmt::Write;

use serde_json::json;

use super::plan::{plan_json, render, summary_line};
use super::setup::{prepare, Prepared};
use crate::apply;
use crate::config::Settings;
use crate::error::Result;
use crate::model::DesiredState;
use crate::report::{Output, Reporter};
use crate::plan;

/// What to put in Bitbucket and Terraform, for the text and JSON reports.
pub(super) fn next_steps(d: &DesiredState) -> (serde_json::Value, String) {
    let settings = super::pipeline::backend_settings(d).replace('\n', "\n    ");
    let backend = format!("terraform {{\n  backend \"s3\" {{\n    {settings}\n  }}\n}}\n");
    let step = format!(
        "- step:\n    oidc: true\n    script:\n      - export AWS_REGION={}\n      - export AWS_ROLE_ARN={}\n      - export AWS_WEB_IDENTITY_TOKEN_FILE=/tmp/aws-web-identity-token\n      - printf '%s' \"$BITBUCKET_STEP_OIDC_TOKEN\" > \"$AWS_WEB_IDENTITY_TOKEN_FILE\"\n",
        d.account.region, d.role.arn
    );
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
    let _ = writeln!(text, "and give the deploying step `oidc: true`:\n");
    for l in step.lines() {
        let _ = writeln!(text, "  {l}");
    }
    let _ = writeln!(text, "\nTerraform backend:\n");
    for l in backend.lines() {
        let _ = writeln!(text, "  {l}");
    }
    (json, text)
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
        // Apply reads the provider and the role back until IAM shows them as planned.
        let after =
            apply::direct::apply(&p.aws, &p.desired, &p.plan, &p.observed, reporter).await?;
        plan::checks::read_back_role(settings, &p.desired, after.role.as_ref())?;
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
