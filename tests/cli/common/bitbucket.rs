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

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use super::openapi;
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

struct State {
    workspace: (String, String),
    repos: Vec<Repository>,
    scopes: Vec<String>,
    /// The next this many requests are answered 429 with `Retry-After: retry_after`.
    rate_limited: usize,
    retry_after: u64,
    delay: Duration,
    /// Answer every request with this redirect (to check it is not followed).
    redirect_to: Option<String>,
    log: Vec<Exchange>,
    violations: Vec<String>,
    next_id: u32,
    /// `https://localhost:PORT`, for `next` links.
    origin: String,
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

/// One parsed request.
struct Request {
    method: String,
    target: String,
    authorization: Option<String>,
    body: Option<Value>,
}

async fn read_request<S: AsyncReadExt + Unpin>(s: &mut S) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split_whitespace();
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default().to_string();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let body = (len > 0).then(|| serde_json::from_slice(&body).unwrap_or(Value::Null));
    Ok(Some(Request {
        method,
        target,
        authorization: headers.get("authorization").cloned(),
        body,
    }))
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

type Answer = (u16, Vec<(String, String)>, Option<Value>);

fn error(status: u16, message: &str) -> Answer {
    (
        status,
        Vec::new(),
        Some(json!({"type": "error", "error": {"message": message}})),
    )
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Check the request against the document, answer it, check the answer.
fn handle(st: &mut State, req: &Request) -> Answer {
    let (raw_path, raw_query) = req.target.split_once('?').unwrap_or((&req.target, ""));
    let Some(path) = raw_path.strip_prefix("/2.0") else {
        return error(404, "not under /2.0");
    };
    let path = decode(path);
    let query: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let op = match openapi::operation(&req.method, &path) {
        Ok(op) => op,
        Err(e) => {
            st.violations.push(e);
            return error(404, "no such endpoint");
        }
    };
    let names: Vec<String> = query.iter().map(|(k, _)| k.clone()).collect();
    if let Err(e) = op.check_request(&names, req.body.as_ref()) {
        st.violations.push(e);
    }
    let answer = answer(st, req, &op, &path, &query);
    if let Err(e) = op.check_response(answer.0, answer.2.as_ref()) {
        if !(300..400).contains(&answer.0) {
            st.violations.push(e);
        }
    }
    answer
}

fn authorized(auth: Option<&str>) -> bool {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}:{API_TOKEN}"));
    auth == Some(&format!("Bearer {TOKEN}")) || auth == Some(&format!("Basic {basic}"))
}

fn answer(
    st: &mut State,
    req: &Request,
    op: &openapi::Operation,
    path: &str,
    query: &[(String, String)],
) -> Answer {
    if let Some(to) = &st.redirect_to {
        return (302, vec![("Location".into(), to.clone())], None);
    }
    if !authorized(req.authorization.as_deref()) {
        return error(
            401,
            "Token is invalid, expired, or not supported for this endpoint.",
        );
    }
    if st.rate_limited > 0 {
        st.rate_limited -= 1;
        let mut a = error(429, "Rate limit for this resource has been exceeded");
        a.1.push(("Retry-After".into(), st.retry_after.to_string()));
        return a;
    }
    // A scope implies the one it extends (Atlassian's scope list: `pipeline:variable` and
    // `pipeline:write` include `pipeline`, `repository:write` includes `repository`).
    let held = |s: &String| {
        st.scopes.contains(s)
            || st
                .scopes
                .iter()
                .any(|h| h.split_once(':').is_some_and(|(base, _)| base == s))
    };
    if let Some(missing) = op.scopes().into_iter().find(|s| !held(s)) {
        return error(
            403,
            &format!("Your credentials lack one or more required privilege scopes: {missing}"),
        );
    }
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    if seg.get(1) != Some(&st.workspace.0.as_str()) {
        return error(404, "No workspace with identifier");
    }
    match (req.method.as_str(), &seg[..]) {
        ("GET", ["workspaces", _]) => (
            200,
            Vec::new(),
            Some(
                json!({"type": "workspace", "uuid": st.workspace.1, "slug": st.workspace.0, "name": st.workspace.0}),
            ),
        ),
        ("GET", ["repositories", _]) => list_repositories(st, req, query),
        (_, ["repositories", _, repo, rest @ ..]) => {
            let Some(r) = st
                .repos
                .iter()
                .position(|x| x.slug == *repo || x.uuid == *repo)
            else {
                return error(404, "Repository not found");
            };
            repository_op(st, r, req, rest, query)
        }
        _ => error(404, "not implemented by the local Bitbucket API"),
    }
}

fn page_of(origin: &str, values: Vec<Value>, req: &Request, query: &[(String, String)]) -> Answer {
    let page: usize = query
        .iter()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1);
    let total = values.len();
    let items: Vec<Value> = values
        .into_iter()
        .skip((page - 1) * PAGELEN)
        .take(PAGELEN)
        .collect();
    let mut doc = json!({"pagelen": PAGELEN, "page": page, "size": total, "values": items});
    if page * PAGELEN < total {
        let (path, _) = req.target.split_once('?').unwrap_or((&req.target, ""));
        let mut q: Vec<String> = query
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                )
            })
            .collect();
        q.push(format!("page={}", page + 1));
        doc["next"] = json!(format!("{origin}{path}?{}", q.join("&")));
    }
    (200, Vec::new(), Some(doc))
}

fn list_repositories(st: &State, req: &Request, query: &[(String, String)]) -> Answer {
    let q = query
        .iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.as_str());
    let wanted: Option<Vec<String>> = match q {
        None => None,
        Some(q) => {
            let mut slugs = Vec::new();
            for term in q.split(" OR ") {
                let Some(s) = term
                    .trim()
                    .strip_prefix("slug=\"")
                    .and_then(|t| t.strip_suffix('"'))
                else {
                    return error(
                        400,
                        &format!("this local API understands only slug=\"...\" OR ...; got {q:?}"),
                    );
                };
                slugs.push(s.to_string());
            }
            Some(slugs)
        }
    };
    let values = st
        .repos
        .iter()
        .filter(|r| wanted.as_ref().is_none_or(|w| w.contains(&r.slug)))
        .map(|r| {
            json!({"type": "repository", "uuid": r.uuid, "slug": r.slug, "name": r.slug,
                   "full_name": format!("{}/{}", st.workspace.0, r.slug), "is_private": true, "scm": "git"})
        })
        .collect();
    page_of(&st.origin, values, req, query)
}

fn var_json(kind: &str, v: &Variable) -> Value {
    let value = if v.secured { "" } else { v.value.as_str() };
    json!({"type": kind, "uuid": v.uuid, "key": v.key, "value": value, "secured": v.secured})
}

fn repository_op(
    st: &mut State,
    r: usize,
    req: &Request,
    rest: &[&str],
    query: &[(String, String)],
) -> Answer {
    st.next_id += 1;
    let fresh = uuid_of(4, st.next_id);
    let origin = st.origin.clone();
    let repo = &mut st.repos[r];
    match (req.method.as_str(), rest) {
        ("GET", []) => (
            200,
            Vec::new(),
            Some(json!({"type": "repository", "uuid": repo.uuid, "slug": repo.slug})),
        ),
        ("GET", ["environments"]) => {
            let values = repo
                .environments
                .iter()
                .map(|e| json!({"type": "deployment_environment", "uuid": e.uuid, "name": e.name}))
                .collect();
            page_of(&origin, values, req, query)
        }
        (m, ["pipelines_config", "variables", tail @ ..]) => {
            let at = (origin.as_str(), fresh);
            variables(
                &mut repo.variables,
                "pipeline_variable",
                m,
                tail,
                req,
                query,
                at,
            )
        }
        (m, ["deployments_config", "environments", env, "variables", tail @ ..]) => {
            let Some(e) = repo.environments.iter_mut().find(|e| e.uuid == *env) else {
                return error(404, "Environment not found");
            };
            let at = (origin.as_str(), fresh);
            variables(
                &mut e.variables,
                "deployment_variable",
                m,
                tail,
                req,
                query,
                at,
            )
        }
        _ => error(404, "not implemented by the local Bitbucket API"),
    }
}

fn variables(
    vars: &mut Vec<Variable>,
    kind: &str,
    method: &str,
    tail: &[&str],
    req: &Request,
    query: &[(String, String)],
    (origin, fresh): (&str, String),
) -> Answer {
    let body = req.body.clone().unwrap_or(Value::Null);
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match (method, tail) {
        ("GET", []) => {
            let values = vars.iter().map(|v| var_json(kind, v)).collect();
            page_of(origin, values, req, query)
        }
        ("POST", []) => {
            let key = field("key");
            if vars.iter().any(|v| v.key == key) {
                return error(
                    409,
                    &format!("A variable with the key provided already exists: {key}"),
                );
            }
            let v = Variable {
                uuid: fresh,
                key,
                value: field("value"),
                secured: body
                    .get("secured")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            };
            vars.push(v.clone());
            (201, Vec::new(), Some(var_json(kind, &v)))
        }
        ("PUT", [uuid]) => {
            let Some(v) = vars.iter_mut().find(|v| v.uuid == *uuid) else {
                return error(404, "Variable not found");
            };
            if body.get("key").is_some() {
                v.key = field("key");
            }
            if body.get("value").is_some() {
                v.value = field("value");
            }
            (200, Vec::new(), Some(var_json(kind, v)))
        }
        _ => error(404, "not implemented by the local Bitbucket API"),
    }
}
