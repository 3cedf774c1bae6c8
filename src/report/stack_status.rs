//! `status --mode cloudformation`: no stack, or the stack as it stands (its template, each
//! resource as read, foreign policies on its roles, and trust verdicts).

use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use super::stack::{StackOutputs, STACK_FATE};
use super::stack_text::foreign_text;
use super::verdicts::verdict_lines;
use super::{Paint, GREEN, RED, YELLOW};
use crate::error::Error;
use crate::model::DesiredState;
use crate::plan::stack::{ResourceState, StackPlan};
use crate::plan::stack_foreign::ForeignPolicy;
use crate::plan::verdicts::TrustVerdict;

/// `status --mode cloudformation`: no stack, or the stack as it stands.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum StackStatusBody {
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

impl StackStatusBody {
    /// There is no stack `stack`; `blocked`: why `init` cannot create it.
    pub fn missing(
        stack: String,
        blocked: Option<Error>,
        aws_calls: Value,
        detailed_exitcode: bool,
    ) -> StackStatusBody {
        StackStatusBody::Missing(MissingStack {
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
    ) -> StackStatusBody {
        let stack_outputs = plan.deployed.as_ref().map(|s| s.outputs.clone());
        // A role deleted outside the stack has an ARN in the outputs that names nothing.
        let deleted_roles: Vec<&str> = resources
            .iter()
            .filter(|r| r.resource_type == "AWS::IAM::Role" && r.gone())
            .map(|r| r.physical_id.as_str())
            .collect();
        let outputs = StackOutputs::new(d, &stack_outputs.unwrap_or_default())
            .without_deleted_roles(deleted_roles);
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
            outputs,
            aws_calls,
            detailed_exitcode,
        };
        p.in_sync = p.stack_in_sync() && p.foreign_policies.is_empty() && p.resources_in_sync();
        StackStatusBody::Present(Box::new(p))
    }

    /// With the verdicts on the stack's roles' trust policies: any of them means not in sync.
    pub fn with_verdicts(self, verdicts: Vec<TrustVerdict>) -> StackStatusBody {
        match self {
            StackStatusBody::Present(mut p) => {
                p.in_sync = p.in_sync && verdicts.is_empty();
                p.trust_verdicts = verdicts;
                StackStatusBody::Present(p)
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

impl StackStatusBody {
    pub(super) fn text(&self, paint: Paint) -> String {
        let p = match self {
            StackStatusBody::Missing(m) => {
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
            StackStatusBody::Present(p) => p,
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
    pub(super) fn exit_code(&self) -> i32 {
        match self {
            StackStatusBody::Missing(m) if m.detailed_exitcode => 2,
            StackStatusBody::Present(p) if p.detailed_exitcode && !p.in_sync => 2,
            _ => 0,
        }
    }
}
