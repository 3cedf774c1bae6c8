//! `plan`, `init` and `status` with `--stackset NAME`: the template deployed to many accounts
//! by CloudFormation StackSets.

use std::fmt::Write;

use serde_json::json;

use super::cloudformation::{prepare, Prepared};
use crate::apply::cloudformation::deploy::Prompt;
use crate::apply::cloudformation::events::WaitConfig;
use crate::apply::cloudformation::stackset::{
    self, Instance, StackSetOutcome, StackSetPlan, StackSetSpec,
};
use crate::config::{Settings, StackSetSettings, StackSetTargets};
use crate::error::{Error, Result};
use crate::report::{Output, Reporter};

fn settings_of(settings: &Settings) -> Result<&StackSetSettings> {
    settings
        .stackset
        .as_ref()
        .ok_or_else(|| Error::usage("no --stackset NAME given"))
}

fn spec(ss: &StackSetSettings, p: &Prepared) -> StackSetSpec {
    StackSetSpec {
        name: ss.name.clone(),
        body: p.body.clone(),
        template: p.template.body.clone(),
        targets: ss.targets.clone(),
        regions: ss.regions.clone(),
    }
}

fn plan_text(p: &StackSetPlan, ss: &StackSetSettings) -> String {
    let mut t = String::new();
    let model = match ss.targets {
        StackSetTargets::Accounts(_) => "self-managed, by account",
        StackSetTargets::OrgUnits(_) => "service-managed, by organizational unit",
    };
    if !p.exists {
        let _ = writeln!(
            t,
            "StackSet {} (does not exist): create it ({model})",
            p.name
        );
    } else if p.update_template {
        let _ = writeln!(
            t,
            "StackSet {}: update the template of every instance",
            p.name
        );
        for c in &p.template_changes {
            let _ = writeln!(
                t,
                "  ~ {} {} {}",
                c.logical_id,
                c.resource_type,
                c.fields.join(", ")
            );
        }
    } else {
        let _ = writeln!(t, "StackSet {}: template in sync", p.name);
    }
    for a in &p.add {
        let _ = writeln!(t, "  + instance {} in {}", a.target, a.region);
    }
    for i in &p.retry {
        let _ = writeln!(
            t,
            "  ~ instance {} in {} is OUTDATED: deploy it again",
            i.account, i.region
        );
    }
    for n in &p.notes {
        let _ = writeln!(t, "  note: {n}");
    }
    t
}

fn role_arn(p: &Prepared, account: &str) -> String {
    crate::model::arn::role(&p.desired.account.partition, account, &p.desired.role.name)
}

fn instances_text(p: &Prepared, list: &[Instance]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "  {:<13} {:<15} {:<11} role",
        "account", "region", "status"
    );
    for i in list {
        let _ = writeln!(
            t,
            "  {:<13} {:<15} {:<11} {}{}",
            i.account,
            i.region,
            i.status,
            role_arn(p, &i.account),
            i.reason
                .as_deref()
                .map(|r| format!("  ({r})"))
                .unwrap_or_default()
        );
    }
    t
}

fn instances_json(p: &Prepared, list: &[Instance]) -> serde_json::Value {
    json!(list
        .iter()
        .map(|i| {
            let mut v = json!(i);
            v["role_arn"] = json!(role_arn(p, &i.account));
            v["state_bucket"] = json!(format!("terraform-state-{}-{}", i.account, i.region));
            v
        })
        .collect::<Vec<_>>())
}

pub async fn plan(settings: &Settings, reporter: &Reporter, detailed: bool) -> Result<Output> {
    let ss = settings_of(settings)?;
    let p = prepare(settings, reporter).await?;
    let spec = spec(ss, &p);
    reporter.progress(format!("reading StackSet {}", spec.name));
    let plan = stackset::plan(&p.aws.cloudformation, &spec).await?;
    let mut text = plan_text(&plan, ss);
    let _ = writeln!(
        text,
        "\n{}",
        if plan.has_changes() {
            "run `bootstrap init` with the same flags to apply this"
        } else {
            "nothing to change"
        }
    );
    let doc = json!({
        "mode": "cloudformation",
        "stackset": plan,
        "changes": plan.has_changes(),
        "aws_calls": p.aws.calls.summary(),
    });
    let code = if detailed && plan.has_changes() { 2 } else { 0 };
    Ok(Output::new(doc, text).with_exit_code(code))
}

pub async fn init(settings: &Settings, reporter: &Reporter, yes: bool) -> Result<Output> {
    let ss = settings_of(settings)?;
    let p = prepare(settings, reporter).await?;
    let spec = spec(ss, &p);
    let cfn = &p.aws.cloudformation;
    reporter.progress(format!("reading StackSet {}", spec.name));
    let plan = stackset::plan(cfn, &spec).await?;
    let mut text = String::new();
    let outcome: Option<StackSetOutcome> = if plan.has_changes() {
        reporter.show_for_confirmation(yes, &plan_text(&plan, ss));
        let show_fn = |t: &str| reporter.show_for_confirmation(yes, t);
        let confirm_fn = |q: &str| {
            reporter.confirm(
                yes,
                "",
                q,
                "review `bootstrap plan --stackset NAME ...`, then run `bootstrap init --stackset NAME ... --yes`",
            )
        };
        let prompt = Prompt {
            show: &show_fn,
            confirm: &confirm_fn,
        };
        let o =
            stackset::apply(cfn, &spec, &plan, &prompt, reporter, WaitConfig::default()).await?;
        let _ = writeln!(text, "StackSet {}: {}", spec.name, o.done.join(", "));
        Some(o)
    } else {
        let _ = writeln!(
            text,
            "StackSet {}: nothing to change, every target has the rendered template",
            spec.name
        );
        None
    };
    let list = outcome
        .as_ref()
        .map(|o| o.instances.clone())
        .unwrap_or_else(|| plan.instances.clone());
    text.push_str(&instances_text(&p, &list));
    let _ = writeln!(
        text,
        "\nIn each account: role {}, bucket terraform-state-ACCOUNT-REGION{}.",
        p.desired.role.name,
        p.desired
            .table
            .as_ref()
            .map(|t| format!(", lock table {}", t.name))
            .unwrap_or_default()
    );
    let doc = json!({
        "mode": "cloudformation",
        "stackset": plan,
        "changes": plan.has_changes(),
        "applied": outcome.is_some(),
        "result": outcome,
        "instances": instances_json(&p, &list),
        "aws_calls": p.aws.calls.summary(),
    });
    Ok(Output::new(doc, text))
}

pub async fn status(settings: &Settings, reporter: &Reporter) -> Result<Output> {
    let ss = settings_of(settings)?;
    let p = prepare(settings, reporter).await?;
    let spec = spec(ss, &p);
    reporter.progress(format!("reading StackSet {}", spec.name));
    let plan = stackset::plan(&p.aws.cloudformation, &spec).await?;
    let mut text = String::new();
    if !plan.exists {
        let _ = writeln!(text, "StackSet {}  missing", spec.name);
    } else {
        let _ = writeln!(
            text,
            "StackSet {}  template {}",
            spec.name,
            if plan.update_template {
                "differs from the rendered one"
            } else {
                "in sync"
            }
        );
        text.push_str(&instances_text(&p, &plan.instances));
        for a in &plan.add {
            let _ = writeln!(text, "  missing: {} in {}", a.target, a.region);
        }
        for n in &plan.notes {
            let _ = writeln!(text, "  note: {n}");
        }
    }
    let in_sync = !plan.has_changes() && plan.instances.iter().all(|i| i.status == "CURRENT");
    let _ = writeln!(
        text,
        "\n{}",
        if in_sync {
            "everything is in sync"
        } else {
            "run `bootstrap init` with the same flags to bring every target in line"
        }
    );
    let doc = json!({
        "mode": "cloudformation",
        "stackset": spec.name,
        "exists": plan.exists,
        "in_sync": in_sync,
        "plan": plan,
        "instances": instances_json(&p, &plan.instances),
        "aws_calls": p.aws.calls.summary(),
    });
    Ok(Output::new(doc, text))
}
