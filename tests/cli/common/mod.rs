//! Shared integration-test harness.
//!
//! Compiled once for every module of the CLI test binary, which each use what they need:
//!
//! * [`pki`]: a real certificate chain (root -> intermediate -> leaf) made with rcgen;
//! * [`issuer`]: an HTTPS OIDC issuer on 127.0.0.1 serving discovery and JWKS;
//! * [`jwt`]: RS256 tokens signed with the issuer's key, plus malformed ones;
//! * [`moto`]: a `moto_server` child process (local AWS) with its request recorder, whose
//!   requests [`recorder`] reads back and classifies;
//! * [`cli`]: the `bootstrap` binary as a subprocess with a clean environment, and its output;
//! * [`test`]: [`Test`], the fluent builder for one run and what it must produce: the one
//!   way the tests run the binary;
//! * [`fixture`]: a [`World`](fixture::World) of all of these, with the flags that reach it.
#![allow(dead_code)]

pub mod authz;
pub mod aws;
pub mod bitbucket;
pub mod bitbucket_routes;
pub mod cli;
pub mod fixture;
pub mod inspect;
pub mod issuer;
pub mod issuer_server;
pub mod jwt;
pub mod kms;
pub mod moto;
pub mod openapi;
pub mod openssl;
pub mod pki;
pub mod proxy;
pub mod recorder;
pub mod schema;
pub mod test;

#[allow(unused_imports)]
pub use cli::{resource, CliOutput, Failure};
#[allow(unused_imports)]
pub use issuer::{unused_port, ChainMode, Issuer, IssuerOptions, Response};
#[allow(unused_imports)]
pub use jwt::{bitbucket_claims, braced, fake_uuid, mint_token, SigningKey};
#[allow(unused_imports)]
pub use moto::{classify, Moto, RecordedRequest};
#[allow(unused_imports)]
pub use pki::{sha1_hex, CertInfo, Pki, PkiOptions};
#[allow(unused_imports)]
pub use test::Test;
