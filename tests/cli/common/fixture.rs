//! A whole local world for one test: moto (AWS), an HTTPS issuer with its own PKI, and the
//! flags that point `bootstrap` at them.

use super::aws::Clients;
use super::{CliOutput, Issuer, Moto, Pki, Test};

pub const WORKSPACE_UUID: &str = "6a3f1c2e-1111-4c9d-9a8b-0123456789ab";
pub const REPO_UUID: &str = "{0f6b3c1d-2222-4e5f-8a9b-abcdefabcdef}";
pub const ENV_UUID: &str = "{7c8d9e0f-3333-4a1b-9c2d-fedcbafedcba}";
/// The bucket `setup_flags` names.
pub const BUCKET: &str = "tf-state-test";
/// The tool's default lock table and role names (from the command-line contract).
pub const TABLE: &str = "terraform-state-lock";
pub const ROLE: &str = "bitbucket-pipelines-deploy";

pub struct World {
    pub moto: Moto,
    pub pki: Pki,
    pub issuer: Issuer,
    pub region: String,
}

impl World {
    pub fn start() -> World {
        Self::start_in("us-east-1")
    }

    /// A world whose commands run in `region`.
    pub fn start_in(region: &str) -> World {
        Self::with_moto(Moto::start(), region)
    }

    /// A world (us-east-1) whose account has AWS's managed policies, for plan roles (see
    /// [`Moto::start_with_managed_policies`]).
    pub fn start_with_managed_policies() -> World {
        Self::with_moto(Moto::start_with_managed_policies(), "us-east-1")
    }

    /// A world (us-east-1) whose AWS behaviour layer runs at `scale` times real-world time
    /// (see [`Moto::start_layer`]).
    pub fn start_at_scale(scale: &str) -> World {
        Self::with_moto(Moto::start_layer(scale), "us-east-1")
    }

    fn with_moto(moto: Moto, region: &str) -> World {
        let pki = Pki::new();
        let issuer = Issuer::start(&pki);
        World {
            moto,
            pki,
            issuer,
            region: region.to_string(),
        }
    }

    /// A world in us-east-1 whose moto also plays what it lacks for CloudFormation stacks
    /// (`Moto::start_with_faults`: termination protection, a failed first create).
    pub fn start_with_faults() -> World {
        let pki = Pki::new();
        let issuer = Issuer::start(&pki);
        World {
            moto: Moto::start_with_faults(),
            pki,
            issuer,
            region: "us-east-1".to_string(),
        }
    }

    /// SDK clients for this world's moto and region.
    pub fn clients(&self) -> Clients {
        Clients::new(&self.moto, &self.region)
    }

    /// `arn:aws:iam::ACCOUNT:oidc-provider/HOST:PORT/PATH`, as IAM names it.
    pub fn provider_arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:oidc-provider/{}",
            self.moto.account_id(),
            self.issuer.host_path()
        )
    }

    /// Flags that reach this world, without a subcommand.
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--endpoint-url".into(),
            self.moto.endpoint(),
            "--region".into(),
            self.region.clone(),
            "--issuer-url".into(),
            self.issuer.url(),
            "--ca-bundle".into(),
            self.pki.ca_bundle_arg(),
        ]
    }

    /// Flags for a full setup: issuer, audience and one repository.
    pub fn setup_flags(&self) -> Vec<String> {
        let mut f = self.flags();
        f.extend(
            [
                "--workspace-uuid",
                WORKSPACE_UUID,
                "--repository-uuid",
                REPO_UUID,
                "--state-bucket",
                BUCKET,
            ]
            .map(String::from),
        );
        f
    }

    /// A [`Test`] of `bootstrap <cmd> <setup flags>` that can count this world's writes
    /// ([`Test::expect_no_writes`]); add the command's own arguments with `.args`.
    pub fn test(&self, cmd: &str) -> Test<'_> {
        Test::new()
            .arg(cmd)
            .args(self.setup_flags())
            .moto(&self.moto)
    }

    /// Run `bootstrap <cmd> <setup flags> <extra>` again and check that it succeeds without
    /// one mutating AWS call (moto's recorder counts them): what a re-run with nothing to
    /// change must do.
    #[track_caller]
    pub fn assert_rerun_writes_nothing(&self, cmd: &str, extra: &[&str]) -> CliOutput {
        self.test(cmd).args(extra).expect_no_writes().run()
    }

    pub fn audience(&self) -> String {
        format!("ari:cloud:bitbucket::workspace/{WORKSPACE_UUID}")
    }

    /// A trust policy on this world's provider with the audience condition alone (no `sub`
    /// condition): what a hand edit that widens a role's trust to the whole workspace leaves.
    pub fn widened_trust(&self) -> serde_json::Value {
        let hp = self.issuer.host_path();
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Federated": self.provider_arn() },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": { "StringEquals": { format!("{hp}:aud"): self.audience() } }
            }]
        })
    }
}
