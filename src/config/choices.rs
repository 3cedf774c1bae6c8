//! The settings that are one of a few words (`--output`, `--color`, `--mode`, render's
//! `--format`) as config's own enums. Flags arrive typed; the config file gives text, kept as
//! [`Given::File`] and parsed by the enum's [`FileWord`] parser when the settings are built,
//! so a flag given over a bad file value still wins and the error names the flag.

use serde::{Deserialize, Deserializer};

use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Direct,
    Cloudformation,
}

/// `render --format`: commented YAML for people, or JSON (a flag only, never in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateFormat {
    Yaml,
    Json,
}

/// A choice as it was given: typed from a flag, or the config file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given<T> {
    Flag(T),
    File(String),
}

/// The file holds a string; whether it names a value is decided by [`Given::value`].
impl<'de, T> Deserialize<'de> for Given<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(deserializer).map(Given::File)
    }
}

/// An enum the config file names by a word: the one parser of the file's text for it.
pub trait FileWord: Copy {
    /// The flag of the same name, for messages.
    const FLAG: &'static str;
    /// The words accepted, for messages.
    const EXPECTED: &'static str;
    fn from_word(word: &str) -> Option<Self>;
}

impl<T: FileWord> Given<T> {
    /// The value; a file word that names none is a usage error naming the flag.
    pub fn value(&self) -> Result<T> {
        match self {
            Given::Flag(value) => Ok(*value),
            Given::File(word) => T::from_word(word)
                .ok_or_else(|| crate::usage!("{} {word:?}: expected {}", T::FLAG, T::EXPECTED)),
        }
    }
}

impl FileWord for OutputFormat {
    const FLAG: &'static str = "--output";
    const EXPECTED: &'static str = "text or json";
    fn from_word(word: &str) -> Option<Self> {
        match word {
            "text" => Some(OutputFormat::Text),
            "json" => Some(OutputFormat::Json),
            _ => None,
        }
    }
}

impl FileWord for ColorChoice {
    const FLAG: &'static str = "--color";
    const EXPECTED: &'static str = "auto, always or never";
    fn from_word(word: &str) -> Option<Self> {
        match word {
            "auto" => Some(ColorChoice::Auto),
            "always" => Some(ColorChoice::Always),
            "never" => Some(ColorChoice::Never),
            _ => None,
        }
    }
}

impl FileWord for Mode {
    const FLAG: &'static str = "--mode";
    const EXPECTED: &'static str = "direct or cloudformation";
    fn from_word(word: &str) -> Option<Self> {
        match word {
            "direct" => Some(Mode::Direct),
            "cloudformation" => Some(Mode::Cloudformation),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_words_are_parsed_and_bad_ones_name_the_flag() {
        assert_eq!(
            Given::<Mode>::File("cloudformation".into())
                .value()
                .unwrap(),
            Mode::Cloudformation
        );
        assert_eq!(
            Given::Flag(ColorChoice::Never).value().unwrap(),
            ColorChoice::Never
        );
        let e = Given::<OutputFormat>::File("yaml".into())
            .value()
            .unwrap_err();
        assert_eq!(e.message, "--output \"yaml\": expected text or json");
        assert_eq!(e.exit_code(), 64);
        let e = Given::<Mode>::File("Direct".into()).value().unwrap_err();
        assert_eq!(
            e.message,
            "--mode \"Direct\": expected direct or cloudformation"
        );
        let e = Given::<ColorChoice>::File("yes".into())
            .value()
            .unwrap_err();
        assert_eq!(e.message, "--color \"yes\": expected auto, always or never");
    }
}
