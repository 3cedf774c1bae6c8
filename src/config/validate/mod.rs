//! Parsers for every kind of input value. Each returns the normalised value or a usage error
//! that says what is wrong and what is accepted. None of them panics on any input.

mod arns;
mod bitbucket;
mod identity;
mod kms;
mod names;
mod ranges;
#[cfg(test)]
mod tests;

pub use arns::*;
pub use bitbucket::*;
pub use identity::*;
pub use kms::*;
pub use names::*;
pub use ranges::*;

use crate::error::{Error, Result};

fn bad(flag: &str, value: &str, what: &str) -> Error {
    Error::usage(format!("{flag} {value:?}: {what}"))
}

/// Shorten user input for messages, so a pasted megabyte does not become the error line.
pub fn shown(value: &str) -> String {
    let mut s: String = value.chars().take(80).collect();
    if value.chars().count() > 80 {
        s.push('…');
    }
    s
}

/// Each of `values` parsed in order (the first error wins), keeping the first of equal
/// results: a value given twice counts once.
pub fn unique<T: PartialEq>(
    values: &[String],
    mut parse: impl FnMut(&str) -> Result<T>,
) -> Result<Vec<T>> {
    let mut parsed = Vec::new();
    for value in values {
        let p = parse(value)?;
        if !parsed.contains(&p) {
            parsed.push(p);
        }
    }
    Ok(parsed)
}
