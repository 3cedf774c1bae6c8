//! CloudFormation mode: carrying out a stack's or a StackSet's plan. Each operation runs
//! when the command says and is waited for; none plans or asks.

pub mod changeset;
pub mod converge;
pub mod destroy;
pub mod events;
pub mod stack;
pub mod stackset;
