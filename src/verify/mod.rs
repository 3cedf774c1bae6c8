//! `bootstrap verify`: check a Bitbucket Pipelines OIDC token the way AWS STS would.
//!
//! [`evaluate`] evaluates a role trust policy for the
//! `sts:AssumeRoleWithWebIdentity` request the token would make; [`explain`] turns a refusal
//! into one sentence that says what to change.

pub mod evaluate;
pub mod explain;
