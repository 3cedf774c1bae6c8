//! JSON Web Tokens for `verify` tests: RS256 signed with the issuer's key, and broken ones.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Value};

use super::issuer::Issuer;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// An RSA-2048 signing key with a key id.
pub struct SigningKey {
    kid: String,
    key: RsaKeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish()
    }
}

impl SigningKey {
    pub fn generate(kid: &str) -> SigningKey {
        SigningKey {
            kid: kid.to_string(),
            key: RsaKeyPair::generate(KeySize::Rsa2048).expect("generate RSA-2048 key"),
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK: kty RSA, alg RS256, use sig, kid, n, e.
    pub fn jwk(&self) -> Value {
        let public = self.key.public_key();
        json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// The public key as PKCS#1 `RSAPublicKey` DER.
    pub fn public_key_pkcs1_der(&self) -> Vec<u8> {
        self.key.public_key().as_ref().to_vec()
    }

    /// The public key as an X.509 SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_key_pem(&self) -> String {
        let der = self
            .key
            .public_key()
            .as_der()
            .expect("public key DER")
            .as_ref()
            .to_vec();
        let body = STANDARD.encode(der);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `msg`.
    pub fn sign_rs256(&self, msg: &[u8]) -> Vec<u8> {
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                msg,
                &mut sig,
            )
            .expect("RS256 sign");
        sig
    }
}

/// A JWKS document holding `keys`.
pub fn jwks(keys: &[&SigningKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
}

/// `{"alg":"RS256","typ":"JWT","kid":...}`.
pub fn rs256_header(kid: &str) -> Value {
    json!({ "alg": "RS256", "typ": "JWT", "kid": kid })
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(&serde_json::to_vec(header).expect("header JSON")),
        b64(&serde_json::to_vec(claims).expect("claims JSON"))
    )
}

/// A valid RS256 token signed with the issuer's key, `kid` in the header.
pub fn mint_token(issuer: &Issuer, claims: Value) -> String {
    mint_with_key(issuer.key(), claims)
}

/// RS256 with `key`, its `kid` in the header.
pub fn mint_with_key(key: &SigningKey, claims: Value) -> String {
    mint_with_header(key, rs256_header(key.kid()), claims)
}

/// Any header, signed RS256 with `key` whatever the header says (unknown `kid`, no `kid`,
/// `alg` mismatch...).
pub fn mint_with_header(key: &SigningKey, header: Value, claims: Value) -> String {
    let input = signing_input(&header, &claims);
    let sig = key.sign_rs256(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

/// RS256 token whose header names a `kid` the JWKS does not have.
pub fn mint_unknown_kid(issuer: &Issuer, claims: Value) -> String {
    mint_with_header(issuer.key(), rs256_header("no-such-kid"), claims)
}

/// `alg: none`, empty signature.
pub fn alg_none_token(issuer: &Issuer, claims: Value) -> String {
    let header = json!({ "alg": "none", "typ": "JWT", "kid": issuer.kid() });
    format!("{}.", signing_input(&header, &claims))
}

/// Unsigned token with an arbitrary header (empty signature part).
pub fn unsigned_token(header: Value, claims: Value) -> String {
    format!("{}.", signing_input(&header, &claims))
}

/// HS256 "key confusion": HMAC-SHA256 keyed with the issuer's public key PEM, with its `kid`.
pub fn hs256_with_public_key(issuer: &Issuer, claims: Value) -> String {
    let header = json!({ "alg": "HS256", "typ": "JWT", "kid": issuer.kid() });
    let input = signing_input(&header, &claims);
    let key = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA256,
        issuer.key().public_key_pem().as_bytes(),
    );
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// Same header and claims, one bit of the signature flipped.
pub fn tamper_signature(token: &str) -> String {
    let (input, sig) = token.rsplit_once('.').expect("a JWT has three parts");
    let mut sig = URL_SAFE_NO_PAD.decode(sig).expect("base64url signature");
    assert!(!sig.is_empty(), "token has no signature to tamper with");
    let mid = sig.len() / 2;
    sig[mid] ^= 0x01;
    format!("{input}.{}", b64(&sig))
}

/// Replace the claims but keep the original header and signature.
pub fn replace_claims(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts");
    format!(
        "{}.{}.{}",
        parts[0],
        b64(&serde_json::to_vec(claims).expect("claims JSON")),
        parts[2]
    )
}

/// Decode part `index` (0 header, 1 claims) of a token as JSON.
pub fn decode_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("token part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

/// `{UUID}`: adds braces if missing.
pub fn braced(uuid: &str) -> String {
    let bare = uuid.trim_start_matches('{').trim_end_matches('}');
    format!("{{{bare}}}")
}

/// A deterministic, well-formed v4-looking UUID in braces (`{xxxxxxxx-xxxx-4xxx-8xxx-...}`).
pub fn fake_uuid(seed: u64) -> String {
    // splitmix64
    let mut state = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let a = next();
    let b = next();
    format!(
        "{{{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}}}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// Claims shaped like a Bitbucket Pipelines OIDC token.
///
/// `sub` is `{repo}:{step}`, or `{repo}:{env}:{step}` with an environment. UUID arguments get
/// braces if they lack them. `workspaceUuid` comes from an `ari:cloud:bitbucket::workspace/UUID`
/// audience when it is one. `iat` is now, `exp` now + 3600.
pub fn bitbucket_claims(
    issuer_url: &str,
    audience: &str,
    repo_uuid: &str,
    step_uuid: &str,
    env_uuid: Option<&str>,
) -> Value {
    let repo = braced(repo_uuid);
    let step = braced(step_uuid);
    let workspace = audience
        .strip_prefix("ari:cloud:bitbucket::workspace/")
        .map_or_else(|| fake_uuid(1), braced);
    let iat = now();
    let sub = match env_uuid {
        Some(env) => format!("{repo}:{}:{step}", braced(env)),
        None => format!("{repo}:{step}"),
    };
    let mut claims = json!({
        "iss": issuer_url,
        "aud": audience,
        "sub": sub,
        "iat": iat,
        "exp": iat + 3600,
        "workspaceUuid": workspace,
        "repositoryUuid": repo,
        "pipelineUuid": fake_uuid(2),
        "stepUuid": step,
        "branchName": "main",
    });
    if let Some(env) = env_uuid {
        claims["deploymentEnvironmentUuid"] = Value::String(braced(env));
    }
    claims
}
