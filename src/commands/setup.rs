//! Direct mode's preparation, shared by `plan`, `init` and `status`: learn the issuer and
//! read the account's live state concurrently, build the desired state, and diff them.

use std::borrow::Cow;

use crate::aws::Aws;
use crate::config::{Issuer, Settings};
use crate::error::{Error, Result};
use crate::model::{self, admin, Account, DesiredState};
use crate::observe::{self, Observed};
use crate::oidc::{self, IssuerFacts};
use crate::plan::{self, Plan};
use crate::report::Reporter;

pub(super) struct Prepared {
    pub aws: Aws,
    pub facts: IssuerFacts,
    pub desired: DesiredState,
    pub observed: Observed,
    pub plan: Plan,
}

/// Read every `--policy-arn` and the `--permissions-boundary` before anything is written,
/// and judge them ([`admin::judge_policy_arn`], [`admin::require_boundary`]): exit 64 for a
/// missing one, or an administrator-equivalent one without `--allow-admin`.
pub(crate) async fn check_managed_policies(
    aws: &Aws,
    settings: &Settings,
    reporter: &Reporter,
) -> Result<()> {
    let docs = observe::managed_policy_documents(aws, &settings.policy_arns).await?;
    for (arn, doc) in settings.policy_arns.iter().zip(&docs) {
        if let Some(warning) = admin::judge_policy_arn(arn, doc.as_ref(), settings.allow_admin)? {
            reporter.warn(warning);
        }
    }
    match &settings.permissions_boundary {
        Some(arn) => {
            let doc = observe::managed_policy_document(aws, arn).await?;
            admin::require_boundary(arn, doc.is_some())
        }
        None => Ok(()),
    }
}

pub(super) async fn prepare(settings: &Settings, reporter: &Reporter) -> Result<Prepared> {
    // Everything about the input is checked before the first network or AWS call.
    model::quota::check_trust_inputs(settings)?;
    let issuer = settings.require_issuer()?;
    let tls = oidc::tls_config(settings)?;
    for w in settings.trust_warnings() {
        reporter.warn(w);
    }

    // Resolving the region and credentials makes no call; a missing region is a usage error
    // before anything is read.
    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    reporter.progress(format!("reading {} and the AWS account", issuer.url));
    let issuer_and_ranges = oidc::issuer_facts_and_ranges(tls, settings, issuer, true);
    let ((facts, ranges), live) = tokio::try_join!(
        issuer_and_ranges,
        read_live(&aws, settings, issuer, reporter)
    )?;
    let settings = &*live.settings;
    for h in &facts.hosts {
        for w in &h.warnings {
            reporter.warn(w.clone());
        }
    }
    let cidrs = model::source_cidrs(settings, &ranges)?;
    let desired = model::desired(settings, &live.account, &facts.thumbprints, &cidrs)?;
    for w in &desired.warnings {
        reporter.warn(w.clone());
    }
    let plan = plan::diff(&desired, &live.observed)?;
    for w in plan::checks::admin_document_warnings(&desired, live.observed.role.as_ref()) {
        reporter.warn(w);
    }
    Ok(Prepared {
        aws,
        facts,
        desired,
        observed: live.observed,
        plan,
    })
}

/// What [`read_live`] learns: the account, the settings with `--kms-key` resolved to the
/// key's ARN, and the live resources.
struct Live<'s> {
    account: Account,
    settings: Cow<'s, Settings>,
    observed: Observed,
}

/// Every read that names a resource by the settings alone starts at once, beside the account
/// lookup; only a default-named bucket (its name holds the account id) follows it. The
/// managed policies the settings name are judged as soon as they are read.
async fn read_live<'s>(
    aws: &Aws,
    settings: &'s Settings,
    issuer: &Issuer,
    reporter: &Reporter,
) -> Result<Live<'s>> {
    let by_name = async {
        tokio::try_join!(
            observe::role(aws, &settings.role_name, model::STATE_POLICY_NAME),
            async {
                match &settings.lock_table {
                    Some(name) => observe::table(aws, name).await,
                    None => Ok(None),
                }
            },
            async {
                match &settings.state_bucket {
                    Some(name) => observe::bucket(aws, name).await.map(Some),
                    None => Ok(None),
                }
            },
            check_managed_policies(aws, settings, reporter),
            // Listed rather than read by ARN (the ARN holds the account id): one round trip
            // when it does not exist yet.
            observe::find_provider(aws, issuer),
            // The KMS key by its ARN, for the role's grant: a missing key stops the run here.
            observe::kms::resolved(aws, settings),
        )
    };
    let by_account = async {
        let account = observe::account(aws).await?;
        reporter.progress(format!(
            "reading the live state in account {} ({})",
            account.id, account.region
        ));
        let bucket = match settings.state_bucket {
            None => Some(observe::bucket(aws, &model::bucket_name(settings, &account)).await?),
            Some(_) => None,
        };
        Ok::<_, Error>((account, bucket))
    };
    let ((role, table, named_bucket, (), provider, settings), (account, default_bucket)) =
        tokio::try_join!(by_name, by_account)?;
    Ok(Live {
        account,
        settings,
        observed: Observed {
            provider,
            role,
            bucket: named_bucket.or(default_bucket).flatten(),
            table,
        },
    })
}
