//! A role whose state prefix changes: the state Terraform wrote under the old prefix is not
//! moved by bootstrap, so the plan says where it was and where the role will look for it.
//! The old prefix is read from what grants it: the live role's state policy (direct mode) or
//! the deployed stack's template (CloudFormation mode).

use serde_json::Value;

use crate::iam::{as_strings, statements_of};
use crate::model::template::BUCKET_ID;
use crate::model::{arn, state, DesiredRole, DesiredState};
use crate::observe::stack::ObservedStack;
use crate::observe::Observed;

/// The Sids of the state-reading statement of an `apply` and a `plan` role's policy.
const STATE_SIDS: [&str; 2] = ["ReadWriteState", "ReadState"];

/// The prefix an object ARN pattern `<bucket>/<prefix>/*` (or, in a template,
/// `${StateBucket.Arn}/<prefix>/*`) names; `Some("")` for the whole bucket.
fn prefix_of(resource: &Value, bucket_arn: &str) -> Option<String> {
    let (text, head) = match resource {
        Value::Object(m) => (
            m.get("Fn::Sub")?.as_str()?,
            format!("${{{BUCKET_ID}.Arn}}/"),
        ),
        other => (*as_strings(other).first()?, format!("{bucket_arn}/")),
    };
    let prefix = text.strip_prefix(&head)?.strip_suffix('*')?;
    Some(prefix.trim_end_matches('/').to_string())
}

/// The prefix the state policy `doc` grants in `bucket_arn`, if it grants one there.
fn policy_prefix(doc: &Value, bucket_arn: &str) -> Option<String> {
    let statements = statements_of(doc);
    let st = statements
        .iter()
        .find(|s| STATE_SIDS.contains(&s["Sid"].as_str().unwrap_or_default()))?;
    let resource = st.get("Resource")?;
    match resource {
        Value::Array(a) => prefix_of(a.first()?, bucket_arn),
        one => prefix_of(one, bucket_arn),
    }
}

/// The warning for `role` when its state was under `old`.
fn moved(d: &DesiredState, role: &DesiredRole, old: &str) -> Option<String> {
    let prefix = role.state_key_prefix.as_deref()?;
    if arn::objects(&d.bucket.arn, old) == arn::objects(&d.bucket.arn, prefix) {
        return None;
    }
    let bucket = &d.bucket.name;
    let (from, to) = (state::state_key(old), state::state_key(prefix));
    Some(format!(
        "role {}: its Terraform state moves from s3://{bucket}/{from} to s3://{bucket}/{to}; bootstrap moves no state object: copy it (`aws s3 cp s3://{bucket}/{from} s3://{bucket}/{to}`, and the workspaces under s3://{bucket}/{}/) before the role's next run, or keep the old place with state-key-prefix = {old:?} in its [[role]] table",
        role.name,
        state::workspace_key_prefix(old),
    ))
}

/// One warning per existing role whose state moves to another prefix (direct mode).
pub fn warnings(d: &DesiredState, o: &Observed) -> Vec<String> {
    d.roles
        .iter()
        .zip(&o.roles)
        .filter_map(|(role, found)| {
            let doc = found.as_ref()?.inline_policy.as_ref()?;
            moved(d, role, &policy_prefix(doc, &d.bucket.arn)?)
        })
        .collect()
}

/// The same, for the roles of the deployed stack (CloudFormation mode): the prefix its
/// template grants each role, by role name.
pub fn in_stack(d: &DesiredState, deployed: Option<&ObservedStack>) -> Vec<String> {
    let Some(template) = deployed
        .and_then(|s| s.template_body.as_deref())
        .and_then(super::compare::parse)
    else {
        return Vec::new();
    };
    let resources = template["Resources"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    d.roles
        .iter()
        .filter_map(|role| {
            let props = resources
                .values()
                .find(|r| {
                    r["Type"] == "AWS::IAM::Role"
                        && r["Properties"]["RoleName"] == role.name.as_str()
                })
                .map(|r| &r["Properties"])?;
            let old = props["Policies"]
                .as_array()?
                .iter()
                .find_map(|p| policy_prefix(&p["PolicyDocument"], &d.bucket.arn))?;
            moved(d, role, &old)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_old_prefix_is_read_from_the_state_statement() {
        let b = "arn:aws:s3:::bkt";
        let doc = |r: Value| json!({"Statement": [{"Sid": "ReadWriteState", "Resource": r}]});
        let read = |r: Value| policy_prefix(&doc(r), b);
        assert_eq!(read(json!("arn:aws:s3:::bkt/*")).as_deref(), Some(""));
        assert_eq!(
            read(json!("arn:aws:s3:::bkt/a/b/*")).as_deref(),
            Some("a/b")
        );
        assert_eq!(read(json!("arn:aws:s3:::other/*")), None);
        let sub = |s: &str| json!({ "Fn::Sub": s });
        assert_eq!(read(sub("${StateBucket.Arn}/*")).as_deref(), Some(""));
        assert_eq!(
            read(sub("${StateBucket.Arn}/infra/*")).as_deref(),
            Some("infra")
        );
        let plan = json!({"Statement": [{"Sid": "ReadState", "Resource": "arn:aws:s3:::bkt/x/*"}]});
        assert_eq!(policy_prefix(&plan, b).as_deref(), Some("x"));
    }
}
