//! `bootstrap render`: the CloudFormation template for these settings; and the template for
//! these settings in the deploying account, which `plan`, `init` and `status` deploy in
//! CloudFormation mode ([`prepare`]).

use std::borrow::Cow;
use std::path::Path;

use ipnet::IpNet;

use super::setup::check_managed_policies;
use crate::aws::Aws;
use crate::config::{Settings, TemplateFormat};
use crate::error::{Error, Result};
use crate::model::template::{self, RenderOptions, Template, MAX_TEMPLATE_BODY};
use crate::model::{self, DesiredState};
use crate::observe;
use crate::observe::stack::ObservedStack;
use crate::observe::stackset::ObservedStackSet;
use crate::oidc::{self, IssuerFacts};
use crate::report::render::RenderReport;
use crate::report::{Output, Reporter};

/// Every input a template needs, checked before the first network call (and `-o PATH`).
fn check_inputs(
    settings: &Settings,
    reporter: &Reporter,
    opts: RenderOptions,
    out: Option<&Path>,
) -> Result<()> {
    model::quota::check_trust_inputs(settings)?;
    template::validate(settings, opts)?;
    settings.require_issuer()?;
    oidc::tls_config(settings)?;
    if let Some(path) = out {
        check_out_path(path)?;
    }
    for w in settings.trust_warnings() {
        reporter.warn(w);
    }
    Ok(())
}

/// The issuer's facts (discovery, verified thumbprints) and Atlassian's ranges: what
/// a template needs from the network, fetched concurrently.
async fn issuer_inputs(
    settings: &Settings,
    reporter: &Reporter,
) -> Result<(IssuerFacts, Vec<IpNet>)> {
    let issuer = settings.require_issuer()?;
    let tls = oidc::tls_config(settings)?;
    reporter.progress(format!("reading {}", issuer.url));
    let (facts, ranges) = oidc::issuer_facts_and_ranges(tls, settings, issuer, false).await?;
    for h in &facts.hosts {
        for w in &h.warnings {
            reporter.warn(w.clone());
        }
    }
    Ok((facts, ranges))
}

/// Build the template, warning about what the user should know.
fn build(
    settings: &Settings,
    reporter: &Reporter,
    thumbprints: &[String],
    cidrs: &[IpNet],
    opts: RenderOptions,
) -> Result<Template> {
    let t = template::build(settings, thumbprints, cidrs, opts)?;
    for w in &t.warnings {
        reporter.warn(w.clone());
    }
    Ok(t)
}

/// The template deployed in this account, and what went into it.
pub(super) struct Prepared {
    pub aws: Aws,
    pub template: Template,
    /// The template as submitted (YAML).
    pub body: String,
    pub facts: IssuerFacts,
    /// The desired state in this account: the names the stack's resources get.
    pub desired: DesiredState,
    /// The stack or StackSet as it was before anything was done.
    pub deployed: Deployed,
}

/// Learn the issuer and the account concurrently and build the template for them.
pub(super) async fn prepare(settings: &Settings, reporter: &Reporter) -> Result<Prepared> {
    let opts = RenderOptions {
        stackset: settings.stackset.is_some(),
        ..Default::default()
    };
    check_inputs(settings, reporter, opts, None)?;
    let issuer = settings.require_issuer()?;
    // Beside the issuer: the account, the KMS key by its ARN, and the thumbprints the live
    // provider holds (a stack update keeps the ones still in use, as direct mode does). A
    // StackSet's providers, and its customer policies, are in its target accounts, out of
    // reach here; a stack's --policy-arn documents are judged as in direct mode.
    let aws_side = async {
        let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
        let (account, resolved, provider, deployed) = tokio::try_join!(
            observe::account(&aws),
            observe::kms::resolved(&aws, settings),
            async {
                if opts.stackset {
                    Ok(None)
                } else {
                    observe::find_provider(&aws, issuer).await
                }
            },
            // The stack is read only once the policies the settings name are judged: a
            // refused --policy-arn or --permissions-boundary reaches no stack.
            async {
                if !opts.stackset {
                    check_managed_policies(&aws, settings, reporter, &Default::default()).await?;
                }
                Deployed::read(&aws, settings).await
            },
        )?;
        Ok::<_, Error>((aws, account, resolved, provider, deployed))
    };
    let ((facts, cidrs), (aws, account, settings, provider, deployed)) =
        tokio::try_join!(issuer_inputs(settings, reporter), aws_side)?;
    // A --state-bucket of the account regional form: only this account, in this region, can
    // create it (as in direct mode).
    if let Some(b) = &settings.state_bucket {
        model::namespace::namespace_of(b, &account)?;
    }
    let opts = RenderOptions {
        keep_global_bucket: deployed.names_global_default(&settings),
        ..opts
    };
    let registered = provider.as_ref().map(|p| p.thumbprints.as_slice());
    let thumbprints = model::thumbprints::to_register(&facts.thumbprints, registered);
    let template = build(&settings, reporter, &thumbprints, &cidrs, opts)?;
    let body = template.yaml();
    template::check_inline_size(&body)?;
    let desired = template::in_account(&template.desired, &account);
    Ok(Prepared {
        aws,
        template,
        body,
        facts,
        desired,
        deployed,
    })
}

/// The stack (or the StackSet) of these settings as deployed, read once: its template decides
/// how the bucket is named, and the plan starts from it.
#[derive(Default)]
pub(super) struct Deployed {
    pub stack: Option<ObservedStack>,
    pub stackset: Option<ObservedStackSet>,
}

impl Deployed {
    async fn read(aws: &Aws, settings: &Settings) -> Result<Deployed> {
        let cfn = &aws.cloudformation;
        Ok(match &settings.stackset {
            Some(ss) => Deployed {
                stackset: observe::stackset::stackset(cfn, &ss.name).await?,
                ..Default::default()
            },
            None => Deployed {
                stack: observe::stack::stack(cfn, &settings.stack_name).await?,
                ..Default::default()
            },
        })
    }

    /// Whether the deployed template names its bucket with the global default name of
    /// earlier versions, which the template then keeps (renaming the bucket would make
    /// CloudFormation replace it). Never with a `--state-bucket`, which names the bucket.
    fn names_global_default(&self, settings: &Settings) -> bool {
        let body = match (&self.stack, &self.stackset) {
            (Some(s), _) => s.template_body.as_deref(),
            (_, Some(s)) => Some(s.template_body.as_str()),
            (None, None) => None,
        };
        settings.state_bucket.is_none()
            && body
                .and_then(crate::plan::compare::parse)
                .is_some_and(|t| template::names_global_default(&t))
    }
}

/// `settings` with `--kms-key` as a key ARN where the template cannot make one itself (the
/// one AWS call `render` may make: kms:DescribeKey).
async fn with_key_arn<'a>(
    settings: &'a Settings,
    reporter: &Reporter,
    opts: RenderOptions,
) -> Result<Cow<'a, Settings>> {
    if !template::needs_key_arn(settings, opts) {
        return Ok(Cow::Borrowed(settings));
    }
    reporter.progress("finding the --kms-key key's ARN (kms:DescribeKey)");
    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    observe::kms::resolved(&aws, settings).await
}

fn check_out_path(path: &Path) -> Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(Error::usage(format!(
            "-o {}: the directory {} does not exist",
            path.display(),
            parent.display()
        ))
        .hint("create it first, or write the template somewhere else"));
    }
    if path.is_dir() {
        return Err(
            Error::usage(format!("-o {}: is a directory", path.display()))
                .hint("name a file, e.g. -o bootstrap.yaml"),
        );
    }
    Ok(())
}

pub(super) async fn run(
    settings: &Settings,
    reporter: &Reporter,
    format: TemplateFormat,
    out: Option<&Path>,
    stackset: bool,
) -> Result<Output> {
    let opts = RenderOptions {
        stackset: stackset || settings.stackset.is_some(),
        ..Default::default()
    };
    check_inputs(settings, reporter, opts, out)?;
    let (settings, (facts, cidrs)) = tokio::try_join!(
        with_key_arn(settings, reporter, opts),
        issuer_inputs(settings, reporter)
    )?;
    let t = build(&settings, reporter, &facts.thumbprints, &cidrs, opts)?;
    let (body, format) = match format {
        TemplateFormat::Yaml => (t.yaml(), "yaml"),
        TemplateFormat::Json => (t.json(), "json"),
    };
    if body.len() > MAX_TEMPLATE_BODY {
        reporter.warn(format!(
            "the template is {} bytes, over CloudFormation's {MAX_TEMPLATE_BODY}-byte limit for an inline template; upload it to S3 and deploy with --template-url",
            body.len()
        ));
    }
    if let Some(path) = out {
        // Through a temporary file renamed into place: a link at `path` is replaced, never
        // written through.
        crate::report::files::write_file(path, &body)
            .map_err(|e| e.hint("check the path given with -o and its permissions"))?;
    }
    let file = out.map(|p| p.display().to_string());
    let report = RenderReport::new(&t, format, opts.stackset, facts.thumbprints, body, file);
    Ok(Output::of(&report, reporter))
}
