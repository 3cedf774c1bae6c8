//! A policy document's change as a reviewer reads it: both documents in their canonical
//! form (keys and lists sorted, as IAM compares them), pretty printed, and only the lines
//! that differ with a little context, each marked `+` or `-`. A trust policy that gains one
//! of 40 repositories is a handful of lines, not two 2,000-character blobs.

use serde::Serialize;
use serde_json::Value;

use crate::iam::canonical;

/// Unchanged lines shown around each change.
const CONTEXT: usize = 2;

/// One document's change (`from` None: it is created).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyChange {
    pub from: Option<Value>,
    pub to: Value,
    /// The pretty-printed lines: `+ ` added, `- ` removed, `  ` context, `…` lines left out.
    pub diff: Vec<String>,
}

impl PolicyChange {
    pub fn new(from: Option<&Value>, to: &Value) -> PolicyChange {
        let from = from.map(canonical);
        let to = canonical(to);
        let diff = match &from {
            None => pretty(&to).into_iter().map(|l| format!("+ {l}")).collect(),
            Some(old) => line_diff(&pretty(old), &pretty(&to)),
        };
        PolicyChange { from, to, diff }
    }
}

fn pretty(v: &Value) -> Vec<String> {
    serde_json::to_string_pretty(v)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The lines of `new` against `old` (longest common subsequence), changes with [`CONTEXT`]
/// lines around them; runs of unchanged lines beyond that become one `…`.
fn line_diff(old: &[String], new: &[String]) -> Vec<String> {
    let (n, m) = (old.len(), new.len());
    // lcs[i][j]: the longest common subsequence of old[i..] and new[j..].
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut all: Vec<(char, &str)> = Vec::with_capacity(n + m);
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && old[i] == new[j] {
            all.push((' ', &old[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            all.push(('-', &old[i]));
            i += 1;
        } else {
            all.push(('+', &new[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = (0..all.len()).filter(|&k| all[k].0 != ' ').collect();
    let near = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= CONTEXT);
    let mut out = Vec::new();
    let mut gap = false;
    for (k, (sign, line)) in all.iter().enumerate() {
        if *sign != ' ' || near(k) {
            out.push(format!("{sign} {line}"));
            gap = false;
        } else if !gap {
            out.push("…".to_string());
            gap = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn trust(repos: &[String]) -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Federated": "arn:aws:iam::123456789012:oidc-provider/x" },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": { "StringLike": { "x:sub": repos } }
            }]
        })
    }

    #[test]
    fn one_repository_more_of_forty_is_a_short_diff() {
        let repos: Vec<String> = (0..40)
            .map(|i| format!("{{0f6b3c1d-2222-4e5f-8a9b-{i:012}}}:*"))
            .collect();
        let mut more = repos.clone();
        more.push("{0f6b3c1d-2222-4e5f-8a9b-999999999999}:*".into());
        let change = PolicyChange::new(Some(&trust(&repos)), &trust(&more));
        let changed: Vec<String> = change
            .diff
            .iter()
            .filter(|l| l.starts_with('+') || l.starts_with('-'))
            .map(|l| format!("{} {}", &l[..1], l[1..].trim()))
            .collect();
        // The new last element, and the comma the previous last one gains.
        assert_eq!(
            changed,
            [
                "- \"{0f6b3c1d-2222-4e5f-8a9b-000000000039}:*\"",
                "+ \"{0f6b3c1d-2222-4e5f-8a9b-000000000039}:*\",",
                "+ \"{0f6b3c1d-2222-4e5f-8a9b-999999999999}:*\"",
            ],
            "{:#?}",
            change.diff
        );
        assert!(change.diff.len() <= 12, "{:#?}", change.diff);
        assert!(change.diff.iter().any(|l| l.contains("999999999999")));
        assert!(change.diff.contains(&"…".to_string()));
    }

    #[test]
    fn a_new_document_is_shown_whole_and_json_keeps_objects() {
        let doc = trust(&["{a}:*".to_string()]);
        let change = PolicyChange::new(None, &doc);
        assert!(change.diff.iter().all(|l| l.starts_with("+ ")));
        assert!(change
            .diff
            .iter()
            .any(|l| l.contains("sts:AssumeRoleWithWebIdentity")));
        let json = serde_json::to_value(&change).unwrap();
        assert_eq!(json["from"], Value::Null);
        assert!(json["to"]["Statement"].is_array());
    }
}
