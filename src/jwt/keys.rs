//! JSON Web Key Sets and RS256 signature verification with aws-lc-rs.

use aws_lc_rs::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Decoded, JwtError, B64URL, EXPECTED_ALG};

/// Smallest and largest RSA modulus accepted, in bits (matches `RSA_PKCS1_2048_8192_SHA256`).
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;

/// One key of a JSON Web Key Set. Unknown members (`x5c`, ...) are ignored. Serialized (as
/// `discover` shows a key), it names the key without its RSA numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub kty: String,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing)]
    pub n: Option<String>,
    #[serde(default, skip_serializing)]
    pub e: Option<String>,
}

/// A JSON Web Key Set document: `{"keys": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// Parses a JWKS document. Entries that are not JSON objects of the JWK shape are skipped;
/// a document without a `keys` array is an error.
pub fn parse_jwks(json: &str) -> Result<Vec<Jwk>, JwtError> {
    let value: Value = serde_json::from_str(json).map_err(|e| JwtError::Jwks {
        detail: e.to_string(),
    })?;
    let Some(Value::Array(keys)) = value.get("keys") else {
        return Err(JwtError::Jwks {
            detail: "no `keys` array".to_string(),
        });
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

pub(super) fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
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
