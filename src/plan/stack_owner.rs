//! Whether a stack or StackSet is one `bootstrap` made: every template it deploys carries
//! `Metadata: bootstrap: template-version` (see `model::template`). A stack or StackSet whose
//! template lacks it belongs to someone else: `plan`, `init`, `status` and `destroy` refuse it
//! before any write, so it is left exactly as it is. No AWS calls.

use serde_json::Value;

use super::compare;
use crate::error::{Error, Result};
use crate::observe::stack::ObservedStack;

/// What marks a template as `bootstrap`'s, as shown to the user.
pub const MARKER: &str = "Metadata.bootstrap.template-version";

/// Whether `template` (a deployed template body) carries this tool's marker.
pub fn carries_marker(template: Option<&str>) -> bool {
    template
        .and_then(compare::parse)
        .is_some_and(|t| marked(&t))
}

fn marked(t: &Value) -> bool {
    t.pointer("/Metadata/bootstrap/template-version")
        .is_some_and(|v| v.is_string() || v.is_number())
}

fn not_ours(kind: &str, name: &str, flag: &str) -> Error {
    Error::usage(format!(
        "{kind} {name} was not made by bootstrap: its template has no {MARKER}, which every template bootstrap deploys carries; it is left as it is"
    ))
    .resource(name.to_string())
    .hint(format!(
        "pass {flag} with the name of a {kind} bootstrap made, or a name no {kind} has yet"
    ))
}

/// Refuse the stack `name` unless its template carries the marker.
pub fn check_stack(name: &str, stack: &ObservedStack) -> Result<()> {
    if carries_marker(stack.template_body.as_deref()) {
        return Ok(());
    }
    Err(not_ours("stack", name, "--stack-name"))
}

/// Refuse the StackSet `name` unless its template (`TemplateBody`) carries the marker.
pub fn check_stackset(name: &str, template_body: &str) -> Result<()> {
    if carries_marker(Some(template_body)) {
        return Ok(());
    }
    Err(not_ours("StackSet", name, "--stackset"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_template_with_the_marker_is_ours() {
        let ours = json!({"Metadata": {"bootstrap": {"template-version": "1"}}, "Resources": {}});
        assert!(carries_marker(Some(&ours.to_string())));
        assert!(carries_marker(Some(
            "Metadata:\n  bootstrap:\n    template-version: \"1\"\nResources: {}\n"
        )));
        let foreign = json!({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}});
        assert!(!carries_marker(Some(&foreign.to_string())));
        let only_description =
            json!({"Description": "x (bootstrap)", "Metadata": {"bootstrap": {}}});
        assert!(!carries_marker(Some(&only_description.to_string())));
        assert!(!carries_marker(Some("Resources: !Sub x")));
        assert!(!carries_marker(None));
        let e = check_stackset("org", &foreign.to_string()).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(e
            .message
            .starts_with("StackSet org was not made by bootstrap"));
    }
}
