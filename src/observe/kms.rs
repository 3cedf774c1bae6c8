//! The KMS key `--kms-key` names, read before anything is written. kms:DescribeKey accepts
//! every form the flag does (key ARN, key id, alias name, alias ARN) and answers with the
//! key's ARN, which is what the role's grant must name.

use std::borrow::Cow;

use aws_sdk_kms::types::KeyState;

use crate::aws::{classify, errors, Aws};
use crate::config::Settings;
use crate::error::{Error, Result};

/// The ARN of the key `given` names. A key (or alias) that does not exist, or a key that
/// cannot encrypt (disabled, pending deletion), is a usage error naming the key and the flag.
pub async fn key_arn(aws: &Aws, given: &str) -> Result<String> {
    let out = match aws.kms.describe_key().key_id(given).send().await {
        Ok(out) => out,
        Err(e) if errors::is(&e, &["NotFoundException"]) => {
            return Err(Error::usage(format!(
                "--kms-key {given}: no such KMS key in {} (kms:DescribeKey answered NotFoundException)",
                aws.region
            ))
            .resource(given.to_string())
            .code("NotFoundException")
            .hint("check the key id or alias (aws kms list-aliases) and that it is in --region, or leave --kms-key out to encrypt with SSE-S3"));
        }
        Err(e) => {
            return Err(classify(&e, "reading the KMS key (kms:DescribeKey)", given)
                .hint("the credentials need kms:DescribeKey on the key given with --kms-key"))
        }
    };
    let meta = out.key_metadata().ok_or_else(|| {
        Error::failure(format!("kms:DescribeKey returned nothing for {given}"))
            .resource(given.to_string())
    })?;
    if let Some(state) = meta.key_state() {
        if matches!(state, KeyState::Disabled | KeyState::PendingDeletion) {
            return Err(Error::usage(format!(
                "--kms-key {given}: the key {} is {}, so S3 cannot encrypt with it",
                meta.key_id(),
                state.as_str()
            ))
            .resource(given.to_string())
            .hint("enable the key (or cancel its deletion), or pass another key with --kms-key"));
        }
    }
    meta.arn().map(str::to_string).ok_or_else(|| {
        Error::failure(format!("kms:DescribeKey returned no ARN for {given}"))
            .resource(given.to_string())
    })
}

/// `settings` with `--kms-key` replaced by the key's ARN (one kms:DescribeKey), or as they
/// are without a key.
pub async fn resolved<'a>(aws: &Aws, settings: &'a Settings) -> Result<Cow<'a, Settings>> {
    match &settings.state.kms_key {
        None => Ok(Cow::Borrowed(settings)),
        Some(given) => {
            let arn = key_arn(aws, given).await?;
            let mut s = settings.clone();
            s.state.kms_key = Some(arn);
            Ok(Cow::Owned(s))
        }
    }
}
