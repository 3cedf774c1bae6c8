//! `verify`'s result for people: the token's header and claims, each check, the trust
//! policy statement by statement, what STS answered, and the verdict with its cause. The
//! judgement itself is made in [`crate::verify`]; this module only renders it.

mod text;

use super::{Paint, Report};
use crate::verify::{Verdict, VerifyReport};

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
