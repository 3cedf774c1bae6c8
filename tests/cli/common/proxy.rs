//! A fault-injecting HTTP proxy in front of moto, on 127.0.0.1. The tool under test talks to
//! it through `--endpoint-url`; it forwards each request to moto (one upstream connection per
//! request) and can:
//!
//! * cut the network right after the k-th mutating request reached AWS: that request takes
//!   effect in moto, its response never arrives, and every later connection is dropped
//!   (network gone, or the process killed at that instant);
//! * lose the response of the k-th mutating request once (the SDK retries it);
//! * answer the first attempt of every mutating call with a real AWS throttling error for
//!   its protocol (IAM/STS query XML `Throttling`, S3 `SlowDown` 503, DynamoDB JSON
//!   `ThrottlingException`), forwarding the retries.
//!
//! Requests are classified with [`classify`](super::moto::classify), the same rules the moto
//! recorder assertions use. A write the AWS behaviour layer refused (its response carries
//! `x-aws-layer-refused`) changed nothing: it is not counted, and a fault armed for it moves to
//! the next write that AWS accepts.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::moto::{classify, RecordedRequest};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything.
    None,
    /// Forward the k-th mutating request (1-based), drop its response and everything after.
    CutAfter(usize),
    /// Forward the k-th mutating request, drop its response; carry on afterwards.
    LoseResponse(usize),
    /// Like `CutAfter`, at the first mutating request for this operation.
    CutAfterOperation(String),
    /// Like `LoseResponse`, for the first mutating request for this operation.
    LoseResponseOf(String),
    /// Answer the first attempt of every mutating call with a throttling error.
    ThrottleFirstAttempt,
}

#[derive(Debug, Default)]
struct State {
    fault: Option<Fault>,
    /// Mutating requests that arrived (throttled ones not counted).
    mutating: usize,
    /// Set when the network is cut: nothing gets through any more.
    dead: bool,
    /// `(service, operation)` of the request after which the network was cut / the
    /// response lost.
    faulted: Vec<(String, String)>,
    throttled: Vec<(String, String)>,
    invocations: HashSet<String>,
    /// Every request the proxy saw: `(service, operation, mutating)`.
    seen: Vec<(String, String, bool)>,
}

pub struct Proxy {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Start a proxy forwarding to 127.0.0.1:`upstream`.
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("proxy addr").port();
        let state = Arc::new(Mutex::new(State {
            fault: Some(Fault::None),
            ..Default::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !sp.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let st = st.clone();
                        std::thread::spawn(move || {
                            let _ = client.set_nonblocking(false);
                            serve(client, upstream, port, &st);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Proxy {
            port,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, for `--endpoint-url`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Arm a fault; counters and the record start afresh.
    pub fn set_fault(&self, fault: Fault) {
        let mut s = self.state.lock().expect("proxy state");
        *s = State {
            fault: Some(fault),
            ..Default::default()
        };
    }

    /// Mutating requests that arrived since the fault was armed (throttled attempts not
    /// counted).
    pub fn mutating(&self) -> usize {
        self.state.lock().expect("proxy state").mutating
    }

    /// The request the fault hit, if it fired.
    pub fn faulted(&self) -> Vec<(String, String)> {
        self.state.lock().expect("proxy state").faulted.clone()
    }

    /// The mutating calls answered with a throttling error.
    pub fn throttled(&self) -> Vec<(String, String)> {
        self.state.lock().expect("proxy state").throttled.clone()
    }

    /// Every request seen: `(service, operation, mutating)`.
    pub fn seen(&self) -> Vec<(String, String, bool)> {
        self.state.lock().expect("proxy state").seen.clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One HTTP/1.1 request as read from the client.
struct Request {
    method: String,
    target: String,
    /// Header lines as received (name, value).
    headers: Vec<(String, String)>,
    /// The body as sent (possibly chunked), to forward unchanged.
    raw_body: Vec<u8>,
    /// The decoded body, for classification.
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_line(r: &mut impl BufRead) -> Option<String> {
    let mut line = String::new();
    match r.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line),
    }
}

fn read_chunked(r: &mut impl BufRead) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut raw = Vec::new();
    let mut body = Vec::new();
    loop {
        let line = read_line(r)?;
        raw.extend_from_slice(line.as_bytes());
        let size = usize::from_str_radix(line.trim().split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            // Trailers until the empty line.
            loop {
                let t = read_line(r)?;
                raw.extend_from_slice(t.as_bytes());
                if t.trim().is_empty() {
                    return Some((raw, body));
                }
            }
        }
        let mut chunk = vec![0; size + 2];
        r.read_exact(&mut chunk).ok()?;
        raw.extend_from_slice(&chunk);
        body.extend_from_slice(&chunk[..size]);
    }
}

fn read_request(r: &mut impl BufRead) -> Option<Request> {
    let request_line = read_line(r)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let line = read_line(r)?;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let mut req = Request {
        method,
        target,
        headers,
        raw_body: Vec::new(),
        body: Vec::new(),
    };
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        let (raw, body) = read_chunked(r)?;
        req.raw_body = raw;
        req.body = body;
    } else {
        let len: usize = req
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        r.read_exact(&mut body).ok()?;
        req.raw_body = body.clone();
        req.body = body;
    }
    Some(req)
}

/// A response: status line, headers, body.
type Response = (String, Vec<(String, String)>, Vec<u8>);

/// Forward to moto over a fresh connection and return its response.
fn forward(req: &Request, upstream: u16) -> std::io::Result<Response> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (k, v) in &req.headers {
        if k.eq_ignore_ascii_case("connection") {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&req.raw_body)?;
    up.flush()?;
    let mut raw = Vec::new();
    up.read_to_end(&mut raw)?;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of response head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap_or("HTTP/1.1 502 Bad Gateway")
        .to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    });
    if chunked {
        let mut r = BufReader::new(&body[..]);
        body = read_chunked(&mut r)
            .map(|(_, b)| b)
            .ok_or_else(|| bad("bad chunked response"))?;
    }
    Ok((status, headers, body))
}

fn respond(
    client: &mut TcpStream,
    status: &str,
    headers: &[(String, String)],
    body: &[u8],
    head_request: bool,
) -> std::io::Result<()> {
    let mut out = format!("{status}\r\n");
    for (k, v) in headers {
        let skip = ["content-length", "transfer-encoding", "connection"]
            .iter()
            .any(|h| k.eq_ignore_ascii_case(h));
        if !skip || (head_request && k.eq_ignore_ascii_case("content-length")) {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if !head_request {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    client.write_all(out.as_bytes())?;
    if !head_request {
        client.write_all(body)?;
    }
    client.flush()
}

/// The throttling error AWS answers with, for the service's protocol.
fn throttle_response(service: &str) -> Response {
    let h = |ct: &str| {
        vec![
            ("Content-Type".to_string(), ct.to_string()),
            ("x-amzn-RequestId".to_string(), "proxy-throttle".to_string()),
        ]
    };
    match service {
        "s3" => (
            "HTTP/1.1 503 Slow Down".into(),
            h("application/xml"),
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>proxy-throttle</RequestId><HostId>proxy</HostId></Error>".to_vec(),
        ),
        "dynamodb" => (
            "HTTP/1.1 400 Bad Request".into(),
            h("application/x-amz-json-1.0"),
            br#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#.to_vec(),
        ),
        _ => (
            "HTTP/1.1 400 Bad Request".into(),
            h("text/xml"),
            b"<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>proxy-throttle</RequestId></ErrorResponse>".to_vec(),
        ),
    }
}

/// Whether this is the first attempt of its call: the SDK's `amz-sdk-request: attempt=N`,
/// else the first time its invocation id is seen.
fn first_attempt(req: &Request, state: &mut State) -> bool {
    if let Some(v) = req.header("amz-sdk-request") {
        return v.split(';').any(|p| p.trim() == "attempt=1");
    }
    match req.header("amz-sdk-invocation-id") {
        Some(id) => state.invocations.insert(id.to_string()),
        None => true,
    }
}

enum Decision {
    Forward,
    ForwardThenCut,
    ForwardThenLose,
    Throttle,
    Drop,
}

#[allow(
    clippy::too_many_lines,
    reason = "one connection's whole exchange: read, decide the fault, forward, record"
)]
fn serve(client: TcpStream, upstream: u16, port: u16, state: &Mutex<State>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(120)));
    let Ok(read_half) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut client = client;
    loop {
        if state.lock().map_or(true, |s| s.dead) {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        let Some(req) = read_request(&mut reader) else {
            return;
        };
        let headers: BTreeMap<String, String> = req
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        let recorded = RecordedRequest::from_parts(
            &req.method,
            &format!("http://127.0.0.1:{port}{}", req.target),
            headers,
            req.body.clone(),
        );
        let (service, operation, mutating) = classify(&recorded);
        let decision = {
            let Ok(mut s) = state.lock() else { return };
            s.seen.push((service.clone(), operation.clone(), mutating));
            if s.dead {
                Decision::Drop
            } else if !mutating {
                Decision::Forward
            } else {
                let fault = s.fault.clone().unwrap_or(Fault::None);
                if fault == Fault::ThrottleFirstAttempt && first_attempt(&req, &mut s) {
                    s.throttled.push((service.clone(), operation.clone()));
                    Decision::Throttle
                } else {
                    s.mutating += 1;
                    let fired = s.faulted.is_empty();
                    let (cut, lose) = match &fault {
                        // At most once: a fault undone because the layer refused its write
                        // moves to the next accepted one, never to a second.
                        Fault::CutAfter(k) => (fired && s.mutating == *k, false),
                        Fault::CutAfterOperation(op) => (fired && *op == operation, false),
                        Fault::LoseResponse(k) => (false, fired && s.mutating == *k),
                        Fault::LoseResponseOf(op) => (false, fired && *op == operation),
                        _ => (false, false),
                    };
                    if cut {
                        // From now on nothing else gets through.
                        s.dead = true;
                        s.faulted.push((service.clone(), operation.clone()));
                        Decision::ForwardThenCut
                    } else if lose {
                        s.faulted.push((service.clone(), operation.clone()));
                        Decision::ForwardThenLose
                    } else {
                        Decision::Forward
                    }
                }
            }
        };
        let head_request = req.method == "HEAD";
        match decision {
            Decision::Drop => {
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            Decision::Throttle => {
                let (status, h, body) = throttle_response(&service);
                if respond(&mut client, &status, &h, &body, head_request).is_err() {
                    return;
                }
            }
            Decision::Forward | Decision::ForwardThenCut | Decision::ForwardThenLose => {
                let response = forward(&req, upstream);
                let refused = response.as_ref().is_ok_and(|(_, h, _)| {
                    h.iter()
                        .any(|(k, _)| k.eq_ignore_ascii_case("x-aws-layer-refused"))
                });
                if mutating && refused {
                    // AWS (the behaviour layer) refused it: nothing changed, so it does not
                    // count as a write, and a fault meant for it waits for the next write.
                    let Ok(mut s) = state.lock() else { return };
                    s.mutating -= 1;
                    if !matches!(decision, Decision::Forward) {
                        s.dead = false;
                        s.faulted.pop();
                    }
                    drop(s);
                    let Ok((status, h, body)) = response else {
                        return;
                    };
                    if respond(&mut client, &status, &h, &body, head_request).is_err() {
                        return;
                    }
                    continue;
                }
                if !matches!(decision, Decision::Forward) {
                    // The call reached AWS; its answer never comes back.
                    let _ = client.shutdown(Shutdown::Both);
                    return;
                }
                let Ok((status, h, body)) = response else {
                    let _ = client.shutdown(Shutdown::Both);
                    return;
                };
                if respond(&mut client, &status, &h, &body, head_request).is_err() {
                    return;
                }
            }
        }
    }
}
