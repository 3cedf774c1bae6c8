//! The trust-policy verdicts as text, one line each, in every mode's `plan` and `status`.

use std::fmt::Write;

use serde::{Serialize, Serializer};

use super::{Paint, RED};
use crate::plan::verdicts::{Allows, TrustVerdict, Which};

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
                    p.policy == Which::Planned && p.role == v.role && p.breadth() == v.breadth()
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
            paint.paint(RED, v.breadth().label()),
            allows_text(v)
        );
    }
    text
}

/// What the verdict's document lets in, in one sentence.
fn allows_text(v: &TrustVerdict) -> String {
    let role = &v.role;
    match &v.allows {
        Allows::AnyRepository => format!(
            "every repository of the workspace can assume role {role} (no sub condition names its repositories)"
        ),
        Allows::AnyBranch {
            repository,
            environments,
        } => format!(
            "any step of repository {repository}, on any branch, can assume role {role} (it is limited to deployments to environment(s) {})",
            environments.join(", ")
        ),
        Allows::AnyNetwork { ip, ranges } => {
            let ranges: Vec<String> = ranges.iter().map(ToString::to_string).collect();
            format!(
                "a step from any network (here {ip}) can assume role {role}, though it is limited to source ranges {}",
                ranges.join(", ")
            )
        }
    }
}

/// A verdict in the JSON: its role, document and breadth, and what it lets in as the same
/// sentence as the text.
impl Serialize for TrustVerdict {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("TrustVerdict", 4)?;
        out.serialize_field("role", &self.role)?;
        out.serialize_field("policy", &self.policy)?;
        out.serialize_field("breadth", &self.breadth())?;
        out.serialize_field("allows", &allows_text(self))?;
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_reads_as_one_sentence_in_the_text_and_the_json() {
        let v = TrustVerdict {
            role: "deploy".into(),
            policy: Which::Live,
            allows: Allows::AnyNetwork {
                ip: "203.0.113.7".into(),
                ranges: vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()],
            },
        };
        let allows = "a step from any network (here 203.0.113.7) can assume role deploy, though it is limited to source ranges 10.0.0.0/8, fd00::/8";
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            serde_json::json!({"role": "deploy", "policy": "live", "breadth": "any-network", "allows": allows})
        );
        assert_eq!(
            verdict_text(&[v], Paint::NONE),
            format!(
                "ANY-NETWORK: {allows}; the live trust policy, which `bootstrap init` replaces\n"
            )
        );
    }
}
