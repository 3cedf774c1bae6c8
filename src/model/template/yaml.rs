//! A small YAML writer for templates people review: keys in the order they were inserted,
//! comments above the keys they explain, block style throughout, and strings quoted whenever
//! a YAML parser could read them as anything but a string.

use std::collections::HashMap;
use std::fmt::Write;

use serde_json::Value;

/// Comments to write above keys, by path (`["Resources", "StateBucket", "DeletionPolicy"]`;
/// array elements are named by their index).
#[derive(Debug, Default, Clone)]
pub(super) struct Comments {
    by_path: HashMap<Vec<String>, Vec<String>>,
}

impl Comments {
    /// Add a comment (one or more lines) above the key at `path`.
    pub(super) fn add(&mut self, path: &[&str], text: &str) {
        let lines = self
            .by_path
            .entry(path.iter().map(ToString::to_string).collect())
            .or_default();
        lines.extend(text.lines().map(str::to_string));
    }

    fn get(&self, path: &[String]) -> Option<&Vec<String>> {
        self.by_path.get(path)
    }
}

/// The whole document: `header` lines as comments first, then `value` (a mapping).
pub(super) fn to_string(value: &Value, header: &[String], comments: &Comments) -> String {
    let mut out = String::new();
    for line in header {
        comment_line(&mut out, 0, line);
    }
    let mut path = Vec::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0, &mut path, comments),
        other => {
            let _ = writeln!(out, "{}", inline(other));
        }
    }
    out
}

fn comment_line(out: &mut String, indent: usize, line: &str) {
    if line.is_empty() {
        let _ = writeln!(out, "{:indent$}#", "");
    } else {
        let _ = writeln!(out, "{:indent$}# {line}", "");
    }
}

fn write_comments(out: &mut String, indent: usize, path: &[String], comments: &Comments) {
    if let Some(lines) = comments.get(path) {
        for l in lines {
            comment_line(out, indent, l);
        }
    }
}

/// A value that fits on the line of its key: scalars and empty collections.
fn is_inline(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => true,
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

fn write_map(
    out: &mut String,
    map: &serde_json::Map<String, Value>,
    indent: usize,
    path: &mut Vec<String>,
    comments: &Comments,
) {
    for (k, v) in map {
        path.push(k.clone());
        write_comments(out, indent, path, comments);
        write_entry(
            out,
            &format!("{:indent$}{}:", "", key(k)),
            v,
            indent,
            path,
            comments,
        );
        path.pop();
    }
}

/// Write `prefix` (a key with its colon) and the value: on the same line when it is inline,
/// else as a nested block.
fn write_entry(
    out: &mut String,
    prefix: &str,
    v: &Value,
    indent: usize,
    path: &mut Vec<String>,
    comments: &Comments,
) {
    if is_inline(v) {
        let _ = writeln!(out, "{prefix} {}", inline(v));
        return;
    }
    let _ = writeln!(out, "{prefix}");
    match v {
        Value::Object(m) => write_map(out, m, indent + 2, path, comments),
        Value::Array(a) => write_seq(out, a, indent + 2, path, comments),
        _ => {}
    }
}

fn write_seq(
    out: &mut String,
    items: &[Value],
    indent: usize,
    path: &mut Vec<String>,
    comments: &Comments,
) {
    for (i, item) in items.iter().enumerate() {
        path.push(i.to_string());
        write_comments(out, indent, path, comments);
        match item {
            Value::Object(m) if !m.is_empty() => {
                // The first key shares the dash's line; the others align with it.
                for (j, (k, v)) in m.iter().enumerate() {
                    path.push(k.clone());
                    let prefix = if j == 0 {
                        write_comments(out, indent, path, comments);
                        format!("{:indent$}- {}:", "", key(k))
                    } else {
                        write_comments(out, indent + 2, path, comments);
                        format!("{:w$}{}:", "", key(k), w = indent + 2)
                    };
                    write_entry(out, &prefix, v, indent + 2, path, comments);
                    path.pop();
                }
            }
            Value::Array(a) if !a.is_empty() => {
                let _ = writeln!(out, "{:indent$}-", "");
                write_seq(out, a, indent + 2, path, comments);
            }
            other => {
                let _ = writeln!(out, "{:indent$}- {}", "", inline(other));
            }
        }
        path.pop();
    }
}

fn key(k: &str) -> String {
    scalar(k)
}

/// Words YAML 1.1 parsers read as booleans or null.
const RESERVED: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
];

/// A string as a YAML scalar: plain when that is unambiguous, else double-quoted with JSON
/// escapes (a JSON string is a valid YAML double-quoted scalar).
pub(super) fn scalar(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
    }
}

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '/') {
        return false;
    }
    if RESERVED.iter().any(|r| s.eq_ignore_ascii_case(r)) {
        return false;
    }
    if s.ends_with(' ') || s.ends_with(':') || s.contains(": ") || s.contains(" #") {
        return false;
    }
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || " -_./:@+=()*<>".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "",
            "2012-10-17",
            "true",
            "No",
            "null",
            "{repo}:*",
            "*",
            "a: b",
            "a #b",
            "123",
            "${AWS::Region}",
            "x,y",
            "-x",
            "tail ",
        ] {
            assert!(scalar(s).starts_with('"'), "{s:?} -> {}", scalar(s));
        }
        for s in [
            "sts:AssumeRoleWithWebIdentity",
            "arn:aws:s3:::b/*",
            "AES256",
            "Retain",
        ] {
            assert_eq!(scalar(s), s);
        }
    }

    #[test]
    fn layout_with_comments() {
        let v = json!({
            "A": {"B": [{"C": 1, "D": ["x", "z"]}, "plain"], "E": {}},
            "F": "2010-09-09",
        });
        let mut c = Comments::default();
        c.add(&["A", "B"], "why B");
        c.add(&["A", "B", "0", "D"], "why D");
        let text = to_string(&v, &["head".into()], &c);
        assert_eq!(
            text,
            "# head\nA:\n  # why B\n  B:\n    - C: 1\n      # why D\n      D:\n        - x\n        - z\n    - plain\n  E: {}\nF: \"2010-09-09\"\n"
        );
    }
}
