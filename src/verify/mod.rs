//! `verify`'s judgement, a stage of its own: what the token is, each check (the token's
//! own, then the account's), how the trust policy judged the request, and the verdict with
//! its cause in words that say what to change. No I/O: it sits where `plan` sits in the
//! flow (after `observe`, before `report`), and `report::verify` only renders its result.
//!
//! [`judge`] builds the [`VerifyReport`] from the decoded token, the issuer's keys and the
//! role it is judged against; `explain` holds the sentences that say what to change;
//! [`VerifyReport::assumed`] adds what STS answered to `--assume`.

mod checks;
mod explain;
mod judge;
mod result;
mod when;

/// The evidence of the judgement, as the report renders it.
pub use crate::iam::{AudReading, Evaluation, Request};
pub use checks::{Check, Status, LEEWAY_SECS};
pub use explain::Verdict;
pub use judge::judge;
pub use result::{TokenSummary, VerifyReport};
pub use when::relative;
