//! [`Source`]: where the settings came from, the flags alone or a config file with its keys.

use std::path::PathBuf;

/// Where the settings came from, for the hints that say how to change one: a flag given
/// at least once replaces the file's whole list, so a file in use is changed in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    /// The configuration file in use and its top-level keys.
    pub file: Option<(PathBuf, Vec<String>)>,
}

impl Source {
    pub const FLAGS: Source = Source { file: None };

    /// How to add `value` to the list setting `key` (of the configured role `role`): in the
    /// file when it holds that setting or the `[[role]]` tables, with the flag otherwise.
    pub fn add(&self, key: &str, value: &str, role: &str) -> String {
        match &self.file {
            Some((path, keys)) if keys.iter().any(|k| k == key) => {
                format!("add {value} to {key} in {}", path.display())
            }
            Some((path, keys)) if keys.iter().any(|k| k == "role") => format!(
                "add {value} to {key} in the [[role]] table of {role} in {}",
                path.display()
            ),
            _ => format!("add --{key} {value}"),
        }
    }
}
