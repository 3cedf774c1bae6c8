//! Direct mode's preparation, shared by `plan`, `init` and `status`: learn the issuer and
//! read the account's live state concurrently, build the desired state, and diff them.

use std::borrow::Cow;

use crate::aws::Aws;
use crate::config::{Issuer, Settings};
use crate::error::{Error, Result};
use crate::model::{self, admin, Account, DesiredState};
use crate::observe::stale::StaleRole;
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
    /// Roles of this set the settings no longer name (only looked for when asked).
    pub stale: Vec<StaleRole>,
}

/// Whether [`prepare`] looks for stale roles: not when `--role` narrows the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stale {
    Find,
    Skip,
}

impl Stale {
    pub(super) fn unless_narrowed(roles: &[String]) -> Stale {
        if roles.is_empty() {
            Stale::Find
        } else {
            Stale::Skip
        }
    }
}

/// Read every `--policy-arn` and the `--permissions-boundary` before anything is written,
/// and judge them ([`admin::judge_policy_arn`], [`admin::require_boundary`]): exit 64 for a
/// missing one, or an administrator-equivalent one without `--allow-admin`.
pub(crate) async fn check_managed_policies(
    aws: &Aws,
    settings: &Settings,
    reporter: &Reporter,
    cache: &observe::PolicyCache,
) -> Result<()> {
    let judged = settings.roles.iter().map(|role| async move {
        let named = |e: Error| {
            if settings.role_tables {
                e.resource(format!("role {}", role.name))
            } else {
                e
            }
        };
        let mut warnings = Vec::new();
        for arn in &role.policy_arns {
            let doc = cache.document(aws, arn).await?;
            if let Some(w) =
                admin::judge_policy_arn(arn, doc.as_ref(), role.allow_admin).map_err(named)?
            {
                warnings.push(w);
            }
        }
        if let Some(arn) = &role.permissions_boundary {
            let doc = cache.document(aws, arn).await?;
            admin::require_boundary(arn, doc.is_some()).map_err(named)?;
        }
        Ok::<_, Error>(warnings)
    });
    let mut warnings: Vec<String> = futures::future::try_join_all(judged)
        .await?
        .into_iter()
        .flatten()
        .collect();
    warnings.dedup();
    for w in warnings {
        reporter.warn(w);
    }
    Ok(())
}

/// The settings with the state bucket of earlier versions named, when the default is in use
/// and this account has a bucket under that name (kept, never renamed); otherwise as given.
pub(super) async fn with_earlier_bucket<'s>(
    aws: &Aws,
    settings: &'s Settings,
    account: &Account,
) -> Result<Cow<'s, Settings>> {
    Ok(
        match observe::existing_default_bucket(aws, settings, account).await? {
            Some(name) => Cow::Owned(Settings {
                state_bucket: Some(name),
                ..settings.clone()
            }),
            None => Cow::Borrowed(settings),
        },
    )
}

pub(super) async fn prepare(
    settings: &Settings,
    reporter: &Reporter,
    stale: Stale,
) -> Result<Prepared> {
    // Everything about the input is checked before the first network or AWS call.
    model::quota::check_trust_inputs(settings)?;
    let issuer = settings.require_issuer()?;
    let tls = oidc::tls_config(settings)?;
    // Resolving the region and credentials makes no call; a missing region or an unknown
    // --profile is a usage error before anything is read (and before any warning).
    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    for w in settings.trust_warnings() {
        reporter.warn(w);
    }
    // A trust policy over the default quota is known from the settings: said before any call.
    let early = model::quota::early_warnings(settings);
    for w in &early {
        reporter.warn(w.clone());
    }

    reporter.progress(format!("reading {} and the AWS account", issuer.url));
    let issuer_and_ranges = oidc::issuer_facts_and_ranges(tls, settings, issuer, true);
    let ((facts, ranges), live) = tokio::try_join!(
        issuer_and_ranges,
        read_live(&aws, settings, issuer, reporter, stale)
    )?;
    let settings = &*live.settings;
    for h in &facts.hosts {
        for w in &h.warnings {
            reporter.warn(w.clone());
        }
    }
    let desired = model::desired(settings, &live.account, &facts.thumbprints, &ranges)?;
    for w in desired.warnings.iter().filter(|w| !early.contains(w)) {
        reporter.warn(w.clone());
    }
    plan::shared::refuse_held_state(&desired, &live.held)?;
    let plan = plan::diff(&desired, &live.observed)?;
    for w in plan::state_moves::warnings(&desired, &live.observed) {
        reporter.warn(w);
    }
    for w in &plan.warnings {
        reporter.warn(w.clone());
    }
    for (role, found) in desired.roles.iter().zip(&live.observed.roles) {
        for w in plan::checks::admin_document_warnings(role, found.as_ref()) {
            reporter.warn(w);
        }
    }
    Ok(Prepared {
        aws,
        facts,
        desired,
        observed: live.observed,
        plan,
        stale: live.stale,
    })
}

/// What [`read_live`] learns: the account, the settings with `--kms-key` resolved to the
/// key's ARN, and the live resources.
struct Live<'s> {
    account: Account,
    settings: Cow<'s, Settings>,
    observed: Observed,
    stale: Vec<StaleRole>,
    /// Where other owners' roles keep their state.
    held: Vec<observe::stale::HeldState>,
}

/// Every read that names a resource by the settings alone starts at once, beside the account
/// lookup; only a default-named bucket (its name holds the account id) follows it. The
/// managed policies the settings name are judged as soon as they are read.
async fn read_live<'s>(
    aws: &Aws,
    settings: &'s Settings,
    issuer: &Issuer,
    reporter: &Reporter,
    stale: Stale,
) -> Result<Live<'s>> {
    let set = settings.set_name().unwrap_or_default();
    let configured: Vec<String> = settings.roles.iter().map(|r| r.name.clone()).collect();
    // A policy both attached to a role and named by --policy-arn is read once.
    let policies = observe::PolicyCache::default();
    let by_name = async {
        tokio::try_join!(
            observe::roles_by_name(aws, &settings.roles, &policies),
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
            check_managed_policies(aws, settings, reporter, &policies),
            // Listed rather than read by ARN (the ARN holds the account id): one round trip
            // when it does not exist yet.
            observe::find_provider(aws, issuer),
            // The KMS key by its ARN, for the role's grant: a missing key stops the run here.
            observe::kms::resolved(aws, settings),
            async {
                match stale {
                    Stale::Find => observe::stale::roles(aws, &set, &configured).await,
                    Stale::Skip => Ok(observe::stale::Found::default()),
                }
            },
        )
    };
    let by_account = async {
        let account = observe::account(aws).await?;
        reporter.progress(format!(
            "reading the live state in account {} ({})",
            account.id, account.region
        ));
        // The default of earlier versions, when this account has it, is kept; otherwise the
        // default for a new setup.
        let earlier = observe::existing_default_bucket(aws, settings, &account).await?;
        let bucket = match (&settings.state_bucket, &earlier) {
            (Some(_), _) => None,
            (None, Some(name)) => Some(observe::bucket(aws, name).await?),
            (None, None) => {
                Some(observe::bucket(aws, &model::bucket_name(settings, &account)).await?)
            }
        };
        Ok::<_, Error>((account, bucket, earlier))
    };
    let (
        (roles, table, named_bucket, (), provider, settings, stale),
        (account, default_bucket, earlier),
    ) = tokio::try_join!(by_name, by_account)?;
    let settings = match earlier {
        Some(name) => {
            let mut s = settings.into_owned();
            s.state_bucket = Some(name);
            Cow::Owned(s)
        }
        None => settings,
    };
    for r in &stale.of_stacks {
        reporter.warn(format!(
            "role {} (tagged {}={set}) is not stale and left alone: {}; {}",
            r.name,
            model::SET_TAG,
            r.stack.describe(&set),
            r.stack.hint()
        ));
    }
    Ok(Live {
        account,
        settings,
        observed: Observed {
            provider,
            roles,
            bucket: named_bucket.or(default_bucket).flatten(),
            table,
        },
        stale: stale.stale,
        held: stale.held,
    })
}
