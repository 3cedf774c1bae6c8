//! One `SdkConfig` from the global flags, the service clients built from it, and a record of
//! every AWS call made (for `-v`, the JSON report and the benchmarks).

pub mod errors;
mod profile;
pub mod retry;
#[cfg(test)]
pub(crate) mod testing;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use serde::Serialize;

use crate::config::AwsSettings;
use crate::error::{Error, Result};

pub use errors::classify;

/// One AWS call, with its start and end relative to the start of the run.
#[derive(Debug, Clone, Serialize)]
pub struct CallRecord {
    pub service: String,
    pub operation: String,
    pub mutating: bool,
    pub start_ms: f64,
    pub end_ms: f64,
    pub ok: bool,
}

/// Whether an operation changes anything. Reads are Get*, List*, Describe*, Head*.
pub fn is_mutating(operation: &str) -> bool {
    !["Get", "List", "Describe", "Head"]
        .iter()
        .any(|p| operation.starts_with(p))
}

#[derive(Debug, Default)]
pub struct CallLog {
    origin: Option<Instant>,
    calls: Mutex<Vec<CallRecord>>,
}

impl CallLog {
    pub fn records(&self) -> Vec<CallRecord> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// `{total, read, mutating, calls: [...]}` for the JSON report.
    pub fn summary(&self) -> serde_json::Value {
        let calls = self.records();
        let mutating = calls.iter().filter(|c| c.mutating).count();
        serde_json::json!({
            "total": calls.len(),
            "read": calls.len() - mutating,
            "mutating": mutating,
            "calls": calls,
        })
    }

    fn elapsed_ms(&self, at: Instant) -> f64 {
        self.origin
            .map_or(0.0, |o| at.duration_since(o).as_secs_f64() * 1000.0)
    }
}

#[derive(Debug, Clone)]
struct CallStart(Instant);
impl Storable for CallStart {
    type Storer = StoreReplace<Self>;
}

#[derive(Debug)]
struct CallRecorder {
    log: Arc<CallLog>,
    verbose: bool,
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "CallRecorder"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(CallStart(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let end = Instant::now();
        let start = cfg.load::<CallStart>().map_or(end, |s| s.0);
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_string(), m.name().to_string()))
            .unwrap_or_default();
        let ok = context.output_or_error().is_some_and(|r| r.is_ok());
        if self.verbose {
            eprintln!(
                "  aws {service}:{operation} {} ({:.0} ms)",
                if ok { "ok" } else { "error" },
                end.duration_since(start).as_secs_f64() * 1000.0
            );
        }
        let record = CallRecord {
            mutating: is_mutating(&operation),
            service,
            operation,
            start_ms: self.log.elapsed_ms(start),
            end_ms: self.log.elapsed_ms(end),
            ok,
        };
        if let Ok(mut calls) = self.log.calls.lock() {
            calls.push(record);
        }
        Ok(())
    }
}

/// The AWS clients for one run, all from one `SdkConfig`.
#[derive(Clone)]
pub struct Aws {
    pub iam: aws_sdk_iam::Client,
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub kms: aws_sdk_kms::Client,
    pub sts: aws_sdk_sts::Client,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub region: String,
    pub calls: Arc<CallLog>,
}

/// Retries are deliberate: standard mode (exponential backoff with jitter, retry quota),
/// five attempts; each attempt and each operation has a time bound.
fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(5))
}

fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(30))
        .operation_attempt_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(120))
        .build()
}

impl Aws {
    pub async fn connect(settings: &AwsSettings, verbose: bool) -> Result<Aws> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(retry_config())
            .timeout_config(timeout_config());
        if let Some(profile) = &settings.profile {
            // The profile's credentials, not whatever the environment holds.
            let credentials = profile::credentials(profile, settings.region.as_deref()).await?;
            loader = loader
                .profile_name(profile)
                .credentials_provider(credentials);
        }
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &settings.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk = loader.load().await;
        let region = sdk.region().map(ToString::to_string).ok_or_else(|| {
            Error::usage("no AWS region configured")
                .hint("pass --region REGION, set AWS_REGION, or set a region in your AWS profile")
        })?;
        crate::config::validate::region(&region)?;
        let log = Arc::new(CallLog {
            origin: Some(Instant::now()),
            calls: Mutex::new(Vec::new()),
        });
        let recorder = || CallRecorder {
            log: log.clone(),
            verbose,
        };
        let iam = aws_sdk_iam::config::Builder::from(&sdk)
            .interceptor(recorder())
            .build();
        let s3 = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(settings.endpoint_url.is_some())
            .interceptor(recorder())
            .build();
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(recorder())
            .build();
        let kms = aws_sdk_kms::config::Builder::from(&sdk)
            .interceptor(recorder())
            .build();
        let sts = aws_sdk_sts::config::Builder::from(&sdk)
            .interceptor(recorder())
            .build();
        let cloudformation = aws_sdk_cloudformation::config::Builder::from(&sdk)
            .interceptor(recorder())
            .build();
        Ok(Aws {
            iam: aws_sdk_iam::Client::from_conf(iam),
            s3: aws_sdk_s3::Client::from_conf(s3),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb),
            kms: aws_sdk_kms::Client::from_conf(kms),
            sts: aws_sdk_sts::Client::from_conf(sts),
            cloudformation: aws_sdk_cloudformation::Client::from_conf(cloudformation),
            region,
            calls: log,
        })
    }
}

/// The partition of a region: aws, aws-cn or aws-us-gov.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions() {
        assert_eq!(partition("eu-west-1"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }

    #[test]
    fn read_and_write_operations() {
        for op in [
            "GetRole",
            "ListAttachedRolePolicies",
            "DescribeTable",
            "HeadBucket",
        ] {
            assert!(!is_mutating(op), "{op}");
        }
        for op in [
            "CreateRole",
            "PutBucketPolicy",
            "UpdateOpenIDConnectProviderThumbprint",
            "TagRole",
        ] {
            assert!(is_mutating(op), "{op}");
        }
    }
}
