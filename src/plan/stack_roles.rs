//! The roles a stack update would take away: a role of the deployed template that the rendered
//! one no longer has is deleted with the update, and a role whose logical id changes is
//! created anew before the old one goes, which fails on its taken name. `init` refuses both
//! before anything is changed. No AWS calls.

use serde_json::Value;

use super::compare;
use crate::error::{Error, Result};
use crate::observe::stack::ObservedStack;

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

/// Refuse an update of stack `stack` (deployed as `deployed`) to `rendered` that would
/// delete a role of the stack, or move one to another logical id.
pub fn refuse_role_losses(
    stack: &str,
    deployed: Option<&ObservedStack>,
    rendered: &Value,
) -> Result<()> {
    let Some(old) = deployed
        .and_then(|d| d.template_body.as_deref())
        .and_then(compare::parse)
    else {
        return Ok(());
    };
    let new = roles(rendered);
    let mut dropped = Vec::new();
    let mut moved = Vec::new();
    for (old_id, name) in roles(&old) {
        match new.iter().find(|(_, n)| *n == name) {
            None => dropped.push(name),
            Some((new_id, _)) if *new_id != old_id => moved.push((name, old_id, new_id.clone())),
            Some(_) => {}
        }
    }
    if let Some(first) = dropped.first() {
        let one = dropped.len() == 1;
        return Err(Error::usage(format!(
            "the stack holds the role{} {}, which these settings no longer have; the update would delete {}",
            if one { "" } else { "s" },
            dropped.join(", "),
            if one { "it" } else { "them" },
        ))
        .resource(stack.to_string())
        .hint(format!(
            "add it back to the configuration, or remove it on purpose first with bootstrap destroy --role {first}"
        )));
    }
    if let Some((name, old_id, new_id)) = moved.first() {
        return Err(Error::usage(format!(
            "role {name} is {old_id} in the stack and would become {new_id}; CloudFormation would create it anew before deleting the old one, and fail on the name it already has"
        ))
        .resource(stack.to_string())
        .hint(format!(
            "keep the stack's roles as they are, or take the role out of the stack first (bootstrap destroy --role {name}) and run init again"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::stack::Failures;
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

    fn stack(t: &Value) -> ObservedStack {
        ObservedStack {
            stack_id: "id".into(),
            status: "CREATE_COMPLETE".into(),
            status_reason: None,
            termination_protection: true,
            parameters: Default::default(),
            outputs: Default::default(),
            template_body: Some(t.to_string()),
            failures: Failures::default(),
        }
    }

    #[test]
    fn an_update_may_add_roles_but_not_drop_or_move_one() {
        let two = template(&[("DeployRoleA", "a"), ("DeployRoleB", "b")]);
        let three = template(&[
            ("DeployRoleA", "a"),
            ("DeployRoleB", "b"),
            ("DeployRoleC", "c"),
        ]);
        assert!(refuse_role_losses("s", None, &two).is_ok());
        assert!(refuse_role_losses("s", Some(&stack(&two)), &three).is_ok());
        assert!(refuse_role_losses("s", Some(&stack(&two)), &two).is_ok());

        let e = refuse_role_losses(
            "s",
            Some(&stack(&three)),
            &template(&[("DeployRoleB", "b")]),
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(
            e.message.contains("holds the roles a, c, which"),
            "{}",
            e.message
        );

        let one = template(&[("DeployRole", "a")]);
        let e = refuse_role_losses("s", Some(&stack(&one)), &two).unwrap_err();
        assert!(
            e.message
                .contains("role a is DeployRole in the stack and would become DeployRoleA"),
            "{}",
            e.message
        );
    }
}
