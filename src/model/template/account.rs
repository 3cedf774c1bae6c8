//! The account a template is rendered for: placeholders for id, partition and region that
//! no validated input can contain. A template's desired state is built once, for this
//! account; [`in_account`] turns it into the desired state of one real account (the names
//! and ARNs the stack's resources get there), with no second build.

use crate::model::namespace::{self, Namespace};
use crate::model::{
    Account, DesiredBucket, DesiredProvider, DesiredRole, DesiredState, DesiredTable,
};
use serde_json::Value;

// Placeholders for the account: control characters, which no validated input can contain.
const ACCOUNT: &str = "\u{1a}AWS::AccountId\u{1a}";
const PARTITION: &str = "\u{1a}AWS::Partition\u{1a}";
const REGION: &str = "\u{1a}AWS::Region\u{1a}";
/// The default bucket's name where the template decides it per account and region: in the
/// account regional namespace where the region has one, else the global default name
/// (`${StateBucket}` in the template, [`namespace::default_name`] in an account).
pub(super) const DEFAULT_BUCKET: &str = "\u{1a}StateBucket\u{1a}";

/// The account every template is rendered for: placeholders for id, partition and region.
pub fn symbolic_account() -> Account {
    Account {
        id: ACCOUNT.into(),
        partition: PARTITION.into(),
        region: REGION.into(),
    }
}

/// Whether `s` holds an account placeholder.
pub(super) fn is_symbolic(s: &str) -> bool {
    s.contains('\u{1a}')
}

/// A value of the symbolic desired state as a person reads it (`${AWS::AccountId}`).
pub(super) fn readable(s: &str) -> String {
    s.replace(DEFAULT_BUCKET, "${StateBucket}")
        .replace(ACCOUNT, "${AWS::AccountId}")
        .replace(PARTITION, "${AWS::Partition}")
        .replace(REGION, "${AWS::Region}")
}

/// A string of the symbolic desired state with `account`'s id, partition and region.
fn resolve(s: &str, account: &Account) -> String {
    s.replace(DEFAULT_BUCKET, &namespace::default_name(account))
        .replace(ACCOUNT, &account.id)
        .replace(PARTITION, &account.partition)
        .replace(REGION, &account.region)
}

fn map_value(v: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match v {
        Value::String(s) => Value::String(f(s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| map_value(x, f)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), map_value(x, f)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The desired state of `account`, from the symbolic one a template is built from: what
/// [`crate::model::desired`] gives for that account.
pub fn in_account(d: &DesiredState, account: &Account) -> DesiredState {
    let mut r = map_strings(d, &|v| resolve(v, account));
    r.account = account.clone();
    if d.bucket.name == DEFAULT_BUCKET {
        let unavailable = namespace::unavailable(account);
        r.bucket.namespace = if unavailable.is_some() {
            Namespace::Global
        } else {
            Namespace::AccountRegional
        };
        r.bucket.global_default = unavailable
            .is_none()
            .then(|| namespace::global_default(account));
        r.bucket.namespace_note = unavailable;
    }
    r
}

/// The symbolic desired state of a new setup's default bucket: named per account and region
/// by the template ([`DEFAULT_BUCKET`]) instead of the global default name.
pub(super) fn with_regional_default(d: &DesiredState) -> DesiredState {
    let global = namespace::global_default(&d.account);
    let mut r = map_strings(d, &|v| v.replace(&global, DEFAULT_BUCKET));
    r.bucket.namespace = Namespace::AccountRegional;
    r.bucket.namespace_note = None;
    r
}

/// `d` with `f` applied to every string that may hold the account or the bucket's name.
fn map_strings(d: &DesiredState, f: &dyn Fn(&str) -> String) -> DesiredState {
    let s = |v: &str| f(v);
    let v = |x: &Value| map_value(x, f);
    let p = &d.provider;
    let b = &d.bucket;
    DesiredState {
        account: d.account.clone(),
        issuer_url: d.issuer_url.clone(),
        issuer_host_path: d.issuer_host_path.clone(),
        provider: DesiredProvider {
            url: p.url.clone(),
            arn: s(&p.arn),
            client_ids: p.client_ids.clone(),
            thumbprints: p.thumbprints.clone(),
            tags: p.tags.clone(),
        },
        roles: d
            .roles
            .iter()
            .map(|r| DesiredRole {
                arn: s(&r.arn),
                trust_policy: v(&r.trust_policy),
                inline_policy: v(&r.inline_policy),
                managed_policies: r.managed_policies.iter().map(|m| s(m)).collect(),
                ..r.clone()
            })
            .collect(),
        set: d.set.clone(),
        bucket: DesiredBucket {
            name: s(&b.name),
            arn: s(&b.arn),
            region: s(&b.region),
            kms_key: b.kms_key.as_deref().map(s),
            allow_encryption_downgrade: b.allow_encryption_downgrade,
            noncurrent_days: b.noncurrent_days,
            namespace: b.namespace,
            namespace_note: b.namespace_note.as_deref().map(s),
            global_default: b.global_default.as_deref().map(s),
            policy_statements: b.policy_statements.iter().map(v).collect(),
            tags: b.tags.clone(),
        },
        table: d.table.as_ref().map(|t| DesiredTable {
            name: t.name.clone(),
            arn: s(&t.arn),
            tags: t.tags.clone(),
        }),
        state_key_prefix: d.state_key_prefix.clone(),
        warnings: d.warnings.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Inputs, Settings};
    use crate::model;

    fn settings(kms_key: Option<&str>, state_bucket: Option<&str>) -> Settings {
        Settings::from_inputs(Inputs {
            workspace: Some("acme".into()),
            workspace_uuid: Some("6a3f1c2e-1111-4c9d-9a8b-0123456789ab".into()),
            repository_uuid: vec!["{0f6b3c1d-2222-4e5f-8a9b-abcdefabcdef}".into()],
            kms_key: kms_key.map(str::to_string),
            state_bucket: state_bucket.map(str::to_string),
            state_key_prefix: Some("platform/prod".into()),
            ..Default::default()
        })
        .unwrap()
    }

    fn accounts() -> Vec<Account> {
        [
            ("aws", "eu-west-1"),
            ("aws", "me-south-1"),
            ("aws", "me-central-1"),
            ("aws-cn", "cn-north-1"),
            ("aws-us-gov", "us-gov-west-1"),
        ]
        .into_iter()
        .map(|(partition, region)| Account {
            id: "123456789012".into(),
            partition: partition.into(),
            region: region.into(),
        })
        .collect()
    }

    #[test]
    fn the_symbolic_state_in_an_account_is_that_accounts_desired_state() {
        let thumbprints = ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280".to_string()];
        for account in accounts() {
            for s in [
                settings(None, None),
                settings(
                    Some("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"),
                    Some("acme-state"),
                ),
            ] {
                let symbolic = model::desired(&s, &symbolic_account(), &thumbprints, &[]).unwrap();
                let symbolic = if s.state.bucket.is_none() {
                    with_regional_default(&symbolic)
                } else {
                    symbolic
                };
                let direct = model::desired(&s, &account, &thumbprints, &[]).unwrap();
                let resolved = in_account(&symbolic, &account);
                assert_eq!(
                    serde_json::to_value(&resolved).unwrap(),
                    serde_json::to_value(&direct).unwrap(),
                    "{account:?}"
                );
                assert_eq!(resolved.warnings, direct.warnings);
                assert!(!is_symbolic(&serde_json::to_string(&resolved).unwrap()));
            }
        }
        // The default bucket, by region: the account regional name where S3 has the
        // namespace, the global one elsewhere.
        let s = settings(None, None);
        let symbolic = model::desired(&s, &symbolic_account(), &thumbprints, &[]).unwrap();
        let symbolic = with_regional_default(&symbolic);
        let names: Vec<String> = accounts()
            .iter()
            .map(|a| in_account(&symbolic, a).bucket.name)
            .collect();
        assert_eq!(
            names,
            [
                "terraform-state-123456789012-eu-west-1-an",
                "terraform-state-123456789012-me-south-1",
                "terraform-state-123456789012-me-central-1",
                "terraform-state-123456789012-cn-north-1",
                "terraform-state-123456789012-us-gov-west-1",
            ]
        );
    }

    #[test]
    fn a_state_bucket_of_the_account_regional_form_is_accepted_for_a_stack() {
        let s = settings(None, Some("tf-123456789012-eu-west-1-an"));
        let opts = |stackset| crate::model::template::RenderOptions {
            stackset,
            ..Default::default()
        };
        crate::model::template::validate(&s, opts(false)).unwrap();
        // A StackSet takes no --state-bucket at all: one name cannot exist in every account.
        let e = crate::model::template::validate(&s, opts(true)).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(e.message.contains("StackSet"), "{e}");
    }
}
