//! The results of `plan`, `init` and `status` with `--mode cloudformation` (one stack): each
//! serializes to the command's JSON document and renders its text.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use super::plan::verdict_lines;
use super::stack_text::{foreign_text, plan_text};
use super::{NextSteps, Paint, Report, GREEN, RED, YELLOW};
use crate::apply::cloudformation::changeset::ChangeSetSummary;
use crate::apply::cloudformation::events::Event;
use crate::error::Error;
use crate::model::template::role_ids;
use crate::model::{Account, DesiredState};
use crate::plan::stack::{ResourceState, StackAction, StackPlan};
use crate::plan::stack_foreign::ForeignPolicy;
use crate::plan::verdicts::TrustVerdict;

/// The values to hand on, from the stack's outputs where it has them.
#[derive(Debug, Clone, Serialize)]
pub struct StackOutputs {
    /// The role's ARN, when there is one role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Every role's ARN, by name.
    pub role_arns: BTreeMap<String, String>,
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
        let role_arns: BTreeMap<String, String> = d
            .roles
            .iter()
            .zip(role_ids(d))
            .map(|(r, ids)| {
                let arn = pick(&ids.output, Some(r.arn.clone())).unwrap_or_default();
                (r.name.clone(), arn)
            })
            .collect();
        StackOutputs {
            role_arn: match role_arns.values().collect::<Vec<_>>().as_slice() {
                [one] => Some((*one).clone()),
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

    fn text(&self) -> String {
        let mut t = String::new();
        for arn in self.role_arns.values() {
            let _ = writeln!(t, "  {:<13} {arn}", "role");
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
const STACK_FATE: &str =
    "which CloudFormation does not revert: restore the template's document on the role by hand";

/// `plan --mode cloudformation`.
#[derive(Debug, Serialize)]
pub struct StackPlanReport {
    #[serde(flatten)]
    pub context: Context,
    pub changes: bool,
    pub stack: StackPlan,
    pub foreign_policies: Vec<ForeignPolicy>,
    /// Trust policies, live or planned, that let in more than the settings name.
    pub trust_verdicts: Vec<TrustVerdict>,
    pub aws_calls: Value,
    #[serde(skip)]
    pub detailed_exitcode: bool,
}

impl StackPlanReport {
    /// The report of `stack`'s plan in the account of `d`; `served` are the thumbprints the
    /// issuer serves now.
    pub fn new(
        stack: StackPlan,
        foreign_policies: Vec<ForeignPolicy>,
        d: &DesiredState,
        served: &[String],
        aws_calls: Value,
        detailed_exitcode: bool,
    ) -> StackPlanReport {
        StackPlanReport {
            context: Context::new(d, served),
            changes: stack.has_changes(),
            stack,
            foreign_policies,
            trust_verdicts: Vec::new(),
            aws_calls,
            detailed_exitcode,
        }
    }
}

impl Report for StackPlanReport {
    fn text(&self, paint: Paint) -> String {
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

    fn exit_code(&self) -> i32 {
        let differs = self.stack.has_changes()
            || !self.foreign_policies.is_empty()
            || !self.trust_verdicts.is_empty();
        if self.detailed_exitcode && differs {
            2
        } else {
            0
        }
    }
}

/// What `init` did to the stack, and the stack afterwards.
#[derive(Debug, Clone, Serialize)]
pub struct StackOutcome {
    pub stack_id: String,
    pub status: String,
    /// What was done, in order ("created the stack", ...); empty when nothing was.
    pub done: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_set: Option<ChangeSetSummary>,
    pub events: Vec<Event>,
    pub outputs: BTreeMap<String, String>,
}

/// `init --mode cloudformation`.
#[derive(Debug, Serialize)]
pub struct StackInitReport {
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

impl StackInitReport {
    /// The report of `init` on the stack `stack` planned: `result` when it had something to
    /// do.
    pub fn new(
        stack: StackPlan,
        result: Option<StackOutcome>,
        d: &DesiredState,
        served: &[String],
        next_steps: NextSteps,
        aws_calls: Value,
    ) -> StackInitReport {
        let outputs = match (&result, &stack.deployed) {
            (Some(o), _) => StackOutputs::new(d, &o.outputs),
            (None, Some(s)) => StackOutputs::new(d, &s.outputs),
            (None, None) => StackOutputs::new(d, &BTreeMap::new()),
        };
        StackInitReport {
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

impl Report for StackInitReport {
    fn text(&self, _: Paint) -> String {
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

/// `status --mode cloudformation`: no stack, or the stack as it stands.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum StackStatusReport {
    Missing(MissingStack),
    Present(Box<PresentStack>),
}

#[derive(Debug, Serialize)]
pub struct MissingStack {
    pub mode: &'static str,
    pub stack: String,
    pub exists: bool,
    pub in_sync: bool,
    /// Why `init` cannot create the stack (resources of its names outside any stack), and
    /// what to do instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<Blocked>,
    pub aws_calls: Value,
    #[serde(skip)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Serialize)]
pub struct Blocked {
    pub reason: String,
    pub hint: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PresentStack {
    pub mode: &'static str,
    pub stack: String,
    pub exists: bool,
    pub status: String,
    pub in_sync: bool,
    pub template_in_sync: bool,
    pub foreign_policies: Vec<ForeignPolicy>,
    /// Trust policies, live or planned, that let in more than the settings name.
    pub trust_verdicts: Vec<TrustVerdict>,
    pub plan: StackPlan,
    pub resources: Vec<ResourceState>,
    pub outputs: StackOutputs,
    pub aws_calls: Value,
    #[serde(skip)]
    pub detailed_exitcode: bool,
}

impl StackStatusReport {
    /// There is no stack `stack`; `blocked`: why `init` cannot create it.
    pub fn missing(
        stack: String,
        blocked: Option<Error>,
        aws_calls: Value,
        detailed_exitcode: bool,
    ) -> StackStatusReport {
        StackStatusReport::Missing(MissingStack {
            mode: "cloudformation",
            stack,
            exists: false,
            in_sync: false,
            blocked: blocked.map(|e| Blocked {
                reason: e.message,
                hint: e.hint,
            }),
            aws_calls,
            detailed_exitcode,
        })
    }

    /// The stack `plan` describes, with its resources and the policies on its roles that the
    /// template does not define, in the account of `d`.
    pub fn present(
        plan: StackPlan,
        resources: Vec<ResourceState>,
        foreign_policies: Vec<ForeignPolicy>,
        d: &DesiredState,
        aws_calls: Value,
        detailed_exitcode: bool,
    ) -> StackStatusReport {
        let stack_outputs = plan.deployed.as_ref().map(|s| s.outputs.clone());
        let mut p = PresentStack {
            mode: "cloudformation",
            stack: plan.stack.clone(),
            exists: true,
            status: plan.status.clone().unwrap_or_default(),
            in_sync: false,
            template_in_sync: plan.template_in_sync(),
            foreign_policies,
            trust_verdicts: Vec::new(),
            plan,
            resources,
            outputs: StackOutputs::new(d, &stack_outputs.unwrap_or_default()),
            aws_calls,
            detailed_exitcode,
        };
        p.in_sync = p.stack_in_sync() && p.foreign_policies.is_empty() && p.resources_in_sync();
        StackStatusReport::Present(Box::new(p))
    }

    /// With the verdicts on the stack's roles' trust policies: any of them means not in sync.
    pub fn with_verdicts(self, verdicts: Vec<TrustVerdict>) -> StackStatusReport {
        match self {
            StackStatusReport::Present(mut p) => {
                p.in_sync = p.in_sync && verdicts.is_empty();
                p.trust_verdicts = verdicts;
                StackStatusReport::Present(p)
            }
            missing => missing,
        }
    }
}

impl PresentStack {
    /// The stack's status is a settled one it can be used and updated in: an update that
    /// rolled back (UPDATE_ROLLBACK_COMPLETE) left it as it was before; a first create that
    /// rolled back (ROLLBACK_COMPLETE) left nothing.
    fn healthy(status: &str) -> bool {
        status.ends_with("_COMPLETE")
            && status != "ROLLBACK_COMPLETE"
            && status != "DELETE_COMPLETE"
    }

    /// No resource drifted, deleted outside the stack, missing from it, or failed.
    fn resources_in_sync(&self) -> bool {
        !self.resources.iter().any(ResourceState::out_of_sync)
    }

    /// What to run next when something is not in sync.
    fn next(&self) -> String {
        if let Some(next) = &self.plan.next {
            return next.clone();
        }
        if !self.stack_in_sync() {
            return "run `bootstrap init --mode cloudformation` to bring the stack in line (`bootstrap plan --mode cloudformation` shows what it does)".into();
        }
        if !self.resources_in_sync() {
            return "CloudFormation does not repair a resource changed or deleted outside the stack on a re-run: a changed role or table is set back by the next update that touches it; a deleted one is re-created only when replaced: give it a new name (a role: in its [[role]] table or --role-name, then `bootstrap init --mode cloudformation --prune`; the table: --lock-table; the bucket: --state-bucket, then init). See docs/cloudformation.md, \"Drift\"".into();
        }
        "the stack is in sync; remove the policies above by hand".into()
    }

    /// The stack itself matches: template, health and termination protection.
    fn stack_in_sync(&self) -> bool {
        self.template_in_sync
            && Self::healthy(&self.status)
            && !self.plan.enable_termination_protection
    }

    fn summary(&self, t: &mut String, paint: Paint) {
        let color = if Self::healthy(&self.status) {
            GREEN
        } else {
            YELLOW
        };
        let _ = writeln!(
            t,
            "stack {}  {}",
            self.stack,
            paint.paint(color, &self.status)
        );
        for n in &self.plan.notes {
            let _ = writeln!(t, "  note: {n}");
        }
        if let Some(d) = &self.plan.deployed {
            let on = if d.termination_protection {
                "on"
            } else {
                "off"
            };
            let _ = writeln!(t, "  termination protection {on}");
        }
        if !self.plan.compared {
            let _ = writeln!(
                t,
                "  template not compared while the stack is {}",
                self.status
            );
        } else if self.template_in_sync {
            let _ = writeln!(t, "  template matches the rendered one");
        } else {
            let _ = writeln!(t, "  template differs from the rendered one:");
            for c in &self.plan.changes {
                let fields = c.fields.join(", ");
                let _ = writeln!(t, "    {} {} {fields}", c.action, c.logical_id);
            }
        }
    }
}

impl Report for StackStatusReport {
    fn text(&self, paint: Paint) -> String {
        let p = match self {
            StackStatusReport::Missing(m) => {
                let next = match &m.blocked {
                    None => "run `bootstrap init --mode cloudformation` to create it".to_string(),
                    Some(b) => format!(
                        "init cannot create it: {}\n{}",
                        b.reason,
                        b.hint.as_deref().unwrap_or_default()
                    ),
                };
                return format!(
                    "stack {}  {}\n\n{next}\n",
                    m.stack,
                    paint.paint(RED, "missing")
                );
            }
            StackStatusReport::Present(p) => p,
        };
        let mut t = String::new();
        p.summary(&mut t, paint);
        let _ = writeln!(t, "\nresources:");
        for r in &p.resources {
            let drift = r
                .drift
                .as_deref()
                .filter(|d| *d != "NOT_CHECKED")
                .map(|d| format!("  drift: {d}"))
                .unwrap_or_default();
            let (id, ty, st) = (&r.logical_id, &r.resource_type, &r.status);
            let problem = r
                .problem()
                .map(|p| format!("  {}", paint.paint(RED, &p)))
                .unwrap_or_default();
            let line = format!(
                "  {id:<18} {ty:<24} {st:<16} {}{drift}{problem}",
                r.physical_id
            );
            let _ = writeln!(t, "{}", line.trim_end());
        }
        let _ = writeln!(t, "\noutputs:");
        t.push_str(&p.outputs.text());
        t.push_str(&foreign_text(paint, &p.foreign_policies));
        t.push_str(&verdict_lines(&p.trust_verdicts, paint, STACK_FATE));
        let _ = writeln!(
            t,
            "\n{}",
            if p.in_sync {
                "everything is in sync (the resources were read; for every property CloudFormation's drift detection compares: aws cloudformation detect-stack-drift)".to_string()
            } else if p.stack_in_sync() && p.resources_in_sync() && !p.foreign_policies.is_empty() {
                "the stack is in sync; remove the policies above by hand".to_string()
            } else if p.stack_in_sync() && p.resources_in_sync() && !p.trust_verdicts.is_empty() {
                "the stack is in sync, but a trust policy lets in more than it should: see above"
                    .to_string()
            } else {
                p.next()
            }
        );
        t
    }

    /// `--detailed-exitcode`: 2 when the stack is missing or not in sync (as Terraform's).
    fn exit_code(&self) -> i32 {
        match self {
            StackStatusReport::Missing(m) if m.detailed_exitcode => 2,
            StackStatusReport::Present(p) if p.detailed_exitcode && !p.in_sync => 2,
            _ => 0,
        }
    }
}
