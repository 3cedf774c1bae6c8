//! The one error type every command returns, and the exit codes it maps to.
//!
//! An error is printed once, at the top (see `report::emit_error`): one line with what went
//! wrong, the resource and AWS error code where there is one, and a hint naming the flag or
//! action that fixes it.

use std::fmt;

/// Process exit codes, as documented in the command-line contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Something failed while running (network, AWS, TLS): exit 1.
    Failure,
    /// Usage or invalid input, detected before any AWS call: exit 64 (sysexits `EX_USAGE`).
    Usage,
    /// A check found a difference (`thumbprint --check`, `verify` refusing a token): exit 3.
    Check,
}

impl Kind {
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Failure => 1,
            Kind::Usage => 64,
            Kind::Check => 3,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            resource: None,
            code: None,
            hint: None,
        }
    }

    /// Invalid input: exit 64, nothing has been touched.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }

    /// A failure while running: exit 1.
    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(Kind::Failure, message)
    }

    /// A check found a difference: exit 3.
    pub fn check(message: impl Into<String>) -> Self {
        Self::new(Kind::Check, message)
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(resource) = &self.resource {
            write!(f, "{resource}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Build a usage error from a format string: `usage!("--role-name {name:?} is too long")`.
#[macro_export]
macro_rules! usage {
    ($($arg:tt)*) => { $crate::error::Error::usage(format!($($arg)*)) };
}

/// Build a failure from a format string.
#[macro_export]
macro_rules! failure {
    ($($arg:tt)*) => { $crate::error::Error::failure(format!($($arg)*)) };
}
