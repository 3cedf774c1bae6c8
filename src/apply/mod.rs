//! Make the plan so. Direct mode walks the plan's operations with the SDK; independent
//! resources run concurrently, and within a resource every call that does not depend on
//! another runs at the same time. `init`'s one entry, whatever the mode, is [`init::apply`],
//! and `destroy`'s [`destroy::apply`]; before each write they ask the caller ([`Ask`]), and
//! never prompt themselves.

mod ask;
pub mod cloudformation;
pub mod destroy;
pub mod direct;
pub mod init;

pub use ask::{Ask, AskDeletion, Confirm, ConfirmDeletion};
