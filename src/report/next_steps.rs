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

/// One configured role, for the "Next:" block of a configuration with several.
#[derive(Debug, Clone, Serialize)]
pub struct RoleArn {
    pub name: String,
    pub access: &'static str,
    pub arn: String,
}

/// `init`'s "Next:" block; serialized, its `next_steps` document.
#[derive(Debug, Clone, Serialize)]
pub struct NextSteps {
    /// The variables of a one-role configuration (the first role's ARN with several).
    pub variables: Variables,
    /// Every role with its ARN: with several, each repository or deployment environment sets
    /// AWS_ROLE_ARN to the one it uses.
    pub roles: Vec<RoleArn>,
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
        if self.roles.len() > 1 {
            self.roles_text(&mut text);
        } else {
            let _ = writeln!(
                text,
                "\nNext: in Bitbucket, set these repository variables:"
            );
            let _ = writeln!(text, "  AWS_ROLE_ARN = {}", self.variables.role_arn);
        }
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

    /// Several roles: AWS_ROLE_ARN is set per repository or deployment environment.
    fn roles_text(&self, text: &mut String) {
        let _ = writeln!(
            text,
            "\nNext: in Bitbucket, set AWS_ROLE_ARN to the role each repository (repository variable) or deployment environment (deployment variable) uses; `bootstrap pipeline --role NAME` writes the pipeline of one:"
        );
        let width = self.roles.iter().map(|r| r.name.len()).max().unwrap_or(0);
        for r in &self.roles {
            let _ = writeln!(
                text,
                "  {:width$}  {:5}  AWS_ROLE_ARN = {}",
                r.name, r.access, r.arn
            );
        }
        let _ = writeln!(text, "and everywhere:");
    }
}
