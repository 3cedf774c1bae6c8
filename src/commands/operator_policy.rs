//! `bootstrap operator-policy`: the least-privilege IAM policy for whoever runs `bootstrap`
//! with these settings and this mode. No AWS call: the account id comes from `--account-id`,
//! or is `*`.

use super::verify::account_id;
use crate::aws;
use crate::config::{Mode, Settings, StackSetTargets};
use crate::error::Result;
use crate::model::operator::{operator_policy, Deployment, Scope};
use crate::model::{self, Account};
use crate::report::{Output, Reporter};

/// IAM's limit for a customer managed policy, in characters without whitespace.
pub(super) const MANAGED_POLICY_MAX_CHARS: usize = 6144;

#[derive(Debug, Clone)]
pub(super) struct Options {
    pub account_id: Option<String>,
    pub destroy: bool,
    pub delete_state: bool,
    pub prune: bool,
}

fn region(settings: &Settings) -> Option<String> {
    settings.aws.region.clone().or_else(|| {
        ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    })
}

fn deployment(settings: &Settings) -> Deployment {
    match (&settings.deployment.stackset, settings.deployment.mode) {
        (Some(ss), _) => Deployment::StackSet {
            name: ss.name.clone(),
            self_managed: matches!(ss.targets, StackSetTargets::Accounts(_)),
        },
        (None, Mode::Cloudformation) => Deployment::Stack(settings.deployment.stack_name.clone()),
        (None, Mode::Direct) => Deployment::Direct,
    }
}

/// What the policy lets its holder run.
fn covers(deployment: &Deployment, scope: Scope) -> Vec<&'static str> {
    let mut covers = vec!["plan", "init", "status", "render", "pipeline"];
    if !matches!(deployment, Deployment::StackSet { .. }) {
        covers.push("verify");
    }
    if scope.destroy {
        covers.push("destroy");
    }
    if scope.delete_state {
        covers.push("destroy --delete-state");
    }
    if scope.prune {
        covers.push("init --prune");
    }
    covers
}

/// The account the policy's ARNs name: `--account-id`, or any (`*`); the partition follows
/// the region when there is one.
fn account(id: Option<&str>, region: Option<&str>) -> Account {
    Account {
        id: id.unwrap_or("*").to_string(),
        partition: region.map_or("aws", aws::partition).to_string(),
        region: region.unwrap_or("*").to_string(),
    }
}

pub(super) fn run(settings: &Settings, reporter: &Reporter, opts: Options) -> Result<Output> {
    let id = opts.account_id.as_deref().map(account_id).transpose()?;
    let region = region(settings);
    let deployment = deployment(settings);
    model::quota::check_trust_inputs(settings)?;
    if let Deployment::StackSet { .. } = deployment {
        crate::model::template::validate(
            settings,
            crate::model::template::RenderOptions {
                stackset: true,
                ..Default::default()
            },
        )?;
    }
    let account = account(id.as_deref(), region.as_deref());
    let desired = model::desired(settings, &account, &[], &[])?;
    if id.is_none() {
        reporter.warn("no --account-id: the ARNs in the policy match any account (\"*\"); pass --account-id ID for the narrowest policy");
    }
    if region.is_none() {
        reporter.warn("no --region (nor AWS_REGION): the lock table and stack ARNs match any region (\"*\") and the partition is taken to be `aws`");
    }
    let scope = Scope {
        destroy: opts.destroy || opts.delete_state,
        delete_state: opts.delete_state,
        prune: opts.prune && !matches!(deployment, Deployment::StackSet { .. }),
    };
    if scope.delete_state && deployment != Deployment::Direct {
        reporter.warn("--include-delete-state: only direct mode deletes the bucket and the table; a stack's DeletionPolicy keeps them");
    }
    if opts.prune && matches!(deployment, Deployment::StackSet { .. }) {
        reporter.warn(
            "--include-prune: in a StackSet each account's execution role deletes the roles init --prune lets go; nothing to add here",
        );
    }
    let roles = &desired.roles;
    let doc = operator_policy(&desired, roles, &deployment, scope);
    let size = crate::iam::policy_size(&doc);
    if size > MANAGED_POLICY_MAX_CHARS {
        reporter.warn(format!(
            "the policy is {size} characters, over IAM's {MANAGED_POLICY_MAX_CHARS} for one managed policy; split its statements over two policies"
        ));
    }
    let (mode, stack, stackset) = match &deployment {
        Deployment::Direct => ("direct", None, None),
        Deployment::Stack(name) => ("cloudformation", Some(name.clone()), None),
        Deployment::StackSet { name, .. } => ("cloudformation", None, Some(name.clone())),
    };
    let report = crate::report::OperatorPolicyReport {
        policy: doc,
        mode,
        stack,
        stackset,
        account: id,
        region,
        roles: roles.iter().map(|r| r.arn.clone()).collect(),
        covers: covers(&deployment, scope),
        characters: size,
    };
    Ok(Output::of(&report, reporter))
}
