//! A StackSet: the same template in many accounts. CloudFormation does the fan-out; the tool
//! creates or updates the StackSet, adds the instances that are missing, waits for each
//! operation and reports per account.

mod apply;
mod plan;

pub use apply::apply;
pub use plan::{instances, plan};

use aws_sdk_cloudformation::types::PermissionModels;
use serde::Serialize;
use serde_json::Value;

use crate::config::StackSetTargets;
use crate::plan::compare::ResourceDiff;

#[derive(Debug, Clone)]
pub struct StackSetSpec {
    pub name: String,
    pub body: String,
    pub template: Value,
    pub targets: StackSetTargets,
    pub regions: Vec<String>,
}

impl StackSetSpec {
    fn permission_model(&self) -> PermissionModels {
        match self.targets {
            StackSetTargets::Accounts(_) => PermissionModels::SelfManaged,
            StackSetTargets::OrgUnits(_) => PermissionModels::ServiceManaged,
        }
    }
}

/// One stack instance: an account (and its OU) in a region.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Instance {
    pub account: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_unit: Option<String>,
    /// CURRENT, OUTDATED or INOPERABLE.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detailed_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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
    pub notes: Vec<String>,
}

impl StackSetPlan {
    pub fn has_changes(&self) -> bool {
        !self.exists || self.update_template || !self.add.is_empty() || !self.retry.is_empty()
    }
}

/// The result of one StackSet operation in one account and region.
#[derive(Debug, Clone, Serialize)]
pub struct AccountResult {
    pub operation: String,
    pub account: String,
    pub region: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackSetOutcome {
    pub done: Vec<String>,
    pub results: Vec<AccountResult>,
    pub instances: Vec<Instance>,
}
