//! The proxy's HTTP/1.1: read a request from the tool, forward it to moto over a fresh
//! connection, answer the tool; and the throttling errors AWS answers with.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One HTTP/1.1 request as read from the client.
pub(super) struct Request {
    pub(super) method: String,
    pub(super) target: String,
    /// Header lines as received (name, value).
    pub(super) headers: Vec<(String, String)>,
    /// The body as sent (possibly chunked), to forward unchanged.
    pub(super) raw_body: Vec<u8>,
    /// The decoded body, for classification.
    pub(super) body: Vec<u8>,
}

impl Request {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
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

pub(super) fn read_request(r: &mut impl BufRead) -> Option<Request> {
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
pub(super) type Response = (String, Vec<(String, String)>, Vec<u8>);

/// Forward to moto over a fresh connection and return its response.
pub(super) fn forward(req: &Request, upstream: u16) -> std::io::Result<Response> {
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

pub(super) fn respond(
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
pub(super) fn throttle_response(service: &str) -> Response {
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
