//! `--profile NAME`: the named profile must exist before anything is sent, and its
//! credentials win over `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` in the environment, as
//! the AWS CLI lets the flag win (the SDK's default chain reads the environment first).

use aws_config::profile::ProfileFileCredentialsProvider;
use aws_runtime::env_config::file::EnvConfigFiles;
use aws_types::os_shim_internal::{Env, Fs};

use crate::error::{Error, Result};

/// The profile's names as the shared files hold them (`~/.aws/config`, `~/.aws/credentials`,
/// or `AWS_CONFIG_FILE`/`AWS_SHARED_CREDENTIALS_FILE`), read as the SDK reads them.
async fn known_profiles() -> Result<Vec<String>> {
    let set = aws_config::profile::load(&Fs::real(), &Env::real(), &EnvConfigFiles::default(), None)
        .await
        .map_err(|e| {
            Error::usage(format!("cannot read the AWS config files: {e}"))
                .hint("fix ~/.aws/config and ~/.aws/credentials (or AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE)")
        })?;
    let mut names: Vec<String> = set.profiles().map(str::to_string).collect();
    names.sort();
    Ok(names)
}

/// The credentials of profile `name`, or a usage error when no shared file defines it. Only
/// files are read: no AWS call is made.
pub(super) async fn credentials(name: &str) -> Result<ProfileFileCredentialsProvider> {
    let known = known_profiles().await?;
    if !known.iter().any(|p| p == name) {
        let have = if known.is_empty() {
            "there is none".to_string()
        } else {
            format!("there are: {}", known.join(", "))
        };
        return Err(Error::usage(format!(
            "--profile {name}: no such profile in ~/.aws/config or ~/.aws/credentials ({have})"
        ))
        .hint("pass a profile `aws configure list-profiles` shows, or create it with `aws configure --profile NAME`"));
    }
    Ok(ProfileFileCredentialsProvider::builder()
        .profile_name(name)
        .build())
}
