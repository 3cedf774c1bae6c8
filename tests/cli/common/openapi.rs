//! Atlassian's OpenAPI document for the Bitbucket Cloud REST API 2.0
//! (`tests/bitbucket/bitbucket-cloud-openapi.json`), used to check every request the tool
//! sends to the local Bitbucket API and every response that API gives: the path and method
//! exist, each query parameter is declared, a request body and a response body match their
//! schemas (types, required fields, enums, no undeclared field where the schema forbids
//! them).

use std::sync::OnceLock;

use serde_json::Value;

/// The document, read once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/bitbucket/bitbucket-cloud-openapi.json"
        );
        let text = std::fs::read_to_string(path).expect("read the Bitbucket OpenAPI document");
        serde_json::from_str(&text).expect("parse the Bitbucket OpenAPI document")
    })
}

/// One operation of the document: its path template and method.
#[derive(Debug, Clone)]
pub struct Operation {
    pub template: String,
    pub method: String,
}

impl Operation {
    fn op(&self) -> &'static Value {
        &document()["paths"][&self.template][&self.method]
    }

    /// The OAuth scopes the document's `security` names for this operation.
    pub fn scopes(&self) -> Vec<String> {
        self.op()["security"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.get("oauth2"))
            .flat_map(|s| s.as_array().cloned().unwrap_or_default())
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    }

    /// Check a request: query parameter names and the JSON body. `page` is allowed
    /// everywhere: it is what Bitbucket's own `next` links carry (pagination, REST intro).
    pub fn check_request(&self, query: &[String], body: Option<&Value>) -> Result<(), String> {
        let op = self.op();
        let path_level = &document()["paths"][&self.template]["parameters"];
        let declared: Vec<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(path_level.as_array().into_iter().flatten())
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str())
            .collect();
        for q in query {
            if q != "page" && !declared.contains(&q.as_str()) {
                return Err(format!(
                    "{} {}: query parameter {q:?} is not in the OpenAPI document (declared: {declared:?})",
                    self.method, self.template
                ));
            }
        }
        let schema = &op["requestBody"]["content"]["application/json"]["schema"];
        match (body, schema.is_null()) {
            (Some(b), false) => validate(schema, b, "request body")
                .map_err(|e| format!("{} {}: {e}", self.method, self.template)),
            (Some(_), true) => Err(format!(
                "{} {}: a body was sent, the document declares none",
                self.method, self.template
            )),
            (None, false) if op["requestBody"]["required"] == true => Err(format!(
                "{} {}: the document requires a body",
                self.method, self.template
            )),
            (None, _) => Ok(()),
        }
    }

    /// Check a response: a status the document declares for the operation (401, 403 and
    /// 429 are Bitbucket's for every operation, with its `error` schema) and its body.
    pub fn check_response(&self, status: u16, body: Option<&Value>) -> Result<(), String> {
        let responses = &self.op()["responses"];
        let declared = &responses[status.to_string()];
        let schema = if declared.is_null() {
            if [401, 403, 429].contains(&status) {
                &document()["components"]["schemas"]["error"]
            } else {
                return Err(format!(
                    "{} {}: status {status} is not a declared response",
                    self.method, self.template
                ));
            }
        } else {
            &declared["content"]["application/json"]["schema"]
        };
        match body {
            Some(b) if !schema.is_null() => validate(schema, b, "response")
                .map_err(|e| format!("{} {} {status}: {e}", self.method, self.template)),
            _ => Ok(()),
        }
    }
}

/// The operation for `method` on `path` (relative to the API root, decoded), preferring the
/// template with the most literal segments.
pub fn operation(method: &str, path: &str) -> Result<Operation, String> {
    let method = method.to_ascii_lowercase();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let paths = document()["paths"].as_object().expect("paths");
    let mut best: Option<(usize, &String)> = None;
    for template in paths.keys() {
        let t: Vec<&str> = template.trim_matches('/').split('/').collect();
        if t.len() != segments.len() {
            continue;
        }
        let mut literal = 0;
        let fits = t.iter().zip(&segments).all(|(t, s)| {
            if t.starts_with('{') && t.ends_with('}') {
                !s.is_empty()
            } else {
                literal += 1;
                t == s
            }
        });
        if fits && best.is_none_or(|(l, _)| literal > l) {
            best = Some((literal, template));
        }
    }
    let Some((_, template)) = best else {
        return Err(format!(
            "{method} {path}: no such path in the OpenAPI document"
        ));
    };
    if paths[template].get(&method).is_none() {
        return Err(format!(
            "{method} {template}: the document has no such method on this path"
        ));
    }
    Ok(Operation {
        template: template.clone(),
        method,
    })
}

fn resolve(schema: &Value) -> &Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(&document()["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// Validate `v` against `schema` (the parts of JSON Schema the document uses).
pub fn validate(schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            validate(s, v, at)?;
        }
    }
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            _ => true,
        };
        if !ok {
            return Err(format!("{at}: expected {t}, got {v}"));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(v) {
            return Err(format!("{at}: {v} is not one of {options:?}"));
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (n, item) in arr.iter().enumerate() {
            validate(items, item, &format!("{at}[{n}]"))?;
        }
    }
    if let Some(obj) = v.as_object() {
        for r in schema["required"].as_array().into_iter().flatten() {
            let r = r.as_str().unwrap_or_default();
            if !obj.contains_key(r) {
                return Err(format!("{at}: required field {r:?} missing"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(s, val, &format!("{at}.{k}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{at}: field {k:?} is not allowed"));
                }
                None => {}
            }
        }
    }
    Ok(())
}

#[test]
fn the_checker_knows_the_operations_and_refuses_what_the_document_does_not_declare() {
    let op = operation("GET", "/repositories/acme").unwrap();
    assert_eq!(op.template, "/repositories/{workspace}");
    assert!(op.check_request(&["q".into()], None).is_ok());
    assert!(op.check_request(&["pagelen".into()], None).is_err());
    let env = operation("GET", "/repositories/acme/infra/environments").unwrap();
    assert_eq!(
        env.template,
        "/repositories/{workspace}/{repo_slug}/environments"
    );
    assert_eq!(env.scopes(), ["pipeline"]);
    assert!(operation("PATCH", "/repositories/acme/infra/environments").is_err());
    assert!(operation("GET", "/repositories/acme/infra/nowhere/at/all/x").is_err());
    let page = serde_json::json!({"values": [{"type": "repository", "slug": "infra", "uuid": "{x}"}], "page": 1});
    assert!(op.check_response(200, Some(&page)).is_ok());
    let bad = serde_json::json!({"values": [{"slug": "infra"}]});
    assert!(op
        .check_response(200, Some(&bad))
        .unwrap_err()
        .contains("type"));
    let var = operation(
        "POST",
        "/repositories/acme/infra/pipelines_config/variables",
    )
    .unwrap();
    assert_eq!(var.scopes(), ["pipeline:variable"]);
    assert!(var
        .check_request(&[], Some(&serde_json::json!({"key": 1})))
        .is_err());
}
