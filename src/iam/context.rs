//! The request context as conditions read it: keys lower-cased (condition keys are
//! case-insensitive), and which keys a plain operator reads as one whole list.

use std::collections::{BTreeMap, BTreeSet};

use super::request::{ListReading, Request};

/// Request context with lower-cased keys (condition keys are case-insensitive).
pub(super) struct Context {
    values: BTreeMap<String, Vec<String>>,
    /// Keys a plain operator reads as one whole list ([`ListReading::Whole`]).
    whole: BTreeSet<String>,
}

impl Context {
    pub(super) fn new(request: &Request) -> Self {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in &request.context {
            values
                .entry(k.to_lowercase())
                .or_default()
                .extend(v.iter().cloned());
        }
        let whole = match request.list_reading {
            ListReading::Whole => request.list_keys.clone(),
            ListReading::ElementWise => BTreeSet::new(),
        };
        Context { values, whole }
    }

    /// Whether a plain operator reads `key` as one whole list.
    pub(super) fn read_whole(&self, key: &str) -> bool {
        self.whole.contains(&key.to_lowercase())
    }

    pub(super) fn get(&self, key: &str) -> &[String] {
        self.values
            .get(&key.to_lowercase())
            .map_or(&[], Vec::as_slice)
    }

    /// A request key with the same final `:name` as `key` but a different prefix, to explain
    /// the common mistake of a condition key prefix that is not the provider's host/path.
    pub(super) fn similar_key(&self, key: &str) -> Option<&str> {
        let (_, name) = key.rsplit_once(':')?;
        let name = name.to_lowercase();
        self.values
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, _)| k.as_str())
            .find(|k| k.rsplit_once(':').is_some_and(|(_, n)| n == name))
    }
}
