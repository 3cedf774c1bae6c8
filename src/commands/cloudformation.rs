//! `plan`, `init` and `status` with `--mode cloudformation`: the same settings, rendered as a
//! template and deployed as one stack (or, with `--stackset`, a StackSet).

use std::fmt::Write;

use serde_json::{json, Value};

use super::cloudformation_foreign as foreign;
use super::init::next_steps;
use super::render::{build_template, issuer_inputs};
use super::setup::{account, check_managed_policies};
use super::stackset;
use crate::apply::cloudformation::deploy::{self, Prompt, StackAction, StackOutcome, StackSpec};
use crate::apply::cloudformation::events::WaitConfig;
use crate::apply::cloudformation::template::{self, RenderOptions, Template, MAX_TEMPLATE_BODY};
use crate::apply::cloudformation::text;
use crate::aws::Aws;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::model::{self, DesiredState};
use crate::observe;
use crate::oidc::{self, IssuerFacts};
use crate::report::{Output, Reporter, GREEN, RED, YELLOW};

/// Everything the three commands share: the template, the account, and the desired state
/// in that account (the names the stack's resources get).
pub(super) struct Prepared {
    pub aws: Aws,
    pub template: Template,
    pub body: String,
    pub facts: IssuerFacts,
    pub desired: DesiredState,
}

pub(super) async fn prepare(settings: &Settings, reporter: &Reporter) -> Result<Prepared> {
    let opts = RenderOptions {
        stackset: settings.stackset.is_some(),
    };
    // Every input is checked before the first network or AWS call.
    model::quota::check_trust_inputs(settings)?;
    template::validate(settings, opts)?;
    let issuer = settings.require_issuer()?;
    oidc::tls_config(settings)?;
    for w in settings.trust_warnings() {
        reporter.warn(w);
    }
    // Beside the issuer: the account, the KMS key by its ARN, and the thumbprints the live
    // provider holds (a stack update keeps the ones still in use, as direct mode does). A
    // StackSet's providers are in its target accounts, out of reach here.
    let aws_side = async {
        let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
        // --policy-arn documents are judged like in direct mode. A StackSet's customer
        // policies live in its target accounts, where this account cannot read them.
        let (account, resolved, provider, ()) = tokio::try_join!(
            account(&aws),
            observe::kms::resolved(&aws, settings),
            async {
                if opts.stackset {
                    Ok(None)
                } else {
                    observe::find_provider(&aws, issuer).await
                }
            },
            async {
                if opts.stackset {
                    Ok(())
                } else {
                    check_managed_policies(&aws, settings, reporter).await
                }
            },
        )?;
        Ok::<_, Error>((aws, account, resolved, provider))
    };
    let ((facts, cidrs), (aws, account, settings, provider)) =
        tokio::try_join!(issuer_inputs(settings, reporter), aws_side)?;
    let thumbprints = model::thumbprints::to_register(
        &facts.thumbprints,
        provider.as_ref().map(|p| p.thumbprints.as_slice()),
    );
    let template = build_template(&settings, reporter, &thumbprints, &cidrs, opts)?;
    let body = template.yaml();
    if body.len() > MAX_TEMPLATE_BODY {
        return Err(Error::failure(format!(
            "the template is {} bytes; CloudFormation accepts at most {MAX_TEMPLATE_BODY} inline",
            body.len()
        ))
        .hint("use fewer --source-ip ranges, or render it (bootstrap render) and deploy it from S3 by hand"));
    }
    let desired = model::desired(&settings, &account, &thumbprints, &cidrs)?;
    Ok(Prepared {
        aws,
        template,
        body,
        facts,
        desired,
    })
}

fn spec(settings: &Settings, p: &Prepared) -> StackSpec {
    StackSpec {
        name: settings.stack_name.clone(),
        body: p.body.clone(),
        template: p.template.body.clone(),
    }
}

/// CloudFormation cannot create a resource whose name is taken; say so before trying.
async fn refuse_existing_resources(p: &Prepared, stack: &str) -> Result<()> {
    let o = observe::all(&p.aws, &p.desired).await?;
    let d = &p.desired;
    let mut taken = Vec::new();
    if o.provider.is_some() {
        taken.push(format!("the OIDC provider {}", d.provider.arn));
    }
    if o.role.is_some() {
        taken.push(format!("the role {}", d.role.name));
    }
    if o.bucket.is_some() {
        taken.push(format!("the bucket {}", d.bucket.name));
    }
    if let (Some(_), Some(t)) = (&o.table, &d.table) {
        taken.push(format!("the table {}", t.name));
    }
    if taken.is_empty() {
        return Ok(());
    }
    Err(Error::failure(format!(
        "cannot create stack {stack}: {} already exist{} outside it, and CloudFormation only creates what it manages",
        taken.join(", "),
        if taken.len() == 1 { "s" } else { "" }
    ))
    .resource(stack.to_string())
    .hint("keep managing them with --mode direct, import them into the stack (docs/cloudformation.md, \"Resources that already exist\"), or choose other names (--role-name, --state-bucket, --lock-table)"))
}

/// The values to hand on, from the stack's outputs where it has them.
fn outputs_json(d: &DesiredState, stack: &std::collections::BTreeMap<String, String>) -> Value {
    let pick = |key: &str, fallback: Option<String>| {
        stack
            .get(key)
            .filter(|v| !v.is_empty())
            .cloned()
            .or(fallback)
    };
    json!({
        "role_arn": pick("RoleArn", Some(d.role.arn.clone())),
        "provider_arn": pick("OidcProviderArn", Some(d.provider.arn.clone())),
        "state_bucket": pick("StateBucketName", Some(d.bucket.name.clone())),
        "lock_table": pick("LockTableName", d.table.as_ref().map(|t| t.name.clone())),
        "region": d.account.region,
        "account": d.account.id,
        "template_version": pick("TemplateVersion", None),
    })
}

fn outputs_text(out: &Value) -> String {
    let mut t = String::new();
    for (label, key) in [
        ("role", "role_arn"),
        ("oidc provider", "provider_arn"),
        ("state bucket", "state_bucket"),
        ("lock table", "lock_table"),
        ("region", "region"),
        ("template", "template_version"),
    ] {
        if let Some(v) = out[key].as_str() {
            let _ = writeln!(t, "  {label:<13} {v}");
        }
    }
    t
}

pub async fn plan(
    settings: &Settings,
    reporter: &Reporter,
    detailed_exitcode: bool,
) -> Result<Output> {
    if settings.stackset.is_some() {
        return stackset::plan(settings, reporter, detailed_exitcode).await;
    }
    let p = prepare(settings, reporter).await?;
    let spec = spec(settings, &p);
    reporter.progress(format!("reading stack {}", spec.name));
    let sp = deploy::plan(&p.aws.cloudformation, &spec).await?;
    let foreign = if matches!(sp.action, StackAction::Create | StackAction::Recreate) {
        refuse_existing_resources(&p, &spec.name).await?;
        Vec::new()
    } else {
        foreign::foreign_policies(&p.aws, &p.desired.role).await?
    };
    let mut text = format!(
        "plan for account {} in {}\n",
        p.desired.account.id, p.desired.account.region
    );
    text.push_str(&text::plan_text(&sp));
    text.push_str(&foreign::text(reporter, &p.desired.role.name, &foreign));
    let _ = writeln!(
        text,
        "\n{}",
        if sp.has_changes() {
            "init shows CloudFormation's change set before it changes anything"
        } else {
            "nothing to change: the stack matches the rendered template"
        }
    );
    let doc = json!({
        "mode": "cloudformation",
        "account": p.desired.account,
        "issuer": p.desired.issuer_url,
        "thumbprints": p.facts.thumbprints,
        "thumbprint_list": p.desired.provider.thumbprints,
        "changes": sp.has_changes(),
        "stack": sp,
        "foreign_policies": foreign,
        "aws_calls": p.aws.calls.summary(),
    });
    let code = if detailed_exitcode && (sp.has_changes() || !foreign.is_empty()) {
        2
    } else {
        0
    };
    Ok(Output::new(doc, text).with_exit_code(code))
}

pub async fn init(settings: &Settings, reporter: &Reporter, yes: bool) -> Result<Output> {
    if settings.stackset.is_some() {
        return stackset::init(settings, reporter, yes).await;
    }
    let p = prepare(settings, reporter).await?;
    let spec = spec(settings, &p);
    let cfn = &p.aws.cloudformation;
    reporter.progress(format!("reading stack {}", spec.name));
    let sp = deploy::plan(cfn, &spec).await?;
    if matches!(sp.action, StackAction::Create | StackAction::Recreate) {
        refuse_existing_resources(&p, &spec.name).await?;
    }
    let mut text = String::new();
    let outcome: Option<StackOutcome> = if sp.has_changes() {
        reporter.show_for_confirmation(yes, &text::plan_text(&sp));
        let show_fn = |t: &str| reporter.show_for_confirmation(yes, t);
        let confirm_fn = |q: &str| {
            reporter.confirm(
                yes,
                "",
                q,
                "review `bootstrap plan --mode cloudformation`, then run `bootstrap init --mode cloudformation --yes`",
            )
        };
        let prompt = Prompt {
            show: &show_fn,
            confirm: &confirm_fn,
        };
        let o = deploy::apply(cfn, &spec, &sp, &prompt, reporter, WaitConfig::default()).await?;
        let _ = writeln!(
            text,
            "stack {}: {} ({})",
            spec.name,
            if o.done.is_empty() {
                "nothing to change".to_string()
            } else {
                o.done.join(", ")
            },
            o.status
        );
        Some(o)
    } else {
        let _ = writeln!(
            text,
            "stack {}: nothing to change, the stack matches the rendered template ({})",
            spec.name,
            sp.status.as_deref().unwrap_or("")
        );
        None
    };
    let stack_outputs = match &outcome {
        Some(o) => o.outputs.clone(),
        None => sp
            .deployed
            .as_ref()
            .map(|d| d.outputs.clone())
            .unwrap_or_default(),
    };
    let out = outputs_json(&p.desired, &stack_outputs);
    text.push_str(&outputs_text(&out));
    let (next_json, next_text) = next_steps(&p.desired);
    text.push_str(&next_text);
    let doc = json!({
        "mode": "cloudformation",
        "account": p.desired.account,
        "issuer": p.desired.issuer_url,
        "thumbprints": p.facts.thumbprints,
        "thumbprint_list": p.desired.provider.thumbprints,
        "changes": sp.has_changes(),
        "applied": outcome.as_ref().is_some_and(|o| !o.done.is_empty()),
        "stack": sp,
        "result": outcome,
        "outputs": out,
        "next_steps": next_json,
        "aws_calls": p.aws.calls.summary(),
    });
    Ok(Output::new(doc, text))
}

pub async fn status(settings: &Settings, reporter: &Reporter) -> Result<Output> {
    if settings.stackset.is_some() {
        return stackset::status(settings, reporter).await;
    }
    let p = prepare(settings, reporter).await?;
    let spec = spec(settings, &p);
    let cfn = &p.aws.cloudformation;
    reporter.progress(format!("reading stack {}", spec.name));
    let sp = deploy::plan(cfn, &spec).await.or_else(|e| {
        // A busy or broken stack is a status, not an error, here.
        if e.code
            .as_deref()
            .is_some_and(|c| c.ends_with("_IN_PROGRESS") || c.ends_with("_FAILED"))
        {
            Ok(deploy::StackPlan {
                stack: spec.name.clone(),
                status: e.code.clone(),
                action: StackAction::None,
                changes: Vec::new(),
                enable_termination_protection: false,
                notes: vec![e.message.clone()],
                deployed: None,
            })
        } else {
            Err(e)
        }
    })?;
    let mut text = String::new();
    let Some(status) = sp.status.clone() else {
        let _ = writeln!(
            text,
            "stack {}  {}",
            spec.name,
            reporter.paint(RED, "missing")
        );
        let _ = writeln!(
            text,
            "\nrun `bootstrap init --mode cloudformation` to create it"
        );
        let doc = json!({
            "mode": "cloudformation",
            "stack": spec.name,
            "exists": false,
            "in_sync": false,
            "aws_calls": p.aws.calls.summary(),
        });
        return Ok(Output::new(doc, text));
    };
    let stack_id = sp
        .deployed
        .as_ref()
        .map(|d| d.stack_id.clone())
        .unwrap_or(spec.name.clone());
    let resources = cfn
        .describe_stack_resources()
        .stack_name(&stack_id)
        .send()
        .await
        .map_err(|e| crate::aws::classify(&e, "reading the stack's resources", &spec.name))?;
    let foreign = foreign::foreign_policies(&p.aws, &p.desired.role).await?;
    let template_in_sync = sp.action == StackAction::None;
    let healthy = status.ends_with("_COMPLETE") && !status.contains("ROLLBACK");
    let stack_in_sync = template_in_sync && healthy && !sp.enable_termination_protection;
    let in_sync = stack_in_sync && foreign.is_empty();
    let color = if healthy { GREEN } else { YELLOW };
    let _ = writeln!(
        text,
        "stack {}  {}",
        spec.name,
        reporter.paint(color, &status)
    );
    for n in &sp.notes {
        let _ = writeln!(text, "  note: {n}");
    }
    if let Some(d) = &sp.deployed {
        let _ = writeln!(
            text,
            "  termination protection {}",
            if d.termination_protection {
                "on"
            } else {
                "off"
            }
        );
    }
    if template_in_sync {
        let _ = writeln!(text, "  template matches the rendered one");
    } else {
        let _ = writeln!(text, "  template differs from the rendered one:");
        for c in &sp.changes {
            let _ = writeln!(
                text,
                "    {} {} {}",
                c.action,
                c.logical_id,
                c.fields.join(", ")
            );
        }
    }
    // Every resource of the rendered template, as the stack has it (or not), then any the
    // stack has beyond the template.
    let mut list = Vec::new();
    let live = resources.stack_resources();
    let _ = writeln!(text, "\nresources:");
    let mut rows: Vec<(
        String,
        String,
        Option<&aws_sdk_cloudformation::types::StackResource>,
    )> = p
        .template
        .resources()
        .into_iter()
        .map(|(id, ty)| {
            let r = live
                .iter()
                .find(|r| r.logical_resource_id() == Some(id.as_str()));
            (id, ty, r)
        })
        .collect();
    for r in live {
        let id = r.logical_resource_id().unwrap_or_default();
        if !id.is_empty() && !rows.iter().any(|(i, _, _)| i == id) {
            rows.push((
                id.to_string(),
                r.resource_type().unwrap_or_default().to_string(),
                Some(r),
            ));
        }
    }
    for (id, ty, r) in rows {
        let st = r
            .and_then(|r| r.resource_status())
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "NOT_IN_STACK".into());
        let drift = r
            .and_then(|r| r.drift_information())
            .and_then(|d| d.stack_resource_drift_status())
            .map(|s| s.as_str().to_string());
        let physical = r.and_then(|r| r.physical_resource_id()).unwrap_or_default();
        let _ = writeln!(
            text,
            "  {id:<18} {ty:<24} {st:<16} {physical}{}",
            drift
                .as_deref()
                .filter(|d| *d != "NOT_CHECKED")
                .map(|d| format!("  drift: {d}"))
                .unwrap_or_default()
        );
        list.push(json!({
            "logical_id": id,
            "type": ty,
            "physical_id": physical,
            "status": st,
            "drift": drift,
        }));
    }
    let outputs = outputs_json(
        &p.desired,
        &sp.deployed
            .as_ref()
            .map(|d| d.outputs.clone())
            .unwrap_or_default(),
    );
    let _ = writeln!(text, "\noutputs:");
    text.push_str(&outputs_text(&outputs));
    text.push_str(&foreign::text(reporter, &p.desired.role.name, &foreign));
    let _ = writeln!(
        text,
        "\n{}",
        if in_sync {
            "everything is in sync (CloudFormation drift detection shows changes made outside the stack: aws cloudformation detect-stack-drift)".to_string()
        } else if stack_in_sync {
            "the stack is in sync; remove the policies above by hand".to_string()
        } else {
            "run `bootstrap init --mode cloudformation` to bring the stack in line".to_string()
        }
    );
    let doc = json!({
        "mode": "cloudformation",
        "stack": spec.name,
        "exists": true,
        "status": status,
        "in_sync": in_sync,
        "template_in_sync": template_in_sync,
        "foreign_policies": foreign,
        "plan": sp,
        "resources": list,
        "outputs": outputs,
        "aws_calls": p.aws.calls.summary(),
    });
    Ok(Output::new(doc, text))
}
