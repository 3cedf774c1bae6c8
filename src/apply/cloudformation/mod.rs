//! CloudFormation mode: the template for the desired state ([`template`]), and deploying it as
//! a stack ([`deploy`]) or a StackSet ([`stackset`]).

pub mod changeset;
pub mod compare;
pub mod deploy;
pub mod destroy;
pub mod events;
mod refs;
pub mod stack;
pub mod stackset;
pub mod template;
pub mod text;
pub mod yaml;
