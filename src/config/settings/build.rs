//! [`Settings`], and [`Settings::from_inputs`]: merged [`Inputs`] checked and turned into
//! them, one part at a time (deployment, global, trust, roles, state) in the order the checks
//! have always run, so the first error reported for a set of inputs does not depend on how
//! they are split. The global settings are declared here, each once: its key (and default)
//! in `global_keys!`, its check in [`global`], and its value in [`Settings`]; every other part
//! is declared in its own file and kept whole (`Settings::trust`, `state`, `deployment`).

use std::path::PathBuf;
use std::time::Duration;

use super::deployment::{deployment, DeploymentSettings};
use super::roles::{roles, set, tag_counts};
use super::state::{state, StateSettings};
use super::trust::{trust, TrustSettings};
use super::{Inputs, RoleSettings, Source};
use crate::config::choices::{ColorChoice, Given, Mode, OutputFormat};
use crate::config::combine::Combine;
use crate::config::validate as v;
use crate::error::Result;
/// The global keys: how to reach AWS, and how to talk to the user.
macro_rules! global_keys {
    ([$next:ident $(, $rest:ident)*] $($declared:tt)*) => {
        $next! { [$($rest),*] $($declared)* {
            pub profile: Option<String>,
            pub region: Option<String>,
            pub endpoint_url: Option<String>,
            pub ca_bundle: Option<::std::path::PathBuf>,
            pub output: Option<$crate::config::Given<$crate::config::OutputFormat>>,
            pub color: Option<$crate::config::Given<$crate::config::ColorChoice>>,
            pub timeout: Option<u64> = 10_u64,
        } }
    };
}
pub(super) use global_keys;

/// Everything a command needs, validated. Parts a command does not need may be absent; the
/// `require_*` accessors turn an absence into a usage error that names the flag.
#[derive(Debug, Clone)]
pub struct Settings {
    pub aws: AwsSettings,
    pub ca_bundle: Option<PathBuf>,
    pub output: OutputFormat,
    pub color: ColorChoice,
    pub timeout: Duration,

    /// Whom the roles trust: the issuer, the audiences, the Bitbucket API.
    pub trust: TrustSettings,

    /// The roles, in configuration order: one from the flags, two with `--plan-apply`, or
    /// the `[[role]]` tables. Never empty.
    pub roles: Vec<RoleSettings>,
    /// `set = "..."`: the set the roles belong to; `None` for the issuer's host/path.
    pub set: Option<String>,
    /// The roles came from `[[role]]` tables (messages then name the role, not the flags).
    pub role_tables: bool,

    /// Where and how the Terraform state is kept, and the shared tags.
    pub state: StateSettings,
    /// How the setup is deployed: directly, as a stack or as a StackSet.
    pub deployment: DeploymentSettings,

    /// Loud warnings found while validating (no source-IP condition, broad CIDRs, ...).
    pub warnings: Vec<String>,
    /// Where the settings came from (hints say how to change one there).
    pub source: Source,
}

impl Settings {
    /// Validate merged inputs, over the defaults ([`Inputs::defaults`]). Every value is
    /// checked here, before any network or AWS call; the checks of two settings given
    /// together look at what was `given`, before the defaults.
    pub fn from_inputs(given: Inputs) -> Result<Settings> {
        let i = given.clone().combine(Inputs::defaults());
        let mut warnings = Vec::new();
        let deployment = deployment(&i)?;
        let global = global(&i)?;
        let trust = trust(&i)?;
        let mut roles = roles(&i, &given, &mut warnings)?;
        let set = set(&i)?;
        let state = state(&i, &given, global.aws.region.as_deref())?;
        super::state_prefix::assign(
            &mut roles,
            &state.key_prefix,
            !i.role.is_empty(),
            &mut warnings,
        )?;
        super::dedup_in_order(&mut warnings);
        tag_counts(&roles, &state.tags, deployment.mode == Mode::Cloudformation)?;
        Ok(Settings {
            aws: global.aws,
            ca_bundle: i.ca_bundle,
            output: global.output,
            color: global.color,
            timeout: global.timeout,
            trust,
            role_tables: !i.role.is_empty(),
            roles,
            set,
            state,
            deployment,
            warnings,
            source: Source::FLAGS,
        })
    }
}

/// The global flags: output, color, the issuer timeout and how to reach AWS.
struct Global {
    output: OutputFormat,
    color: ColorChoice,
    timeout: Duration,
    aws: AwsSettings,
}

fn global(i: &Inputs) -> Result<Global> {
    let output = i
        .output
        .as_ref()
        .map_or(Ok(OutputFormat::Text), Given::value)?;
    let color = i
        .color
        .as_ref()
        .map_or(Ok(ColorChoice::Auto), Given::value)?;
    let timeout = match i.timeout.unwrap_or_default() {
        t @ 1..=300 => t,
        t => return Err(crate::usage!("--timeout {t}: expected 1 to 300 seconds")),
    };
    let endpoint_url = i.endpoint_url.clone().or_else(|| {
        std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|s| !s.is_empty())
    });
    let aws = AwsSettings {
        profile: i.profile.as_deref().map(v::profile).transpose()?,
        region: i.region.as_deref().map(v::region).transpose()?,
        endpoint_url: endpoint_url.as_deref().map(v::endpoint_url).transpose()?,
    };
    service_endpoints_from_env()?;
    Ok(Global {
        output,
        color,
        timeout: Duration::from_secs(timeout),
        aws,
    })
}

/// The SDK also honours per-service endpoints from the environment (`AWS_ENDPOINT_URL_IAM`,
/// `AWS_ENDPOINT_URL_S3`, ...): they are held to the same rule as `--endpoint-url`.
fn service_endpoints_from_env() -> Result<()> {
    for (name, value) in std::env::vars() {
        if name.starts_with("AWS_ENDPOINT_URL_") && !value.is_empty() {
            v::endpoint_url(&value).map_err(|e| e.resource(name))?;
        }
    }
    Ok(())
}

/// How to talk to AWS; shared by every client.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}
