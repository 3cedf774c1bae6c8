mod common;

use common::fixture::World;

#[test]
fn fresh_init_then_plan_is_empty() {
    let w = World::start();
    let out = w.run("init", &["--yes", "--output", "json"]);
    out.assert_success();
    let doc = out.json();
    eprintln!("{}", serde_json::to_string_pretty(&doc).unwrap());
    let out = w.run("plan", &["--output", "json", "--detailed-exitcode"]);
    eprintln!("{:?}", out);
    out.assert_success();
}
