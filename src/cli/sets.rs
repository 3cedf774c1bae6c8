//! Which argument groups each command takes: the setup flags of `init` that apply to a
//! command are listed in its `--help`; the rest are accepted (so one command line serves
//! `init` and the others) but unlisted ([`Unlisted`]). A new flag goes into the group of
//! the commands it changes (`args.rs`), and so appears exactly where it applies.

use clap::Args;
use serde::Serialize;

use super::args::{
    BackendArgs, BucketArgs, IpRangesArgs, IssuerArgs, ModeArgs, RoleArgs, RoleOptionsArgs,
    RolePolicyArgs, StackSetArgs, StateArgs, TrustArgs,
};

/// Every setup flag: what `plan`, `init`, `status` and `render` take. The groups below are
/// split by where a flag applies, and each command flattens the groups that apply to it
/// (a new flag goes into the group of the commands it changes).
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SetupArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub issuer: IssuerArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub ranges: IpRangesArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub role: RoleArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub policies: RolePolicyArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub options: RoleOptionsArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub bucket: BucketArgs,
}

/// `operator-policy`'s setup flags: what names the resources and the policies the role may
/// be given. The others are accepted (one command line serves init and operator-policy) but
/// not listed.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct OperatorSetupArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub issuer: IssuerArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub role: RoleArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub policies: RolePolicyArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub unlisted: Unlisted<OperatorUnlistedArgs>,
}

/// The setup flags that change nothing in the operator's policy.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct OperatorUnlistedArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub ranges: IpRangesArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub options: RoleOptionsArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub bucket: BucketArgs,
}

/// `pipeline`'s setup flags: what the steps and backend.tf are made of. The others are
/// accepted (one command line serves init and pipeline) but not listed.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PipelineSetupArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub issuer: IssuerArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub role: RoleArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub unlisted: Unlisted<PipelineUnlistedArgs>,
}

/// The setup flags that change nothing `pipeline` writes.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PipelineUnlistedArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub ranges: IpRangesArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub policies: RolePolicyArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub options: RoleOptionsArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub bucket: BucketArgs,
}

/// `destroy`'s setup flags: what names the resources to delete. The others are accepted
/// (one command line serves init and destroy) but not listed.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct DestroySetupArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub issuer: IssuerArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub role: RoleArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub mode: ModeArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub unlisted: Unlisted<DestroyUnlistedArgs>,
}

/// The setup flags that change nothing `destroy` deletes (`--stackset` is refused).
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct DestroyUnlistedArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub ranges: IpRangesArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub policies: RolePolicyArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub options: RoleOptionsArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub bucket: BucketArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub stackset: StackSetArgs,
}

/// A group of flags a command accepts, and still checks, but does not list in its `--help`,
/// man page or completions: they do nothing there, and refusing them would break a command
/// line shared with `init`.
#[derive(Debug)]
pub struct Unlisted<T>(pub T);

impl<T: Args> Args for Unlisted<T> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let group = T::augment_args(clap::Command::new("unlisted"));
        group
            .get_arguments()
            .fold(cmd, |cmd, arg| cmd.arg(arg.clone().hide(true)))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl<T: Serialize> Serialize for Unlisted<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<T: clap::FromArgMatches> clap::FromArgMatches for Unlisted<T> {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Unlisted)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
}
