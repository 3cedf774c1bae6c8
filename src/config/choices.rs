//! The settings that are one of a few words (`--output`, `--color`, `--mode`, render's
//! `--format`) as config's own enums, each word declared once ([`FileWord`]): `cli` parses
//! the flags with them. A word as given, by the file or a flag ([`Given::File`]), is parsed
//! when the settings are built, so a flag given over a bad file value still wins and the
//! error names the flag.

use serde::{Deserialize, Deserializer};

use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
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

/// A choice as it was given: typed (from code), or the word of the file or a flag.
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

/// An enum named by a word, in the config file and on the command line: its words are
/// declared once here, and the flag's parser (`cli`) and the file's are built from them.
pub trait FileWord: Copy + 'static {
    /// The flag of the same name, for messages.
    const FLAG: &'static str;
    /// Every value, in the order the words are listed.
    const ALL: &'static [Self];
    /// The word naming this value.
    fn word(self) -> &'static str;

    fn from_word(word: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.word() == word)
    }

    /// The words accepted, for messages ("auto, always or never").
    fn expected() -> String {
        let words: Vec<&str> = Self::ALL.iter().map(|v| v.word()).collect();
        match words.split_last() {
            Some((last, [])) => (*last).to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

impl<T: FileWord> Given<T> {
    /// The value; a file word that names none is a usage error naming the flag.
    pub fn value(&self) -> Result<T> {
        match self {
            Given::Flag(value) => Ok(*value),
            Given::File(word) => T::from_word(word)
                .ok_or_else(|| crate::usage!("{} {word:?}: expected {}", T::FLAG, T::expected())),
        }
    }
}

/// The words of a [`FileWord`] enum, one per variant, in order.
macro_rules! words {
    ($t:ident, $flag:literal, $($v:ident => $w:literal),+) => {
        impl FileWord for $t {
            const FLAG: &'static str = $flag;
            const ALL: &'static [Self] = &[$($t::$v),+];
            fn word(self) -> &'static str {
                match self {
                    $($t::$v => $w),+
                }
            }
        }
    };
}

words!(OutputFormat, "--output", Text => "text", Json => "json");
words!(ColorChoice, "--color", Auto => "auto", Always => "always", Never => "never");
words!(Mode, "--mode", Direct => "direct", Cloudformation => "cloudformation");
words!(TemplateFormat, "--format", Yaml => "yaml", Json => "json");

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
