//! The mistaken trust inputs of the table `guard_rails.rs` runs (see its module docs); the
//! rest are in `guard_rails_resources.rs`.

use crate::guard_rails::{case, long, Case};

/// Bad trust inputs: the issuer, the audience and UUIDs, the source IPs.
#[allow(clippy::too_many_lines, reason = "a table of cases, one line each")]
pub fn trust_cases() -> Vec<Case> {
    let long_issuer = format!("https://example.com/{}", long(260));
    let long_audience = long(151);
    let cases = vec![
        // issuer
        case(
            "issuer over http",
            &["--issuer-url", "http://example.com/oidc"],
            &["--issuer-url", "only https://"],
        )
        .removing(&["--issuer-url"]),
        case(
            "issuer with a query",
            &["--issuer-url", "https://example.com/oidc?x=1"],
            &["--issuer-url", "no query"],
        )
        .removing(&["--issuer-url"]),
        case(
            "issuer with a fragment",
            &["--issuer-url", "https://example.com/oidc#top"],
            &["--issuer-url", "fragment"],
        )
        .removing(&["--issuer-url"]),
        case(
            "issuer with credentials",
            &["--issuer-url", "https://user:pw@example.com/oidc"],
            &["--issuer-url", "credentials in the URL"],
        )
        .removing(&["--issuer-url"]),
        case(
            "issuer not a URL",
            &["--issuer-url", "example.com/oidc"],
            &["--issuer-url", "not a URL"],
        )
        .removing(&["--issuer-url"]),
        case(
            "discovery URL for issuer",
            &[
                "--issuer-url",
                "https://example.com/oidc/.well-known/openid-configuration",
            ],
            &["--issuer-url", "not the issuer"],
        )
        .removing(&["--issuer-url"]),
        case(
            "issuer too long",
            &["--issuer-url", &long_issuer],
            &["--issuer-url", "at most 255"],
        )
        .removing(&["--issuer-url"]),
        case(
            "workspace slug with spaces",
            &["--workspace", "Acme Corp"],
            &["--workspace", "lowercase letters"],
        )
        .removing(&["--issuer-url"]),
        // --workspace beside --issuer-url is accepted: the workspace names it for the
        // Bitbucket API, the issuer URL overrides the derived one (tests/cli/bitbucket.rs).
        case("no issuer at all", &[], &["no OIDC issuer", "--workspace"])
            .removing(&["--issuer-url"]),
        // audience and UUIDs
        case(
            "workspace uuid junk",
            &["--workspace-uuid", "not-a-uuid"],
            &["--workspace-uuid", "expected a UUID"],
        )
        .removing(&["--workspace-uuid"]),
        case(
            "workspace uuid unbalanced brace",
            &["--workspace-uuid", "{6a3f1c2e-1111-4c9d-9a8b-0123456789ab"],
            &["--workspace-uuid", "unbalanced braces"],
        )
        .removing(&["--workspace-uuid"]),
        case("no audience", &[], &["no audience", "--workspace-uuid"])
            .removing(&["--workspace-uuid"]),
        case(
            "empty audience",
            &["--audience", ""],
            &["--audience", "1 to 150"],
        ),
        case(
            "audience with spaces around",
            &["--audience", " my-aud"],
            &["--audience", "without leading or trailing spaces"],
        ),
        case(
            "audience too long",
            &["--audience", &long_audience],
            &["--audience", "1 to 150"],
        ),
        case(
            "repository uuid star",
            &["--repository-uuid", "*"],
            &["--repository-uuid", "wildcards are not accepted"],
        )
        .removing(&["--repository-uuid"]),
        case(
            "repository uuid braced star",
            &["--repository-uuid", "{*}"],
            &["--repository-uuid", "wildcards are not accepted"],
        )
        .removing(&["--repository-uuid"]),
        case(
            "repository uuid with a wildcard inside",
            &["--repository-uuid", "{0f6b3c1d-2222-4e5f-8a9b-abcdef*}"],
            &["--repository-uuid", "wildcards are not accepted"],
        )
        .removing(&["--repository-uuid"]),
        case(
            "repository uuid too short",
            &["--repository-uuid", "0f6b3c1d-2222-4e5f-8a9b-abcdefabcde"],
            &["--repository-uuid", "expected a UUID"],
        )
        .removing(&["--repository-uuid"]),
        case(
            "repository uuid without dashes",
            &["--repository-uuid", "0f6b3c1d22224e5f8a9babcdefabcdef"],
            &["--repository-uuid", "expected a UUID"],
        )
        .removing(&["--repository-uuid"]),
        case(
            "environment uuid wildcard",
            &[
                "--environment-uuid",
                "{7c8d9e0f-3333-4a1b-9c2d-fedcbafedcb?}",
            ],
            &["--environment-uuid", "wildcards are not accepted"],
        ),
        case(
            "environment uuid star",
            &["--environment-uuid", "*"],
            &["--environment-uuid", "name each deployment environment"],
        ),
        case(
            "workspace uuid star",
            &["--workspace-uuid", "*"],
            &["--workspace-uuid", "your workspace's UUID"],
        )
        .removing(&["--workspace-uuid"]),
        case(
            "environment without repository",
            &["--environment-uuid", "7c8d9e0f-3333-4a1b-9c2d-fedcbafedcba"],
            &["--environment-uuid needs --repository-uuid"],
        )
        .removing(&["--repository-uuid"]),
        case(
            "no repository restriction",
            &[],
            &["no --repository-uuid", "--allow-any-repository"],
        )
        .removing(&["--repository-uuid"]),
        case(
            "any repository and a repository",
            &["--allow-any-repository"],
            &["--allow-any-repository contradicts --repository-uuid"],
        ),
        // source IPs
        case(
            "whole IPv4 internet",
            &["--source-ip", "0.0.0.0/0"],
            &["--source-ip", "matches every address"],
        ),
        case(
            "whole IPv6 internet",
            &["--source-ip", "::/0"],
            &["--source-ip", "matches every address"],
        ),
        case(
            "whole internet, IPv4-mapped",
            &["--source-ip", "::ffff:0.0.0.0/96"],
            &["--source-ip", "matches every address"],
        ),
        // Ranges that are each narrow can add up to everything: the union is judged.
        case(
            "IPv4 halves add up to the internet",
            &["--source-ip", "0.0.0.0/1", "--source-ip", "128.0.0.0/1"],
            &[
                "0.0.0.0/1, 128.0.0.0/1",
                "all of IPv4",
                "union is 0.0.0.0/0",
                "--source-ip",
            ],
        ),
        case(
            "IPv4 quarters add up to the internet",
            &[
                "--source-ip",
                "0.0.0.0/2",
                "--source-ip",
                "64.0.0.0/2",
                "--source-ip",
                "128.0.0.0/2",
                "--source-ip",
                "192.0.0.0/2",
            ],
            &["all of IPv4 (0.0.0.0/0)"],
        ),
        case(
            "IPv6 halves add up to the internet",
            &["--source-ip", "::/1", "--source-ip", "8000::/1"],
            &["all of IPv6 (::/0)", "union is ::/0"],
        ),
        case(
            "IPv4-mapped half plus an IPv4 half",
            &[
                "--source-ip",
                "::ffff:0.0.0.0/97",
                "--source-ip",
                "128.0.0.0/1",
            ],
            &["all of IPv4"],
        ),
        case(
            "halves from the config file",
            &[],
            &["all of IPv4", "--source-ip"],
        )
        .config("source-ip = [\"0.0.0.0/1\", \"128.0.0.0/1\"]\n"),
        case(
            "prefix too long",
            &["--source-ip", "10.0.0.0/33"],
            &["--source-ip", "expected a CIDR"],
        ),
        case(
            "not an address",
            &["--source-ip", "office"],
            &["--source-ip", "expected a CIDR", "bitbucket"],
        ),
    ];
    cases
}
