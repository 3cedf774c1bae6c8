//! What plan, init and status share: learn the issuer and the account concurrently, build
//! the desired state, read the live state, and diff them.

use std::sync::Arc;

use crate::aws::{self, Aws};
use crate::config::{Settings, SourceIp};
use crate::error::{Error, Result};
use crate::model::{self, Account, DesiredState};
use crate::observe::{self, Observed};
use crate::oidc::{self, IssuerFacts};
use crate::plan::{self, Plan};
use crate::report::Reporter;

pub struct Prepared {
    pub aws: Aws,
    pub facts: IssuerFacts,
    pub desired: DesiredState,
    pub observed: Observed,
    pub plan: Plan,
}

pub(super) async fn account(aws: &Aws) -> Result<Account> {
    let me =
        aws.sts.get_caller_identity().send().await.map_err(|e| {
            aws::classify(&e, "finding the AWS account (sts:GetCallerIdentity)", "sts")
        })?;
    let id = me
        .account()
        .ok_or_else(|| Error::failure("sts:GetCallerIdentity returned no account id"))?
        .to_string();
    Ok(Account {
        id,
        partition: aws::partition(&aws.region).to_string(),
        region: aws.region.clone(),
    })
}

pub async fn prepare(settings: &Settings, reporter: &Reporter) -> Result<Prepared> {
    // Everything about the input is checked before the first network or AWS call.
    settings.require_trust_inputs()?;
    let issuer = settings.require_issuer()?;
    let tls = oidc::tls_config(settings)?;
    for w in settings.trust_warnings() {
        reporter.warn(w);
    }

    reporter.progress(format!("reading {} and the AWS account", issuer.url));
    let fetcher = Arc::new(oidc::Fetcher::new(tls, settings.timeout)?);
    let facts = oidc::issuer_facts(settings, issuer, true);
    let ranges = async {
        if settings.source_ips.contains(&SourceIp::Bitbucket) {
            oidc::ipranges::fetch(&fetcher, &settings.ip_ranges_url).await
        } else {
            Ok(Vec::new())
        }
    };
    let aws_and_account = async {
        let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
        let account = account(&aws).await?;
        Ok::<_, Error>((aws, account))
    };
    let (facts, ranges, (aws, account)) = tokio::try_join!(facts, ranges, aws_and_account)?;
    for h in &facts.hosts {
        for w in &h.warnings {
            reporter.warn(w.clone());
        }
    }
    let cidrs = model::source_cidrs(settings, &ranges);
    let desired = model::desired(settings, &account, &facts.thumbprints, &cidrs)?;
    reporter.progress(format!(
        "reading the live state in account {} ({})",
        account.id, account.region
    ));
    let observed = observe::all(&aws, &desired).await?;
    let plan = plan::diff(&desired, &observed)?;
    Ok(Prepared {
        aws,
        facts,
        desired,
        observed,
        plan,
    })
}
