//! CloudFormation mode: deploying the template of the desired state
//! ([`crate::model::template`]) as a stack ([`deploy`]) or a StackSet ([`stackset`]).

pub mod changeset;
pub mod deploy;
pub mod destroy;
pub mod events;
pub mod stack;
pub mod stackset;
pub mod text;
