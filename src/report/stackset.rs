//! The bodies of the `plan`, `init` and `status` reports with `--stackset NAME`: each
//! serializes to the command's JSON document and renders its text.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use super::Paint;
use crate::apply::cloudformation::stackset::StackSetOutcome;
use crate::config::StackSetTargets;
use crate::model::{arn, template, Account, DesiredState};
use crate::observe::stackset::Instance;
use crate::plan::stackset::StackSetPlan;

/// The StackSet's plan as text: what happens to the StackSet and to each instance.
pub fn plan_text(p: &StackSetPlan, targets: &StackSetTargets) -> String {
    let mut t = String::new();
    let model = match targets {
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
            let fields = c.fields.join(", ");
            let sign = super::stack_text::sign(&c.action);
            let line = format!("  {sign} {} {} {fields}", c.logical_id, c.resource_type);
            let _ = writeln!(t, "{}", line.trim_end());
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

/// One instance, with the roles and bucket the template gives it in its account.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceRow {
    #[serde(flatten)]
    pub instance: Instance,
    /// The role's ARN, when there is one role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Every role's ARN in the instance's account, by name.
    pub role_arns: BTreeMap<String, String>,
    pub state_bucket: String,
}

/// The rows for `instances`: the role and the bucket each gets, named as in the deploying
/// account's desired state `d`; the bucket as the template (its desired state `symbolic`)
/// names it in the instance's account and region (the StackSet has no --state-bucket).
fn instance_rows(
    instances: &[Instance],
    d: &DesiredState,
    symbolic: &DesiredState,
) -> Vec<InstanceRow> {
    let partition = &d.account.partition;
    instances
        .iter()
        .map(|i| InstanceRow {
            instance: i.clone(),
            role_arn: match d.roles.as_slice() {
                [one] => Some(arn::role(partition, &i.account, &one.name)),
                _ => None,
            },
            role_arns: d
                .roles
                .iter()
                .map(|r| (r.name.clone(), arn::role(partition, &i.account, &r.name)))
                .collect(),
            state_bucket: template::in_account(
                symbolic,
                &Account {
                    id: i.account.clone(),
                    partition: partition.clone(),
                    region: i.region.clone(),
                },
            )
            .bucket
            .name,
        })
        .collect()
}

fn instances_text(rows: &[InstanceRow]) -> String {
    let mut t = String::new();
    let several = rows.first().is_some_and(|r| r.role_arns.len() > 1);
    let _ = writeln!(
        t,
        "  {:<13} {:<15} {:<11} {}",
        "account",
        "region",
        "status",
        if several { "roles" } else { "role" }
    );
    for r in rows {
        let i = &r.instance;
        let arns: Vec<&str> = r.role_arns.values().map(String::as_str).collect();
        let _ = writeln!(
            t,
            "  {:<13} {:<15} {:<11} {}{}",
            i.account,
            i.region,
            i.status,
            arns.join(" "),
            i.reason
                .as_deref()
                .map(|r| format!("  ({r})"))
                .unwrap_or_default()
        );
    }
    t
}

/// `plan --stackset NAME`.
#[derive(Debug, Serialize)]
pub struct StackSetPlanBody {
    pub mode: &'static str,
    pub stackset: StackSetPlan,
    pub changes: bool,
    pub aws_calls: Value,
    #[serde(skip)]
    pub targets: StackSetTargets,
    #[serde(skip)]
    pub detailed_exitcode: bool,
}

impl StackSetPlanBody {
    pub fn new(
        stackset: StackSetPlan,
        targets: &StackSetTargets,
        aws_calls: Value,
        detailed_exitcode: bool,
    ) -> StackSetPlanBody {
        StackSetPlanBody {
            mode: "cloudformation",
            changes: stackset.has_changes(),
            stackset,
            aws_calls,
            targets: targets.clone(),
            detailed_exitcode,
        }
    }
}

impl StackSetPlanBody {
    pub(super) fn text(&self, _: Paint) -> String {
        let mut t = plan_text(&self.stackset, &self.targets);
        let _ = writeln!(
            t,
            "\n{}",
            if self.changes {
                "run `bootstrap init` with the same flags to apply this"
            } else {
                "nothing to change"
            }
        );
        t
    }

    pub(super) fn exit_code(&self) -> i32 {
        if self.detailed_exitcode && self.changes {
            2
        } else {
            0
        }
    }
}

/// `init --stackset NAME`.
#[derive(Debug, Serialize)]
pub struct StackSetInitBody {
    pub mode: &'static str,
    pub stackset: StackSetPlan,
    pub changes: bool,
    pub applied: bool,
    pub result: Option<StackSetOutcome>,
    pub instances: Vec<InstanceRow>,
    pub aws_calls: Value,
    /// The roles and lock table each account gets.
    #[serde(skip)]
    pub roles: Vec<String>,
    #[serde(skip)]
    pub table: Option<String>,
}

impl StackSetInitBody {
    /// The report of `init` on the StackSet `stackset` planned: `result` when it had something
    /// to do. `d` is the deploying account's desired state.
    pub fn new(
        stackset: StackSetPlan,
        result: Option<StackSetOutcome>,
        d: &DesiredState,
        symbolic: &DesiredState,
        aws_calls: Value,
    ) -> StackSetInitBody {
        let list = result
            .as_ref()
            .map_or(&stackset.instances, |o| &o.instances);
        StackSetInitBody {
            mode: "cloudformation",
            changes: stackset.has_changes(),
            applied: result.is_some(),
            instances: instance_rows(list, d, symbolic),
            stackset,
            result,
            aws_calls,
            roles: d.roles.iter().map(|r| r.name.clone()).collect(),
            table: d.table.as_ref().map(|t| t.name.clone()),
        }
    }
}

impl StackSetInitBody {
    pub(super) fn text(&self, _: Paint) -> String {
        let name = &self.stackset.name;
        let mut t = match &self.result {
            Some(o) => format!("StackSet {name}: {}\n", o.applied.done.join(", ")),
            None => format!(
                "StackSet {name}: nothing to change, every target has the rendered template\n"
            ),
        };
        t.push_str(&instances_text(&self.instances));
        let _ = writeln!(
            t,
            "\nIn each account: role{} {}, bucket terraform-state-ACCOUNT-REGION{}.",
            if self.roles.len() == 1 { "" } else { "s" },
            self.roles.join(", "),
            self.table
                .as_ref()
                .map(|t| format!(", lock table {t}"))
                .unwrap_or_default()
        );
        t
    }
}

/// `status --stackset NAME`.
#[derive(Debug, Serialize)]
pub struct StackSetStatusBody {
    pub mode: &'static str,
    pub stackset: String,
    pub exists: bool,
    pub in_sync: bool,
    pub plan: StackSetPlan,
    pub instances: Vec<InstanceRow>,
    pub aws_calls: Value,
    /// `--detailed-exitcode`: exit 2 when anything is not in sync.
    #[serde(skip)]
    pub detailed_exitcode: bool,
}

impl StackSetStatusBody {
    /// The StackSet `plan` describes; `d` is the deploying account's desired state,
    /// `symbolic` the template's.
    pub fn new(
        plan: StackSetPlan,
        d: &DesiredState,
        symbolic: &DesiredState,
        aws_calls: Value,
        detailed_exitcode: bool,
    ) -> Self {
        let instances = instance_rows(&plan.instances, d, symbolic);
        let in_sync = !plan.has_changes() && plan.instances.iter().all(|i| i.status == "CURRENT");
        StackSetStatusBody {
            mode: "cloudformation",
            stackset: plan.name.clone(),
            exists: plan.exists,
            in_sync,
            plan,
            instances,
            aws_calls,
            detailed_exitcode,
        }
    }
}

impl StackSetStatusBody {
    pub(super) fn text(&self, _: Paint) -> String {
        let p = &self.plan;
        let mut t = String::new();
        if p.exists {
            let _ = writeln!(
                t,
                "StackSet {}  template {}",
                self.stackset,
                if p.update_template {
                    "differs from the rendered one"
                } else {
                    "in sync"
                }
            );
            t.push_str(&instances_text(&self.instances));
            for a in &p.add {
                let _ = writeln!(t, "  missing: {} in {}", a.target, a.region);
            }
            for n in &p.notes {
                let _ = writeln!(t, "  note: {n}");
            }
        } else {
            let _ = writeln!(t, "StackSet {}  missing", self.stackset);
        }
        let _ = writeln!(
            t,
            "\n{}",
            if self.in_sync {
                "everything is in sync"
            } else {
                "run `bootstrap init` with the same flags to bring every target in line"
            }
        );
        t
    }

    /// `--detailed-exitcode`: 2 when anything is not in sync.
    pub(super) fn exit_code(&self) -> i32 {
        if self.detailed_exitcode && !self.in_sync {
            2
        } else {
            0
        }
    }
}
