//! Comparing a deployed template with a rendered one: the same document (so there is nothing
//! to do, without asking CloudFormation), or which resources and properties differ.

use serde::Serialize;
use serde_json::Value;

/// A template body as CloudFormation returns it (YAML or JSON), as JSON. `None` when it
/// cannot be read (e.g. YAML short-form tags such as `!Sub`): then it is simply different.
pub fn parse(body: &str) -> Option<Value> {
    serde_json::from_str(body)
        .ok()
        .or_else(|| serde_norway::from_str(body).ok())
}

/// Whether the deployed template is the rendered one: the same text, or the same document
/// apart from the `bootstrap-version` tags. That tag records the version that wrote the
/// stack; an upgrade alone does not update it (the tag follows the next real change). A
/// template of an earlier version that does not record its set (`Metadata.bootstrap.set`) is
/// the same too: CloudFormation does not update the Metadata section by itself ("you can
/// update it only when you include changes that add, modify, or delete resources", AWS
/// CloudFormation User Guide, Metadata), so the set is recorded with the next real change.
pub fn same(deployed_body: &str, rendered_body: &str, rendered: &Value) -> bool {
    deployed_body == rendered_body
        || parse(deployed_body).is_some_and(|d| {
            let mut r = without_version_tags(rendered);
            if d.pointer("/Metadata/bootstrap/set").is_none() {
                if let Some(b) = r
                    .pointer_mut("/Metadata/bootstrap")
                    .and_then(Value::as_object_mut)
                {
                    b.remove("set");
                }
            }
            without_version_tags(&d) == r
        })
}

/// The template with every resource's `bootstrap-version` tag left out.
fn without_version_tags(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(resources) = t.get_mut("Resources").and_then(Value::as_object_mut) {
        for r in resources.values_mut() {
            if let Some(tags) = r
                .pointer_mut("/Properties/Tags")
                .and_then(Value::as_array_mut)
            {
                tags.retain(|tag| tag["Key"] != crate::model::VERSION_TAG.0);
            }
        }
    }
    t
}

/// One resource of the template that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceDiff {
    pub logical_id: String,
    pub resource_type: String,
    /// `add`, `modify` or `remove`.
    pub action: String,
    /// What differs: `Properties.X`, `DeletionPolicy`, ...; for the template itself
    /// (logical id `(template)`), the top-level sections.
    pub fields: Vec<String>,
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn changed_fields(old: &Value, new: &Value) -> Vec<String> {
    let mut names: Vec<String> = keys(old);
    for k in keys(new) {
        if !names.contains(&k) {
            names.push(k);
        }
    }
    let mut out = Vec::new();
    for k in names {
        let (a, b) = (&old[&k], &new[&k]);
        if a == b {
            continue;
        }
        if k == "Properties" {
            let mut props = keys(a);
            for p in keys(b) {
                if !props.contains(&p) {
                    props.push(p);
                }
            }
            for p in props {
                if a[&p] != b[&p] {
                    out.push(format!("Properties.{p}"));
                }
            }
        } else {
            out.push(k);
        }
    }
    out
}

/// What differs between the deployed template (`None`: no stack yet) and the rendered one,
/// resource by resource, in the rendered template's order, removed resources last.
pub fn diff(deployed: Option<&Value>, rendered: &Value) -> Vec<ResourceDiff> {
    let empty = Value::Null;
    let old = deployed.unwrap_or(&empty);
    let mut out = Vec::new();
    let type_of = |r: &Value| r["Type"].as_str().unwrap_or("").to_string();
    if let Some(new_resources) = rendered["Resources"].as_object() {
        for (id, r) in new_resources {
            match old["Resources"].get(id) {
                None => out.push(ResourceDiff {
                    logical_id: id.clone(),
                    resource_type: type_of(r),
                    action: "add".into(),
                    fields: Vec::new(),
                }),
                Some(o) if o != r => out.push(ResourceDiff {
                    logical_id: id.clone(),
                    resource_type: type_of(r),
                    action: "modify".into(),
                    fields: changed_fields(o, r),
                }),
                Some(_) => {}
            }
        }
    }
    if let Some(old_resources) = old["Resources"].as_object() {
        for (id, r) in old_resources {
            if rendered["Resources"].get(id).is_none() {
                out.push(ResourceDiff {
                    logical_id: id.clone(),
                    resource_type: type_of(r),
                    action: "remove".into(),
                    fields: Vec::new(),
                });
            }
        }
    }
    if deployed.is_some() {
        let mut sections = keys(old);
        for k in keys(rendered) {
            if !sections.contains(&k) {
                sections.push(k);
            }
        }
        let fields: Vec<String> = sections
            .into_iter()
            .filter(|k| k != "Resources" && old[k] != rendered[k])
            .collect();
        if !fields.is_empty() {
            out.push(ResourceDiff {
                logical_id: "(template)".into(),
                resource_type: String::new(),
                action: "modify".into(),
                fields,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_and_json_bodies_compare_as_documents() {
        let v = json!({"Resources": {"A": {"Type": "T", "Properties": {"X": "1"}}}});
        let yaml = "# comment\nResources:\n  A:\n    Type: T\n    Properties:\n      X: \"1\"\n";
        assert!(same(yaml, "other text", &v));
        assert!(same(&v.to_string(), "other text", &v));
        assert!(!same("Resources: {}", "other text", &v));
        assert!(!same("Resources: !Sub x", "other text", &v));
    }

    #[test]
    fn an_upgrade_alone_is_not_a_change() {
        let tagged = |version: Option<&str>| {
            let mut tags = vec![json!({"Key": "managed-by", "Value": "bootstrap"})];
            if let Some(v) = version {
                tags.push(json!({"Key": "bootstrap-version", "Value": v}));
            }
            json!({"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {"Tags": tags}}}})
        };
        let rendered = tagged(Some("9.9.9"));
        for deployed in [tagged(Some("0.1.0")), tagged(None)] {
            assert!(same(&deployed.to_string(), "other text", &rendered));
        }
        let mut other = tagged(Some("0.1.0"));
        other["Resources"]["Role"]["Properties"]["Tags"][0]["Value"] = json!("someone");
        assert!(!same(&other.to_string(), "other text", &rendered));
    }

    #[test]
    fn diff_names_resources_and_properties() {
        let old = json!({
            "Description": "d",
            "Resources": {
                "A": {"Type": "T", "Properties": {"X": 1, "Y": 2}},
                "B": {"Type": "U"},
            }
        });
        let new = json!({
            "Description": "d2",
            "Resources": {
                "A": {"Type": "T", "DeletionPolicy": "Retain", "Properties": {"X": 1, "Y": 3, "Z": 4}},
                "C": {"Type": "V"},
            }
        });
        let d = diff(Some(&old), &new);
        let summary: Vec<(String, String, Vec<String>)> = d
            .into_iter()
            .map(|r| (r.logical_id, r.action, r.fields))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "A".into(),
                    "modify".into(),
                    vec![
                        "Properties.Y".into(),
                        "Properties.Z".into(),
                        "DeletionPolicy".into()
                    ]
                ),
                ("C".into(), "add".into(), vec![]),
                ("B".into(), "remove".into(), vec![]),
                (
                    "(template)".into(),
                    "modify".into(),
                    vec!["Description".into()]
                ),
            ]
        );
        assert!(diff(Some(&new), &new).is_empty());
        assert_eq!(diff(None, &new).len(), 2);
    }
}
