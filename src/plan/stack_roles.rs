//! The roles a stack update would take away: a role of the deployed template that the rendered
//! one no longer has is deleted with the update, and a role whose logical id changes is
//! created anew before the old one goes, which fails on its taken name. `init` refuses both
//! before anything is changed. No AWS calls.

use serde_json::Value;

use super::compare;
use super::stack::{StackPlan, StackSpec};
use super::stack_notes::StackNote;
use crate::error::{Error, Result};
use crate::observe::stack::ObservedStack;

/// How `init` runs the update that deletes the stack's roles no longer configured.
const INIT_CFN: &str = "bootstrap init --mode cloudformation";

/// The stack as it is (`deployed`), and what `init` would do to it. An update that would move
/// one of the stack's roles to another logical id is refused; one that deletes roles the
/// settings no longer have is shown (a note) and, unless `prune` allows it, refused.
pub fn checked_stack_plan(
    spec: &StackSpec,
    deployed: Option<ObservedStack>,
    prune: bool,
) -> Result<StackPlan> {
    let mut sp = super::stack::plan(spec, deployed)?;
    if !sp.creates() {
        let deployed = sp
            .deployed
            .as_ref()
            .and_then(|d| d.template_body.as_deref());
        let losses = role_losses(deployed, &spec.template);
        refuse_role_losses("stack", &spec.name, &losses, prune, INIT_CFN)?;
        sp.notes.extend(dropped_note(&losses));
    }
    Ok(sp)
}

/// `(logical id, RoleName)` of every `AWS::IAM::Role` of `template`.
fn roles(template: &Value) -> Vec<(String, String)> {
    let Some(resources) = template["Resources"].as_object() else {
        return Vec::new();
    };
    resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::IAM::Role")
        .filter_map(|(id, r)| {
            let name = r["Properties"]["RoleName"].as_str()?;
            Some((id.clone(), name.to_string()))
        })
        .collect()
}

/// The roles an update from `deployed` (a template body) to `rendered` takes away.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleLosses {
    /// Roles the rendered template no longer has: deleted with the update.
    pub dropped: Vec<String>,
    /// `(name, old logical id, new logical id)`: roles that would move to another id.
    pub moved: Vec<(String, String, String)>,
}

/// What an update of a stack or StackSet whose template is `deployed` to `rendered` would
/// take away (nothing when there is no deployed template).
pub fn role_losses(deployed: Option<&str>, rendered: &Value) -> RoleLosses {
    let mut losses = RoleLosses::default();
    let Some(old) = deployed.and_then(compare::parse) else {
        return losses;
    };
    let new = roles(rendered);
    for (old_id, name) in roles(&old) {
        match new.iter().find(|(_, n)| *n == name) {
            None => losses.dropped.push(name),
            Some((new_id, _)) if *new_id != old_id => {
                losses.moved.push((name, old_id, new_id.clone()));
            }
            Some(_) => {}
        }
    }
    losses
}

/// Refuse an update of the `what` (`stack`, `StackSet`) `name` that would move a role to
/// another logical id (CloudFormation cannot), or delete roles without `prune`. `again` is
/// the command that runs the update (`bootstrap init --mode cloudformation`).
pub fn refuse_role_losses(
    what: &str,
    name: &str,
    losses: &RoleLosses,
    prune: bool,
    again: &str,
) -> Result<()> {
    if let Some((role, old_id, new_id)) = losses.moved.first() {
        return Err(Error::usage(format!(
            "role {role} is {old_id} in the {what} and would become {new_id}; CloudFormation would create it anew before deleting the old one, and fail on the name it already has"
        ))
        .resource(name.to_string())
        .hint(format!(
            "keep the roles the {what} has, or give role {role} a new name (name in its [[role]] table, or --role-name) and run `{again} --prune`, which replaces it"
        )));
    }
    if losses.dropped.is_empty() || prune {
        return Ok(());
    }
    let one = losses.dropped.len() == 1;
    Err(Error::usage(format!(
        "the {what} holds the role{} {}, which these settings no longer have; the update would delete {}",
        if one { "" } else { "s" },
        losses.dropped.join(", "),
        if one { "it" } else { "them" },
    ))
    .resource(name.to_string())
    .hint(format!(
        "add it back to the configuration, or delete {} with the update: `{again} --prune` (review `bootstrap plan` with the same flags first)",
        if one { "it" } else { "them" }
    )))
}

/// The note a plan shows for roles the update deletes.
pub fn dropped_note(losses: &RoleLosses) -> Option<StackNote> {
    (!losses.dropped.is_empty()).then(|| StackNote::DropsRoles(losses.dropped.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(roles: &[(&str, &str)]) -> Value {
        let mut resources = serde_json::Map::new();
        resources.insert("StateBucket".into(), json!({"Type": "AWS::S3::Bucket"}));
        for (id, name) in roles {
            resources.insert(
                (*id).to_string(),
                json!({"Type": "AWS::IAM::Role", "Properties": {"RoleName": name}}),
            );
        }
        json!({ "Resources": resources })
    }

    #[test]
    fn an_update_may_add_roles_drop_them_with_prune_but_never_move_one() {
        let two = template(&[("DeployRoleA", "a"), ("DeployRoleB", "b")]);
        let three = template(&[
            ("DeployRoleA", "a"),
            ("DeployRoleB", "b"),
            ("DeployRoleC", "c"),
        ]);
        let losses = |from: &Value, to: &Value| role_losses(Some(&from.to_string()), to);
        let refuse =
            |l: &RoleLosses, prune: bool| refuse_role_losses("stack", "s", l, prune, "init");
        assert_eq!(role_losses(None, &two), RoleLosses::default());
        assert!(refuse(&losses(&two, &three), false).is_ok());
        assert!(refuse(&losses(&two, &two), false).is_ok());

        let dropped = losses(&three, &template(&[("DeployRoleB", "b")]));
        assert_eq!(dropped.dropped, ["a", "c"]);
        let e = refuse(&dropped, false).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(
            e.message.contains("holds the roles a, c, which"),
            "{}",
            e.message
        );
        assert!(e.hint.as_deref().unwrap().contains("`init --prune`"));
        assert!(refuse(&dropped, true).is_ok());
        assert!(dropped_note(&dropped)
            .unwrap()
            .to_string()
            .contains("roles a, c"));

        // A one-role stack whose role is renamed: the old one is dropped, the id stays.
        let renamed = losses(&stack_one("old"), &stack_one("new"));
        assert_eq!(renamed.dropped, ["old"]);
        assert!(renamed.moved.is_empty());

        let one = template(&[("DeployRole", "a")]);
        let e = refuse(&losses(&one, &two), true).unwrap_err();
        assert!(
            e.message
                .contains("role a is DeployRole in the stack and would become DeployRoleA"),
            "{}",
            e.message
        );
        assert!(e.hint.as_deref().unwrap().contains("a new name"));
    }

    fn stack_one(name: &str) -> Value {
        template(&[("DeployRole", name)])
    }
}
