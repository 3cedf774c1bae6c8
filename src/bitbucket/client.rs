//! The Bitbucket API client: verified TLS (public roots plus `--ca-bundle`), the credentials
//! sent to the API's own origin only, no redirect followed, every body capped in size and
//! every request in time, pages followed, HTTP 429 retried after a bounded wait.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderValue, AUTHORIZATION, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::Credentials;
use crate::bounded::{self, BodyError};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::oidc::tls;

/// The largest page or object read from the API; a page of 100 repositories is ~300 KiB.
pub(crate) const PAGE_MAX: u64 = 4 << 20;
/// At most this many pages are followed for one listing.
const MAX_PAGES: usize = 100;
/// At most this many tries of one request answered HTTP 429.
const MAX_TRIES: u32 = 4;
/// The longest wait for one `Retry-After`; a longer one is reported instead of waited for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The OAuth scope an endpoint needs (Atlassian's OpenAPI document, `security`), named when
/// Bitbucket answers 401 or 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Read the workspace.
    Account,
    /// Read repositories.
    Repository,
    /// Read pipelines configuration: deployment environments, variables.
    Pipeline,
    /// Write pipelines and deployment variables.
    PipelineVariable,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Account => "account",
            Scope::Repository => "repository",
            Scope::Pipeline => "pipeline",
            Scope::PipelineVariable => "pipeline:variable",
        }
    }
}

/// Characters left as they are in a query value (`slug="a" OR slug="b"` is sent encoded).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

pub struct Client {
    http: reqwest::Client,
    base: url::Url,
    auth: HeaderValue,
    timeout: Duration,
    requests: AtomicUsize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .finish()
    }
}

impl Client {
    pub fn new(settings: &Settings, credentials: &Credentials) -> Result<Client> {
        let roots = tls::root_store(settings.ca_bundle.as_deref())?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls::client_config(roots))
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            // A redirect is an error: the credentials go to the API's own origin only.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("bootstrap/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::failure(format!("cannot set up the HTTPS client: {e}")))?;
        let base = url::Url::parse(&settings.trust.bitbucket.api_url).map_err(|e| {
            crate::usage!(
                "--bitbucket-api-url {}: {e}",
                settings.trust.bitbucket.api_url
            )
        })?;
        Ok(Client {
            http,
            base,
            auth: credentials.header_value()?,
            timeout: settings.timeout,
            requests: AtomicUsize::new(0),
        })
    }

    /// How many HTTP requests were sent (retries included).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// The URL of `path` (segments already encoded with [`segment`]) with `query`.
    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<url::Url> {
        let mut s = format!("{}{path}", self.base.as_str().trim_end_matches('/'));
        for (n, (k, v)) in query.iter().enumerate() {
            s.push(if n == 0 { '?' } else { '&' });
            s.push_str(k);
            s.push('=');
            s.push_str(&utf8_percent_encode(v, QUERY_VALUE).to_string());
        }
        url::Url::parse(&s).map_err(|e| Error::failure(format!("bad Bitbucket API URL {s}: {e}")))
    }

    /// GET one object; `None` when Bitbucket answers 404.
    pub async fn get(
        &self,
        path: &str,
        query: &[(&str, &str)],
        scope: Scope,
    ) -> Result<Option<Value>> {
        let url = self.url(path, query)?;
        self.send(Method::GET, url, None, scope).await
    }

    /// GET every page of a listing (`values`, following `next`); `None` on 404.
    pub async fn list(
        &self,
        path: &str,
        query: &[(&str, &str)],
        scope: Scope,
    ) -> Result<Option<Vec<Value>>> {
        let mut url = self.url(path, query)?;
        let mut values = Vec::new();
        for _ in 0..MAX_PAGES {
            let Some(page) = self.send(Method::GET, url.clone(), None, scope).await? else {
                return Ok(None);
            };
            if let Some(Value::Array(v)) = page.get("values") {
                values.extend(v.iter().cloned());
            }
            match page.get("next").and_then(Value::as_str) {
                Some(next) => url = self.same_origin(next)?,
                None => return Ok(Some(values)),
            }
        }
        Err(Error::failure(format!(
            "the Bitbucket listing at {} has more than {MAX_PAGES} pages; stopped there",
            self.url(path, &[])?
        )))
    }

    /// POST or PUT a JSON body; `None` on 404.
    pub async fn write(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        scope: Scope,
    ) -> Result<Option<Value>> {
        let url = self.url(path, &[])?;
        self.send(method, url, Some(body), scope).await
    }

    /// A `next` link, accepted only on the API's own origin and under its path: the
    /// credentials never go anywhere else.
    fn same_origin(&self, next: &str) -> Result<url::Url> {
        let url = url::Url::parse(next).map_err(|e| {
            Error::failure(format!(
                "Bitbucket gave a next page link that is not a URL ({e})"
            ))
        })?;
        let same = url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
            && url
                .path()
                .starts_with(self.base.path().trim_end_matches('/'));
        if same {
            Ok(url)
        } else {
            Err(Error::failure(format!(
                "Bitbucket gave a next page on another origin ({}); not followed: the credentials go only to {}",
                url.origin().ascii_serialization(),
                self.base.origin().ascii_serialization()
            ))
            .hint("check --bitbucket-api-url"))
        }
    }

    /// One request with its retries on 429.
    async fn send(
        &self,
        method: Method,
        url: url::Url,
        body: Option<&Value>,
        scope: Scope,
    ) -> Result<Option<Value>> {
        let mut waited = Duration::ZERO;
        for attempt in 1..=MAX_TRIES {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, self.auth.clone())
                .header("accept", "application/json");
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req.send().await.map_err(|e| self.request_error(&e, &url))?;
            let status = resp.status();
            if status == StatusCode::TOO_MANY_REQUESTS && attempt < MAX_TRIES {
                let wait = retry_after(&resp);
                if wait > MAX_RETRY_AFTER || waited + wait > MAX_RETRY_AFTER * 2 {
                    return Err(rate_limited(&method, &url, Some(wait)));
                }
                waited += wait;
                tokio::time::sleep(wait).await;
                continue;
            }
            return self.answer(resp, &method, &url, scope).await;
        }
        Err(rate_limited(&method, &url, None))
    }

    /// Judge an answer: the JSON body of a success, `None` for 404, an error naming the
    /// scope for 401 and 403.
    async fn answer(
        &self,
        resp: reqwest::Response,
        method: &Method,
        url: &url::Url,
        scope: Scope,
    ) -> Result<Option<Value>> {
        let status = resp.status();
        let what = format!("{method} {}", url.path());
        if status.is_redirection() {
            let to = resp
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .map_or_else(
                    || "elsewhere".to_string(),
                    |u| u.origin().ascii_serialization(),
                );
            return Err(Error::failure(format!(
                "Bitbucket redirected {what} to {to} (HTTP {}); not followed: the credentials go only to {}",
                status.as_u16(),
                self.base.origin().ascii_serialization()
            ))
            .hint("set --bitbucket-api-url to the API's own URL"));
        }
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = match bounded::read_body(resp, PAGE_MAX).await {
            Ok(b) => b,
            Err(BodyError::TooLarge { cap }) => {
                return Err(Error::failure(format!(
                    "Bitbucket's answer to {what} is larger than {}; reading stopped there",
                    bounded::size(cap)
                ))
                .hint("check --bitbucket-api-url"))
            }
            Err(BodyError::Http(e)) => return Err(self.request_error(&e, url)),
        };
        match status.as_u16() {
            200..=299 if body.is_empty() => Ok(Some(Value::Null)),
            200..=299 => serde_json::from_slice(&body).map(Some).map_err(|e| {
                Error::failure(format!("Bitbucket's answer to {what} is not JSON ({e})"))
                    .hint("check --bitbucket-api-url")
            }),
            401 => Err(Error::failure(format!(
                "Bitbucket refused the credentials for {what} (HTTP 401)"
            ))
            .code("401")
            .hint(format!(
                "check {}: the token may be wrong, expired or revoked; it needs the scope {}",
                super::CREDENTIAL_VARIABLES,
                scope.name()
            ))),
            403 => Err(Error::failure(format!(
                "the Bitbucket token may not {what} (HTTP 403){}",
                detail(&body)
            ))
            .code("403")
            .hint(format!(
                "give the token the scope {} (and access to this workspace and repository); docs/bitbucket.md",
                scope.name()
            ))),
            code => Err(Error::failure(format!(
                "Bitbucket answered {what} with HTTP {code}{}",
                detail(&body)
            ))
            .code(code.to_string())),
        }
    }

    fn request_error(&self, e: &reqwest::Error, url: &url::Url) -> Error {
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(443);
        if let Some(err) = tls::transport_error(e, host, port, self.timeout) {
            return err;
        }
        Error::failure(format!("the Bitbucket API at {host}:{port} failed: {e}"))
            .hint("check --bitbucket-api-url")
    }
}

/// A path segment, percent-encoded (`{uuid}` braces included).
pub(crate) fn segment(s: &str) -> String {
    utf8_percent_encode(s, QUERY_VALUE).to_string()
}

/// The wait a 429 asks for: `Retry-After` in seconds, one second when absent or unreadable.
fn retry_after(resp: &reqwest::Response) -> Duration {
    resp.headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs)
}

fn rate_limited(method: &Method, url: &url::Url, wait: Option<Duration>) -> Error {
    let after = wait.map_or_else(String::new, |w| {
        format!("; it asks to wait {} seconds", w.as_secs())
    });
    Error::failure(format!(
        "Bitbucket's rate limit refused {method} {} (HTTP 429){after}",
        url.path()
    ))
    .code("429")
    .hint("run the command again in a minute")
}

/// Bitbucket's own words from an error body (`error.message`), shortened.
fn detail(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(Value::as_str)
                .map(|m| format!(": {}", crate::config::validate::shown(m)))
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Inputs;

    fn client() -> Client {
        let s = Settings::from_inputs(Inputs {
            bitbucket_api_url: Some("https://api.example.com/2.0".into()),
            ..Default::default()
        })
        .unwrap();
        let credentials = Credentials {
            header: "Bearer not-a-token".into(),
        };
        Client::new(&s, &credentials).unwrap()
    }

    #[test]
    fn next_links_stay_on_the_api_origin_and_path() {
        let c = client();
        assert!(c
            .same_origin("https://api.example.com/2.0/repositories/acme?page=2")
            .is_ok());
        for elsewhere in [
            "https://evil.example.com/2.0/repositories/acme?page=2",
            "http://api.example.com/2.0/repositories/acme?page=2",
            "https://api.example.com:8443/2.0/repositories/acme?page=2",
            "https://api.example.com/internal/x",
            "not a url",
        ] {
            assert!(c.same_origin(elsewhere).is_err(), "{elsewhere}");
        }
    }

    #[test]
    fn queries_are_encoded_and_the_client_shows_no_credentials() {
        let c = client();
        let url = c
            .url("/repositories/acme", &[("q", "slug=\"a\" OR slug=\"b\"")])
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://api.example.com/2.0/repositories/acme?q=slug%3D%22a%22%20OR%20slug%3D%22b%22"
        );
        assert_eq!(segment("{ab-cd}"), "%7Bab-cd%7D");
        assert!(!format!("{c:?}").contains("not-a-token"));
        let creds = Credentials {
            header: "Bearer not-a-token".into(),
        };
        assert!(!format!("{creds:?}").contains("not-a-token"));
        assert!(creds.header_value().unwrap().is_sensitive());
    }
}
