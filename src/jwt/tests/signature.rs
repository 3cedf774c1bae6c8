//! Decoding, algorithm refusal, key selection and signature verification.

use super::*;

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
