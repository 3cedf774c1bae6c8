//! Credentials and tokens never reach stdout or stderr, at any verbosity, in text or JSON,
//! on success or on failure. Every run uses credentials with distinctive canary values and
//! every byte of output is searched for them (and for recognisable pieces of them).

use crate::common;

use std::path::Path;

use crate::common::fixture::World;
use crate::common::{CliOutput, Test};

const ACCESS_KEY: &str = "AKIACANARY7Q2XK4LEAK";
const SECRET_KEY: &str = "cAnArY/SeCrEt+wJalrXUtnFEMI7f3a9bLEAK0000";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjCANARYSESSIONTOKEN9d8e7f6LEAK";
const WEB_TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImNhbmFyeSJ9.eyJzdWIiOiJDQU5BUllXRUJJREVOVElUWSJ9.Q0FOQVJZU0lHTkFUVVJFTEVBSw";

/// Pieces that must never appear: each secret, and fragments long enough to be recognised.
fn needles() -> Vec<String> {
    let mut v = Vec::new();
    for secret in [SECRET_KEY, SESSION_TOKEN, WEB_TOKEN] {
        v.push(secret.to_string());
        let chars: Vec<char> = secret.chars().collect();
        for chunk in chars.chunks(16) {
            if chunk.len() >= 12 {
                v.push(chunk.iter().collect());
            }
        }
    }
    v.push("CANARY".into());
    v.push("cAnArY".into());
    v
}

#[track_caller]
fn assert_clean(what: &str, out: &CliOutput) {
    for needle in needles() {
        assert!(
            !out.stdout.contains(&needle) && !out.stderr.contains(&needle),
            "{what}: output contains {needle:?}\n{out:?}"
        );
    }
}

fn with_canary(home: &Path, args: &[String]) -> Test<'static> {
    Test::new()
        .home(home)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .args(args)
}

fn args(w: &World, cmd: &str, extra: &[&str]) -> Vec<String> {
    let mut a = vec![cmd.to_string()];
    a.extend(w.setup_flags());
    a.extend(extra.iter().map(ToString::to_string));
    a
}

#[test]
fn credentials_never_reach_the_output_at_any_verbosity() {
    let w = World::start();
    let home = tempfile::tempdir().expect("home");
    let mut runs = 0;
    for verbosity in [&[][..], &["-v"][..], &["-vv"][..], &["-vvv"][..]] {
        for format in ["text", "json"] {
            for cmd in ["plan", "init", "status", "destroy"] {
                let mut extra = vec!["--output", format, "--yes"];
                extra.extend_from_slice(verbosity);
                if cmd == "plan" || cmd == "status" {
                    extra.retain(|a| *a != "--yes");
                }
                let out = with_canary(home.path(), &args(&w, cmd, &extra)).run();
                assert_clean(&format!("{cmd} {verbosity:?} {format}"), &out);
                runs += 1;
            }
        }
    }

    // Failures print the most detail: AWS unreachable, and an AWS error.
    let mut failing = args(&w, "init", &["--yes", "-vv"]);
    let i = failing.iter().position(|a| a == "--endpoint-url").unwrap();
    failing[i + 1] = format!("http://127.0.0.1:{}", common::unused_port());
    for format in ["text", "json"] {
        let mut a = failing.clone();
        a.extend(["--output".to_string(), format.to_string()]);
        let out = with_canary(home.path(), &a).expect_exit(1).run();
        assert_clean("unreachable AWS", &out);
        runs += 1;
    }
    let out = with_canary(
        home.path(),
        &args(
            &w,
            "init",
            &[
                "--yes",
                "-vv",
                "--policy-arn",
                "arn:aws:iam::123456789012:policy/missing",
            ],
        ),
    )
    .expect_exit(64)
    .run();
    assert_clean("AWS error", &out);
    runs += 1;
    eprintln!("secrets: {runs} runs, no credential in any output");
}

#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn credentials_from_files_and_processes_never_reach_the_output() {
    let w = World::start();
    let home = tempfile::tempdir().expect("home");
    let aws_dir = home.path().join(".aws");
    std::fs::create_dir_all(&aws_dir).unwrap();
    let token_file = home.path().join("web-identity-token");
    std::fs::write(&token_file, WEB_TOKEN).unwrap();
    // A credential process that answers with the canary, one that fails showing it, and
    // one whose answer is malformed around it.
    let good = home.path().join("good.sh");
    std::fs::write(
        &good,
        format!(
            "#!/bin/sh\necho '{{\"Version\": 1, \"AccessKeyId\": \"{ACCESS_KEY}\", \"SecretAccessKey\": \"{SECRET_KEY}\", \"SessionToken\": \"{SESSION_TOKEN}\"}}'\n"
        ),
    )
    .unwrap();
    let failing = home.path().join("failing.sh");
    std::fs::write(
        &failing,
        format!("#!/bin/sh\necho 'secret is {SECRET_KEY}' >&2\nexit 3\n"),
    )
    .unwrap();
    let malformed = home.path().join("malformed.sh");
    std::fs::write(
        &malformed,
        format!("#!/bin/sh\necho '{{\"Version\": 1, \"SecretAccessKey\": \"{SECRET_KEY}\"'\n"),
    )
    .unwrap();
    for f in [&good, &failing, &malformed] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(
        aws_dir.join("config"),
        format!(
            "[profile good-process]\ncredential_process = {}\n\n[profile failing-process]\ncredential_process = {}\n\n[profile malformed-process]\ncredential_process = {}\n\n[profile web]\nrole_arn = arn:aws:iam::123456789012:role/web\nweb_identity_token_file = {}\n",
            good.display(),
            failing.display(),
            malformed.display(),
            token_file.display()
        ),
    )
    .unwrap();
    // A static profile; and (in another file, as it breaks the whole file) a broken one
    // whose broken line holds the secret.
    std::fs::write(
        aws_dir.join("credentials"),
        format!(
            "[static]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\naws_session_token = {SESSION_TOKEN}\n"
        ),
    )
    .unwrap();
    let broken = home.path().join("broken-credentials");
    std::fs::write(
        &broken,
        format!("[broken]\naws_access_key_id = {ACCESS_KEY}\n{SECRET_KEY}\n"),
    )
    .unwrap();

    let mut runs = 0;
    // Some(expected success) where the outcome is certain; the web-identity profile's
    // outcome depends on whether the SDK sends that STS call to moto, and only the output
    // matters here.
    for (profile, should_work) in [
        ("static", Some(true)),
        ("good-process", Some(true)),
        ("failing-process", Some(false)),
        ("malformed-process", Some(false)),
        ("broken", Some(false)),
        ("web", None),
    ] {
        for verbosity in ["-v", "-vvv"] {
            for format in ["text", "json"] {
                let a = args(
                    &w,
                    "plan",
                    &["--profile", profile, verbosity, "--output", format],
                );
                let mut test = Test::new()
                    .home(home.path())
                    .env_remove("AWS_ACCESS_KEY_ID")
                    .env_remove("AWS_SECRET_ACCESS_KEY")
                    .env("AWS_STS_REGIONAL_ENDPOINTS", "regional")
                    .env("AWS_ENDPOINT_URL_STS", w.moto.endpoint())
                    .args(&a);
                if profile == "broken" {
                    test = test.env("AWS_SHARED_CREDENTIALS_FILE", &broken);
                }
                let out = match should_work {
                    Some(true) => test,
                    Some(false) => test.expect_failure(),
                    None => test.any_exit(),
                }
                .run();
                assert_clean(&format!("profile {profile} {verbosity} {format}"), &out);
                runs += 1;
            }
        }
    }
    // The web-identity variables of a pipeline step.
    for verbosity in ["-v", "-vvv"] {
        let out = Test::new()
            .home(home.path())
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/web")
            .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
            .env("AWS_ENDPOINT_URL_STS", w.moto.endpoint())
            .args(args(&w, "plan", &[verbosity]))
            .any_exit()
            .run();
        assert_clean(&format!("web identity {verbosity}"), &out);
        runs += 1;
    }
    eprintln!("secrets: {runs} runs with file/process/web-identity credentials, none leaked");
}

#[test]
fn bitbucket_credentials_never_reach_the_output() {
    use crate::common::bitbucket::{BitbucketApi, API_TOKEN, EMAIL, TOKEN};
    use base64::Engine;

    let w = World::start();
    let api = BitbucketApi::start("acme");
    api.add_repository("infra", &["Production"]);
    let bundle = common::pki::write_pem_file(&[&w.pki.root.pem, api.ca_pem()]);
    let home = tempfile::tempdir().expect("home");
    let config = home.path().join("bootstrap.toml");
    std::fs::write(
        &config,
        "workspace = \"acme\"\nrepository = [\"infra\"]\nenvironment = [\"Production\"]\n",
    )
    .unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}:{API_TOKEN}"));
    let secrets = [TOKEN, API_TOKEN, basic.as_str()];
    let mut flags = w.flags();
    let at = flags.iter().position(|a| a == "--ca-bundle").unwrap();
    flags[at + 1] = bundle.path().display().to_string();
    let mut runs = 0;
    // Bearer and Basic, accepted and (after the scopes are taken away) refused.
    for refused in [false, true] {
        if refused {
            api.set_scopes(&["account"]);
        }
        for pair in [false, true] {
            for verbosity in ["-v", "-vvv"] {
                for format in ["text", "json"] {
                    let test = Test::new().home(home.path());
                    let test = if pair {
                        test.env("BITBUCKET_EMAIL", EMAIL)
                            .env("BITBUCKET_API_TOKEN", API_TOKEN)
                    } else {
                        test.env("BITBUCKET_TOKEN", TOKEN)
                    };
                    let out = test
                        .arg("plan")
                        .args(&flags)
                        .args([
                            "--bitbucket-api-url",
                            &api.url(),
                            "--state-bucket",
                            "tf-state-test",
                        ])
                        .args(["--config", &config.display().to_string()])
                        .args([verbosity, "--output", format])
                        .expect_exit(if refused { 1 } else { 0 })
                        .run();
                    for s in secrets {
                        assert!(
                            !out.stdout.contains(s) && !out.stderr.contains(s),
                            "a Bitbucket credential in the output\n{out:?}"
                        );
                    }
                    runs += 1;
                }
            }
        }
    }
    api.assert_conforms();
    eprintln!("secrets: {runs} runs with Bitbucket credentials, none leaked");
}
