//! The slice of STUN (RFC 8489) that an ICE-lite server needs: parse and
//! verify a Binding Request, write a Binding Success Response. The client
//! side of a check (write a request, read a success) is here too, for the
//! load generator that plays the browser against us.
//!
//! Hand-rolled rather than built on `stun-rs` because this runs for every
//! connectivity and consent check on the worker's hot loop: `stun-rs`
//! decodes into a `StunMessage` holding a `Vec` of attributes and owned
//! `String`s (USERNAME goes through PRECIS), and encodes from such a message,
//! so each check would allocate several times. Here parsing borrows the
//! datagram, the response is written into the caller's buffer, and the
//! HMAC key schedule is computed once per transport ([`IntegrityKey`]).
//! `stun-rs` is still the independent encoder/decoder in the tests.
//!
//! Every read is length-checked; malformed input returns [`StunError`].

use hmac::{Hmac, Mac};
use sha1::Sha1;
use std::net::{IpAddr, SocketAddr};

/// RFC 8489 section 5: fixed magic cookie in every message.
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// Size of the STUN header.
pub const HEADER_LEN: usize = 20;
/// Upper bound of a Binding Success Response we write (IPv6 mapped address).
pub const MAX_RESPONSE_LEN: usize = HEADER_LEN + 24 + 24 + 8;

const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;

const ATTR_USERNAME: u16 = 0x0006;
const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;
const ATTR_PRIORITY: u16 = 0x0024;
const ATTR_USE_CANDIDATE: u16 = 0x0025;
const ATTR_FINGERPRINT: u16 = 0x8028;
const ATTR_ICE_CONTROLLED: u16 = 0x8029;
const ATTR_ICE_CONTROLLING: u16 = 0x802A;

/// RFC 8489 section 14.7: the CRC-32 is XORed with this ("STUN").
const FINGERPRINT_XOR: u32 = 0x5354_554E;
const MI_LEN: usize = 20;
const MI_ATTR_LEN: usize = 4 + MI_LEN;
const FP_ATTR_LEN: usize = 4 + 4;
/// RFC 8489 section 14.3: USERNAME is at most 509 bytes.
const MAX_USERNAME_LEN: usize = 513;

/// Why a datagram was not accepted as a Binding Request, or a response
/// could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StunError {
    /// Shorter than a STUN header or than its own length field says.
    #[error("STUN message truncated")]
    Truncated,
    /// Top bits set or wrong magic cookie: not an RFC 5389+ STUN message.
    #[error("not a STUN message")]
    NotStun,
    /// Length field not a multiple of 4 or not matching the datagram.
    #[error("STUN length field does not match the datagram")]
    BadLength,
    /// A STUN message other than a Binding Request (ICE-lite only answers).
    #[error("unsupported STUN message type {0:#06x}")]
    NotBindingRequest(u16),
    /// An attribute's length runs past the end of the message.
    #[error("STUN attribute overruns the message")]
    AttributeOverrun,
    /// A known attribute with the wrong value length.
    #[error("STUN attribute {0:#06x} has a bad length")]
    BadAttribute(u16),
    /// An attribute follows FINGERPRINT, which must be last.
    #[error("attribute after FINGERPRINT")]
    AttributeAfterFingerprint,
    /// No USERNAME: a connectivity check must carry one (RFC 8445 7.2.2).
    #[error("no USERNAME")]
    MissingUsername,
    /// No MESSAGE-INTEGRITY: a check must be authenticated.
    #[error("no MESSAGE-INTEGRITY")]
    MissingIntegrity,
    /// No FINGERPRINT: every ICE stack sends it on a multiplexed port.
    #[error("no FINGERPRINT")]
    MissingFingerprint,
    /// FINGERPRINT does not match the CRC-32 of the message.
    #[error("FINGERPRINT mismatch")]
    BadFingerprint,
    /// MESSAGE-INTEGRITY does not match our password (a 401 in STUN terms).
    #[error("MESSAGE-INTEGRITY mismatch")]
    BadIntegrity,
    /// The caller's output buffer cannot hold the response.
    #[error("output buffer too small")]
    BufferTooSmall,
}

/// Who the peer says it is in the ICE role negotiation (RFC 8445 7.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerRole {
    /// ICE-CONTROLLING with the peer's tie-breaker.
    Controlling(u64),
    /// ICE-CONTROLLED with the peer's tie-breaker.
    Controlled(u64),
}

/// A Binding Request, borrowed from the datagram it was parsed from.
///
/// Parsing checks structure and FINGERPRINT only; call
/// [`BindingRequest::verify_integrity`] before trusting any field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindingRequest<'a> {
    /// The 96-bit transaction id to echo in the response.
    pub transaction_id: [u8; 12],
    /// USERNAME as sent: `"<receiver ufrag>:<sender ufrag>"`.
    pub username: &'a [u8],
    /// PRIORITY of the peer's candidate, if sent.
    pub priority: Option<u32>,
    /// USE-CANDIDATE present: the controlling agent nominates this pair.
    pub use_candidate: bool,
    /// ICE-CONTROLLING / ICE-CONTROLLED, if sent.
    pub role: Option<PeerRole>,
    /// The whole message, for the integrity check.
    message: &'a [u8],
    /// Offset of the MESSAGE-INTEGRITY attribute header.
    integrity_at: usize,
}

impl<'a> BindingRequest<'a> {
    /// The part of USERNAME before the first `:` (the receiver's ufrag,
    /// which is ours).
    #[must_use]
    pub fn local_ufrag(&self) -> &'a [u8] {
        split_username(self.username).0
    }

    /// The part of USERNAME after the first `:` (the sender's ufrag), empty
    /// when there is no `:`.
    #[must_use]
    pub fn remote_ufrag(&self) -> &'a [u8] {
        split_username(self.username).1
    }

    /// Checks MESSAGE-INTEGRITY against `key` in constant time.
    pub fn verify_integrity(&self, key: &IntegrityKey) -> Result<(), StunError> {
        let at = self.integrity_at;
        let header = self.message.get(..HEADER_LEN).ok_or(StunError::Truncated)?;
        let body = self
            .message
            .get(HEADER_LEN..at)
            .ok_or(StunError::Truncated)?;
        let tag = self
            .message
            .get(at + 4..at + MI_ATTR_LEN)
            .ok_or(StunError::Truncated)?;
        // RFC 8489 14.5: the HMAC covers the message up to MESSAGE-INTEGRITY
        // with the length field counting up to and including it.
        let mut hdr = [0u8; HEADER_LEN];
        hdr.copy_from_slice(header);
        let len = (at + MI_ATTR_LEN - HEADER_LEN) as u16;
        hdr[2..4].copy_from_slice(&len.to_be_bytes());
        let mut mac = key.mac.clone();
        mac.update(&hdr);
        mac.update(body);
        // `verify_slice` compares with `subtle`'s constant-time equality.
        mac.verify_slice(tag).map_err(|_| StunError::BadIntegrity)
    }
}

fn split_username(username: &[u8]) -> (&[u8], &[u8]) {
    match username.iter().position(|&b| b == b':') {
        Some(i) => (
            username.get(..i).unwrap_or_default(),
            username.get(i + 1..).unwrap_or_default(),
        ),
        None => (username, &[]),
    }
}

/// HMAC-SHA1 keyed with a short-term password (RFC 8489 9.1.1: the key is
/// the password itself; ICE passwords are ASCII so OpaqueString is a no-op).
/// The key schedule is done once; each use clones the keyed state.
#[derive(Clone)]
pub struct IntegrityKey {
    mac: Hmac<Sha1>,
}

impl IntegrityKey {
    /// Keys HMAC-SHA1 with `password`.
    #[must_use]
    pub fn new(password: &[u8]) -> IntegrityKey {
        // HMAC accepts keys of any length (longer ones are hashed), so this
        // never fails; the fallback keeps the function total regardless.
        let mac = <Hmac<Sha1> as Mac>::new_from_slice(password)
            .unwrap_or_else(|_| <Hmac<Sha1> as hmac::digest::KeyInit>::new(&Default::default()));
        IntegrityKey { mac }
    }

    fn sign(&self, header: &[u8; HEADER_LEN], body: &[u8]) -> [u8; MI_LEN] {
        let mut mac = self.mac.clone();
        mac.update(header);
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for IntegrityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntegrityKey(..)")
    }
}

fn be16(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn be32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be64(buf: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = buf.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

/// Checks the header of a Binding Request: type, cookie, and that the
/// length field matches the datagram exactly (one message per datagram).
fn check_header(pkt: &[u8]) -> Result<(), StunError> {
    if pkt.len() < HEADER_LEN {
        return Err(StunError::Truncated);
    }
    let msg_type = be16(pkt, 0).ok_or(StunError::Truncated)?;
    if msg_type & 0xC000 != 0 || be32(pkt, 4) != Some(MAGIC_COOKIE) {
        return Err(StunError::NotStun);
    }
    let len = usize::from(be16(pkt, 2).ok_or(StunError::Truncated)?);
    if len % 4 != 0 {
        return Err(StunError::BadLength);
    }
    if HEADER_LEN + len > pkt.len() {
        return Err(StunError::Truncated);
    }
    if HEADER_LEN + len != pkt.len() {
        return Err(StunError::BadLength);
    }
    if msg_type != BINDING_REQUEST {
        return Err(StunError::NotBindingRequest(msg_type));
    }
    Ok(())
}

/// One attribute: type, value, and offset of its header.
struct Attr<'a> {
    typ: u16,
    value: &'a [u8],
    at: usize,
}

/// Walks the attributes after the header; yields `Err` once and stops on
/// an overrun.
struct Attrs<'a> {
    pkt: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, StunError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.pkt.len() {
            return None;
        }
        let at = self.pos;
        let parsed = (|| {
            let typ = be16(self.pkt, at)?;
            let len = usize::from(be16(self.pkt, at + 2)?);
            let value = self.pkt.get(at + 4..at + 4 + len)?;
            // Values are padded to 4 bytes; the padding must be there too.
            let next = at + 4 + len.div_ceil(4) * 4;
            if next > self.pkt.len() {
                return None;
            }
            Some((Attr { typ, value, at }, next))
        })();
        match parsed {
            Some((attr, next)) => {
                self.pos = next;
                Some(Ok(attr))
            }
            None => {
                self.failed = true;
                Some(Err(StunError::AttributeOverrun))
            }
        }
    }
}

fn attrs(pkt: &[u8]) -> Attrs<'_> {
    Attrs {
        pkt,
        pos: HEADER_LEN,
        failed: false,
    }
}

/// Fast pre-check for routing: the receiver's ufrag (ours) from USERNAME
/// of a Binding Request, without verifying anything. A worker uses it to
/// find the transport for a datagram from an address not bound yet; the
/// transport then fully parses and verifies the request.
#[must_use]
pub fn username_ufrag(pkt: &[u8]) -> Option<&[u8]> {
    check_header(pkt).ok()?;
    for attr in attrs(pkt) {
        let attr = attr.ok()?;
        if attr.typ == ATTR_USERNAME {
            return Some(split_username(attr.value).0);
        }
    }
    None
}

/// Parses a Binding Request and checks its FINGERPRINT. Does not check
/// MESSAGE-INTEGRITY (that needs the transport's password): call
/// [`BindingRequest::verify_integrity`] next.
pub fn parse_binding_request(pkt: &[u8]) -> Result<BindingRequest<'_>, StunError> {
    check_header(pkt)?;
    let mut transaction_id = [0u8; 12];
    transaction_id.copy_from_slice(pkt.get(8..HEADER_LEN).ok_or(StunError::Truncated)?);

    let mut username = None;
    let mut priority = None;
    let mut use_candidate = false;
    let mut role = None;
    let mut integrity_at = None;
    let mut fingerprint_at = None;

    for attr in attrs(pkt) {
        let attr = attr?;
        if fingerprint_at.is_some() {
            return Err(StunError::AttributeAfterFingerprint);
        }
        if attr.typ == ATTR_FINGERPRINT {
            if attr.value.len() != 4 {
                return Err(StunError::BadAttribute(attr.typ));
            }
            fingerprint_at = Some(attr.at);
            continue;
        }
        // RFC 8489 14.5: attributes after MESSAGE-INTEGRITY (other than
        // FINGERPRINT) are not covered by it and must be ignored.
        if integrity_at.is_some() {
            continue;
        }
        match attr.typ {
            ATTR_USERNAME => {
                if attr.value.len() > MAX_USERNAME_LEN {
                    return Err(StunError::BadAttribute(attr.typ));
                }
                username = Some(attr.value);
            }
            ATTR_MESSAGE_INTEGRITY => {
                if attr.value.len() != MI_LEN {
                    return Err(StunError::BadAttribute(attr.typ));
                }
                integrity_at = Some(attr.at);
            }
            ATTR_PRIORITY => {
                priority = Some(be32(attr.value, 0).ok_or(StunError::BadAttribute(attr.typ))?);
            }
            ATTR_USE_CANDIDATE => {
                if !attr.value.is_empty() {
                    return Err(StunError::BadAttribute(attr.typ));
                }
                use_candidate = true;
            }
            ATTR_ICE_CONTROLLING => {
                let tie = be64(attr.value, 0).ok_or(StunError::BadAttribute(attr.typ))?;
                role = Some(PeerRole::Controlling(tie));
            }
            ATTR_ICE_CONTROLLED => {
                let tie = be64(attr.value, 0).ok_or(StunError::BadAttribute(attr.typ))?;
                role = Some(PeerRole::Controlled(tie));
            }
            // Anything else (SOFTWARE, GOOG-NETWORK-INFO, ...) is ignored:
            // a lite server has no use for it.
            _ => {}
        }
    }

    let fingerprint_at = fingerprint_at.ok_or(StunError::MissingFingerprint)?;
    verify_fingerprint(pkt, fingerprint_at)?;
    let username = username.ok_or(StunError::MissingUsername)?;
    let integrity_at = integrity_at.ok_or(StunError::MissingIntegrity)?;

    Ok(BindingRequest {
        transaction_id,
        username,
        priority,
        use_candidate,
        role,
        message: pkt,
        integrity_at,
    })
}

fn fingerprint_of(message_before_fp: &[u8]) -> u32 {
    crc32fast::hash(message_before_fp) ^ FINGERPRINT_XOR
}

fn verify_fingerprint(pkt: &[u8], at: usize) -> Result<(), StunError> {
    let covered = pkt.get(..at).ok_or(StunError::Truncated)?;
    let sent = be32(pkt, at + 4).ok_or(StunError::Truncated)?;
    if fingerprint_of(covered) == sent {
        Ok(())
    } else {
        Err(StunError::BadFingerprint)
    }
}

/// Length of the Binding Success Response for a peer at `mapped`.
#[must_use]
pub fn binding_success_len(mapped: &SocketAddr) -> usize {
    let xma = match mapped {
        SocketAddr::V4(_) => 4 + 8,
        SocketAddr::V6(_) => 4 + 20,
    };
    HEADER_LEN + xma + MI_ATTR_LEN + FP_ATTR_LEN
}

/// Writes a Binding Success Response into `out`: the request's transaction
/// id, XOR-MAPPED-ADDRESS of `mapped` (the address the request came from),
/// MESSAGE-INTEGRITY with `key` (our password) and FINGERPRINT. Returns the
/// number of bytes written. No allocation.
pub fn write_binding_success(
    out: &mut [u8],
    transaction_id: &[u8; 12],
    mapped: SocketAddr,
    key: &IntegrityKey,
) -> Result<usize, StunError> {
    let total = binding_success_len(&mapped);
    let out = out.get_mut(..total).ok_or(StunError::BufferTooSmall)?;
    // From here `out` is exactly `total` bytes and every index below is a
    // fixed offset inside that layout, so the slicing cannot panic.

    // Header; the length field is patched below for MI and again for FP.
    out[0..2].copy_from_slice(&BINDING_SUCCESS.to_be_bytes());
    out[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    out[8..HEADER_LEN].copy_from_slice(transaction_id);

    // XOR-MAPPED-ADDRESS (RFC 8489 14.2): port XOR the cookie's top half,
    // address XOR the cookie (v4) or cookie + transaction id (v6).
    let mut pos = HEADER_LEN;
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let xport = mapped.port() ^ (MAGIC_COOKIE >> 16) as u16;
    match mapped.ip() {
        IpAddr::V4(ip) => {
            out[pos..pos + 2].copy_from_slice(&ATTR_XOR_MAPPED_ADDRESS.to_be_bytes());
            out[pos + 2..pos + 4].copy_from_slice(&8u16.to_be_bytes());
            out[pos + 4..pos + 6].copy_from_slice(&[0x00, 0x01]);
            out[pos + 6..pos + 8].copy_from_slice(&xport.to_be_bytes());
            for (i, b) in ip.octets().iter().enumerate() {
                out[pos + 8 + i] = b ^ cookie[i];
            }
            pos += 12;
        }
        IpAddr::V6(ip) => {
            out[pos..pos + 2].copy_from_slice(&ATTR_XOR_MAPPED_ADDRESS.to_be_bytes());
            out[pos + 2..pos + 4].copy_from_slice(&20u16.to_be_bytes());
            out[pos + 4..pos + 6].copy_from_slice(&[0x00, 0x02]);
            out[pos + 6..pos + 8].copy_from_slice(&xport.to_be_bytes());
            let mut mask = [0u8; 16];
            mask[..4].copy_from_slice(&cookie);
            mask[4..].copy_from_slice(transaction_id);
            for (i, b) in ip.octets().iter().enumerate() {
                out[pos + 8 + i] = b ^ mask[i];
            }
            pos += 24;
        }
    }

    seal(out, pos, key);
    Ok(total)
}

/// Ends a message whose attributes fill `out[..pos]` and whose buffer is
/// exactly `out.len()` bytes: MESSAGE-INTEGRITY over the message so far
/// (the length field counting up to and including it), then FINGERPRINT
/// over everything (the length field counting the whole message).
fn seal(out: &mut [u8], pos: usize, key: &IntegrityKey) {
    let total = out.len();
    let mi_len = (pos + MI_ATTR_LEN - HEADER_LEN) as u16;
    out[2..4].copy_from_slice(&mi_len.to_be_bytes());
    let mut header = [0u8; HEADER_LEN];
    header.copy_from_slice(&out[..HEADER_LEN]);
    let tag = key.sign(&header, &out[HEADER_LEN..pos]);
    out[pos..pos + 2].copy_from_slice(&ATTR_MESSAGE_INTEGRITY.to_be_bytes());
    out[pos + 2..pos + 4].copy_from_slice(&(MI_LEN as u16).to_be_bytes());
    out[pos + 4..pos + MI_ATTR_LEN].copy_from_slice(&tag);
    let pos = pos + MI_ATTR_LEN;
    let full_len = (total - HEADER_LEN) as u16;
    out[2..4].copy_from_slice(&full_len.to_be_bytes());
    let crc = fingerprint_of(&out[..pos]);
    out[pos..pos + 2].copy_from_slice(&ATTR_FINGERPRINT.to_be_bytes());
    out[pos + 2..pos + 4].copy_from_slice(&4u16.to_be_bytes());
    out[pos + 4..pos + 8].copy_from_slice(&crc.to_be_bytes());
}

/// Length of the Binding Request [`write_binding_request`] writes for a
/// `username_len`-byte USERNAME.
#[must_use]
pub fn binding_request_len(username_len: usize, use_candidate: bool) -> usize {
    HEADER_LEN
        + 4
        + username_len.div_ceil(4) * 4
        + (4 + 4)
        + (4 + 8)
        + if use_candidate { 4 } else { 0 }
        + MI_ATTR_LEN
        + FP_ATTR_LEN
}

/// The client (controlling agent) side of a connectivity check, for tools
/// that play the browser against us (the load generator): writes a Binding
/// Request with USERNAME (`"<server ufrag>:<our ufrag>"`), PRIORITY,
/// ICE-CONTROLLING with `tie_breaker`, USE-CANDIDATE when nominating,
/// MESSAGE-INTEGRITY keyed with the server's password and FINGERPRINT
/// (RFC 8445 7.1.1-7.1.2). Returns the number of bytes written.
pub fn write_binding_request(
    out: &mut [u8],
    transaction_id: &[u8; 12],
    username: &[u8],
    priority: u32,
    tie_breaker: u64,
    use_candidate: bool,
    key: &IntegrityKey,
) -> Result<usize, StunError> {
    if username.len() > MAX_USERNAME_LEN {
        return Err(StunError::BadAttribute(ATTR_USERNAME));
    }
    let total = binding_request_len(username.len(), use_candidate);
    let out = out.get_mut(..total).ok_or(StunError::BufferTooSmall)?;
    out.fill(0);
    out[0..2].copy_from_slice(&BINDING_REQUEST.to_be_bytes());
    out[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    out[8..HEADER_LEN].copy_from_slice(transaction_id);
    // `out` is exactly `total` bytes, computed from the same attributes, so
    // every write below stays inside it.
    let mut pos = put_attr(out, HEADER_LEN, ATTR_USERNAME, username);
    pos = put_attr(out, pos, ATTR_PRIORITY, &priority.to_be_bytes());
    pos = put_attr(out, pos, ATTR_ICE_CONTROLLING, &tie_breaker.to_be_bytes());
    if use_candidate {
        pos = put_attr(out, pos, ATTR_USE_CANDIDATE, &[]);
    }
    seal(out, pos, key);
    Ok(total)
}

/// The transaction id of a Binding Success Response, if `pkt` is one with a
/// valid header and FINGERPRINT (the client side of a check; the caller
/// matches the id against its outstanding requests).
#[must_use]
pub fn binding_success_transaction(pkt: &[u8]) -> Option<[u8; 12]> {
    if pkt.len() < HEADER_LEN
        || be16(pkt, 0)? != BINDING_SUCCESS
        || be32(pkt, 4)? != MAGIC_COOKIE
        || HEADER_LEN + usize::from(be16(pkt, 2)?) != pkt.len()
    {
        return None;
    }
    let mut fp = None;
    for attr in attrs(pkt) {
        let attr = attr.ok()?;
        if attr.typ == ATTR_FINGERPRINT {
            fp = Some(attr.at);
        }
    }
    verify_fingerprint(pkt, fp?).ok()?;
    pkt.get(8..HEADER_LEN)?.try_into().ok()
}

/// Writes one attribute (header, value, zero padding) at `pos`; returns the
/// offset after it.
fn put_attr(out: &mut [u8], pos: usize, typ: u16, value: &[u8]) -> usize {
    out[pos..pos + 2].copy_from_slice(&typ.to_be_bytes());
    out[pos + 2..pos + 4].copy_from_slice(&(value.len() as u16).to_be_bytes());
    out[pos + 4..pos + 4 + value.len()].copy_from_slice(value);
    pos + 4 + value.len().div_ceil(4) * 4
}
