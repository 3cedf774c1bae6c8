//! Decoding and verification of Bitbucket Pipelines OIDC tokens (compact JWS).
//!
//! Bitbucket signs step tokens with RS256 and names the signing key with `kid`; the keys are
//! published as a JWKS at the `jwks_uri` of the issuer's discovery document. This module:
//!
//! * splits and decodes a compact JWS ([`decode()`]) without ever keeping the raw token,
//! * checks the RS256 signature against a JWKS ([`verify_signature`]) with aws-lc-rs,
//! * checks the time and issuer claims ([`check_claims`]),
//! * reads the Bitbucket-specific claims ([`audiences`], [`sub`], [`repository_uuid`], ...).
//!
//! Every function is total: malformed input yields an error value, never a panic. A leaf:
//! it imports nothing of the crate; `oidc` fetches the JWKS into its [`Jwks`] type.

mod claims;
mod decode;
mod error;
mod keys;

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use serde::Serialize;
use serde_json::{Map, Value};

pub use claims::{
    audiences, branch_name, check_claims, claim_str, deployment_environment_uuid, pipeline_uuid,
    repository_uuid, rfc3339, step_uuid, sub, workspace_uuid, ClaimProblem,
};
pub use decode::decode;
pub use error::JwtError;
pub use keys::{parse_jwks, verify_signature, Jwk, Jwks};

/// The only signature algorithm Bitbucket Pipelines uses and the only one accepted here.
pub const EXPECTED_ALG: &str = "RS256";

/// Tokens longer than this are refused before any decoding (Bitbucket tokens are ~1-2 KiB).
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

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

#[cfg(test)]
mod tests;
