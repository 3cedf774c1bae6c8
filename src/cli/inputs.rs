//! The settings the flags give, in the shape the config file gives them ([`Inputs`]): each
//! command's groups of flags are serialized under their long names, which are the file's
//! keys, and read back by the file's own parser, the flags not given left out. So a flag
//! reaches the settings without a copy of its own; only `--tag K=V` (the file's `[tags]`
//! table) and `--ca-bundle` (a path, which need not be text) are carried by hand.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::command::{Cli, Command};
use crate::config::{validate, Inputs};
use crate::error::{Error, Result};

impl Cli {
    /// The inputs given on the command line (to be combined with the config file).
    pub fn inputs(&self) -> Result<Inputs> {
        let groups = match &self.command {
            Command::Discover { issuer } | Command::Thumbprint { issuer, .. } => {
                vec![json(issuer)?]
            }
            Command::Plan { setup, deploy, .. }
            | Command::Init { setup, deploy, .. }
            | Command::Status { setup, deploy, .. } => vec![json(setup)?, json(deploy)?],
            Command::Destroy { setup, .. } => {
                if let Some(name) = &setup.unlisted.0.stackset.stackset {
                    return Err(stackset_destroy_refused(name));
                }
                vec![json(setup)?]
            }
            Command::Render { setup, .. } => vec![json(setup)?],
            Command::Verify(args) => vec![json(args)?],
            Command::Pipeline(args) => vec![json(&args.setup)?],
            Command::OperatorPolicy(args) => vec![json(&args.setup)?, json(&args.deploy)?],
            Command::Completions { .. } | Command::Man { .. } => Vec::new(),
        };
        let mut inputs = given(std::iter::once(json(&self.global)?).chain(groups))?;
        inputs.ca_bundle.clone_from(&self.global.ca_bundle);
        Ok(inputs)
    }
}

/// A group of flags as a table keyed by their long names.
fn json<T: Serialize>(group: &T) -> Result<Value> {
    serde_json::to_value(group)
        .map_err(|e| Error::failure(format!("cannot read the flags as settings: {e}")))
}

/// The settings these groups give: the flags given (a switch on, a value or at least one
/// of a repeatable flag), parsed as the config file's keys.
fn given(groups: impl IntoIterator<Item = Value>) -> Result<Inputs> {
    let mut keys = Map::new();
    for group in groups {
        let Value::Object(group) = group else {
            continue;
        };
        keys.extend(group.into_iter().filter(|(_, v)| is_given(v)));
    }
    let tags = keys.remove("tag").map(tag_table).transpose()?;
    let mut inputs: Inputs = serde_json::from_value(Value::Object(keys))
        .map_err(|e| Error::failure(format!("a flag is not a key of bootstrap.toml: {e}")))?;
    inputs.tags = tags;
    Ok(inputs)
}

fn is_given(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::Array(values) => !values.is_empty(),
        _ => true,
    }
}

/// `--tag KEY=VALUE` pairs as the `[tags]` table; a key given twice is refused.
fn tag_table(pairs: Value) -> Result<BTreeMap<String, String>> {
    let pairs: Vec<String> = serde_json::from_value(pairs)
        .map_err(|e| Error::failure(format!("cannot read --tag: {e}")))?;
    let mut tags = BTreeMap::new();
    for t in &pairs {
        let (k, v) = validate::tag_pair(t)?;
        if tags.insert(k.clone(), v).is_some() {
            return Err(
                crate::usage!("--tag {k:?} given twice; each key takes one value")
                    .hint("keep one --tag KEY=VALUE per key"),
            );
        }
    }
    Ok(tags)
}

/// `destroy --stackset`: out of scope; the instances are deleted with the AWS CLI.
pub fn stackset_destroy_refused(name: &str) -> crate::error::Error {
    crate::error::Error::usage(format!(
        "destroy --stackset {name}: deleting a StackSet is not supported; delete its instances, then the StackSet, with the AWS CLI"
    ))
    .hint("aws cloudformation delete-stack-instances, then delete-stack-set (docs/cloudformation.md, \"Removing a StackSet\")")
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;
    use crate::config::{role_keys, top_level_keys, FILE_ONLY_KEYS};

    /// Flags that steer one run and are no setting (the file refuses them).
    const RUN_ONLY: &[&str] = &["help", "config", "quiet", "verbose", "yes", "prune"];
    /// Keys no flag gives beside the file's own: `[tags]` (`--tag KEY=VALUE`), and a role
    /// table's name and access.
    const NO_FLAG: &[&str] = &["tags", "name", "access"];

    /// The long names of `init`'s flags that are settings.
    fn init_flags() -> Vec<clap::Arg> {
        let mut cli = Cli::command();
        cli.build();
        let init = cli.find_subcommand("init").expect("init").clone();
        init.get_arguments()
            .filter(|a| a.get_long().is_some_and(|l| !RUN_ONLY.contains(&l)))
            .cloned()
            .collect()
    }

    /// `bootstrap init` with these flags, each given a value it parses.
    fn init_with(flags: &[&clap::Arg]) -> Result<Inputs> {
        let mut line = vec!["bootstrap".to_string(), "init".to_string()];
        for arg in flags {
            line.push(format!("--{}", arg.get_long().unwrap_or_default()));
            if arg.get_action().takes_values() {
                let value = match arg.get_possible_values().first() {
                    Some(v) => v.get_name().to_string(),
                    None if arg.get_long() == Some("tag") => "team=a".to_string(),
                    None => "1".to_string(),
                };
                line.push(value);
            }
        }
        Cli::try_parse_from(line).expect("the line parses").inputs()
    }

    #[test]
    fn every_setting_flag_is_a_top_level_key() {
        let flags = init_flags();
        let (alone, together): (Vec<&clap::Arg>, Vec<&clap::Arg>) = flags
            .iter()
            .partition(|a| matches!(a.get_long(), Some("no-lock-table" | "org-units")));
        for group in [alone, together] {
            init_with(&group).unwrap_or_else(|e| panic!("{}", e.message));
        }
        for arg in &flags {
            let long = arg.get_long().unwrap_or_default();
            let key = if long == "tag" { "tags" } else { long };
            assert!(top_level_keys().contains(&key), "--{long} has no key {key}");
        }
    }

    #[test]
    fn every_key_but_the_file_only_ones_is_a_flag() {
        let flags: Vec<String> = init_flags()
            .iter()
            .filter_map(|a| a.get_long().map(str::to_string))
            .collect();
        for key in top_level_keys().iter().chain(role_keys()) {
            assert!(
                FILE_ONLY_KEYS.contains(key)
                    || NO_FLAG.contains(key)
                    || flags.iter().any(|f| f == key),
                "key {key} has no flag of init"
            );
        }
    }

    #[test]
    fn flags_become_the_file_keys() {
        let cli = Cli::try_parse_from([
            "bootstrap",
            "plan",
            "--noncurrent-days",
            "30",
            "--allow-admin",
            "--mode",
            "cloudformation",
            "--tag",
            "team=a",
            "--repository-uuid",
            "{x}",
        ])
        .unwrap();
        let i = cli.inputs().unwrap();
        assert_eq!(i.noncurrent_days, Some(30));
        assert_eq!(i.allow_admin, Some(true));
        assert_eq!(i.plan_apply, None);
        assert!(matches!(i.mode, Some(crate::config::Given::File(ref m)) if m == "cloudformation"));
        assert_eq!(i.repository_uuid, vec!["{x}".to_string()]);
        assert_eq!(i.tags.unwrap().get("team").map(String::as_str), Some("a"));
    }
}
