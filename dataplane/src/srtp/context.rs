//! One direction of SRTP/SRTCP: session keys, per-SSRC rollover counters and
//! replay windows, all in fixed-size tables so no packet allocates.
use aes::cipher::{generic_array::GenericArray, BlockEncrypt, KeyInit};
use hmac::{Hmac, Mac};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};
use sha1::Sha1;

use super::kdf::{derive_session_key, Label};
use crate::dtls::{SrtpKeySalt, SrtpProfile};

/// Why a packet could not be protected or unprotected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SrtpError {
    #[error("packet too short or malformed header")]
    Malformed,
    #[error("buffer has no room for the auth tag")]
    BufferTooSmall,
    #[error("authentication failed")]
    AuthFailed,
    #[error("replayed packet")]
    Replayed,
    #[error("master key or salt has the wrong length for the profile")]
    BadKey,
}

/// SSRCs one direction keeps state for: a subscriber transport carries one
/// per down-track (a 32-person meeting is 62), a publisher up to 3 layers + RTX
/// per track.
const SLOTS: usize = 64;
const CM_TAG: usize = 10;
const GCM_TAG: usize = 16;

#[derive(Clone, Copy, Default)]
struct Ssrc {
    used: bool,
    ssrc: u32,
    roc: u32,
    last_seq: u16,
    /// Highest accepted RTP index and the 64-packet window behind it.
    rtp_top: u64,
    rtp_window: u64,
    rtp_seen: bool,
    /// Next SRTCP index to send / highest received.
    rtcp_index: u32,
    rtcp_window: u64,
    rtcp_seen: bool,
}

// One Cipher per context, built once and never moved on the hot path;
// boxing the larger variant would add a pointer chase to every packet.
#[allow(clippy::large_enum_variant)]
enum Cipher {
    Cm {
        rtp: aes::Aes128,
        rtcp: aes::Aes128,
        rtp_auth: Hmac<Sha1>,
        rtcp_auth: Hmac<Sha1>,
    },
    Gcm {
        rtp: LessSafeKey,
        rtcp: LessSafeKey,
    },
}

/// SRTP state for one direction of one transport.
pub struct SrtpContext {
    cipher: Cipher,
    rtp_salt: [u8; 14],
    rtcp_salt: [u8; 14],
    table: [Ssrc; SLOTS],
    next_evict: usize,
    replay_protection: bool,
    /// Packets dropped as replays.
    pub replays: u64,
}

impl SrtpContext {
    /// Derives the session keys for `profile` from a DTLS-exported key/salt.
    pub fn new(profile: SrtpProfile, master: SrtpKeySalt<'_>) -> Result<Self, SrtpError> {
        let (key, salt) = (master.key, master.salt);
        if key.len() != profile.key_len() || salt.len() != profile.salt_len() {
            return Err(SrtpError::BadKey);
        }
        let mut rtp_salt = [0u8; 14];
        let mut rtcp_salt = [0u8; 14];
        let sl = salt.len();
        derive(key, salt, Label::RtpSalt, &mut rtp_salt[..sl])?;
        derive(key, salt, Label::RtcpSalt, &mut rtcp_salt[..sl])?;
        let cipher = match profile {
            SrtpProfile::Aes128CmHmacSha1_80 => {
                let mut ek = [0u8; 16];
                let mut ck = [0u8; 16];
                let mut ea = [0u8; 20];
                let mut ca = [0u8; 20];
                derive(key, salt, Label::RtpEncryption, &mut ek)?;
                derive(key, salt, Label::RtcpEncryption, &mut ck)?;
                derive(key, salt, Label::RtpAuth, &mut ea)?;
                derive(key, salt, Label::RtcpAuth, &mut ca)?;
                Cipher::Cm {
                    rtp: aes::Aes128::new(GenericArray::from_slice(&ek)),
                    rtcp: aes::Aes128::new(GenericArray::from_slice(&ck)),
                    rtp_auth: <Hmac<Sha1> as Mac>::new_from_slice(&ea)
                        .map_err(|_| SrtpError::BadKey)?,
                    rtcp_auth: <Hmac<Sha1> as Mac>::new_from_slice(&ca)
                        .map_err(|_| SrtpError::BadKey)?,
                }
            }
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => {
                let alg = if key.len() == 16 {
                    &AES_128_GCM
                } else {
                    &AES_256_GCM
                };
                let mut ek = [0u8; 32];
                let mut ck = [0u8; 32];
                let kl = key.len();
                derive(key, salt, Label::RtpEncryption, &mut ek[..kl])?;
                derive(key, salt, Label::RtcpEncryption, &mut ck[..kl])?;
                let mk = |k: &[u8]| {
                    UnboundKey::new(alg, k)
                        .map(LessSafeKey::new)
                        .map_err(|_| SrtpError::BadKey)
                };
                Cipher::Gcm {
                    rtp: mk(&ek[..kl])?,
                    rtcp: mk(&ck[..kl])?,
                }
            }
        };
        Ok(Self {
            cipher,
            rtp_salt,
            rtcp_salt,
            table: [Ssrc::default(); SLOTS],
            next_evict: 0,
            replay_protection: true,
            replays: 0,
        })
    }

    /// Turns the 64-packet replay window on or off (on by default).
    pub fn set_replay_protection(&mut self, on: bool) {
        self.replay_protection = on;
    }

    fn slot(&mut self, ssrc: u32) -> &mut Ssrc {
        let i = match self.table.iter().position(|s| s.used && s.ssrc == ssrc) {
            Some(i) => i,
            None => {
                let i = self.table.iter().position(|s| !s.used).unwrap_or_else(|| {
                    let i = self.next_evict;
                    self.next_evict = (i + 1) % SLOTS;
                    i
                });
                self.table[i] = Ssrc {
                    used: true,
                    ssrc,
                    ..Ssrc::default()
                };
                i
            }
        };
        &mut self.table[i]
    }

    /// Encrypts the RTP payload of `buf[..len]` in place and appends the tag.
    /// Returns the protected length.
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        let pkt = buf.get(..len).ok_or(SrtpError::BufferTooSmall)?;
        let hl = rtp_header_len(pkt)?;
        let seq = u16::from_be_bytes([pkt[2], pkt[3]]);
        let ssrc = u32::from_be_bytes([pkt[8], pkt[9], pkt[10], pkt[11]]);
        let tag_len = self.tag_len();
        if buf.len() < len + tag_len {
            return Err(SrtpError::BufferTooSmall);
        }
        let s = self.slot(ssrc);
        let roc = if s.rtp_seen {
            estimate_roc(s.roc, s.last_seq, seq)
        } else {
            0
        };
        if !s.rtp_seen
            || (u64::from(roc) << 16 | u64::from(seq))
                > (u64::from(s.roc) << 16 | u64::from(s.last_seq))
        {
            s.roc = roc;
            s.last_seq = seq;
            s.rtp_seen = true;
        }
        let salt = self.rtp_salt;
        match &self.cipher {
            Cipher::Cm { rtp, rtp_auth, .. } => {
                let iv = cm_iv(&salt, ssrc, (u64::from(roc) << 16) | u64::from(seq));
                ctr_xor(rtp, &iv, &mut buf[hl..len]);
                let mut mac = rtp_auth.clone();
                mac.update(&buf[..len]);
                mac.update(&roc.to_be_bytes());
                let tag = mac.finalize().into_bytes();
                buf[len..len + CM_TAG].copy_from_slice(&tag[..CM_TAG]);
            }
            Cipher::Gcm { rtp, .. } => {
                let nonce = gcm_nonce(&salt, ssrc, roc, seq);
                let (head, rest) = buf.split_at_mut(hl);
                let t = rtp
                    .seal_in_place_separate_tag(nonce, Aad::from(&head[..]), &mut rest[..len - hl])
                    .map_err(|_| SrtpError::Malformed)?;
                buf[len..len + GCM_TAG].copy_from_slice(t.as_ref());
            }
        }
        Ok(len + tag_len)
    }

    /// Verifies and decrypts an SRTP packet in place; returns the RTP length.
    pub fn unprotect_rtp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        let tag_len = self.tag_len();
        let hl = rtp_header_len(buf)?;
        if buf.len() < hl + tag_len {
            return Err(SrtpError::Malformed);
        }
        let len = buf.len() - tag_len;
        let seq = u16::from_be_bytes([buf[2], buf[3]]);
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let replay = self.replay_protection;
        let s = *self.slot(ssrc);
        let roc = if s.rtp_seen {
            estimate_roc(s.roc, s.last_seq, seq)
        } else {
            0
        };
        let index = (u64::from(roc) << 16) | u64::from(seq);
        if replay && s.rtp_seen && is_replay(s.rtp_top, s.rtp_window, index) {
            self.replays += 1;
            return Err(SrtpError::Replayed);
        }
        let salt = self.rtp_salt;
        match &self.cipher {
            Cipher::Cm { rtp, rtp_auth, .. } => {
                let mut mac = rtp_auth.clone();
                mac.update(&buf[..len]);
                mac.update(&roc.to_be_bytes());
                let tag = mac.finalize().into_bytes();
                if !ct_eq(&tag[..CM_TAG], &buf[len..]) {
                    return Err(SrtpError::AuthFailed);
                }
                let iv = cm_iv(&salt, ssrc, index);
                ctr_xor(rtp, &iv, &mut buf[hl..len]);
            }
            Cipher::Gcm { rtp, .. } => {
                let nonce = gcm_nonce(&salt, ssrc, roc, seq);
                let (head, rest) = buf.split_at_mut(hl);
                rtp.open_in_place(nonce, Aad::from(&head[..]), rest)
                    .map_err(|_| SrtpError::AuthFailed)?;
            }
        }
        let s = self.slot(ssrc);
        let (top, window) = accept(s.rtp_seen, s.rtp_top, s.rtp_window, index);
        s.rtp_top = top;
        s.rtp_window = window;
        if !s.rtp_seen || index >= (u64::from(s.roc) << 16 | u64::from(s.last_seq)) {
            s.roc = roc;
            s.last_seq = seq;
        }
        s.rtp_seen = true;
        Ok(len)
    }

    /// Encrypts a compound RTCP packet in place and appends the E-bit/index
    /// and the tag; returns the SRTCP length.
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        let pkt = buf.get(..len).ok_or(SrtpError::BufferTooSmall)?;
        if pkt.len() < 8 {
            return Err(SrtpError::Malformed);
        }
        let ssrc = u32::from_be_bytes([pkt[4], pkt[5], pkt[6], pkt[7]]);
        let tag_len = self.tag_len();
        if buf.len() < len + 4 + tag_len {
            return Err(SrtpError::BufferTooSmall);
        }
        let s = self.slot(ssrc);
        // webrtc-srtp (and libsrtp) send the first SRTCP packet with index 1.
        s.rtcp_index = s.rtcp_index.wrapping_add(1) & 0x7fff_ffff;
        let index = s.rtcp_index;
        let e_index = (index | 0x8000_0000).to_be_bytes();
        let salt = self.rtcp_salt;
        match &self.cipher {
            Cipher::Cm {
                rtcp, rtcp_auth, ..
            } => {
                let iv = cm_iv(&salt, ssrc, u64::from(index));
                ctr_xor(rtcp, &iv, &mut buf[8..len]);
                buf[len..len + 4].copy_from_slice(&e_index);
                let mut mac = rtcp_auth.clone();
                mac.update(&buf[..len + 4]);
                let tag = mac.finalize().into_bytes();
                buf[len + 4..len + 4 + CM_TAG].copy_from_slice(&tag[..CM_TAG]);
            }
            Cipher::Gcm { rtcp, .. } => {
                let nonce = gcm_rtcp_nonce(&salt, ssrc, index);
                let mut aad = [0u8; 12];
                aad[..8].copy_from_slice(&buf[..8]);
                aad[8..].copy_from_slice(&e_index);
                let t = rtcp
                    .seal_in_place_separate_tag(nonce, Aad::from(aad), &mut buf[8..len])
                    .map_err(|_| SrtpError::Malformed)?;
                buf[len..len + GCM_TAG].copy_from_slice(t.as_ref());
                buf[len + GCM_TAG..len + GCM_TAG + 4].copy_from_slice(&e_index);
            }
        }
        Ok(len + 4 + tag_len)
    }

    /// Verifies and decrypts an SRTCP packet in place; returns the RTCP length.
    pub fn unprotect_rtcp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        let tag_len = self.tag_len();
        if buf.len() < 8 + 4 + tag_len {
            return Err(SrtpError::Malformed);
        }
        let ssrc = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
        let n = buf.len();
        let (idx_at, len) = match self.cipher {
            Cipher::Cm { .. } => (n - tag_len - 4, n - tag_len - 4),
            Cipher::Gcm { .. } => (n - 4, n - 4 - tag_len),
        };
        let e_index = [
            buf[idx_at],
            buf[idx_at + 1],
            buf[idx_at + 2],
            buf[idx_at + 3],
        ];
        let raw = u32::from_be_bytes(e_index);
        let encrypted = raw & 0x8000_0000 != 0;
        let index = raw & 0x7fff_ffff;
        let replay = self.replay_protection;
        let s = *self.slot(ssrc);
        if replay && s.rtcp_seen && is_replay(s.rtp_top_rtcp(), s.rtcp_window, u64::from(index)) {
            self.replays += 1;
            return Err(SrtpError::Replayed);
        }
        let salt = self.rtcp_salt;
        match &self.cipher {
            Cipher::Cm {
                rtcp, rtcp_auth, ..
            } => {
                let mut mac = rtcp_auth.clone();
                mac.update(&buf[..len + 4]);
                let tag = mac.finalize().into_bytes();
                if !ct_eq(&tag[..CM_TAG], &buf[len + 4..]) {
                    return Err(SrtpError::AuthFailed);
                }
                if encrypted {
                    let iv = cm_iv(&salt, ssrc, u64::from(index));
                    ctr_xor(rtcp, &iv, &mut buf[8..len]);
                }
            }
            Cipher::Gcm { rtcp, .. } => {
                let nonce = gcm_rtcp_nonce(&salt, ssrc, index);
                let mut aad = [0u8; 12];
                aad[..8].copy_from_slice(&buf[..8]);
                aad[8..].copy_from_slice(&e_index);
                rtcp.open_in_place(nonce, Aad::from(aad), &mut buf[8..len + GCM_TAG])
                    .map_err(|_| SrtpError::AuthFailed)?;
            }
        }
        let s = self.slot(ssrc);
        let (top, window) = accept(
            s.rtcp_seen,
            u64::from(s.rtcp_top_value()),
            s.rtcp_window,
            u64::from(index),
        );
        s.set_rtcp_top(top as u32);
        s.rtcp_window = window;
        s.rtcp_seen = true;
        Ok(len)
    }

    fn tag_len(&self) -> usize {
        match self.cipher {
            Cipher::Cm { .. } => CM_TAG,
            Cipher::Gcm { .. } => GCM_TAG,
        }
    }
}

impl Ssrc {
    // The receive side keeps the highest SRTCP index in `rtcp_index`.
    fn rtp_top_rtcp(&self) -> u64 {
        u64::from(self.rtcp_index)
    }
    fn rtcp_top_value(&self) -> u32 {
        self.rtcp_index
    }
    fn set_rtcp_top(&mut self, v: u32) {
        self.rtcp_index = v;
    }
}

fn derive(key: &[u8], salt: &[u8], label: Label, out: &mut [u8]) -> Result<(), SrtpError> {
    if derive_session_key(key, salt, label, out) {
        Ok(())
    } else {
        Err(SrtpError::BadKey)
    }
}

/// RTP header length including CSRCs and the header extension.
fn rtp_header_len(pkt: &[u8]) -> Result<usize, SrtpError> {
    let b0 = *pkt.first().ok_or(SrtpError::Malformed)?;
    if b0 >> 6 != 2 || pkt.len() < 12 {
        return Err(SrtpError::Malformed);
    }
    let mut hl = 12 + 4 * usize::from(b0 & 0x0f);
    if b0 & 0x10 != 0 {
        let ext = pkt.get(hl..hl + 4).ok_or(SrtpError::Malformed)?;
        hl += 4 + 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
    }
    if hl > pkt.len() {
        return Err(SrtpError::Malformed);
    }
    Ok(hl)
}

/// RFC 3711 §3.3.1 rollover guess for a received sequence number.
fn estimate_roc(roc: u32, last: u16, seq: u16) -> u32 {
    if last < 0x8000 {
        if seq > last && seq - last > 0x8000 {
            roc.wrapping_sub(1)
        } else {
            roc
        }
    } else if last - 0x8000 > seq {
        roc.wrapping_add(1)
    } else {
        roc
    }
}

fn is_replay(top: u64, window: u64, index: u64) -> bool {
    if index > top {
        return false;
    }
    let delta = top - index;
    delta >= 64 || window & (1 << delta) != 0
}

fn accept(seen: bool, top: u64, window: u64, index: u64) -> (u64, u64) {
    if !seen {
        return (index, 1);
    }
    if index > top {
        let shift = index - top;
        let w = if shift >= 64 { 0 } else { window << shift };
        (index, w | 1)
    } else {
        (top, window | (1 << (top - index)))
    }
}

fn cm_iv(salt: &[u8; 14], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[4..8].copy_from_slice(&ssrc.to_be_bytes());
    iv[8..14].copy_from_slice(&index.to_be_bytes()[2..8]);
    for (a, b) in iv.iter_mut().zip(salt.iter()) {
        *a ^= b;
    }
    iv
}

fn gcm_nonce(salt: &[u8; 14], ssrc: u32, roc: u32, seq: u16) -> Nonce {
    let mut n = [0u8; 12];
    n[2..6].copy_from_slice(&ssrc.to_be_bytes());
    n[6..10].copy_from_slice(&roc.to_be_bytes());
    n[10..12].copy_from_slice(&seq.to_be_bytes());
    for (a, b) in n.iter_mut().zip(salt.iter()) {
        *a ^= b;
    }
    Nonce::assume_unique_for_key(n)
}

fn gcm_rtcp_nonce(salt: &[u8; 14], ssrc: u32, index: u32) -> Nonce {
    let mut n = [0u8; 12];
    n[2..6].copy_from_slice(&ssrc.to_be_bytes());
    n[8..12].copy_from_slice(&index.to_be_bytes());
    for (a, b) in n.iter_mut().zip(salt.iter()) {
        *a ^= b;
    }
    Nonce::assume_unique_for_key(n)
}

/// AES counter mode with the 16-bit block counter in the low bytes of the IV.
/// AES counter mode over `data` (RFC 3711 4.1.1). Keystream blocks are made
/// eight at a time with `encrypt_blocks`, which lets the `aes` crate
/// pipeline AES-NI rounds: one block per call measured 2.69 µs for a 1200 B
/// packet, batches of eight bring it next to webrtc-srtp (benches/srtp.rs).
fn ctr_xor(cipher: &aes::Aes128, iv: &[u8; 16], data: &mut [u8]) {
    const BATCH: usize = 8;
    let base = u16::from_be_bytes([iv[14], iv[15]]);
    let mut blocks = [GenericArray::from([0u8; 16]); BATCH];
    for (n, chunk) in data.chunks_mut(16 * BATCH).enumerate() {
        let count = chunk.len().div_ceil(16);
        for (j, b) in blocks.iter_mut().take(count).enumerate() {
            let ctr = base.wrapping_add((n * BATCH + j) as u16);
            b.copy_from_slice(iv);
            b[14..16].copy_from_slice(&ctr.to_be_bytes());
        }
        cipher.encrypt_blocks(&mut blocks[..count]);
        for (piece, key) in chunk.chunks_mut(16).zip(blocks.iter()) {
            for (d, k) in piece.iter_mut().zip(key.iter()) {
                *d ^= k;
            }
        }
    }
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
