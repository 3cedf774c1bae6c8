//! The two templates and the renderer that fills them: placeholders, `{{#if}}` sections,
//! and the quoting each file needs (YAML double-quoted scalars, HCL strings).

use std::collections::BTreeMap;

/// Render a template: `{{name}}` is replaced by a value (continuation lines of a multi-line
/// value get the indentation of the line the placeholder is on); lines holding only
/// `{{#if flag}}`, `{{#unless flag}}`, `{{/if}}` or `{{/unless}}` keep or drop the lines
/// between them. Unknown names are an error, so a template and its caller cannot drift apart.
pub fn render(
    template: &str,
    vars: &BTreeMap<&str, String>,
    flags: &BTreeMap<&str, bool>,
) -> std::result::Result<String, String> {
    let mut out = String::new();
    let mut keep: Vec<bool> = Vec::new();
    for line in template.lines() {
        let t = line.trim();
        if let Some(name) = t
            .strip_prefix("{{#if ")
            .or_else(|| t.strip_prefix("{{#unless "))
            .and_then(|r| r.strip_suffix("}}"))
        {
            let value = *flags
                .get(name.trim())
                .ok_or_else(|| format!("unknown template flag `{name}`"))?;
            keep.push(if t.starts_with("{{#if ") {
                value
            } else {
                !value
            });
            continue;
        }
        if t == "{{/if}}" || t == "{{/unless}}" {
            keep.pop().ok_or("unbalanced {{/if}} in a template")?;
            continue;
        }
        if keep.iter().any(|k| !k) {
            continue;
        }
        let indent: String = line.chars().take_while(|c| *c == ' ').collect();
        let mut rest = line;
        let mut rendered = String::new();
        while let Some(start) = rest.find("{{") {
            let end = rest[start..]
                .find("}}")
                .ok_or_else(|| format!("unclosed placeholder in `{line}`"))?;
            let name = &rest[start + 2..start + end];
            let value = vars
                .get(name)
                .ok_or_else(|| format!("unknown template variable `{name}`"))?;
            rendered.push_str(&rest[..start]);
            rendered.push_str(&value.replace('\n', &format!("\n{indent}")));
            rest = &rest[start + end + 2..];
        }
        rendered.push_str(rest);
        out.push_str(rendered.trim_end());
        out.push('\n');
    }
    if !keep.is_empty() {
        return Err("unclosed {{#if}} in a template".to_string());
    }
    Ok(out)
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
pub(super) fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// An HCL quoted string: escapes quotes, backslashes and template sequences.
pub(super) fn hcl_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out.replace("${", "$${").replace("%{", "%%{")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&'static str, &str)]) -> BTreeMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn placeholders_and_sections() {
        let t = "a: {{x}}\n{{#if on}}\nb: 1\n{{/if}}\n{{#unless on}}\nc: 2\n{{/unless}}\n";
        let flags = [("on", true)].into_iter().collect();
        assert_eq!(
            render(t, &vars(&[("x", "1")]), &flags).unwrap(),
            "a: 1\nb: 1\n"
        );
        let flags = [("on", false)].into_iter().collect();
        assert_eq!(
            render(t, &vars(&[("x", "1")]), &flags).unwrap(),
            "a: 1\nc: 2\n"
        );
    }

    #[test]
    fn multiline_values_keep_indentation() {
        let t = "steps:\n    {{block}}\n";
        let out = render(
            t,
            &vars(&[("block", "oidc:\n  audiences:")]),
            &BTreeMap::new(),
        );
        assert_eq!(out.unwrap(), "steps:\n    oidc:\n      audiences:\n");
    }

    #[test]
    fn unknown_names_are_errors() {
        assert!(render("{{nope}}", &BTreeMap::new(), &BTreeMap::new()).is_err());
        assert!(render("{{#if nope}}\n{{/if}}", &BTreeMap::new(), &BTreeMap::new()).is_err());
        let flags = [("on", true)].into_iter().collect();
        assert!(render("{{#if on}}\n", &BTreeMap::new(), &flags).is_err());
        assert!(render("{{/if}}\n", &BTreeMap::new(), &BTreeMap::new()).is_err());
    }

    #[test]
    fn hcl_strings_are_escaped() {
        assert_eq!(hcl_str("a\"b"), "\"a\\\"b\"");
        assert_eq!(hcl_str("${x}"), "\"$${x}\"");
    }
}
