//! A local Bitbucket Cloud REST API 2.0 over HTTPS, with its own CA (trusted by `bootstrap`
//! only through `--ca-bundle`), speaking just enough HTTP/1.1 by hand as the issuer does.
//!
//! It implements the endpoints the tool uses (workspace, repositories with `q=slug="..."`,
//! environments, pipeline and deployment variables), pages every listing ([`PAGELEN`] items,
//! `next` links), and checks every request it receives and every response it gives against
//! Atlassian's OpenAPI document ([`openapi`](super::openapi)): a mismatch is recorded and
//! [`BitbucketApi::assert_conforms`] fails the test. It models the credentials (Bearer or
//! Basic; 401 otherwise), scopes (403 naming the missing one), 404, and HTTP 429 with
//! `Retry-After`; it records every exchange with its timing (round trips) and every write.

use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use super::bitbucket_routes::{handle, read_request};
use super::pki::{ChainMode, Pki};

/// Items per page, Bitbucket's default `pagelen`.
pub const PAGELEN: usize = 10;
/// The canary access token the tests hand the tool (never to appear in any output).
pub const TOKEN: &str = "BBCANARYaccessTOKEN0123456789abcdefLEAK";
pub const EMAIL: &str = "ops@example.com";
pub const API_TOKEN: &str = "ATATTcanaryAPItoken9876543210fedcbaLEAK";

/// A deployment environment and its variables.
#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub uuid: String,
    pub variables: Vec<Variable>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub uuid: String,
    pub key: String,
    pub value: String,
    pub secured: bool,
}

#[derive(Debug, Clone)]
pub struct Repository {
    pub slug: String,
    pub uuid: String,
    pub environments: Vec<Environment>,
    pub variables: Vec<Variable>,
}

/// One request and the answer it got.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub status: u16,
    pub authorization: Option<String>,
    pub started: Instant,
    pub ended: Instant,
}

impl Exchange {
    pub fn is_write(&self) -> bool {
        self.method != "GET"
    }
}

pub(super) struct State {
    pub(super) workspace: (String, String),
    pub(super) repos: Vec<Repository>,
    pub(super) scopes: Vec<String>,
    /// The next this many requests are answered 429 with `Retry-After: retry_after`.
    pub(super) rate_limited: usize,
    pub(super) retry_after: u64,
    pub(super) delay: Duration,
    /// Answer every request with this redirect (to check it is not followed).
    pub(super) redirect_to: Option<String>,
    pub(super) log: Vec<Exchange>,
    pub(super) violations: Vec<String>,
    pub(super) next_id: u32,
    /// `https://localhost:PORT`, for `next` links.
    pub(super) origin: String,
}

pub struct BitbucketApi {
    addr: SocketAddr,
    pki: Pki,
    state: Arc<Mutex<State>>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// A Bitbucket-style UUID, braced and lowercase, from a number.
pub fn uuid_of(kind: u8, n: u32) -> String {
    format!("{{{n:08x}-{kind:04x}-4000-8000-00000000{kind:04x}}}")
}

impl BitbucketApi {
    /// A workspace `slug` (its UUID is [`BitbucketApi::workspace_uuid`]), no repositories,
    /// every scope the tool may need.
    pub fn start(workspace: &str) -> BitbucketApi {
        let pki = Pki::new();
        let state = Arc::new(Mutex::new(State {
            workspace: (workspace.to_string(), uuid_of(1, 1)),
            repos: Vec::new(),
            scopes: ["account", "repository", "pipeline", "pipeline:variable"]
                .map(String::from)
                .to_vec(),
            rate_limited: 0,
            retry_after: 1,
            delay: Duration::ZERO,
            redirect_to: None,
            log: Vec::new(),
            violations: Vec::new(),
            next_id: 100,
            origin: String::new(),
        }));
        let listener = StdTcpListener::bind("127.0.0.1:0").expect("bind bitbucket api");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        state.lock().unwrap().origin = format!("https://localhost:{}", addr.port());
        let key = rustls::crypto::aws_lc_rs::sign::any_supported_type(&pki.leaf_key_der())
            .expect("leaf key");
        let certified = Arc::new(rustls::sign::CertifiedKey::new(
            pki.chain(ChainMode::LeafAndIntermediates),
            key,
        ));
        let config = ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(certified)));
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (tx, rx) = oneshot::channel::<()>();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(accept_loop(listener, acceptor, st, rx));
            rt.shutdown_background();
        });
        BitbucketApi {
            addr,
            pki,
            state,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `https://localhost:PORT/2.0`, for `--bitbucket-api-url`.
    pub fn url(&self) -> String {
        format!("https://localhost:{}/2.0", self.addr.port())
    }

    /// This API's own root CA (PEM), to put in a `--ca-bundle`.
    pub fn ca_pem(&self) -> &str {
        &self.pki.root.pem
    }

    pub fn workspace_uuid(&self) -> String {
        self.state.lock().unwrap().workspace.1.clone()
    }

    /// Add a repository with deployment environments `envs`; returns its UUID.
    pub fn add_repository(&self, slug: &str, envs: &[&str]) -> String {
        let mut st = self.state.lock().unwrap();
        st.next_id += 1;
        let n = st.next_id;
        let environments = envs
            .iter()
            .enumerate()
            .map(|(i, name)| Environment {
                name: (*name).to_string(),
                uuid: uuid_of(3, n * 16 + u32::try_from(i).unwrap()),
                variables: Vec::new(),
            })
            .collect();
        let uuid = uuid_of(2, n);
        st.repos.push(Repository {
            slug: slug.to_string(),
            uuid: uuid.clone(),
            environments,
            variables: Vec::new(),
        });
        uuid
    }

    pub fn repository(&self, slug: &str) -> Repository {
        let st = self.state.lock().unwrap();
        st.repos
            .iter()
            .find(|r| r.slug == slug)
            .cloned()
            .expect("known repository")
    }

    /// The UUID of environment `name` of repository `slug`.
    pub fn environment_uuid(&self, slug: &str, name: &str) -> String {
        self.repository(slug)
            .environments
            .iter()
            .find(|e| e.name == name)
            .expect("known environment")
            .uuid
            .clone()
    }

    /// Add a variable to repository `slug`, or to its environment `env`.
    pub fn add_variable(
        &self,
        slug: &str,
        env: Option<&str>,
        key: &str,
        value: &str,
        secured: bool,
    ) {
        let mut st = self.state.lock().unwrap();
        st.next_id += 1;
        let v = Variable {
            uuid: uuid_of(5, st.next_id),
            key: key.to_string(),
            value: value.to_string(),
            secured,
        };
        let repo = st
            .repos
            .iter_mut()
            .find(|r| r.slug == slug)
            .expect("repository");
        match env {
            None => repo.variables.push(v),
            Some(name) => repo
                .environments
                .iter_mut()
                .find(|e| e.name == name)
                .expect("environment")
                .variables
                .push(v),
        }
    }

    /// Change the value of variable `key` of repository `slug` (or its environment `env`),
    /// as someone editing it in Bitbucket would.
    pub fn edit_variable(&self, slug: &str, env: Option<&str>, key: &str, value: &str) {
        let mut st = self.state.lock().unwrap();
        let repo = st
            .repos
            .iter_mut()
            .find(|r| r.slug == slug)
            .expect("repository");
        let vars = match env {
            None => &mut repo.variables,
            Some(name) => {
                &mut repo
                    .environments
                    .iter_mut()
                    .find(|e| e.name == name)
                    .expect("environment")
                    .variables
            }
        };
        vars.iter_mut()
            .find(|v| v.key == key)
            .expect("variable")
            .value = value.to_string();
    }

    /// `(key, value)` of the variables of repository `slug`, or of its environment `env`.
    pub fn variables(&self, slug: &str, env: Option<&str>) -> Vec<(String, String)> {
        let repo = self.repository(slug);
        let vars = match env {
            None => repo.variables,
            Some(name) => {
                repo.environments
                    .into_iter()
                    .find(|e| e.name == name)
                    .expect("environment")
                    .variables
            }
        };
        let mut out: Vec<(String, String)> = vars.into_iter().map(|v| (v.key, v.value)).collect();
        out.sort();
        out
    }

    /// The token holds only these scopes.
    pub fn set_scopes(&self, scopes: &[&str]) {
        self.state.lock().unwrap().scopes = scopes.iter().map(ToString::to_string).collect();
    }

    /// The next `n` requests get HTTP 429 with `Retry-After: seconds`.
    pub fn rate_limit(&self, n: usize, seconds: u64) {
        let mut st = self.state.lock().unwrap();
        st.rate_limited = n;
        st.retry_after = seconds;
    }

    /// Every answer waits this long (to tell concurrent requests from sequential ones).
    pub fn set_delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// Every request is answered `302 Found` to `location`.
    pub fn redirect_all(&self, location: &str) {
        self.state.lock().unwrap().redirect_to = Some(location.to_string());
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn writes(&self) -> Vec<Exchange> {
        self.exchanges()
            .into_iter()
            .filter(Exchange::is_write)
            .collect()
    }

    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }

    /// The longest chain of requests each sent after the previous one's answer arrived: the
    /// sequential round trips the tool needed.
    pub fn round_trips(&self) -> usize {
        let log = self.exchanges();
        let mut depth = vec![0usize; log.len()];
        let mut order: Vec<usize> = (0..log.len()).collect();
        order.sort_by_key(|&i| log[i].started);
        for &i in &order {
            let before = order
                .iter()
                .filter(|&&j| log[j].ended <= log[i].started)
                .map(|&j| depth[j])
                .max()
                .unwrap_or(0);
            depth[i] = before + 1;
        }
        depth.into_iter().max().unwrap_or(0)
    }

    /// Fail the test if any request or response did not match the OpenAPI document.
    #[track_caller]
    pub fn assert_conforms(&self) {
        let st = self.state.lock().unwrap();
        assert!(
            st.violations.is_empty(),
            "the Bitbucket exchanges do not match Atlassian's OpenAPI document:\n{}",
            st.violations.join("\n")
        );
    }
}

impl Drop for BitbucketApi {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Debug)]
struct Fixed(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

async fn accept_loop(
    listener: StdTcpListener,
    acceptor: TlsAcceptor,
    state: Arc<Mutex<State>>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let (acceptor, state) = (acceptor.clone(), state.clone());
                tokio::spawn(async move { let _ = serve(acceptor, tcp, state).await; });
            }
        }
    }
}

async fn serve(
    acceptor: TlsAcceptor,
    tcp: tokio::net::TcpStream,
    state: Arc<Mutex<State>>,
) -> std::io::Result<()> {
    let mut tls = acceptor.accept(tcp).await?;
    let Some(req) = read_request(&mut tls).await? else {
        return Ok(());
    };
    let started = Instant::now();
    let delay = state.lock().unwrap().delay;
    tokio::time::sleep(delay).await;
    let (status, headers, body) = {
        let mut st = state.lock().unwrap();
        let answer = handle(&mut st, &req);
        st.log.push(Exchange {
            method: req.method.clone(),
            target: req.target.clone(),
            status: answer.0,
            authorization: req.authorization.clone(),
            started,
            ended: Instant::now(),
        });
        answer
    };
    let body = body
        .map(|b| serde_json::to_vec(&b).unwrap())
        .unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    tls.write_all(&bytes).await?;
    tls.flush().await?;
    tls.shutdown().await?;
    Ok(())
}
