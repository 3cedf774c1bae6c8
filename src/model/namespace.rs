//! The state bucket's name and the S3 namespace it is created in.
//!
//! Since 2026-03-12 S3 has an account regional namespace: a general purpose bucket named
//! `<prefix>-<account-id>-<region>-an`, created with `x-amz-bucket-namespace:
//! account-regional`, can only ever be created by that account in that region (S3 User
//! Guide, "Namespaces for general purpose buckets" and "Account regional namespace naming
//! rules"). A predictable global name can be taken by anyone first, so a new setup's default
//! bucket lives there. A bucket under the default name of earlier versions
//! (`terraform-state-<account>-<region>`, global) is kept: bucket names cannot be changed.

use serde::Serialize;

use super::Account;
use crate::error::{Error, Result};

/// The default bucket's name before the account and region.
pub const DEFAULT_PREFIX: &str = "terraform-state";

/// The only partition with the account regional namespace.
pub const PARTITION: &str = "aws";

/// Regions of the `aws` partition without the account regional namespace: "all AWS Regions
/// except Middle East (Bahrain) and Middle East (UAE)" (S3 User Guide, "Namespaces for
/// general purpose buckets").
pub const REGIONS_WITHOUT: &[&str] = &["me-south-1", "me-central-1"];

/// Where a bucket name lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Namespace {
    /// Only this account can create the name (`x-amz-bucket-namespace: account-regional`).
    AccountRegional,
    /// The shared global namespace: the first account to ask gets the name.
    Global,
}

impl Namespace {
    /// The value of CreateBucket's `x-amz-bucket-namespace` header and CloudFormation's
    /// `BucketNamespace`.
    pub fn as_str(self) -> &'static str {
        match self {
            Namespace::AccountRegional => "account-regional",
            Namespace::Global => "global",
        }
    }
}

/// Why `account`'s region has no account regional namespace, or None when it has one.
pub fn unavailable(account: &Account) -> Option<String> {
    if account.partition != PARTITION {
        return Some(format!(
            "S3's account regional namespace is not offered in partition {}",
            account.partition
        ));
    }
    REGIONS_WITHOUT
        .contains(&account.region.as_str())
        .then(|| format!("S3 has no account regional namespace in {}", account.region))
}

/// The suffix only `account` can create names with in its region: `-<id>-<region>-an`.
pub fn suffix(account: &Account) -> String {
    format!("-{}-{}-an", account.id, account.region)
}

/// The default name of earlier versions, in the global namespace.
pub fn global_default(account: &Account) -> String {
    format!("{DEFAULT_PREFIX}-{}-{}", account.id, account.region)
}

/// The default name in the account regional namespace.
pub fn regional_default(account: &Account) -> String {
    format!("{DEFAULT_PREFIX}{}", suffix(account))
}

/// The default name for a new setup: in the account regional namespace where there is one.
/// (A CloudFormation template decides it per account and region with a condition; see
/// `model::template`.)
pub fn default_name(account: &Account) -> String {
    if unavailable(account).is_some() {
        global_default(account)
    } else {
        regional_default(account)
    }
}

/// Whether `account` is a real one (a 12-digit id), not a template's placeholders or the
/// operator policy's `*`.
fn is_concrete(account: &Account) -> bool {
    account.id.len() == 12 && account.id.bytes().all(|b| b.is_ascii_digit())
}

/// The account id and region a name of the account regional form
/// (`<prefix>-<12 digits>-<region>-an`) belongs to; None for any other name.
pub fn regional_owner(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_suffix("-an")?;
    // The region is the tail after the last 12-digit part: letters, then a number
    // (`us-east-1`, `us-gov-west-1`, `ap-southeast-5`).
    let parts: Vec<&str> = rest.split('-').collect();
    let i = parts
        .iter()
        .rposition(|p| p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()))?;
    let region = &parts[i + 1..];
    let region_like = region.len() >= 3
        && region[..region.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && region[region.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !region[region.len() - 1].is_empty();
    if i == 0 || !region_like {
        return None;
    }
    let account_start = parts[..i].iter().map(|p| p.len() + 1).sum::<usize>();
    let account = &rest[account_start..account_start + 12];
    Some((account, &rest[account_start + 13..]))
}

/// The namespace `name` is created in by `account`: the account regional one for a name of
/// that form, the global one otherwise. A name of the regional form that belongs to another
/// account or region, or one in a region without the namespace, is refused: S3 would refuse
/// to create it (usage error, before any write).
pub fn namespace_of(name: &str, account: &Account) -> Result<Namespace> {
    let Some((id, region)) = regional_owner(name) else {
        return Ok(Namespace::Global);
    };
    if !is_concrete(account) {
        return Ok(Namespace::AccountRegional);
    }
    if (id, region) != (account.id.as_str(), account.region.as_str()) {
        return Err(Error::usage(format!(
            "--state-bucket {name}: a name ending -{id}-{region}-an is in the account regional namespace of account {id} in {region}, and only that account can create it there; these credentials are for account {} in {}",
            account.id, account.region
        ))
        .hint(format!(
            "name the bucket <prefix>{} (or leave --state-bucket out for the default), or run with --profile/--region of account {id} in {region}",
            suffix(account)
        )));
    }
    if let Some(why) = unavailable(account) {
        return Err(Error::usage(format!(
            "--state-bucket {name}: {why}, so no bucket name ending -an can be created there"
        ))
        .hint("choose a name without the -an suffix, or leave --state-bucket out"));
    }
    Ok(Namespace::AccountRegional)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(partition: &str, region: &str) -> Account {
        Account {
            id: "123456789012".into(),
            partition: partition.into(),
            region: region.into(),
        }
    }

    #[test]
    fn the_default_is_account_regional_where_the_namespace_exists() {
        let a = account("aws", "eu-west-1");
        assert_eq!(
            default_name(&a),
            "terraform-state-123456789012-eu-west-1-an"
        );
        assert_eq!(global_default(&a), "terraform-state-123456789012-eu-west-1");
        for (partition, region) in [
            ("aws", "me-south-1"),
            ("aws", "me-central-1"),
            ("aws-cn", "cn-north-1"),
            ("aws-us-gov", "us-gov-west-1"),
        ] {
            let a = account(partition, region);
            assert_eq!(default_name(&a), global_default(&a), "{region}");
            assert!(unavailable(&a).unwrap().contains(if partition == "aws" {
                region
            } else {
                partition
            }));
        }
    }

    #[test]
    fn regional_names_are_recognised_by_their_suffix() {
        assert_eq!(
            regional_owner("terraform-state-123456789012-us-east-1-an"),
            Some(("123456789012", "us-east-1"))
        );
        assert_eq!(
            regional_owner("a-b-210987654321-us-gov-west-1-an"),
            Some(("210987654321", "us-gov-west-1"))
        );
        for other in [
            "terraform-state-123456789012-us-east-1",
            "123456789012-us-east-1-an",
            "state-123456789012-east-an",
            "state-12345678901-us-east-1-an",
            "plain-an",
        ] {
            assert_eq!(regional_owner(other), None, "{other}");
        }
    }

    #[test]
    fn a_regional_name_of_another_account_or_region_is_refused() {
        let a = account("aws", "eu-west-1");
        let ns = |n: &str| namespace_of(n, &a);
        assert_eq!(
            ns("tf-123456789012-eu-west-1-an").unwrap(),
            Namespace::AccountRegional
        );
        assert_eq!(ns("tf-state").unwrap(), Namespace::Global);
        for wrong in [
            "tf-210987654321-eu-west-1-an",
            "tf-123456789012-us-east-1-an",
        ] {
            let e = ns(wrong).unwrap_err();
            assert_eq!(e.exit_code(), 64, "{e}");
            assert!(e.message.contains("only that account"), "{e}");
        }
        let bahrain = account("aws", "me-south-1");
        let e = namespace_of("tf-123456789012-me-south-1-an", &bahrain).unwrap_err();
        assert!(e.message.contains("me-south-1"), "{e}");
    }
}
