//! The `bootstrap` command line end to end: the binary runs as a subprocess against local
//! stand-ins for AWS (moto behind a behaviour layer) and Bitbucket (an HTTPS issuer with its
//! own PKI), and the end state is read back with the AWS SDK. One module per area; the shared
//! harness (`common`) is compiled once for all of them.

#![allow(
    unreachable_pub,
    reason = "a test binary exports nothing: `pub` in its modules is what the other modules use"
)]

mod common;

mod bitbucket;
mod bitbucket_variables;
mod cloudformation_bucket;
mod cloudformation_owner;
mod cloudformation_render;
mod cloudformation_roles;
mod cloudformation_stack;
mod cloudformation_stack_resources;
mod cloudformation_stackset;
mod cloudformation_status;
mod destroy;
mod destroy_stack;
mod discover;
mod faults;
mod faults_updates;
mod footguns;
mod guard_rails;
mod guard_rails_policies;
mod guard_rails_resources;
mod guard_rails_trust;
mod harness;
mod harness_judge;
mod harness_layer;
mod harness_moto;
mod help;
mod init_adopt;
mod init_adopt_roles;
mod init_converge;
mod init_direct;
mod init_options;
mod init_options_state;
mod limits;
mod operator_policy;
mod operator_policy_roles;
mod outputs;
mod pipeline;
mod pipeline_backend;
mod pipeline_files;
mod pipeline_plan_apply;
mod roles;
mod roles_prune;
mod scale;
mod secrets;
mod sets;
mod state_across_sets;
mod state_bucket;
mod state_per_repository;
mod state_per_repository_pipelines;
mod state_per_repository_terraform;
mod terraform;
mod terraform_accounts;
mod thumbprint;
mod trust_review;
mod verify;
mod verify_live;
mod verify_options;
