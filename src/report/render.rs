//! The result of `bootstrap render`: the template on stdout, or what was written to `-o`.

use serde::Serialize;
use serde_json::Value;

use super::{Paint, Report};
use crate::model::template::{version_stamp, Template};

/// One resource of the template.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceId {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub resource_type: String,
}

/// `render`.
#[derive(Debug, Serialize)]
pub struct RenderReport {
    pub format: &'static str,
    pub stackset: bool,
    pub template_version: String,
    pub issuer: String,
    pub thumbprints: Vec<String>,
    pub resources: Vec<ResourceId>,
    pub bytes: usize,
    pub template: Value,
    /// The file written (`-o`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The template text, when it goes to stdout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_body: Option<String>,
}

impl RenderReport {
    /// The report for template `t` rendered as `body` (in `format`), written to `file` or
    /// printed.
    pub fn new(
        t: &Template,
        format: &'static str,
        stackset: bool,
        thumbprints: Vec<String>,
        body: String,
        file: Option<String>,
    ) -> RenderReport {
        RenderReport {
            format,
            stackset,
            template_version: version_stamp(),
            issuer: t.desired.issuer_url.clone(),
            thumbprints,
            resources: t
                .resources()
                .into_iter()
                .map(|(logical_id, resource_type)| ResourceId {
                    logical_id,
                    resource_type,
                })
                .collect(),
            bytes: body.len(),
            template: t.body.clone(),
            template_body: file.is_none().then_some(body),
            file,
        }
    }
}

impl Report for RenderReport {
    fn text(&self, _: Paint) -> String {
        match (&self.file, &self.template_body) {
            (Some(path), _) => format!(
                "wrote {path} ({} bytes, {} resources, template {})\n\
                 deploy it with `bootstrap init --mode cloudformation`, or see docs/cloudformation.md to deploy it by hand\n",
                self.bytes,
                self.resources.len(),
                self.template_version
            ),
            (None, Some(body)) => body.clone(),
            (None, None) => String::new(),
        }
    }
}
