//! The KMS key the role is granted. An IAM policy's `Resource` must name a key by its key
//! ARN: alias names and alias ARNs match no request. So every form `--kms-key` accepts ends
//! up here as a key ARN.

use super::{arn, Account};
use crate::config::validate::{kms_key_form, KmsKeyForm};

/// The key ARN for a validated `--kms-key` in `account`: a key ARN as given, a key id as the
/// ARN of that key in the account and region. None for an alias (name or ARN), which only
/// KMS can resolve (kms:DescribeKey, see `observe::kms`).
pub fn key_arn(given: &str, account: &Account) -> Option<String> {
    match kms_key_form(given)? {
        KmsKeyForm::KeyArn => Some(given.to_string()),
        KmsKeyForm::KeyId => Some(arn::key(
            &account.partition,
            &account.region,
            &account.id,
            given,
        )),
        KmsKeyForm::AliasName | KmsKeyForm::AliasArn => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            id: "123456789012".into(),
            partition: "aws-cn".into(),
            region: "cn-north-1".into(),
        }
    }

    #[test]
    fn key_ids_become_arns_in_the_account_and_aliases_need_kms() {
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(
            key_arn(id, &account()).as_deref(),
            Some("arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        );
        let arn = "arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(key_arn(arn, &account()).as_deref(), Some(arn));
        assert_eq!(key_arn("alias/state", &account()), None);
        assert_eq!(
            key_arn("arn:aws:kms:eu-west-1:210987654321:alias/state", &account()),
            None
        );
    }
}
