//! `pipeline`'s result: the files written and the Bitbucket variables to set, as the
//! `--output json` document and as text.

use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use super::{Paint, Report};
use crate::model::pipeline::Pipeline;
use crate::model::{Account, DesiredState};

/// One file `pipeline` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct WrittenFile {
    pub path: String,
    /// `bitbucket-pipelines` or `terraform-backend`.
    pub kind: &'static str,
}

/// The variables to set in Bitbucket, and where.
#[derive(Debug, Clone, Serialize)]
pub struct Variables {
    /// `deployment` (variables of the deployment environment) or `repository`.
    pub scope: &'static str,
    pub deployment: Option<String>,
    #[serde(rename = "AWS_ROLE_ARN")]
    pub aws_role_arn: String,
    #[serde(rename = "AWS_REGION")]
    pub aws_region: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PipelineReport {
    pub files: Vec<WrittenFile>,
    pub variables: Variables,
    pub role_arn: String,
    pub state_bucket: String,
    pub state_key: String,
    pub lock_table: Option<String>,
    pub ip_restricted: bool,
    pub custom_audiences: Vec<String>,
    pub account: Account,
    pub aws_calls: Value,
    /// What the variables are called in the text ("repository variables", ...).
    #[serde(skip)]
    pub variables_kind: String,
    /// Where Bitbucket shows them.
    #[serde(skip)]
    pub variables_place: &'static str,
}

impl PipelineReport {
    /// The result of writing `pipeline_path` and `backend_path` for `p` and `d`.
    pub fn new(
        p: &Pipeline,
        d: &DesiredState,
        pipeline_path: String,
        backend_path: String,
        aws_calls: Value,
    ) -> Self {
        let (variables_kind, variables_place) = p.variables_scope();
        PipelineReport {
            files: vec![
                WrittenFile {
                    path: pipeline_path,
                    kind: "bitbucket-pipelines",
                },
                WrittenFile {
                    path: backend_path,
                    kind: "terraform-backend",
                },
            ],
            variables: Variables {
                scope: if p.deployment.is_some() {
                    "deployment"
                } else {
                    "repository"
                },
                deployment: p.deployment.clone(),
                aws_role_arn: d.primary_role().arn.clone(),
                aws_region: d.account.region.clone(),
            },
            role_arn: d.primary_role().arn.clone(),
            state_bucket: d.bucket.name.clone(),
            state_key: crate::model::state::state_key(&d.state_key_prefix),
            lock_table: d.table.as_ref().map(|t| t.name.clone()),
            ip_restricted: p.ip_restricted,
            custom_audiences: p.custom_audiences.clone(),
            account: d.account.clone(),
            aws_calls,
            variables_kind,
            variables_place,
        }
    }
}

impl Report for PipelineReport {
    fn text(&self, _paint: Paint) -> String {
        let mut text = String::new();
        for f in &self.files {
            let _ = writeln!(text, "wrote {}", f.path);
        }
        let _ = writeln!(
            text,
            "\nIn Bitbucket, set these {} ({}):",
            self.variables_kind, self.variables_place
        );
        let _ = writeln!(text, "  AWS_ROLE_ARN = {}", self.variables.aws_role_arn);
        let _ = writeln!(text, "  AWS_REGION   = {}", self.variables.aws_region);
        if self.ip_restricted {
            let _ = writeln!(
                text,
                "\nThe role is IP-restricted: the steps run as size 4x with atlassian-ip-ranges (billed at 4x)."
            );
        }
        if !self.custom_audiences.is_empty() {
            let _ = writeln!(
                text,
                "The steps ask for the custom audiences {}.",
                self.custom_audiences.join(", ")
            );
        }
        let _ = writeln!(
            text,
            "\nCommit both files. Check a step's token against the role with `bootstrap verify --token FILE`."
        );
        text
    }
}
