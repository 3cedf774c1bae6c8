//! The conversions from parsed arguments into [`Inputs`], done once: `--tag K=V` pairs
//! become a table.

use std::collections::BTreeMap;

use super::args::{
    BackendArgs, BucketArgs, DeploymentArgs, GlobalArgs, IpRangesArgs, IssuerArgs, ModeArgs,
    RoleArgs, RoleOptionsArgs, RolePolicyArgs, StackSetArgs, StateArgs, TrustArgs, VerifyArgs,
    WhoArgs,
};
use super::command::{Cli, Command};
use super::sets::{DestroySetupArgs, OperatorSetupArgs, PipelineSetupArgs, SetupArgs};
use crate::config::{validate, Given, Inputs};
use crate::error::Result;

fn flag(b: bool) -> Option<bool> {
    b.then_some(true)
}

impl GlobalArgs {
    pub fn inputs(&self) -> Inputs {
        Inputs {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            ca_bundle: self.ca_bundle.clone(),
            timeout: self.timeout,
            bitbucket_api_url: self.bitbucket_api_url.clone(),
            output: self.output.map(Given::Flag),
            color: self.color.map(Given::Flag),
            ..Default::default()
        }
    }
}

impl IssuerArgs {
    pub fn apply(&self, i: &mut Inputs) {
        i.workspace = self.workspace.clone();
        i.issuer_url = self.issuer_url.clone();
    }
}

impl TrustArgs {
    pub fn apply(&self, i: &mut Inputs) {
        self.who.apply(i);
        i.source_ip = self.source_ip.clone();
    }
}

impl WhoArgs {
    pub fn apply(&self, i: &mut Inputs) {
        i.workspace_uuid = self.workspace_uuid.clone();
        i.audience = self.audience.clone();
        i.repository_uuid = self.repository_uuid.clone();
        i.environment_uuid = self.environment_uuid.clone();
        i.allow_any_repository = flag(self.allow_any_repository);
    }
}

impl IpRangesArgs {
    pub fn apply(&self, i: &mut Inputs) {
        i.ip_ranges_url = self.ip_ranges_url.clone();
    }
}

impl RoleArgs {
    pub fn apply(&self, i: &mut Inputs) {
        i.role_name = self.role_name.clone();
        i.plan_apply = flag(self.plan_apply);
        i.set = self.set.clone();
    }
}

impl RolePolicyArgs {
    pub fn apply(&self, i: &mut Inputs) {
        i.policy_arn = self.policy_arn.clone();
        i.permissions_boundary = self.permissions_boundary.clone();
    }
}

impl RoleOptionsArgs {
    pub fn apply(&self, i: &mut Inputs) {
        i.allow_admin = flag(self.allow_admin);
        i.max_session_duration = self.max_session_duration;
    }
}

impl StateArgs {
    pub fn apply(&self, i: &mut Inputs) {
        i.state_bucket = self.state_bucket.clone();
        i.lock_table = self.lock_table.clone();
        i.no_lock_table = flag(self.no_lock_table);
    }
}

impl BackendArgs {
    pub fn apply(&self, i: &mut Inputs) {
        i.state_key_prefix = self.state_key_prefix.clone();
        i.kms_key = self.kms_key.clone();
    }
}

impl BucketArgs {
    pub fn apply(&self, i: &mut Inputs) -> Result<()> {
        i.allow_encryption_downgrade = flag(self.allow_encryption_downgrade);
        i.noncurrent_days = self.noncurrent_days;
        if !self.tag.is_empty() {
            let mut tags = BTreeMap::new();
            for t in &self.tag {
                let (k, v) = validate::tag_pair(t)?;
                if tags.insert(k.clone(), v).is_some() {
                    return Err(
                        crate::usage!("--tag {k:?} given twice; each key takes one value")
                            .hint("keep one --tag KEY=VALUE per key"),
                    );
                }
            }
            i.tags = Some(tags);
        }
        Ok(())
    }
}

impl SetupArgs {
    pub fn apply(&self, i: &mut Inputs) -> Result<()> {
        self.issuer.apply(i);
        self.trust.apply(i);
        self.ranges.apply(i);
        self.role.apply(i);
        self.policies.apply(i);
        self.options.apply(i);
        self.state.apply(i);
        self.backend.apply(i);
        self.bucket.apply(i)
    }
}

impl OperatorSetupArgs {
    pub fn apply(&self, i: &mut Inputs) -> Result<()> {
        self.issuer.apply(i);
        self.trust.apply(i);
        self.role.apply(i);
        self.policies.apply(i);
        self.state.apply(i);
        self.backend.apply(i);
        let rest = &self.unlisted.0;
        rest.ranges.apply(i);
        rest.options.apply(i);
        rest.bucket.apply(i)
    }
}

/// The unlisted flags are applied too: a bad value is refused as it is for `init`.
impl PipelineSetupArgs {
    pub fn apply(&self, i: &mut Inputs) -> Result<()> {
        self.issuer.apply(i);
        self.trust.apply(i);
        self.role.apply(i);
        self.state.apply(i);
        self.backend.apply(i);
        let rest = &self.unlisted.0;
        rest.ranges.apply(i);
        rest.policies.apply(i);
        rest.options.apply(i);
        rest.bucket.apply(i)
    }
}

impl DestroySetupArgs {
    pub fn apply(&self, i: &mut Inputs) -> Result<()> {
        let rest = &self.unlisted.0;
        if let Some(name) = &rest.stackset.stackset {
            return Err(stackset_destroy_refused(name));
        }
        self.issuer.apply(i);
        self.role.apply(i);
        self.state.apply(i);
        self.mode.apply(i);
        rest.trust.apply(i);
        rest.ranges.apply(i);
        rest.policies.apply(i);
        rest.options.apply(i);
        rest.backend.apply(i);
        rest.stackset.apply(i);
        rest.bucket.apply(i)
    }
}

impl ModeArgs {
    pub fn apply(&self, i: &mut Inputs) {
        i.mode = self.mode.map(Given::Flag);
        i.stack_name = self.stack_name.clone();
    }
}

impl StackSetArgs {
    pub fn apply(&self, i: &mut Inputs) {
        i.stackset = self.stackset.clone();
        i.accounts = self.accounts.clone();
        i.org_units = self.org_units.clone();
        i.regions = self.regions.clone();
    }
}

impl DeploymentArgs {
    pub fn apply(&self, i: &mut Inputs) {
        self.mode.apply(i);
        self.stackset.apply(i);
    }
}

impl VerifyArgs {
    pub fn apply(&self, i: &mut Inputs) {
        self.issuer.apply(i);
        self.trust.who.0.apply(i);
        i.source_ip = self.trust.trust_source_ip.clone();
        self.trust.ranges.0.apply(i);
        i.role_name = self.role_name.clone();
    }
}

/// `destroy --stackset`: out of scope; the instances are deleted with the AWS CLI.
pub fn stackset_destroy_refused(name: &str) -> crate::error::Error {
    crate::error::Error::usage(format!(
        "destroy --stackset {name}: deleting a StackSet is not supported; delete its instances, then the StackSet, with the AWS CLI"
    ))
    .hint("aws cloudformation delete-stack-instances, then delete-stack-set (docs/cloudformation.md, \"Removing a StackSet\")")
}

impl Cli {
    /// The inputs given on the command line (to be overlaid on the config file).
    pub fn inputs(&self) -> Result<Inputs> {
        let mut i = self.global.inputs();
        match &self.command {
            Command::Discover { issuer } | Command::Thumbprint { issuer, .. } => {
                issuer.apply(&mut i);
            }
            Command::Plan { setup, deploy, .. }
            | Command::Init { setup, deploy, .. }
            | Command::Status { setup, deploy, .. } => {
                setup.apply(&mut i)?;
                deploy.apply(&mut i);
            }
            Command::Destroy { setup, .. } => setup.apply(&mut i)?,
            Command::Render { setup, .. } => setup.apply(&mut i)?,
            Command::Verify(args) => args.apply(&mut i),
            Command::Pipeline(args) => args.setup.apply(&mut i)?,
            Command::OperatorPolicy(args) => {
                args.setup.apply(&mut i)?;
                args.deploy.apply(&mut i);
            }
            Command::Completions { .. } | Command::Man { .. } => {}
        }
        Ok(i)
    }
}
