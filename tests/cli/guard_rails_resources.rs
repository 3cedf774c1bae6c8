//! The mistaken resource and global inputs of the table `guard_rails.rs` runs (see its
//! module docs); the trust inputs are in `guard_rails_trust.rs`.

use crate::guard_rails::{case, long, Case};

/// Bad resource and global inputs: the role, the state, tags, global flags, the
/// configuration file, and files that never end.
#[allow(clippy::too_many_lines, reason = "a table of cases, one line each")]
pub fn resource_cases() -> Vec<Case> {
    let long_role = long(65);
    let long_tag_value = format!("team={}", long(257));
    let many_tags: Vec<String> = (0..41)
        .flat_map(|i| ["--tag".to_string(), format!("k{i}=v")])
        .collect();
    let many_repos: Vec<String> = (0..40)
        .flat_map(|i| {
            [
                "--repository-uuid".to_string(),
                format!("{{{i:08x}-2222-4e5f-8a9b-abcdefabcdef}}"),
            ]
        })
        .chain((0..3).flat_map(|i| {
            [
                "--environment-uuid".to_string(),
                format!("{{{i:08x}-3333-4a1b-9c2d-fedcbafedcba}}"),
            ]
        }))
        .collect();
    let s = |v: &[&str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    let mut cases = vec![
        // role
        case(
            "empty role name",
            &["--role-name", ""],
            &["--role-name", "1 to 64"],
        ),
        case(
            "role name too long",
            &["--role-name", &long_role],
            &["--role-name", "1 to 64"],
        ),
        case(
            "role name with a space",
            &["--role-name", "deploy role"],
            &["--role-name", "letters, digits"],
        ),
        case(
            "AdministratorAccess",
            &[
                "--policy-arn",
                "arn:aws:iam::aws:policy/AdministratorAccess",
            ],
            &["AdministratorAccess", "--allow-admin"],
        ),
        case(
            "policy ARN of another service",
            &["--policy-arn", "arn:aws:s3:::bucket"],
            &["--policy-arn", "expected a managed policy ARN"],
        ),
        case(
            "policy ARN with a short account",
            &["--policy-arn", "arn:aws:iam::12345:policy/deploy"],
            &["--policy-arn", "expected a managed policy ARN"],
        ),
        case(
            "policy name with a space",
            &["--policy-arn", "arn:aws:iam::123456789012:policy/bad name"],
            &["--policy-arn", "expected a managed policy ARN"],
        ),
        case(
            "boundary not an ARN",
            &["--permissions-boundary", "boundary"],
            &["--permissions-boundary", "expected a managed policy ARN"],
        ),
        case(
            "session too short",
            &["--max-session-duration", "899"],
            &["--max-session-duration 899", "900 to 43200"],
        ),
        case(
            "session too long",
            &["--max-session-duration", "43201"],
            &["--max-session-duration 43201", "900 to 43200"],
        ),
        case(
            "session not a number",
            &["--max-session-duration", "1h"],
            &["--max-session-duration", "invalid value"],
        ),
        // state
        case(
            "bucket with capitals",
            &["--state-bucket", "Tf_State"],
            &["--state-bucket", "lowercase letters"],
        ),
        case(
            "bucket too short",
            &["--state-bucket", "ab"],
            &["--state-bucket", "3 to 63"],
        ),
        case(
            "bucket like an IP",
            &["--state-bucket", "192.168.1.1"],
            &["--state-bucket", "IP address"],
        ),
        case(
            "bucket with a reserved prefix",
            &["--state-bucket", "xn--state"],
            &["--state-bucket", "cannot start with xn--"],
        ),
        case(
            "bucket with a dot",
            &["--state-bucket", "state.bucket"],
            &["--state-bucket", "dots"],
        ),
        case(
            "table too short",
            &["--lock-table", "ab"],
            &["--lock-table", "3 to 255"],
        ),
        case(
            "table with punctuation",
            &["--lock-table", "locks!"],
            &["--lock-table", "3 to 255"],
        ),
        case(
            "table and no table",
            &["--lock-table", "locks", "--no-lock-table"],
            &["--lock-table", "cannot be used with"],
        ),
        case(
            "KMS key in no form KMS knows",
            &["--kms-key", "state-key"],
            &["--kms-key", "expected a KMS key ARN"],
        ),
        case(
            "KMS key in another region",
            &[
                "--kms-key",
                "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            ],
            &["--kms-key is in eu-west-1", "us-east-1"],
        ),
        case(
            "prefix with a leading slash",
            &["--state-key-prefix", "/state"],
            &["--state-key-prefix", "no leading '/'"],
        ),
        case(
            "noncurrent days zero",
            &["--noncurrent-days", "0"],
            &["--noncurrent-days 0", "1 to 3650"],
        ),
        // tags
        case("tag without =", &["--tag", "team"], &["--tag", "KEY=VALUE"]),
        case(
            "tag with aws: prefix",
            &["--tag", "aws:owner=me"],
            &["--tag", "reserved by AWS"],
        ),
        case(
            "tag given twice",
            &["--tag", "team=a", "--tag", "team=b"],
            &["--tag \"team\" given twice"],
        ),
        case(
            "tag key bootstrap uses",
            &["--tag", "managed-by=me"],
            &["--tag", "set by bootstrap"],
        ),
        case(
            "tag value too long",
            &["--tag", &long_tag_value],
            &["--tag", "up to 256"],
        ),
        Case {
            name: "too many tags",
            remove: &[],
            add: many_tags,
            config: None,
            expect: &["41 tags", "at most 40"],
        },
        // global
        case(
            "region not a region",
            &["--region", "Europe"],
            &["--region", "expected a region name"],
        )
        .removing(&["--region"]),
        case(
            "endpoint not http",
            &["--endpoint-url", "ftp://127.0.0.1"],
            &["--endpoint-url", "http(s)://"],
        )
        .removing(&["--endpoint-url"]),
        case(
            "endpoint over plain http to another host",
            &["--endpoint-url", "http://203.0.113.7:4566"],
            &["--endpoint-url", "plain http", "https://"],
        )
        .removing(&["--endpoint-url"]),
        case(
            "endpoint over plain http by name",
            &["--endpoint-url", "http://localstack.example.com"],
            &["--endpoint-url", "plain http"],
        )
        .removing(&["--endpoint-url"]),
        case(
            "endpoint over plain http from the config file",
            &[],
            &["--endpoint-url", "plain http", "configuration file"],
        )
        .config("endpoint-url = \"http://10.0.0.1:4566\"\n")
        .removing(&["--endpoint-url"]),
        case(
            "timeout zero",
            &["--timeout", "0"],
            &["--timeout 0", "1 to 300"],
        ),
        case(
            "ip ranges over http",
            &["--ip-ranges-url", "http://127.0.0.1/ranges"],
            &["--ip-ranges-url", "only https://"],
        )
        .removing(&["--ip-ranges-url"]),
        case(
            "profile with a space",
            &["--profile", "my profile"],
            &["--profile", "without spaces"],
        ),
        case(
            "output format unknown",
            &["--output", "yaml"],
            &["--output", "invalid value", "text, json"],
        ),
        case(
            "mode unknown",
            &["--mode", "terraform"],
            &["--mode", "invalid value", "direct, cloudformation"],
        ),
        case(
            "missing config file",
            &["--config", "/nonexistent/bootstrap.toml"],
            &["cannot read config file", "--config"],
        ),
        case(
            "missing CA bundle",
            &["--ca-bundle", "/nonexistent/ca.pem"],
            &["cannot read --ca-bundle"],
        ),
        // config file
        case(
            "config unknown key",
            &[],
            &[
                "unknown key `role-nam`; did you mean `role-name`?",
                "line 1",
            ],
        )
        .config("role-nam = \"deploy\"\n"),
        case(
            "config setting written after [tags]",
            &[],
            &[
                "line 3: `region` is a setting",
                "[tags]",
                "above the first [table]",
            ],
        )
        .config("[tags]\nteam = \"infra\"\nregion = \"eu-west-1\"\n"),
        case(
            "unknown AWS profile",
            &["--profile", "nosuch"],
            &["--profile nosuch", "no such profile"],
        ),
        case("config wrong type", &[], &["invalid type", "line 2"])
            .config("role-name = \"deploy\"\nmax-session-duration = \"long\"\n"),
        case("config bad syntax", &[], &["line 1", "config file"]).config("role-name = deploy\n"),
        case(
            "config bad value",
            &[],
            &["--state-bucket", "lowercase letters"],
        )
        .config("state-bucket = \"Upper\"\n"),
        case(
            "config wildcard repository",
            &[],
            &["--repository-uuid", "wildcards are not accepted"],
        )
        .config("repository-uuid = [\"*\"]\n")
        .removing(&["--repository-uuid"]),
        Case {
            name: "trust policy too large",
            remove: &["--repository-uuid"],
            add: many_repos,
            config: None,
            expect: &["trust policy would be", "at most 8192"],
        },
    ];
    // Files that never end are cut at their cap, at once.
    cases.push(Case {
        name: "CA bundle that never ends",
        remove: &[],
        add: s(&["--ca-bundle", "/dev/zero"]),
        config: None,
        expect: &["--ca-bundle /dev/zero", "more than 4 MiB"],
    });
    cases.push(Case {
        name: "config file that never ends",
        remove: &[],
        add: s(&["--config", "/dev/zero"]),
        config: None,
        expect: &["config file /dev/zero", "more than 1 MiB"],
    });
    cases.push(Case {
        name: "CA bundle without certificates",
        remove: &[],
        add: s(&["--ca-bundle", "Cargo.toml"]),
        config: None,
        expect: &["--ca-bundle", "no PEM certificates"],
    });
    cases
}
