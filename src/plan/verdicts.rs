//! Safety verdicts on a role's trust policy, live or planned: whether it lets a step assume
//! the role that the settings do not name. Judged with the IAM evaluator ([`crate::iam`])
//! on probe requests, whatever the document's shape:
//!
//! - any repository: a step of a repository the role does not name (no `sub` condition, or
//!   a wildcard one);
//! - any branch: for a role limited to deployment environments, a plain step (any branch,
//!   no deployment) of one of its repositories;
//! - any network: for a role with source ranges, a step from an address outside them.

use ipnet::IpNet;
use serde::Serialize;
use serde_json::Value;

use crate::iam::{condition_values, evaluate, statements_of, Request};
use crate::model::{DesiredRole, DesiredState};
use crate::observe::{Observed, ObservedRole};

/// What a trust policy lets in beyond the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Breadth {
    AnyRepository,
    AnyBranch,
    AnyNetwork,
}

impl Breadth {
    /// The flag shown in the plan, as `ADMIN-EQUIVALENT` is.
    pub fn label(self) -> &'static str {
        match self {
            Breadth::AnyRepository => "ANY-REPOSITORY",
            Breadth::AnyBranch => "ANY-BRANCH",
            Breadth::AnyNetwork => "ANY-NETWORK",
        }
    }
}

/// Which document a verdict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    /// The trust policy on the role now.
    Live,
    /// The trust policy `init` writes.
    Planned,
}

/// One verdict: the role, the document, what it lets in. In words (the text, and the JSON's
/// `allows`) it is `report`'s (`report::verdicts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustVerdict {
    pub role: String,
    pub policy: Which,
    pub allows: Allows,
}

/// What a trust policy lets in beyond the settings, with what that sentence names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allows {
    /// Every repository of the workspace: no `sub` condition names the role's repositories.
    AnyRepository,
    /// Any step of `repository` on any branch, though the role is limited to deployments to
    /// `environments`.
    AnyBranch {
        repository: String,
        environments: Vec<String>,
    },
    /// A step from `ip`, outside the source `ranges` the role is limited to.
    AnyNetwork { ip: String, ranges: Vec<IpNet> },
}

impl TrustVerdict {
    pub fn breadth(&self) -> Breadth {
        match self.allows {
            Allows::AnyRepository => Breadth::AnyRepository,
            Allows::AnyBranch { .. } => Breadth::AnyBranch,
            Allows::AnyNetwork { .. } => Breadth::AnyNetwork,
        }
    }
}

/// A repository and a step no configuration names (the probes' sub parts).
const PROBE_REPOSITORY: &str = "{00000000-0000-4000-8000-00000000a11a}";
const PROBE_STEP: &str = "{00000000-0000-4000-8000-0000000057e9}";
/// Addresses from the documentation ranges (RFC 5737, RFC 3849), one of which lies outside
/// any configured source range.
const OUTSIDE: &[&str] = &["203.0.113.7", "198.51.100.7", "192.0.2.7", "2001:db8::7"];

/// The verdicts on every role's live and planned trust policy, in role order.
pub fn trust_verdicts(desired: &DesiredState, observed: &Observed) -> Vec<TrustVerdict> {
    role_verdicts(desired, &observed.roles)
}

/// [`trust_verdicts`] for the live roles `live` (in the desired state's order; None or
/// absent: no live role, only the planned trust policy is judged).
pub fn role_verdicts(desired: &DesiredState, live: &[Option<ObservedRole>]) -> Vec<TrustVerdict> {
    let mut out = Vec::new();
    for (i, role) in desired.roles.iter().enumerate() {
        let probe = Probe::new(desired, role);
        if let Some(live) = live.get(i).and_then(Option::as_ref) {
            out.extend(probe.judge(&live.trust_policy, Which::Live));
        }
        out.extend(probe.judge(&role.trust_policy, Which::Planned));
    }
    out
}

/// What one role's settings name, to probe a trust policy with.
struct Probe<'a> {
    role: &'a DesiredRole,
    provider_arn: &'a str,
    aud_key: String,
    sub_key: String,
    audience: Option<&'a str>,
    /// The source ranges the role is configured with (from its planned trust policy).
    ranges: Vec<IpNet>,
}

impl<'a> Probe<'a> {
    fn new(desired: &'a DesiredState, role: &'a DesiredRole) -> Self {
        let hp = &desired.issuer_host_path;
        let ranges = statements_of(&role.trust_policy)
            .iter()
            .filter_map(|s| s.get("Condition"))
            .filter_map(|c| condition_values(c, "IpAddress", "aws:SourceIp"))
            .flatten()
            .filter_map(|c| c.parse::<IpNet>().ok())
            .collect();
        Probe {
            role,
            provider_arn: &desired.provider.arn,
            aud_key: format!("{hp}:aud"),
            sub_key: format!("{hp}:sub"),
            audience: desired.provider.client_ids.first().map(String::as_str),
            ranges,
        }
    }

    /// Whether `policy` lets a step with `sub` from `ip` assume the role.
    fn admits(&self, policy: &Value, sub: &str, ip: &str) -> bool {
        let mut request = Request::web_identity(self.provider_arn)
            .with(self.sub_key.clone(), [sub])
            .with("aws:SourceIp", [ip]);
        if let Some(aud) = self.audience {
            request = request.with(self.aud_key.clone(), [aud]);
        }
        evaluate(policy, &request).allowed
    }

    /// An address inside the configured ranges (any address when there are none).
    fn inside(&self) -> String {
        self.ranges
            .first()
            .map_or_else(|| OUTSIDE[0].to_string(), |n| n.addr().to_string())
    }

    /// The `sub` of a step of `repository`: a deployment to the role's first environment
    /// when it has environments.
    fn sub(&self, repository: &str) -> String {
        match self.role.environments.first() {
            Some(env) => format!("{repository}:{env}:{PROBE_STEP}"),
            None => format!("{repository}:{PROBE_STEP}"),
        }
    }

    fn judge(&self, policy: &Value, which: Which) -> Vec<TrustVerdict> {
        let verdict = |allows| TrustVerdict {
            role: self.role.name.clone(),
            policy: which,
            allows,
        };
        let mut out = Vec::new();
        let inside = self.inside();
        let any_repo = [
            self.sub(PROBE_REPOSITORY),
            format!("{PROBE_REPOSITORY}:{PROBE_STEP}"),
        ]
        .iter()
        .any(|sub| self.admits(policy, sub, &inside));
        if any_repo {
            out.push(verdict(Allows::AnyRepository));
        }
        let Some(repo) = self.role.repositories.first() else {
            return out;
        };
        if !self.role.environments.is_empty()
            && self.admits(policy, &format!("{repo}:{PROBE_STEP}"), &inside)
        {
            out.push(verdict(Allows::AnyBranch {
                repository: repo.clone(),
                environments: self.role.environments.clone(),
            }));
        }
        let outside = OUTSIDE
            .iter()
            .find(|a| {
                let ip: std::net::IpAddr = a.parse().unwrap_or(std::net::IpAddr::from([0; 4]));
                !self.ranges.iter().any(|n| n.contains(&ip))
            })
            .copied();
        if let (false, Some(ip)) = (self.ranges.is_empty(), outside) {
            if self.admits(policy, &self.sub(repo), ip) {
                out.push(verdict(Allows::AnyNetwork {
                    ip: ip.to_string(),
                    ranges: self.ranges.clone(),
                }));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::{parse_file, Settings};
    use crate::model::{self, Account};

    const REPO: &str = "{aaaaaaaa-2222-3333-4444-555555555555}";
    const ENV: &str = "{bbbbbbbb-2222-3333-4444-555555555555}";

    fn desired(extra: &str) -> DesiredState {
        let text = format!(
            "workspace = \"acme\"\nworkspace-uuid = \"11111111-2222-3333-4444-555555555555\"\n{extra}"
        );
        let settings = Settings::from_inputs(parse_file(&text).unwrap()).unwrap();
        let account = Account {
            id: "123456789012".into(),
            partition: "aws".into(),
            region: "eu-west-1".into(),
        };
        model::desired(&settings, &account, &[], &[]).unwrap()
    }

    fn live(trust: Value) -> Observed {
        Observed {
            provider: None,
            roles: vec![Some(ObservedRole {
                arn: String::new(),
                trust_policy: trust,
                inline_policy: None,
                foreign_inline_policies: Default::default(),
                managed_policies: Vec::new(),
                managed_documents: Default::default(),
                permissions_boundary: None,
                max_session_duration: 3600,
                tags: Default::default(),
                instance_profiles: Vec::new(),
            })],
            bucket: None,
            table: None,
        }
    }

    fn without(trust: &Value, op: &str) -> Value {
        let mut t = trust.clone();
        t["Statement"][0]["Condition"]
            .as_object_mut()
            .unwrap()
            .remove(op);
        t
    }

    fn kinds(v: &[TrustVerdict]) -> Vec<(Which, Breadth)> {
        v.iter().map(|v| (v.policy, v.breadth())).collect()
    }

    #[test]
    fn the_planned_trust_of_a_narrow_role_has_no_verdict() {
        let d = desired(&format!(
            "repository-uuid = [\"{REPO}\"]\nenvironment-uuid = [\"{ENV}\"]\nsource-ip = [\"10.0.0.0/8\"]"
        ));
        let trust = d.roles[0].trust_policy.clone();
        assert_eq!(trust_verdicts(&d, &live(trust)), Vec::new());
    }

    #[test]
    fn a_hand_removed_condition_is_named_for_what_it_lets_in() {
        let d = desired(&format!(
            "repository-uuid = [\"{REPO}\"]\nenvironment-uuid = [\"{ENV}\"]\nsource-ip = [\"10.0.0.0/8\"]"
        ));
        let trust = &d.roles[0].trust_policy;
        let no_sub = without(trust, "StringLike");
        let v = trust_verdicts(&d, &live(no_sub));
        assert_eq!(
            kinds(&v),
            [
                (Which::Live, Breadth::AnyRepository),
                (Which::Live, Breadth::AnyBranch)
            ]
        );
        assert_eq!(v[0].allows, Allows::AnyRepository, "{v:?}");
        let no_ip = without(trust, "IpAddress");
        assert_eq!(
            kinds(&trust_verdicts(&d, &live(no_ip))),
            [(Which::Live, Breadth::AnyNetwork)]
        );
        // A wildcard in place of the environment: any branch of the repository.
        let mut any_branch = trust.clone();
        any_branch["Statement"][0]["Condition"]["StringLike"] = json!({ "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:sub": format!("{REPO}:*") });
        assert_eq!(
            kinds(&trust_verdicts(&d, &live(any_branch))),
            [(Which::Live, Breadth::AnyBranch)]
        );
    }

    #[test]
    fn a_planned_trust_for_any_repository_is_flagged() {
        let d = desired("allow-any-repository = true");
        let v = trust_verdicts(&d, &live(Value::Null));
        assert_eq!(kinds(&v), [(Which::Planned, Breadth::AnyRepository)]);
    }
}
