//! The logical ids of the template's resources: what `Ref` and `Fn::GetAtt` name, and what a
//! deployed stack's resources are matched by.

pub const PROVIDER_ID: &str = "OidcProvider";
pub const ROLE_ID: &str = "DeployRole";
pub const BUCKET_ID: &str = "StateBucket";
pub const BUCKET_POLICY_ID: &str = "StateBucketPolicy";
pub const TABLE_ID: &str = "LockTable";
