//! [`Settings::from_inputs`]: merged [`Inputs`] checked and turned into [`Settings`], one part
//! at a time (deployment, global, trust, role, state) in the order the checks have always
//! run, so the first error reported for a set of inputs does not depend on how they are split.

use std::time::Duration;

use super::deployment::{deployment, Deployment};
use super::resources::{role, state, Role, State};
use super::trust::{trust, Trust};
use super::{AwsSettings, Settings};
use crate::config::defaults::DEFAULT_TIMEOUT_SECS;
use crate::config::validate as v;
use crate::config::{ColorChoice, Given, Inputs, OutputFormat};
use crate::error::Result;

impl Settings {
    /// Validate merged inputs. Every value is checked here, before any network or AWS call.
    pub fn from_inputs(i: Inputs) -> Result<Settings> {
        let mut warnings = Vec::new();
        let Deployment {
            mode,
            stack_name,
            stackset,
        } = deployment(&i)?;
        let Global {
            output,
            color,
            timeout,
            aws,
        } = global(&i)?;
        let Trust {
            issuer,
            audiences,
            repositories,
            environments,
            allow_any_repository,
            source_ips,
            ip_ranges_url,
        } = trust(&i, &mut warnings)?;
        let Role {
            role_name,
            policy_arns,
            allow_admin,
            permissions_boundary,
            max_session_duration,
        } = role(&i, &mut warnings)?;
        let State {
            state_bucket,
            state_key_prefix,
            lock_table,
            kms_key,
            allow_encryption_downgrade,
            noncurrent_days,
            tags,
        } = state(&i, aws.region.as_deref())?;
        Ok(Settings {
            aws,
            ca_bundle: i.ca_bundle,
            output,
            color,
            timeout,
            issuer,
            audiences,
            repositories,
            environments,
            allow_any_repository,
            source_ips,
            ip_ranges_url,
            role_name,
            policy_arns,
            allow_admin,
            permissions_boundary,
            max_session_duration,
            state_bucket,
            state_key_prefix,
            lock_table,
            kms_key,
            allow_encryption_downgrade,
            noncurrent_days,
            tags,
            mode,
            stack_name,
            stackset,
            warnings,
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
