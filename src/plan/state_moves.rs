//! A role whose state prefix changes: the state Terraform wrote under the old prefix is not
//! moved by bootstrap, so the plan says where it was and where the role will look for it.

use serde_json::Value;

use crate::iam::{as_strings, statements_of};
use crate::model::{arn, state, DesiredState};
use crate::observe::Observed;

/// The Sids of the state-reading statement of an `apply` and a `plan` role's policy.
const STATE_SIDS: [&str; 2] = ["ReadWriteState", "ReadState"];

/// The prefix the live state policy `doc` grants in `bucket_arn`: `Some("")` for the whole
/// bucket, `None` when it grants none there.
fn live_prefix(doc: &Value, bucket_arn: &str) -> Option<String> {
    let statements = statements_of(doc);
    let st = statements
        .iter()
        .find(|s| STATE_SIDS.contains(&s["Sid"].as_str().unwrap_or_default()))?;
    let resources = st.get("Resource").map(as_strings).unwrap_or_default();
    let rest = resources.first()?.strip_prefix(&format!("{bucket_arn}/"))?;
    let prefix = rest.strip_suffix('*')?;
    Some(prefix.trim_end_matches('/').to_string())
}

/// One warning per existing role whose state moves to another prefix.
pub fn warnings(d: &DesiredState, o: &Observed) -> Vec<String> {
    let bucket = &d.bucket.name;
    let mut out = Vec::new();
    for (role, found) in d.roles.iter().zip(&o.roles) {
        let (Some(prefix), Some(doc)) = (
            role.state_key_prefix.as_deref(),
            found.as_ref().and_then(|f| f.inline_policy.as_ref()),
        ) else {
            continue;
        };
        let Some(old) = live_prefix(doc, &d.bucket.arn) else {
            continue;
        };
        if old == prefix || arn::objects(&d.bucket.arn, &old) == arn::objects(&d.bucket.arn, prefix)
        {
            continue;
        }
        let (from, to) = (state::state_key(&old), state::state_key(prefix));
        out.push(format!(
            "role {}: its Terraform state moves from s3://{bucket}/{from} to s3://{bucket}/{to}; bootstrap moves no state object: copy it (`aws s3 cp s3://{bucket}/{from} s3://{bucket}/{to}`, and the workspaces under s3://{bucket}/{}/) before the role's next run, or keep the old place with state-key-prefix = {old:?} in its [[role]] table",
            role.name,
            state::workspace_key_prefix(&old),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_live_prefix_is_read_from_the_state_statement() {
        let b = "arn:aws:s3:::bkt";
        let doc = |r: &str| json!({"Statement": [{"Sid": "ReadWriteState", "Resource": r}]});
        assert_eq!(
            live_prefix(&doc("arn:aws:s3:::bkt/*"), b).as_deref(),
            Some("")
        );
        assert_eq!(
            live_prefix(&doc("arn:aws:s3:::bkt/a/b/*"), b).as_deref(),
            Some("a/b")
        );
        assert_eq!(live_prefix(&doc("arn:aws:s3:::other/*"), b), None);
        let plan = json!({"Statement": [{"Sid": "ReadState", "Resource": "arn:aws:s3:::bkt/x/*"}]});
        assert_eq!(live_prefix(&plan, b).as_deref(), Some("x"));
    }
}
