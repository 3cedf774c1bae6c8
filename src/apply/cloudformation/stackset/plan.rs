//! Reading a StackSet and its instances, and planning what an apply would change.

use aws_sdk_cloudformation::types::PermissionModels;
use aws_sdk_cloudformation::Client;

use super::{Instance, StackSetPlan, StackSetSpec, Target};
use crate::aws::{classify, errors};
use crate::config::StackSetTargets;
use crate::error::{Error, Result};
use crate::plan::compare;

pub async fn instances(cfn: &Client, name: &str) -> Result<Vec<Instance>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = cfn
            .list_stack_instances()
            .stack_set_name(name)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| classify(&e, "listing the StackSet's instances", name))?;
        for s in page.summaries() {
            out.push(Instance {
                account: s.account().unwrap_or_default().to_string(),
                region: s.region().unwrap_or_default().to_string(),
                org_unit: s.organizational_unit_id().map(str::to_string),
                status: s
                    .status()
                    .map(|x| x.as_str().to_string())
                    .unwrap_or_default(),
                detailed_status: s
                    .stack_instance_status()
                    .and_then(|x| x.detailed_status())
                    .map(|x| x.as_str().to_string()),
                reason: s
                    .status_reason()
                    .filter(|r| !r.is_empty())
                    .map(str::to_string),
            });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// Compare the StackSet with `spec`. Makes no change.
pub async fn plan(cfn: &Client, spec: &StackSetSpec) -> Result<StackSetPlan> {
    let mut plan = StackSetPlan {
        name: spec.name.clone(),
        exists: false,
        update_template: true,
        template_changes: compare::diff(None, &spec.template),
        add: Vec::new(),
        retry: Vec::new(),
        instances: Vec::new(),
        notes: Vec::new(),
    };
    let existing = match cfn
        .describe_stack_set()
        .stack_set_name(&spec.name)
        .send()
        .await
    {
        Ok(out) => out
            .stack_set()
            .filter(|s| s.status().map(|x| x.as_str()) != Some("DELETED"))
            .cloned(),
        Err(e) if errors::is(&e, &["StackSetNotFoundException"]) => None,
        Err(e) => return Err(classify(&e, "reading the StackSet", &spec.name)),
    };
    if let Some(set) = existing {
        plan.exists = true;
        let have = set
            .permission_model()
            .cloned()
            .unwrap_or(PermissionModels::SelfManaged);
        if have != spec.permission_model() {
            return Err(Error::usage(format!(
                "StackSet {} has {} permissions; {} needs {}",
                spec.name,
                have.as_str(),
                match spec.targets {
                    StackSetTargets::Accounts(_) => "--accounts",
                    StackSetTargets::OrgUnits(_) => "--org-units",
                },
                spec.permission_model().as_str()
            ))
            .hint("target it the way it was created (--accounts for SELF_MANAGED, --org-units for SERVICE_MANAGED), or choose another --stackset name"));
        }
        let body = set.template_body().unwrap_or_default();
        plan.update_template =
            !(compare::same(body, &spec.body, &spec.template) && set.parameters().is_empty());
        plan.template_changes = if plan.update_template {
            compare::diff(compare::parse(body).as_ref(), &spec.template)
        } else {
            Vec::new()
        };
        plan.instances = instances(cfn, &spec.name).await?;
    }
    let have = |pred: &dyn Fn(&Instance) -> bool| plan.instances.iter().any(pred);
    let mut add = Vec::new();
    let mut retry = Vec::new();
    let listed = |i: &Instance| match &spec.targets {
        StackSetTargets::Accounts(a) => a.contains(&i.account),
        StackSetTargets::OrgUnits(o) => i.org_unit.as_ref().is_some_and(|u| o.contains(u)),
    };
    for region in &spec.regions {
        let targets = match &spec.targets {
            StackSetTargets::Accounts(a) | StackSetTargets::OrgUnits(a) => a,
        };
        for t in targets {
            let present = have(&|i: &Instance| {
                i.region == *region
                    && (i.account == *t || i.org_unit.as_deref() == Some(t.as_str()))
            });
            if !present {
                add.push(Target {
                    target: t.clone(),
                    region: region.clone(),
                });
            }
        }
    }
    for i in &plan.instances {
        if !listed(i) {
            plan.notes.push(format!(
                "{} in {} is not among the targets: left as it is (remove it with aws cloudformation delete-stack-instances)",
                i.account, i.region
            ));
        } else if i.status == "OUTDATED" && !plan.update_template {
            retry.push(i.clone());
        } else if i.status == "INOPERABLE" {
            plan.notes.push(format!(
                "{} in {} is INOPERABLE (a delete failed there): see the StackSet in the console",
                i.account, i.region
            ));
        }
    }
    plan.add = add;
    plan.retry = retry;
    Ok(plan)
}
