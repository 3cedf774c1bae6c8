//! What the local Bitbucket API of [`bitbucket`](super::bitbucket) answers: each request
//! is parsed, checked against Atlassian's OpenAPI document, routed (workspace, repositories,
//! environments, pipeline and deployment variables, every listing paged) and its answer
//! checked too.

use super::bitbucket::{uuid_of, State, Variable, API_TOKEN, EMAIL, PAGELEN, TOKEN};
use super::openapi;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tokio::io::AsyncReadExt;

/// One parsed request.
pub struct Request {
    pub(super) method: String,
    pub(super) target: String,
    pub(super) authorization: Option<String>,
    pub(super) body: Option<Value>,
}

pub(super) async fn read_request<S: AsyncReadExt + Unpin>(
    s: &mut S,
) -> std::io::Result<Option<Request>> {
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
pub(super) fn handle(st: &mut State, req: &Request) -> Answer {
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
