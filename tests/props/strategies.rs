//! Input generators shared by the property-test modules.
#![allow(dead_code)]

use bootstrap::config::{Given, Inputs};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Cases per property: `PROPTEST_CASES`, default 1000.
pub fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(1000);
    ProptestConfig {
        cases,
        // Failures are shown, not written into the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// Strategies

/// Strings that look like what users paste: mostly printable, with the characters the
/// parsers care about over-represented, some arbitrary Unicode and control characters.
pub fn messy() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9{}*?:/._@=+,-]{0,40}",
        2 => "\\PC{0,40}",
        1 => any::<String>(),
        1 => "[ \t\n\r\u{0}\u{7f}\u{200b}{}*.-]{0,10}",
    ]
}

pub fn hex(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(prop::sample::select(b"0123456789abcdefABCDEF".to_vec()), n)
        .prop_map(|b| String::from_utf8(b).unwrap_or_default())
}

/// A well-formed UUID in any case, without braces.
pub fn uuid() -> impl Strategy<Value = String> {
    (hex(8), hex(4), hex(4), hex(4), hex(12))
        .prop_map(|(a, b, c, d, e)| format!("{a}-{b}-{c}-{d}-{e}"))
}

/// Near-UUIDs: well-formed ones with braces or not, surrounding spaces, and one character
/// replaced, dropped or doubled; plus arbitrary strings.
pub fn uuidish() -> impl Strategy<Value = String> {
    let edited =
        (braced_or_not(), 0usize..40, 0u8..4, any::<char>()).prop_map(|(u, at, how, c)| {
            let mut chars: Vec<char> = u.chars().collect();
            let at = at % chars.len().max(1);
            match how {
                0 => {}
                1 => chars[at] = c,
                2 => {
                    chars.remove(at);
                }
                _ => chars.insert(at, chars[at]),
            }
            chars.into_iter().collect::<String>()
        });
    prop_oneof![
        4 => edited,
        1 => braced_or_not().prop_map(|u| format!(" {u} ")),
        2 => messy(),
    ]
}

/// Arbitrary JSON, biased towards the words policies are made of.
pub fn json_value() -> impl Strategy<Value = Value> {
    json_value_with(true)
}

/// Arbitrary JSON; `floats` = false leaves out non-integer numbers (whose text form need
/// not read back bit for bit).
pub fn json_value_with(floats: bool) -> impl Strategy<Value = Value> {
    let words = prop::sample::select(vec![
        "*",
        "*:*",
        "Allow",
        "Deny",
        "sts:AssumeRoleWithWebIdentity",
        "sts:*",
        "s3:*",
        "StringEquals",
        "StringLike",
        "ForAllValues:StringEquals",
        "ForAnyValue:StringLike",
        "IpAddress",
        "Bool",
        "true",
        "false",
        "2012-10-17",
        "{x}:*",
        "",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(move |f| if floats {
            serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
        } else {
            Value::Null
        }),
        words.prop_map(|w| json!(w)),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    let keys = prop_oneof![
        3 => prop::sample::select(vec![
            "Version", "Statement", "Sid", "Effect", "Action", "NotAction", "Resource",
            "NotResource", "Principal", "NotPrincipal", "Federated", "AWS", "Condition",
            "StringEquals", "StringLike", "ForAllValues:StringEquals", "IpAddress",
            "aws:SourceIp", "host/path:aud", "host/path:sub", "Id",
        ])
        .prop_map(str::to_string),
        1 => "\\PC{0,8}",
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(keys.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

pub const CONFIG_KEYS: &[&str] = &[
    "profile",
    "region",
    "endpoint-url",
    "ca-bundle",
    "output",
    "color",
    "timeout",
    "workspace",
    "issuer-url",
    "audience",
    "workspace-uuid",
    "repository-uuid",
    "environment-uuid",
    "allow-any-repository",
    "source-ip",
    "ip-ranges-url",
    "role-name",
    "policy-arn",
    "allow-admin",
    "permissions-boundary",
    "max-session-duration",
    "state-bucket",
    "state-key-prefix",
    "lock-table",
    "no-lock-table",
    "kms-key",
    "noncurrent-days",
    "mode",
    "stack-name",
    "tags",
    "role-nam",
    "Role-Name",
];

/// A TOML value of a random type.
pub fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        messy().prop_map(|s| toml::Value::String(s).to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        proptest::collection::vec(messy(), 0..4).prop_map(|v| toml::Value::Array(
            v.into_iter().map(toml::Value::String).collect()
        )
        .to_string()),
        Just("{ a = \"b\" }".to_string()),
        Just("1.5".to_string()),
        Just("1979-05-27T07:32:00Z".to_string()),
    ]
}

/// A config file: known and unknown keys with values of any type, sometimes a [tags]
/// table, sometimes raw junk.
pub fn config_file() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (
            proptest::collection::vec((prop::sample::select(CONFIG_KEYS.to_vec()), toml_value()), 0..10),
            proptest::option::of(proptest::collection::vec(("[a-z:]{0,6}", messy()), 0..4)),
        )
            .prop_map(|(pairs, tags)| {
                let mut text = String::new();
                for (k, v) in pairs {
                    text.push_str(&format!("{k} = {v}\n"));
                }
                if let Some(tags) = tags {
                    text.push_str("[tags]\n");
                    for (k, v) in tags {
                        text.push_str(&format!("{:?} = {}\n", k, toml::Value::String(v)));
                    }
                }
                text
            }),
        1 => messy(),
    ]
}

/// Mostly a valid value, sometimes junk, sometimes absent.
pub fn field<S: Strategy<Value = String> + 'static>(valid: S) -> BoxedStrategy<Option<String>> {
    prop_oneof![
        20 => valid.prop_map(Some),
        1 => messy().prop_map(Some),
        6 => Just(None),
    ]
    .boxed()
}

pub fn list<S: Strategy<Value = String> + 'static>(
    valid: S,
    max: usize,
) -> BoxedStrategy<Vec<String>> {
    proptest::collection::vec(prop_oneof![30 => valid, 1 => messy()], 0..max).boxed()
}

pub fn braced_or_not() -> impl Strategy<Value = String> {
    (uuid(), any::<bool>()).prop_map(|(u, b)| if b { format!("{{{u}}}") } else { u })
}

pub fn number(valid: std::ops::RangeInclusive<i64>) -> BoxedStrategy<Option<i64>> {
    prop_oneof![20 => valid.prop_map(Some), 1 => any::<i64>().prop_map(Some), 6 => Just(None)]
        .boxed()
}

pub fn flag() -> BoxedStrategy<Option<bool>> {
    prop_oneof![4 => Just(None), 1 => Just(Some(false)), 1 => Just(Some(true))].boxed()
}

/// Inputs as a user could give them: every field mostly valid, sometimes junk or absent,
/// so that both the accepting and the refusing paths are exercised.
#[allow(
    clippy::too_many_lines,
    reason = "one strategy per input, side by side"
)]
pub fn inputs() -> impl Strategy<Value = Inputs> {
    // Mostly the KMS key's region, so that --kms-key is often accepted.
    let region = || {
        prop::sample::select(vec![
            "eu-west-1",
            "eu-west-1",
            "eu-west-1",
            "us-east-1",
            "us-gov-west-1",
            "cn-north-1",
        ])
        .prop_map(str::to_string)
    };
    let cidr = prop_oneof![
        (any::<[u8; 4]>(), 1u8..=32)
            .prop_map(|(a, p)| format!("{}.{}.{}.{}/{p}", a[0], a[1], a[2], a[3])),
        (any::<[u16; 8]>(), 1u8..=128)
            .prop_map(|(a, p)| format!("{}/{p}", std::net::Ipv6Addr::from(a))),
        Just("bitbucket".to_string()),
    ];
    (
        (
            field(region()),
            field(Just("http://127.0.0.1:5000".to_string())),
            field(prop::sample::select(vec!["text", "json"]).prop_map(str::to_string)),
            field(prop::sample::select(vec!["auto", "always", "never"]).prop_map(str::to_string)),
            field("[a-z0-9_-]{1,20}"),
            prop_oneof![
                Just(None),
                (1u64..=300).prop_map(Some),
                any::<u64>().prop_map(Some)
            ],
        ),
        (
            field("[a-z0-9_-]{1,30}"),
            field("https://[a-z]{1,12}\\.example(:[0-9]{2,5})?/[a-z0-9/]{0,30}"),
            list("[a-zA-Z0-9:/._-]{1,40}", 3),
            field(braced_or_not()),
            list(braced_or_not(), 4),
            list(braced_or_not(), 3),
            flag(),
            list(cidr, 3),
        ),
        (
            field("[A-Za-z0-9+=,.@_-]{1,64}"),
            list(
                "arn:aws:iam::(aws|123456789012):policy/[A-Za-z0-9_-]{1,30}",
                3,
            ),
            flag(),
            field("arn:aws:iam::123456789012:policy/[a-z-]{1,20}"),
            number(900..=43200),
        ),
        (
            field("[a-z0-9][a-z0-9-]{1,40}[a-z0-9]"),
            field("[a-z0-9/_-]{0,20}"),
            field("[A-Za-z0-9_.-]{3,40}"),
            flag(),
            // Each form --kms-key accepts, and key ARNs whose id is mostly malformed.
            field(prop_oneof![
                "arn:aws:kms:eu-west-1:123456789012:key/[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}",
                "[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}|mrk-[a-f0-9]{32}",
                "alias/[a-z0-9/_-]{1,20}",
                "arn:aws:kms:eu-west-1:123456789012:alias/[a-z0-9_-]{1,20}",
                "arn:aws:kms:eu-west-1:123456789012:key/[a-f0-9-]{8,36}",
            ]),
            number(1..=3650),
        ),
        (
            proptest::option::of(proptest::collection::btree_map(
                "[a-zA-Z0-9 _.:/=+@-]{1,20}",
                "[a-zA-Z0-9 _.:/=+@-]{0,30}",
                0..5,
            )),
            field(prop::sample::select(vec!["direct", "cloudformation"]).prop_map(str::to_string)),
            field("[A-Za-z][A-Za-z0-9-]{0,40}"),
        ),
    )
        .prop_map(|(g, id, role, state, rest)| {
            let (workspace, issuer_url) = match (id.0, id.1) {
                // Both given is refused; keep that case rare.
                (Some(w), Some(u)) => {
                    if w.len() % 5 == 0 {
                        (Some(w), Some(u))
                    } else {
                        (None, Some(u))
                    }
                }
                other => other,
            };
            Inputs {
                region: g.0,
                endpoint_url: g.1,
                output: g.2.map(Given::File),
                color: g.3.map(Given::File),
                profile: g.4,
                timeout: g.5,
                workspace,
                issuer_url,
                audience: id.2,
                workspace_uuid: id.3,
                repository_uuid: id.4,
                environment_uuid: id.5,
                allow_any_repository: id.6,
                source_ip: id.7,
                role_name: role.0,
                policy_arn: role.1,
                allow_admin: role.2,
                permissions_boundary: role.3,
                max_session_duration: role.4,
                state_bucket: state.0,
                state_key_prefix: state.1,
                lock_table: state.2,
                no_lock_table: state.3,
                kms_key: state.4,
                noncurrent_days: state.5,
                tags: rest.0,
                mode: rest.1.map(Given::File),
                stack_name: rest.2,
                ..Default::default()
            }
        })
}
