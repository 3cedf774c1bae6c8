//! `bootstrap render`: the CloudFormation template for these settings.

use std::borrow::Cow;
use std::fmt::Write;
use std::path::Path;

use ipnet::IpNet;
use serde_json::json;

use crate::apply::cloudformation::template::{self, RenderOptions, Template, MAX_TEMPLATE_BODY};
use crate::aws::Aws;
use crate::config::validate::{kms_key_form, KmsKeyForm};
use crate::config::{Settings, TemplateFormat};
use crate::error::{Error, Result};
use crate::model;
use crate::observe;
use crate::oidc::{self, IssuerFacts};
use crate::report::{Output, Reporter};

/// The issuer's facts (discovery, verified thumbprints) and the resolved source ranges: what
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
    let cidrs = model::source_cidrs(settings, &ranges)?;
    Ok((facts, cidrs))
}

/// Build the template, warning about what the user should know.
pub(super) fn build_template(
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

/// `settings` with `--kms-key` as a key ARN where the template cannot make one itself: an
/// alias is resolved with kms:DescribeKey (the one AWS call `render` may make), since a
/// grant must name the key ARN and no template function resolves an alias. A key id needs
/// no call in a stack template: it becomes the ARN of that key in the deploying account and
/// region (`${AWS::AccountId}`, `${AWS::Region}`). In a StackSet every account uses the one
/// key, so a key id is resolved too.
async fn with_key_arn<'a>(
    settings: &'a Settings,
    reporter: &Reporter,
    stackset: bool,
) -> Result<Cow<'a, Settings>> {
    let resolve = match settings.kms_key.as_deref().and_then(kms_key_form) {
        Some(KmsKeyForm::AliasName | KmsKeyForm::AliasArn) => true,
        Some(KmsKeyForm::KeyId) => stackset,
        Some(KmsKeyForm::KeyArn) | None => false,
    };
    if !resolve {
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

pub async fn run(
    settings: &Settings,
    reporter: &Reporter,
    format: TemplateFormat,
    out: Option<&Path>,
    stackset: bool,
) -> Result<Output> {
    let opts = RenderOptions {
        stackset: stackset || settings.stackset.is_some(),
    };
    // Every input is checked before the first network call.
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

    let (settings, (facts, cidrs)) = tokio::try_join!(
        with_key_arn(settings, reporter, opts.stackset),
        issuer_inputs(settings, reporter)
    )?;
    let settings = &*settings;
    let t = build_template(settings, reporter, &facts.thumbprints, &cidrs, opts)?;
    let (body, format_name) = match format {
        TemplateFormat::Yaml => (t.yaml(), "yaml"),
        TemplateFormat::Json => (t.json(), "json"),
    };
    if body.len() > MAX_TEMPLATE_BODY {
        reporter.warn(format!(
            "the template is {} bytes, over CloudFormation's {MAX_TEMPLATE_BODY}-byte limit for an inline template; upload it to S3 and deploy with --template-url",
            body.len()
        ));
    }
    let resources: Vec<serde_json::Value> = t
        .resources()
        .into_iter()
        .map(|(id, ty)| json!({ "logical_id": id, "type": ty }))
        .collect();
    let mut doc = json!({
        "format": format_name,
        "stackset": opts.stackset,
        "template_version": template::version_stamp(),
        "issuer": settings.require_issuer()?.url,
        "thumbprints": facts.thumbprints,
        "resources": resources,
        "bytes": body.len(),
        "template": t.body,
    });
    let text = match out {
        Some(path) => {
            // Through a temporary file renamed into place: a link at `path` is replaced,
            // never written through.
            crate::report::files::write_file(path, &body)
                .map_err(|e| e.hint("check the path given with -o and its permissions"))?;
            doc["file"] = json!(path.display().to_string());
            let mut text = format!(
                "wrote {} ({} bytes, {} resources, template {})\n",
                path.display(),
                body.len(),
                resources.len(),
                template::version_stamp()
            );
            let _ = writeln!(
                text,
                "deploy it with `bootstrap init --mode cloudformation`, or see docs/cloudformation.md to deploy it by hand"
            );
            text
        }
        None => {
            doc["template_body"] = json!(body);
            body
        }
    };
    Ok(Output::new(doc, text))
}
