//! Splitting and decoding a compact JWS (`header.payload.signature`), without verifying it.

use base64::Engine as _;
use serde_json::{Map, Value};

use super::{Decoded, Header, JwtError, Part, B64URL, MAX_TOKEN_LEN};

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
/// decoded but not checked: call [`verify_signature`](super::verify_signature) and
/// [`check_claims`](super::check_claims) next.
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
