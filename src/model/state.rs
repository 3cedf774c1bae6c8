//! Where Terraform's S3 backend keeps things in the state bucket: the default workspace's
//! state, the other workspaces' states and the lock files. The generated backend block and
//! the role's state policy both follow this one layout, and both modes write the bucket's
//! one lifecycle rule.

/// The id of the bucket's lifecycle rule the tool owns (both modes).
pub const LIFECYCLE_RULE_ID: &str = "bootstrap-state-retention";
/// Incomplete multipart uploads are aborted after this many days.
pub const ABORT_MULTIPART_DAYS: i32 = 7;

pub use crate::config::STATE_PREFIX_TAG;

/// The state file of the default workspace, under the key prefix.
pub const STATE_FILE: &str = "terraform.tfstate";
/// Terraform's own workspace key prefix (the backend's `workspace_key_prefix` default).
pub const WORKSPACE_DIR: &str = "env:";
/// What `use_lockfile` appends to a state key for its lock object.
pub const LOCK_SUFFIX: &str = ".tflock";

fn under(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// The default workspace's state key: `<prefix>/terraform.tfstate`.
pub fn state_key(prefix: &str) -> String {
    under(prefix, STATE_FILE)
}

/// The backend's `workspace_key_prefix`: `<prefix>/env:`, so that `terraform workspace new`
/// keeps the other workspaces' states (`<prefix>/env:/<workspace>/<key>`) under the prefix
/// the role may write (Terraform's default, `env:`, is at the top of the bucket).
pub fn workspace_key_prefix(prefix: &str) -> String {
    under(prefix, WORKSPACE_DIR)
}

/// The lock objects `use_lockfile` writes and deletes, as one ARN pattern under `bucket_arn`.
pub fn lock_object_arn(bucket_arn: &str, prefix: &str) -> String {
    format!("{bucket_arn}/{}", under(prefix, &format!("*{LOCK_SUFFIX}")))
}

/// The objects Terraform deletes, as ARNs under `bucket_arn`: lock files anywhere under the
/// prefix (`terraform force-unlock` and every unlock) and the states of non-default
/// workspaces (`terraform workspace delete`). The default workspace's state is never
/// deleted by Terraform.
pub fn deleted_object_arns(bucket_arn: &str, prefix: &str) -> Vec<String> {
    vec![
        lock_object_arn(bucket_arn, prefix),
        format!("{bucket_arn}/{}/*", workspace_key_prefix(prefix)),
    ]
}

/// The `LockID`s Terraform's DynamoDB locking writes for the states under `prefix` in
/// `bucket`, as `dynamodb:LeadingKeys` patterns: `<bucket>/<key>` for each lock and
/// `<bucket>/<key>-md5` for each state's digest. Under a prefix, everything below it; at the
/// top of the bucket, the default workspace's two items and the other workspaces'.
pub fn lock_item_ids(bucket: &str, prefix: &str) -> Vec<String> {
    if prefix.is_empty() {
        let state = state_key(prefix);
        vec![
            format!("{bucket}/{state}"),
            format!("{bucket}/{state}-md5"),
            format!("{bucket}/{}/*", workspace_key_prefix(prefix)),
        ]
    } else {
        vec![format!("{bucket}/{prefix}/*")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspaces_and_locks_stay_under_the_prefix() {
        assert_eq!(state_key(""), "terraform.tfstate");
        assert_eq!(state_key("team/app"), "team/app/terraform.tfstate");
        assert_eq!(workspace_key_prefix(""), "env:");
        assert_eq!(workspace_key_prefix("team/app"), "team/app/env:");
        assert_eq!(
            deleted_object_arns("arn:aws:s3:::b", "team"),
            ["arn:aws:s3:::b/team/*.tflock", "arn:aws:s3:::b/team/env:/*"]
        );
        assert_eq!(
            deleted_object_arns("arn:aws:s3:::b", ""),
            ["arn:aws:s3:::b/*.tflock", "arn:aws:s3:::b/env:/*"]
        );
    }
}
