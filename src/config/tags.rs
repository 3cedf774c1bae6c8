//! The tags bootstrap writes itself (which `--tag` therefore refuses). The defaults of the
//! settings are declared with their keys (`config/settings/`).

/// Tag added to everything the tool creates (or adopts), so its resources can be recognised;
/// `destroy` deletes a resource without it only with `--force`.
pub const MANAGED_BY_TAG: (&str, &str) = ("managed-by", "bootstrap");
/// Tag naming the version of the tool that created (or adopted) a resource. It is written
/// with the resource and never rewritten on its own, so upgrading the tool changes nothing.
pub const VERSION_TAG: (&str, &str) = ("bootstrap-version", env!("CARGO_PKG_VERSION"));
/// Tag naming the set of roles one configuration manages (`set = "..."`, by default the
/// issuer's host/path): `plan`, `status` and `init --prune` look only at roles of their own
/// set, so two configurations in one account never touch each other's roles.
pub const SET_TAG: &str = "bootstrap-set";
/// Tag the CloudFormation template puts on every role it defines, naming the stack
/// (`Ref: AWS::StackName`): CloudFormation's own `aws:cloudformation:*` tags are not put on
/// IAM roles, so this is how direct mode knows a stack's role and leaves it alone.
pub const STACK_TAG: &str = "bootstrap-stack";
/// The role tag naming the key prefix a role's state lives under: the bucket policy's
/// confinement statement reads it (`${aws:PrincipalTag/bootstrap-state-prefix}`), so a
/// `--tag` must not set it.
pub const STATE_PREFIX_TAG: &str = "bootstrap-state-prefix";
