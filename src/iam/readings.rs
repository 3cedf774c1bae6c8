//! A list `aud` (custom audiences, e.g. `oidc: audiences:` in a Bitbucket step) judged under
//! both readings of how STS matches a list against a plain operator, which AWS does not
//! document: element by element, or the list as a whole. The verdict is the stricter one,
//! and the result says which reading it applied and what the other gave.

use serde::Serialize;
use serde_json::Value;

use super::request::{ListReading, Request};
use super::result::Evaluation;
use super::trust::evaluate;
use super::words::quoted_list;

/// How a list `aud` was judged.
#[derive(Debug, Clone, Serialize)]
pub struct AudReading {
    /// The token's `aud` values.
    pub values: Vec<String>,
    /// The reading whose evaluation the verdict comes from.
    pub applied: ListReading,
    pub allowed_element_wise: bool,
    pub allowed_as_a_whole: bool,
    pub readings_agree: bool,
}

impl AudReading {
    /// One line for the text report.
    pub fn line(&self) -> String {
        let word = |b: bool| if b { "allowed" } else { "denied" };
        format!(
            "aud is a JSON list ({}); how STS matches a list under a plain operator is not documented, so the trust policy was judged both ways: element by element {}, as a whole {}; applied: {}",
            quoted_list(&self.values),
            word(self.allowed_element_wise),
            word(self.allowed_as_a_whole),
            self.applied.describe(),
        )
    }
}

/// Evaluate `policy` for `request`. With a list `aud`, under both readings; the evaluation
/// returned is the stricter (the one that denies, when they differ), with the request it
/// was made for.
pub fn evaluate_both(
    policy: &Value,
    request: &Request,
    aud: &[String],
) -> (Evaluation, Request, Option<AudReading>) {
    let element_wise = evaluate(policy, request);
    if !request.is_list_claim("aud") {
        return (element_wise, request.clone(), None);
    }
    let whole_request = request.clone().reading(ListReading::Whole);
    let whole = evaluate(policy, &whole_request);
    let reading = AudReading {
        values: aud.to_vec(),
        applied: if element_wise.allowed && !whole.allowed {
            ListReading::Whole
        } else {
            ListReading::ElementWise
        },
        allowed_element_wise: element_wise.allowed,
        allowed_as_a_whole: whole.allowed,
        readings_agree: element_wise.allowed == whole.allowed,
    };
    if reading.applied == ListReading::Whole {
        (whole, whole_request, Some(reading))
    } else {
        (element_wise, request.clone(), Some(reading))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    const PROVIDER: &str = "arn:aws:iam::123456789012:oidc-provider/issuer.example/oidc";
    const AUD: &str = "issuer.example/oidc:aud";

    fn request(aud: Value) -> Request {
        let mut claims = Map::new();
        claims.insert("aud".into(), aud);
        Request::from_claims(PROVIDER, &claims)
    }

    fn policy(condition: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }]})
    }

    #[test]
    fn a_plain_operator_on_a_list_aud_depends_on_the_reading_and_the_stricter_applies() {
        let plain = policy(json!({"StringEquals": {AUD: "deploy"}}));
        let (e, r, reading) =
            evaluate_both(&plain, &request(json!(["deploy"])), &["deploy".into()]);
        let reading = reading.expect("aud is a list");
        assert!(reading.allowed_element_wise && !reading.allowed_as_a_whole);
        assert_eq!(reading.applied, ListReading::Whole);
        assert!(!e.allowed && r.list_reading == ListReading::Whole);
        assert!(!reading.readings_agree);
        assert!(
            reading.line().contains("applied: as a whole"),
            "{}",
            reading.line()
        );
    }

    #[test]
    fn the_set_operator_pair_gives_the_same_verdict_under_both_readings() {
        let pair = policy(json!({
            "ForAnyValue:StringEquals": {AUD: ["deploy", "other"]},
            "ForAllValues:StringEquals": {AUD: ["deploy", "other"]},
        }));
        for (aud, allowed) in [
            (json!(["deploy"]), true),
            (json!(["deploy", "other"]), true),
            (json!(["deploy", "foreign"]), false),
            (json!([]), false),
        ] {
            let (e, _, reading) = evaluate_both(&pair, &request(aud.clone()), &[]);
            let reading = reading.expect("aud is a list");
            assert!(reading.readings_agree, "{aud}");
            assert_eq!(reading.applied, ListReading::ElementWise);
            assert_eq!(e.allowed, allowed, "{aud}: {}", e.reason);
        }
        // A one-string aud is not a list: one reading, no note.
        let (e, _, reading) = evaluate_both(&pair, &request(json!("deploy")), &[]);
        assert!(e.allowed && reading.is_none());
    }
}
