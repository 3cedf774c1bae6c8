//! A whole local world for one test: moto (AWS), an HTTPS issuer with its own PKI, and the
//! flags that point `bootstrap` at them.

use super::{run, CliOutput, Issuer, Moto, Pki};

pub const WORKSPACE_UUID: &str = "6a3f1c2e-1111-4c9d-9a8b-0123456789ab";
pub const REPO_UUID: &str = "{0f6b3c1d-2222-4e5f-8a9b-abcdefabcdef}";
pub const ENV_UUID: &str = "{7c8d9e0f-3333-4a1b-9c2d-fedcbafedcba}";

pub struct World {
    pub moto: Moto,
    pub pki: Pki,
    pub issuer: Issuer,
}

impl World {
    pub fn start() -> World {
        let pki = Pki::new();
        let issuer = Issuer::start(&pki);
        let moto = Moto::start();
        World { moto, pki, issuer }
    }

    /// Flags that reach this world, without a subcommand.
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--endpoint-url".into(),
            self.moto.endpoint(),
            "--region".into(),
            "us-east-1".into(),
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
                "tf-state-test",
            ]
            .map(String::from),
        );
        f
    }

    /// `bootstrap <cmd> <setup flags> <extra>`.
    pub fn run(&self, cmd: &str, extra: &[&str]) -> CliOutput {
        let mut args = vec![cmd.to_string()];
        args.extend(self.setup_flags());
        args.extend(extra.iter().map(|s| s.to_string()));
        run(args)
    }

    pub fn audience(&self) -> String {
        format!("ari:cloud:bitbucket::workspace/{WORKSPACE_UUID}")
    }
}
