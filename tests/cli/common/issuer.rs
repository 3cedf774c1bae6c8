//! A real HTTPS OIDC issuer on 127.0.0.1, speaking just enough HTTP/1.1 by hand.
//!
//! The server runs on its own thread with its own tokio runtime (tests are plain `#[test]`
//! functions driving the CLI as a subprocess) and stops when the [`Issuer`] is dropped.
//! The certificate chain is served through a `ResolvesServerCert` behind a lock, so a test
//! can swap it between two CLI runs ([`Issuer::rotate_chain`]).

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use super::issuer_server::accept_loop;
use super::jwt::{jwks, SigningKey};
pub use super::pki::ChainMode;
use super::pki::Pki;

/// A port on 127.0.0.1 with nothing listening (for "connection refused").
pub fn unused_port() -> u16 {
    let listener = StdTcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    port
}

/// A canned HTTP response for one route.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    /// Extra response headers (e.g. `Location`).
    pub headers: Vec<(String, String)>,
    /// Wait this long before answering (for timeout tests).
    pub delay: Option<Duration>,
    /// Instead of `body`, send zeros without end in this framing (for size-cap tests).
    pub endless: Option<Framing>,
}

/// How an endless body is framed: neither announces its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Transfer-Encoding: chunked`, chunks that never end.
    Chunked,
    /// No length at all: the body runs until the connection closes (which it never does).
    CloseDelimited,
}

impl Response {
    pub fn json(status: u16, body: &Value) -> Response {
        Response {
            status,
            content_type: "application/json".to_string(),
            body: serde_json::to_vec(body).expect("serialize JSON"),
            headers: Vec::new(),
            delay: None,
            endless: None,
        }
    }

    pub fn text(status: u16, body: &str) -> Response {
        Response::raw(status, "text/plain; charset=utf-8", body.as_bytes())
    }

    pub fn html(status: u16, body: &str) -> Response {
        Response::raw(status, "text/html; charset=utf-8", body.as_bytes())
    }

    pub fn raw(status: u16, content_type: &str, body: &[u8]) -> Response {
        Response {
            status,
            content_type: content_type.to_string(),
            body: body.to_vec(),
            headers: Vec::new(),
            delay: None,
            endless: None,
        }
    }

    pub fn not_found() -> Response {
        Response::text(404, "not found")
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn with_delay(mut self, delay: Duration) -> Response {
        self.delay = Some(delay);
        self
    }

    /// A 200 JSON response whose body never ends, framed as `framing`.
    pub fn endless(framing: Framing) -> Response {
        Response {
            endless: Some(framing),
            ..Response::raw(200, "application/json", b"")
        }
    }
}

/// One request the issuer received.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    /// The request target as sent (path and query).
    pub target: String,
    pub host: Option<String>,
}

/// How to start an [`Issuer`].
#[derive(Debug, Clone)]
pub struct IssuerOptions {
    pub chain: ChainMode,
    /// Host name used in the issuer URL (the server always listens on 127.0.0.1).
    pub host: String,
    /// Path of the issuer URL, no trailing slash.
    pub path: String,
    /// `kid` of the generated RSA signing key.
    pub kid: String,
}

impl Default for IssuerOptions {
    fn default() -> Self {
        IssuerOptions {
            chain: ChainMode::LeafAndIntermediates,
            host: "localhost".to_string(),
            path: "/oidc".to_string(),
            kid: "test-key-1".to_string(),
        }
    }
}

impl IssuerOptions {
    pub fn chain(mut self, mode: ChainMode) -> Self {
        self.chain = mode;
        self
    }

    pub fn host(mut self, host: &str) -> Self {
        self.host = host.to_string();
        self
    }

    pub fn path(mut self, path: &str) -> Self {
        self.path = path.trim_end_matches('/').to_string();
        self
    }

    pub fn kid(mut self, kid: &str) -> Self {
        self.kid = kid.to_string();
        self
    }
}

/// What the server serves and records, shared with its connections.
pub(super) struct State {
    pub(super) routes: RwLock<HashMap<String, Response>>,
    pub(super) cert: RwLock<Arc<CertifiedKey>>,
    pub(super) mode: RwLock<ChainMode>,
    pub(super) hits: Mutex<Vec<Hit>>,
}

struct Resolver(Arc<State>);

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver")
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.cert.read().unwrap().clone())
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn certified_key(pki: &Pki, mode: ChainMode) -> Arc<CertifiedKey> {
    let key = rustls::crypto::aws_lc_rs::sign::any_supported_type(&pki.leaf_key_der())
        .expect("load leaf key");
    Arc::new(CertifiedKey::new(pki.chain(mode), key))
}

/// A running HTTPS issuer. Stops on drop.
pub struct Issuer {
    addr: SocketAddr,
    host: String,
    path: String,
    key: Arc<SigningKey>,
    state: Arc<State>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer").field("url", &self.url()).finish()
    }
}

impl Issuer {
    /// Serve `pki`'s leaf + intermediate(s) with the default Bitbucket-like routes.
    pub fn start(pki: &Pki) -> Issuer {
        Self::start_with(pki, IssuerOptions::default())
    }

    pub fn start_with(pki: &Pki, opts: IssuerOptions) -> Issuer {
        let key = Arc::new(SigningKey::generate(&opts.kid));
        let state = Arc::new(State {
            routes: RwLock::new(HashMap::new()),
            cert: RwLock::new(certified_key(pki, opts.chain)),
            mode: RwLock::new(opts.chain),
            hits: Mutex::new(Vec::new()),
        });

        let listener = StdTcpListener::bind("127.0.0.1:0").expect("bind issuer");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("issuer addr");

        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Resolver(state.clone())));
        let acceptor = TlsAcceptor::from(Arc::new(config));

        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let server_state = state.clone();
        let thread = std::thread::Builder::new()
            .name(format!("issuer-{}", addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("issuer runtime");
                rt.block_on(accept_loop(listener, acceptor, server_state, shutdown_rx));
                rt.shutdown_background();
            })
            .expect("spawn issuer thread");

        let issuer = Issuer {
            addr,
            host: opts.host,
            path: opts.path,
            key,
            state,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        };
        issuer.reset_routes();
        issuer
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `https://HOST:PORT` (HOST is `localhost` by default).
    pub fn origin(&self) -> String {
        format!("https://{}:{}", self.host, self.port())
    }

    /// The issuer URL: `https://localhost:PORT/oidc` by default.
    pub fn url(&self) -> String {
        format!("{}{}", self.origin(), self.path)
    }

    /// The issuer URL without `https://` (the IAM provider / condition-key prefix).
    pub fn host_path(&self) -> String {
        format!("{}:{}{}", self.host, self.port(), self.path)
    }

    pub fn discovery_path(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.path)
    }

    pub fn jwks_path(&self) -> String {
        format!("{}/keys.json", self.path)
    }

    pub fn discovery_url(&self) -> String {
        format!("{}{}", self.origin(), self.discovery_path())
    }

    pub fn jwks_url(&self) -> String {
        format!("{}{}", self.origin(), self.jwks_path())
    }

    /// The signing key whose public half the default JWKS serves.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    /// The default discovery document (what Bitbucket serves, with this issuer's URLs).
    pub fn discovery_document(&self) -> Value {
        let issuer = self.url();
        json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/keys.json"),
            "subject_types_supported": ["public"],
            "response_types_supported": ["id_token"],
            "claims_supported": [
                "sub", "aud", "exp", "iat", "iss", "workspaceUuid", "repositoryUuid",
                "pipelineUuid", "stepUuid", "branchName", "deploymentEnvironmentUuid",
                "stepRunId"
            ],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"]
        })
    }

    /// The default JWKS: one RSA key.
    pub fn jwks(&self) -> Value {
        jwks(&[&self.key])
    }

    /// Answer `path` (optionally with `?query`; exact target match wins over path match).
    pub fn set_route(&self, path: &str, response: Response) {
        self.state
            .routes
            .write()
            .unwrap()
            .insert(path.to_string(), response);
    }

    pub fn set_json(&self, path: &str, status: u16, body: &Value) {
        self.set_route(path, Response::json(status, body));
    }

    /// Replace the discovery document.
    pub fn set_discovery(&self, doc: &Value) {
        self.set_json(&self.discovery_path(), 200, doc);
    }

    /// Replace the JWKS.
    pub fn set_jwks(&self, doc: &Value) {
        self.set_json(&self.jwks_path(), 200, doc);
    }

    /// Make `path` answer 404.
    pub fn remove_route(&self, path: &str) {
        self.state.routes.write().unwrap().remove(path);
    }

    /// Back to the default discovery and JWKS routes only.
    pub fn reset_routes(&self) {
        let mut routes = self.state.routes.write().unwrap();
        routes.clear();
        routes.insert(
            self.discovery_path(),
            Response::json(200, &self.discovery_document()),
        );
        routes.insert(self.jwks_path(), Response::json(200, &self.jwks()));
    }

    /// Serve `pki`'s chain from the next handshake on, keeping the chain mode.
    pub fn rotate_chain(&self, pki: &Pki) {
        let mode = *self.state.mode.read().unwrap();
        self.set_chain(pki, mode);
    }

    /// Serve `pki`'s chain in `mode` from the next handshake on.
    pub fn set_chain(&self, pki: &Pki, mode: ChainMode) {
        *self.state.mode.write().unwrap() = mode;
        *self.state.cert.write().unwrap() = certified_key(pki, mode);
    }

    /// Every request received so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }

    /// How many requests targeted `path` (query string ignored).
    pub fn hit_count(&self, path: &str) -> usize {
        self.hits()
            .iter()
            .filter(|h| h.target.split('?').next() == Some(path))
            .count()
    }

    pub fn clear_hits(&self) {
        self.state.hits.lock().unwrap().clear();
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
