//! Whether a stack or StackSet is one `bootstrap` made: every template it deploys carries
//! `Metadata: bootstrap: template-version` (see `model::template`). A stack or StackSet whose
//! template lacks it belongs to someone else: `plan`, `init`, `status` and `destroy` refuse it
//! before any write, so it is left exactly as it is. A set is the unit of ownership: the
//! template records its set (`Metadata: bootstrap: set`), and a stack or StackSet of another
//! set is refused the same way. A template from a version that did not record the set is
//! accepted (the next `init` records it). No AWS calls.

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

/// Where a template records the set it belongs to, as shown to the user.
pub const SET_MARKER: &str = "Metadata.bootstrap.set";

/// The set a template (as a document) records, if any.
pub fn recorded_set(t: &Value) -> Option<&str> {
    t.pointer("/Metadata/bootstrap/set").and_then(Value::as_str)
}

/// Refuse a deployed template that records a set other than `ours`.
fn same_set(kind: &str, name: &str, template: Option<&str>, ours: &str, flag: &str) -> Result<()> {
    let Some(t) = template.and_then(compare::parse) else {
        return Ok(());
    };
    match recorded_set(&t) {
        Some(theirs) if theirs != ours => Err(Error::usage(format!(
            "{kind} {name} belongs to set {theirs} ({SET_MARKER}), and these settings are set {ours}: a set never changes or deletes another set's {kind}; it is left as it is"
        ))
        .resource(name.to_string())
        .hint(format!(
            "pass {flag} with a name of this set's own (each set needs its own {kind}), or set = \"{theirs}\" in bootstrap.toml if these settings really are that set's"
        ))),
        _ => Ok(()),
    }
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

/// Refuse the stack `name` unless its template carries the marker and, when it records a
/// set, records `ours`.
pub fn check_stack(name: &str, stack: &ObservedStack, ours: &str) -> Result<()> {
    let body = stack.template_body.as_deref();
    if !carries_marker(body) {
        return Err(not_ours("stack", name, "--stack-name"));
    }
    same_set("stack", name, body, ours, "--stack-name")
}

/// Refuse the StackSet `name` unless its template (`TemplateBody`) carries the marker and,
/// when it records a set, records `ours`.
pub fn check_stackset(name: &str, template_body: &str, ours: &str) -> Result<()> {
    if !carries_marker(Some(template_body)) {
        return Err(not_ours("StackSet", name, "--stackset"));
    }
    same_set("StackSet", name, Some(template_body), ours, "--stackset")
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
        let e = check_stackset("org", &foreign.to_string(), "a").unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(e
            .message
            .starts_with("StackSet org was not made by bootstrap"));
    }

    #[test]
    fn a_template_of_another_set_is_refused_one_without_a_set_accepted() {
        let of = |set: Option<&str>| {
            let mut t = json!({"Metadata": {"bootstrap": {"template-version": "1"}}});
            if let Some(s) = set {
                t["Metadata"]["bootstrap"]["set"] = json!(s);
            }
            t.to_string()
        };
        assert!(check_stackset("s", &of(Some("team-a")), "team-a").is_ok());
        assert!(check_stackset("s", &of(None), "team-b").is_ok());
        let e = check_stackset("s", &of(Some("team-a")), "team-b").unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(e.message.contains("belongs to set team-a"), "{}", e.message);
        assert!(e.message.contains("set team-b"), "{}", e.message);
    }
}
