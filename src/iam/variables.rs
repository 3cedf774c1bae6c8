//! Policy variables (`${aws:username}`, `${key, 'default'}`) and the `${*}`, `${?}`, `${$}`
//! escapes of policy version 2012-10-17.

use super::context::Context;
use super::pattern::{wildcard_pieces, Piece};

/// A policy value after policy-variable substitution.
pub(super) enum Resolved {
    Pieces(Vec<Piece>),
    /// A `${key}` whose key has no single value in the request and no default.
    Unresolved(String),
}

/// Resolves `${...}` policy variables (policy version 2012-10-17 only): `${*}`, `${?}` and
/// `${$}` are literal characters, `${key}` / `${key, 'default'}` take the request's value.
pub(super) fn resolve(raw: &str, ctx: &Context, variables: bool) -> Resolved {
    if !variables || !raw.contains("${") {
        return Resolved::Pieces(wildcard_pieces(raw));
    }
    let mut pieces = Vec::new();
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        let (before, after_dollar) = rest.split_at(start);
        pieces.extend(wildcard_pieces(before));
        let body_and_more = after_dollar.get(2..).unwrap_or("");
        let Some(end) = body_and_more.find('}') else {
            // No closing brace: literal text.
            pieces.extend(after_dollar.chars().map(Piece::Lit));
            return Resolved::Pieces(pieces);
        };
        let body = body_and_more.get(..end).unwrap_or("");
        rest = body_and_more.get(end + 1..).unwrap_or("");
        match body {
            "*" => pieces.push(Piece::Lit('*')),
            "?" => pieces.push(Piece::Lit('?')),
            "$" => pieces.push(Piece::Lit('$')),
            _ => {
                let (key, default) = match body.split_once(',') {
                    Some((k, d)) => {
                        let d = d.trim();
                        let d = d
                            .strip_prefix('\'')
                            .and_then(|d| d.strip_suffix('\''))
                            .unwrap_or(d);
                        (k.trim(), Some(d))
                    }
                    None => (body.trim(), None),
                };
                match (ctx.get(key), default) {
                    ([value], _) => pieces.extend(value.chars().map(Piece::Lit)),
                    (_, Some(d)) => pieces.extend(d.chars().map(Piece::Lit)),
                    _ => return Resolved::Unresolved(format!("${{{body}}}")),
                }
            }
        }
    }
    pieces.extend(wildcard_pieces(rest));
    Resolved::Pieces(pieces)
}

/// The literal string a resolved value stands for in a non-wildcard comparison.
pub(super) fn literal(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Lit(c) => *c,
            Piece::Star => '*',
            Piece::One => '?',
        })
        .collect()
}
