//! `verify`'s result: what the token is, each check (the token's own, then the account's),
//! how the trust policy judged the request, what STS answered with `--assume`, and the
//! verdict with its cause in words that say what to change.
//!
//! [`judge`] builds the [`VerifyReport`] from the decoded token, the issuer's keys and the
//! role it is judged against (no I/O); `explain` holds the sentences that say what to
//! change; `text` renders it for people.

mod checks;
mod explain;
mod judge;
mod result;
mod text;
mod when;

use super::{Paint, Report};

pub use checks::{Check, Status, LEEWAY_SECS};
pub use explain::Verdict;
pub use judge::judge;
pub use result::{TokenSummary, VerifyReport};

impl Report for VerifyReport {
    fn text(&self, paint: Paint) -> String {
        text::render(self, paint)
    }

    /// 0 when STS accepts (or would accept) the token, 3 otherwise.
    fn exit_code(&self) -> i32 {
        if self.verdict == Verdict::Accepted {
            0
        } else {
            3
        }
    }
}
