//! The one preparation of `plan`, `init` and `status`, whatever the mode: learn the issuer and
//! read the account concurrently, and build the desired state. What the mode adds is data,
//! [`Staged`]: in direct mode the live resources and their diff with the desired state; in
//! CloudFormation mode the template, and the stack or StackSet as it is deployed.

mod destroy;
mod planned;
mod status;

use std::borrow::Cow;

pub(super) use destroy::for_destroy;
pub(super) use planned::{for_init, for_plan};
pub(super) use status::for_status;

use super::Deployment;
use crate::aws::Aws;
use crate::config::{Issuer, Settings};
use crate::error::{Error, Result};
use crate::model::owner::Owner;
use crate::model::template::{self, RenderOptions, Template};
use crate::model::{self, admin, Account, DesiredState};
use crate::observe::stack::ObservedStack;
use crate::observe::stackset::ObservedStackSet;
use crate::observe::stale::StaleRole;
use crate::observe::{self, Observed};
use crate::oidc::{self, IssuerFacts};
use crate::plan::stack::StackSpec;
use crate::plan::stackset::StackSetSpec;
use crate::plan::{self, Plan};
use crate::report::Reporter;

pub(super) struct Prepared {
    pub aws: Aws,
    pub facts: IssuerFacts,
    /// The desired state (in CloudFormation mode, the template's, in this account).
    pub desired: DesiredState,
    pub staged: Staged,
}

/// What the mode prepares beside the desired state.
pub(super) enum Staged {
    Direct(Box<DirectStaged>),
    Stack(Box<StackStaged>),
    StackSet(Box<StackSetStaged>),
}

/// Direct mode: the live resources and what `init` would do to them.
pub(super) struct DirectStaged {
    pub observed: Observed,
    pub plan: Plan,
    /// Roles of this set the settings no longer name (only looked for when asked).
    pub stale: Vec<StaleRole>,
}

/// One stack: the template, the stack it is deployed as, and that stack as it was.
pub(super) struct StackStaged {
    pub template: Template,
    pub spec: StackSpec,
    pub deployed: Option<ObservedStack>,
}

/// A StackSet: the template, the StackSet it is deployed as, and that StackSet as it was.
pub(super) struct StackSetStaged {
    pub template: Template,
    pub spec: StackSetSpec,
    pub deployed: Option<ObservedStackSet>,
}

/// Prepare `mode`; `stale` says whether direct mode looks for stale roles.
pub(super) async fn prepare(
    settings: &Settings,
    reporter: &Reporter,
    mode: Deployment,
    stale: Stale,
) -> Result<Prepared> {
    match mode {
        Deployment::Direct => direct(settings, reporter, stale).await,
        Deployment::Stack | Deployment::StackSet => template(settings, reporter).await,
    }
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
            Some(name) => {
                let mut s = settings.clone();
                s.state.bucket = Some(name);
                Cow::Owned(s)
            }
            None => Cow::Borrowed(settings),
        },
    )
}

/// Direct mode: the live state read beside the issuer, and diffed with the desired state.
async fn direct(settings: &Settings, reporter: &Reporter, stale: Stale) -> Result<Prepared> {
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
        staged: Staged::Direct(Box::new(DirectStaged {
            observed: live.observed,
            plan,
            stale: live.stale,
        })),
    })
}

/// CloudFormation mode: learn the issuer and the account concurrently and build the template
/// for them; the desired state is the template's in this account (the names the stack's
/// resources get).
async fn template(settings: &Settings, reporter: &Reporter) -> Result<Prepared> {
    let opts = RenderOptions {
        stackset: settings.deployment.stackset.is_some(),
        ..Default::default()
    };
    super::render::check_inputs(settings, reporter, opts, None)?;
    let issuer = settings.require_issuer()?;
    // Beside the issuer: the account, the KMS key by its ARN, and the thumbprints the live
    // provider holds (a stack update keeps the ones still in use, as direct mode does). A
    // StackSet's providers, and its customer policies, are in its target accounts, out of
    // reach here; a stack's --policy-arn documents are judged as in direct mode.
    let aws_side = async {
        let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
        let (account, resolved, provider, deployed, held) = tokio::try_join!(
            observe::account(&aws),
            observe::kms::resolved(&aws, settings),
            async {
                if opts.stackset {
                    Ok(None)
                } else {
                    observe::find_provider(&aws, issuer).await
                }
            },
            // The stack is read only once the policies the settings name are judged: a
            // refused --policy-arn or --permissions-boundary reaches no stack.
            async {
                if !opts.stackset {
                    check_managed_policies(&aws, settings, reporter, &Default::default()).await?;
                }
                Deployed::read(&aws, settings).await
            },
            held_elsewhere(&aws, settings, opts.stackset),
        )?;
        Ok::<_, Error>((aws, account, resolved, provider, deployed, held))
    };
    let ((facts, cidrs), (aws, account, settings, provider, deployed, held)) =
        tokio::try_join!(super::render::issuer_inputs(settings, reporter), aws_side)?;
    // A --state-bucket of the account regional form: only this account, in this region, can
    // create it (as in direct mode).
    if let Some(b) = &settings.state.bucket {
        model::namespace::namespace_of(b, &account)?;
    }
    let opts = RenderOptions {
        keep_global_bucket: deployed.names_global_default(&settings),
        ..opts
    };
    let registered = provider.as_ref().map(|p| p.thumbprints.as_slice());
    let thumbprints = model::thumbprints::to_register(&facts.thumbprints, registered);
    let template = super::render::build(&settings, reporter, &thumbprints, &cidrs, opts)?;
    let body = template.yaml();
    template::check_inline_size(&body)?;
    let desired = template::in_account(&template.desired, &account);
    plan::shared::refuse_held_state(&desired, &held)?;
    let staged = deployed.staged(&settings, template, body);
    Ok(Prepared {
        aws,
        facts,
        desired,
        staged,
    })
}

/// Where the roles of other sets and other stacks keep their state in this account, so that
/// the stack's roles are given none of it (as in direct mode). The stack's own roles are its
/// to keep. A StackSet's roles live in its target accounts, out of reach here.
async fn held_elsewhere(
    aws: &Aws,
    settings: &Settings,
    stackset: bool,
) -> Result<Vec<observe::stale::HeldState>> {
    if stackset {
        return Ok(Vec::new());
    }
    let found = unnamed_roles(aws, &observe::RoleListing::default(), settings).await?;
    let own = |o: &Owner| matches!(o, Owner::Stack { name, .. } if *name == settings.deployment.stack_name);
    Ok(found.held.into_iter().filter(|h| !own(&h.owner)).collect())
}

/// The roles of the tool these settings do not name: this set's stale ones, and where
/// other owners' roles keep their state ([`observe::stale::roles`]).
async fn unnamed_roles(
    aws: &Aws,
    listing: &observe::RoleListing,
    settings: &Settings,
) -> Result<observe::stale::Found> {
    let set = settings.set_name().unwrap_or_default();
    let configured: Vec<String> = settings.roles.iter().map(|r| r.name.clone()).collect();
    observe::stale::roles(aws, listing, &set, &configured).await
}

/// The stack (or the StackSet) of these settings as deployed, read once: its template decides
/// how the bucket is named, and the plan starts from it.
#[derive(Default)]
struct Deployed {
    stack: Option<ObservedStack>,
    stackset: Option<ObservedStackSet>,
}

impl Deployed {
    async fn read(aws: &Aws, settings: &Settings) -> Result<Deployed> {
        let cfn = &aws.cloudformation;
        Ok(match &settings.deployment.stackset {
            Some(ss) => Deployed {
                stackset: observe::stackset::stackset(cfn, &ss.name).await?,
                ..Default::default()
            },
            None => Deployed {
                stack: observe::stack::stack(cfn, &settings.deployment.stack_name).await?,
                ..Default::default()
            },
        })
    }

    /// Whether the deployed template names its bucket with the global default name of
    /// earlier versions, which the template then keeps (renaming the bucket would make
    /// CloudFormation replace it). Never with a `--state-bucket`, which names the bucket.
    fn names_global_default(&self, settings: &Settings) -> bool {
        let body = match (&self.stack, &self.stackset) {
            (Some(s), _) => s.template_body.as_deref(),
            (_, Some(s)) => Some(s.template_body.as_str()),
            (None, None) => None,
        };
        settings.state.bucket.is_none()
            && body
                .and_then(crate::plan::compare::parse)
                .is_some_and(|t| template::names_global_default(&t))
    }

    /// The mode's part of [`Prepared`]: the template, what it is deployed as, and that
    /// as it was before anything was done.
    fn staged(self, settings: &Settings, template: Template, body: String) -> Staged {
        let rendered = template.body.clone();
        match &settings.deployment.stackset {
            Some(ss) => Staged::StackSet(Box::new(StackSetStaged {
                spec: StackSetSpec {
                    name: ss.name.clone(),
                    body,
                    template: rendered,
                    targets: ss.targets.clone(),
                    regions: ss.regions.clone(),
                },
                template,
                deployed: self.stackset,
            })),
            None => Staged::Stack(Box::new(StackStaged {
                spec: StackSpec {
                    name: settings.deployment.stack_name.clone(),
                    body,
                    template: rendered,
                },
                template,
                deployed: self.stack,
            })),
        }
    }
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
    // Read once each: a policy attached and named by --policy-arn; the account's roles.
    let policies = observe::PolicyCache::default();
    let listing = observe::RoleListing::default();
    let by_name = async {
        tokio::try_join!(
            observe::roles_by_name(aws, &settings.roles, &policies, &listing),
            async {
                match &settings.state.lock_table {
                    Some(name) => observe::table(aws, name).await,
                    None => Ok(None),
                }
            },
            async {
                match &settings.state.bucket {
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
                    Stale::Find => unnamed_roles(aws, &listing, settings).await,
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
        let bucket = match (&settings.state.bucket, &earlier) {
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
            s.state.bucket = Some(name);
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
