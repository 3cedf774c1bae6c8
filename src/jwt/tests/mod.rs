//! Unit tests of token decoding, signature verification and claim checks, with a test RSA
//! key and token fixtures.

use super::keys::strip_leading_zeros;
use super::*;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use serde_json::json;
use std::sync::OnceLock;

const ISS: &str = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
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
            use_: Some("sig".into()),
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

mod claims;
mod signature;
