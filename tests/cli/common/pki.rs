//! A real X.509 chain made with rcgen: root CA -> intermediate CA(s) -> leaf.
//!
//! Every [`Pki`] has its own freshly generated root, so two of them are independent trust
//! anchors (the "untrusted root" case is: serve one, trust the other's root).

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha1::{Digest, Sha1};
use tempfile::NamedTempFile;
use time::{Duration, OffsetDateTime};

/// SHA-1 over `der`, lowercase hex (40 characters). Independent of the code under test.
pub fn sha1_hex(der: &[u8]) -> String {
    let digest = Sha1::digest(der);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Which certificates the TLS server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChainMode {
    /// Leaf then intermediate(s): what a well-configured server sends.
    #[default]
    LeafAndIntermediates,
    /// Leaf, intermediate(s) and the root as well.
    WithRoot,
    /// Only the leaf (a misconfigured server; verification fails without the intermediate).
    LeafOnly,
}

/// One certificate, in both encodings.
#[derive(Debug, Clone)]
pub struct CertInfo {
    pub der: Vec<u8>,
    pub pem: String,
    /// The subject common name given at generation.
    pub common_name: String,
}

impl CertInfo {
    fn from_rcgen(cert: &Certificate, common_name: String) -> Self {
        CertInfo {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            common_name,
        }
    }

    /// SHA-1 of the DER, lowercase hex.
    pub fn sha1_hex(&self) -> String {
        sha1_hex(&self.der)
    }

    pub fn cert_der(&self) -> CertificateDer<'static> {
        CertificateDer::from(self.der.clone())
    }
}

/// How to make the intermediate(s) and leaf.
#[derive(Debug, Clone)]
pub struct PkiOptions {
    /// Subject alternative names of the leaf (IP addresses become IP SANs).
    pub leaf_hosts: Vec<String>,
    /// The leaf's `not_after` is in the past.
    pub leaf_expired: bool,
    /// The (top) intermediate's `not_after` is in the past.
    pub intermediate_expired: bool,
    /// How many intermediate CAs between root and leaf (at least 1).
    pub intermediates: usize,
    /// The (top) intermediate expires this many days from now (still valid today).
    pub intermediate_expires_in_days: Option<i64>,
}

impl Default for PkiOptions {
    fn default() -> Self {
        PkiOptions {
            leaf_hosts: vec!["localhost".to_string(), "127.0.0.1".to_string()],
            leaf_expired: false,
            intermediate_expired: false,
            intermediates: 1,
            intermediate_expires_in_days: None,
        }
    }
}

impl PkiOptions {
    pub fn leaf_expired(mut self) -> Self {
        self.leaf_expired = true;
        self
    }

    pub fn intermediate_expired(mut self) -> Self {
        self.intermediate_expired = true;
        self
    }

    /// A leaf valid only for `wrong.example`.
    pub fn wrong_host(self) -> Self {
        self.leaf_hosts(&["wrong.example"])
    }

    pub fn leaf_hosts(mut self, hosts: &[&str]) -> Self {
        self.leaf_hosts = hosts.iter().map(ToString::to_string).collect();
        self
    }

    /// The top intermediate is valid today but expires in `days` days.
    pub fn intermediate_expires_in(mut self, days: i64) -> Self {
        self.intermediate_expires_in_days = Some(days);
        self
    }

    pub fn intermediates(mut self, n: usize) -> Self {
        assert!(n >= 1, "a chain needs at least one intermediate");
        self.intermediates = n;
        self
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn next_id() -> usize {
    COUNTER.fetch_add(1, Ordering::Relaxed) + 1
}

/// A root CA, its intermediate(s) and a leaf, with the leaf's private key.
pub struct Pki {
    pub root: CertInfo,
    /// In the order a server sends them: `intermediates[0]` signed the leaf; the last one was
    /// signed by the root (the "top intermediate", whose SHA-1 is the IAM thumbprint).
    pub intermediates: Vec<CertInfo>,
    pub leaf: CertInfo,
    leaf_key_pkcs8: Vec<u8>,
    root_cert: Certificate,
    root_key: KeyPair,
    root_pem_file: NamedTempFile,
    id: usize,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field("root", &self.root.common_name)
            .field("intermediates", &self.intermediates.len())
            .field("leaf", &self.leaf.common_name)
            .finish()
    }
}

fn ca_params(cn: &str, constraint: BasicConstraints, expired: bool) -> CertificateParams {
    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "bootstrap tests");
    params.is_ca = IsCa::Ca(constraint);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.use_authority_key_identifier_extension = true;
    if expired {
        params.not_before = now - Duration::days(400);
        params.not_after = now - Duration::days(1);
    } else {
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(3650);
    }
    params
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}

impl Pki {
    /// A fresh, independent root with one intermediate and a leaf for `localhost` and
    /// `127.0.0.1`.
    pub fn new() -> Pki {
        Self::with_options(PkiOptions::default())
    }

    /// A leaf whose validity ended yesterday.
    pub fn expired_leaf() -> Pki {
        Self::with_options(PkiOptions::default().leaf_expired())
    }

    /// A leaf valid only for `wrong.example`.
    pub fn wrong_host() -> Pki {
        Self::with_options(PkiOptions::default().wrong_host())
    }

    pub fn with_options(opts: PkiOptions) -> Pki {
        let id = next_id();
        let root_key = KeyPair::generate().expect("root key");
        let root_cn = format!("bootstrap test root {id}");
        let root_cert = ca_params(&root_cn, BasicConstraints::Unconstrained, false)
            .self_signed(&root_key)
            .expect("self-sign root");
        let root = CertInfo::from_rcgen(&root_cert, root_cn);
        let root_pem_file = write_pem_file(&[&root.pem]);
        let mut pki = Pki {
            root,
            intermediates: Vec::new(),
            leaf: CertInfo {
                der: Vec::new(),
                pem: String::new(),
                common_name: String::new(),
            },
            leaf_key_pkcs8: Vec::new(),
            root_cert,
            root_key,
            root_pem_file,
            id,
        };
        let (intermediates, leaf, leaf_key) = pki.issue(&opts);
        pki.intermediates = intermediates;
        pki.leaf = leaf;
        pki.leaf_key_pkcs8 = leaf_key;
        pki
    }

    /// New intermediate(s) and leaf under the same root: the thumbprint changes, the trust
    /// anchor does not (certificate rotation at the issuer).
    pub fn reissue(&self, opts: PkiOptions) -> Pki {
        let root_key_der = self.root_key.serialize_der();
        let root_key = KeyPair::try_from(root_key_der.as_slice()).expect("reload root key");
        let root_cert = ca_params(
            &self.root.common_name,
            BasicConstraints::Unconstrained,
            false,
        )
        .self_signed(&root_key)
        .expect("re-self-sign root");
        // Keep the exact root certificate bytes callers already trust.
        let root = self.root.clone();
        let root_pem_file = write_pem_file(&[&root.pem]);
        let mut pki = Pki {
            root,
            intermediates: Vec::new(),
            leaf: self.leaf.clone(),
            leaf_key_pkcs8: Vec::new(),
            root_cert,
            root_key,
            root_pem_file,
            id: self.id,
        };
        let (intermediates, leaf, leaf_key) = pki.issue(&opts);
        pki.intermediates = intermediates;
        pki.leaf = leaf;
        pki.leaf_key_pkcs8 = leaf_key;
        pki
    }

    fn issue(&self, opts: &PkiOptions) -> (Vec<CertInfo>, CertInfo, Vec<u8>) {
        let n = next_id();
        let id = self.id;
        // Walk down from the root: top intermediate first.
        let mut issued: Vec<(Certificate, KeyPair, CertInfo)> = Vec::new();
        for depth in 0..opts.intermediates.max(1) {
            let cn = format!("bootstrap test intermediate {id}.{n}.{depth}");
            let remaining_below = opts.intermediates.max(1) - depth - 1;
            let expired = depth == 0 && opts.intermediate_expired;
            let mut params = ca_params(
                &cn,
                BasicConstraints::Constrained(
                    u8::try_from(remaining_below).expect("a chain of fewer than 256 intermediates"),
                ),
                expired,
            );
            if let (0, Some(days)) = (depth, opts.intermediate_expires_in_days) {
                params.not_after = OffsetDateTime::now_utc() + Duration::days(days);
            }
            let key = KeyPair::generate().expect("intermediate key");
            let cert = {
                let (issuer_cert, issuer_key) = match issued.last() {
                    Some((c, k, _)) => (c, k),
                    None => (&self.root_cert, &self.root_key),
                };
                params
                    .signed_by(&key, issuer_cert, issuer_key)
                    .expect("sign intermediate")
            };
            let info = CertInfo::from_rcgen(&cert, cn);
            issued.push((cert, key, info));
        }

        let now = OffsetDateTime::now_utc();
        let leaf_cn = format!(
            "{} ({id}.{n})",
            opts.leaf_hosts.first().map_or("leaf", String::as_str)
        );
        let mut params = CertificateParams::new(opts.leaf_hosts.clone()).expect("leaf SANs");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, &leaf_cn);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        if opts.leaf_expired {
            params.not_before = now - Duration::days(90);
            params.not_after = now - Duration::days(1);
        } else {
            params.not_before = now - Duration::days(1);
            params.not_after = now + Duration::days(90);
        }
        let leaf_key = KeyPair::generate().expect("leaf key");
        let (signer_cert, signer_key, _) = issued.last().expect("an intermediate");
        let leaf_cert = params
            .signed_by(&leaf_key, signer_cert, signer_key)
            .expect("sign leaf");
        let leaf = CertInfo::from_rcgen(&leaf_cert, leaf_cn);

        // Server order: the one that signed the leaf first, the top intermediate last.
        let intermediates = issued.into_iter().rev().map(|(_, _, info)| info).collect();
        (intermediates, leaf, leaf_key.serialize_der())
    }

    /// The top intermediate: the last certificate a server sends (without the root), signed
    /// by the root. Its SHA-1 is what IAM calls the thumbprint.
    pub fn intermediate(&self) -> &CertInfo {
        self.intermediates.last().expect("an intermediate")
    }

    /// Expected IAM thumbprint: SHA-1 of the top intermediate's DER, lowercase hex.
    pub fn thumbprint(&self) -> String {
        self.intermediate().sha1_hex()
    }

    /// A PEM file holding only this root; pass it as `--ca-bundle`. Lives as long as `self`.
    pub fn root_pem_path(&self) -> &Path {
        self.root_pem_file.path()
    }

    /// `root_pem_path()` as a `String`, for argument lists.
    pub fn ca_bundle_arg(&self) -> String {
        self.root_pem_path().display().to_string()
    }

    pub fn leaf_key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key_pkcs8.clone()))
    }

    /// The certificates a server sends in `mode`, leaf first.
    pub fn chain(&self, mode: ChainMode) -> Vec<CertificateDer<'static>> {
        let mut chain = vec![self.leaf.cert_der()];
        match mode {
            ChainMode::LeafOnly => {}
            ChainMode::LeafAndIntermediates => {
                chain.extend(self.intermediates.iter().map(CertInfo::cert_der));
            }
            ChainMode::WithRoot => {
                chain.extend(self.intermediates.iter().map(CertInfo::cert_der));
                chain.push(self.root.cert_der());
            }
        }
        chain
    }

    /// A rustls root store holding only this root.
    pub fn root_store(&self) -> rustls::RootCertStore {
        let mut store = rustls::RootCertStore::empty();
        store.add(self.root.cert_der()).expect("add root");
        store
    }
}

/// Write PEM blocks into one temporary file (e.g. a bundle with several roots).
pub fn write_pem_file(pems: &[&str]) -> NamedTempFile {
    let mut file = tempfile::Builder::new()
        .prefix("ca-bundle-")
        .suffix(".pem")
        .tempfile()
        .expect("temp PEM file");
    for pem in pems {
        file.write_all(pem.as_bytes()).expect("write PEM");
        if !pem.ends_with('\n') {
            file.write_all(b"\n").expect("write PEM");
        }
    }
    file.flush().expect("flush PEM");
    file
}
