//! The dataplane's DTLS certificate: one self-signed ECDSA P-256 certificate
//! per process, generated at startup and shared by every transport.
//!
//! WebRTC authenticates DTLS by the certificate fingerprint in SDP, not by a
//! CA chain (RFC 8827 §6.5), so a fresh self-signed certificate is all we
//! need; the control plane puts [`DtlsCertificate::sdp_fingerprint`] into
//! every answer and offer.

use std::fmt;
use std::sync::Arc;

use super::fingerprint::{format_fingerprint, sha256_fingerprint};

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// rcgen (through dimpl) failed to generate the key pair or certificate.
    #[error("certificate generation failed: {0}")]
    Generation(String),
}

/// A DER certificate with its private key. Cloning is two `Arc` bumps, so
/// every transport can hold one.
#[derive(Clone)]
pub struct DtlsCertificate {
    /// The certificate, DER-encoded: what we send in the DTLS Certificate message.
    pub der: Arc<[u8]>,
    /// The PKCS#8 DER private key. Secret: never logged (see `Debug`).
    pub key: Arc<[u8]>,
    /// SHA-256 of `der`: what the peer's SDP must name to accept us.
    pub fingerprint_sha256: [u8; 32],
}

impl DtlsCertificate {
    /// Generates a new self-signed ECDSA P-256 certificate with a random
    /// 128-bit serial (Firefox rejects two certificates with one serial).
    pub fn generate() -> Result<Self, CertificateError> {
        let generated = dimpl::certificate::generate_self_signed_certificate()
            .map_err(|e| CertificateError::Generation(e.to_string()))?;
        Ok(Self::from_der(generated.certificate, generated.private_key))
    }

    /// Wraps an existing certificate and PKCS#8 key (e.g. loaded from disk).
    pub fn from_der(der: Vec<u8>, key: Vec<u8>) -> Self {
        let fingerprint_sha256 = sha256_fingerprint(&der);
        Self {
            der: der.into(),
            key: key.into(),
            fingerprint_sha256,
        }
    }

    /// The fingerprint as SDP writes it: `AB:CD:...` (uppercase hex, colons),
    /// the value after `a=fingerprint:sha-256 `.
    pub fn sdp_fingerprint(&self) -> String {
        format_fingerprint(&self.fingerprint_sha256)
    }

    /// The form dimpl takes: it owns its copy, made once per session.
    pub(crate) fn to_dimpl(&self) -> dimpl::DtlsCertificate {
        dimpl::DtlsCertificate {
            certificate: self.der.to_vec(),
            private_key: self.key.to_vec(),
        }
    }
}

impl fmt::Debug for DtlsCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtlsCertificate")
            .field("der_len", &self.der.len())
            .field("fingerprint", &self.sdp_fingerprint())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificates_differ_and_fingerprint_matches_der() {
        let a = DtlsCertificate::generate().unwrap();
        let b = DtlsCertificate::generate().unwrap();
        assert_ne!(a.fingerprint_sha256, b.fingerprint_sha256);
        assert_eq!(a.fingerprint_sha256, sha256_fingerprint(&a.der));
        assert_eq!(a.sdp_fingerprint().len(), 95);
        assert!(!format!("{a:?}").contains("key"));
    }
}
