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
    pub discovery_url: String,
    pub jwks_uri: String,
    /// The key set, when it was asked for.
    pub jwks: Option<crate::jwt::Jwks>,
    pub hosts: Vec<HostChain>,
    pub thumbprints: Vec<String>,
}

/// One TLS configuration (public roots + `--ca-bundle`) for every OIDC connection.
pub fn tls_config(settings: &Settings) -> Result<rustls::ClientConfig> {
    let roots = tls::root_store(settings.ca_bundle.as_deref())?;
    Ok(tls::client_config(roots))
}

/// Discovery, thumbprints and (with `with_jwks`) the key set of an issuer. The issuer host's
/// chain is fetched while the discovery document is; a JWKS host that differs is fetched as
/// soon as the document names it, alongside the key set.
pub async fn issuer_facts(
    settings: &Settings,
    issuer: &Issuer,
    with_jwks: bool,
) -> Result<IssuerFacts> {
    let config = tls_config(settings)?;
    let fetcher = Fetcher::new(config.clone(), settings.timeout)?;
    facts_with(&fetcher, Arc::new(config), settings, issuer, with_jwks).await
}

/// The issuer's facts and, for `--source-ip bitbucket`, Atlassian's Pipelines egress ranges,
/// fetched concurrently over one TLS configuration (from [`tls_config`], built by the caller
/// before anything else so that a bad `--ca-bundle` stops the run first) and one HTTPS client.
pub async fn issuer_facts_and_ranges(
    config: rustls::ClientConfig,
    settings: &Settings,
    issuer: &Issuer,
    with_jwks: bool,
) -> Result<(IssuerFacts, Vec<ipnet::IpNet>)> {
    let fetcher = Fetcher::new(config.clone(), settings.timeout)?;
    let ranges = async {
        if settings.needs_bitbucket_ranges() {
            ipranges::fetch(&fetcher, &settings.trust.ip_ranges_url).await
        } else {
            Ok(Vec::new())
        }
    };
    tokio::try_join!(
        facts_with(&fetcher, Arc::new(config), settings, issuer, with_jwks),
        ranges
    )
}

async fn facts_with(
    fetcher: &Fetcher,
    config: Arc<rustls::ClientConfig>,
    settings: &Settings,
    issuer: &Issuer,
    with_jwks: bool,
) -> Result<IssuerFacts> {
    let timeout = settings.timeout;
    let issuer_hp = host_port(&issuer.url);
    let issuer_chain = async {
        match &issuer_hp {
            Some((host, port)) => tls::peer_chain(config.clone(), host, *port, timeout)
                .await
                .map(Some),
            None => Ok(None),
        }
    };
    let ((discovery_url, document), issuer_chain) =
        tokio::try_join!(discovery::document(fetcher, issuer), issuer_chain)?;

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let wanted = discovery::thumbprint_hosts(issuer, &document.jwks_uri);
    let chains = wanted.iter().map(|(host, port, serves)| {
        let reuse = issuer_hp
            .as_ref()
            .filter(|(h, p)| h == host && p == port)
            .and(issuer_chain.clone());
        let config = config.clone();
        async move {
            let chain = match reuse {
                Some(chain) => chain,
                None => tls::peer_chain(config, host, *port, timeout).await?,
            };
            Ok::<_, crate::error::Error>(thumbprint::from_chain(host, *port, serves, &chain, now))
        }
    });
    let keys = async {
        if with_jwks {
            discovery::jwks(fetcher, &document.jwks_uri).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (hosts, jwks) = tokio::try_join!(futures::future::try_join_all(chains), keys)?;
    let thumbprints = thumbprint::thumbprints(&hosts);
    Ok(IssuerFacts {
        discovery_url,
        jwks_uri: document.jwks_uri,
        jwks,
        hosts,
        thumbprints,
    })
}

fn host_port(url: &str) -> Option<(String, u16)> {
    let u = url::Url::parse(url).ok()?;
    Some((
        u.host_str()?.to_string(),
        u.port_or_known_default().unwrap_or(443),
    ))
}
