//! The OIDC discovery document and JWKS, fetched over verified TLS.

use std::time::Duration;

use rustls::ClientConfig;
use serde::{Deserialize, Serialize};

use super::tls;
use crate::bounded::{self, BodyError};
use crate::config::Issuer;
use crate::error::{Error, Result};
use crate::jwt::Jwks;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DiscoveryDocument {
    pub issuer: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    #[serde(default)]
    pub subject_types_supported: Vec<String>,
    #[serde(default)]
    pub claims_supported: Vec<String>,
}

/// What `discover` learns about an issuer.
#[derive(Debug, Clone, Serialize)]
pub struct Discovery {
    pub issuer: String,
    pub discovery_url: String,
    pub jwks_uri: String,
    pub document: DiscoveryDocument,
    pub jwks: Jwks,
}

pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
}

impl Fetcher {
    pub fn new(config: ClientConfig, timeout: Duration) -> Result<Fetcher> {
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .https_only(true)
            .connect_timeout(timeout)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("bootstrap/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::failure(format!("cannot set up the HTTPS client: {e}")))?;
        Ok(Fetcher { client, timeout })
    }

    /// GET an https URL and return its body, at most `cap` bytes (counted while reading);
    /// each failure gets its own message. `what` names the document in messages;
    /// `not_found_hint` explains a 404.
    pub async fn get(
        &self,
        url: &str,
        what: &str,
        not_found_hint: &str,
        cap: u64,
    ) -> Result<Vec<u8>> {
        let parsed = url::Url::parse(url)
            .map_err(|e| Error::failure(format!("{what} URL {url:?} is not a URL: {e}")))?;
        let host = parsed.host_str().unwrap_or_default().to_string();
        let port = parsed.port_or_known_default().unwrap_or(443);
        let resp = self
            .client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| self.request_error(&e, &host, port, what))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(
                Error::failure(format!("{what} not found (HTTP 404) at {url}"))
                    .hint(not_found_hint.to_string()),
            );
        }
        if !status.is_success() {
            return Err(Error::failure(format!(
                "{what} at {url} answered HTTP {}",
                status.as_u16()
            )));
        }
        match bounded::read_body(resp, cap).await {
            Ok(body) => Ok(body),
            Err(BodyError::TooLarge { cap }) => Err(Error::failure(format!(
                "the {what} at {url} is larger than {}; reading stopped there",
                bounded::size(cap)
            ))
            .hint("the URL does not serve the document it should; check it (--issuer-url, --ip-ranges-url)")),
            Err(BodyError::Http(e)) => Err(self.request_error(&e, &host, port, what)),
        }
    }

    fn request_error(&self, e: &reqwest::Error, host: &str, port: u16, what: &str) -> Error {
        if let Some(err) = tls::transport_error(e, host, port, self.timeout) {
            return err;
        }
        if e.is_redirect() {
            return Error::failure(format!(
                "fetching the {what} from {host} was redirected too often or to a non-https URL"
            ));
        }
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            msg = format!("{msg}: {s}");
            source = s.source();
        }
        Error::failure(format!("fetching the {what} from {host} failed: {msg}"))
    }
}

const DISCOVERY_404_HINT: &str = "Bitbucket publishes the document only once OpenID Connect is enabled for the workspace and a pipeline has run; check the workspace slug (--workspace) or the --issuer-url";

/// Fetch and validate the discovery document. Returns its URL and the document.
pub async fn document(fetcher: &Fetcher, issuer: &Issuer) -> Result<(String, DiscoveryDocument)> {
    let discovery_url = format!("{}/.well-known/openid-configuration", issuer.url);
    let body = fetcher
        .get(
            &discovery_url,
            "OIDC discovery document",
            DISCOVERY_404_HINT,
            bounded::DOCUMENT_MAX,
        )
        .await?;
    let document: DiscoveryDocument = serde_json::from_slice(&body).map_err(|e| {
        Error::failure(format!(
            "the discovery document at {discovery_url} is not a valid OIDC configuration (JSON with issuer and jwks_uri): {e}"
        ))
        .hint("check that --issuer-url points at the issuer, not at a web page")
    })?;
    if document.issuer.trim_end_matches('/') != issuer.url {
        return Err(Error::failure(format!(
            "issuer mismatch: the discovery document says {:?} but the configured issuer is {:?}",
            document.issuer, issuer.url
        ))
        .hint("IAM matches tokens by their exact iss; pass the issuer exactly as the document names it with --issuer-url"));
    }
    let jwks_url = url::Url::parse(&document.jwks_uri).map_err(|e| {
        Error::failure(format!(
            "the discovery document's jwks_uri {:?} is not a URL: {e}",
            document.jwks_uri
        ))
    })?;
    if jwks_url.scheme() != "https" {
        return Err(Error::failure(format!(
            "the discovery document's jwks_uri {:?} is not https; keys must come over verified TLS",
            document.jwks_uri
        )));
    }
    Ok((discovery_url, document))
}

/// Fetch the key set named by the discovery document.
pub async fn jwks(fetcher: &Fetcher, jwks_uri: &str) -> Result<Jwks> {
    let body = fetcher
        .get(
            jwks_uri,
            "JWKS (signing keys)",
            "the discovery document points at a key set that does not exist; the issuer is misconfigured or not yet set up",
            bounded::DOCUMENT_MAX,
        )
        .await?;
    serde_json::from_slice(&body).map_err(|e| {
        Error::failure(format!(
            "the key set at {jwks_uri} is not a JWKS (JSON with a keys array): {e}"
        ))
    })
}

/// Fetch and validate the discovery document, then the JWKS it points to.
pub async fn discover(fetcher: &Fetcher, issuer: &Issuer) -> Result<Discovery> {
    let (discovery_url, document) = self::document(fetcher, issuer).await?;
    let jwks = self::jwks(fetcher, &document.jwks_uri).await?;
    Ok(Discovery {
        issuer: issuer.url.clone(),
        discovery_url,
        jwks_uri: document.jwks_uri.clone(),
        document,
        jwks,
    })
}

/// The hosts whose certificates IAM may check: the JWKS host, and the issuer host when it
/// differs. Returned as (host, port, what it serves).
pub fn thumbprint_hosts(issuer: &Issuer, jwks_uri: &str) -> Vec<(String, u16, String)> {
    let parse = |u: &str| {
        url::Url::parse(u).ok().and_then(|u| {
            let host = u.host_str()?.to_string();
            Some((host, u.port_or_known_default().unwrap_or(443)))
        })
    };
    let issuer_hp = parse(&issuer.url);
    let jwks_hp = parse(jwks_uri);
    match (issuer_hp, jwks_hp) {
        (Some(i), Some(j)) if i == j => vec![(j.0, j.1, "issuer, jwks".to_string())],
        (Some(i), Some(j)) => vec![
            (j.0, j.1, "jwks".to_string()),
            (i.0, i.1, "issuer".to_string()),
        ],
        (None, Some(j)) => vec![(j.0, j.1, "jwks".to_string())],
        (Some(i), None) => vec![(i.0, i.1, "issuer".to_string())],
        (None, None) => Vec::new(),
    }
}
