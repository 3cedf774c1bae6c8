//! The template around its resources: description, metadata, outputs, and the header
//! comment that says what it is and how to deploy it.

use serde_json::{json, Map, Value};

use super::ids::{RoleIds, BUCKET_ID, PROVIDER_ID, TABLE_ID};
use super::yaml::Comments;
use super::{version_stamp, RenderOptions, TEMPLATE_VERSION};

/// The values a deployed stack hands on (read back as the stack's outputs).
fn outputs(roles: &[RoleIds], with_table: bool) -> Map<String, Value> {
    let mut outputs = Map::new();
    for r in roles {
        let description = if roles.len() == 1 {
            "Set as AWS_ROLE_ARN in the Bitbucket repository variables".to_string()
        } else {
            format!(
                "Role {}: set as AWS_ROLE_ARN in the repository or deployment variables of the pipelines that use it",
                r.name
            )
        };
        outputs.insert(
            r.output.clone(),
            json!({
                "Description": description,
                "Value": { "Fn::GetAtt": [r.resource, "Arn"] },
            }),
        );
    }
    outputs.insert(
        "OidcProviderArn".into(),
        json!({ "Description": "The IAM OIDC provider of the issuer", "Value": { "Ref": PROVIDER_ID } }),
    );
    outputs.insert(
        "StateBucketName".into(),
        json!({ "Description": "Terraform backend bucket", "Value": { "Ref": BUCKET_ID } }),
    );
    if with_table {
        outputs.insert(
            "LockTableName".into(),
            json!({ "Description": "Terraform backend dynamodb_table", "Value": { "Ref": TABLE_ID } }),
        );
    }
    outputs.insert(
        "Region".into(),
        json!({ "Description": "Set as AWS_REGION in Bitbucket", "Value": { "Ref": "AWS::Region" } }),
    );
    outputs.insert(
        "TemplateVersion".into(),
        json!({ "Description": "Layout version of this template, for bootstrap", "Value": version_stamp() }),
    );
    outputs
}

/// The whole template document around `resources`.
pub(super) fn body(
    issuer_url: &str,
    set: &str,
    conditions: Option<Map<String, Value>>,
    resources: Map<String, Value>,
    roles: &[RoleIds],
    opts: RenderOptions,
    c: &mut Comments,
) -> Value {
    let description = if opts.stackset {
        "Bitbucket Pipelines OpenID Connect: IAM OIDC provider, deployment role and Terraform state (bootstrap, StackSet)"
    } else {
        "Bitbucket Pipelines OpenID Connect: IAM OIDC provider, deployment role and Terraform state (bootstrap)"
    };
    let outputs = outputs(roles, resources.contains_key(TABLE_ID));
    c.add(
        &["Metadata", "bootstrap"],
        "Recognised by bootstrap: do not remove.",
    );
    let mut doc = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": description,
        "Metadata": {
            "bootstrap": {
                "template-version": TEMPLATE_VERSION,
                "set": set,
                "issuer": issuer_url,
            }
        },
    });
    if let Some(conditions) = conditions {
        doc["Conditions"] = Value::Object(conditions);
    }
    doc["Resources"] = Value::Object(resources);
    doc["Outputs"] = Value::Object(outputs);
    doc
}

/// The comment lines at the top of the YAML template.
pub(super) fn header(opts: RenderOptions) -> Vec<String> {
    let mut header = vec![
        format!(
            "Bitbucket Pipelines -> AWS through OpenID Connect. Rendered by bootstrap {}.",
            env!("CARGO_PKG_VERSION")
        ),
        String::new(),
        "The same settings as `bootstrap init --mode direct`, from the same code: the".into(),
        "policies below are the documents direct mode writes. Account, region and partition".into(),
        "come from pseudo-parameters, so the template works in any account.".into(),
        String::new(),
    ];
    if opts.stackset {
        header.extend([
            "For a StackSet: deploy it to one region per account (IAM is global to an".to_string(),
            "account); each account gets its own bucket, terraform-state-ACCOUNT-REGION-an in"
                .into(),
            "its account regional namespace (terraform-state-ACCOUNT-REGION where the region"
                .into(),
            "has none).".into(),
            "  bootstrap init --mode cloudformation --stackset NAME --accounts ... --regions ..."
                .into(),
        ]);
    } else {
        header.extend([
            "Deploy: bootstrap init --mode cloudformation".to_string(),
            "    or: aws cloudformation deploy --template-file FILE --stack-name NAME \\".into(),
            "          --capabilities CAPABILITY_NAMED_IAM".into(),
        ]);
    }
    header
}
