//! Make the plan so. Direct mode walks the plan's operations with the SDK; independent
//! resources run concurrently, and within a resource every call that does not depend on
//! another runs at the same time.

pub mod cloudformation;
pub mod direct;
