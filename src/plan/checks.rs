//! Rules judged on the live role rather than planned away: administrator-equivalent
//! documents found on it before `init` (warned about, the plan removes them), and the role as
//! it reads back after `init` (no admin-equivalent document the settings do not allow, a
//! trust policy that obeys the trust rules).

use super::ownership::{admin_documents, is_managed};
use crate::error::{Error, Result};
use crate::model::policy::{trust_policy_problems, TrustRules};
use crate::model::{DesiredRole, DesiredState};
use crate::observe::ObservedRole;

/// A warning for each administrator-equivalent document on the live role that the settings
/// do not ask for (an adopted hand-made role, or one changed by hand), saying what `init`
/// does with it. `--policy-arn` values are judged by [`crate::model::admin::judge_policy_arn`].
pub fn admin_document_warnings(desired: &DesiredRole, role: Option<&ObservedRole>) -> Vec<String> {
    let Some(role) = role else { return Vec::new() };
    let adopted = if is_managed(&role.tags) {
        ""
    } else {
        " (not created by bootstrap)"
    };
    let own = format!("inline policy {}", desired.inline_policy_name);
    let mut warnings = Vec::new();
    for found in admin_documents(role, &desired.inline_policy_name) {
        let fate = match &found.managed_arn {
            Some(arn) if desired.managed_policies.contains(arn) => continue,
            Some(_) => "init detaches it (it is not a --policy-arn)",
            None if found.source == own => "init rewrites it",
            None => "init deletes it (bootstrap did not write it)",
        };
        warnings.push(format!(
            "role {}{adopted} carries an ADMINISTRATOR-EQUIVALENT {found}; {fate}",
            desired.name
        ));
    }
    warnings
}

/// Every desired role as it reads back after `init` ([`read_back_role`]), in order.
pub fn read_back_roles(desired: &DesiredState, found: &[Option<ObservedRole>]) -> Result<()> {
    for (i, role) in desired.roles.iter().enumerate() {
        read_back_role(desired, role, found.get(i).and_then(Option::as_ref))?;
    }
    Ok(())
}

/// The role as it reads back after `init`: no document on it may be administrator-equivalent
/// (except a `--policy-arn` allowed by `--allow-admin`; the same rules as for flags and
/// adoption), and its trust policy must obey the trust rules, whatever the diff says.
pub fn read_back_role(
    desired: &DesiredState,
    want: &DesiredRole,
    role: Option<&ObservedRole>,
) -> Result<()> {
    if let Some(role) = role {
        live_admin_documents(want, role)?;
    }
    let live_trust = role.map_or(serde_json::Value::Null, |r| r.trust_policy.clone());
    let problems = trust_policy_problems(&live_trust, &trust_rules(desired, want));
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::failure(format!(
        "the live trust policy of role {} is not safe: {}",
        want.name,
        problems.join("; ")
    ))
    .resource(want.arn.clone())
    .hint("something else changed the role while init ran; run `bootstrap init` again and check who else manages this role"))
}

fn live_admin_documents(want: &DesiredRole, role: &ObservedRole) -> Result<()> {
    let allowed = |arn: &Option<String>| {
        want.allow_admin
            && arn
                .as_ref()
                .is_some_and(|a| want.managed_policies.contains(a))
    };
    let found: Vec<String> = admin_documents(role, &want.inline_policy_name)
        .into_iter()
        .filter(|f| !allowed(&f.managed_arn))
        .map(|f| f.to_string())
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    Err(Error::failure(format!(
        "role {} reads back with administrator-equivalent policies: {}",
        want.name,
        found.join("; ")
    ))
    .resource(want.arn.clone())
    .hint("something else changed the role while init ran; run `bootstrap init` again (a --policy-arn that must stay needs --allow-admin)"))
}

/// The trust rules for this role of this desired state.
fn trust_rules<'a>(desired: &'a DesiredState, want: &DesiredRole) -> TrustRules<'a> {
    TrustRules {
        issuer_host_path: &desired.issuer_host_path,
        provider_arn: &desired.provider.arn,
        allow_any_repository: want.allow_any_repository,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::config::parse_file;
    use crate::config::Settings;
    use crate::model::{self, Account};

    const ADMIN: &str = "arn:aws:iam::123456789012:policy/everything";

    fn settings(extra: &str) -> Settings {
        let text = format!(
            "workspace = \"acme\"\nworkspace-uuid = \"11111111-2222-3333-4444-555555555555\"\nrepository-uuid = [\"{{aaaaaaaa-2222-3333-4444-555555555555}}\"]\npolicy-arn = [\"{ADMIN}\"]\n{extra}"
        );
        Settings::from_inputs(parse_file(&text).unwrap()).unwrap()
    }

    fn desired(settings: &Settings) -> DesiredState {
        let account = Account {
            id: "123456789012".into(),
            partition: "aws".into(),
            region: "eu-west-1".into(),
        };
        model::desired(settings, &account, &[], &[]).unwrap()
    }

    /// The role exactly as desired, tagged as the tool's.
    fn live(d: &DesiredState) -> ObservedRole {
        ObservedRole {
            arn: d.primary_role().arn.clone(),
            trust_policy: d.primary_role().trust_policy.clone(),
            inline_policy: Some(d.primary_role().inline_policy.clone()),
            foreign_inline_policies: BTreeMap::new(),
            managed_policies: d.primary_role().managed_policies.clone(),
            managed_documents: BTreeMap::new(),
            permissions_boundary: None,
            max_session_duration: d.primary_role().max_session_duration,
            tags: d.primary_role().tags.clone(),
            instance_profiles: Vec::new(),
        }
    }

    fn everything() -> serde_json::Value {
        json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    }

    #[test]
    fn the_role_as_desired_reads_back_sound() {
        let s = settings("");
        let d = desired(&s);
        read_back_role(&d, d.primary_role(), Some(&live(&d))).unwrap();
        assert!(admin_document_warnings(d.primary_role(), Some(&live(&d))).is_empty());
    }

    #[test]
    fn an_admin_policy_arn_reads_back_only_with_allow_admin() {
        for (extra, allowed) in [("", false), ("allow-admin = true", true)] {
            let s = settings(extra);
            let d = desired(&s);
            let mut role = live(&d);
            role.managed_documents.insert(ADMIN.into(), everything());
            let read = read_back_role(&d, d.primary_role(), Some(&role));
            assert_eq!(read.is_ok(), allowed, "{extra}: {read:?}");
            // It is a --policy-arn: nothing to warn about before init.
            assert!(admin_document_warnings(d.primary_role(), Some(&role)).is_empty());
        }
    }

    #[test]
    fn a_foreign_admin_document_is_refused_on_read_back_and_warned_before() {
        let s = settings("allow-admin = true");
        let d = desired(&s);
        let mut role = live(&d);
        role.foreign_inline_policies
            .insert("extra".into(), everything());
        role.tags.clear();
        let e = read_back_role(&d, d.primary_role(), Some(&role)).unwrap_err();
        assert!(e.message.contains("administrator-equivalent"), "{e}");
        assert!(e.message.contains("inline policy extra"), "{e}");
        assert_eq!(e.resource.as_deref(), Some(d.primary_role().arn.as_str()));
        let warnings = admin_document_warnings(d.primary_role(), Some(&role));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("(not created by bootstrap)"));
        assert!(warnings[0].contains("init deletes it"));
    }

    #[test]
    fn an_unsafe_live_trust_policy_is_refused() {
        let s = settings("");
        let d = desired(&s);
        let mut role = live(&d);
        role.trust_policy = json!({"Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": d.provider.arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
        }]});
        let e = read_back_role(&d, d.primary_role(), Some(&role)).unwrap_err();
        assert!(e.message.contains("is not safe"), "{e}");
        assert!(e.hint.as_deref().unwrap_or("").contains("bootstrap init"));
    }
}
