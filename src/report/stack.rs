//! The bodies of the `plan`, `init` and `status` reports with `--mode cloudformation` (one
//! stack): each serializes to the command's JSON document and renders its text.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use super::stack_text::{foreign_text, plan_text};
use super::verdicts::verdict_lines;
use super::{NextSteps, Paint};
use crate::apply::cloudformation::converge::StackOutcome;
use crate::model::template::role_ids;
use crate::model::{Account, DesiredState};
use crate::plan::stack::{StackAction, StackPlan};
use crate::plan::stack_foreign::ForeignPolicy;
use crate::plan::verdicts::TrustVerdict;

/// The values to hand on, from the stack's outputs where it has them.
#[derive(Debug, Clone, Serialize)]
pub struct StackOutputs {
    /// The role's ARN, when there is one role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Every role's ARN, by name; `null` for a role deleted outside the stack (its ARN names
    /// nothing).
    pub role_arns: BTreeMap<String, Option<String>>,
    pub provider_arn: Option<String>,
    pub state_bucket: Option<String>,
    pub lock_table: Option<String>,
    pub region: String,
    pub account: String,
    pub template_version: Option<String>,
}

impl StackOutputs {
    /// The stack's outputs (`stack`), or the desired names where it has none.
    pub fn new(d: &DesiredState, stack: &BTreeMap<String, String>) -> StackOutputs {
        let pick = |key: &str, fallback: Option<String>| {
            stack
                .get(key)
                .filter(|v| !v.is_empty())
                .cloned()
                .or(fallback)
        };
        let role_arns: BTreeMap<String, Option<String>> = d
            .roles
            .iter()
            .zip(role_ids(d))
            .map(|(r, ids)| (r.name.clone(), pick(&ids.output, Some(r.arn.clone()))))
            .collect();
        StackOutputs {
            role_arn: match role_arns.values().collect::<Vec<_>>().as_slice() {
                [one] => (*one).clone(),
                _ => None,
            },
            role_arns,
            provider_arn: pick("OidcProviderArn", Some(d.provider.arn.clone())),
            state_bucket: pick("StateBucketName", Some(d.bucket.name.clone())),
            lock_table: pick("LockTableName", d.table.as_ref().map(|t| t.name.clone())),
            region: d.account.region.clone(),
            account: d.account.id.clone(),
            template_version: pick("TemplateVersion", None),
        }
    }

    /// Without the ARNs of the roles `deleted` (by name) outside the stack: they name nothing.
    pub(super) fn without_deleted_roles<'a>(
        mut self,
        deleted: impl IntoIterator<Item = &'a str>,
    ) -> StackOutputs {
        for name in deleted {
            if let Some(arn) = self.role_arns.get_mut(name) {
                *arn = None;
            }
        }
        if self.role_arns.len() == 1 && self.role_arns.values().all(Option::is_none) {
            self.role_arn = None;
        }
        self
    }

    pub(super) fn text(&self) -> String {
        let mut t = String::new();
        for (name, arn) in &self.role_arns {
            match arn {
                Some(arn) => {
                    let _ = writeln!(t, "  {:<13} {arn}", "role");
                }
                None => {
                    let _ = writeln!(
                        t,
                        "  {:<13} {name}: missing (deleted outside the stack)",
                        "role"
                    );
                }
            }
        }
        for (label, value) in [
            ("oidc provider", self.provider_arn.as_deref()),
            ("state bucket", self.state_bucket.as_deref()),
            ("lock table", self.lock_table.as_deref()),
            ("region", Some(self.region.as_str())),
            ("template", self.template_version.as_deref()),
        ] {
            if let Some(v) = value {
                let _ = writeln!(t, "  {label:<13} {v}");
            }
        }
        t
    }
}

/// What both `plan` and `init` report about the issuer and the account.
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    pub mode: &'static str,
    pub account: Account,
    pub issuer: String,
    pub thumbprints: Vec<String>,
    pub thumbprint_list: Vec<String>,
}

impl Context {
    pub fn new(d: &DesiredState, served: &[String]) -> Context {
        Context {
            mode: "cloudformation",
            account: d.account.clone(),
            issuer: d.issuer_url.clone(),
            thumbprints: served.to_vec(),
            thumbprint_list: d.provider.thumbprints.clone(),
        }
    }
}

/// What becomes of a live trust policy the template does not hold: CloudFormation does not
/// revert a change made outside the stack while the role's template is unchanged.
pub(super) const STACK_FATE: &str =
    "which CloudFormation does not revert: restore the template's document on the role by hand";

/// `plan --mode cloudformation`.
#[derive(Debug, Serialize)]
pub struct StackPlanBody {
    #[serde(flatten)]
    pub context: Context,
    pub changes: bool,
    /// Changes, foreign policies or trust verdicts: what `--detailed-exitcode` exits 2 for.
    pub needs_attention: bool,
    pub stack: StackPlan,
    pub foreign_policies: Vec<ForeignPolicy>,
    /// Trust policies, live or planned, that let in more than the settings name.
    pub trust_verdicts: Vec<TrustVerdict>,
    pub aws_calls: Value,
    #[serde(skip)]
    pub detailed_exitcode: bool,
}

impl StackPlanBody {
    /// The report of `stack`'s plan in the account of `d`; `served` are the thumbprints the
    /// issuer serves now.
    pub fn new(
        stack: StackPlan,
        foreign_policies: Vec<ForeignPolicy>,
        d: &DesiredState,
        served: &[String],
        aws_calls: Value,
        detailed_exitcode: bool,
    ) -> StackPlanBody {
        StackPlanBody {
            context: Context::new(d, served),
            changes: stack.has_changes(),
            needs_attention: stack.has_changes() || !foreign_policies.is_empty(),
            stack,
            foreign_policies,
            trust_verdicts: Vec::new(),
            aws_calls,
            detailed_exitcode,
        }
    }

    /// With the trust verdicts of the stack's roles: any of them needs attention.
    pub fn with_verdicts(self, trust_verdicts: Vec<TrustVerdict>) -> StackPlanBody {
        StackPlanBody {
            needs_attention: self.needs_attention || !trust_verdicts.is_empty(),
            trust_verdicts,
            ..self
        }
    }
}

impl StackPlanBody {
    pub(super) fn text(&self, paint: Paint) -> String {
        let a = &self.context.account;
        let mut t = format!("plan for account {} in {}\n", a.id, a.region);
        t.push_str(&verdict_lines(&self.trust_verdicts, paint, STACK_FATE));
        t.push_str(&plan_text(&self.stack));
        t.push_str(&foreign_text(paint, &self.foreign_policies));
        let _ = writeln!(
            t,
            "\n{}",
            match self.stack.action {
                StackAction::Create | StackAction::Recreate =>
                    "run `bootstrap init --mode cloudformation` to create the stack (CreateStack, with the template above; asked first unless --yes)",
                StackAction::Update =>
                    "run `bootstrap init --mode cloudformation`: it shows CloudFormation's change set before it changes anything",
                StackAction::ResumeRollback =>
                    "run `bootstrap init --mode cloudformation`: it asks before resuming the rollback (ContinueUpdateRollback), then shows CloudFormation's change set before it updates",
                StackAction::None if self.stack.has_changes() =>
                    "run `bootstrap init --mode cloudformation` to turn termination protection on",
                StackAction::None => "nothing to change: the stack matches the rendered template",
            }
        );
        t
    }

    pub(super) fn exit_code(&self) -> i32 {
        if self.detailed_exitcode && self.needs_attention {
            2
        } else {
            0
        }
    }
}

/// `init --mode cloudformation`.
#[derive(Debug, Serialize)]
pub struct StackInitBody {
    #[serde(flatten)]
    pub context: Context,
    pub changes: bool,
    pub applied: bool,
    pub stack: StackPlan,
    pub result: Option<StackOutcome>,
    pub outputs: StackOutputs,
    pub next_steps: NextSteps,
    pub aws_calls: Value,
}

impl StackInitBody {
    /// The report of `init` on the stack `stack` planned: `result` when it had something to
    /// do.
    pub fn new(
        stack: StackPlan,
        result: Option<StackOutcome>,
        d: &DesiredState,
        served: &[String],
        next_steps: NextSteps,
        aws_calls: Value,
    ) -> StackInitBody {
        let outputs = match (&result, &stack.deployed) {
            (Some(o), _) => StackOutputs::new(d, &o.outputs),
            (None, Some(s)) => StackOutputs::new(d, &s.outputs),
            (None, None) => StackOutputs::new(d, &BTreeMap::new()),
        };
        StackInitBody {
            context: Context::new(d, served),
            changes: stack.has_changes(),
            applied: result.as_ref().is_some_and(|o| !o.done.is_empty()),
            stack,
            result,
            outputs,
            next_steps,
            aws_calls,
        }
    }
}

impl StackInitBody {
    pub(super) fn text(&self, _: Paint) -> String {
        let name = &self.stack.stack;
        let mut t = match &self.result {
            Some(o) => format!(
                "stack {name}: {} ({})\n",
                if o.done.is_empty() {
                    "nothing to change".to_string()
                } else {
                    o.done.join(", ")
                },
                o.status
            ),
            None => format!(
                "stack {name}: nothing to change, the stack matches the rendered template ({})\n",
                self.stack.status.as_deref().unwrap_or("")
            ),
        };
        t.push_str(&self.outputs.text());
        t.push_str(&self.next_steps.text());
        t
    }
}
