//! Thumbprints as IAM defines them: the SHA-1 of the DER of the last certificate the server
//! sends (the top intermediate CA), lowercase hex, taken from a verified chain.

use rustls::pki_types::CertificateDer;
use serde::Serialize;
use sha1::{Digest, Sha1};

/// Warn when the thumbprinted certificate expires within this many days.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub not_after: String,
    /// Seconds since the epoch, for comparisons.
    #[serde(skip)]
    pub not_after_unix: Option<i64>,
    pub sha1: String,
    /// leaf, intermediate or root (self-signed).
    pub position: &'static str,
}

/// One host's verified chain and the thumbprint it yields.
#[derive(Debug, Clone, Serialize)]
pub struct HostChain {
    pub host: String,
    pub port: u16,
    /// What the host serves for the issuer: "jwks", "issuer" or "issuer, jwks".
    pub serves: String,
    pub chain: Vec<CertInfo>,
    pub thumbprint: String,
    pub why: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

pub fn sha1_hex(der: &[u8]) -> String {
    let digest = Sha1::digest(der);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn describe(der: &CertificateDer<'_>, index: usize) -> CertInfo {
    let sha1 = sha1_hex(der.as_ref());
    match x509_parser::parse_x509_certificate(der.as_ref()) {
        Ok((_, cert)) => {
            let not_after = cert.validity().not_after.to_datetime();
            let self_signed = cert.subject() == cert.issuer();
            CertInfo {
                subject: cert.subject().to_string(),
                issuer: cert.issuer().to_string(),
                not_after: not_after
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_else(|_| not_after.to_string()),
                not_after_unix: Some(not_after.unix_timestamp()),
                sha1,
                position: if index == 0 {
                    "leaf"
                } else if self_signed {
                    "root"
                } else {
                    "intermediate"
                },
            }
        }
        Err(_) => CertInfo {
            subject: "(unparseable certificate)".into(),
            issuer: String::new(),
            not_after: String::new(),
            not_after_unix: None,
            sha1,
            position: if index == 0 { "leaf" } else { "intermediate" },
        },
    }
}

/// Describe a verified chain (leaf first) and pick its thumbprint.
pub fn from_chain(
    host: &str,
    port: u16,
    serves: &str,
    chain: &[CertificateDer<'_>],
    now_unix: i64,
) -> HostChain {
    let infos: Vec<CertInfo> = chain
        .iter()
        .enumerate()
        .map(|(i, c)| describe(c, i))
        .collect();
    let mut warnings = Vec::new();
    let (thumbprint, why) = match infos.last() {
        Some(last) => {
            let why = match (infos.len(), last.position) {
                (1, _) => {
                    warnings.push(format!(
                        "{host} sends only its leaf certificate; IAM then thumbprints the leaf, which changes at every renewal"
                    ));
                    "the server sends a single certificate, so the last one is the leaf".to_string()
                }
                (_, "root") => "the last certificate the server sends is its root CA (the server includes the root in its chain)".to_string(),
                _ => "the last certificate the server sends: the top intermediate CA".to_string(),
            };
            if let Some(exp) = last.not_after_unix {
                let days = (exp - now_unix).div_euclid(86_400);
                if days < EXPIRY_WARNING_DAYS {
                    warnings.push(format!(
                        "the thumbprinted certificate ({}) expires in {days} days ({}); expect a new thumbprint, re-run `bootstrap init` after it changes",
                        last.subject, last.not_after
                    ));
                }
            }
            (last.sha1.clone(), why)
        }
        None => (String::new(), "no certificates".to_string()),
    };
    HostChain {
        host: host.to_string(),
        port,
        serves: serves.to_string(),
        chain: infos,
        thumbprint,
        why,
        warnings,
    }
}

/// The thumbprints to register: one per host, deduplicated, in host order.
pub fn thumbprints(hosts: &[HostChain]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in hosts {
        if !h.thumbprint.is_empty() && !out.contains(&h.thumbprint) {
            out.push(h.thumbprint.clone());
        }
    }
    out
}
