//! The conversions from parsed arguments into [`Inputs`], done once: clap's enums become
//! config's own (typed, never turned into text), and `--tag K=V` pairs a table.

use std::collections::BTreeMap;

use super::args::{
    ColorArg, DeploymentArgs, GlobalArgs, IssuerArgs, ModeArg, OutputArg, SetupArgs, VerifyArgs,
};
use super::command::{Cli, Command, TemplateFormatArg};
use crate::config::{validate, ColorChoice, Given, Inputs, Mode, OutputFormat, TemplateFormat};
use crate::error::Result;

impl From<OutputArg> for OutputFormat {
    fn from(arg: OutputArg) -> Self {
        match arg {
            OutputArg::Text => OutputFormat::Text,
            OutputArg::Json => OutputFormat::Json,
        }
    }
}

impl From<ColorArg> for ColorChoice {
    fn from(arg: ColorArg) -> Self {
        match arg {
            ColorArg::Auto => ColorChoice::Auto,
            ColorArg::Always => ColorChoice::Always,
            ColorArg::Never => ColorChoice::Never,
        }
    }
}

impl From<ModeArg> for Mode {
    fn from(arg: ModeArg) -> Self {
        match arg {
            ModeArg::Direct => Mode::Direct,
            ModeArg::Cloudformation => Mode::Cloudformation,
        }
    }
}

impl From<TemplateFormatArg> for TemplateFormat {
    fn from(arg: TemplateFormatArg) -> Self {
        match arg {
            TemplateFormatArg::Yaml => TemplateFormat::Yaml,
            TemplateFormatArg::Json => TemplateFormat::Json,
        }
    }
}

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
            output: self.output.map(|o| Given::Flag(o.into())),
            color: self.color.map(|c| Given::Flag(c.into())),
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

impl SetupArgs {
    pub fn apply(&self, i: &mut Inputs) -> Result<()> {
        self.issuer.apply(i);
        let t = &self.trust;
        i.workspace_uuid = t.workspace_uuid.clone();
        i.audience = t.audience.clone();
        i.repository_uuid = t.repository_uuid.clone();
        i.environment_uuid = t.environment_uuid.clone();
        i.allow_any_repository = flag(t.allow_any_repository);
        i.source_ip = t.source_ip.clone();
        i.ip_ranges_url = t.ip_ranges_url.clone();
        let r = &self.role;
        i.role_name = r.role_name.clone();
        i.policy_arn = r.policy_arn.clone();
        i.allow_admin = flag(r.allow_admin);
        i.permissions_boundary = r.permissions_boundary.clone();
        i.max_session_duration = r.max_session_duration;
        i.plan_apply = flag(r.plan_apply);
        i.set = r.set.clone();
        let s = &self.state;
        i.state_bucket = s.state_bucket.clone();
        i.state_key_prefix = s.state_key_prefix.clone();
        i.lock_table = s.lock_table.clone();
        i.no_lock_table = flag(s.no_lock_table);
        i.kms_key = s.kms_key.clone();
        i.allow_encryption_downgrade = flag(s.allow_encryption_downgrade);
        i.noncurrent_days = s.noncurrent_days;
        if !s.tag.is_empty() {
            let mut tags = BTreeMap::new();
            for t in &s.tag {
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

impl DeploymentArgs {
    pub fn apply(&self, i: &mut Inputs) {
        i.mode = self.mode.map(|m| Given::Flag(m.into()));
        i.stack_name = self.stack_name.clone();
        i.stackset = self.stackset.clone();
        i.accounts = self.accounts.clone();
        i.org_units = self.org_units.clone();
        i.regions = self.regions.clone();
    }
}

impl VerifyArgs {
    pub fn apply(&self, i: &mut Inputs) {
        self.issuer.apply(i);
        let t = &self.trust;
        i.workspace_uuid = t.workspace_uuid.clone();
        i.audience = t.audience.clone();
        i.repository_uuid = t.repository_uuid.clone();
        i.environment_uuid = t.environment_uuid.clone();
        i.allow_any_repository = flag(t.allow_any_repository);
        i.source_ip = t.trust_source_ip.clone();
        i.ip_ranges_url = t.ip_ranges_url.clone();
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
            Command::Destroy { setup, deploy, .. } => {
                if let Some(name) = &deploy.stackset {
                    return Err(stackset_destroy_refused(name));
                }
                setup.apply(&mut i)?;
                deploy.apply(&mut i);
            }
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
