//! Times in words, for the report: "5 minutes ago", "in 2 hours".

/// "5 minutes ago", "in 2 hours".
pub fn relative(t: i64, now: i64) -> String {
    let d = t.saturating_sub(now);
    let a = d.unsigned_abs();
    if a < 5 {
        return "now".to_string();
    }
    let amount = if a < 120 {
        format!("{a} seconds")
    } else if a < 7200 {
        format!("{} minutes", a / 60)
    } else if a < 172_800 {
        format!("{} hours", a / 3600)
    } else {
        format!("{} days", a / 86_400)
    };
    if d < 0 {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        assert_eq!(relative(100, 160), "60 seconds ago");
        assert_eq!(relative(1000 + 3600, 1000), "in 60 minutes");
        assert_eq!(relative(0, 3 * 86_400), "3 days ago");
    }
}
