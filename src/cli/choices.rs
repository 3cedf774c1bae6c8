//! Config's word enums (`--output`, `--color`, `--mode`, render's `--format`) as clap value
//! enums: the words are config's own ([`FileWord`]), so the flag, its `--help` and the file
//! key accept the same ones.

use clap::builder::PossibleValue;
use clap::ValueEnum;

use crate::config::{ColorChoice, FileWord, Mode, OutputFormat, TemplateFormat};

macro_rules! value_enum {
    ($($t:ty),+) => {
        $(
            impl ValueEnum for $t {
                fn value_variants<'a>() -> &'a [Self] {
                    <$t as FileWord>::ALL
                }

                fn to_possible_value(&self) -> Option<PossibleValue> {
                    Some(PossibleValue::new(self.word()))
                }
            }
        )+
    };
}

value_enum!(OutputFormat, ColorChoice, Mode, TemplateFormat);
