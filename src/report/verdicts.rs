//! The trust-policy verdicts as text, one line each, in every mode's `plan` and `status`.

use std::fmt::Write;

use super::{Paint, RED};
use crate::plan::verdicts::{TrustVerdict, Which};

/// One line per trust-policy verdict, flagged as `ADMIN-EQUIVALENT` is: what the document
/// lets in, whose it is, and whether `init` replaces it (direct mode).
pub fn verdict_text(verdicts: &[TrustVerdict], paint: Paint) -> String {
    verdict_lines(verdicts, paint, "which `bootstrap init` replaces")
}

/// [`verdict_text`] with what becomes of a live document the settings do not ask for.
pub(crate) fn verdict_lines(verdicts: &[TrustVerdict], paint: Paint, fate: &str) -> String {
    let mut text = String::new();
    for v in verdicts {
        let whose = match v.policy {
            Which::Planned => "the trust policy init writes, as configured".to_string(),
            Which::Live => {
                let stays = verdicts.iter().any(|p| {
                    p.policy == Which::Planned && p.role == v.role && p.breadth == v.breadth
                });
                if stays {
                    "the live trust policy".to_string()
                } else {
                    format!("the live trust policy, {fate}")
                }
            }
        };
        let _ = writeln!(
            text,
            "{}: {}; {whose}",
            paint.paint(RED, v.breadth.label()),
            v.allows
        );
    }
    text
}
