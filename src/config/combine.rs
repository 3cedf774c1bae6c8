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
/// kebab-case) and its [`Combine`], field by field. Its fields come in two groups, then the
/// role settings (`role_settings!` in `inputs.rs`), which go between them.
macro_rules! options {
    (
        $(#[$meta:meta])*
        pub struct $name:ident
        { $($(#[$a_meta:meta])* pub $a:ident: $a_ty:ty,)* }
        { $($(#[$b_meta:meta])* pub $b:ident: $b_ty:ty,)* }
        { $($(#[$r_meta:meta])* pub $r:ident: $r_ty:ty,)* }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$a_meta])* pub $a: $a_ty,)*
            $($(#[$r_meta])* pub $r: $r_ty,)*
            $($(#[$b_meta])* pub $b: $b_ty,)*
        }

        impl $crate::config::combine::Combine for $name {
            fn is_given(&self) -> bool {
                false $(|| self.$a.is_given())* $(|| self.$r.is_given())* $(|| self.$b.is_given())*
            }

            fn combine(self, other: Self) -> Self {
                Self {
                    $($a: self.$a.combine(other.$a),)*
                    $($r: self.$r.combine(other.$r),)*
                    $($b: self.$b.combine(other.$b),)*
                }
            }
        }
    };
}

pub(super) use options;
