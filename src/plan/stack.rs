//! One stack: what `init` has to do to the stack as it is (the plan), what stands in the way
//! of creating it, and how each resource of the template stands in it. No AWS calls.

use serde::Serialize;
use serde_json::Value;

use super::compare::{self, ResourceDiff};
use super::stack_notes::{Failed, StackNote};
use crate::error::{Error, Result};
use crate::model::DesiredState;
use crate::observe::stack::{ObservedResource, ObservedStack};
use crate::observe::Observed;

/// The stack to converge to.
#[derive(Debug, Clone)]
pub struct StackSpec {
    pub name: String,
    /// The template text submitted (YAML).
    pub body: String,
    /// The same template as a document.
    pub template: Value,
}

/// What `init` does to the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StackAction {
    /// No stack: create it.
    Create,
    /// The first create failed and rolled back (ROLLBACK_COMPLETE), or an unexecuted change
    /// set left an empty stack (REVIEW_IN_PROGRESS): delete it, then create it.
    Recreate,
    /// An update failed and so did its rollback (UPDATE_ROLLBACK_FAILED): resume the rollback
    /// with ContinueUpdateRollback, then update.
    ResumeRollback,
    /// The template differs: update through a change set.
    Update,
    /// Nothing to do to the template.
    None,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackPlan {
    pub stack: String,
    /// `None` when there is no stack.
    pub status: Option<String>,
    pub action: StackAction,
    /// Resources of the template that differ from the deployed one (all of them for a new
    /// stack).
    pub changes: Vec<ResourceDiff>,
    /// Termination protection is off and will be turned on.
    pub enable_termination_protection: bool,
    /// Why, for the stack states that need explaining.
    pub notes: Vec<StackNote>,
    /// The deployed template was compared with the rendered one (not for a stack that is
    /// busy or broken).
    pub compared: bool,
    /// What to run next for a stack that is busy or broken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip)]
    pub deployed: Option<ObservedStack>,
}

impl StackPlan {
    pub fn has_changes(&self) -> bool {
        self.action != StackAction::None || self.enable_termination_protection
    }

    /// Whether `init` creates the stack (anew).
    pub fn creates(&self) -> bool {
        matches!(self.action, StackAction::Create | StackAction::Recreate)
    }

    /// Whether the deployed template is the rendered one (as far as it was compared).
    pub fn template_in_sync(&self) -> bool {
        self.compared && !self.creates() && self.changes.is_empty()
    }

    /// The plan for a stack that is busy or broken: a status to show, nothing done, the
    /// template not compared; `e` says why and what to run next.
    fn unsettled(spec: &StackSpec, status: String, e: Error, d: ObservedStack) -> StackPlan {
        StackPlan {
            stack: spec.name.clone(),
            status: Some(status),
            action: StackAction::None,
            changes: Vec::new(),
            enable_termination_protection: false,
            notes: vec![StackNote::Unsettled(e.message)],
            compared: false,
            next: e.hint,
            deployed: Some(d),
        }
    }
}

fn busy(spec: &StackSpec, status: &str) -> Error {
    Error::failure(format!(
        "the stack is {status}: another operation is running"
    ))
    .resource(spec.name.clone())
    .code(status.to_string())
    .hint("wait for it to finish (bootstrap status --mode cloudformation), then run again")
}

fn broken(spec: &StackSpec, d: &ObservedStack) -> Error {
    Error::failure(format!(
        "the stack is {}: CloudFormation could not clean it up{}",
        d.status,
        d.failures.operation.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()
    ))
    .resource(spec.name.clone())
    .code(d.status.clone())
    .hint("delete it with `bootstrap destroy --mode cloudformation` (if a resource blocks the deletion again, CloudFormation's events name it: remove what blocks it, or delete the stack in the console keeping that resource), then run `bootstrap init --mode cloudformation` to create it again; or pick another --stack-name")
}

/// The update of a settled stack: nothing when the deployed template is the rendered one.
fn update(
    spec: &StackSpec,
    d: &ObservedStack,
    deployed_template: Option<&Value>,
) -> Vec<ResourceDiff> {
    let same = d
        .template_body
        .as_deref()
        .is_some_and(|b| compare::same(b, &spec.body, &spec.template))
        && d.parameters.is_empty();
    if same {
        return Vec::new();
    }
    let mut changes = compare::diff(deployed_template, &spec.template);
    if changes.is_empty() {
        // Different text that reads differently but is not a different document we can
        // name (e.g. YAML short forms): let CloudFormation compare.
        changes.push(ResourceDiff {
            logical_id: "(template)".into(),
            resource_type: String::new(),
            action: "modify".into(),
            fields: vec!["text".into()],
        });
    }
    changes
}

/// Compare the stack as it is (`None`: no stack) with `spec` and decide what `init` does.
pub fn plan(spec: &StackSpec, observed: Option<ObservedStack>) -> Result<StackPlan> {
    let mut plan = StackPlan {
        stack: spec.name.clone(),
        status: observed.as_ref().map(|d| d.status.clone()),
        action: StackAction::None,
        changes: Vec::new(),
        enable_termination_protection: false,
        notes: Vec::new(),
        compared: true,
        next: None,
        deployed: observed.clone(),
    };
    let Some(d) = observed else {
        plan.action = StackAction::Create;
        plan.changes = compare::diff(None, &spec.template);
        return Ok(plan);
    };
    let ours = super::stack_owner::recorded_set(&spec.template).unwrap_or_default();
    super::stack_owner::check_stack(&spec.name, &d, ours)?;
    let deployed_template = d.template_body.as_deref().and_then(compare::parse);
    match d.status.as_str() {
        "ROLLBACK_COMPLETE" => {
            plan.action = StackAction::Recreate;
            plan.changes = compare::diff(None, &spec.template);
            plan.notes.push(StackNote::RolledBack);
            plan.notes
                .extend(StackNote::failed_on(Failed::Create, &d.failures.operation));
        }
        "REVIEW_IN_PROGRESS" => {
            plan.action = StackAction::Recreate;
            plan.changes = compare::diff(None, &spec.template);
            plan.notes.push(StackNote::NeverRan);
        }
        "UPDATE_ROLLBACK_FAILED" => {
            plan.action = StackAction::ResumeRollback;
            plan.changes = compare::diff(deployed_template.as_ref(), &spec.template);
            plan.notes.push(StackNote::RollbackFailed);
            plan.notes
                .extend(StackNote::failed_on(Failed::Update, &d.failures.operation));
            plan.notes
                .extend(StackNote::failed_on(Failed::Rollback, &d.failures.rollback));
        }
        "ROLLBACK_FAILED" | "DELETE_FAILED" | "IMPORT_ROLLBACK_FAILED" => {
            return Err(broken(spec, &d))
        }
        s if s.ends_with("_IN_PROGRESS") => return Err(busy(spec, s)),
        _ => {
            plan.changes = update(spec, &d, deployed_template.as_ref());
            if !plan.changes.is_empty() {
                plan.action = StackAction::Update;
            }
        }
    }
    plan.enable_termination_protection = !d.termination_protection && !plan.creates();
    Ok(plan)
}

/// The plan `status` shows: a busy or broken stack is a status there, not an error.
pub fn for_status(spec: &StackSpec, observed: Option<ObservedStack>) -> Result<StackPlan> {
    plan(spec, observed.clone()).or_else(|e| match (e.code.clone(), observed) {
        (Some(code), Some(d)) if code.ends_with("_IN_PROGRESS") || code.ends_with("_FAILED") => {
            Ok(StackPlan::unsettled(spec, code, e, d))
        }
        _ => Err(e),
    })
}

/// CloudFormation cannot create a resource whose name is taken: refuse a new stack over
/// resources that exist outside it.
pub fn refuse_existing(d: &DesiredState, o: &Observed, stack: &str) -> Result<()> {
    let mut taken = Vec::new();
    if o.provider.is_some() {
        taken.push(format!("the OIDC provider {}", d.provider.arn));
    }
    let roles: Vec<&str> = d
        .roles
        .iter()
        .zip(&o.roles)
        .filter(|(_, live)| live.is_some())
        .map(|(r, _)| r.name.as_str())
        .collect();
    match roles.as_slice() {
        [] => {}
        [one] => taken.push(format!("the role {one}")),
        many => taken.push(format!("the roles {}", many.join(", "))),
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
    let one = taken.len() == 1 && roles.len() < 2;
    Err(Error::failure(format!(
        "cannot create stack {stack}: {} already exist{} outside it, and CloudFormation only creates what it manages",
        taken.join(", "),
        if one { "s" } else { "" }
    ))
    .resource(stack.to_string())
    .hint("keep managing them with --mode direct, import them into the stack (docs/cloudformation.md, \"Resources that already exist\"), or choose other names (--role-name, --state-bucket, --lock-table)"))
}

/// Refuse to hand on the ARN of a configured role of stack `stack` that does not exist (it was
/// deleted outside the stack: CloudFormation still lists it). `live`: each desired role as
/// read, in order.
pub fn refuse_missing_roles(
    stack: &str,
    d: &DesiredState,
    live: &[Option<crate::observe::ObservedRole>],
) -> Result<()> {
    let missing: Vec<&str> = d
        .roles
        .iter()
        .zip(live)
        .filter(|(_, l)| l.is_none())
        .map(|(r, _)| r.name.as_str())
        .collect();
    let Some(first) = missing.first() else {
        return Ok(());
    };
    Err(Error::failure(format!(
        "role {} of the stack does not exist: it was deleted outside the stack, which CloudFormation does not notice, so its ARN is not handed on",
        missing.join(", ")
    ))
    .resource(stack.to_string())
    .hint(format!(
        "CloudFormation re-creates a resource only when it replaces it: give role {first} a new name (its [[role]] name, or --role-name) and run `bootstrap init --mode cloudformation --prune`; see docs/cloudformation.md, \"Drift\""
    )))
}

/// How one resource of the template (or one the stack has beyond it) stands in the stack.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceState {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub physical_id: String,
    /// The stack's status of it, or `NOT_IN_STACK`.
    pub status: String,
    pub drift: Option<String>,
    /// Whether it exists, read from its service (`None`: not read); `false` when it was
    /// deleted outside the stack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
}

impl ResourceState {
    /// Not as the stack says: drifted or deleted (CloudFormation's drift results), missing
    /// when read, or failed. (A resource of the template the stack lacks is a template
    /// difference, which the plan shows.)
    pub fn out_of_sync(&self) -> bool {
        matches!(self.drift.as_deref(), Some("MODIFIED" | "DELETED"))
            || self.exists == Some(false)
            || self.status.ends_with("_FAILED")
    }

    /// Deleted outside the stack: read as missing, or CloudFormation's drift says DELETED.
    pub fn gone(&self) -> bool {
        self.exists == Some(false) || self.drift.as_deref() == Some("DELETED")
    }

    /// What is wrong with it, for people; `None` when nothing is.
    pub fn problem(&self) -> Option<String> {
        if self.gone() {
            Some("deleted outside the stack".into())
        } else if self.drift.as_deref() == Some("MODIFIED") {
            Some("changed outside the stack (drift: MODIFIED)".into())
        } else if self.status.ends_with("_FAILED") {
            Some(self.status.clone())
        } else {
            None
        }
    }
}

/// Every resource of the rendered template (`(logical id, type)`), as the stack has it or
/// not, then any the stack has beyond the template.
pub fn resource_states(
    template: &[(String, String)],
    live: &[ObservedResource],
) -> Vec<ResourceState> {
    let state = |id: &str, ty: &str, r: Option<&ObservedResource>| ResourceState {
        logical_id: id.to_string(),
        resource_type: ty.to_string(),
        physical_id: r.map(|r| r.physical_id.clone()).unwrap_or_default(),
        status: r
            .and_then(|r| r.status.clone())
            .unwrap_or_else(|| "NOT_IN_STACK".into()),
        drift: r.and_then(|r| r.drift.clone()),
        exists: None,
    };
    let mut out: Vec<ResourceState> = template
        .iter()
        .map(|(id, ty)| state(id, ty, live.iter().find(|r| r.logical_id == *id)))
        .collect();
    for r in live {
        if !r.logical_id.is_empty() && !out.iter().any(|s| s.logical_id == r.logical_id) {
            out.push(state(&r.logical_id, &r.resource_type, Some(r)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::stack::Failures;
    use serde_json::json;

    fn spec() -> StackSpec {
        let template = json!({
            "Metadata": {"bootstrap": {"template-version": "1"}},
            "Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {"X": 1}}}
        });
        StackSpec {
            name: "s".into(),
            body: template.to_string(),
            template,
        }
    }

    fn stack(status: &str, body: Option<String>, protected: bool) -> ObservedStack {
        ObservedStack {
            stack_id: "id".into(),
            status: status.into(),
            status_reason: None,
            termination_protection: protected,
            parameters: Default::default(),
            outputs: Default::default(),
            template_body: body,
            failures: Failures {
                operation: Some("Role (AWS::IAM::Role) CREATE_FAILED: denied".into()),
                rollback: None,
            },
        }
    }

    #[test]
    fn the_plan_follows_the_stack_status() {
        let s = spec();
        let p = plan(&s, None).unwrap();
        assert_eq!((p.action, p.changes.len()), (StackAction::Create, 1));
        assert!(!p.enable_termination_protection);

        let same = Some(s.body.clone());
        let p = plan(&s, Some(stack("UPDATE_COMPLETE", same.clone(), true))).unwrap();
        assert!(!p.has_changes());
        let p = plan(&s, Some(stack("UPDATE_COMPLETE", same.clone(), false))).unwrap();
        assert_eq!(p.action, StackAction::None);
        assert!(p.enable_termination_protection && p.has_changes());

        let other = Some(json!({"Metadata": s.template["Metadata"], "Resources": {}}).to_string());
        let p = plan(&s, Some(stack("CREATE_COMPLETE", other, true))).unwrap();
        assert_eq!(p.action, StackAction::Update);
        assert_eq!(p.changes[0].action, "add");

        let p = plan(&s, Some(stack("ROLLBACK_COMPLETE", same.clone(), true))).unwrap();
        assert_eq!(p.action, StackAction::Recreate);
        assert!(
            matches!(&p.notes[1], StackNote::FailedOn { what: Failed::Create, reason } if reason.starts_with("Role")),
            "{:?}",
            p.notes
        );
        assert!(!p.enable_termination_protection, "set at creation instead");

        let e = plan(&s, Some(stack("UPDATE_IN_PROGRESS", same.clone(), true))).unwrap_err();
        assert_eq!(e.code.as_deref(), Some("UPDATE_IN_PROGRESS"));
        let e = plan(&s, Some(stack("DELETE_FAILED", same.clone(), true))).unwrap_err();
        assert!(
            e.message.contains("(Role (AWS::IAM::Role)"),
            "{}",
            e.message
        );
        let p = for_status(&s, Some(stack("DELETE_FAILED", same, true))).unwrap();
        assert_eq!(p.status.as_deref(), Some("DELETE_FAILED"));
        assert!(!p.has_changes());
    }

    #[test]
    fn resources_of_the_template_then_those_beyond_it() {
        let live = |id: &str, status: &str| ObservedResource {
            logical_id: id.into(),
            resource_type: "T".into(),
            physical_id: format!("{id}-1"),
            status: Some(status.into()),
            drift: None,
        };
        let template = [("A".to_string(), "T".to_string()), ("B".into(), "T".into())];
        let rows = resource_states(&template, &[live("B", "CREATE_COMPLETE"), live("C", "X")]);
        let got: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|r| {
                (
                    r.logical_id.as_str(),
                    r.status.as_str(),
                    r.physical_id.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("A", "NOT_IN_STACK", ""),
                ("B", "CREATE_COMPLETE", "B-1"),
                ("C", "X", "C-1")
            ]
        );
    }
}
