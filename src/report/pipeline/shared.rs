//! What both bodies of `pipeline`'s report show: the files left as they were, and the
//! Bitbucket variables as found and set.

use std::fmt::Write;

use serde::Serialize;

use crate::bitbucket::variables::{Action, VariableState};

/// A file that existed and was left as it is (no `--force`), with what `pipeline` would
/// have written, for the user to merge in.
#[derive(Debug, Clone, Serialize)]
pub struct KeptFile {
    pub path: String,
    pub kind: &'static str,
    pub content: String,
}

/// One line per managed Bitbucket variable: `+` created, `~` updated, `=` in sync, `!`
/// secured (left alone).
pub fn variables_text(states: &[VariableState]) -> String {
    let mut text = String::new();
    for s in states {
        let place = if s.scope == "repository" {
            format!("{} repository variable", s.repository)
        } else {
            format!("{} deployment variable of {}", s.repository, s.scope)
        };
        let _ = match s.action {
            Action::Create => writeln!(text, "+ {place} {} = {}", s.key, s.wanted),
            Action::Update => writeln!(
                text,
                "~ {place} {}: {} -> {}",
                s.key,
                s.current.as_deref().unwrap_or_default(),
                s.wanted
            ),
            Action::InSync => writeln!(text, "= {place} {} in sync", s.key),
            Action::Secured => writeln!(
                text,
                "! {place} {} is secured, so cannot be compared; left alone",
                s.key
            ),
        };
    }
    text
}

/// What to add to each file that was left as it is.
pub(super) fn kept_text(kept: &[KeptFile], text: &mut String) {
    for f in kept {
        let what = if f.kind == "bitbucket-pipelines" {
            "Add these steps and pipelines to it"
        } else {
            "Its backend block should read"
        };
        let _ = writeln!(
            text,
            "{} exists, so it was left as it is (--force replaces it). {what}:\n",
            f.path
        );
        let body = f.content.lines().skip_while(|l| l.starts_with('#'));
        for l in body {
            let _ = writeln!(text, "  {l}");
        }
        let image = f.content.lines().find_map(|l| l.strip_prefix("image: "));
        if let Some(image) = image {
            let _ = writeln!(
                text,
                "\nWhere the file already names another top-level image, give each of these steps `image: {image}` instead."
            );
        }
        let _ = writeln!(text);
    }
}
