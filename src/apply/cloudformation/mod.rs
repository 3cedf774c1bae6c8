//! CloudFormation mode: the template for the desired state ([`template`]), and deploying it as
//! a stack ([`deploy`]) or a StackSet ([`stackset`]).

pub mod compare;
pub mod deploy;
pub mod events;
pub mod template;
pub mod text;
pub mod yaml;
