//! `init`: whether it applied the plan, what exists now, and what to do next ([`InitReport`],
//! whose body is the mode's).

use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use super::next_steps::NextSteps;
use super::plan::{summary_line, PlanSummary};
use super::stack::StackInitBody;
use super::stackset::StackSetInitBody;
use super::{Paint, Report};
use crate::model::DesiredState;

/// The names and ARNs of what `init` set up.
#[derive(Debug, Serialize)]
pub struct InitOutputs<'a> {
    /// The role's ARN, when there is one role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<&'a str>,
    /// Every role's ARN, by name.
    pub role_arns: std::collections::BTreeMap<&'a str, &'a str>,
    pub provider_arn: &'a str,
    pub state_bucket: &'a str,
    pub lock_table: Option<&'a str>,
    pub region: &'a str,
    pub account: &'a str,
}

impl<'a> InitOutputs<'a> {
    pub fn new(d: &'a DesiredState) -> Self {
        InitOutputs {
            role_arn: match d.roles.as_slice() {
                [one] => Some(&one.arn),
                _ => None,
            },
            role_arns: d
                .roles
                .iter()
                .map(|r| (r.name.as_str(), r.arn.as_str()))
                .collect(),
            provider_arn: &d.provider.arn,
            state_bucket: &d.bucket.name,
            lock_table: d.table.as_ref().map(|t| t.name.as_str()),
            region: &d.account.region,
            account: &d.account.id,
        }
    }

    fn text(&self) -> String {
        let mut text = String::new();
        match self.role_arn {
            Some(arn) => {
                let _ = writeln!(text, "  role          {arn}");
            }
            None => {
                for arn in self.role_arns.values() {
                    let _ = writeln!(text, "  role          {arn}");
                }
            }
        }
        let _ = writeln!(text, "  oidc provider {}", self.provider_arn);
        let _ = writeln!(text, "  state bucket  {}", self.state_bucket);
        if let Some(t) = self.lock_table {
            let _ = writeln!(text, "  lock table    {t}");
        }
        let _ = writeln!(text, "  region        {}", self.region);
        text
    }
}

/// `bootstrap init`, in any mode: what was done and what to hand on, as one JSON document per
/// mode (unchanged by the mode being a variant here).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum InitReport<'a> {
    Direct(Box<DirectInitBody<'a>>),
    Stack(Box<StackInitBody>),
    StackSet(Box<StackSetInitBody>),
}

impl Report for InitReport<'_> {
    fn text(&self, paint: Paint) -> String {
        match self {
            InitReport::Direct(b) => b.text(paint),
            InitReport::Stack(b) => b.text(paint),
            InitReport::StackSet(b) => b.text(paint),
        }
    }
}

/// `bootstrap init` (direct mode).
#[derive(Debug, Serialize)]
pub struct DirectInitBody<'a> {
    #[serde(flatten)]
    pub plan: PlanSummary<'a>,
    /// Whether the plan had changes (or stale roles to prune), which were applied and read
    /// back.
    pub applied: bool,
    /// The stale roles `--prune` deleted.
    pub pruned: Vec<String>,
    pub outputs: InitOutputs<'a>,
    pub next_steps: NextSteps,
    pub aws_calls: Value,
}

impl DirectInitBody<'_> {
    pub(super) fn text(&self, _paint: Paint) -> String {
        let mut text = if self.applied {
            "done: every change applied; the provider and the role read back as intended\n"
                .to_string()
        } else {
            format!("{}\n", summary_line(self.plan.resources))
        };
        for r in self.plan.stale_roles {
            if self.pruned.contains(&r.name) {
                let _ = writeln!(
                    text,
                    "pruned: role {} deleted (no longer configured)",
                    r.name
                );
            } else {
                let _ = writeln!(
                    text,
                    "stale: role {} is no longer configured; left alone (`init --prune` deletes it)",
                    r.name
                );
            }
        }
        text.push_str(&self.outputs.text());
        text.push_str(&self.next_steps.text());
        text
    }
}
