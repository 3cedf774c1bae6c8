//! The deployment part of [`Settings`](super::Settings): `--mode`, `--stack-name`, and
//! `--stackset` with its targets and region, declared by `deployment_keys!` and checked
//! together.

use super::Inputs;
use crate::config::choices::Mode;

/// The keys of how the setup is deployed: directly, as a stack, or as a StackSet.
macro_rules! deployment_keys {
    ([$next:ident $(, $rest:ident)*] $($declared:tt)*) => {
        $next! { [$($rest),*] $($declared)* {
            pub mode: Option<$crate::config::Given<$crate::config::Mode>>,
            pub stack_name: Option<String> = "bitbucket-oidc-bootstrap",
            pub stackset: Option<String>,
            pub accounts: Vec<String>,
            pub org_units: Vec<String>,
            pub regions: Vec<String>,
        } }
    };
}
use crate::config::validate as v;
use crate::error::{Error, Result};
pub(super) use deployment_keys;

/// How the setup is deployed, validated.
#[derive(Debug, Clone)]
pub struct DeploymentSettings {
    pub mode: Mode,
    /// The stack's name (CloudFormation mode).
    pub stack_name: String,
    pub stackset: Option<StackSetSettings>,
}

pub(super) fn deployment(i: &Inputs) -> Result<DeploymentSettings> {
    let mode = match &i.mode {
        None if i.stackset.is_some() => Mode::Cloudformation,
        None => Mode::Direct,
        Some(m) => m.value()?,
    };
    let stack_name = v::stack_name(i.stack_name.as_deref().unwrap_or_default())?;
    let stackset = stackset_settings(i, mode)?;
    Ok(DeploymentSettings {
        mode,
        stack_name,
        stackset,
    })
}

/// `--stackset NAME` with `--accounts`/`--org-units` and `--regions`, checked together.
fn stackset_settings(i: &Inputs, mode: Mode) -> Result<Option<StackSetSettings>> {
    let Some(name) = i.stackset.as_deref() else {
        let stray = [
            ("--accounts", i.accounts.is_empty()),
            ("--org-units", i.org_units.is_empty()),
            ("--regions", i.regions.is_empty()),
        ];
        if let Some((flag, _)) = stray.iter().find(|(_, empty)| !empty) {
            return Err(Error::usage(format!("{flag} only applies to a StackSet"))
                .hint("add --stackset NAME, or drop it to deploy to this account only"));
        }
        return Ok(None);
    };
    if mode == Mode::Direct {
        return Err(
            Error::usage("--stackset needs CloudFormation, but --mode is direct")
                .hint("use --mode cloudformation (or leave --mode out)"),
        );
    }
    let name = v::stackset_name(name)?;
    let targets = stackset_targets(i, &name)?;
    let regions = stackset_regions(i, &name)?;
    Ok(Some(StackSetSettings {
        name,
        targets,
        regions,
    }))
}

/// `--accounts` or `--org-units`: exactly one of them.
fn stackset_targets(i: &Inputs, name: &str) -> Result<StackSetTargets> {
    match (i.accounts.is_empty(), i.org_units.is_empty()) {
        (false, false) => Err(Error::usage("--accounts and --org-units both given").hint(
            "target accounts by id (--accounts) or by organizational unit (--org-units), not both",
        )),
        (true, true) => Err(
            Error::usage(format!("--stackset {name}: no target accounts"))
                .hint("add --accounts ID,... or --org-units ou-...,..."),
        ),
        (false, true) => Ok(StackSetTargets::Accounts(v::unique(
            &i.accounts,
            v::account_id,
        )?)),
        (true, false) => Ok(StackSetTargets::OrgUnits(v::unique(
            &i.org_units,
            v::org_unit,
        )?)),
    }
}

/// `--regions`: exactly one (IAM is global to an account).
fn stackset_regions(i: &Inputs, name: &str) -> Result<Vec<String>> {
    let regions = v::unique(&i.regions, v::region)?;
    match regions.len() {
        0 => Err(Error::usage(format!("--stackset {name}: no target region"))
            .hint("add --regions REGION (the region the state bucket should live in)")),
        1 => Ok(regions),
        _ => Err(Error::usage(format!(
            "--regions {}: the role and the OIDC provider are global to an account, so a second region would create them twice and fail",
            regions.join(",")
        ))
        .hint("deploy the StackSet to one region per account")),
    }
}

/// Where a StackSet deploys.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StackSetTargets {
    /// Accounts by id (self-managed permissions).
    Accounts(Vec<String>),
    /// Organizational units (service-managed permissions, automatic deployment).
    OrgUnits(Vec<String>),
}

/// `--stackset NAME` with its targets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StackSetSettings {
    pub name: String,
    pub targets: StackSetTargets,
    pub regions: Vec<String>,
}
