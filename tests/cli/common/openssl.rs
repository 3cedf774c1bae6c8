//! An independent witness for thumbprints: the `openssl` command line.
//!
//! `openssl s_client -showcerts` prints every certificate the server sends; IAM's thumbprint
//! is the SHA-1 fingerprint (`openssl x509 -fingerprint -sha1`) of the last one.

use std::io::Write;
use std::process::{Command, Stdio};

/// Whether `openssl` can be run. Outside CI a missing openssl skips the cross-check with a
/// message; under `CI=1` it is a failure.
pub fn available() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
        assert!(
            !ci,
            "openssl is not on PATH but CI is set: the thumbprint cross-check must run in CI; \
             install openssl"
        );
        eprintln!("NOTE: openssl not on PATH; skipping the openssl cross-check (fails under CI=1)");
    }
    found
}

/// The PEM blocks `openssl s_client -showcerts` prints for `127.0.0.1:port` with SNI
/// `server_name`, in the order the server sent them.
pub fn served_chain_pem(port: u16, server_name: &str) -> Vec<String> {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-showcerts",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            server_name,
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run openssl s_client");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("-----BEGIN CERTIFICATE-----") {
            current = Some(String::new());
        }
        if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
        if line.starts_with("-----END CERTIFICATE-----") {
            blocks.extend(current.take());
        }
    }
    assert!(
        !blocks.is_empty(),
        "openssl s_client printed no certificate\nstdout:\n{text}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    blocks
}

/// `openssl x509 -fingerprint -sha1` of one PEM certificate, as IAM writes thumbprints
/// (lowercase hex, no colons).
pub fn sha1_fingerprint(pem: &str) -> String {
    let mut child = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl x509");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(pem.as_bytes())
        .expect("write PEM to openssl");
    let out = child.wait_with_output().expect("openssl x509 output");
    let text = String::from_utf8_lossy(&out.stdout);
    // "SHA1 Fingerprint=AB:CD:..." (OpenSSL 1.1) or "sha1 Fingerprint=..." (3.x).
    let hex = text.trim().split_once('=').map_or_else(
        || panic!("unexpected openssl x509 output: {text:?}"),
        |(_, v)| v.replace(':', "").to_ascii_lowercase(),
    );
    assert_eq!(hex.len(), 40, "{text:?}");
    hex
}

/// The thumbprint by openssl: SHA-1 of the last certificate the server at `port` sends.
pub fn thumbprint(port: u16, server_name: &str) -> String {
    let chain = served_chain_pem(port, server_name);
    sha1_fingerprint(chain.last().expect("a certificate"))
}
