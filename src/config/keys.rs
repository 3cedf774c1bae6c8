//! The keys of `bootstrap.toml`, as declared once by [`Inputs`] and [`RoleInputs`]: the
//! closest one to an unknown key ("did you mean"), and the TOML trap of a setting written
//! after a `[tags]` header, which TOML makes a tag.

use serde::de::{self, Deserialize, Deserializer, Visitor};

use super::settings::{Inputs, RoleInputs};

/// The field names a derived `Deserialize` asks for: the keys the file accepts.
fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Capture(&'static [&'static str]);
    impl<'de> Deserializer<'de> for &mut Capture {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = fields;
            Err(de::Error::custom("fields captured"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut capture = Capture(&[]);
    let _ = T::deserialize(&mut capture);
    capture.0
}

/// The top-level keys of the file.
pub fn top_level_keys() -> &'static [&'static str] {
    field_names::<Inputs>()
}

/// The keys of a `[[role]]` table.
pub fn role_keys() -> &'static [&'static str] {
    field_names::<RoleInputs>()
}

/// Edit distance (insertions, deletions, substitutions) between two short keys.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The known key closest to `unknown`, when it is close enough to be a typo.
pub(super) fn closest<'k>(unknown: &str, known: &[&'k str]) -> Option<&'k str> {
    let limit = (unknown.chars().count() / 3).max(2);
    known
        .iter()
        .map(|k| (distance(unknown, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// toml's "unknown field `x`, expected one of `a`, `b`, ..." (all 40 keys) turned into
/// "unknown key `x`; did you mean `y`?", or the key alone when nothing is close.
pub(super) fn did_you_mean(message: &str) -> String {
    let Some(start) = message.find("unknown field `") else {
        return message.to_string();
    };
    let rest = &message[start + "unknown field `".len()..];
    let Some(end) = rest.find('`') else {
        return message.to_string();
    };
    let unknown = &rest[..end];
    let expected: Vec<&str> = rest[end + 1..].split('`').skip(1).step_by(2).collect();
    let head = &message[..start];
    match closest(unknown, &expected) {
        Some(k) => format!("{head}unknown key `{unknown}`; did you mean `{k}`?"),
        None => format!("{head}unknown key `{unknown}` (docs/configuration.md lists the keys)"),
    }
}

/// The line (1-based) of the first `key = ...` after a table header, if any.
fn line_of(text: &str, key: &str) -> Option<usize> {
    let mut in_table = false;
    for (n, line) in text.lines().enumerate() {
        let l = line.trim_start();
        if l.starts_with('[') {
            in_table = true;
            continue;
        }
        let name = l.split('=').next().unwrap_or("").trim().trim_matches('"');
        if in_table && l.contains('=') && name == key {
            return Some(n + 1);
        }
    }
    None
}

/// A key of a `tags` table that is also a setting: TOML puts every `key = value` after a
/// `[table]` header into that table, so `region = "eu-west-1"` written after `[tags]` is a
/// tag, and the region silently not set. Refused, naming where the key belongs.
pub(super) fn settings_in_tags(
    text: &str,
    inputs: &Inputs,
) -> Result<(), (String, Option<String>)> {
    let refuse = |key: &str, table: &str, above: &str| {
        let at = line_of(text, key).map_or(String::new(), |n| format!("line {n}: "));
        (
            format!("{at}`{key}` is a setting, but written after {table} TOML makes it a tag of that table"),
            Some(format!(
                "move `{key} = ...` above {above} (TOML puts every key after a [table] header into that table); for a tag named {key}, pass --tag {key}=VALUE"
            )),
        )
    };
    for key in inputs.tags.iter().flat_map(|t| t.keys()) {
        if top_level_keys().contains(&key.as_str()) {
            return Err(refuse(key, "[tags]", "the first [table] or [[role]]"));
        }
    }
    for role in &inputs.role {
        for key in role.tags.iter().flat_map(|t| t.keys()) {
            // `name` may be a tag: a role table without its name is refused anyway.
            let setting = role_keys().contains(&key.as_str()) && key != "name";
            if setting || top_level_keys().contains(&key.as_str()) {
                return Err(refuse(
                    key,
                    "[role.tags]",
                    "[role.tags], inside its [[role]] table (or above the first table for a shared setting)",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::file::parse_file;

    #[test]
    fn the_keys_are_the_declared_fields() {
        assert!(top_level_keys().contains(&"repository-uuid"));
        assert!(top_level_keys().contains(&"region"));
        assert!(role_keys().contains(&"access"));
        assert!(!role_keys().contains(&"region"));
    }

    #[test]
    fn a_typo_names_the_closest_key() {
        assert_eq!(closest("role-nam", top_level_keys()), Some("role-name"));
        assert_eq!(
            closest("statebucket", top_level_keys()),
            Some("state-bucket")
        );
        assert_eq!(closest("completely-different", top_level_keys()), None);
    }

    #[test]
    fn a_typo_in_a_role_table_names_the_closest_role_key() {
        let err = parse_file("[[role]]\nname = \"a\"\nacess = \"plan\"\n").unwrap_err();
        assert!(
            err.contains("unknown key `acess`; did you mean `access`?"),
            "{err}"
        );
        assert!(!err.contains("`policy-arn`"), "{err}");
    }

    #[test]
    fn a_setting_after_tags_is_refused() {
        let err = parse_file("role-name = \"x\"\n[tags]\nteam = \"a\"\nregion = \"eu-west-1\"\n")
            .unwrap_err();
        assert!(err.starts_with("line 4: `region` is a setting"), "{err}");
        let err = parse_file(
            "[[role]]\nname = \"a\"\nrepository-uuid = [\"{x}\"]\n[role.tags]\nteam = \"a\"\naccess = \"plan\"\n",
        )
        .unwrap_err();
        assert!(err.contains("`access` is a setting"), "{err}");
        assert!(err.contains("[role.tags]"), "{err}");
    }

    #[test]
    fn ordinary_tags_pass() {
        let i = parse_file("region = \"eu-west-1\"\n[tags]\nteam = \"a\"\ncost-center = \"b\"\n")
            .unwrap();
        assert_eq!(i.region.as_deref(), Some("eu-west-1"));
        assert_eq!(i.tags.unwrap().len(), 2);
    }
}
