//! What to do after `init` (both modes): the Bitbucket variables, the pipeline step and the
//! Terraform backend block.

use std::fmt::Write;

use serde::Serialize;

/// The repository variables a pipeline step needs.
#[derive(Debug, Clone, Serialize)]
pub struct Variables {
    #[serde(rename = "AWS_ROLE_ARN")]
    pub role_arn: String,
    #[serde(rename = "AWS_REGION")]
    pub region: String,
}

/// `init`'s "Next:" block; serialized, its `next_steps` document.
#[derive(Debug, Clone, Serialize)]
pub struct NextSteps {
    pub variables: Variables,
    /// A Bitbucket step with `oidc: true` that hands the token to the AWS SDKs.
    pub pipeline_step: String,
    /// The `terraform { backend "s3" { ... } }` block.
    pub backend: String,
    /// The step asks for custom audiences (the text says so instead of `oidc: true`).
    #[serde(skip)]
    pub custom_audiences: bool,
}

impl NextSteps {
    /// The block as people read it, after `init`'s summary.
    pub fn text(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "\nNext: in Bitbucket, set these repository variables:"
        );
        let _ = writeln!(text, "  AWS_ROLE_ARN = {}", self.variables.role_arn);
        let _ = writeln!(text, "  AWS_REGION   = {}", self.variables.region);
        let oidc = if self.custom_audiences {
            "these OpenID Connect audiences"
        } else {
            "`oidc: true`"
        };
        let _ = writeln!(text, "and give the deploying step {oidc}:\n");
        for l in self.pipeline_step.lines() {
            let _ = writeln!(text, "  {l}");
        }
        let _ = writeln!(text, "\nTerraform backend:\n");
        for l in self.backend.lines() {
            let _ = writeln!(text, "  {l}");
        }
        text
    }
}
