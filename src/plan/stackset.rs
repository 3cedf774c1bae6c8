//! A StackSet: the same template in many accounts. What `init` has to do to the StackSet as
//! it is: create it or update its template, add the instances that are missing, deploy again
//! to those an earlier operation left outdated. No AWS calls.

use aws_sdk_cloudformation::types::PermissionModels;
use serde::Serialize;
use serde_json::Value;

use super::compare::{self, ResourceDiff};
use super::stack_notes::StackNote;
use super::stack_roles::{dropped_note, refuse_role_losses, role_losses, RoleLosses};
use crate::config::StackSetTargets;
use crate::error::{Error, Result};
use crate::observe::stackset::{Instance, ObservedStackSet};

/// The StackSet to converge to.
#[derive(Debug, Clone)]
pub struct StackSetSpec {
    pub name: String,
    pub body: String,
    pub template: Value,
    pub targets: StackSetTargets,
    pub regions: Vec<String>,
}

impl StackSetSpec {
    /// Accounts are self-managed; organizational units service-managed.
    pub fn permission_model(&self) -> PermissionModels {
        match self.targets {
            StackSetTargets::Accounts(_) => PermissionModels::SelfManaged,
            StackSetTargets::OrgUnits(_) => PermissionModels::ServiceManaged,
        }
    }

    /// The account ids or OU ids targeted.
    pub fn target_ids(&self) -> &[String] {
        match &self.targets {
            StackSetTargets::Accounts(a) | StackSetTargets::OrgUnits(a) => a,
        }
    }

    /// The target `i` is an instance of: its account, or its OU.
    pub fn target_of(&self, i: &Instance) -> Target {
        Target {
            target: match self.targets {
                StackSetTargets::Accounts(_) => i.account.clone(),
                StackSetTargets::OrgUnits(_) => i.org_unit.clone().unwrap_or_default(),
            },
            region: i.region.clone(),
        }
    }

    /// Whether `i` belongs to one of the targets.
    fn targets(&self, i: &Instance) -> bool {
        match &self.targets {
            StackSetTargets::Accounts(a) => a.contains(&i.account),
            StackSetTargets::OrgUnits(o) => i.org_unit.as_ref().is_some_and(|u| o.contains(u)),
        }
    }
}

/// A target to add: an account, or an organizational unit, in a region.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Target {
    /// An account id or an OU id.
    pub target: String,
    pub region: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackSetPlan {
    pub name: String,
    pub exists: bool,
    /// The template differs from the StackSet's (or there is no StackSet).
    pub update_template: bool,
    pub template_changes: Vec<ResourceDiff>,
    /// Instances to add.
    pub add: Vec<Target>,
    /// Instances of the targets left OUTDATED by an earlier operation: deployed again.
    pub retry: Vec<Instance>,
    /// Every instance the StackSet has now.
    pub instances: Vec<Instance>,
    pub notes: Vec<StackNote>,
    /// The roles the template update takes from every instance.
    #[serde(skip)]
    pub role_losses: RoleLosses,
    /// The organizational units the StackSet targets already (read from it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targeted_org_units: Vec<String>,
}

impl StackSetPlan {
    pub fn has_changes(&self) -> bool {
        !self.exists || self.update_template || !self.add.is_empty() || !self.retry.is_empty()
    }
}

/// A StackSet is targeted the way it was created.
fn check_permission_model(spec: &StackSetSpec, have: &str) -> Result<()> {
    let want = spec.permission_model();
    if have == want.as_str() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "StackSet {} has {have} permissions; {} needs {}",
        spec.name,
        match spec.targets {
            StackSetTargets::Accounts(_) => "--accounts",
            StackSetTargets::OrgUnits(_) => "--org-units",
        },
        want.as_str()
    ))
    .hint("target it the way it was created (--accounts for SELF_MANAGED, --org-units for SERVICE_MANAGED), or choose another --stackset name"))
}

const INIT_SET: &str = "bootstrap init --stackset NAME ...";

/// The plan, refused when the template update would move a role to another logical id, or
/// (unless `prune`) delete roles from every instance: the role-loss guard a stack has.
pub fn checked_plan(
    spec: &StackSetSpec,
    observed: Option<ObservedStackSet>,
    prune: bool,
) -> Result<StackSetPlan> {
    let plan = plan(spec, observed)?;
    refuse_role_losses("StackSet", &spec.name, &plan.role_losses, prune, INIT_SET)?;
    Ok(plan)
}

/// Compare the StackSet as it is (`None`: no StackSet) with `spec`.
pub fn plan(spec: &StackSetSpec, observed: Option<ObservedStackSet>) -> Result<StackSetPlan> {
    let mut plan = StackSetPlan {
        name: spec.name.clone(),
        exists: false,
        update_template: true,
        template_changes: compare::diff(None, &spec.template),
        add: Vec::new(),
        retry: Vec::new(),
        instances: Vec::new(),
        notes: Vec::new(),
        role_losses: RoleLosses::default(),
        targeted_org_units: Vec::new(),
    };
    if let Some(set) = observed {
        let ours = super::stack_owner::recorded_set(&spec.template).unwrap_or_default();
        super::stack_owner::check_stackset(&spec.name, &set.template_body, ours)?;
        check_permission_model(spec, &set.permission_model)?;
        plan.exists = true;
        let body = &set.template_body;
        plan.update_template =
            set.has_parameters || !compare::same(body, &spec.body, &spec.template);
        plan.template_changes = if plan.update_template {
            compare::diff(compare::parse(body).as_ref(), &spec.template)
        } else {
            Vec::new()
        };
        plan.role_losses = role_losses(Some(body), &spec.template);
        plan.notes.extend(dropped_note(&plan.role_losses));
        plan.instances = set.instances;
        plan.targeted_org_units = set.org_units;
    }
    refuse_region_moves(spec, &plan.instances)?;
    plan.add = missing(spec, &plan.instances, &plan.targeted_org_units);
    for i in &plan.instances {
        if !spec.targets(i) {
            plan.notes.push(StackNote::NotTargeted {
                account: i.account.clone(),
                region: i.region.clone(),
            });
        } else if i.status == "OUTDATED" && !plan.update_template {
            plan.retry.push(i.clone());
        } else if i.status == "INOPERABLE" {
            plan.notes.push(StackNote::Inoperable {
                account: i.account.clone(),
                region: i.region.clone(),
            });
        }
    }
    Ok(plan)
}

/// Refuse targets that have an instance in a region `spec` does not name: a second region
/// would give the same account a second instance, whose roles (IAM is global to an account)
/// clash with the first's. Moving is the user's explicit step.
fn refuse_region_moves(spec: &StackSetSpec, instances: &[Instance]) -> Result<()> {
    let Some(i) = instances
        .iter()
        .find(|i| spec.targets(i) && !spec.regions.contains(&i.region))
    else {
        return Ok(());
    };
    let (flag, target) = match spec.targets {
        StackSetTargets::Accounts(_) => ("--accounts", i.account.clone()),
        StackSetTargets::OrgUnits(_) => (
            "--deployment-targets OrganizationalUnitIds=",
            i.org_unit.clone().unwrap_or_default(),
        ),
    };
    let name = &spec.name;
    Err(Error::usage(format!(
        "StackSet {name} has account {} in {}, and --regions {} would give that account a second instance, whose roles clash with the first's (IAM is global to an account)",
        i.account,
        i.region,
        spec.regions.join(",")
    ))
    .resource(name.clone())
    .hint(format!(
        "keep --regions {}; to move it, delete that instance first (aws cloudformation delete-stack-instances --stack-set-name {name} {flag}{}{target} --regions {} --no-retain-stacks; its bucket and table are kept, DeletionPolicy Retain), then run init with the new --regions",
        i.region,
        if flag.ends_with('=') { "" } else { " " },
        i.region
    )))
}

/// The targets, region by region, that have no instance yet. An OU the StackSet already
/// targets (`targeted`) and that has no instance anywhere has no accounts: nothing to add.
fn missing(spec: &StackSetSpec, instances: &[Instance], targeted: &[String]) -> Vec<Target> {
    let mut add = Vec::new();
    for region in &spec.regions {
        for t in spec.target_ids() {
            let of_t = |i: &&Instance| i.account == *t || i.org_unit.as_deref() == Some(t.as_str());
            let empty_ou = targeted.contains(t) && !instances.iter().any(|i| of_t(&i));
            let present = empty_ou || instances.iter().filter(of_t).any(|i| i.region == *region);
            if !present {
                add.push(Target {
                    target: t.clone(),
                    region: region.clone(),
                });
            }
        }
    }
    add
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(accounts: &[&str]) -> StackSetSpec {
        let template =
            json!({"Metadata": {"bootstrap": {"template-version": "1"}}, "Resources": {}});
        StackSetSpec {
            name: "org".into(),
            body: template.to_string(),
            template,
            targets: StackSetTargets::Accounts(accounts.iter().map(ToString::to_string).collect()),
            regions: vec!["eu-west-1".into()],
        }
    }

    fn instance(account: &str, status: &str) -> Instance {
        Instance {
            account: account.into(),
            region: "eu-west-1".into(),
            org_unit: None,
            status: status.into(),
            detailed_status: None,
            reason: None,
        }
    }

    #[test]
    fn missing_targets_are_added_and_outdated_ones_deployed_again() {
        let s = spec(&["111111111111", "222222222222"]);
        let p = plan(&s, None).unwrap();
        assert!(!p.exists && p.update_template && p.has_changes());
        assert_eq!(p.add.len(), 2);

        let observed = ObservedStackSet {
            permission_model: "SELF_MANAGED".into(),
            template_body: s.body.clone(),
            has_parameters: false,
            org_units: Vec::new(),
            instances: vec![
                instance("111111111111", "OUTDATED"),
                instance("333333333333", "CURRENT"),
            ],
        };
        let p = plan(&s, Some(observed.clone())).unwrap();
        assert!(!p.update_template);
        assert_eq!(p.add, [s.target_of(&instance("222222222222", "CURRENT"))]);
        assert_eq!(p.retry, [instance("111111111111", "OUTDATED")]);
        assert_eq!(
            p.notes[0],
            StackNote::NotTargeted {
                account: "333333333333".into(),
                region: "eu-west-1".into()
            }
        );

        let wrong = ObservedStackSet {
            permission_model: "SERVICE_MANAGED".into(),
            ..observed
        };
        let e = plan(&s, Some(wrong)).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(
            e.message.contains("--accounts needs SELF_MANAGED"),
            "{}",
            e.message
        );
    }

    #[test]
    fn another_region_is_refused_and_an_empty_targeted_ou_converges() {
        let mut s = spec(&["111111111111"]);
        s.regions = vec!["us-east-1".into()];
        let observed = ObservedStackSet {
            permission_model: "SELF_MANAGED".into(),
            template_body: s.body.clone(),
            has_parameters: false,
            org_units: Vec::new(),
            instances: vec![instance("111111111111", "CURRENT")],
        };
        let e = plan(&s, Some(observed)).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(
            e.message
                .contains("has account 111111111111 in eu-west-1, and --regions us-east-1 would give that account a second instance"),
            "{}",
            e.message
        );
        assert!(e.hint.unwrap().contains("delete-stack-instances"));

        let mut s = spec(&[]);
        s.targets = StackSetTargets::OrgUnits(vec!["ou-abcd-12345678".into()]);
        let observed = ObservedStackSet {
            permission_model: "SERVICE_MANAGED".into(),
            template_body: s.body.clone(),
            has_parameters: false,
            org_units: vec!["ou-abcd-12345678".into()],
            instances: Vec::new(),
        };
        let p = plan(&s, Some(observed.clone())).unwrap();
        assert!(!p.has_changes(), "{p:?}");
        let untargeted = ObservedStackSet {
            org_units: Vec::new(),
            ..observed
        };
        assert_eq!(plan(&s, Some(untargeted)).unwrap().add.len(), 1);
    }
}
