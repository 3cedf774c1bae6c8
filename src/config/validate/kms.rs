//! `--kms-key`: the four ways KMS names a key. The form is checked here, before any AWS
//! call; which key an alias (or a bare key id) means is learnt later with kms:DescribeKey.

use crate::error::Result;

use super::{bad, region, shown};

/// How `--kms-key` names the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KmsKeyForm {
    /// `arn:aws:kms:REGION:ACCOUNT:key/ID`
    KeyArn,
    /// `1234abcd-12ab-34cd-56ef-1234567890ab` or `mrk-...`
    KeyId,
    /// `alias/NAME`
    AliasName,
    /// `arn:aws:kms:REGION:ACCOUNT:alias/NAME`
    AliasArn,
}

fn hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A key id: a UUID, or `mrk-` and 32 hex digits for a multi-Region key.
pub fn kms_key_id_ok(id: &str) -> bool {
    if let Some(rest) = id.strip_prefix("mrk-") {
        return rest.len() == 32 && hex(rest);
    }
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && hex(g))
}

/// An alias name after `alias/`: 1 to 250 letters, digits, `/ _ -`; not an AWS managed key's.
fn alias_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 250
        && !name.starts_with("aws/")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b))
}

/// The form of `value`, or None when it is none of the four.
pub fn kms_key_form(value: &str) -> Option<KmsKeyForm> {
    if let Some(name) = value.strip_prefix("alias/") {
        return alias_ok(name).then_some(KmsKeyForm::AliasName);
    }
    if !value.starts_with("arn:") {
        return kms_key_id_ok(value).then_some(KmsKeyForm::KeyId);
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let arn_ok = parts.len() == 6
        && matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov")
        && parts[2] == "kms"
        && region(parts[3]).is_ok()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit());
    if !arn_ok {
        return None;
    }
    if let Some(id) = parts[5].strip_prefix("key/") {
        kms_key_id_ok(id).then_some(KmsKeyForm::KeyArn)
    } else {
        let name = parts[5].strip_prefix("alias/")?;
        alias_ok(name).then_some(KmsKeyForm::AliasArn)
    }
}

/// A KMS key for bucket encryption, in any of the four forms, returned as given.
pub fn kms_key(value: &str) -> Result<String> {
    match kms_key_form(value) {
        Some(_) => Ok(value.to_string()),
        None => Err(bad(
            "--kms-key",
            &shown(value),
            "expected a KMS key ARN (arn:aws:kms:eu-west-1:123456789012:key/<id>), a key id (a UUID or mrk-...), an alias (alias/<name>) or an alias ARN; AWS managed aliases (alias/aws/...) cannot be granted to a role",
        )),
    }
}

/// The region in a KMS key or alias ARN; None for a key id or alias name (which name a key in
/// `--region`).
pub fn kms_key_region(value: &str) -> Option<&str> {
    match kms_key_form(value)? {
        KmsKeyForm::KeyArn | KmsKeyForm::AliasArn => value.split(':').nth(3),
        KmsKeyForm::KeyId | KmsKeyForm::AliasName => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_is_recognised_and_malformed_keys_are_not() {
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        let mrk = "mrk-1234abcd12ab34cd56ef1234567890ab";
        for (value, form) in [
            (
                format!("arn:aws:kms:eu-west-1:123456789012:key/{id}"),
                KmsKeyForm::KeyArn,
            ),
            (
                format!("arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/{mrk}"),
                KmsKeyForm::KeyArn,
            ),
            (id.to_string(), KmsKeyForm::KeyId),
            (mrk.to_string(), KmsKeyForm::KeyId),
            ("alias/terraform-state".into(), KmsKeyForm::AliasName),
            (
                "arn:aws:kms:eu-west-1:123456789012:alias/team/state_1".into(),
                KmsKeyForm::AliasArn,
            ),
        ] {
            assert_eq!(kms_key_form(&value), Some(form), "{value}");
            assert!(kms_key(&value).is_ok(), "{value}");
        }
        for bad in [
            "",
            "state",
            "alias/",
            "alias/aws/s3",
            "alias/with space",
            "1234abcd-12ab-34cd-56ef-1234567890a",
            "mrk-123",
            "arn:aws:kms:eu-west-1:123456789012:key/not-a-key",
            "arn:aws:kms:eu-west-1:12345:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:s3:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-1:123456789012:alias/aws/s3",
            "arn:aws:kms:eu-west-1:123456789012:grant/x",
        ] {
            assert_eq!(kms_key_form(bad), None, "{bad}");
            assert_eq!(kms_key(bad).unwrap_err().exit_code(), 64, "{bad}");
        }
    }

    #[test]
    fn only_arns_carry_a_region() {
        assert_eq!(
            kms_key_region("arn:aws:kms:eu-west-1:123456789012:alias/x"),
            Some("eu-west-1")
        );
        assert_eq!(kms_key_region("alias/x"), None);
        assert_eq!(kms_key_region("1234abcd-12ab-34cd-56ef-1234567890ab"), None);
    }
}
