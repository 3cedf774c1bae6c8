//! [`Settings::from_inputs`]: merged [`Inputs`] checked and turned into [`Settings`], one part
//! at a time (deployment, global, trust, roles, state) in the order the checks have always
//! run, so the first error reported for a set of inputs does not depend on how they are split.

use std::time::Duration;

use super::deployment::deployment;
use super::resources::state;
use super::roles::{roles, set, tag_counts};
use super::trust::trust;
use super::{AwsSettings, Settings};
use crate::config::choices::{ColorChoice, Given, OutputFormat};
use crate::config::defaults::DEFAULT_TIMEOUT_SECS;
use crate::config::inputs::Inputs;
use crate::config::validate as v;
use crate::error::Result;

impl Settings {
    /// Validate merged inputs. Every value is checked here, before any network or AWS call.
    pub fn from_inputs(i: Inputs) -> Result<Settings> {
        let mut warnings = Vec::new();
        let deployment = deployment(&i)?;
        let global = global(&i)?;
        let trust = trust(&i)?;
        let mut roles = roles(&i, &mut warnings)?;
        let set = set(&i)?;
        let state = state(&i, global.aws.region.as_deref())?;
        super::state_prefix::assign(
            &mut roles,
            &state.state_key_prefix,
            !i.role.is_empty(),
            &mut warnings,
        )?;
        super::dedup_in_order(&mut warnings);
        tag_counts(
            &roles,
            &state.tags,
            deployment.mode == crate::config::Mode::Cloudformation,
        )?;
        Ok(Settings {
            aws: global.aws,
            ca_bundle: i.ca_bundle,
            output: global.output,
            color: global.color,
            timeout: global.timeout,
            issuer: trust.issuer,
            audiences: trust.audiences,
            ip_ranges_url: trust.ip_ranges_url,
            bitbucket: trust.bitbucket,
            role_tables: !i.role.is_empty(),
            roles,
            set,
            state_bucket: state.state_bucket,
            state_key_prefix: state.state_key_prefix,
            lock_table: state.lock_table,
            kms_key: state.kms_key,
            allow_encryption_downgrade: state.allow_encryption_downgrade,
            noncurrent_days: state.noncurrent_days,
            tags: state.tags,
            mode: deployment.mode,
            stack_name: deployment.stack_name,
            stackset: deployment.stackset,
            warnings,
            source: crate::config::Source::FLAGS,
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
    let timeout = match i.timeout {
        None => DEFAULT_TIMEOUT_SECS,
        Some(t @ 1..=300) => t,
        Some(t) => return Err(crate::usage!("--timeout {t}: expected 1 to 300 seconds")),
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
