//! SRTP master keys exported from a DTLS handshake (RFC 5764 §4.2).
//!
//! The exporter (label `EXTRACTOR-dtls_srtp`, no context) yields
//! `2 * (key_len + salt_len)` bytes laid out as
//! `client_key | server_key | client_salt | server_salt`. The DTLS client
//! protects what it sends with the client half, the server with the server
//! half, so which half is "ours" depends on our [`DtlsRole`].

use std::fmt;

use ringcast_shared::records::DtlsRole;

/// The three SRTP protection profiles WebRTC browsers negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrtpProfile {
    /// SRTP_AES128_CM_HMAC_SHA1_80 (RFC 5764 §4.1.2, id 0x0001).
    Aes128CmHmacSha1_80,
    /// SRTP_AEAD_AES_128_GCM (RFC 7714 §14.2, id 0x0007).
    AeadAes128Gcm,
    /// SRTP_AEAD_AES_256_GCM (RFC 7714 §14.2, id 0x0008).
    AeadAes256Gcm,
}

impl SrtpProfile {
    /// Master key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128CmHmacSha1_80 | Self::AeadAes128Gcm => 16,
            Self::AeadAes256Gcm => 32,
        }
    }

    /// Master salt length in bytes (RFC 3711 uses 112 bits, RFC 7714 96 bits).
    pub const fn salt_len(self) -> usize {
        match self {
            Self::Aes128CmHmacSha1_80 => 14,
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => 12,
        }
    }

    /// Bytes the exporter must produce: both keys and both salts.
    pub const fn material_len(self) -> usize {
        2 * (self.key_len() + self.salt_len())
    }

    /// The `use_srtp` protection profile id on the wire.
    pub const fn id(self) -> u16 {
        match self {
            Self::Aes128CmHmacSha1_80 => 0x0001,
            Self::AeadAes128Gcm => 0x0007,
            Self::AeadAes256Gcm => 0x0008,
        }
    }

    pub(crate) fn from_dimpl(profile: dimpl::SrtpProfile) -> Option<Self> {
        match profile {
            dimpl::SrtpProfile::AES128_CM_SHA1_80 => Some(Self::Aes128CmHmacSha1_80),
            dimpl::SrtpProfile::AEAD_AES_128_GCM => Some(Self::AeadAes128Gcm),
            dimpl::SrtpProfile::AEAD_AES_256_GCM => Some(Self::AeadAes256Gcm),
            _ => None,
        }
    }
}

/// The exporter output did not have the length the profile needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SrtpKeysError {
    /// `got` bytes of keying material for a profile that needs `want`.
    #[error("keying material is {got} bytes, {want} needed")]
    WrongLength {
        /// Length received.
        got: usize,
        /// Length the profile needs.
        want: usize,
    },
}

/// One direction's master key and salt, borrowed from [`SrtpKeyingMaterial`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SrtpKeySalt<'a> {
    /// Master key (16 or 32 bytes).
    pub key: &'a [u8],
    /// Master salt (14 or 12 bytes).
    pub salt: &'a [u8],
}

impl fmt::Debug for SrtpKeySalt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpKeySalt")
            .field("key_len", &self.key.len())
            .field("salt_len", &self.salt.len())
            .finish()
    }
}

/// Largest exporter output: AEAD_AES_256_GCM, 2 * (32 + 12).
const MAX_MATERIAL: usize = 88;

/// The negotiated profile and both directions' master keys, fixed-size and
/// `Copy` so it fits in a record or a ring slot without allocating.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SrtpKeyingMaterial {
    profile: SrtpProfile,
    role: DtlsRole,
    material: [u8; MAX_MATERIAL],
}

impl SrtpKeyingMaterial {
    /// Splits exporter output for `profile`; `role` is our DTLS role and
    /// decides which half is local. Fails unless `exported` has exactly
    /// [`SrtpProfile::material_len`] bytes.
    pub fn new(
        profile: SrtpProfile,
        role: DtlsRole,
        exported: &[u8],
    ) -> Result<Self, SrtpKeysError> {
        let want = profile.material_len();
        if exported.len() != want {
            return Err(SrtpKeysError::WrongLength {
                got: exported.len(),
                want,
            });
        }
        let mut material = [0u8; MAX_MATERIAL];
        material[..want].copy_from_slice(exported);
        Ok(Self {
            profile,
            role,
            material,
        })
    }

    /// The profile both sides agreed on in `use_srtp`.
    pub fn profile(&self) -> SrtpProfile {
        self.profile
    }

    /// Our DTLS role when the keys were exported.
    pub fn role(&self) -> DtlsRole {
        self.role
    }

    /// The exporter output as received (`client_key|server_key|client_salt|server_salt`).
    pub fn exported(&self) -> &[u8] {
        &self.material[..self.profile.material_len()]
    }

    fn part(&self, offset: usize, len: usize) -> &[u8] {
        &self.material[offset..offset + len]
    }

    /// Key and salt the DTLS client sends with.
    pub fn client(&self) -> SrtpKeySalt<'_> {
        let (k, s) = (self.profile.key_len(), self.profile.salt_len());
        SrtpKeySalt {
            key: self.part(0, k),
            salt: self.part(2 * k, s),
        }
    }

    /// Key and salt the DTLS server sends with.
    pub fn server(&self) -> SrtpKeySalt<'_> {
        let (k, s) = (self.profile.key_len(), self.profile.salt_len());
        SrtpKeySalt {
            key: self.part(k, k),
            salt: self.part(2 * k + s, s),
        }
    }

    /// What we encrypt our outgoing SRTP/SRTCP with.
    pub fn local(&self) -> SrtpKeySalt<'_> {
        match self.role {
            DtlsRole::Client => self.client(),
            DtlsRole::Server => self.server(),
        }
    }

    /// What we decrypt the peer's SRTP/SRTCP with.
    pub fn remote(&self) -> SrtpKeySalt<'_> {
        match self.role {
            DtlsRole::Client => self.server(),
            DtlsRole::Server => self.client(),
        }
    }
}

impl fmt::Debug for SrtpKeyingMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpKeyingMaterial")
            .field("profile", &self.profile)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counting(len: usize) -> Vec<u8> {
        (0..len).map(|i| i as u8).collect()
    }

    #[test]
    fn lengths_follow_rfc5764_and_rfc7714() {
        use SrtpProfile::*;
        assert_eq!(
            (
                Aes128CmHmacSha1_80.key_len(),
                Aes128CmHmacSha1_80.salt_len()
            ),
            (16, 14)
        );
        assert_eq!(
            (AeadAes128Gcm.key_len(), AeadAes128Gcm.salt_len()),
            (16, 12)
        );
        assert_eq!(
            (AeadAes256Gcm.key_len(), AeadAes256Gcm.salt_len()),
            (32, 12)
        );
        assert_eq!(AeadAes256Gcm.material_len(), MAX_MATERIAL);
    }

    #[test]
    fn split_is_client_key_server_key_client_salt_server_salt() {
        let p = SrtpProfile::Aes128CmHmacSha1_80;
        let raw = counting(p.material_len());
        let km = SrtpKeyingMaterial::new(p, DtlsRole::Client, &raw).unwrap();
        assert_eq!(km.client().key, &raw[0..16]);
        assert_eq!(km.server().key, &raw[16..32]);
        assert_eq!(km.client().salt, &raw[32..46]);
        assert_eq!(km.server().salt, &raw[46..60]);
    }

    #[test]
    fn local_and_remote_swap_with_role() {
        let p = SrtpProfile::AeadAes256Gcm;
        let raw = counting(p.material_len());
        let ours = SrtpKeyingMaterial::new(p, DtlsRole::Client, &raw).unwrap();
        let theirs = SrtpKeyingMaterial::new(p, DtlsRole::Server, &raw).unwrap();
        assert_eq!(ours.local(), theirs.remote());
        assert_eq!(ours.remote(), theirs.local());
        assert_ne!(ours.local(), ours.remote());
        assert_eq!(ours.local().key.len(), 32);
        assert_eq!(ours.local().salt.len(), 12);
    }

    #[test]
    fn wrong_length_is_an_error() {
        let p = SrtpProfile::AeadAes128Gcm;
        let err = SrtpKeyingMaterial::new(p, DtlsRole::Server, &counting(60)).unwrap_err();
        assert_eq!(err, SrtpKeysError::WrongLength { got: 60, want: 56 });
    }
}
