//! The thumbprint list a provider should hold, for direct mode (the plan's
//! UpdateOpenIDConnectProviderThumbprint) and CloudFormation mode (the template's
//! `ThumbprintList`) alike: the one merge rule of docs/rotation.md.

/// At most this many thumbprints on a provider (IAM's limit).
pub const MAX_THUMBPRINTS: usize = 5;

/// The list after rotation: the thumbprints served now first, then the ones currently
/// registered (still in use while the issuer's servers roll over), in their order, at most
/// five. None when every served thumbprint is already registered: the list stays as it is.
pub fn rotated(served: &[String], registered: &[String]) -> Option<Vec<String>> {
    if served.iter().all(|t| registered.contains(t)) {
        return None;
    }
    let mut list: Vec<String> = served.to_vec();
    for t in registered {
        if !list.contains(t) {
            list.push(t.clone());
        }
    }
    list.truncate(MAX_THUMBPRINTS);
    Some(list)
}

/// The whole list to register: the served thumbprints for a new provider, otherwise the
/// rotated list, or the registered one unchanged when nothing new is served.
pub fn to_register(served: &[String], registered: Option<&[String]>) -> Vec<String> {
    match registered {
        None => served.iter().take(MAX_THUMBPRINTS).cloned().collect(),
        Some(r) => rotated(served, r).unwrap_or_else(|| r.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn rotation_puts_new_first_keeps_current_and_caps_at_five() {
        assert_eq!(rotated(&s(&["a"]), &s(&["a", "b"])), None);
        assert_eq!(rotated(&s(&["n"]), &s(&["a"])), Some(s(&["n", "a"])));
        assert_eq!(
            rotated(&s(&["n"]), &s(&["a", "b", "c", "d", "e"])),
            Some(s(&["n", "a", "b", "c", "d"]))
        );
        assert_eq!(rotated(&s(&["n", "m"]), &s(&[])), Some(s(&["n", "m"])));
    }

    #[test]
    fn the_list_to_register_keeps_what_is_registered_when_nothing_is_new() {
        assert_eq!(to_register(&s(&["n"]), None), s(&["n"]));
        assert_eq!(
            to_register(&s(&["n"]), Some(&s(&["o", "p"]))),
            s(&["n", "o", "p"])
        );
        // The registered order stands when every served thumbprint is in it, as in direct
        // mode, where nothing is written then.
        assert_eq!(
            to_register(&s(&["p"]), Some(&s(&["o", "p"]))),
            s(&["o", "p"])
        );
    }
}
