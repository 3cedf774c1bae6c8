//! How policy values are quoted in the sentences that explain an evaluation.

pub(super) fn quoted_list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn any_of(values: &[String]) -> String {
    match values {
        [one] => format!("`{one}`"),
        [] => "any policy value (the policy lists none)".to_string(),
        many => format!("any of {}", quoted_list(many)),
    }
}
