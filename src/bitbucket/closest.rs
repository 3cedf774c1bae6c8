//! The closest known name to one that was not found, for "did you mean" messages.

/// The candidate nearest to `name` by edit distance (case ignored); `None` when there are
/// no candidates.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let name = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (distance(&name, &c.to_lowercase()), c))
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_nearest_name() {
        let known = ["infra", "platform-network", "web"];
        assert_eq!(closest("platform-netwrk", known), Some("platform-network"));
        assert_eq!(closest("Infra", known), Some("infra"));
        assert_eq!(closest("x", []), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
