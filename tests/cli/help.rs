//! The help text, man pages and shell completions as snapshots (tests/snapshots/help): the
//! `--help` and `-h` of the top level and of every subcommand, byte for byte, so that a change
//! to the command-line definitions shows as a reviewed diff. Rendered as a user's shell would
//! show them: no AWS variables set (clap prints `env` values in help), stdout not a terminal.
//!
//! insta compares snapshots with trailing whitespace trimmed; each test also checks that the
//! output ends in exactly one newline, so the snapshot pins every byte.

use crate::common::{CliOutput, Test};

/// Run `bootstrap ARGS` with nothing in the environment and expect `code`.
fn render(args: &[&str], code: i32) -> CliOutput {
    Test::new().bare_env().args(args).expect_exit(code).run()
}

/// The one stream `bootstrap ARGS` wrote on (help on stdout, a usage error on stderr).
fn output(args: &[&str], code: i32) -> String {
    let out = render(args, code);
    let text = match (out.stdout.is_empty(), out.stderr.is_empty()) {
        (false, true) => out.stdout.clone(),
        (true, false) => out.stderr.clone(),
        _ => panic!("expected output on exactly one stream\n{out:?}"),
    };
    let body = text.trim_end();
    assert_eq!(
        &text[body.len()..],
        "\n",
        "bootstrap {}: the output ends in one newline\n{out:?}",
        args.join(" ")
    );
    text
}

/// Check `bootstrap ARGS` against the snapshot `name`.
fn check(name: &str, args: &[&str], code: i32) {
    snapshot(
        name,
        &format!("bootstrap {}", args.join(" ")),
        output(args, code),
    );
}

/// Compare `text` with the snapshot `name` in tests/snapshots/help.
fn snapshot(name: &str, description: &str, text: String) {
    insta::with_settings!({
        snapshot_path => "../snapshots/help",
        prepend_module_to_snapshot => false,
        description => description,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

/// `bootstrap [CMD] --help` and `bootstrap [CMD] -h`, snapshots `CMD--help` and `CMD-h`
/// (`top` for the top level).
fn check_help(cmd: &str, code: i32) {
    let prefix: Vec<&str> = if cmd == "top" { vec![] } else { vec![cmd] };
    for flag in ["--help", "-h"] {
        let mut args = prefix.clone();
        args.push(flag);
        check(&format!("{cmd}{flag}"), &args, code);
    }
}

macro_rules! help_tests {
    ($($test:ident: $cmd:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_help($cmd, 0);
            }
        )*
    };
}

help_tests! {
    help_of_the_top_level: "top",
    help_of_discover: "discover",
    help_of_thumbprint: "thumbprint",
    help_of_plan: "plan",
    help_of_init: "init",
    help_of_status: "status",
    help_of_render: "render",
    help_of_verify: "verify",
    help_of_pipeline: "pipeline",
    help_of_destroy: "destroy",
    help_of_operator_policy: "operator-policy",
    help_of_completions: "completions",
    help_of_man: "man",
}

/// `help` takes a subcommand name, not a flag: `help --help` is a usage error (exit 64).
#[test]
fn help_of_help_is_a_usage_error() {
    check_help("help", 64);
}

/// The man pages name the tool's version; the snapshots say VERSION so that a release does
/// not change them.
#[test]
fn man_pages() {
    for (name, args) in [
        ("man", vec!["man"]),
        ("man-init", vec!["man", "init"]),
        ("man-plan", vec!["man", "plan"]),
        ("man-destroy", vec!["man", "destroy"]),
    ] {
        let text = output(&args, 0).replace(env!("CARGO_PKG_VERSION"), "VERSION");
        let description = format!("bootstrap {} (version as VERSION)", args.join(" "));
        snapshot(name, &description, text);
    }
}

#[test]
fn shell_completions() {
    for shell in ["bash", "zsh", "fish"] {
        check(&format!("completions-{shell}"), &["completions", shell], 0);
    }
}
