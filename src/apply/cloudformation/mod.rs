//! CloudFormation mode: the template for the desired state ([`template`]), and deploying it as
//! a stack ([`deploy`]) or a StackSet ([`stackset`]).

pub mod template;
pub mod yaml;
