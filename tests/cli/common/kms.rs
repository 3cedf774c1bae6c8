//! KMS keys and aliases made in moto with the AWS SDK, for the `--kms-key` tests.

use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};

use super::moto::Moto;

/// A key made in `moto`: its id and ARN.
pub struct Key {
    pub id: String,
    pub arn: String,
}

fn client(moto: &Moto, region: &str) -> aws_sdk_kms::Client {
    let conf = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(moto.plain_endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    aws_sdk_kms::Client::from_conf(conf)
}

/// Create a symmetric key in `region` and, when given, the alias `alias/NAME` for it.
pub fn create_key(moto: &Moto, region: &str, alias: Option<&str>) -> Key {
    let kms = client(moto, region);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let meta = kms
            .create_key()
            .description("terraform state")
            .send()
            .await
            .expect("CreateKey")
            .key_metadata
            .expect("key metadata");
        let key = Key {
            id: meta.key_id().to_string(),
            arn: meta.arn().expect("key ARN").to_string(),
        };
        if let Some(alias) = alias {
            kms.create_alias()
                .alias_name(alias)
                .target_key_id(&key.id)
                .send()
                .await
                .expect("CreateAlias");
        }
        key
    })
}
