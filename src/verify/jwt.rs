//! Decoding and verification of Bitbucket Pipelines OIDC tokens (compact JWS).
//!
//! Bitbucket signs step tokens with RS256 and names the signing key with `kid`; the keys are
//! published as a JWKS at the `jwks_uri` of the issuer's discovery document. This module:
//!
//! * splits and decodes a compact JWS ([`decode`]) without ever keeping the raw token,
//! * checks the RS256 signature against a JWKS ([`verify_signature`]) with aws-lc-rs,
//! * checks the time and issuer claims ([`check_claims`]),
//! * reads the Bitbucket-specific claims ([`audiences`], [`sub`], [`repository_uuid`], ...).
//!
//! Every function is total: malformed input yields an error value, never a panic.

use std::fmt;

use aws_lc_rs::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The only signature algorithm Bitbucket Pipelines uses and the only one accepted here.
pub const EXPECTED_ALG: &str = "RS256";

/// Tokens longer than this are refused before any decoding (Bitbucket tokens are ~1-2 KiB).
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

/// Smallest and largest RSA modulus accepted, in bits (matches `RSA_PKCS1_2048_8192_SHA256`).
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;

/// base64url without padding, tolerating padding when present.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Which part of a compact JWS an error refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Header,
    Payload,
    Signature,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Header => "header",
            Part::Payload => "payload (claims)",
            Part::Signature => "signature",
        })
    }
}

/// The JOSE header fields that matter for verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Header {
    pub alg: String,
    pub kid: Option<String>,
    pub typ: Option<String>,
}

/// A decoded (not yet verified) token. Holds no copy of the raw token; `Debug` never prints
/// the signature bytes.
#[derive(Clone, PartialEq)]
pub struct Decoded {
    pub header: Header,
    pub claims: Map<String, Value>,
    /// `base64url(header) "." base64url(payload)`, the bytes the signature covers.
    pub signing_input: String,
    pub signature: Vec<u8>,
}

impl fmt::Debug for Decoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoded")
            .field("header", &self.header)
            .field("claims", &self.claims)
            .field(
                "signing_input",
                &format_args!("<{} bytes>", self.signing_input.len()),
            )
            .field(
                "signature",
                &format_args!("<{} bytes, redacted>", self.signature.len()),
            )
            .finish()
    }
}

/// One key of a JSON Web Key Set. Unknown members (`use`, `x5c`, ...) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub kty: String,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
}

/// A JSON Web Key Set document: `{"keys": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

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

impl fmt::Display for JwtError {
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

fn b64_decode(segment: &str, part: Part) -> Result<Vec<u8>, JwtError> {
    B64URL
        .decode(segment.as_bytes())
        .map_err(|_| JwtError::Base64 { part })
}

fn decode_object(segment: &str, part: Part) -> Result<Map<String, Value>, JwtError> {
    if segment.is_empty() {
        return Err(JwtError::EmptySegment { part });
    }
    let bytes = b64_decode(segment, part)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| JwtError::Json {
        part,
        detail: e.to_string(),
    })?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(JwtError::NotObject { part }),
    }
}

fn optional_string(
    header: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, JwtError> {
    match header.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JwtError::InvalidHeaderField { field }),
    }
}

/// Splits and decodes a compact JWS. Surrounding whitespace is ignored. The signature is
/// decoded but not checked: call [`verify_signature`] and [`check_claims`] next.
pub fn decode(token: &str) -> Result<Decoded, JwtError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(JwtError::Empty);
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::TooLarge { len: token.len() });
    }
    let segments: Vec<&str> = token.split('.').collect();
    let (h, p, s) = match segments.as_slice() {
        [h, p, s] => (*h, *p, *s),
        other => return Err(JwtError::WrongSegmentCount { found: other.len() }),
    };
    let header_map = decode_object(h, Part::Header)?;
    let claims = decode_object(p, Part::Payload)?;
    let signature = b64_decode(s, Part::Signature)?;

    let alg = match header_map.get("alg") {
        Some(Value::String(a)) => a.clone(),
        Some(Value::Null) | None => return Err(JwtError::MissingAlg),
        Some(_) => return Err(JwtError::InvalidHeaderField { field: "alg" }),
    };
    let header = Header {
        alg,
        kid: optional_string(&header_map, "kid")?,
        typ: optional_string(&header_map, "typ")?,
    };
    let mut signing_input = String::with_capacity(h.len() + 1 + p.len());
    signing_input.push_str(h);
    signing_input.push('.');
    signing_input.push_str(p);
    Ok(Decoded {
        header,
        claims,
        signing_input,
        signature,
    })
}

/// Parses a JWKS document. Entries that are not JSON objects of the JWK shape are skipped;
/// a document without a `keys` array is an error.
pub fn parse_jwks(json: &str) -> Result<Vec<Jwk>, JwtError> {
    let value: Value = serde_json::from_str(json).map_err(|e| JwtError::Jwks {
        detail: e.to_string(),
    })?;
    let keys = match value.get("keys") {
        Some(Value::Array(keys)) => keys,
        _ => {
            return Err(JwtError::Jwks {
                detail: "no `keys` array".to_string(),
            })
        }
    };
    Ok(keys
        .iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
        .collect())
}

/// Refuses every algorithm except exactly `RS256`, with an error naming the family.
fn check_alg(alg: &str) -> Result<(), JwtError> {
    if alg == EXPECTED_ALG {
        return Ok(());
    }
    let upper = alg.to_ascii_uppercase();
    let alg = alg.to_string();
    Err(if upper == "NONE" || upper.is_empty() {
        JwtError::AlgNone
    } else if upper.starts_with("HS") {
        JwtError::AlgHmac { alg }
    } else if upper.starts_with("ES") {
        JwtError::AlgEcdsa { alg }
    } else if upper.starts_with("PS") {
        JwtError::AlgPss { alg }
    } else {
        JwtError::AlgUnsupported { alg }
    })
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or(&[])
}

fn bit_len(be: &[u8]) -> usize {
    match be.first() {
        None => 0,
        Some(first) => (be.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

fn verify_with(jwk: &Jwk, kid: &str, message: &[u8], signature: &[u8]) -> Result<(), JwtError> {
    if jwk.kty != "RSA" {
        return Err(JwtError::KeyNotRsa {
            kid: kid.to_string(),
            kty: jwk.kty.clone(),
        });
    }
    if let Some(alg) = &jwk.alg {
        if alg != EXPECTED_ALG {
            return Err(JwtError::KeyAlgMismatch {
                kid: kid.to_string(),
                alg: alg.clone(),
            });
        }
    }
    let bad = |reason: &str| JwtError::BadKey {
        kid: kid.to_string(),
        reason: reason.to_string(),
    };
    let n_raw = B64URL
        .decode(jwk.n.as_deref().ok_or_else(|| bad("no modulus `n`"))?)
        .map_err(|_| bad("modulus `n` is not base64url"))?;
    let e_raw = B64URL
        .decode(jwk.e.as_deref().ok_or_else(|| bad("no exponent `e`"))?)
        .map_err(|_| bad("exponent `e` is not base64url"))?;
    let n = strip_leading_zeros(&n_raw);
    let e = strip_leading_zeros(&e_raw);
    let bits = bit_len(n);
    if bits < MIN_RSA_BITS {
        return Err(bad(&format!(
            "the RSA modulus is {bits} bits; at least {MIN_RSA_BITS} are required"
        )));
    }
    if bits > MAX_RSA_BITS {
        return Err(bad(&format!(
            "the RSA modulus is {bits} bits; at most {MAX_RSA_BITS} are supported"
        )));
    }
    let e_odd = e.last().is_some_and(|b| b & 1 == 1);
    if e.is_empty() || e.len() > 8 || !e_odd || e == [1] {
        return Err(bad(
            "the RSA public exponent is not a valid odd value above 1",
        ));
    }
    let components = RsaPublicKeyComponents { n, e };
    components
        .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
        .map_err(|_| JwtError::SignatureMismatch {
            kid: kid.to_string(),
        })
}

/// Verifies the RS256 signature of `decoded` with the JWKS key named by its `kid`, and returns
/// that key. Any `alg` other than exactly `RS256` is refused before any key is looked at.
pub fn verify_signature<'a>(decoded: &Decoded, jwks: &'a [Jwk]) -> Result<&'a Jwk, JwtError> {
    check_alg(&decoded.header.alg)?;
    if decoded.signature.is_empty() {
        return Err(JwtError::MissingSignature);
    }
    let known: Vec<String> = jwks.iter().filter_map(|k| k.kid.clone()).collect();
    let kid = match decoded.header.kid.as_deref() {
        Some(kid) if !kid.is_empty() => kid,
        _ => return Err(JwtError::MissingKid { known }),
    };
    let mut last_error = None;
    for jwk in jwks.iter().filter(|k| k.kid.as_deref() == Some(kid)) {
        match verify_with(
            jwk,
            kid,
            decoded.signing_input.as_bytes(),
            &decoded.signature,
        ) {
            Ok(()) => return Ok(jwk),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or(JwtError::UnknownKid {
        kid: kid.to_string(),
        known,
    }))
}

/// A problem with the token's issuer or validity period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum ClaimProblem {
    WrongIssuer {
        expected: String,
        actual: Option<String>,
    },
    MissingExp,
    InvalidTime {
        claim: &'static str,
    },
    Expired {
        exp: i64,
        now: i64,
        seconds_ago: i64,
    },
    NotYetValid {
        nbf: i64,
        now: i64,
        seconds_ahead: i64,
    },
    IssuedInFuture {
        iat: i64,
        now: i64,
        seconds_ahead: i64,
    },
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

impl fmt::Display for ClaimProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimProblem::WrongIssuer {
                expected,
                actual: Some(actual),
            } => write!(
                f,
                "the token was issued by `{actual}`, not `{expected}`: run the step in the workspace this role was set up for, or set up the role for that workspace"
            ),
            ClaimProblem::WrongIssuer {
                expected,
                actual: None,
            } => write!(
                f,
                "the token has no `iss` string, so it cannot be from `{expected}`: pass the value of $BITBUCKET_STEP_OIDC_TOKEN"
            ),
            ClaimProblem::MissingExp => write!(
                f,
                "the token has no `exp` claim, so it never expires and AWS STS will reject it: pass a token issued by Bitbucket Pipelines"
            ),
            ClaimProblem::InvalidTime { claim } => write!(
                f,
                "the token's `{claim}` claim is not a number of seconds since 1970: pass an unmodified token issued by Bitbucket Pipelines"
            ),
            ClaimProblem::Expired {
                exp, seconds_ago, ..
            } => write!(
                f,
                "the token expired {seconds_ago} seconds ago (at {}): Bitbucket tokens are short-lived, so re-run the step and verify the fresh $BITBUCKET_STEP_OIDC_TOKEN straight away",
                rfc3339(*exp)
            ),
            ClaimProblem::NotYetValid {
                nbf, seconds_ahead, ..
            } => write!(
                f,
                "the token is not valid for another {seconds_ahead} seconds (not before {}): check this machine's clock, which STS does not share",
                rfc3339(*nbf)
            ),
            ClaimProblem::IssuedInFuture {
                iat, seconds_ahead, ..
            } => write!(
                f,
                "the token claims to be issued {seconds_ahead} seconds in the future (at {}): check this machine's clock (for example with `timedatectl` or NTP)",
                rfc3339(*iat)
            ),
        }
    }
}

/// Reads a NumericDate claim. `Ok(None)` when absent; fractional values are floored.
fn numeric_date(
    claims: &Map<String, Value>,
    claim: &'static str,
) -> Result<Option<i64>, ClaimProblem> {
    match claims.get(claim) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
                // `as` saturates on overflow; no panic.
                Ok(Some(f.floor() as i64))
            } else {
                Err(ClaimProblem::InvalidTime { claim })
            }
        }
        Some(_) => Err(ClaimProblem::InvalidTime { claim }),
    }
}

/// Checks `iss` (exact equality), `exp` (required), `nbf` and `iat` against `now` (unix
/// seconds), allowing `leeway_secs` of clock skew. Returns every problem found (empty = ok).
pub fn check_claims(
    claims: &Map<String, Value>,
    expected_issuer: &str,
    now: i64,
    leeway_secs: i64,
) -> Vec<ClaimProblem> {
    let mut problems = Vec::new();
    let leeway = leeway_secs.max(0);

    let iss = claims.get("iss").and_then(Value::as_str);
    if iss != Some(expected_issuer) {
        problems.push(ClaimProblem::WrongIssuer {
            expected: expected_issuer.to_string(),
            actual: iss.map(str::to_string),
        });
    }

    match numeric_date(claims, "exp") {
        Ok(None) => problems.push(ClaimProblem::MissingExp),
        Ok(Some(exp)) => {
            // Valid while now < exp (+ leeway).
            if now >= exp.saturating_add(leeway) {
                problems.push(ClaimProblem::Expired {
                    exp,
                    now,
                    seconds_ago: now.saturating_sub(exp),
                });
            }
        }
        Err(p) => problems.push(p),
    }

    match numeric_date(claims, "nbf") {
        Ok(Some(nbf)) if nbf > now.saturating_add(leeway) => {
            problems.push(ClaimProblem::NotYetValid {
                nbf,
                now,
                seconds_ahead: nbf.saturating_sub(now),
            })
        }
        Ok(_) => {}
        Err(p) => problems.push(p),
    }

    match numeric_date(claims, "iat") {
        Ok(Some(iat)) if iat > now.saturating_add(leeway) => {
            problems.push(ClaimProblem::IssuedInFuture {
                iat,
                now,
                seconds_ahead: iat.saturating_sub(now),
            })
        }
        Ok(_) => {}
        Err(p) => problems.push(p),
    }

    problems
}

/// A string claim, if present and a string.
pub fn claim_str<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// The `aud` claim as a list: a single string or an array of strings (non-strings ignored).
pub fn audiences(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// `sub`: `{repoUuid}:{stepUuid}`, or `{repoUuid}:{envUuid}:{stepUuid}` on deployment steps.
pub fn sub(claims: &Map<String, Value>) -> Option<&str> {
    claim_str(claims, "sub")
}

/// `repositoryUuid` (with braces).
pub fn repository_uuid(claims: &Map<String, Value>) -> Option<&str> {
    claim_str(claims, "repositoryUuid")
}

/// `deploymentEnvironmentUuid` (with braces); present on deployment steps only.
pub fn deployment_environment_uuid(claims: &Map<String, Value>) -> Option<&str> {
    claim_str(claims, "deploymentEnvironmentUuid")
}

/// `stepUuid` (with braces).
pub fn step_uuid(claims: &Map<String, Value>) -> Option<&str> {
    claim_str(claims, "stepUuid")
}

/// `workspaceUuid` (with braces).
pub fn workspace_uuid(claims: &Map<String, Value>) -> Option<&str> {
    claim_str(claims, "workspaceUuid")
}

/// `pipelineUuid` (with braces).
pub fn pipeline_uuid(claims: &Map<String, Value>) -> Option<&str> {
    claim_str(claims, "pipelineUuid")
}

/// `branchName`; absent on tag and custom pipelines without a branch.
pub fn branch_name(claims: &Map<String, Value>) -> Option<&str> {
    claim_str(claims, "branchName")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
    use serde_json::json;
    use std::sync::OnceLock;

    const ISS: &str =
        "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
    const NOW: i64 = 1_700_000_000;

    /// Reads one DER TLV, returning (tag, content, rest).
    fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&len0, rest) = rest.split_first()?;
        let (len, rest) = if len0 < 0x80 {
            (len0 as usize, rest)
        } else {
            let n = (len0 & 0x7f) as usize;
            let bytes = rest.get(..n)?;
            let len = bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (len, rest.get(n..)?)
        };
        Some((tag, rest.get(..len)?, rest.get(len..)?))
    }

    /// Extracts (n, e) from an RFC 8017 `RSAPublicKey` DER.
    fn rsa_public_components(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (tag, seq, _) = der_tlv(der).unwrap();
        assert_eq!(tag, 0x30);
        let (t1, n, rest) = der_tlv(seq).unwrap();
        let (t2, e, _) = der_tlv(rest).unwrap();
        assert_eq!((t1, t2), (0x02, 0x02));
        (
            strip_leading_zeros(n).to_vec(),
            strip_leading_zeros(e).to_vec(),
        )
    }

    struct TestKey {
        pair: KeyPair,
        jwk: Jwk,
    }

    fn key() -> &'static TestKey {
        static KEY: OnceLock<TestKey> = OnceLock::new();
        KEY.get_or_init(|| {
            let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
            let (n, e) = rsa_public_components(pair.public_key().as_ref());
            let jwk = Jwk {
                kid: Some("kid-1".into()),
                kty: "RSA".into(),
                alg: Some("RS256".into()),
                n: Some(B64URL.encode(n)),
                e: Some(B64URL.encode(e)),
            };
            TestKey { pair, jwk }
        })
    }

    fn b64(v: &Value) -> String {
        B64URL.encode(serde_json::to_vec(v).unwrap())
    }

    fn sign(header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header), b64(claims));
        let k = key();
        let mut sig = vec![0u8; k.pair.public_modulus_len()];
        k.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .unwrap();
        format!("{input}.{}", B64URL.encode(sig))
    }

    fn claims() -> Value {
        json!({
            "iss": ISS,
            "aud": "ari:cloud:bitbucket::workspace/1111-2222",
            "sub": "{repo}:{step}",
            "iat": NOW - 10,
            "exp": NOW + 3590,
            "repositoryUuid": "{repo}",
            "stepUuid": "{step}",
        })
    }

    fn good_token() -> String {
        sign(
            &json!({"alg": "RS256", "kid": "kid-1", "typ": "JWT"}),
            &claims(),
        )
    }

    fn jwks() -> Vec<Jwk> {
        vec![key().jwk.clone()]
    }

    #[test]
    fn round_trip_verifies() {
        let d = decode(&good_token()).unwrap();
        assert_eq!(d.header.alg, "RS256");
        assert_eq!(d.header.kid.as_deref(), Some("kid-1"));
        assert_eq!(d.header.typ.as_deref(), Some("JWT"));
        let keys = jwks();
        let used = verify_signature(&d, &keys).unwrap();
        assert_eq!(used.kid.as_deref(), Some("kid-1"));
        assert!(check_claims(&d.claims, ISS, NOW, 60).is_empty());
        assert_eq!(sub(&d.claims), Some("{repo}:{step}"));
        assert_eq!(repository_uuid(&d.claims), Some("{repo}"));
        assert_eq!(step_uuid(&d.claims), Some("{step}"));
        assert_eq!(deployment_environment_uuid(&d.claims), None);
        assert_eq!(
            audiences(&d.claims),
            vec!["ari:cloud:bitbucket::workspace/1111-2222".to_string()]
        );
    }

    #[test]
    fn padded_segments_and_whitespace_are_tolerated() {
        let t = good_token();
        let parts: Vec<&str> = t.split('.').collect();
        let pad = |s: &str| {
            let mut s = s.to_string();
            while s.len() % 4 != 0 {
                s.push('=');
            }
            s
        };
        let padded = format!("  {}.{}.{}\n", pad(parts[0]), pad(parts[1]), pad(parts[2]));
        let d = decode(&padded).unwrap();
        assert_eq!(d.header.kid.as_deref(), Some("kid-1"));
        assert_eq!(d.signature.len(), 256);
    }

    #[test]
    fn jwks_with_leading_zero_modulus_verifies() {
        let mut jwk = key().jwk.clone();
        let mut n = B64URL.decode(jwk.n.unwrap()).unwrap();
        n.insert(0, 0);
        jwk.n = Some(B64URL.encode(n));
        let d = decode(&good_token()).unwrap();
        assert!(verify_signature(&d, &[jwk]).is_ok());
    }

    #[test]
    fn tampered_payload_fails() {
        let t = good_token();
        let parts: Vec<&str> = t.split('.').collect();
        let mut c = claims();
        c["sub"] = json!("{other-repo}:{step}");
        let forged = format!("{}.{}.{}", parts[0], b64(&c), parts[2]);
        let d = decode(&forged).unwrap();
        let err = verify_signature(&d, &jwks()).unwrap_err();
        assert_eq!(
            err,
            JwtError::SignatureMismatch {
                kid: "kid-1".into()
            }
        );
        assert!(err.to_string().contains("altered"));
    }

    #[test]
    fn tampered_signature_fails() {
        let t = good_token();
        let mut d = decode(&t).unwrap();
        if let Some(b) = d.signature.last_mut() {
            *b ^= 1;
        }
        assert!(matches!(
            verify_signature(&d, &jwks()),
            Err(JwtError::SignatureMismatch { .. })
        ));
        d.signature.truncate(10);
        assert!(matches!(
            verify_signature(&d, &jwks()),
            Err(JwtError::SignatureMismatch { .. })
        ));
    }

    #[test]
    fn unknown_kid_names_it_and_known_ones() {
        let t = sign(&json!({"alg": "RS256", "kid": "rotated"}), &claims());
        let d = decode(&t).unwrap();
        let err = verify_signature(&d, &jwks()).unwrap_err();
        assert_eq!(
            err,
            JwtError::UnknownKid {
                kid: "rotated".into(),
                known: vec!["kid-1".into()]
            }
        );
        let msg = err.to_string();
        assert!(
            msg.contains("`rotated`") && msg.contains("`kid-1`"),
            "{msg}"
        );
    }

    #[test]
    fn missing_kid_refused() {
        let t = sign(&json!({"alg": "RS256"}), &claims());
        let d = decode(&t).unwrap();
        assert!(matches!(
            verify_signature(&d, &jwks()),
            Err(JwtError::MissingKid { .. })
        ));
    }

    #[test]
    fn alg_none_refused() {
        for alg in ["none", "None", "NONE", ""] {
            let t = format!(
                "{}.{}.",
                b64(&json!({"alg": alg, "kid": "kid-1"})),
                b64(&claims())
            );
            let d = decode(&t).unwrap();
            let err = verify_signature(&d, &jwks()).unwrap_err();
            assert_eq!(err, JwtError::AlgNone);
            assert!(err.to_string().starts_with("alg none is never accepted"));
        }
    }

    #[test]
    fn hs256_refused_even_with_valid_looking_signature() {
        let t = format!(
            "{}.{}.{}",
            b64(&json!({"alg": "HS256", "kid": "kid-1"})),
            b64(&claims()),
            B64URL.encode([7u8; 32])
        );
        let d = decode(&t).unwrap();
        let err = verify_signature(&d, &jwks()).unwrap_err();
        assert_eq!(
            err,
            JwtError::AlgHmac {
                alg: "HS256".into()
            }
        );
        assert!(err
            .to_string()
            .starts_with("HS256 (shared-secret) tokens are refused: Bitbucket signs with RS256"));
    }

    #[test]
    fn other_algs_refused_distinctly() {
        let cases = [
            ("ES256", "ECDSA"),
            ("PS256", "RSA-PSS"),
            ("RS512", "only RS256"),
            ("rs256", "only RS256"),
            ("EdDSA", "only RS256"),
        ];
        for (alg, needle) in cases {
            let t = sign(&json!({"alg": alg, "kid": "kid-1"}), &claims());
            let d = decode(&t).unwrap();
            let err = verify_signature(&d, &jwks()).unwrap_err();
            assert!(err.to_string().contains(needle), "{alg}: {err}");
        }
    }

    #[test]
    fn key_type_and_alg_mismatch() {
        let d = decode(&good_token()).unwrap();
        let mut ec = key().jwk.clone();
        ec.kty = "EC".into();
        assert!(matches!(
            verify_signature(&d, &[ec]),
            Err(JwtError::KeyNotRsa { .. })
        ));
        let mut ps = key().jwk.clone();
        ps.alg = Some("PS256".into());
        assert!(matches!(
            verify_signature(&d, &[ps]),
            Err(JwtError::KeyAlgMismatch { .. })
        ));
        let mut small = key().jwk.clone();
        small.n = Some(B64URL.encode([0xffu8; 128]));
        let err = verify_signature(&d, &[small]).unwrap_err();
        assert!(err.to_string().contains("1024 bits"), "{err}");
        let mut no_n = key().jwk.clone();
        no_n.n = None;
        assert!(matches!(
            verify_signature(&d, &[no_n]),
            Err(JwtError::BadKey { .. })
        ));
        let mut even_e = key().jwk.clone();
        even_e.e = Some(B64URL.encode([2u8]));
        assert!(matches!(
            verify_signature(&d, &[even_e]),
            Err(JwtError::BadKey { .. })
        ));
    }

    #[test]
    fn duplicate_kid_tries_each_key() {
        let d = decode(&good_token()).unwrap();
        let mut wrong = key().jwk.clone();
        wrong.n = Some(B64URL.encode([0xabu8; 256]));
        let keys = vec![wrong, key().jwk.clone()];
        assert!(verify_signature(&d, &keys).is_ok());
    }

    #[test]
    fn malformed_segments() {
        assert_eq!(decode("").unwrap_err(), JwtError::Empty);
        assert_eq!(decode("   ").unwrap_err(), JwtError::Empty);
        assert_eq!(
            decode("abc").unwrap_err(),
            JwtError::WrongSegmentCount { found: 1 }
        );
        assert_eq!(
            decode("a.b").unwrap_err(),
            JwtError::WrongSegmentCount { found: 2 }
        );
        assert_eq!(
            decode("a.b.c.d").unwrap_err(),
            JwtError::WrongSegmentCount { found: 4 }
        );
        assert!(decode("a.b.c.d.e").unwrap_err().to_string().contains("JWE"));
        assert_eq!(
            decode(".x.y").unwrap_err(),
            JwtError::EmptySegment { part: Part::Header }
        );
        let h = b64(&json!({"alg": "RS256"}));
        assert_eq!(
            decode(&format!("{h}..sig")).unwrap_err(),
            JwtError::EmptySegment {
                part: Part::Payload
            }
        );
        assert_eq!(
            decode("!!!.e30.e30").unwrap_err(),
            JwtError::Base64 { part: Part::Header }
        );
        assert_eq!(
            decode(&format!("{h}.e30.%%%")).unwrap_err(),
            JwtError::Base64 {
                part: Part::Signature
            }
        );
        // "bm90anNvbg" = "notjson"
        assert!(matches!(
            decode(&format!("{h}.bm90anNvbg.")).unwrap_err(),
            JwtError::Json {
                part: Part::Payload,
                ..
            }
        ));
        // "WzFd" = "[1]"
        assert_eq!(
            decode(&format!("{h}.WzFd.")).unwrap_err(),
            JwtError::NotObject {
                part: Part::Payload
            }
        );
        // "e30" = "{}": no alg
        assert_eq!(decode("e30.e30.").unwrap_err(), JwtError::MissingAlg);
        let bad_kid = b64(&json!({"alg": "RS256", "kid": 5}));
        assert_eq!(
            decode(&format!("{bad_kid}.e30.")).unwrap_err(),
            JwtError::InvalidHeaderField { field: "kid" }
        );
        let huge = "a".repeat(MAX_TOKEN_LEN + 1);
        assert!(matches!(
            decode(&huge).unwrap_err(),
            JwtError::TooLarge { .. }
        ));
    }

    #[test]
    fn empty_signature_is_refused_at_verification() {
        let t = format!(
            "{}.{}.",
            b64(&json!({"alg": "RS256", "kid": "kid-1"})),
            b64(&claims())
        );
        let d = decode(&t).unwrap();
        assert_eq!(
            verify_signature(&d, &jwks()).unwrap_err(),
            JwtError::MissingSignature
        );
    }

    #[test]
    fn debug_never_prints_signature() {
        let t = good_token();
        let d = decode(&t).unwrap();
        let dbg = format!("{d:?}");
        let sig_b64 = t.rsplit('.').next().unwrap();
        assert!(!dbg.contains(sig_b64));
        assert!(!dbg.contains(&d.signing_input));
        assert!(dbg.contains("redacted"));
    }

    #[test]
    fn expired() {
        let mut c = claims();
        c["exp"] = json!(NOW - 300);
        c["iat"] = json!(NOW - 3900);
        let c = c.as_object().unwrap().clone();
        let p = check_claims(&c, ISS, NOW, 60);
        assert_eq!(
            p,
            vec![ClaimProblem::Expired {
                exp: NOW - 300,
                now: NOW,
                seconds_ago: 300
            }]
        );
        let msg = p[0].to_string();
        assert!(msg.contains("expired 300 seconds ago"), "{msg}");
        assert!(msg.contains("2023-11-14T22:08:20Z"), "{msg}");
        // Within leeway: fine.
        assert!(check_claims(&c, ISS, NOW - 300 + 59, 60).is_empty());
        // Exactly at exp with no leeway: expired.
        assert_eq!(check_claims(&c, ISS, NOW - 300, 0).len(), 1);
    }

    #[test]
    fn missing_or_bad_exp() {
        let mut c = claims().as_object().unwrap().clone();
        c.remove("exp");
        assert_eq!(
            check_claims(&c, ISS, NOW, 60),
            vec![ClaimProblem::MissingExp]
        );
        c.insert("exp".into(), json!("tomorrow"));
        assert_eq!(
            check_claims(&c, ISS, NOW, 60),
            vec![ClaimProblem::InvalidTime { claim: "exp" }]
        );
        c.insert("exp".into(), json!((NOW + 100) as f64 + 0.5));
        assert!(check_claims(&c, ISS, NOW, 0).is_empty());
        c.insert("exp".into(), json!(1e300));
        assert!(check_claims(&c, ISS, NOW, 0).is_empty());
        c.insert("exp".into(), json!(i64::MIN));
        assert_eq!(check_claims(&c, ISS, i64::MAX, i64::MAX).len(), 1);
    }

    #[test]
    fn not_yet_valid_and_future_iat() {
        let mut c = claims();
        c["nbf"] = json!(NOW + 600);
        c["iat"] = json!(NOW + 600);
        let c = c.as_object().unwrap().clone();
        let p = check_claims(&c, ISS, NOW, 60);
        assert_eq!(p.len(), 2);
        assert!(matches!(
            p[0],
            ClaimProblem::NotYetValid {
                seconds_ahead: 600,
                ..
            }
        ));
        assert!(matches!(
            p[1],
            ClaimProblem::IssuedInFuture {
                seconds_ahead: 600,
                ..
            }
        ));
        assert!(p[0].to_string().contains("clock"));
        // Within leeway: fine.
        assert!(check_claims(&c, ISS, NOW + 560, 60).is_empty());
    }

    #[test]
    fn wrong_issuer() {
        let mut c = claims();
        c["iss"] =
            json!("https://api.bitbucket.org/2.0/workspaces/other/pipelines-config/identity/oidc");
        let c = c.as_object().unwrap().clone();
        let p = check_claims(&c, ISS, NOW, 60);
        assert_eq!(p.len(), 1);
        assert!(
            matches!(&p[0], ClaimProblem::WrongIssuer { actual: Some(a), .. } if a.contains("other"))
        );
        // Trailing slash is a different issuer.
        let mut c2 = claims();
        c2["iss"] = json!(format!("{ISS}/"));
        assert_eq!(check_claims(c2.as_object().unwrap(), ISS, NOW, 60).len(), 1);
        let mut c3 = claims().as_object().unwrap().clone();
        c3.remove("iss");
        assert!(matches!(
            check_claims(&c3, ISS, NOW, 60).first(),
            Some(ClaimProblem::WrongIssuer { actual: None, .. })
        ));
    }

    #[test]
    fn claim_helpers() {
        let c = json!({
            "aud": ["a", 5, "b"],
            "sub": "{r}:{e}:{s}",
            "deploymentEnvironmentUuid": "{e}",
            "workspaceUuid": "{w}",
            "pipelineUuid": "{p}",
            "branchName": "main",
        });
        let c = c.as_object().unwrap();
        assert_eq!(audiences(c), vec!["a".to_string(), "b".to_string()]);
        assert_eq!(deployment_environment_uuid(c), Some("{e}"));
        assert_eq!(workspace_uuid(c), Some("{w}"));
        assert_eq!(pipeline_uuid(c), Some("{p}"));
        assert_eq!(branch_name(c), Some("main"));
        assert_eq!(repository_uuid(c), None);
        assert!(audiences(&Map::new()).is_empty());
    }

    #[test]
    fn parse_jwks_document() {
        let doc = json!({"keys": [
            key().jwk,
            {"kid": "ec", "kty": "EC", "crv": "P-256", "x": "..", "y": ".."},
            {"kid": 7},
            "junk"
        ]})
        .to_string();
        let keys = parse_jwks(&doc).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1].kty, "EC");
        assert!(parse_jwks("{}").is_err());
        assert!(parse_jwks("not json").is_err());
        let strict: Jwks = serde_json::from_str(&json!({"keys": [key().jwk]}).to_string()).unwrap();
        assert_eq!(strict.keys.len(), 1);
    }

    #[test]
    fn garbage_never_panics() {
        let keys = jwks();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let alphabet: &[u8] = b"abcXYZ019-_.=+/ {}\"\0\xff.e30eyJ";
        let mut inputs: Vec<Vec<u8>> = vec![
            b"..".to_vec(),
            b"...".to_vec(),
            b"e30.e30.e30".to_vec(),
            b"eyJhbGciOiJSUzI1NiJ9.e30.AA".to_vec(),
            "\u{1F600}.\u{1F600}.\u{1F600}".as_bytes().to_vec(),
            b"=.=.=".to_vec(),
        ];
        for _ in 0..3000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 64) as usize;
            let mut v = Vec::with_capacity(len);
            let mut s = seed;
            for _ in 0..len {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                v.push(alphabet[(s >> 33) as usize % alphabet.len()]);
            }
            inputs.push(v);
        }
        // Mutations of a real token.
        let good = good_token().into_bytes();
        for i in 0..good.len().min(400) {
            let mut v = good.clone();
            v[i] = v[i].wrapping_add(1);
            inputs.push(v);
        }
        for input in inputs {
            let s = String::from_utf8_lossy(&input);
            if let Ok(d) = decode(&s) {
                let _ = verify_signature(&d, &keys);
                let _ = check_claims(&d.claims, ISS, NOW, 60);
                let _ = audiences(&d.claims);
                let _ = format!("{d:?}");
            } else if let Err(e) = decode(&s) {
                let _ = e.to_string();
            }
        }
    }
}
