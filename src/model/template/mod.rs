//! The CloudFormation template for a set of settings.
//!
//! The template is built from the same [`DesiredState`] as direct mode, by the same
//! [`model::desired`] call, once: only the account differs. Here the account id, partition and
//! region are placeholders that no validated input can contain; every string that holds one
//! becomes an `Fn::Sub` with `${AWS::AccountId}`, `${AWS::Partition}` or `${AWS::Region}`, and
//! strings that name a resource of the template become references to it (`Ref`,
//! `Fn::GetAtt`, `${StateBucket.Arn}/...`). So the policies in the template are, after
//! CloudFormation resolves them, exactly the documents direct mode writes, and the same
//! template works in any account and region.

mod account;
mod document;
mod iam;
mod ids;
mod refs;
mod state;
mod yaml;

use ipnet::IpNet;
use serde_json::{Map, Value};

pub use account::{in_account, symbolic_account};
pub use ids::{
    role_ids, RoleIds, BUCKET_ID, BUCKET_POLICY_ID, PROVIDER_ID, ROLE_ID, ROLE_OUTPUT, TABLE_ID,
};
use refs::Refs;
pub use state::names_global_default;
use yaml::Comments;

use crate::config::validate::{kms_key_form, KmsKeyForm};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::model::{self, DesiredState};

/// Version of the template's layout. Stamped into the template (Metadata and the
/// `TemplateVersion` output) so later versions of the tool can recognise what they deployed.
/// Bump it when resources, logical ids or outputs change meaning.
pub const TEMPLATE_VERSION: &str = "1";
/// The value of the `TemplateVersion` output.
pub fn version_stamp() -> String {
    format!("bootstrap/{TEMPLATE_VERSION}")
}

/// CloudFormation's limit for a template passed inline (TemplateBody).
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// Refuse a template `body` too large to deploy inline.
pub fn check_inline_size(body: &str) -> Result<()> {
    if body.len() <= MAX_TEMPLATE_BODY {
        return Ok(());
    }
    Err(Error::failure(format!(
        "the template is {} bytes; CloudFormation accepts at most {MAX_TEMPLATE_BODY} inline",
        body.len()
    ))
    .hint("use fewer --source-ip ranges, or render it (bootstrap render) and deploy it from S3 by hand"))
}

/// How the template is meant to be deployed.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// For a StackSet: many accounts, so nothing account-specific may be fixed.
    pub stackset: bool,
    /// The deployed stack (or StackSet) names its bucket with the global default name of
    /// earlier versions: keep it. A new name would make CloudFormation replace the bucket
    /// (a new, empty one; the old one, retained, is left out of the stack with the state).
    pub keep_global_bucket: bool,
}

/// A rendered template: the document, what explains it, and the desired state it came from.
#[derive(Debug, Clone)]
pub struct Template {
    /// The template as JSON (keys in template order).
    pub body: Value,
    /// The desired state with placeholders for account, partition and region.
    pub desired: DesiredState,
    /// Warnings about settings that behave differently in a template (StackSets).
    pub warnings: Vec<String>,
    comments: Comments,
    header: Vec<String>,
}

/// Checks that only matter for a template; run before any network call.
pub fn validate(settings: &Settings, opts: RenderOptions) -> Result<()> {
    settings.require_trust_inputs()?;
    // The template tags each role with its stack too (bootstrap-stack), one more than direct
    // mode: `render` counts it whatever --mode says.
    crate::config::tag_counts(&settings.roles, &settings.state.tags, true)?;
    let role_tags = settings.roles.iter().flat_map(|r| &r.tags);
    if let Some((k, _)) = settings
        .state
        .tags
        .iter()
        .chain(role_tags)
        .find(|(_, v)| v.is_empty())
    {
        return Err(Error::usage(format!(
            "--tag {k}= has an empty value, which CloudFormation does not accept for IAM tags"
        ))
        .hint(format!("give the tag a value, e.g. --tag {k}=yes")));
    }
    if opts.stackset {
        if let Some(b) = &settings.state.bucket {
            return Err(Error::usage(format!(
                "--state-bucket {b}: a StackSet deploys to many accounts, and a bucket name can exist only once in all of AWS"
            ))
            .hint("leave --state-bucket out: each account gets terraform-state-ACCOUNT-REGION-an (terraform-state-ACCOUNT-REGION where the region has no account regional namespace)"));
        }
    }
    Ok(())
}

/// Whether `--kms-key` has to be resolved to a key ARN (kms:DescribeKey) before the template
/// is built: a grant must name the key ARN, and no template function resolves an alias. A
/// key id needs no call in a stack template: it becomes the ARN of that key in the deploying
/// account and region (`${AWS::AccountId}`, `${AWS::Region}`). In a StackSet every account
/// uses the one key, so a key id is resolved too.
pub fn needs_key_arn(settings: &Settings, opts: RenderOptions) -> bool {
    match settings.state.kms_key.as_deref().and_then(kms_key_form) {
        Some(KmsKeyForm::AliasName | KmsKeyForm::AliasArn) => true,
        Some(KmsKeyForm::KeyId) => opts.stackset,
        Some(KmsKeyForm::KeyArn) | None => false,
    }
}

/// Build the template for `settings`. `thumbprints` and `bitbucket_ranges` are the issuer's
/// verified thumbprints and Atlassian's published ranges (when a role names them), as for
/// direct mode. The desired state is built
/// once, for the [`symbolic_account`]; the template keeps it (see [`in_account`]).
pub fn build(
    settings: &Settings,
    thumbprints: &[String],
    bitbucket_ranges: &[IpNet],
    opts: RenderOptions,
) -> Result<Template> {
    validate(settings, opts)?;
    let d = model::desired(settings, &symbolic_account(), thumbprints, bitbucket_ranges)?;
    let d = if settings.state.bucket.is_none() && !opts.keep_global_bucket {
        account::with_regional_default(&d)
    } else {
        d
    };
    Ok(from_desired(d, opts))
}

/// The template for a desired state built for the [`symbolic_account`].
pub fn from_desired(d: DesiredState, opts: RenderOptions) -> Template {
    let refs = Refs::of(&d);
    let mut warnings = d.warnings.clone();
    let mut c = Comments::default();
    let mut resources = Map::new();
    resources.insert(PROVIDER_ID.into(), iam::provider(&d, &mut c));
    let ids = role_ids(&d);
    for (r, ids) in d.roles.iter().zip(&ids) {
        let cx = iam::RoleContext {
            id: &ids.resource,
            audiences: &d.provider.client_ids,
            refs: &refs,
            opts,
        };
        let role = iam::role(r, &cx, &mut c, &mut warnings);
        resources.insert(ids.resource.clone(), role);
    }
    resources.insert(BUCKET_ID.into(), state::bucket(&d, &refs, &mut c));
    resources.insert(
        BUCKET_POLICY_ID.into(),
        state::bucket_policy(&d, &refs, &mut c),
    );
    if let Some(t) = &d.table {
        resources.insert(TABLE_ID.into(), state::table(t, &mut c));
    }
    let conditions = state::conditions(&d);
    let body = document::body(
        &d.issuer_url,
        &d.set,
        conditions,
        resources,
        &ids,
        opts,
        &mut c,
    );
    if opts.stackset && d.bucket.kms_key.is_some() {
        warnings.push(
            "--kms-key in a StackSet: every account uses this one key; its key policy must allow the deployment role of each account".into(),
        );
    }
    Template {
        body,
        desired: d,
        warnings,
        comments: c,
        header: document::header(opts),
    }
}

impl Template {
    /// The template as commented YAML.
    pub fn yaml(&self) -> String {
        yaml::to_string(&self.body, &self.header, &self.comments)
    }

    /// The template as JSON (no comments).
    pub fn json(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.body).unwrap_or_default();
        s.push('\n');
        s
    }

    /// `(logical id, type)` of every resource, in template order.
    pub fn resources(&self) -> Vec<(String, String)> {
        self.body["Resources"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(id, r)| (id.clone(), r["Type"].as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }
}
