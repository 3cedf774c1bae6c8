//! Who a live role belongs to, beyond the `managed-by` tag: a set (`bootstrap-set`) or a
//! CloudFormation stack. A command of one set never writes, adopts, prunes or destroys a role
//! of another set, nor, in direct mode, one a stack owns, whatever its other tags say.

use std::collections::BTreeMap;

use super::SET_TAG;

/// The stack-level tags CloudFormation puts on the resources of a stack (CloudFormation
/// User Guide, "Resource tag": `aws:cloudformation:stack-name`, `stack-id`, `logical-id`).
pub const STACK_TAGS: [&str; 2] = [
    "aws:cloudformation:stack-name",
    "aws:cloudformation:stack-id",
];

/// Who else owns a role with these tags, when it is not this set's: another set, or a
/// CloudFormation stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Stack(String),
    Set(String),
}

impl Owner {
    /// Why the role is not this set's, for a message: "... belongs to ...".
    pub fn describe(&self, set: &str) -> String {
        match self {
            Owner::Stack(stack) => format!(
                "it belongs to the CloudFormation stack {stack} (tag aws:cloudformation:stack-name)"
            ),
            Owner::Set(other) => format!(
                "it belongs to another set (tag {SET_TAG}={other}); these settings are {SET_TAG}={set}"
            ),
        }
    }

    /// What to do instead.
    pub fn hint(&self) -> &'static str {
        match self {
            Owner::Stack(_) => "change or remove it through its stack (--mode cloudformation with that stack's --stack-name); direct mode never touches a stack's role",
            Owner::Set(_) => "act on it from the configuration of its own set (set = \"...\" in that bootstrap.toml), or give this role another name",
        }
    }
}

/// The owner of a role tagged `tags` when it is not the set `set`: a stack (by its
/// `aws:cloudformation:*` tags), or another set (by `bootstrap-set`). None for this set's
/// roles and for roles of no set.
pub fn foreign_owner(tags: &BTreeMap<String, String>, set: &str) -> Option<Owner> {
    if let Some(stack) = STACK_TAGS.iter().find_map(|k| tags.get(*k)) {
        return Some(Owner::Stack(stack.clone()));
    }
    match tags.get(SET_TAG) {
        Some(other) if other != set => Some(Owner::Set(other.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn another_set_or_a_stack_owns_the_role_whatever_managed_by_says() {
        assert_eq!(foreign_owner(&tags(&[]), "a"), None);
        assert_eq!(foreign_owner(&tags(&[(SET_TAG, "a")]), "a"), None);
        let edited = tags(&[(SET_TAG, "b"), ("managed-by", "terraform")]);
        assert_eq!(foreign_owner(&edited, "a"), Some(Owner::Set("b".into())));
        let stack = tags(&[(SET_TAG, "a"), ("aws:cloudformation:stack-name", "boot")]);
        assert_eq!(
            foreign_owner(&stack, "a"),
            Some(Owner::Stack("boot".into()))
        );
    }
}
