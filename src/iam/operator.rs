//! Condition operators: the base comparison (`StringLike`, `IpAddress`, `Null`, ...), the
//! `ForAnyValue:`/`ForAllValues:` prefixes and the `IfExists` suffix, and the boolean values
//! `Bool` and `Null` read.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SetOp {
    Single,
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Base {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    IpAddress,
    NotIpAddress,
    Bool,
    Null,
}

impl Base {
    #[allow(
        clippy::match_same_arms,
        reason = "a table of IAM's names: the ARN operators say which string operator they are"
    )]
    fn parse(name: &str) -> Option<Base> {
        Some(match name {
            "StringEquals" => Base::StringEquals,
            "StringNotEquals" => Base::StringNotEquals,
            "StringEqualsIgnoreCase" => Base::StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => Base::StringNotEqualsIgnoreCase,
            "StringLike" => Base::StringLike,
            "StringNotLike" => Base::StringNotLike,
            // ARN operators compare like StringLike (wildcards, case-sensitive); IAM also
            // keeps `*` within one ARN segment, which the values here never need.
            "ArnEquals" | "ArnLike" => Base::StringLike,
            "ArnNotEquals" | "ArnNotLike" => Base::StringNotLike,
            "IpAddress" => Base::IpAddress,
            "NotIpAddress" => Base::NotIpAddress,
            "Bool" => Base::Bool,
            "Null" => Base::Null,
            _ => return None,
        })
    }

    pub(super) fn negated(self) -> bool {
        matches!(
            self,
            Base::StringNotEquals
                | Base::StringNotEqualsIgnoreCase
                | Base::StringNotLike
                | Base::NotIpAddress
        )
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Op {
    pub(super) set: SetOp,
    pub(super) base: Base,
    pub(super) if_exists: bool,
}

pub(super) fn parse_operator(name: &str) -> Option<Op> {
    let (set, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
        (SetOp::ForAnyValue, r)
    } else if let Some(r) = name.strip_prefix("ForAllValues:") {
        (SetOp::ForAllValues, r)
    } else {
        (SetOp::Single, name)
    };
    let (rest, if_exists) = match rest.strip_suffix("IfExists") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let base = Base::parse(rest)?;
    if base == Base::Null && (if_exists || set != SetOp::Single) {
        return None;
    }
    Some(Op {
        set,
        base,
        if_exists,
    })
}

/// `true` or `false`, in any letter case.
pub(super) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}
