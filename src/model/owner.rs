//! Who a live role belongs to, beyond the `managed-by` tag: a set (`bootstrap-set`) or a
//! CloudFormation stack. A command of one set never writes, adopts, prunes or destroys a role
//! of another set, nor, in direct mode, one a stack owns, whatever its other tags say.

use std::collections::BTreeMap;

use super::{SET_TAG, STACK_TAG};

/// The stack-level tags CloudFormation puts on the resources of a stack (CloudFormation
/// User Guide, "Resource tag": `aws:cloudformation:stack-name`, `stack-id`, `logical-id`).
/// CloudFormation does not put them on IAM roles (cloudformation-coverage-roadmap #277,
/// #1159, #1966), so a role of bootstrap's own stack is known by [`STACK_TAG`], which the
/// template sets; these still mark the resources of stacks that do carry them.
pub const STACK_TAGS: [&str; 2] = [
    "aws:cloudformation:stack-name",
    "aws:cloudformation:stack-id",
];

/// Who else owns a role with these tags, when it is not this set's: another set, or a
/// CloudFormation stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A stack, by name, and the tag that names it.
    Stack {
        name: String,
        tag: &'static str,
    },
    Set(String),
}

impl Owner {
    /// Why the role is not this set's, for a message: "... belongs to ...".
    pub fn describe(&self, set: &str) -> String {
        match self {
            Owner::Stack { name, tag } => {
                format!("it belongs to the CloudFormation stack {name} (tag {tag})")
            }
            Owner::Set(other) => format!(
                "it belongs to another set (tag {SET_TAG}={other}); these settings are {SET_TAG}={set}"
            ),
        }
    }

    /// What to do instead.
    pub fn hint(&self) -> String {
        match self {
            // A StackSet's instance is named StackSet-<StackSet name>-<id>.
            Owner::Stack { name, .. } if name.starts_with("StackSet-") => format!(
                "change or remove it through its StackSet: --mode cloudformation --stackset <name> (the instance is {name}); direct mode never touches a stack's role"
            ),
            Owner::Stack { name, .. } => format!(
                "change or remove it through its stack: --mode cloudformation --stack-name {name}; direct mode never touches a stack's role"
            ),
            Owner::Set(_) => "act on it from the configuration of its own set (set = \"...\" in that bootstrap.toml), or give this role another name".into(),
        }
    }
}

/// The stack that owns a role tagged `tags`: by bootstrap's [`STACK_TAG`], or by
/// CloudFormation's own `aws:cloudformation:*` tags where a stack carries them.
pub fn stack_owner(tags: &BTreeMap<String, String>) -> Option<Owner> {
    std::iter::once(STACK_TAG)
        .chain(STACK_TAGS)
        .find_map(|tag| {
            tags.get(tag).map(|name| Owner::Stack {
                name: name.clone(),
                tag,
            })
        })
}

/// The owner of a role tagged `tags` when it is not the set `set`: a stack (see
/// [`stack_owner`]), or another set (by `bootstrap-set`). None for this set's roles and for
/// roles of no set.
pub fn foreign_owner(tags: &BTreeMap<String, String>, set: &str) -> Option<Owner> {
    if let Some(stack) = stack_owner(tags) {
        return Some(stack);
    }
    match tags.get(SET_TAG) {
        Some(other) if other != set => Some(Owner::Set(other.clone())),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tag map from pairs, for tests.
    pub(crate) fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn stack(name: &str, tag: &'static str) -> Option<Owner> {
        Some(Owner::Stack {
            name: name.into(),
            tag,
        })
    }

    #[test]
    fn another_set_or_a_stack_owns_the_role_whatever_managed_by_says() {
        assert_eq!(foreign_owner(&tags(&[]), "a"), None);
        assert_eq!(foreign_owner(&tags(&[(SET_TAG, "a")]), "a"), None);
        let edited = tags(&[(SET_TAG, "b"), ("managed-by", "terraform")]);
        assert_eq!(foreign_owner(&edited, "a"), Some(Owner::Set("b".into())));
        let aws = tags(&[(SET_TAG, "a"), ("aws:cloudformation:stack-name", "boot")]);
        assert_eq!(
            foreign_owner(&aws, "a"),
            stack("boot", "aws:cloudformation:stack-name")
        );
    }

    #[test]
    fn the_template_s_own_tag_marks_a_stack_s_role_in_every_set() {
        let ours = tags(&[(SET_TAG, "a"), (STACK_TAG, "boot")]);
        for set in ["a", "b", ""] {
            assert_eq!(foreign_owner(&ours, set), stack("boot", STACK_TAG));
        }
        let owner = stack_owner(&ours).unwrap();
        assert_eq!(
            owner.describe("a"),
            "it belongs to the CloudFormation stack boot (tag bootstrap-stack)"
        );
        assert!(owner
            .hint()
            .contains("--mode cloudformation --stack-name boot"));
        let instance = tags(&[(STACK_TAG, "StackSet-org-0f1e2d3c")]);
        let hint = stack_owner(&instance).unwrap().hint();
        assert!(hint.contains("--stackset <name> (the instance is StackSet-org-0f1e2d3c)"));
    }
}
