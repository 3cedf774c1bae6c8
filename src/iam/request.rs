//! What is asked of a policy: the action, the federated principal it comes from, and the
//! condition context, as STS builds it from a web identity token's claims.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::document::as_strings;

/// The STS action a Bitbucket step performs.
pub const ASSUME_ROLE_WITH_WEB_IDENTITY: &str = "sts:AssumeRoleWithWebIdentity";

/// How a plain operator (no `ForAnyValue:`/`ForAllValues:`) matches a key whose claim was a
/// JSON list. IAM documents the set operators element by element, but not what STS does with
/// a list claim under a plain operator, so `verify` judges a list `aud` under both readings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListReading {
    /// Each element is one value of a multivalued key: a plain operator passes when any
    /// value matches.
    #[default]
    ElementWise,
    /// The list is one value, which equals (or is like) no policy value: a plain operator
    /// fails (a negated one passes). Set operators still go element by element.
    Whole,
}

impl ListReading {
    pub fn describe(self) -> &'static str {
        match self {
            ListReading::ElementWise => "element by element (a plain operator passes when any value matches)",
            ListReading::Whole => "as a whole (the list equals no single value, so a plain operator fails; set operators go element by element)",
        }
    }
}

/// What is being asked of the trust policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// For example `sts:AssumeRoleWithWebIdentity`.
    pub action: String,
    /// The OIDC provider ARN, `arn:aws:iam::<account>:oidc-provider/<host/path>`.
    pub federated_principal: String,
    /// Condition context: key (any case) -> values. An absent key and an empty list are the
    /// same: the key is not in the request.
    pub context: BTreeMap<String, Vec<String>>,
    /// Context keys (lower case) whose claim was a JSON list, even of one value.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub list_keys: BTreeSet<String>,
    /// How plain operators read those keys.
    #[serde(default)]
    pub list_reading: ListReading,
}

impl Request {
    /// An `sts:AssumeRoleWithWebIdentity` request from `provider_arn` with an empty context.
    pub fn web_identity(provider_arn: &str) -> Self {
        Request {
            action: ASSUME_ROLE_WITH_WEB_IDENTITY.to_string(),
            federated_principal: provider_arn.to_string(),
            ..Request::default()
        }
    }

    /// Adds (or replaces) one context key.
    pub fn with<K, I, V>(mut self, key: K, values: I) -> Self
    where
        K: Into<String>,
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        self.context
            .insert(key.into(), values.into_iter().map(Into::into).collect());
        self
    }

    /// An `sts:AssumeRoleWithWebIdentity` request as STS builds it from a token's claims:
    /// `<host/path>:aud` and `<host/path>:sub` (plus `amr`, `azp`, `email` when present), the
    /// only OIDC claims IAM exposes as condition keys. Add `aws:SourceIp` with [`Request::with`].
    pub fn from_claims(provider_arn: &str, claims: &Map<String, Value>) -> Self {
        let mut request = Request::web_identity(provider_arn);
        let Some(prefix) = provider_key_prefix(provider_arn) else {
            return request;
        };
        for claim in ["aud", "sub", "amr", "azp", "email"] {
            let key = format!("{prefix}:{claim}");
            if matches!(claims.get(claim), Some(Value::Array(_))) {
                request.list_keys.insert(key.to_lowercase());
            }
            let values: Vec<String> = claims
                .get(claim)
                .map(as_strings)
                .unwrap_or_default()
                .into_iter()
                .map(str::to_string)
                .collect();
            if !values.is_empty() {
                request.context.insert(key, values);
            }
        }
        request
    }

    /// The same request, with list claims read `reading`.
    pub fn reading(mut self, reading: ListReading) -> Self {
        self.list_reading = reading;
        self
    }

    /// Whether the claim `name` (`aud`, `sub`, ...) was a JSON list.
    pub fn is_list_claim(&self, name: &str) -> bool {
        provider_key_prefix(&self.federated_principal).is_some_and(|p| {
            self.list_keys
                .contains(&format!("{p}:{name}").to_lowercase())
        })
    }
}

/// The condition-key prefix (`<host/path>`) of an OIDC provider ARN, if it is one.
pub fn provider_key_prefix(provider_arn: &str) -> Option<&str> {
    provider_arn
        .split_once(":oidc-provider/")
        .map(|(_, rest)| rest)
        .filter(|rest| !rest.is_empty())
}
