//! Survival under faults, through a fault-injecting proxy in front of moto:
//!
//! * for every k, the network is cut right after the k-th mutating call reached AWS; the run
//!   fails, a re-run converges, a third run writes nothing, and the end state (read with the
//!   SDK, not from the tool) is complete with no resource duplicated;
//! * for every k, the response to the k-th mutating call is lost once: the SDK retries the
//!   call, the run succeeds and nothing is duplicated;
//! * every mutating call throttled once (a real AWS throttling error for its protocol): the
//!   run succeeds and each call reached AWS exactly once.
//!
//! The same cuts during `destroy` and during an update are in `faults_updates.rs`.

use crate::common::Test;

use crate::common::fixture::{World, REPO_UUID};
use crate::common::inspect::Inspect;
use crate::common::proxy::{Fault, Proxy};
use serde_json::{json, Value};

pub const ROLE: &str = "bitbucket-pipelines-deploy";
pub const BUCKET: &str = "tf-state-test";
pub const TABLE: &str = "terraform-state-lock";

/// `bootstrap CMD --yes EXTRA` with every AWS call sent through the proxy.
pub fn via<'w>(w: &'w World, proxy: &Proxy, cmd: &str, extra: &[&str]) -> Test<'w> {
    let mut args = vec![cmd.to_string()];
    let mut flags = w.setup_flags();
    let i = flags
        .iter()
        .position(|f| f == "--endpoint-url")
        .expect("endpoint flag");
    flags[i + 1] = proxy.endpoint();
    args.extend(flags);
    args.push("--yes".into());
    args.extend(extra.iter().map(ToString::to_string));
    Test::new().args(args).moto(&w.moto)
}

pub fn init_via<'w>(w: &'w World, proxy: &Proxy) -> Test<'w> {
    via(w, proxy, "init", &[])
}

pub fn as_list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

/// Everything init creates is there once, complete, as design.md describes it.
#[allow(clippy::too_many_lines, reason = "one check per resource")]
fn assert_converged(w: &World, aws: &Inspect, case: &str) {
    let provider_arn = format!(
        "arn:aws:iam::{}:oidc-provider/{}",
        w.moto.account_id(),
        w.issuer.host_path()
    );
    assert_eq!(
        aws.provider_arns(),
        vec![provider_arn.clone()],
        "{case}: providers"
    );
    let (client_ids, thumbprints, provider_tags) = aws.provider(&provider_arn);
    assert_eq!(client_ids, vec![w.audience()], "{case}: audiences");
    assert_eq!(thumbprints, vec![w.pki.thumbprint()], "{case}: thumbprints");
    assert_eq!(
        provider_tags.get("managed-by").map(String::as_str),
        Some("bootstrap"),
        "{case}: provider tags"
    );

    assert_eq!(aws.role_names(), vec![ROLE.to_string()], "{case}: roles");
    assert_eq!(
        aws.inline_policy_names(ROLE).len(),
        1,
        "{case}: inline policies"
    );
    assert_eq!(
        aws.attached_policy_arns(ROLE),
        Vec::<String>::new(),
        "{case}"
    );
    let trust = aws.trust_policy(ROLE);
    let statements = as_list_of_objects(&trust["Statement"]);
    assert_eq!(statements.len(), 1, "{case}: trust statements {trust}");
    let st = &statements[0];
    let hp = w.issuer.host_path();
    assert_eq!(
        as_list(&st["Principal"]["Federated"]),
        vec![provider_arn.clone()],
        "{case}"
    );
    assert_eq!(
        as_list(&st["Condition"]["StringEquals"][format!("{hp}:aud")]),
        vec![w.audience()],
        "{case}: {trust}"
    );
    assert_eq!(
        as_list(&st["Condition"]["StringLike"][format!("{hp}:sub")]),
        vec![format!("{REPO_UUID}:*")],
        "{case}: {trust}"
    );

    assert_eq!(
        aws.bucket_names(),
        vec![BUCKET.to_string()],
        "{case}: buckets"
    );
    assert_eq!(aws.versioning(BUCKET).as_deref(), Some("Enabled"), "{case}");
    let policy = aws.bucket_policy(BUCKET).expect("bucket policy");
    let statements = as_list_of_objects(&policy["Statement"]);
    assert_eq!(statements.len(), 3, "{case}: bucket policy {policy}");
    assert_eq!(statements[0]["Effect"], json!("Deny"), "{case}");
    assert_eq!(
        statements[0]["Condition"]["Bool"]["aws:SecureTransport"],
        json!("false"),
        "{case}"
    );
    assert_eq!(
        aws.lifecycle_rule_ids(BUCKET).len(),
        1,
        "{case}: lifecycle rules"
    );
    assert_eq!(
        aws.bucket_tags(BUCKET)
            .get("managed-by")
            .map(String::as_str),
        Some("bootstrap"),
        "{case}: bucket tags"
    );

    assert_eq!(aws.table_names(), vec![TABLE.to_string()], "{case}: tables");
    assert_eq!(
        aws.table_protection(TABLE),
        (true, true),
        "{case}: table protection, PITR"
    );
}

pub fn as_list_of_objects(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => vec![],
        other => vec![other.clone()],
    }
}

/// How many mutating calls a fresh init makes, and their operations (seen by the proxy on
/// a clean run).
fn mutating_calls_of_a_fresh_init(w: &World, proxy: &Proxy) -> (usize, Vec<String>) {
    w.moto.reset();
    proxy.set_fault(Fault::None);
    init_via(w, proxy).run();
    let n = proxy.mutating();
    assert!(n >= 10, "a fresh init makes every resource: {n} writes");
    (n, proxy.mutating_operations())
}

/// The fault cases: every k, then every operation by name (concurrent resources make the
/// order of writes vary from run to run, so position alone may miss one).
pub fn fault_cases(
    n: usize,
    ops: &[String],
    by_k: fn(usize) -> Fault,
    by_op: fn(String) -> Fault,
) -> Vec<Fault> {
    let mut cases: Vec<Fault> = (1..=n).map(by_k).collect();
    cases.extend(ops.iter().cloned().map(by_op));
    cases
}

#[test]
fn a_run_cut_off_after_any_mutating_call_converges_when_run_again() {
    let w = World::start();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    let proxy = Proxy::start(w.moto.port());
    let (n, ops) = mutating_calls_of_a_fresh_init(&w, &proxy);

    let cases = fault_cases(n, &ops, Fault::CutAfter, Fault::CutAfterOperation);
    let mut cut_after = std::collections::BTreeSet::new();
    for fault in &cases {
        let case = format!("{fault:?} (of {n} writes)");
        w.moto.reset();
        w.moto.start_recording();
        proxy.set_fault(fault.clone());
        let out = init_via(&w, &proxy).expect_exit(1).run();
        let hit = proxy.faulted();
        assert_eq!(hit.len(), 1, "{case}: the fault fired once\n{out:?}");
        // Exactly the writes up to the cut reached AWS.
        assert_eq!(
            w.moto.mutating_calls().len(),
            proxy.mutating(),
            "{case}: writes that reached AWS"
        );
        // The cut came right after the write it was for: the last one AWS took.
        assert_eq!(
            w.moto.mutating_calls().last(),
            Some(&hit[0]),
            "{case}: the last write that reached AWS"
        );
        match fault {
            Fault::CutAfter(k) => assert_eq!(proxy.mutating(), *k, "{case}: writes"),
            Fault::CutAfterOperation(op) => assert_eq!(&hit[0].1, op, "{case}"),
            _ => {}
        }
        cut_after.insert(hit[0].1.clone());

        // Network back: the re-run converges.
        proxy.set_fault(Fault::None);
        init_via(&w, &proxy).run();
        assert_converged(&w, &aws, &case);

        // And a third run has nothing left to do.
        w.moto.start_recording();
        init_via(&w, &proxy).run();
        assert_eq!(w.moto.mutating_calls(), vec![], "{case}: third run wrote");
    }
    let missed: Vec<&String> = ops.iter().filter(|o| !cut_after.contains(*o)).collect();
    assert!(missed.is_empty(), "never cut after {missed:?}");
    eprintln!(
        "cut-off cases survived: {} ({n} by position, {} by operation; every one of: {})",
        cases.len(),
        ops.len(),
        ops.join(", ")
    );
}

/// Someone else (another set, a concurrent run) creates the bucket, with tags of their own,
/// between init's plan and its CreateBucket: init carries on and leaves their tags as they are
/// (it never replaces a bucket's whole tag set it did not plan); the next run adopts it,
/// merging its tags over theirs; a third writes nothing.
#[test]
fn a_bucket_created_by_someone_else_meanwhile_keeps_its_tags() {
    // Outside us-east-1, where S3 answers a second CreateBucket with BucketAlreadyOwnedByYou.
    let w = World::start_in("eu-west-1");
    let aws = Inspect::new(&w.moto.plain_endpoint());
    let proxy = Proxy::start(w.moto.port());
    let other = w.clients();
    proxy.before("CreateBucket", move || {
        use aws_sdk_s3::types::{
            BucketLocationConstraint, CreateBucketConfiguration, Tag, Tagging,
        };
        let place = CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::EuWest1)
            .build();
        let create = other
            .s3
            .create_bucket()
            .bucket(BUCKET)
            .create_bucket_configuration(place);
        other.block_on(create.send()).expect("CreateBucket");
        let tag = Tag::builder().key("owner").value("team-b").build();
        let tagging = Tagging::builder()
            .tag_set(tag.expect("tag"))
            .build()
            .expect("tagging");
        let put = other
            .s3
            .put_bucket_tagging()
            .bucket(BUCKET)
            .tagging(tagging);
        other.block_on(put.send()).expect("PutBucketTagging");
    });
    let out = init_via(&w, &proxy).run();
    assert_eq!(
        aws.bucket_tags(BUCKET),
        std::collections::BTreeMap::from([("owner".into(), "team-b".into())]),
        "{out:?}"
    );
    init_via(&w, &proxy).run();
    let tags = aws.bucket_tags(BUCKET);
    assert_eq!(tags.get("owner").map(String::as_str), Some("team-b"));
    assert_eq!(
        tags.get("managed-by").map(String::as_str),
        Some("bootstrap")
    );
    w.moto.start_recording();
    init_via(&w, &proxy).run();
    assert_eq!(w.moto.mutating_calls(), vec![], "third run wrote");
}

#[test]
fn a_lost_response_is_retried_without_duplicating_anything() {
    let w = World::start();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    let proxy = Proxy::start(w.moto.port());
    let (n, ops) = mutating_calls_of_a_fresh_init(&w, &proxy);

    let cases = fault_cases(n, &ops, Fault::LoseResponse, Fault::LoseResponseOf);
    let mut lost = std::collections::BTreeSet::new();
    for fault in &cases {
        let case = format!("{fault:?} (of {n} writes)");
        w.moto.reset();
        proxy.set_fault(fault.clone());
        let out = init_via(&w, &proxy).run();
        let hit = proxy.faulted();
        assert_eq!(hit.len(), 1, "{case}: the fault fired once\n{out:?}");
        if let Fault::LoseResponseOf(op) = fault {
            assert_eq!(&hit[0].1, op, "{case}");
        }
        assert_converged(&w, &aws, &case);
        lost.insert(hit[0].1.clone());

        w.moto.start_recording();
        proxy.set_fault(Fault::None);
        init_via(&w, &proxy).run();
        assert_eq!(w.moto.mutating_calls(), vec![], "{case}: re-run wrote");
    }
    let missed: Vec<&String> = ops.iter().filter(|o| !lost.contains(*o)).collect();
    assert!(missed.is_empty(), "never lost the answer to {missed:?}");
    eprintln!(
        "lost-response cases survived: {} ({n} by position, {} by operation)",
        cases.len(),
        ops.len()
    );
}

#[test]
fn a_run_where_every_mutating_call_is_throttled_once_succeeds() {
    let w = World::start();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    let proxy = Proxy::start(w.moto.port());
    w.moto.start_recording();
    proxy.set_fault(Fault::ThrottleFirstAttempt);
    init_via(&w, &proxy).run();
    let throttled = proxy.throttled();
    let mut writes = w.moto.mutating_calls();
    assert!(writes.len() >= 10, "{writes:?}");
    // Every write was throttled once, then reached AWS exactly once.
    // (A call the behaviour layer refused is made again, as a new call: throttled once more.)
    let mut throttled_sorted = throttled.clone();
    throttled_sorted.sort();
    throttled_sorted.dedup();
    writes.sort();
    assert_eq!(
        throttled_sorted, writes,
        "each call throttled once, sent once"
    );
    let mut deduped = writes.clone();
    deduped.dedup();
    assert_eq!(deduped, writes, "no call reached AWS twice");
    let services: std::collections::BTreeSet<&str> =
        throttled.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        services.into_iter().collect::<Vec<_>>(),
        vec!["dynamodb", "iam", "s3"],
        "throttling errors of all three protocols"
    );
    assert_converged(&w, &aws, "throttled once");
    eprintln!("throttled once and retried: {} calls", throttled.len());
}
