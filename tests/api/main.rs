//! The library's API in process, without the `bootstrap` binary: the rendered CloudFormation
//! templates (snapshots, cfn-lint, checkov, equivalence with direct mode) and the stack paths
//! moto cannot play, through the SDK's mock interceptor (aws-smithy-mocks); the generated
//! bitbucket-pipelines.yml of both shapes against the Bitbucket Pipelines schema.

mod cloudformation;
mod cloudformation_mocks;
mod pipeline;
