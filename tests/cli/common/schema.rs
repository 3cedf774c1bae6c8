//! Atlassian's published Bitbucket Pipelines schema, as check-jsonschema vendors it
//! (`--builtin-schema vendor.bitbucket-pipelines`: nothing is fetched at check time), run on
//! every bitbucket-pipelines.yml a test generates. The checker is never skipped: without it
//! the test fails.
//!
//! The schema lags Bitbucket in one place: it types a step's `oidc` as a boolean, while a step
//! may also ask for custom audiences (`oidc: audiences: [...]`, at most 10 of at most 150
//! characters, as Atlassian announced in "Bitbucket Pipelines OIDC now supports multiple
//! audiences"). A file that asks for them is checked against the vendored schema with that one
//! property widened to either form, and nothing else changed.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

const CHECKER: &str = "check-jsonschema";
const BUILTIN: &str = "vendor.bitbucket-pipelines";

/// check-jsonschema from the checkers venv (`.venv-checkers/bin`), else from PATH.
pub fn checker() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".venv-checkers/bin")
        .join(CHECKER);
    if venv.is_file() {
        return venv;
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(CHECKER))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("{CHECKER} not found in .venv-checkers/bin or on PATH; run ./scripts/test (it installs the pinned checkers there)")
        })
}

/// Panic with the checker's findings unless `file` validates against the schema.
#[track_caller]
pub fn assert_valid_pipeline(file: &Path) {
    if let Err(findings) = check_pipeline(file) {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        panic!(
            "{} does not validate against the Bitbucket Pipelines schema:\n{findings}\n--- file\n{text}",
            file.display()
        );
    }
}

/// The checker's verdict on `file`: `Err` holds what it printed.
pub fn check_pipeline(file: &Path) -> Result<(), String> {
    let mut cmd = Command::new(checker());
    cmd.arg("--verbose");
    // Kept until the check has run.
    let _amended;
    if asks_for_audiences(file) {
        let schema = tempfile::NamedTempFile::new().expect("temp file for the schema");
        std::fs::write(schema.path(), amended_schema().to_string()).expect("write the schema");
        cmd.arg("--schemafile").arg(schema.path());
        _amended = schema;
    } else {
        cmd.args(["--builtin-schema", BUILTIN]);
    }
    let out = cmd.arg(file).output().expect("run check-jsonschema");
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{CHECKER} exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Whether any step of the file asks for custom audiences (an `oidc` that is not a boolean).
fn asks_for_audiences(file: &Path) -> bool {
    let text = std::fs::read_to_string(file).expect("read the pipeline");
    let doc: serde_norway::Value = match serde_norway::from_str(&text) {
        Ok(doc) => doc,
        // Not YAML: the checker will say so, against the unamended schema.
        Err(_) => return false,
    };
    fn walk(v: &serde_norway::Value) -> bool {
        match v {
            serde_norway::Value::Mapping(m) => m
                .iter()
                .any(|(k, v)| (k.as_str() == Some("oidc") && !v.is_bool()) || walk(v)),
            serde_norway::Value::Sequence(s) => s.iter().any(walk),
            _ => false,
        }
    }
    walk(&doc)
}

/// The vendored schema with a step's `oidc` widened to `true`/`false` or
/// `{audiences: [...]}`.
fn amended_schema() -> Value {
    let path = vendored_schema_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read the vendored schema {}: {e}", path.display()));
    let mut schema: Value = serde_json::from_str(&text).expect("the vendored schema is JSON");
    let defs = if schema.pointer("/components/schemas").is_some() {
        "/components/schemas"
    } else {
        "/definitions"
    };
    let oidc = schema
        .pointer_mut(&format!("{defs}/step_base/properties/oidc"))
        .expect("the vendored schema defines step_base.properties.oidc");
    assert_eq!(
        oidc["type"], "boolean",
        "the vendored schema's oidc is no longer only a boolean: drop this amendment"
    );
    *oidc = json!({
        "oneOf": [
            {"type": "boolean"},
            {
                "type": "object",
                "additionalProperties": false,
                "required": ["audiences"],
                "properties": {
                    "audiences": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 10,
                        "items": {"type": "string", "minLength": 1, "maxLength": 150}
                    }
                }
            }
        ]
    });
    schema
}

/// Where check-jsonschema keeps the schema it vendors, asked of the checker's own Python.
fn vendored_schema_path() -> PathBuf {
    let checker = checker();
    let script = std::fs::read_to_string(&checker).expect("read the checker's script");
    let Some(python) = script.lines().next().and_then(|l| l.strip_prefix("#!")) else {
        panic!("{} has no #! line naming its Python", checker.display());
    };
    let python = python.trim();
    let out = Command::new(python)
        .args([
            "-c",
            "import importlib.resources as r; print(r.files('check_jsonschema') / 'builtin_schemas' / 'vendor' / 'bitbucket-pipelines.json')",
        ])
        .output()
        .expect("run the checker's Python");
    assert!(
        out.status.success(),
        "cannot locate the vendored schema: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}
