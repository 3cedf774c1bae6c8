//! The one IAM policy interpreter: reading policy documents as IAM stores them
//! (`document`), and evaluating them offline. [`evaluate`] judges a role trust policy for
//! an `sts:AssumeRoleWithWebIdentity` request, [`evaluate_access`] a permissions policy for
//! one action on one resource, following the IAM User Guide's documented semantics:
//!
//! * explicit `Deny` wins; without a matching `Allow` the request is implicitly denied;
//! * `Statement` may be an object or an array; `Action`/`Principal` values a string or array;
//! * several values for one key are ORed; several keys in an operator block and several
//!   operators in a `Condition` are ANDed; condition keys are case-insensitive;
//! * a key missing from the request makes a condition false, except negated operators
//!   (`StringNotEquals`, `StringNotLike`, `NotIpAddress`, ...) which are true, `...IfExists`
//!   (true), `Null` (tests presence), `ForAllValues:` (true) and `ForAnyValue:` (false).
//!
//! The result records every statement and condition so the CLI can explain a denial.
//! Every function is total: malformed policies produce notes, never panics. A leaf: it
//! imports nothing of the crate. `verify` and the rules about the documents the tool writes
//! (`model`) both read policies through it.
//!
//! Inside, the arrows point one way: `pattern` (wildcards), `operator`, `document`,
//! `request` and `words` at the bottom; `context` and `variables` on them; `values` and
//! `statement` (what one value, principal or action matches); `conditions`; `reason`; and
//! on top `trust`, `identity` and `readings`, and `combined` (identity and resource policies
//! together) over `identity`.

mod combined;
mod conditions;
mod context;
mod document;
mod identity;
mod operator;
mod pattern;
mod readings;
mod reason;
mod request;
mod result;
mod statement;
mod trust;
mod values;
mod variables;
mod words;

pub use combined::evaluate_all;
pub use document::{
    as_strings, canonical, condition_values, parse_document, policy_size, same, statements_of,
};
pub use identity::{evaluate_access, Access, AccessEvaluation};
pub use readings::{evaluate_both, AudReading};
pub use request::{provider_key_prefix, ListReading, Request, ASSUME_ROLE_WITH_WEB_IDENTITY};
pub use result::{ConditionResult, Evaluation, StatementResult};
pub use statement::statement_covers_action;
pub use trust::evaluate;

#[cfg(test)]
mod tests;
