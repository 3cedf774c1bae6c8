//! [`Settings`], and [`Settings::from_inputs`]: merged [`Inputs`] checked and turned into
//! them, one part at a time (deployment, global, trust, roles, state) in the order the checks
//! have always run, so the first error reported for a set of inputs does not depend on how
//! they are split. The global and state settings are declared here, each once: its key (and
//! default) in `global_keys!` or `state_keys!`, its check, and its value in [`Settings`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::deployment::deployment;
use super::roles::{roles, set, tag_counts};
use super::trust::trust;
use super::{AwsSettings, BitbucketSettings, Issuer, RoleSettings, StackSetSettings};
use super::{Inputs, Source};
use crate::config::choices::{ColorChoice, Given, Mode, OutputFormat};
use crate::config::combine::Combine;
use crate::config::validate as v;
use crate::error::{Error, Result};

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

/// The keys of the Terraform state: the bucket, its lock table and encryption, and the tags
/// of every resource.
macro_rules! state_keys {
    ([$next:ident $(, $rest:ident)*] $($declared:tt)*) => {
        $next! { [$($rest),*] $($declared)* {
            pub state_bucket: Option<String>,
            pub state_key_prefix: Option<String>,
            pub lock_table: Option<String> = $crate::config::DEFAULT_LOCK_TABLE,
            pub no_lock_table: Option<bool>,
            pub kms_key: Option<String>,
            pub allow_encryption_downgrade: Option<bool>,
            pub noncurrent_days: Option<i64> = 90_i64,
            pub tags: Option<::std::collections::BTreeMap<String, String>>,
        } }
    };
}
pub(super) use state_keys;

/// Everything a command needs, validated. Parts a command does not need may be absent; the
/// `require_*` accessors turn an absence into a usage error that names the flag.
#[derive(Debug, Clone)]
pub struct Settings {
    pub aws: AwsSettings,
    pub ca_bundle: Option<PathBuf>,
    pub output: OutputFormat,
    pub color: ColorChoice,
    pub timeout: Duration,

    pub issuer: Option<Issuer>,
    pub audiences: Vec<String>,
    pub ip_ranges_url: String,
    /// The Bitbucket API: its URL, the workspace, and the names resolved through it.
    pub bitbucket: BitbucketSettings,

    /// The roles, in configuration order: one from the flags, two with `--plan-apply`, or
    /// the `[[role]]` tables. Never empty.
    pub roles: Vec<RoleSettings>,
    /// `set = "..."`: the set the roles belong to; `None` for the issuer's host/path.
    pub set: Option<String>,
    /// The roles came from `[[role]]` tables (messages then name the role, not the flags).
    pub role_tables: bool,

    pub state_bucket: Option<String>,
    pub state_key_prefix: String,
    pub lock_table: Option<String>,
    pub kms_key: Option<String>,
    /// An existing SSE-KMS bucket may be switched to SSE-S3 (no --kms-key).
    pub allow_encryption_downgrade: bool,
    pub noncurrent_days: i32,
    pub tags: BTreeMap<String, String>,

    pub mode: Mode,
    pub stack_name: String,
    pub stackset: Option<StackSetSettings>,

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

pub(super) struct State {
    pub(super) state_bucket: Option<String>,
    pub(super) state_key_prefix: String,
    pub(super) lock_table: Option<String>,
    pub(super) kms_key: Option<String>,
    pub(super) allow_encryption_downgrade: bool,
    pub(super) noncurrent_days: i32,
    pub(super) tags: BTreeMap<String, String>,
}

/// The state settings; `region` is `--region`, which a `--kms-key` ARN must agree with.
pub(super) fn state(i: &Inputs, given: &Inputs, region: Option<&str>) -> Result<State> {
    let state_bucket = i.state_bucket.as_deref().map(v::bucket_name).transpose()?;
    let state_key_prefix = i
        .state_key_prefix
        .as_deref()
        .map(v::key_prefix)
        .transpose()?
        .unwrap_or_default();
    let lock_table = lock_table(i, given)?;
    let kms_key = kms_key(i, region)?;
    let noncurrent_days = match i.noncurrent_days.unwrap_or_default() {
        #[allow(clippy::cast_possible_truncation, reason = "the pattern bounds it")]
        d @ 1..=3650 => d as i32,
        d => {
            return Err(crate::usage!(
                "--noncurrent-days {d}: expected 1 to 3650 days"
            ))
        }
    };
    Ok(State {
        state_bucket,
        state_key_prefix,
        lock_table,
        kms_key,
        allow_encryption_downgrade: i.allow_encryption_downgrade.unwrap_or(false),
        noncurrent_days,
        tags: tags(i)?,
    })
}

/// `--lock-table NAME` (or the default), or none with `--no-lock-table`.
fn lock_table(i: &Inputs, given: &Inputs) -> Result<Option<String>> {
    match (i.no_lock_table.unwrap_or(false), given.lock_table.is_some()) {
        (true, true) => Err(Error::usage("--lock-table and --no-lock-table both given")
            .hint("pass only one of them")),
        (true, false) => Ok(None),
        (false, _) => Ok(Some(v::table_name(
            i.lock_table.as_deref().unwrap_or_default(),
        )?)),
    }
}

/// `--kms-key`: a key given by ARN must be in `--region` (S3 encrypts only with a key in
/// the bucket's region).
fn kms_key(i: &Inputs, region: Option<&str>) -> Result<Option<String>> {
    let kms_key = i.kms_key.as_deref().map(v::kms_key).transpose()?;
    let key_region = kms_key.as_deref().and_then(v::kms_key_region);
    if let (Some(key_region), Some(region)) = (key_region, region) {
        if key_region != region {
            return Err(Error::usage(format!(
                "--kms-key is in {key_region} but --region is {region}: S3 only encrypts with a key in the bucket's region"
            ))
            .hint("pass a key from the same region with --kms-key, or change --region"));
        }
    }
    Ok(kms_key)
}

/// `--tag` pairs (the file's `[tags]` table), each checked, at most 40.
fn tags(i: &Inputs) -> Result<BTreeMap<String, String>> {
    let tags = i.tags.clone().unwrap_or_default();
    for (k, val) in &tags {
        v::tag(k, val)?;
    }
    if tags.len() > 40 {
        return Err(crate::usage!(
            "{} tags given; at most 40 are accepted (AWS allows 50 and the tool adds its own)",
            tags.len()
        ));
    }
    Ok(tags)
}
