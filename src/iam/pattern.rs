//! IAM's wildcards: `*` (any sequence, including empty) and `?` (one character), matched
//! without recursion.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Piece {
    Lit(char),
    /// `*`: any sequence, including empty.
    Star,
    /// `?`: exactly one character.
    One,
}

/// Glob match without recursion: O(pattern × text) worst case.
pub(super) fn glob(pattern: &[Piece], text: &[char]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(t) {
        match pattern.get(p) {
            Some(Piece::Star) => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(Piece::One) => {
                p += 1;
                t += 1;
            }
            Some(Piece::Lit(l)) if *l == c => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((bp, bt)) => {
                    p = bp + 1;
                    t = bt + 1;
                    backtrack = Some((bp, bt + 1));
                }
                None => return false,
            },
        }
    }
    while pattern.get(p) == Some(&Piece::Star) {
        p += 1;
    }
    p == pattern.len()
}

pub(super) fn wildcard_pieces(s: &str) -> Vec<Piece> {
    s.chars()
        .map(|c| match c {
            '*' => Piece::Star,
            '?' => Piece::One,
            c => Piece::Lit(c),
        })
        .collect()
}
