//! The issuer's server side: the accept loop (on the issuer's own runtime), and each connection
//! served over TLS (discovery, JWKS, the routes a test overrides, a body that never ends), with
//! just enough HTTP/1.1 by hand.

use super::issuer::{Framing, Hit, Response, State};
use std::net::TcpListener as StdTcpListener;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

pub(super) async fn accept_loop(
    listener: StdTcpListener,
    acceptor: TlsAcceptor,
    state: Arc<State>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let state = state.clone();
                tokio::spawn(async move {
                    // Handshake failures (the client rejecting our chain) are expected in tests.
                    let _ = serve(acceptor, tcp, state).await;
                });
            }
        }
    }
}

const IO_TIMEOUT: Duration = Duration::from_secs(15);

async fn serve(
    acceptor: TlsAcceptor,
    tcp: tokio::net::TcpStream,
    state: Arc<State>,
) -> std::io::Result<()> {
    let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, "timeout");
    let mut tls = tokio::time::timeout(IO_TIMEOUT, acceptor.accept(tcp))
        .await
        .map_err(|_| timed_out())??;

    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(IO_TIMEOUT, tls.read(&mut buf))
            .await
            .map_err(|_| timed_out())??;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.len() > 64 * 1024 {
            break;
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let host = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("host"))
        .map(|(_, value)| value.trim().to_string());
    state.hits.lock().unwrap().push(Hit {
        method: method.clone(),
        target: target.clone(),
        host,
    });

    let response = {
        let routes = state.routes.read().unwrap();
        let path = target.split('?').next().unwrap_or_default();
        routes
            .get(&target)
            .or_else(|| routes.get(path))
            .cloned()
            .unwrap_or_else(Response::not_found)
    };
    if let Some(delay) = response.delay {
        tokio::time::sleep(delay).await;
    }

    if let Some(framing) = response.endless {
        return serve_endless(&mut tls, &response, framing).await;
    }
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    );
    for (name, value) in &response.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if method != "HEAD" {
        bytes.extend_from_slice(&response.body);
    }
    tls.write_all(&bytes).await?;
    tls.flush().await?;
    tls.shutdown().await?;
    Ok(())
}

/// Send headers without a length, then zeros until the client hangs up (or a minute passes).
async fn serve_endless<S: AsyncWrite + Unpin>(
    tls: &mut S,
    response: &Response,
    framing: Framing,
) -> std::io::Result<()> {
    let framing_header = match framing {
        Framing::Chunked => "Transfer-Encoding: chunked\r\n",
        Framing::CloseDelimited => "Connection: close\r\n",
    };
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\n{framing_header}\r\n",
        response.status,
        reason(response.status),
        response.content_type,
    );
    tls.write_all(head.as_bytes()).await?;
    let zeros = vec![b'0'; 64 * 1024];
    let mut chunk = format!("{:x}\r\n", zeros.len()).into_bytes();
    chunk.extend_from_slice(&zeros);
    chunk.extend_from_slice(b"\r\n");
    let piece = match framing {
        Framing::Chunked => &chunk,
        Framing::CloseDelimited => &zeros,
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        tls.write_all(piece).await?;
    }
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
