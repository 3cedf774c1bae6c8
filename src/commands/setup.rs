//! What plan, init and status share: learn the issuer and the account concurrently, build
//! the desired state, read the live state, and diff them.

use crate::aws::Aws;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::model::{self, admin, DesiredState};
use crate::observe::{self, Observed};
use crate::oidc::{self, IssuerFacts};
use crate::plan::{self, Plan};
use crate::report::Reporter;

// Until every caller names `observe::account` itself.
pub(crate) use crate::observe::account;

pub struct Prepared {
    pub aws: Aws,
    pub facts: IssuerFacts,
    pub desired: DesiredState,
    pub observed: Observed,
    pub plan: Plan,
}

/// Read every `--policy-arn` and the `--permissions-boundary` before anything is written:
/// each must exist, and an administrator-equivalent policy ([`admin::admin_statement`]) needs
/// `--allow-admin` like AdministratorAccess does. Exit 64 otherwise.
pub(super) async fn check_managed_policies(
    aws: &Aws,
    settings: &Settings,
    reporter: &Reporter,
) -> Result<()> {
    let reads = settings.policy_arns.iter().map(|arn| async move {
        let doc = observe::managed_policy_document(aws, arn).await?;
        Ok::<_, Error>((arn, doc))
    });
    for (arn, doc) in futures::future::try_join_all(reads).await? {
        let Some(doc) = doc else {
            return Err(Error::usage(format!(
                "--policy-arn {arn}: no such managed policy in this account"
            ))
            .hint("check the ARN (account id, path and name), or create the policy first"));
        };
        if let Some(statement) = admin::admin_statement(&doc) {
            if settings.allow_admin {
                reporter.warn(format!(
                    "--policy-arn {arn} grants full administrator access ({statement}); allowed by --allow-admin"
                ));
            } else {
                return Err(Error::usage(format!(
                    "--policy-arn {arn} grants full administrator access: {statement}"
                ))
                .hint("attach a narrower policy, or pass --allow-admin if every pipeline that can assume the role may really do anything"));
            }
        }
    }
    check_boundary(aws, settings).await
}

/// `--permissions-boundary` must name a managed policy that exists, or IAM refuses the role
/// half-way through a run: read it before anything is written.
async fn check_boundary(aws: &Aws, settings: &Settings) -> Result<()> {
    let Some(arn) = &settings.permissions_boundary else {
        return Ok(());
    };
    match observe::managed_policy_document(aws, arn).await? {
        Some(_) => Ok(()),
        None => Err(Error::usage(format!(
            "--permissions-boundary {arn}: no such managed policy in this account"
        ))
        .hint("check the ARN (account id, path and name), or create the boundary policy first")),
    }
}

pub async fn prepare(settings: &Settings, reporter: &Reporter) -> Result<Prepared> {
    // Everything about the input is checked before the first network or AWS call.
    settings.require_trust_inputs()?;
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
    // Every read that names a resource by the settings alone starts at once, beside the
    // account lookup; only a default-named bucket (its name holds the account id) follows it.
    let by_name = async {
        tokio::try_join!(
            observe::role(&aws, &settings.role_name, model::STATE_POLICY_NAME),
            async {
                match &settings.lock_table {
                    Some(name) => observe::table(&aws, name).await,
                    None => Ok(None),
                }
            },
            async {
                match &settings.state_bucket {
                    Some(name) => observe::bucket(&aws, name).await.map(Some),
                    None => Ok(None),
                }
            },
            check_managed_policies(&aws, settings, reporter),
            // Listed rather than read by ARN (the ARN holds the account id): one round trip
            // when it does not exist yet.
            observe::find_provider(&aws, issuer),
            // The KMS key by its ARN, for the role's grant: a missing key stops the run here.
            observe::kms::resolved(&aws, settings),
        )
    };
    let by_account = async {
        let account = account(&aws).await?;
        reporter.progress(format!(
            "reading the live state in account {} ({})",
            account.id, account.region
        ));
        let default_bucket = async {
            if settings.state_bucket.is_none() {
                observe::bucket(&aws, &model::bucket_name(settings, &account))
                    .await
                    .map(Some)
            } else {
                Ok(None)
            }
        };
        let bucket = default_bucket.await?;
        Ok::<_, Error>((account, bucket))
    };
    let (
        (facts, ranges),
        (role, table, named_bucket, (), provider, settings),
        (account, default_bucket),
    ) = tokio::try_join!(issuer_and_ranges, by_name, by_account)?;
    let settings = &*settings;
    for h in &facts.hosts {
        for w in &h.warnings {
            reporter.warn(w.clone());
        }
    }
    let cidrs = model::source_cidrs(settings, &ranges)?;
    let desired = model::desired(settings, &account, &facts.thumbprints, &cidrs)?;
    for w in &desired.warnings {
        reporter.warn(w.clone());
    }
    let observed = Observed {
        provider,
        role,
        bucket: named_bucket.or(default_bucket).flatten(),
        table,
    };
    let plan = plan::diff(&desired, &observed)?;
    warn_admin_documents(&desired, &observed, reporter);
    Ok(Prepared {
        aws,
        facts,
        desired,
        observed,
        plan,
    })
}

/// Say loudly when the live role carries an administrator-equivalent document that the
/// settings do not ask for (an adopted hand-made role, or one changed by hand): the plan
/// removes it, and it is shown before anything is written. `--policy-arn` values were judged
/// by [`check_managed_policies`].
fn warn_admin_documents(desired: &DesiredState, observed: &Observed, reporter: &Reporter) {
    let Some(role) = &observed.role else { return };
    let adopted = if plan::ownership::is_managed(&role.tags) {
        ""
    } else {
        " (not created by bootstrap)"
    };
    let own = format!("inline policy {}", desired.role.inline_policy_name);
    for found in plan::ownership::admin_documents(role, &desired.role.inline_policy_name) {
        let fate = match &found.managed_arn {
            Some(arn) if desired.role.managed_policies.contains(arn) => continue,
            Some(_) => "init detaches it (it is not a --policy-arn)",
            None if found.source == own => "init rewrites it",
            None => "init deletes it (bootstrap did not write it)",
        };
        reporter.warn(format!(
            "role {}{adopted} carries an ADMINISTRATOR-EQUIVALENT {found}; {fate}",
            desired.role.name
        ));
    }
}
