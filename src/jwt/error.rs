//! Why a token could not be decoded or its signature could not be verified, in words that
//! say what to do about it.

use std::fmt;

use super::{Part, MAX_TOKEN_LEN};

/// Why a token could not be decoded or its signature could not be verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    Empty,
    TooLarge { len: usize },
    WrongSegmentCount { found: usize },
    EmptySegment { part: Part },
    Base64 { part: Part },
    Json { part: Part, detail: String },
    NotObject { part: Part },
    MissingAlg,
    InvalidHeaderField { field: &'static str },
    AlgNone,
    AlgHmac { alg: String },
    AlgEcdsa { alg: String },
    AlgPss { alg: String },
    AlgUnsupported { alg: String },
    MissingSignature,
    MissingKid { known: Vec<String> },
    UnknownKid { kid: String, known: Vec<String> },
    KeyNotRsa { kid: String, kty: String },
    KeyAlgMismatch { kid: String, alg: String },
    BadKey { kid: String, reason: String },
    SignatureMismatch { kid: String },
    Jwks { detail: String },
}

fn list_or_none(known: &[String]) -> String {
    if known.is_empty() {
        "none (the key set is empty)".to_string()
    } else {
        known
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl JwtError {
    /// The token's `alg` is refused, before any key is looked at.
    pub fn is_refused_algorithm(&self) -> bool {
        matches!(
            self,
            JwtError::AlgNone
                | JwtError::AlgHmac { .. }
                | JwtError::AlgEcdsa { .. }
                | JwtError::AlgPss { .. }
                | JwtError::AlgUnsupported { .. }
        )
    }

    /// No usable key: no `kid`, a `kid` the JWKS does not have, or a key that cannot verify
    /// RS256.
    pub fn is_unusable_key(&self) -> bool {
        matches!(
            self,
            JwtError::MissingKid { .. }
                | JwtError::UnknownKid { .. }
                | JwtError::KeyNotRsa { .. }
                | JwtError::KeyAlgMismatch { .. }
                | JwtError::BadKey { .. }
        )
    }
}

impl fmt::Display for JwtError {
    #[allow(clippy::too_many_lines, reason = "one message per error variant")]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwtError::Empty => write!(
                f,
                "the token is empty: pass the value of $BITBUCKET_STEP_OIDC_TOKEN from a step with `oidc: true`"
            ),
            JwtError::TooLarge { len } => write!(
                f,
                "the token is {len} bytes, far larger than any Bitbucket OIDC token (limit {MAX_TOKEN_LEN}): pass only the value of $BITBUCKET_STEP_OIDC_TOKEN"
            ),
            JwtError::WrongSegmentCount { found: 5 } => write!(
                f,
                "the token has 5 dot-separated parts, which is an encrypted JWE, not a signed JWT: pass the value of $BITBUCKET_STEP_OIDC_TOKEN"
            ),
            JwtError::WrongSegmentCount { found } => write!(
                f,
                "the token has {found} dot-separated part(s) but a JWT has exactly 3 (header.payload.signature): pass the complete, unmodified value of $BITBUCKET_STEP_OIDC_TOKEN"
            ),
            JwtError::EmptySegment { part } => write!(
                f,
                "the token's {part} segment is empty: the token was truncated or is not a JWT; copy the complete value of $BITBUCKET_STEP_OIDC_TOKEN"
            ),
            JwtError::Base64 { part } => write!(
                f,
                "the token's {part} segment is not valid base64url: the token was truncated or altered in transit; copy the complete value of $BITBUCKET_STEP_OIDC_TOKEN"
            ),
            JwtError::Json { part, detail } => write!(
                f,
                "the token's {part} is not valid JSON ({detail}): this is not a Bitbucket OIDC token; pass the value of $BITBUCKET_STEP_OIDC_TOKEN"
            ),
            JwtError::NotObject { part } => write!(
                f,
                "the token's {part} is JSON but not an object: this is not a Bitbucket OIDC token; pass the value of $BITBUCKET_STEP_OIDC_TOKEN"
            ),
            JwtError::MissingAlg => write!(
                f,
                "the token header has no `alg` string, so its signature cannot be checked: pass an RS256 token issued by Bitbucket Pipelines"
            ),
            JwtError::InvalidHeaderField { field } => write!(
                f,
                "the token header field `{field}` is not a string: pass an unmodified token issued by Bitbucket Pipelines"
            ),
            JwtError::AlgNone => write!(
                f,
                "alg none is never accepted: an unsigned token proves nothing; use the RS256 token Bitbucket Pipelines issues in $BITBUCKET_STEP_OIDC_TOKEN"
            ),
            JwtError::AlgHmac { alg } => write!(
                f,
                "{alg} (shared-secret) tokens are refused: Bitbucket signs with RS256, so this token was not issued by Bitbucket Pipelines"
            ),
            JwtError::AlgEcdsa { alg } => write!(
                f,
                "{alg} (ECDSA) tokens are refused: Bitbucket signs with RS256, so this token was not issued by Bitbucket Pipelines"
            ),
            JwtError::AlgPss { alg } => write!(
                f,
                "{alg} (RSA-PSS) tokens are refused: Bitbucket signs with RS256 (PKCS#1 v1.5), so this token was not issued by Bitbucket Pipelines"
            ),
            JwtError::AlgUnsupported { alg } => write!(
                f,
                "signature algorithm `{alg}` is refused: only RS256 is accepted because that is what Bitbucket Pipelines uses"
            ),
            JwtError::MissingSignature => write!(
                f,
                "the token has no signature: pass the complete, signed value of $BITBUCKET_STEP_OIDC_TOKEN"
            ),
            JwtError::MissingKid { known } => write!(
                f,
                "the token header has no `kid`, so the signing key cannot be chosen (the issuer publishes {}): pass an unmodified token issued by Bitbucket Pipelines",
                list_or_none(known)
            ),
            JwtError::UnknownKid { kid, known } => write!(
                f,
                "the token was signed with key `{kid}`, which the issuer's JWKS does not contain (it has {}): check that the token comes from this workspace, or fetch the JWKS again if Bitbucket rotated its keys",
                list_or_none(known)
            ),
            JwtError::KeyNotRsa { kid, kty } => write!(
                f,
                "JWKS key `{kid}` has key type `{kty}`, not RSA, so it cannot verify an RS256 token: check that the JWKS URL is the issuer's `jwks_uri`"
            ),
            JwtError::KeyAlgMismatch { kid, alg } => write!(
                f,
                "JWKS key `{kid}` is declared for `{alg}`, not RS256, so it must not verify this token: check that the JWKS URL is the issuer's `jwks_uri`"
            ),
            JwtError::BadKey { kid, reason } => write!(
                f,
                "JWKS key `{kid}` is unusable ({reason}): check that the JWKS URL is the issuer's `jwks_uri` and that nothing between you and it alters responses"
            ),
            JwtError::SignatureMismatch { kid } => write!(
                f,
                "the token's signature does not verify with JWKS key `{kid}`: the token was altered or was not issued by this workspace's Bitbucket issuer; use the unmodified $BITBUCKET_STEP_OIDC_TOKEN"
            ),
            JwtError::Jwks { detail } => write!(
                f,
                "the JWKS document is not a valid key set ({detail}): check that the URL is the issuer's `jwks_uri` from its openid-configuration"
            ),
        }
    }
}

impl std::error::Error for JwtError {}
