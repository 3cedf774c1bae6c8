//! Stack paths moto cannot play (it has no ContinueUpdateRollback, no
//! UpdateTerminationProtection and never fails or rolls back), with the SDK's own mock
//! interceptor (aws-smithy-mocks): CloudFormation answers exactly as scripted here, and every
//! call the tool makes is counted and ordered.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudformation::operation::continue_update_rollback::ContinueUpdateRollbackOutput;
use aws_sdk_cloudformation::operation::create_stack::CreateStackOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput;
use aws_sdk_cloudformation::types::{
    PermissionModels, ResourceStatus, Stack, StackEvent, StackStatus,
};
use aws_sdk_cloudformation::Client;
use aws_smithy_mocks::{create_mock_http_client, mock, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::DateTime;

use bootstrap::apply::cloudformation::converge::{converge, read_plan, StackOutcome};
use bootstrap::apply::cloudformation::events::WaitConfig;
use bootstrap::config::{ColorChoice, Inputs, OutputFormat, Settings};
use bootstrap::error::Result;
use bootstrap::model::template::{self, RenderOptions};
use bootstrap::plan::stack::{StackAction, StackPlan, StackSpec};
use bootstrap::report::Reporter;

const NAME: &str = "bitbucket-oidc-bootstrap";
const ID: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/bitbucket-oidc-bootstrap/1";

fn spec() -> StackSpec {
    let s = Settings::from_inputs(Inputs {
        workspace: Some("acme".into()),
        workspace_uuid: Some("6a3f1c2e-1111-4c9d-9a8b-0123456789ab".into()),
        repository_uuid: vec!["{0f6b3c1d-2222-4e5f-8a9b-abcdefabcdef}".into()],
        ..Default::default()
    })
    .unwrap();
    let t = template::build(
        &s,
        &["9e99a48a9960b14926bb7f3b02e22da2b0ab7280".to_string()],
        &[],
        RenderOptions::default(),
    )
    .unwrap();
    StackSpec {
        name: NAME.into(),
        body: t.yaml(),
        template: t.body,
    }
}

fn client(rules: &[&Rule]) -> Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for r in rules {
        interceptor = interceptor.with_rule(r);
    }
    let conf = aws_sdk_cloudformation::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("a", "b", None, None, "test"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    Client::from_conf(conf)
}

fn reporter() -> Reporter {
    Reporter::new(OutputFormat::Text, ColorChoice::Never, true, 0)
}

fn stack(status: StackStatus, protection: bool) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_id(ID)
                .stack_name(NAME)
                .stack_status(status)
                .enable_termination_protection(protection)
                .creation_time(DateTime::from_secs(0))
                .build(),
        )
        .build()
}

fn event(n: u32, logical: &str, ty: &str, status: ResourceStatus, reason: &str) -> StackEvent {
    StackEvent::builder()
        .event_id(format!("e{n}"))
        .stack_id(ID)
        .stack_name(NAME)
        .logical_resource_id(logical)
        .resource_type(ty)
        .resource_status(status)
        .resource_status_reason(reason)
        .timestamp(DateTime::from_secs(i64::from(n)))
        .build()
}

/// Newest first, as CloudFormation returns them.
fn events(list: Vec<StackEvent>) -> DescribeStackEventsOutput {
    DescribeStackEventsOutput::builder()
        .set_stack_events(Some(list.into_iter().rev().collect()))
        .build()
}

/// The calls made, in order, for the rules that record them.
type Log = Arc<Mutex<Vec<String>>>;

/// `init`'s walk over the plan, every step confirmed (`--yes`).
fn run_apply(cfn: &Client, spec: &StackSpec, plan: &StackPlan) -> Result<StackOutcome> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(converge(
            cfn,
            spec,
            plan.clone(),
            &|_| Ok(()),
            &reporter(),
            WaitConfig::fast(),
        ))
}

fn run_plan(cfn: &Client, spec: &StackSpec) -> Result<StackPlan> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(read_plan(cfn, spec))
}

#[test]
fn update_rollback_failed_is_resumed_with_continue_update_rollback_never_deleted() {
    let spec = spec();
    let body = spec.body.clone();
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack(StackStatus::UpdateRollbackFailed, true))
        .output(|| stack(StackStatus::UpdateRollbackInProgress, true))
        .output(|| stack(StackStatus::UpdateRollbackComplete, true))
        .repeatedly()
        .build();
    let template = mock!(Client::get_template).then_output(move || {
        GetTemplateOutput::builder()
            .template_body(body.clone())
            .build()
    });
    let history = mock!(Client::describe_stack_events).then_output(|| {
        events(vec![
            event(
                1,
                NAME,
                "AWS::CloudFormation::Stack",
                ResourceStatus::UpdateInProgress,
                "User Initiated",
            ),
            event(
                2,
                "DeployRole",
                "AWS::IAM::Role",
                ResourceStatus::UpdateFailed,
                "MaxSessionDuration is invalid",
            ),
            event(
                3,
                NAME,
                "AWS::CloudFormation::Stack",
                ResourceStatus::UpdateRollbackInProgress,
                "The following resource(s) failed to update: [DeployRole].",
            ),
            event(
                4,
                "StateBucket",
                "AWS::S3::Bucket",
                ResourceStatus::UpdateFailed,
                "Access Denied while rolling back",
            ),
            event(
                5,
                NAME,
                "AWS::CloudFormation::Stack",
                ResourceStatus::UpdateRollbackFailed,
                "The following resource(s) failed to update: [StateBucket].",
            ),
        ])
    });
    let resume = mock!(Client::continue_update_rollback)
        .match_requests(|r| r.stack_name() == Some(ID))
        .then_output(|| ContinueUpdateRollbackOutput::builder().build());
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let cfn = client(&[&describe, &template, &history, &resume, &delete]);

    let plan = run_plan(&cfn, &spec).unwrap();
    assert_eq!(plan.action, StackAction::ResumeRollback);
    let notes: String = plan.notes.iter().map(|n| format!("{n}\n")).collect();
    assert!(notes.contains("ContinueUpdateRollback"), "{notes}");
    assert!(notes.contains("never deleted"), "{notes}");
    assert!(
        notes.contains("the update failed on DeployRole (AWS::IAM::Role) UPDATE_FAILED: MaxSessionDuration is invalid"),
        "the first failed event of the last operation: {notes}"
    );
    assert!(
        notes.contains("the rollback failed on StateBucket (AWS::S3::Bucket) UPDATE_FAILED: Access Denied while rolling back"),
        "what blocks the rollback: {notes}"
    );

    let outcome = run_apply(&cfn, &spec, &plan).unwrap();
    assert_eq!(resume.num_calls(), 1);
    assert_eq!(
        delete.num_calls(),
        0,
        "a stack in UPDATE_ROLLBACK_FAILED is never deleted"
    );
    assert_eq!(outcome.status, "UPDATE_ROLLBACK_COMPLETE");
    assert_eq!(outcome.done, ["resumed the failed rollback"]);
}

#[test]
fn a_rollback_that_fails_again_is_reported_and_the_stack_kept() {
    let spec = spec();
    let body = spec.body.clone();
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack(StackStatus::UpdateRollbackFailed, true))
        .repeatedly()
        .build();
    let template = mock!(Client::get_template).then_output(move || {
        GetTemplateOutput::builder()
            .template_body(body.clone())
            .build()
    });
    // The events CloudFormation has before and after the tool resumes the rollback.
    let resumed = Arc::new(AtomicBool::new(false));
    let r = resumed.clone();
    let history = mock!(Client::describe_stack_events).then_compute_output(move |_| {
        let mut list = vec![event(
            1,
            NAME,
            "AWS::CloudFormation::Stack",
            ResourceStatus::UpdateRollbackFailed,
            "",
        )];
        if r.load(Ordering::SeqCst) {
            list.extend([
                event(
                    6,
                    NAME,
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::UpdateRollbackInProgress,
                    "User Initiated",
                ),
                event(
                    7,
                    "StateBucket",
                    "AWS::S3::Bucket",
                    ResourceStatus::UpdateFailed,
                    "Access Denied",
                ),
                event(
                    8,
                    NAME,
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::UpdateRollbackFailed,
                    "The following resource(s) failed to update: [StateBucket].",
                ),
            ]);
        }
        events(list)
    });
    let r = resumed.clone();
    let resume = mock!(Client::continue_update_rollback).then_compute_output(move |_| {
        r.store(true, Ordering::SeqCst);
        ContinueUpdateRollbackOutput::builder().build()
    });
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let cfn = client(&[&describe, &template, &history, &resume, &delete]);

    let plan = run_plan(&cfn, &spec).unwrap();
    let err = run_apply(&cfn, &spec, &plan).unwrap_err();
    assert_eq!(err.code.as_deref(), Some("UPDATE_ROLLBACK_FAILED"));
    assert!(
        err.message
            .contains("StateBucket (AWS::S3::Bucket): Access Denied"),
        "{err}"
    );
    assert!(
        err.hint
            .as_deref()
            .unwrap_or("")
            .contains("resources-to-skip"),
        "{err}"
    );
    assert_eq!(resume.num_calls(), 1);
    assert_eq!(delete.num_calls(), 0);
}

#[test]
fn termination_protection_is_turned_back_on_for_an_otherwise_unchanged_stack() {
    let spec = spec();
    let body = spec.body.clone();
    let describe =
        mock!(Client::describe_stacks).then_output(|| stack(StackStatus::UpdateComplete, false));
    let template = mock!(Client::get_template).then_output(move || {
        GetTemplateOutput::builder()
            .template_body(body.clone())
            .build()
    });
    let protect = mock!(Client::update_termination_protection)
        .match_requests(|r| {
            r.enable_termination_protection() == Some(true) && r.stack_name() == Some(ID)
        })
        .then_output(|| {
            UpdateTerminationProtectionOutput::builder()
                .stack_id(ID)
                .build()
        });
    let cfn = client(&[&describe, &template, &protect]);

    let plan = run_plan(&cfn, &spec).unwrap();
    assert_eq!(plan.action, StackAction::None);
    assert!(plan.enable_termination_protection);
    assert!(plan.has_changes());
    let outcome = run_apply(&cfn, &spec, &plan).unwrap();
    assert_eq!(protect.num_calls(), 1);
    assert_eq!(outcome.done, ["turned on termination protection"]);
}

#[test]
fn a_protected_rolled_back_stack_is_unprotected_deleted_and_created_with_protection() {
    let spec = spec();
    let log: Log = Arc::default();
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack(StackStatus::RollbackComplete, true))
        .output(|| stack(StackStatus::DeleteInProgress, false))
        .output(|| stack(StackStatus::DeleteComplete, false))
        .output(|| stack(StackStatus::CreateComplete, true))
        .repeatedly()
        .build();
    let body = spec.body.clone();
    let template = mock!(Client::get_template).then_output(move || {
        GetTemplateOutput::builder()
            .template_body(body.clone())
            .build()
    });
    let history = mock!(Client::describe_stack_events).then_output(|| {
        events(vec![
            event(
                1,
                NAME,
                "AWS::CloudFormation::Stack",
                ResourceStatus::CreateInProgress,
                "User Initiated",
            ),
            event(
                2,
                "StateBucket",
                "AWS::S3::Bucket",
                ResourceStatus::CreateFailed,
                "Access Denied",
            ),
            event(
                3,
                NAME,
                "AWS::CloudFormation::Stack",
                ResourceStatus::RollbackComplete,
                "",
            ),
        ])
    });
    let l = log.clone();
    let unprotect = mock!(Client::update_termination_protection)
        .match_requests(|r| r.enable_termination_protection() == Some(false))
        .then_compute_output(move |_| {
            l.lock().unwrap().push("unprotect".into());
            UpdateTerminationProtectionOutput::builder()
                .stack_id(ID)
                .build()
        });
    let l = log.clone();
    let delete = mock!(Client::delete_stack)
        .match_requests(|r| r.stack_name() == Some(ID))
        .then_compute_output(move |_| {
            l.lock().unwrap().push("delete".into());
            DeleteStackOutput::builder().build()
        });
    let l = log.clone();
    let create = mock!(Client::create_stack)
        .match_requests(|r| {
            r.enable_termination_protection() == Some(true)
                && r.retain_except_on_create() == Some(true)
        })
        .then_compute_output(move |_| {
            l.lock().unwrap().push("create".into());
            CreateStackOutput::builder().stack_id(ID).build()
        });
    let cfn = client(&[&describe, &template, &history, &unprotect, &delete, &create]);

    let plan = run_plan(&cfn, &spec).unwrap();
    assert_eq!(plan.action, StackAction::Recreate);
    assert!(
        !plan.enable_termination_protection,
        "set at creation instead"
    );
    let outcome = run_apply(&cfn, &spec, &plan).unwrap();
    assert_eq!(*log.lock().unwrap(), ["unprotect", "delete", "create"]);
    assert_eq!(outcome.status, "CREATE_COMPLETE");
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one scenario: the mocked calls, then what the user sees"
)]
fn a_failed_create_names_the_first_failed_resource_and_its_reason() {
    let spec = spec();
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .error(|| {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message(format!("Stack with id {NAME} does not exist"))
                    .build(),
            )
        })
        .output(|| stack(StackStatus::RollbackInProgress, true))
        .output(|| stack(StackStatus::RollbackComplete, true))
        .repeatedly()
        .build();
    let history = mock!(Client::describe_stack_events).then_output(|| {
        events(vec![
            event(
                1,
                NAME,
                "AWS::CloudFormation::Stack",
                ResourceStatus::CreateInProgress,
                "User Initiated",
            ),
            event(
                2,
                "OidcProvider",
                "AWS::IAM::OIDCProvider",
                ResourceStatus::CreateComplete,
                "",
            ),
            event(
                3,
                "LockTable",
                "AWS::DynamoDB::Table",
                ResourceStatus::CreateFailed,
                "Resource creation cancelled",
            ),
            event(
                4,
                "DeployRole",
                "AWS::IAM::Role",
                ResourceStatus::CreateFailed,
                "User is not authorized to perform: iam:CreateRole",
            ),
            event(
                5,
                NAME,
                "AWS::CloudFormation::Stack",
                ResourceStatus::RollbackInProgress,
                "The following resource(s) failed to create: [LockTable, DeployRole].",
            ),
            event(
                6,
                NAME,
                "AWS::CloudFormation::Stack",
                ResourceStatus::RollbackComplete,
                "",
            ),
        ])
    });
    let create = mock!(Client::create_stack)
        .then_output(|| CreateStackOutput::builder().stack_id(ID).build());
    let cfn = client(&[&describe, &history, &create]);

    let plan = run_plan(&cfn, &spec).unwrap();
    assert_eq!(plan.action, StackAction::Create);
    let err = run_apply(&cfn, &spec, &plan).unwrap_err();
    assert_eq!(err.code.as_deref(), Some("ROLLBACK_COMPLETE"));
    assert!(
        err.message.contains(
            "DeployRole (AWS::IAM::Role): User is not authorized to perform: iam:CreateRole"
        ),
        "{err}"
    );
    assert!(
        err.hint
            .as_deref()
            .unwrap_or("")
            .contains("deletes the rolled-back stack"),
        "{err}"
    );
}

#[test]
fn a_busy_stack_is_left_alone() {
    let spec = spec();
    let describe =
        mock!(Client::describe_stacks).then_output(|| stack(StackStatus::UpdateInProgress, true));
    let body = spec.body.clone();
    let template = mock!(Client::get_template).then_output(move || {
        GetTemplateOutput::builder()
            .template_body(body.clone())
            .build()
    });
    let cfn = client(&[&describe, &template]);
    let err = run_plan(&cfn, &spec).unwrap_err();
    assert_eq!(err.code.as_deref(), Some("UPDATE_IN_PROGRESS"));
    assert!(err.hint.as_deref().unwrap_or("").contains("wait"), "{err}");
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one scenario: the mocked calls, then what the user sees"
)]
fn a_stackset_operation_that_fails_in_some_accounts_names_them() {
    use aws_sdk_cloudformation::operation::create_stack_instances::CreateStackInstancesOutput;
    use aws_sdk_cloudformation::operation::create_stack_set::CreateStackSetOutput;
    use aws_sdk_cloudformation::operation::describe_stack_set::DescribeStackSetError;
    use aws_sdk_cloudformation::operation::describe_stack_set_operation::DescribeStackSetOperationOutput;
    use aws_sdk_cloudformation::operation::list_stack_instances::ListStackInstancesOutput;
    use aws_sdk_cloudformation::operation::list_stack_set_operation_results::ListStackSetOperationResultsOutput;
    use aws_sdk_cloudformation::types::error::StackSetNotFoundException;
    use aws_sdk_cloudformation::types::{
        StackSetOperation, StackSetOperationResultStatus, StackSetOperationResultSummary,
        StackSetOperationStatus,
    };
    use bootstrap::apply::cloudformation::stackset;
    use bootstrap::config::StackSetTargets;
    use bootstrap::observe::stackset as observe;
    use bootstrap::plan::stackset::{self as plan, StackSetSpec};

    let s = spec();
    let spec = StackSetSpec {
        name: "org".into(),
        body: s.body,
        template: s.template,
        targets: StackSetTargets::Accounts(vec!["111111111111".into(), "222222222222".into()]),
        regions: vec!["eu-west-1".into()],
    };
    let missing = mock!(Client::describe_stack_set).then_error(|| {
        DescribeStackSetError::StackSetNotFoundException(
            StackSetNotFoundException::builder()
                .message("StackSet org not found")
                .meta(
                    ErrorMetadata::builder()
                        .code("StackSetNotFoundException")
                        .build(),
                )
                .build(),
        )
    });
    let create = mock!(Client::create_stack_set)
        .match_requests(|r| {
            r.permission_model().map(PermissionModels::as_str) == Some("SELF_MANAGED")
        })
        .then_output(|| {
            CreateStackSetOutput::builder()
                .stack_set_id("org:1")
                .build()
        });
    let add = mock!(Client::create_stack_instances)
        .match_requests(|r| r.accounts() == ["111111111111", "222222222222"])
        .then_output(|| {
            CreateStackInstancesOutput::builder()
                .operation_id("op-1")
                .build()
        });
    let op = mock!(Client::describe_stack_set_operation)
        .sequence()
        .output(|| {
            DescribeStackSetOperationOutput::builder()
                .stack_set_operation(
                    StackSetOperation::builder()
                        .operation_id("op-1")
                        .status(StackSetOperationStatus::Running)
                        .build(),
                )
                .build()
        })
        .output(|| {
            DescribeStackSetOperationOutput::builder()
                .stack_set_operation(
                    StackSetOperation::builder()
                        .operation_id("op-1")
                        .status(StackSetOperationStatus::Failed)
                        .build(),
                )
                .build()
        })
        .build();
    let results = mock!(Client::list_stack_set_operation_results).then_output(|| {
        ListStackSetOperationResultsOutput::builder()
            .summaries(
                StackSetOperationResultSummary::builder()
                    .account("111111111111")
                    .region("eu-west-1")
                    .status(StackSetOperationResultStatus::Succeeded)
                    .build(),
            )
            .summaries(
                StackSetOperationResultSummary::builder()
                    .account("222222222222")
                    .region("eu-west-1")
                    .status(StackSetOperationResultStatus::Failed)
                    .status_reason("Account 222222222222 should have 'AWSCloudFormationStackSetExecutionRole' role")
                    .build(),
            )
            .build()
    });
    let list = mock!(Client::list_stack_instances)
        .then_output(|| ListStackInstancesOutput::builder().build());
    let cfn = client(&[&missing, &create, &add, &op, &results, &list]);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let observed = rt.block_on(observe::stackset(&cfn, &spec.name)).unwrap();
    let plan = plan::plan(&spec, observed).unwrap();
    assert!(!plan.exists);
    assert_eq!(plan.add.len(), 2);
    let err = rt
        .block_on(stackset::apply(
            &cfn,
            &spec,
            &plan,
            &reporter(),
            WaitConfig::fast(),
        ))
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("FAILED"));
    assert!(
        err.message.contains("1 of 2 accounts failed: 222222222222; 222222222222 eu-west-1: Account 222222222222 should have 'AWSCloudFormationStackSetExecutionRole' role"),
        "{err}"
    );
    assert_eq!(create.num_calls(), 1);
    assert_eq!(add.num_calls(), 1);
}

// `destroy --mode cloudformation`: the order of the calls, a failed delete and a busy stack.

mod destroy_stack {
    use super::*;
    use aws_sdk_cloudformation::operation::describe_stack_resources::DescribeStackResourcesOutput;
    use aws_sdk_cloudformation::types::StackResource;
    use bootstrap::apply::cloudformation::destroy;
    use bootstrap::observe::destroy_stack as observe;
    use bootstrap::plan::destroy_stack::{self as destroy_plan, DeletePlan};

    fn resource(logical: &str, ty: &str, physical: &str) -> StackResource {
        StackResource::builder()
            .logical_resource_id(logical)
            .resource_type(ty)
            .physical_resource_id(physical)
            .resource_status(ResourceStatus::CreateComplete)
            .timestamp(DateTime::from_secs(0))
            .build()
    }

    fn rules_for(spec: &StackSpec) -> (Rule, Rule, Rule) {
        let body = spec.body.clone();
        let template = mock!(Client::get_template).then_output(move || {
            GetTemplateOutput::builder()
                .template_body(body.clone())
                .build()
        });
        let resources = mock!(Client::describe_stack_resources).then_output(|| {
            DescribeStackResourcesOutput::builder()
                .stack_resources(resource(
                    "DeployRole",
                    "AWS::IAM::Role",
                    "bitbucket-pipelines-deploy",
                ))
                .stack_resources(resource(
                    "StateBucket",
                    "AWS::S3::Bucket",
                    "terraform-state-123456789012-eu-west-1",
                ))
                .stack_resources(resource(
                    "LockTable",
                    "AWS::DynamoDB::Table",
                    "terraform-state-lock",
                ))
                .build()
        });
        // Before the delete: only the create's event; after it, the delete's too.
        let created = || {
            event(
                1,
                NAME,
                "AWS::CloudFormation::Stack",
                ResourceStatus::CreateComplete,
                "",
            )
        };
        let history = mock!(Client::describe_stack_events)
            .sequence()
            .output(move || events(vec![created()]))
            .output(move || {
                events(vec![
                    created(),
                    event(
                        2,
                        NAME,
                        "AWS::CloudFormation::Stack",
                        ResourceStatus::DeleteInProgress,
                        "User Initiated",
                    ),
                    event(
                        3,
                        "DeployRole",
                        "AWS::IAM::Role",
                        ResourceStatus::DeleteFailed,
                        "Cannot delete entity, must detach all policies first.",
                    ),
                ])
            })
            .repeatedly()
            .build();
        (template, resources, history)
    }

    fn protection_rule(log: &Log, on: bool) -> Rule {
        let l = log.clone();
        mock!(Client::update_termination_protection)
            .match_requests(move |r| {
                r.enable_termination_protection() == Some(on) && r.stack_name() == Some(ID)
            })
            .then_compute_output(move |_| {
                l.lock()
                    .unwrap()
                    .push(if on { "protect" } else { "unprotect" }.into());
                UpdateTerminationProtectionOutput::builder()
                    .stack_id(ID)
                    .build()
            })
    }

    fn delete_rule(log: &Log) -> Rule {
        let l = log.clone();
        mock!(Client::delete_stack)
            .match_requests(|r| r.stack_name() == Some(ID))
            .then_compute_output(move |_| {
                l.lock().unwrap().push("delete".into());
                DeleteStackOutput::builder().build()
            })
    }

    /// What `destroy --mode cloudformation` reads and plans before asking.
    async fn read_plan(cfn: &Client) -> Result<Option<DeletePlan>> {
        let Some(stack) = observe::stack(cfn, NAME).await? else {
            return Ok(None);
        };
        destroy_plan::check_idle(NAME, &stack)?;
        let listed = observe::resources(cfn, NAME, &stack).await?;
        Ok(Some(destroy_plan::plan(NAME, stack, listed)))
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn termination_protection_is_turned_off_just_before_delete_stack() {
        let spec = spec();
        let log: Log = Arc::default();
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stack(StackStatus::UpdateComplete, true))
            .output(|| stack(StackStatus::DeleteInProgress, false))
            .output(|| stack(StackStatus::DeleteComplete, false))
            .repeatedly()
            .build();
        let (template, resources, history) = rules_for(&spec);
        let unprotect = protection_rule(&log, false);
        let protect = protection_rule(&log, true);
        let delete = delete_rule(&log);
        let cfn = client(&[
            &describe, &template, &resources, &history, &unprotect, &protect, &delete,
        ]);

        let plan = block_on(read_plan(&cfn)).unwrap().unwrap();
        assert!(plan.termination_protection);
        assert!(log.lock().unwrap().is_empty(), "reading changes nothing");
        let retained: Vec<&str> = plan.retained().map(|r| r.physical_id.as_str()).collect();
        assert_eq!(
            retained,
            [
                "terraform-state-123456789012-eu-west-1",
                "terraform-state-lock"
            ],
            "the template's DeletionPolicy: Retain decides"
        );
        let deleted: Vec<&str> = plan.deleted().map(|r| r.logical_id.as_str()).collect();
        assert_eq!(deleted, ["DeployRole"]);

        let out = block_on(destroy::apply(&cfn, &plan, &reporter(), WaitConfig::fast())).unwrap();
        assert_eq!(*log.lock().unwrap(), ["unprotect", "delete"]);
        assert_eq!(out.status, "DELETE_COMPLETE");
        assert_eq!(
            out.done,
            [
                "turned off termination protection",
                "deleted stack bitbucket-oidc-bootstrap"
            ]
        );
    }

    #[test]
    fn a_failed_delete_is_explained_and_protection_turned_back_on() {
        let spec = spec();
        let log: Log = Arc::default();
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stack(StackStatus::CreateComplete, true))
            .output(|| stack(StackStatus::DeleteInProgress, false))
            .output(|| stack(StackStatus::DeleteFailed, false))
            .repeatedly()
            .build();
        let (template, resources, history) = rules_for(&spec);
        let unprotect = protection_rule(&log, false);
        let protect = protection_rule(&log, true);
        let delete = delete_rule(&log);
        let cfn = client(&[
            &describe, &template, &resources, &history, &unprotect, &protect, &delete,
        ]);
        let plan = block_on(read_plan(&cfn)).unwrap().unwrap();
        let err =
            block_on(destroy::apply(&cfn, &plan, &reporter(), WaitConfig::fast())).unwrap_err();
        assert_eq!(*log.lock().unwrap(), ["unprotect", "delete", "protect"]);
        assert_eq!(err.code.as_deref(), Some("DELETE_FAILED"));
        assert!(err.message.contains("DeployRole"), "{err}");
        assert!(err.message.contains("detach all policies"), "{err}");
        assert!(
            err.hint
                .as_deref()
                .unwrap_or("")
                .contains("destroy --mode cloudformation"),
            "{err}"
        );
    }

    #[test]
    fn a_busy_stack_is_not_deleted() {
        let spec = spec();
        let describe = mock!(Client::describe_stacks)
            .then_output(|| stack(StackStatus::UpdateInProgress, true));
        let (template, _, _) = rules_for(&spec);
        let cfn = client(&[&describe, &template]);
        let err = block_on(read_plan(&cfn)).unwrap_err();
        assert_eq!(err.code.as_deref(), Some("UPDATE_IN_PROGRESS"));
        assert!(
            err.message.contains("another operation is running"),
            "{err}"
        );
        assert!(err.hint.as_deref().unwrap_or("").contains("wait"), "{err}");
    }

    #[test]
    fn no_stack_means_nothing_to_do() {
        let missing = mock!(Client::describe_stacks).then_error(|| {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("Stack with id bitbucket-oidc-bootstrap does not exist")
                    .build(),
            )
        });
        let cfn = client(&[&missing]);
        assert!(block_on(read_plan(&cfn)).unwrap().is_none());
    }
}
