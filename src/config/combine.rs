//! [`Combine`]: how settings from two places merge, one rule per kind of value, so that
//! `flags.combine(file)` needs no list of fields. A value given beats one left out; a list
//! given at least once replaces the other's whole list; tables merge key by key, the first
//! one's values winning.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::choices::Given;

pub trait Combine: Sized {
    /// Whether a value was given (for a list, at least one).
    fn is_given(&self) -> bool;

    /// `self`, with what it leaves out taken from `other`.
    #[must_use]
    fn combine(self, other: Self) -> Self {
        if self.is_given() {
            self
        } else {
            other
        }
    }
}

macro_rules! first_given {
    ($($t:ty),+) => {
        $(
            impl Combine for Option<$t> {
                fn is_given(&self) -> bool {
                    self.is_some()
                }
            }
        )+
    };
}

first_given!(String, bool, i64, u64, PathBuf);

impl<T> Combine for Option<Given<T>> {
    fn is_given(&self) -> bool {
        self.is_some()
    }
}

impl<T> Combine for Vec<T> {
    fn is_given(&self) -> bool {
        !self.is_empty()
    }
}

impl Combine for Option<BTreeMap<String, String>> {
    fn is_given(&self) -> bool {
        self.is_some()
    }

    fn combine(self, other: Self) -> Self {
        match (self, other) {
            (Some(mine), Some(mut theirs)) => {
                theirs.extend(mine);
                Some(theirs)
            }
            (mine, theirs) => mine.or(theirs),
        }
    }
}

/// A struct of settings, declared once: the struct itself (its fields are the file's keys,
/// kebab-case), its [`Combine`], field by field, and its `defaults()`, the layer merged
/// under every other: a key declared `= value` has that default, the others none.
///
/// The fields come in groups, each declared by the part of the settings that checks it
/// (`config/settings/`): a group macro is called with the list of the macros still to run
/// and what is declared so far, adds its group and calls the next; `options!` ends the list.
macro_rules! options {
    (
        []
        $(#[$meta:meta])*
        pub struct $name:ident
        $({ $($(#[$f_meta:meta])* pub $f:ident: $f_ty:ty $(= $default:expr)?,)* })*
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($($(#[$f_meta])* pub $f: $f_ty,)*)*
        }

        impl $crate::config::combine::Combine for $name {
            fn is_given(&self) -> bool {
                false $($(|| self.$f.is_given())*)*
            }

            fn combine(self, other: Self) -> Self {
                Self {
                    $($($f: self.$f.combine(other.$f),)*)*
                }
            }
        }

        impl $name {
            /// The defaults of the keys that have one (the layer under the file and flags).
            pub fn defaults() -> Self {
                Self {
                    $($($($f: Some(From::from($default)),)?)*)*
                    ..Self::default()
                }
            }
        }
    };
}

pub(super) use options;
