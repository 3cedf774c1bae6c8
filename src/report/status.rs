//! `status` ([`StatusReport`], whose body is the mode's); in direct mode each resource in sync,
//! drifted (with what) or missing.

use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use super::stack_status::StackStatusBody;
use super::stackset::StackSetStatusBody;
use super::{Paint, Report, GREEN, RED, YELLOW};
use crate::bitbucket::variables::{Action as VarAction, VariableState};
use crate::model::Account;
use crate::observe::stale::StaleRole;
use crate::observe::Observed;
use crate::plan::verdicts::TrustVerdict;
use crate::plan::{Action, FieldChange, Kind, Plan};

/// Where a resource stands against the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Missing,
    Drifted,
    InSync,
}

impl State {
    fn word_and_color(self) -> (&'static str, &'static str) {
        match self {
            State::Missing => ("missing", RED),
            State::Drifted => ("drifted", YELLOW),
            State::InSync => ("in sync", GREEN),
        }
    }
}

/// One resource's line.
#[derive(Debug, Serialize)]
pub struct ResourceStatus<'a> {
    pub kind: Kind,
    pub name: &'a str,
    pub status: State,
    /// What differs, for a drifted resource (empty otherwise).
    pub drift: &'a [FieldChange],
}

/// `bootstrap status`, in any mode: each resource as it stands, as one JSON document per mode
/// (unchanged by the mode being a variant here).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum StatusReport<'a> {
    Direct(DirectStatusBody<'a>),
    Stack(StackStatusBody),
    StackSet(StackSetStatusBody),
}

impl Report for StatusReport<'_> {
    fn text(&self, paint: Paint) -> String {
        match self {
            StatusReport::Direct(b) => b.text(paint),
            StatusReport::Stack(b) => b.text(paint),
            StatusReport::StackSet(b) => b.text(paint),
        }
    }

    /// `--detailed-exitcode`: 2 when anything is not in sync.
    fn exit_code(&self) -> i32 {
        match self {
            StatusReport::Direct(b) => b.exit_code(),
            StatusReport::Stack(b) => b.exit_code(),
            StatusReport::StackSet(b) => b.exit_code(),
        }
    }
}

/// `bootstrap status` (direct mode).
#[derive(Debug, Serialize)]
pub struct DirectStatusBody<'a> {
    pub account: &'a Account,
    pub in_sync: bool,
    pub resources: Vec<ResourceStatus<'a>>,
    /// Roles of this set no longer in the settings (none looked for with `--role`).
    pub stale_roles: &'a [StaleRole],
    /// Trust policies, live or planned, that let in more than the settings name.
    pub trust_verdicts: &'a [TrustVerdict],
    pub observed: &'a Observed,
    /// With Bitbucket credentials: the variables the pipeline reads, as found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bitbucket_variables: Option<&'a [VariableState]>,
    pub aws_calls: Value,
    /// `--detailed-exitcode`: exit 2 when anything is not in sync.
    #[serde(skip)]
    pub detailed_exitcode: bool,
}

impl<'a> DirectStatusBody<'a> {
    /// The status of each planned resource: a resource to create is missing, one to update
    /// has drifted.
    pub fn new(account: &'a Account, plan: &'a Plan, observed: &'a Observed) -> Self {
        let resources = plan
            .resources
            .iter()
            .map(|r| ResourceStatus {
                kind: r.kind,
                name: &r.name,
                status: match r.action {
                    Action::Create => State::Missing,
                    Action::Update => State::Drifted,
                    Action::Unchanged => State::InSync,
                },
                drift: if r.action == Action::Update {
                    &r.changes
                } else {
                    &[]
                },
            })
            .collect();
        DirectStatusBody {
            account,
            in_sync: !plan.needs_attention(),
            resources,
            stale_roles: &[],
            trust_verdicts: &plan.verdicts,
            observed,
            bitbucket_variables: None,
            aws_calls: Value::Null,
            detailed_exitcode: false,
        }
    }

    /// With the Bitbucket variables found: one missing or drifted means not in sync.
    pub fn with_variables(self, vars: Option<&'a [VariableState]>) -> Self {
        let drift = vars.is_some_and(|v| v.iter().any(VariableState::changes));
        DirectStatusBody {
            in_sync: self.in_sync && !drift,
            bitbucket_variables: vars,
            ..self
        }
    }

    /// With the stale roles found: any of them means not in sync.
    pub fn with_stale(self, stale_roles: &'a [StaleRole]) -> Self {
        DirectStatusBody {
            in_sync: self.in_sync && stale_roles.is_empty(),
            stale_roles,
            ..self
        }
    }
}

impl DirectStatusBody<'_> {
    pub(super) fn text(&self, paint: Paint) -> String {
        let mut text = super::plan::stale_text(self.stale_roles, paint);
        text.push_str(&super::verdicts::verdict_text(self.trust_verdicts, paint));
        for r in &self.resources {
            let (word, color) = r.status.word_and_color();
            let _ = writeln!(
                text,
                "{:<13} {:<9} {}",
                r.kind.label(),
                paint.paint(color, word),
                r.name
            );
            for c in r.drift {
                match &c.document {
                    Some(d) => {
                        let _ =
                            writeln!(text, "      {} (- as it is, + as it should be):", c.field);
                        text.push_str(&super::plan::diff_lines(&d.diff, paint));
                    }
                    None => {
                        let _ =
                            writeln!(text, "      {}: is {}, should be {}", c.field, c.from, c.to);
                    }
                }
            }
        }
        for v in self.bitbucket_variables.unwrap_or_default() {
            let (word, color) = match v.action {
                VarAction::Create => State::Missing.word_and_color(),
                VarAction::Update => State::Drifted.word_and_color(),
                VarAction::InSync | VarAction::Secured => State::InSync.word_and_color(),
            };
            let place = if v.scope == "repository" {
                format!("{} repository", v.repository)
            } else {
                format!("{} deployment {}", v.repository, v.scope)
            };
            let _ = writeln!(
                text,
                "{:<13} {:<9} {place} {}",
                "variable",
                paint.paint(color, word),
                v.key
            );
            if v.action == VarAction::Update {
                let _ = writeln!(
                    text,
                    "      value: is {}, should be {}",
                    v.current.as_deref().unwrap_or_default(),
                    v.wanted
                );
            }
        }
        let _ = writeln!(
            text,
            "\n{}",
            if self.in_sync {
                "everything is in sync"
            } else if self.resources.iter().all(|r| r.status == State::InSync)
                && !self.stale_roles.is_empty()
            {
                "run `bootstrap init --prune` to delete the stale roles"
            } else if self.resources.iter().all(|r| r.status == State::InSync) {
                if self.trust_verdicts.is_empty() {
                    "run `bootstrap pipeline --set-variables` to set the Bitbucket variables"
                } else {
                    "a trust policy lets in more than a repository's steps should: see above"
                }
            } else {
                "run `bootstrap init` to create what is missing and repair what drifted"
            }
        );
        text
    }

    pub(super) fn exit_code(&self) -> i32 {
        if self.detailed_exitcode && !self.in_sync {
            2
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::ResourcePlan;

    fn resource(kind: Kind, name: &str, action: Action) -> ResourcePlan {
        ResourcePlan {
            kind,
            name: name.into(),
            action,
            adopt: false,
            changes: vec![FieldChange::new("versioning", "Suspended", "Enabled")],
            ops: Vec::new(),
        }
    }

    #[test]
    fn each_resource_is_in_sync_drifted_or_missing() {
        let plan = Plan {
            resources: vec![
                resource(Kind::Role, "deploy", Action::Unchanged),
                resource(Kind::StateBucket, "state", Action::Update),
                resource(Kind::LockTable, "locks", Action::Create),
            ],
            warnings: Vec::new(),
            verdicts: Vec::new(),
        };
        let account = Account {
            id: "123456789012".into(),
            partition: "aws".into(),
            region: "eu-west-1".into(),
        };
        let observed = Observed {
            provider: None,
            roles: Vec::new(),
            bucket: None,
            table: None,
        };
        let report = DirectStatusBody {
            detailed_exitcode: true,
            ..DirectStatusBody::new(&account, &plan, &observed)
        };
        let doc = serde_json::to_value(&report).unwrap();
        assert_eq!(doc["in_sync"], json!(false));
        assert_eq!(doc["resources"][0]["status"], json!("in_sync"));
        assert_eq!(doc["resources"][0]["drift"], json!([]));
        assert_eq!(doc["resources"][1]["status"], json!("drifted"));
        assert_eq!(doc["resources"][1]["drift"][0]["from"], json!("Suspended"));
        assert_eq!(doc["resources"][2]["status"], json!("missing"));
        assert_eq!(report.exit_code(), 2);
        let text = report.text(Paint::NONE);
        assert!(text.starts_with("role          in sync   deploy\nstate bucket  drifted   state\n      versioning: is Suspended, should be Enabled\nlock table    missing   locks\n"), "{text}");
        assert!(text.ends_with(
            "\nrun `bootstrap init` to create what is missing and repair what drifted\n"
        ));
    }

    #[test]
    fn a_stale_role_alone_is_not_in_sync_and_names_init_prune() {
        let plan = Plan {
            resources: vec![resource(Kind::Role, "deploy", Action::Unchanged)],
            warnings: Vec::new(),
            verdicts: Vec::new(),
        };
        let account = Account {
            id: "123456789012".into(),
            partition: "aws".into(),
            region: "eu-west-1".into(),
        };
        let observed = Observed {
            provider: None,
            roles: Vec::new(),
            bucket: None,
            table: None,
        };
        let stale = [StaleRole {
            name: "old".into(),
            arn: "arn:aws:iam::123456789012:role/old".into(),
        }];
        let report = DirectStatusBody {
            detailed_exitcode: true,
            ..DirectStatusBody::new(&account, &plan, &observed).with_stale(&stale)
        };
        assert_eq!(report.exit_code(), 2);
        let text = report.text(Paint::NONE);
        assert!(
            text.starts_with("stale: role old, deleted by `init --prune`\nrole "),
            "{text}"
        );
        assert!(text.ends_with("run `bootstrap init --prune` to delete the stale roles\n"));
        let in_sync = DirectStatusBody::new(&account, &plan, &observed).with_stale(&[]);
        assert_eq!(
            serde_json::to_value(&in_sync).unwrap()["in_sync"],
            json!(true)
        );
    }
}
