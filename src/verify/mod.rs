//! `bootstrap verify`: check a Bitbucket Pipelines OIDC token the way AWS STS would.
//!
//! [`explain`] turns a refusal into one sentence that says what to change.

pub mod explain;
