//! Every ARN the tool names is built here: `arn:<partition>:<service>:<region>:<account>:<resource>`.
//! The parts are plain strings, so a CloudFormation template can pass its pseudo parameters
//! (`${AWS::Partition}`, `${AWS::AccountId}`) where direct mode passes values.

/// An ARN from its parts (an empty region or account for global services).
pub fn arn(partition: &str, service: &str, region: &str, account: &str, resource: &str) -> String {
    format!("arn:{partition}:{service}:{region}:{account}:{resource}")
}

/// An IAM OIDC identity provider: `oidc-provider/<issuer host/path>`.
pub fn provider(partition: &str, account: &str, issuer_host_path: &str) -> String {
    iam(
        partition,
        account,
        &format!("oidc-provider/{issuer_host_path}"),
    )
}

/// An IAM role.
pub fn role(partition: &str, account: &str, name: &str) -> String {
    iam(partition, account, &format!("role/{name}"))
}

/// A managed policy; `account` is `aws` for AWS managed policies. An empty name gives the
/// prefix every policy of that account starts with.
pub fn policy(partition: &str, account: &str, name: &str) -> String {
    iam(partition, account, &format!("policy/{name}"))
}

/// Any IAM resource of `account`.
pub fn iam(partition: &str, account: &str, resource: &str) -> String {
    arn(partition, "iam", "", account, resource)
}

/// An S3 bucket.
pub fn bucket(partition: &str, name: &str) -> String {
    arn(partition, "s3", "", "", name)
}

/// The objects of a bucket under a key prefix (the whole bucket when it is empty).
pub fn objects(bucket_arn: &str, key_prefix: &str) -> String {
    if key_prefix.is_empty() {
        format!("{bucket_arn}/*")
    } else {
        format!("{bucket_arn}/{key_prefix}/*")
    }
}

/// A DynamoDB table.
pub fn table(partition: &str, region: &str, account: &str, name: &str) -> String {
    arn(
        partition,
        "dynamodb",
        region,
        account,
        &format!("table/{name}"),
    )
}

/// A KMS resource: `key/<id>`, `alias/<name>`, `key/*`.
pub fn kms(partition: &str, region: &str, account: &str, resource: &str) -> String {
    arn(partition, "kms", region, account, resource)
}

/// A KMS key by its id.
pub fn key(partition: &str, region: &str, account: &str, key_id: &str) -> String {
    kms(partition, region, account, &format!("key/{key_id}"))
}

/// A CloudFormation resource: `stack/...`, `stackset/...`, `stackset-target/...`, `type/...`.
pub fn cloudformation(partition: &str, region: &str, account: &str, resource: &str) -> String {
    arn(partition, "cloudformation", region, account, resource)
}

/// Every stack named `name` (any stack id).
pub fn stack(partition: &str, region: &str, account: &str, name: &str) -> String {
    cloudformation(partition, region, account, &format!("stack/{name}/*"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_arn() {
        assert_eq!(
            provider("aws", "123456789012", "issuer.example/oidc"),
            "arn:aws:iam::123456789012:oidc-provider/issuer.example/oidc"
        );
        assert_eq!(
            role("aws-cn", "1", "deploy"),
            "arn:aws-cn:iam::1:role/deploy"
        );
        assert_eq!(policy("aws", "aws", ""), "arn:aws:iam::aws:policy/");
        assert_eq!(bucket("aws", "state"), "arn:aws:s3:::state");
        assert_eq!(objects("arn:aws:s3:::state", ""), "arn:aws:s3:::state/*");
        assert_eq!(
            objects("arn:aws:s3:::state", "team"),
            "arn:aws:s3:::state/team/*"
        );
        assert_eq!(
            table("aws", "eu-west-1", "1", "locks"),
            "arn:aws:dynamodb:eu-west-1:1:table/locks"
        );
        assert_eq!(
            key("aws", "eu-west-1", "1", "k"),
            "arn:aws:kms:eu-west-1:1:key/k"
        );
        assert_eq!(
            stack("aws", "eu-west-1", "1", "s"),
            "arn:aws:cloudformation:eu-west-1:1:stack/s/*"
        );
        assert_eq!(
            cloudformation("aws", "*", "", "type/resource/*"),
            "arn:aws:cloudformation:*::type/resource/*"
        );
    }
}
