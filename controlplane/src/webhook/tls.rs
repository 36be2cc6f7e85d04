//! TLS for `https://` webhook receivers.
//!
//! rustls with the aws-lc-rs provider: dimpl already compiles aws-lc-rs
//! for DTLS, so HTTPS adds no second crypto library to the build. The
//! provider is passed explicitly rather than installed process-wide, so
//! nothing depends on which rustls backends feature unification turns on.
//!
//! Trusted roots, all added together:
//! - the system store (rustls-native-certs);
//! - the PEM bundle named by `SSL_CERT_FILE` (and the directories in
//!   `SSL_CERT_DIR`), for private CAs and self-signed test receivers;
//! - `NotifierConfig::extra_roots`, for roots given in code.
//!
//! rustls-native-certs follows OpenSSL and reads `SSL_CERT_FILE`/`SSL_CERT_DIR`
//! *instead of* the default locations when either is set; the default
//! certificate directories are then read as well, so setting the variable
//! adds trust and never silently drops the public roots.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// A TLS client for webhook receivers. Cheap to clone (shares one config).
#[derive(Clone)]
pub struct WebhookTls {
    connector: TlsConnector,
    roots: usize,
}

impl std::fmt::Debug for WebhookTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTls")
            .field("roots", &self.roots)
            .finish()
    }
}

impl WebhookTls {
    /// A client trusting the system store, `SSL_CERT_FILE`/`SSL_CERT_DIR`
    /// and `extra_roots`. Reads certificate files: call it once, off the
    /// async threads if possible.
    pub fn new(extra_roots: &[CertificateDer<'static>]) -> Result<Self, TlsSetupError> {
        let mut certs = system_roots();
        certs.extend(extra_roots.iter().cloned());
        Self::with_roots(certs)
    }

    /// A client trusting exactly `roots` (unparsable ones are skipped and
    /// logged).
    pub fn with_roots(
        roots: impl IntoIterator<Item = CertificateDer<'static>>,
    ) -> Result<Self, TlsSetupError> {
        let mut store = RootCertStore::empty();
        let (added, ignored) = store.add_parsable_certificates(roots);
        if ignored > 0 {
            tracing::warn!(ignored, "webhook TLS: unparsable root certificates skipped");
        }
        if added == 0 {
            tracing::warn!(
                "webhook TLS: no trusted root certificates; https:// deliveries will fail"
            );
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(Self {
            connector: TlsConnector::from(Arc::new(config)),
            roots: added,
        })
    }

    /// How many root certificates are trusted.
    pub fn root_count(&self) -> usize {
        self.roots
    }

    /// The TLS handshake on `tcp`, verifying the certificate for `name`.
    pub(crate) async fn connect(
        &self,
        name: ServerName<'static>,
        tcp: TcpStream,
    ) -> std::io::Result<TlsStream<TcpStream>> {
        self.connector.connect(name, tcp).await
    }
}

/// The system store plus what `SSL_CERT_FILE`/`SSL_CERT_DIR` name.
/// Load errors are logged, never fatal: the certificates that did load
/// are still used.
fn system_roots() -> Vec<CertificateDer<'static>> {
    let mut result = rustls_native_certs::load_native_certs();
    let mut certs = std::mem::take(&mut result.certs);
    let mut errors: Vec<String> = result.errors.iter().map(|e| e.to_string()).collect();
    // Same test as the native loader: set at all, existing or not.
    let env_set = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if env_set {
        // The native loader read only the env locations; add the defaults.
        for dir in openssl_probe::candidate_cert_dirs() {
            let r = rustls_native_certs::load_certs_from_paths(None, Some(dir));
            certs.extend(r.certs);
            errors.extend(r.errors.iter().map(|e| e.to_string()));
        }
    }
    certs.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
    certs.dedup();
    if !errors.is_empty() {
        tracing::warn!(
            ?errors,
            "webhook TLS: some root certificates could not be loaded"
        );
    }
    tracing::debug!(roots = certs.len(), "webhook TLS: system roots loaded");
    certs
}

/// Why the TLS client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// The crypto provider refused the protocol versions.
    #[error("webhook TLS setup failed: {0}")]
    Rustls(#[from] rustls::Error),
}
