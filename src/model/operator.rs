//! The operator policy: the least-privilege IAM permissions policy for the person or CI role
//! that runs `bootstrap` with a given set of settings and mode.
//!
//! It is built from the same [`DesiredState`] as everything else, so every resource it names
//! is the one `init` converges: the roles, the OIDC provider, the state bucket and lock table,
//! the KMS key, the CloudFormation stack or StackSet. Only actions IAM cannot scope to a
//! resource (`iam:ListOpenIDConnectProviders`, `iam:ListRoles`, and for many roles
//! `iam:GetAccountAuthorizationDetails`) get `Resource: "*"`, and all only read;
//! `iam:ListRoleTags` and `iam:GetRolePolicy` (reads) are on every role, to tell this set's
//! roles from the others and where the others keep their state.
//!
//! Privilege escalation is closed the usual way: role-writing actions name the roles;
//! `iam:CreateRole` and `iam:PutRolePermissionsBoundary` require the configured permissions
//! boundary (`iam:PermissionsBoundary`), and removing a boundary is not granted then;
//! `iam:AttachRolePolicy` is limited to the configured managed policies (`iam:PolicyARN`).
//! Deleting roles that are not configured (`init --prune`) is granted only on roles tagged
//! `managed-by=bootstrap` and with this configuration's `bootstrap-set`.
//!
//! In CloudFormation mode, CloudFormation creates the resources with the caller's own
//! permissions (no service role is passed), so the resource statements are needed there too.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{arn, DesiredRole, DesiredState, MANAGED_BY_TAG, SET_TAG};

/// How `bootstrap` deploys: the API calls differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deployment {
    Direct,
    /// One CloudFormation stack of this name.
    Stack(String),
    /// A StackSet of this name; `self_managed` when it targets accounts (the default
    /// administration role is passed), false for organizational units.
    StackSet {
        name: String,
        self_managed: bool,
    },
}

/// Which commands the policy covers besides `plan`, `init`, `status`, `render` and `verify`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scope {
    /// `destroy`: delete the roles and the provider (or the stack).
    pub destroy: bool,
    /// `destroy --delete-state`: delete the empty bucket and the lock table too.
    pub delete_state: bool,
    /// `init --prune`: delete roles of this set that are no longer configured.
    pub prune: bool,
}

/// The name of the role CloudFormation assumes in the administrator account for a StackSet
/// with self-managed permissions, when none is given.
pub const STACKSET_ADMINISTRATION_ROLE: &str = "AWSCloudFormationStackSetAdministrationRole";

fn statement(sid: &str, actions: &[&str], resources: Vec<String>) -> Value {
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": resources,
    })
}

/// Role ARNs grouped by permissions boundary (None = no boundary).
fn by_boundary(roles: &[DesiredRole]) -> BTreeMap<Option<String>, Vec<String>> {
    let mut groups: BTreeMap<Option<String>, Vec<String>> = BTreeMap::new();
    for r in roles {
        groups
            .entry(r.permissions_boundary.clone())
            .or_default()
            .push(r.arn.clone());
    }
    groups
}

/// A Sid-safe suffix for the n-th statement of a kind.
fn numbered(base: &str, n: usize, total: usize) -> String {
    if total > 1 {
        format!("{base}{}", n + 1)
    } else {
        base.to_string()
    }
}

/// The statements for the roles: read, create (under the boundary), write, attach.
fn role_statements(d: &DesiredState, roles: &[DesiredRole], scope: Scope) -> Vec<Value> {
    let arns: Vec<String> = roles.iter().map(|r| r.arn.clone()).collect();
    let read = vec![
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
        // A role to adopt is refused when EC2 instance profiles hold it.
        "iam:ListInstanceProfilesForRole",
    ];
    let mut write = vec![
        "iam:TagRole",
        "iam:UntagRole",
        "iam:UpdateRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:DetachRolePolicy",
    ];
    if scope.destroy {
        write.push("iam:DeleteRole");
    }
    let mut out = vec![
        statement("ReadRoles", &read, arns.clone()),
        statement("WriteRoles", &write, arns),
    ];
    let groups = by_boundary(roles);
    let total = groups.len();
    for (n, (boundary, arns)) in groups.into_iter().enumerate() {
        match boundary {
            Some(b) => {
                let mut s = statement(
                    &numbered("CreateRolesWithBoundary", n, total),
                    &["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
                    arns,
                );
                s["Condition"] = json!({ "StringEquals": { "iam:PermissionsBoundary": b } });
                out.push(s);
            }
            None => out.push(statement(
                &numbered("CreateRoles", n, total),
                &["iam:CreateRole", "iam:DeleteRolePermissionsBoundary"],
                arns,
            )),
        }
    }
    out.extend(attach_statements(roles));
    out.extend(discovery_statements(d));
    if scope.prune {
        out.push(prune_statement(d));
    }
    out.push(read_policies_statement(d, roles));
    out
}

/// `iam:AttachRolePolicy`, limited by `iam:PolicyARN` to the role's own managed policies
/// (a `plan` role's include `ReadOnlyAccess`); roles with the same policies share one
/// statement, so a role can never be given another role's policy.
fn attach_statements(roles: &[DesiredRole]) -> Vec<Value> {
    let mut groups: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for r in roles.iter().filter(|r| !r.managed_policies.is_empty()) {
        let mut policies = r.managed_policies.clone();
        policies.sort();
        policies.dedup();
        groups.entry(policies).or_default().push(r.arn.clone());
    }
    let total = groups.len();
    groups
        .into_iter()
        .enumerate()
        .map(|(n, (policies, arns))| {
            let mut s = statement(
                &numbered("AttachConfiguredPolicies", n, total),
                &["iam:AttachRolePolicy"],
                arns,
            );
            s["Condition"] = json!({ "ArnEquals": { "iam:PolicyARN": policies } });
            s
        })
        .collect()
}

/// From this many configured roles on, `plan`, `init` and `status` read the roles with two
/// account-wide listings instead of four calls per role.
pub const BULK_READ_MIN_ROLES: usize = 10;

/// Every role in the account (`iam:ListRoles`, which IAM cannot scope; with many roles also
/// `iam:GetAccountAuthorizationDetails`, the same) and their tags and state policies
/// (`iam:ListRoleTags`, `iam:GetRolePolicy`, reads only): how `plan` and `status` find the
/// roles of this set that are no longer configured and where other sets keep their state, and
/// how `destroy` finds the roles still trusting the provider.
fn discovery_statements(d: &DesiredState) -> Vec<Value> {
    let a = &d.account;
    let list: &[&str] = if d.roles.len() >= BULK_READ_MIN_ROLES {
        &["iam:ListRoles", "iam:GetAccountAuthorizationDetails"]
    } else {
        &["iam:ListRoles"]
    };
    vec![
        statement("FindRoles", list, vec!["*".into()]),
        statement(
            "ReadRoleTags",
            &["iam:ListRoleTags", "iam:GetRolePolicy"],
            vec![arn::role(&a.partition, &a.id, "*")],
        ),
    ]
}

/// `init --prune`: delete a role of this set no longer configured, its inline policies and
/// attached policies first; only roles tagged `managed-by=bootstrap` and with this set's
/// `bootstrap-set` tag, so another team's roles and hand-made ones stay out of reach.
fn prune_statement(d: &DesiredState) -> Value {
    let a = &d.account;
    let mut s = statement(
        "PruneRolesOfThisSet",
        &[
            "iam:GetRole",
            "iam:GetRolePolicy",
            "iam:ListRolePolicies",
            "iam:ListAttachedRolePolicies",
            "iam:ListInstanceProfilesForRole",
            "iam:DeleteRolePolicy",
            "iam:DetachRolePolicy",
            "iam:DeleteRole",
        ],
        vec![arn::role(&a.partition, &a.id, "*")],
    );
    let (managed_key, managed_value) = MANAGED_BY_TAG;
    s["Condition"] = json!({ "StringEquals": {
        format!("iam:ResourceTag/{SET_TAG}"): d.set,
        format!("iam:ResourceTag/{managed_key}"): managed_value,
    } });
    s
}

/// `iam:GetPolicy` and `iam:GetPolicyVersion`, reads only: the configured managed policies
/// and the boundary are read before anything is written (a policy granting `*` on `*` needs
/// --allow-admin; the boundary must exist), and so is every managed policy found attached to
/// a role, whoever attached it (an adopted role's policies are judged too). So the grant is
/// on the AWS managed policies and the account's own, plus any configured one elsewhere.
fn read_policies_statement(d: &DesiredState, roles: &[DesiredRole]) -> Value {
    let a = &d.account;
    let wide = [
        arn::policy(&a.partition, "aws", ""),
        arn::policy(&a.partition, &a.id, ""),
    ];
    let mut policies: Vec<String> = roles
        .iter()
        .flat_map(|r| {
            r.managed_policies
                .iter()
                .chain(r.permissions_boundary.iter())
        })
        .filter(|arn| !wide.iter().any(|prefix| arn.starts_with(prefix.as_str())))
        .cloned()
        .collect();
    policies.sort();
    policies.dedup();
    let mut resources: Vec<String> = wide.iter().map(|prefix| format!("{prefix}*")).collect();
    resources.extend(policies);
    statement(
        "ReadPolicies",
        &["iam:GetPolicy", "iam:GetPolicyVersion"],
        resources,
    )
}

/// The provider, bucket, table and KMS key: what `init` reads and converges (and what
/// CloudFormation writes with the caller's permissions in CloudFormation mode).
fn resource_statements(
    d: &DesiredState,
    roles: &[DesiredRole],
    scope: Scope,
    stack: bool,
) -> Vec<Value> {
    let mut out = vec![statement(
        "FindOidcProvider",
        &["iam:ListOpenIDConnectProviders"],
        vec!["*".into()],
    )];
    let mut provider = vec![
        "iam:GetOpenIDConnectProvider",
        "iam:CreateOpenIDConnectProvider",
        "iam:TagOpenIDConnectProvider",
        "iam:UpdateOpenIDConnectProviderThumbprint",
        "iam:AddClientIDToOpenIDConnectProvider",
    ];
    if scope.destroy {
        provider.push("iam:DeleteOpenIDConnectProvider");
    }
    out.push(statement(
        "OidcProvider",
        &provider,
        vec![d.provider.arn.clone()],
    ));
    out.extend(role_statements(d, roles, scope));

    let mut bucket = vec![
        "s3:ListBucket",
        "s3:CreateBucket",
        "s3:GetBucketVersioning",
        "s3:PutBucketVersioning",
        "s3:GetEncryptionConfiguration",
        "s3:PutEncryptionConfiguration",
        "s3:GetBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
        "s3:GetBucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
        "s3:GetBucketPolicy",
        "s3:PutBucketPolicy",
        "s3:GetLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
        "s3:GetBucketTagging",
        "s3:PutBucketTagging",
        // CreateBucket with its tags (CreateBucketConfiguration.Tags).
        "s3:TagResource",
    ];
    if scope.delete_state {
        bucket.extend(["s3:ListBucketVersions", "s3:DeleteBucket"]);
    }
    if stack && scope.destroy {
        // Deleting the stack deletes its bucket policy resource (the bucket is retained).
        bucket.push("s3:DeleteBucketPolicy");
    }
    // The default name of earlier versions is looked for (HeadBucket) and kept when found.
    let mut buckets = vec![d.bucket.arn.clone()];
    buckets.extend(
        d.bucket
            .global_default
            .as_deref()
            .map(|name| arn::bucket(&d.account.partition, name)),
    );
    out.push(statement("StateBucket", &bucket, buckets));

    if let Some(t) = &d.table {
        let mut table = vec![
            "dynamodb:DescribeTable",
            "dynamodb:CreateTable",
            "dynamodb:UpdateTable",
            "dynamodb:DescribeContinuousBackups",
            "dynamodb:UpdateContinuousBackups",
            "dynamodb:TagResource",
            "dynamodb:ListTagsOfResource",
        ];
        if scope.delete_state {
            table.extend(["dynamodb:Scan", "dynamodb:DeleteTable"]);
        }
        out.push(statement("LockTable", &table, vec![t.arn.clone()]));
    }
    if let Some(key) = &d.bucket.kms_key {
        out.push(kms_statement(d, key));
    }
    out
}

/// `kms:DescribeKey` on the state key: a key ARN as it is, a key id made into one; an alias
/// is authorised on the key it names, so the grant is on the account's keys requested
/// through that alias (`kms:RequestAlias`).
fn kms_statement(d: &DesiredState, key: &str) -> Value {
    let a = &d.account;
    let keys = |resource: &str| arn::kms(&a.partition, &a.region, &a.id, resource);
    let alias = key
        .split_once(":alias/")
        .map(|(_, name)| format!("alias/{name}"))
        .or_else(|| key.starts_with("alias/").then(|| key.to_string()));
    match alias {
        Some(alias) => {
            let mut s = statement(
                "DescribeStateKey",
                &["kms:DescribeKey"],
                vec![keys("key/*")],
            );
            s["Condition"] = json!({ "StringEquals": { "kms:RequestAlias": alias } });
            s
        }
        None if key.starts_with("arn:") => statement(
            "DescribeStateKey",
            &["kms:DescribeKey"],
            vec![key.to_string()],
        ),
        None => statement(
            "DescribeStateKey",
            &["kms:DescribeKey"],
            vec![keys(&format!("key/{key}"))],
        ),
    }
}

fn stack_statement(d: &DesiredState, name: &str) -> Value {
    let a = &d.account;
    let actions = [
        "cloudformation:DescribeStacks",
        "cloudformation:DescribeStackEvents",
        "cloudformation:DescribeStackResources",
        "cloudformation:GetTemplate",
        // A stack a change set started (REVIEW_IN_PROGRESS) is judged by that change set's
        // template: whose stack it is.
        "cloudformation:ListChangeSets",
        "cloudformation:CreateStack",
        "cloudformation:CreateChangeSet",
        "cloudformation:DescribeChangeSet",
        "cloudformation:ExecuteChangeSet",
        "cloudformation:DeleteChangeSet",
        "cloudformation:UpdateTerminationProtection",
        "cloudformation:ContinueUpdateRollback",
        // A first create that failed leaves ROLLBACK_COMPLETE, which must be deleted before
        // the stack can be created again; destroy deletes the stack.
        "cloudformation:DeleteStack",
    ];
    statement(
        "Stack",
        &actions,
        vec![arn::stack(&a.partition, &a.region, &a.id, name)],
    )
}

fn stackset_statements(d: &DesiredState, name: &str, self_managed: bool) -> Vec<Value> {
    let a = &d.account;
    let cfn = |resource: &str| arn::cloudformation(&a.partition, &a.region, &a.id, resource);
    let mut out = vec![
        statement(
            "StackSet",
            &[
                "cloudformation:DescribeStackSet",
                "cloudformation:DescribeStackSetOperation",
                "cloudformation:ListStackInstances",
                "cloudformation:ListStackSetOperationResults",
                "cloudformation:CreateStackSet",
                "cloudformation:UpdateStackSet",
            ],
            vec![cfn(&format!("stackset/{name}:*"))],
        ),
        statement(
            "StackSetInstances",
            &[
                "cloudformation:CreateStackInstances",
                "cloudformation:UpdateStackInstances",
            ],
            vec![
                cfn(&format!("stackset/{name}:*")),
                arn::cloudformation(
                    &a.partition,
                    "*",
                    &a.id,
                    &format!("stackset-target/{name}:*"),
                ),
                arn::cloudformation(&a.partition, "*", "", "type/resource/*"),
            ],
        ),
    ];
    if self_managed {
        let mut pass = statement(
            "PassStackSetAdministrationRole",
            &["iam:PassRole"],
            vec![arn::role(&a.partition, &a.id, STACKSET_ADMINISTRATION_ROLE)],
        );
        pass["Condition"] =
            json!({ "StringEquals": { "iam:PassedToService": "cloudformation.amazonaws.com" } });
        out.push(pass);
    }
    out
}

/// The operator policy for `roles` (the roles of one configuration, sharing the desired
/// state's provider, bucket and table), deployed as `deployment`, covering `scope`.
pub fn operator_policy(
    d: &DesiredState,
    roles: &[DesiredRole],
    deployment: &Deployment,
    scope: Scope,
) -> Value {
    let scope = Scope {
        destroy: scope.destroy || scope.delete_state,
        ..scope
    };
    let statements = match deployment {
        Deployment::Direct => resource_statements(d, roles, scope, false),
        Deployment::Stack(name) => {
            // destroy --mode cloudformation keeps the bucket and the table (DeletionPolicy).
            // init --prune lets a stack update delete roles the settings no longer have:
            // CloudFormation deletes them with the caller's permissions.
            let kept = Scope {
                delete_state: false,
                ..scope
            };
            let mut s = vec![stack_statement(d, name)];
            s.extend(resource_statements(d, roles, kept, true));
            s
        }
        // The stacks are created in each target account by its execution role.
        Deployment::StackSet { name, self_managed } => stackset_statements(d, name, *self_managed),
    };
    json!({ "Version": "2012-10-17", "Statement": statements })
}
