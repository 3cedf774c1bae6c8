//! Filling the templates in `templates/` with minijinja: the pipeline's two files, and the
//! step and backend block `init` suggests, which import their pieces from those two files.
//!
//! The environment is strict: a name the template uses and the code does not pass is an
//! error (never an empty string), so a template and its caller cannot drift apart. Lines
//! holding only a `{% tag %}` leave nothing (`trim_blocks`, `lstrip_blocks`); nothing is
//! escaped by the engine: values are quoted by the `yaml` filter in the templates and by
//! [`hcl_str`] here, as each file needs.

use minijinja::syntax::SyntaxConfig;
use minijinja::{context, AutoEscape, Environment, UndefinedBehavior, Value};

use super::roles::{PipelineRoles, Placement};
use super::values::Pipeline;
use crate::config::Access;
use crate::error::{Error, Result};
use crate::model::{self, DesiredRole, DesiredState};

/// What `init`'s step shows in place of the deployment environment's name (the settings hold
/// its UUID only).
const ENVIRONMENT_PLACEHOLDER: &str = "ENVIRONMENT-NAME";

/// The Terraform image tag the pipeline runs (1.11 is the first with S3-native locking GA).
pub(super) const TERRAFORM_VERSION: &str = "1.11";

/// Every template, by the name the others import it by.
const TEMPLATES: [(&str, &str); 7] = [
    (
        "bitbucket-pipelines.yml",
        include_str!("../../../templates/bitbucket-pipelines.yml"),
    ),
    (
        "cdk-pipelines.yml",
        include_str!("../../../templates/cdk-pipelines.yml"),
    ),
    ("backend.tf", include_str!("../../../templates/backend.tf")),
    (
        "init-step.yml",
        include_str!("../../../templates/init-step.yml"),
    ),
    (
        "init-backend.tf",
        include_str!("../../../templates/init-backend.tf"),
    ),
    (
        "bitbucket-pipelines-multi.yml",
        include_str!("../../../templates/bitbucket-pipelines-multi.yml"),
    ),
    (
        "backend-multi.tf",
        include_str!("../../../templates/backend-multi.tf"),
    ),
];

/// The files `pipeline` writes: no backend for a `cdk` role, which has no Terraform state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub pipeline: String,
    pub backend: Option<String>,
}

/// What `init` suggests putting in a pipeline: a step that gets the role's credentials, and
/// the backend block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippets {
    pub step: String,
    pub backend: String,
    /// The audiences the step asks for (empty: the workspace default, `oidc: true`).
    pub custom_audiences: Vec<String>,
}

impl Snippets {
    /// In place of snippets that did not render: the error, as a comment in each.
    pub fn unavailable(e: &Error) -> Self {
        let comment = format!("# not shown: {}\n", e.message);
        Snippets {
            step: comment.clone(),
            backend: comment,
            custom_audiences: Vec::new(),
        }
    }
}

/// Both files for a desired state, with the steps assuming `roles`.
pub fn render_files(
    pipeline: &Pipeline,
    roles: &PipelineRoles,
    d: &DesiredState,
) -> Result<Rendered> {
    if roles.is_plan_apply() && pipeline.deployment.is_none() {
        return Err(Error::failure(
            "internal error: a plan/apply pipeline without a deployment environment",
        )
        .hint("this is a bug in bootstrap; please report it"));
    }
    let role = backend_role(roles, d)?;
    let env = environment()?;
    let ctx = values(pipeline, roles, d, role);
    if role.access == Access::Cdk {
        return Ok(Rendered {
            pipeline: render(&env, "cdk-pipelines.yml", &ctx)?,
            backend: None,
        });
    }
    Ok(Rendered {
        pipeline: render(&env, "bitbucket-pipelines.yml", &ctx)?,
        backend: Some(render(&env, "backend.tf", &ctx)?),
    })
}

/// The role whose state the backend points at: the one role, or a pair's apply role (a
/// pair shares one prefix).
fn backend_role<'d>(roles: &PipelineRoles, d: &'d DesiredState) -> Result<&'d DesiredRole> {
    let arn = match roles {
        PipelineRoles::One { arn } => arn,
        PipelineRoles::PlanApply { apply_arn, .. } => apply_arn,
    };
    d.roles.iter().find(|r| &r.arn == arn).ok_or_else(|| {
        Error::failure(format!(
            "internal error: the pipeline's role {arn} is not in the desired state"
        ))
        .hint("this is a bug in bootstrap; please report it")
    })
}

/// The step and the backend block for `init`'s "Next:" lines, from the same templates as
/// the pipeline's files, with the pipeline's defaults.
pub fn snippets(d: &DesiredState) -> Result<Snippets> {
    let pipeline = Pipeline::defaults(&d.provider.client_ids);
    // The first role with a Terraform state (a cdk role has none to point a backend at).
    let role = d
        .roles
        .iter()
        .find(|r| r.state_key_prefix.is_some())
        .unwrap_or_else(|| d.primary_role());
    let roles = PipelineRoles::One {
        arn: role.arn.clone(),
    };
    let env = environment()?;
    let ctx = values(&pipeline, &roles, d, role);
    // A role that trusts deployment steps only: the step names its environment.
    let step_deployment = (d.roles.len() == 1 && !d.primary_role().environments.is_empty())
        .then_some(ENVIRONMENT_PLACEHOLDER);
    let step_ctx = context! { step_deployment, ..ctx.clone() };
    Ok(Snippets {
        step: render(&env, "init-step.yml", &step_ctx)?,
        backend: render(&env, "init-backend.tf", &ctx)?,
        custom_audiences: pipeline.custom_audiences,
    })
}

/// The values every template may use.
fn values(p: &Pipeline, roles: &PipelineRoles, d: &DesiredState, role: &DesiredRole) -> Value {
    let placements: Vec<Value> = roles
        .placements(p.deployment.as_deref(), &d.account.region)
        .iter()
        .map(placement)
        .collect();
    context! {
        roles => roles_value(roles),
        placements,
        region => &d.account.region,
        terraform_version => TERRAFORM_VERSION,
        audiences => &p.custom_audiences,
        ip_restricted => p.ip_restricted,
        branch => &p.branch,
        deployment => p.deployment.as_deref(),
        access => if roles.is_plan_apply() { "plan_apply" } else { role.access.word() },
        backend_settings => backend_settings(d, role.state_key_prefix.as_deref().unwrap_or_default()),
    }
}

/// The roles, as the templates see them: `kind` and the ARNs of that kind only (strict
/// undefined makes any other name an error).
fn roles_value(roles: &PipelineRoles) -> Value {
    match roles {
        PipelineRoles::One { arn } => context! { kind => "one", arn },
        PipelineRoles::PlanApply {
            plan_arn,
            apply_arn,
        } => context! { kind => "plan_apply", plan_arn, apply_arn },
    }
}

/// One scope's variables, as the templates show them.
fn placement(p: &Placement) -> Value {
    context! {
        kind => p.scope.kind(),
        place => p.scope.place(),
        role_arn => &p.role_arn,
        region => &p.region,
    }
}

pub(super) fn environment() -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(bug)?;
    env.set_syntax(syntax);
    env.add_filter("yaml", |s: &str| yaml_str(s));
    for (name, source) in TEMPLATES {
        env.add_template(name, source).map_err(bug)?;
    }
    Ok(env)
}

pub(super) fn render(env: &Environment<'_>, name: &str, ctx: &Value) -> Result<String> {
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(bug)
}

/// A template that does not render is a bug in bootstrap, never a user error.
fn bug(e: minijinja::Error) -> Error {
    Error::failure(format!("internal error rendering a template: {e:#}"))
        .hint("this is a bug in bootstrap; please report it")
}

/// The backend "s3" attributes, aligned as `terraform fmt` aligns them.
fn backend_settings(d: &DesiredState, prefix: &str) -> String {
    let mut attrs: Vec<(&str, String)> = vec![
        ("bucket", hcl_str(&d.bucket.name)),
        ("key", hcl_str(&model::state::state_key(prefix))),
        (
            "workspace_key_prefix",
            hcl_str(&model::state::workspace_key_prefix(prefix)),
        ),
        ("region", hcl_str(&d.account.region)),
        ("encrypt", "true".to_string()),
        ("use_lockfile", "true".to_string()),
    ];
    if let Some(t) = &d.table {
        attrs.push(("dynamodb_table", hcl_str(&t.name)));
    }
    if let Some(k) = &d.bucket.kms_key {
        attrs.push(("kms_key_id", hcl_str(k)));
    }
    let width = attrs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    attrs
        .iter()
        .map(|(k, v)| format!("{k:<width$} = {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// An HCL quoted string: escapes quotes, backslashes and template sequences.
fn hcl_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out.replace("${", "$${").replace("%{", "%%{")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Inputs, Settings};
    use crate::model::pipeline::RoleChoice;
    use crate::model::Account;

    fn settings(audiences: &[&str]) -> Settings {
        Settings::from_inputs(Inputs {
            workspace: Some("acme".into()),
            workspace_uuid: Some("6a3f1c2e-1111-4c9d-9a8b-0123456789ab".into()),
            repository_uuid: vec!["{0f6b3c1d-2222-4e5f-8a9b-abcdefabcdef}".into()],
            audience: audiences.iter().map(ToString::to_string).collect(),
            ..Default::default()
        })
        .unwrap()
    }

    fn desired(s: &Settings) -> DesiredState {
        let account = Account {
            id: "210987654321".into(),
            partition: "aws".into(),
            region: "eu-west-1".into(),
        };
        model::desired(s, &account, &[], &[]).unwrap()
    }

    #[test]
    fn init_suggests_the_pipeline_s_own_step_and_backend() {
        for audiences in [&[][..], &["sts.amazonaws.com", "a\"b"][..]] {
            let s = settings(audiences);
            let d = desired(&s);
            let roles = PipelineRoles::One {
                arn: d.primary_role().arn.clone(),
            };
            let one = RoleChoice::One(&s.roles[0]);
            let p = Pipeline::new(&s, &one, None, None).unwrap();
            let files = render_files(&p, &roles, &d).unwrap();
            let got = snippets(&d).unwrap();
            // Every line of the suggested step but its first is a line of the plan step.
            let plan = files.pipeline.split("- step: &plan").nth(1).unwrap();
            let plan = plan.split("- step: &apply").next().unwrap();
            let mut lines = got.step.lines();
            assert_eq!(lines.next(), Some("- step:"));
            for line in lines {
                let line = line.trim();
                assert!(plan.lines().any(|l| l.trim() == line), "{line:?}\n{plan}");
            }
            let backend = files.backend.unwrap();
            assert!(backend.ends_with(&got.backend), "{}", got.backend);
            assert!(got.backend.starts_with("terraform {"), "{}", got.backend);
            assert_eq!(got.custom_audiences.len(), audiences.len());
        }
    }

    #[test]
    fn the_default_step_init_suggests() {
        let got = snippets(&desired(&settings(&[]))).unwrap();
        assert_eq!(
            got.step,
            "- step:\n    oidc: true\n    script:\n      - export AWS_WEB_IDENTITY_TOKEN_FILE=/tmp/aws-web-identity-token\n      - printf '%s' \"$BITBUCKET_STEP_OIDC_TOKEN\" > \"$AWS_WEB_IDENTITY_TOKEN_FILE\"\n"
        );
    }

    #[test]
    fn an_unknown_name_is_an_error_not_an_empty_string() {
        let mut env = environment().unwrap();
        env.add_template("t", "a: {{ nope }}\n").unwrap();
        let e = render(&env, "t", &context! {}).unwrap_err();
        assert!(e.message.contains("undefined"), "{}", e.message);
        env.add_template("u", "{% if nope %}x{% endif %}\n")
            .unwrap();
        assert!(render(&env, "u", &context! {}).is_err());
    }

    #[test]
    fn tag_lines_leave_nothing_and_the_last_newline_stays() {
        let mut env = environment().unwrap();
        env.add_template("t", "a:\n{% if on %}\n  b: 1\n{% endif %}\nc: 2\n")
            .unwrap();
        let on = render(&env, "t", &context! { on => true }).unwrap();
        assert_eq!(on, "a:\n  b: 1\nc: 2\n");
        let off = render(&env, "t", &context! { on => false }).unwrap();
        assert_eq!(off, "a:\nc: 2\n");
    }

    #[test]
    fn every_template_parses() {
        let env = environment().unwrap();
        for (name, _) in TEMPLATES {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn yaml_and_hcl_strings_are_quoted() {
        assert_eq!(yaml_str("x: y #z"), "\"x: y #z\"");
        assert_eq!(yaml_str("a\"b"), "\"a\\\"b\"");
        assert_eq!(hcl_str("a\"b"), "\"a\\\"b\"");
        assert_eq!(hcl_str("${x}"), "\"$${x}\"");
    }
}
