//! `--profile NAME`: the named profile must exist before anything is sent, and its
//! credentials win over `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` in the environment, as
//! the AWS CLI lets the flag win (the SDK's default chain reads the environment first).

use aws_config::profile::{ProfileFileCredentialsProvider, ProfileSet};
use aws_config::provider_config::ProviderConfig;
use aws_config::Region;
use aws_runtime::env_config::file::EnvConfigFiles;
use aws_types::os_shim_internal::{Env, Fs};

use crate::error::{Error, Result};

/// The shared files (`~/.aws/config`, `~/.aws/credentials`, or `AWS_CONFIG_FILE` and
/// `AWS_SHARED_CREDENTIALS_FILE`), read as the SDK reads them.
async fn shared_files() -> Result<ProfileSet> {
    aws_config::profile::load(&Fs::real(), &Env::real(), &EnvConfigFiles::default(), None)
        .await
        .map_err(|e| {
            Error::usage(format!("cannot read the AWS config files: {e}"))
                .hint("fix ~/.aws/config and ~/.aws/credentials (or AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE)")
        })
}

/// The credentials of profile `name`, or a usage error when no shared file defines it. Only
/// files are read: no AWS call is made. A profile that assumes a role asks STS in `region`
/// (`--region`), else in the profile's own region.
pub(super) async fn credentials(
    name: &str,
    region: Option<&str>,
) -> Result<ProfileFileCredentialsProvider> {
    let files = shared_files().await?;
    let Some(profile) = files.get_profile(name) else {
        let mut known: Vec<&str> = files.profiles().collect();
        known.sort_unstable();
        let have = if known.is_empty() {
            "there is none".to_string()
        } else {
            format!("there are: {}", known.join(", "))
        };
        return Err(Error::usage(format!(
            "--profile {name}: no such profile in ~/.aws/config or ~/.aws/credentials ({have})"
        ))
        .hint("pass a profile `aws configure list-profiles` shows, or create it with `aws configure --profile NAME`"));
    };
    let region = region
        .or_else(|| profile.get("region"))
        .map(|r| Region::new(r.to_string()));
    let config = ProviderConfig::without_region().with_region(region);
    Ok(ProfileFileCredentialsProvider::builder()
        .configure(&config)
        .profile_name(name)
        .build())
}
