//! The pipeline for a desired state: `bitbucket-pipelines.yml` and `backend.tf` as
//! `pipeline` writes them, and the step and backend block `init` suggests, all from the
//! templates in `templates/`. The values are validated in `values`, the roles the steps
//! assume and where their ARNs go are `roles`, and `render` fills them in; nothing here
//! reads or writes a file or calls AWS.

mod multi;
#[cfg(test)]
mod plan_apply_tests;
mod render;
mod roles;
mod values;

pub use multi::{parse_entry, render_multi, StageEnvironment};
pub use render::{render_files, snippets, Rendered, Snippets};
pub use roles::{Found, PipelineRoles, Placement, RoleChoice, Scope};
pub use values::{any_branch_warning, pair_trust_warning, Pipeline};

/// The file the pipeline is written to, in `--out-dir`.
pub const PIPELINE_FILE: &str = "bitbucket-pipelines.yml";
/// The file the backend block is written to, in `--out-dir`.
pub const BACKEND_FILE: &str = "backend.tf";
