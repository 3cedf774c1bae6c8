//! Everything learned from the issuer: the discovery document, the JWKS, and the thumbprints
//! of the hosts that serve them, all over verified TLS.

pub mod discovery;
pub mod ipranges;
pub mod thumbprint;
pub mod tls;

use std::sync::Arc;

use crate::config::{Issuer, Settings};
use crate::error::Result;

pub use discovery::{Discovery, Fetcher};
pub use thumbprint::HostChain;

/// What the model needs from the issuer.
#[derive(Debug, Clone)]
pub struct IssuerFacts {
    pub discovery: Discovery,
    pub hosts: Vec<HostChain>,
    pub thumbprints: Vec<String>,
}

/// One TLS configuration (public roots + `--ca-bundle`) for every OIDC connection.
pub fn tls_config(settings: &Settings) -> Result<rustls::ClientConfig> {
    let roots = tls::root_store(settings.ca_bundle.as_deref())?;
    Ok(tls::client_config(roots))
}

/// Discovery, JWKS and thumbprints for an issuer.
pub async fn issuer_facts(settings: &Settings, issuer: &Issuer) -> Result<IssuerFacts> {
    let config = tls_config(settings)?;
    let fetcher = Fetcher::new(config.clone(), settings.timeout)?;
    let discovery = discovery::discover(&fetcher, issuer).await?;
    let hosts = discovery::thumbprint_hosts(issuer, &discovery.jwks_uri);
    let hosts = thumbprint::fetch_all(Arc::new(config), &hosts, settings.timeout).await?;
    let thumbprints = thumbprint::thumbprints(&hosts);
    Ok(IssuerFacts {
        discovery,
        hosts,
        thumbprints,
    })
}
