//! The account the credentials belong to (sts:GetCallerIdentity), with the partition and
//! region the clients use: the one lookup every command that needs the account id makes.

use crate::aws::{self, Aws};
use crate::error::{Error, Result};
use crate::model::Account;

/// The caller's account, partition and region. One sts:GetCallerIdentity.
pub async fn account(aws: &Aws) -> Result<Account> {
    let me =
        aws.sts.get_caller_identity().send().await.map_err(|e| {
            aws::classify(&e, "finding the AWS account (sts:GetCallerIdentity)", "sts")
        })?;
    let id = me
        .account()
        .ok_or_else(|| Error::failure("sts:GetCallerIdentity returned no account id"))?
        .to_string();
    Ok(Account {
        id,
        partition: aws::partition(&aws.region).to_string(),
        region: aws.region.clone(),
    })
}
