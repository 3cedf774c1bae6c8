//! `pipeline --deployment NAME=CONFIG ...`'s body of [`super::PipelineReport`]: the
//! files, each environment with its account, role and variables, and what was done in
//! Bitbucket.

use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use super::shared::{kept_text, variables_text, KeptFile};
use super::Paint;
use crate::bitbucket::variables::VariableState;
use crate::model::pipeline::StageEnvironment;

/// The files for environments in several accounts, one environment each.
#[derive(Debug, Clone, Serialize)]
pub struct AccountsBody {
    pub files: Vec<String>,
    /// Files that existed (no `--force`): left as they are, their would-be content shown.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<KeptFile>,
    pub environments: Vec<StageEnvironment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bitbucket_variables: Option<Vec<VariableState>>,
    /// Each environment's AWS calls, in order.
    pub aws_calls: Vec<Value>,
}

impl AccountsBody {
    pub(super) fn text(&self, _paint: Paint) -> String {
        let mut text = String::new();
        for f in &self.files {
            let _ = writeln!(text, "wrote {f}");
        }
        kept_text(&self.kept, &mut text);
        if let Some(first) = self.environments.first() {
            if let Some(plan) = &first.plan_role_arn {
                let _ = writeln!(
                    text,
                    "\nBranches and pull requests plan with {plan} (the plan role of {}).",
                    first.name
                );
            }
        }
        for e in &self.environments {
            let _ = writeln!(
                text,
                "\n{}: account {}, role {}; its deployment variables:",
                e.name, e.account, e.role_arn
            );
            for (k, v) in &e.variables {
                let _ = writeln!(text, "  {k} = {v}");
            }
        }
        match &self.bitbucket_variables {
            Some(states) => {
                let _ = write!(text, "\nBitbucket variables:\n{}", variables_text(states));
            }
            None => {
                let _ = writeln!(
                    text,
                    "\nSet them in Bitbucket (Repository settings > Deployments), or run again with --set-variables."
                );
            }
        }
        text
    }
}
