//! Where each role's Terraform state lives, as `plan` and `init` show it when there is more
//! than one role: the roles sharing a prefix on one line, with the backend's key and
//! workspace prefix.

use std::fmt::Write;

use serde::Serialize;

use super::{Paint, DIM};
use crate::model::{state, DesiredState};

/// One state location and the roles that use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateKeys {
    pub roles: Vec<String>,
    /// The default workspace's state: `<prefix>/terraform.tfstate`.
    pub key: String,
    /// Where the other workspaces' states go (the backend's `workspace_key_prefix`).
    pub workspace_key_prefix: String,
}

/// The state locations of `d`'s roles, in configuration order; empty for a single role
/// (whose state is where `--state-key-prefix` says, as always).
pub fn of(d: &DesiredState) -> Vec<StateKeys> {
    let mut out: Vec<StateKeys> = Vec::new();
    if d.roles.len() < 2 {
        return out;
    }
    for r in &d.roles {
        let Some(prefix) = r.state_key_prefix.as_deref() else {
            continue;
        };
        let key = state::state_key(prefix);
        match out.iter_mut().find(|s| s.key == key) {
            Some(s) => s.roles.push(r.name.clone()),
            None => out.push(StateKeys {
                roles: vec![r.name.clone()],
                key,
                workspace_key_prefix: state::workspace_key_prefix(prefix),
            }),
        }
    }
    out
}

/// `state of ROLES: s3://BUCKET/KEY (workspaces under s3://BUCKET/PREFIX/)`, one line each.
pub fn text(keys: &[StateKeys], bucket: &str, paint: Paint) -> String {
    let mut text = String::new();
    for k in keys {
        let _ = writeln!(
            text,
            "{} {}: s3://{bucket}/{} {}",
            paint.paint(DIM, "state of"),
            k.roles.join(", "),
            k.key,
            paint.paint(
                DIM,
                &format!(
                    "(workspaces under s3://{bucket}/{}/)",
                    k.workspace_key_prefix
                )
            )
        );
    }
    text
}
