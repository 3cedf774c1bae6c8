//! moto does not implement AddClientIDToOpenIDConnectProvider, so adding an audience is
//! checked here against aws-smithy-mocks: plan -> apply, the calls and their arguments.

use std::sync::{Arc, Mutex};

use aws_sdk_iam::operation::add_client_id_to_open_id_connect_provider::AddClientIdToOpenIdConnectProviderOutput;
use aws_sdk_iam::operation::update_open_id_connect_provider_thumbprint::UpdateOpenIdConnectProviderThumbprintOutput;
use aws_smithy_mocks::mock;

use super::*;
use crate::aws::testing;
use crate::observe::ObservedProvider;

const ARN: &str = "arn:aws:iam::123456789012:oidc-provider/api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
const WORKSPACE_AUD: &str = "ari:cloud:bitbucket::workspace/11111111-2222-3333-4444-555555555555";

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

fn desired(client_ids: &[&str], thumbprints: &[&str]) -> DesiredProvider {
    DesiredProvider {
        url: "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc".into(),
        arn: ARN.into(),
        client_ids: strings(client_ids),
        thumbprints: strings(thumbprints),
        tags: BTreeMap::new(),
    }
}

fn observed(client_ids: &[&str], thumbprints: &[&str]) -> ObservedProvider {
    ObservedProvider {
        arn: ARN.into(),
        url: "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc".into(),
        client_ids: strings(client_ids),
        thumbprints: strings(thumbprints),
        tags: [crate::model::MANAGED_BY_TAG]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// A rule that answers AddClientIDToOpenIDConnectProvider and records (arn, client id).
fn recording_add(seen: &Arc<Mutex<Vec<(String, String)>>>) -> aws_smithy_mocks::Rule {
    let seen = seen.clone();
    mock!(aws_sdk_iam::Client::add_client_id_to_open_id_connect_provider).then_compute_output(
        move |req| {
            seen.lock().unwrap().push((
                req.open_id_connect_provider_arn()
                    .unwrap_or_default()
                    .to_string(),
                req.client_id().unwrap_or_default().to_string(),
            ));
            AddClientIdToOpenIdConnectProviderOutput::builder().build()
        },
    )
}

#[tokio::test]
async fn new_audiences_are_added_to_the_existing_provider() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let add = recording_add(&seen);
    // No other rule: any other call (create, update thumbprints) would panic.
    let aws = testing::aws(&[&add], &[], &[]);
    let tp = "1111111111111111111111111111111111111111";
    let d = desired(
        &[WORKSPACE_AUD, "deploy.example.com", "sts.amazonaws.com"],
        &[tp],
    );
    let o = observed(&[WORKSPACE_AUD], &[tp]);
    let plan = crate::plan::iam::provider(&d, Some(&o));
    apply_provider(&aws, &d, &plan.ops, &testing::quiet())
        .await
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            (ARN.to_string(), "deploy.example.com".to_string()),
            (ARN.to_string(), "sts.amazonaws.com".to_string()),
        ]
    );
    assert_eq!(add.num_calls(), 2);
}

#[tokio::test]
async fn an_audience_iam_refuses_is_reported_with_its_code() {
    let add = mock!(aws_sdk_iam::Client::add_client_id_to_open_id_connect_provider)
        .then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(409).unwrap(),
                aws_smithy_types::body::SdkBody::from(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>LimitExceeded</Code>\
                     <Message>Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100</Message>\
                     </Error><RequestId>1</RequestId></ErrorResponse>",
                ),
            )
        });
    let aws = testing::aws(&[&add], &[], &[]);
    let ops = [Op::AddClientId {
        client_id: "one-too-many".into(),
    }];
    let err = apply_provider(&aws, &desired(&[], &[]), &ops, &testing::quiet())
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("LimitExceeded"));
    assert_eq!(err.resource.as_deref(), Some(ARN));
    assert!(
        err.message.contains("adding audience one-too-many"),
        "{err}"
    );
    assert!(err.hint.is_some(), "{err}");
}

#[tokio::test]
async fn rotation_replaces_the_list_new_first_at_most_five() {
    let seen = Arc::new(Mutex::new(Vec::<Vec<String>>::new()));
    let s = seen.clone();
    let update = mock!(aws_sdk_iam::Client::update_open_id_connect_provider_thumbprint)
        .match_requests(|req| req.open_id_connect_provider_arn() == Some(ARN))
        .then_compute_output(move |req| {
            s.lock().unwrap().push(req.thumbprint_list().to_vec());
            UpdateOpenIdConnectProviderThumbprintOutput::builder().build()
        });
    let aws = testing::aws(&[&update], &[], &[]);
    let registered = ["a1", "b2", "c3", "d4", "e5"].map(|p| p.repeat(20));
    let new = "f6".repeat(20);
    let d = desired(&[WORKSPACE_AUD], &[&new]);
    let o = observed(
        &[WORKSPACE_AUD],
        &registered.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let plan = crate::plan::iam::provider(&d, Some(&o));
    apply_provider(&aws, &d, &plan.ops, &testing::quiet())
        .await
        .unwrap();
    let mut want = vec![new];
    want.extend(registered[..4].iter().cloned());
    assert_eq!(*seen.lock().unwrap(), vec![want]);
}
