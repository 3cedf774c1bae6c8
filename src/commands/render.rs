//! `bootstrap render`: the CloudFormation template for these settings (and the pieces
//! [`super::prepare`] builds the template of CloudFormation mode with).

use std::borrow::Cow;
use std::path::Path;

use ipnet::IpNet;

use crate::aws::Aws;
use crate::config::{Settings, TemplateFormat};
use crate::error::{Error, Result};
use crate::model;
use crate::model::template::{self, RenderOptions, Template, MAX_TEMPLATE_BODY};
use crate::observe;
use crate::oidc::{self, IssuerFacts};
use crate::report::render::RenderReport;
use crate::report::{Output, Reporter};

/// Every input a template needs, checked before the first network call (and `-o PATH`).
pub(super) fn check_inputs(
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
pub(super) async fn issuer_inputs(
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
pub(super) fn build(
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
        stackset: stackset || settings.deployment.stackset.is_some(),
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
