//! diff(desired, observed) -> Plan. The whole plan, with every concrete operation, is
//! computed before the first write; printing it never touches AWS.

pub mod bucket;
pub mod checks;
pub mod compare;
pub mod destroy;
pub mod destroy_stack;
pub mod iam;
pub mod mode;
pub mod ownership;
pub mod policy_diff;
pub mod shared;
pub mod stack;
pub mod stack_foreign;
pub mod stack_notes;
pub mod stack_owner;
pub mod stack_roles;
pub mod stackset;
pub mod state_moves;
mod table;
pub mod verdicts;

pub use table::table as table_plan;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::model::admin::AdminStatement;
use crate::model::bucket::{Encryption, LifecycleRule};
use crate::model::namespace::Namespace;
use crate::model::DesiredState;
use crate::observe::Observed;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Unchanged,
}

/// One field that differs: what AWS has and what it should be. A policy document's change
/// also carries both documents and their line diff ([`policy_diff::PolicyChange`]); in JSON
/// its `from` and `to` are then the documents themselves, beside the `diff` (the JSON and the
/// text of a change are `report`'s: `report::values`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub from: FieldValue,
    pub to: FieldValue,
    pub document: Option<Box<policy_diff::PolicyChange>>,
}

/// A field's value in the plan, as a value: how it reads (in the text and in the JSON
/// document alike) is `report`'s (`report::values`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// Nothing: the `from` of a field set when the resource is created.
    Unset,
    /// A value that is its own words (a name, a number, a state).
    Text(String),
    /// A list of names (none at all reads `(none)`).
    List(Vec<String>),
    /// Tags (none at all reads `(none)`).
    Tags(BTreeMap<String, String>),
    /// Tags passed in the create call itself.
    TagsOnCreate(BTreeMap<String, String>),
    /// Nothing there (where an existing resource lacks the setting).
    Absent,
    /// A bucket's versioning, never turned on (S3 reports no status).
    NeverEnabled,
    /// What a change deletes (an inline policy the tool did not write).
    Deleted,
    /// What a change detaches (a managed policy not configured).
    Detached,
    /// A bucket's default encryption (`None`: none).
    Encryption(Option<Encryption>),
    /// A bucket's public access block, its four flags in the order of
    /// [`PUBLIC_ACCESS_BLOCK`] (`None`: the bucket has none).
    PublicAccessBlock(Option<[bool; 4]>),
    /// A new bucket's object ownership: `BucketOwnerEnforced`, which disables ACLs.
    AclsDisabled,
    /// A new bucket's policy: requests without TLS are denied.
    TlsOnly,
    /// The tool's lifecycle rule on a bucket (`None`: the bucket has no such rule).
    Lifecycle(Option<LifecycleRule>),
    /// A new bucket's retention: noncurrent versions expire, incomplete uploads are
    /// aborted, after so many days each.
    Retention {
        noncurrent_days: i32,
        abort_days: i32,
    },
    /// The namespace a new bucket is created in, and why when a default name could not use
    /// the account regional one.
    Namespace(Namespace, Option<String>),
    /// A policy document, shown by its diff.
    Document,
    /// A resource the tool did not create, adopted: the tags it gets.
    Adopted(BTreeMap<String, String>),
    /// An inline policy the tool did not write, and its administrator-equivalent statement.
    Foreign(Option<AdminStatement>),
    /// A managed policy attached, administrator-equivalent by this statement.
    AttachedAdmin(AdminStatement),
}

/// The four flags of a bucket's public access block, in the order AWS lists them.
pub const PUBLIC_ACCESS_BLOCK: [&str; 4] = [
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
];

impl FieldValue {
    /// Whether there was nothing before (the field is set, not changed).
    pub fn is_unset(&self) -> bool {
        *self == FieldValue::Unset
    }
}

impl From<&str> for FieldValue {
    /// A word as it stands; the empty string is [`FieldValue::Unset`].
    fn from(s: &str) -> FieldValue {
        if s.is_empty() {
            FieldValue::Unset
        } else {
            FieldValue::Text(s.to_string())
        }
    }
}

impl From<String> for FieldValue {
    fn from(s: String) -> FieldValue {
        FieldValue::from(s.as_str())
    }
}

impl From<&String> for FieldValue {
    fn from(s: &String) -> FieldValue {
        FieldValue::from(s.as_str())
    }
}

impl FieldChange {
    pub fn new(field: &str, from: impl Into<FieldValue>, to: impl Into<FieldValue>) -> FieldChange {
        FieldChange {
            field: field.to_string(),
            from: from.into(),
            to: to.into(),
            document: None,
        }
    }

    /// A policy document's change (`from` None: it is created); `from`/`to` hold short
    /// summaries for one-line uses.
    pub fn document(field: &str, from: Option<&Value>, to: &Value) -> FieldChange {
        let change = policy_diff::PolicyChange::new(from, to);
        FieldChange {
            field: field.to_string(),
            from: if from.is_some() {
                FieldValue::Document
            } else {
                FieldValue::Unset
            },
            to: FieldValue::Document,
            document: Some(Box::new(change)),
        }
    }
}

/// A mutating AWS call the apply step makes. Each carries everything it needs.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    CreateProvider,
    AddClientId {
        client_id: String,
    },
    UpdateThumbprints {
        thumbprints: Vec<String>,
    },
    /// Adopting a provider the tool did not create: add its tags.
    TagProvider {
        tags: std::collections::BTreeMap<String, String>,
    },
    CreateRole,
    UpdateTrustPolicy,
    PutInlinePolicy,
    /// An inline policy the tool did not write.
    DeleteInlinePolicy {
        name: String,
    },
    /// Adopting a role the tool did not create, or a managed role's own tags
    /// (`bootstrap-set`, `bootstrap-state-prefix`): add or overwrite these tags.
    TagRole {
        tags: std::collections::BTreeMap<String, String>,
    },
    /// A managed role's own tag the desired role no longer carries.
    UntagRole {
        keys: Vec<String>,
    },
    AttachPolicy {
        arn: String,
    },
    DetachPolicy {
        arn: String,
    },
    UpdateMaxSessionDuration,
    PutPermissionsBoundary,
    DeletePermissionsBoundary,
    CreateBucket,
    PutVersioning,
    PutEncryption,
    PutPublicAccessBlock,
    PutOwnershipControls,
    PutBucketPolicy {
        #[serde(skip)]
        document: Value,
    },
    PutLifecycle {
        #[serde(skip)]
        keep: Vec<aws_sdk_s3::types::LifecycleRule>,
    },
    /// The bucket's whole tag set: the desired tags merged over the ones it has.
    PutBucketTagging {
        tags: std::collections::BTreeMap<String, String>,
    },
    CreateTable,
    EnableTableSettings {
        on_demand: bool,
        sse: bool,
        deletion_protection: bool,
    },
    EnablePointInTimeRecovery,
    /// Adopting a table the tool did not create: add its tags.
    TagTable {
        tags: std::collections::BTreeMap<String, String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    OidcProvider,
    Role,
    StateBucket,
    LockTable,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::OidcProvider => "oidc provider",
            Kind::Role => "role",
            Kind::StateBucket => "state bucket",
            Kind::LockTable => "lock table",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourcePlan {
    pub kind: Kind,
    pub name: String,
    pub action: Action,
    /// The resource exists but was not created by the tool (no `managed-by=bootstrap` tag):
    /// applying the plan adopts it.
    pub adopt: bool,
    pub changes: Vec<FieldChange>,
    pub ops: Vec<Op>,
}

impl ResourcePlan {
    fn new(kind: Kind, name: &str, exists: bool, changes: Vec<FieldChange>, ops: Vec<Op>) -> Self {
        let action = if !exists {
            Action::Create
        } else if ops.is_empty() {
            Action::Unchanged
        } else {
            Action::Update
        };
        ResourcePlan {
            kind,
            name: name.to_string(),
            action,
            adopt: false,
            changes,
            ops,
        }
    }

    /// Mark an existing resource without the tool's tags as adopted: the plan says so and
    /// applying it adds `tags`.
    fn adopting(mut self, tags: std::collections::BTreeMap<String, String>, op: Op) -> Self {
        self.changes.insert(0, ownership::adoption_change(&tags));
        self.ops.push(op);
        self.adopt = true;
        self.action = Action::Update;
        self
    }
}

/// The changes and the operations that make them, in plan order, while a resource is diffed.
#[derive(Default)]
struct Diff {
    changes: Vec<FieldChange>,
    ops: Vec<Op>,
}

impl Diff {
    fn add(&mut self, change: FieldChange, op: Op) {
        self.changes.push(change);
        self.ops.push(op);
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub resources: Vec<ResourcePlan>,
    /// What the user should know about the plan: a shared resource another set configures,
    /// whose settings stand.
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// What the roles' trust policies, live or planned, let in beyond the settings.
    pub verdicts: Vec<verdicts::TrustVerdict>,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.resources.iter().any(|r| r.action != Action::Unchanged)
    }

    /// Whether there is anything to change or a trust policy to flag: what
    /// `--detailed-exitcode` answers 2 for.
    pub fn needs_attention(&self) -> bool {
        self.has_changes() || !self.verdicts.is_empty()
    }

    pub fn get(&self, kind: Kind) -> Option<&ResourcePlan> {
        self.resources.iter().find(|r| r.kind == kind)
    }

    /// The plan of the role named `name`.
    pub fn role(&self, name: &str) -> Option<&ResourcePlan> {
        self.resources
            .iter()
            .find(|r| r.kind == Kind::Role && r.name == name)
    }
}

/// Compute the plan. Fails (before any write) when live state cannot be converged safely,
/// e.g. a lock table with the wrong key schema.
pub fn diff(desired: &DesiredState, observed: &Observed) -> Result<Plan> {
    let mut resources = vec![iam::provider(&desired.provider, observed.provider.as_ref())];
    for (i, role) in desired.roles.iter().enumerate() {
        let found = observed.roles.get(i).and_then(Option::as_ref);
        resources.push(iam::role(role, found)?);
    }
    let (bucket, warnings) =
        shared::bucket_as_configured(&desired.bucket, observed.bucket.as_ref());
    resources.push(bucket::bucket(&bucket, observed.bucket.as_ref())?);
    if let Some(t) = &desired.table {
        resources.push(table::table(t, observed.table.as_ref())?);
    }
    Ok(Plan {
        resources,
        warnings,
        verdicts: verdicts::trust_verdicts(desired, observed),
    })
}

/// A list of names as a plan value.
pub fn names(items: &[String]) -> FieldValue {
    FieldValue::List(items.to_vec())
}
