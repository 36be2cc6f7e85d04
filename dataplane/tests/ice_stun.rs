//! STUN Binding parse/verify/respond against RFC 5769 vectors and stun-rs.

mod ice_support;

use ice_support::*;
use ringcast_dataplane::ice::stun::{
    binding_success_len, parse_binding_request, username_ufrag, write_binding_success,
    IntegrityKey, PeerRole, StunError, MAX_RESPONSE_LEN,
};
use std::net::SocketAddr;

fn v4() -> SocketAddr {
    "192.0.2.1:32853".parse().unwrap()
}

fn v6() -> SocketAddr {
    "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
        .parse()
        .unwrap()
}

/// Recomputes FINGERPRINT after a test edits a message, so the edit reaches
/// the later checks.
fn refingerprint(pkt: &mut [u8]) {
    let at = pkt.len() - 8;
    let crc = crc32fast::hash(&pkt[..at]) ^ 0x5354_554e;
    pkt[at + 4..].copy_from_slice(&crc.to_be_bytes());
}

#[test]
fn rfc5769_sample_request_parses_with_all_ice_attributes() {
    let req = parse_binding_request(&RFC5769_REQUEST).expect("vector parses");
    assert_eq!(req.transaction_id, RFC5769_TXID);
    assert_eq!(req.username, b"evtj:h6vY");
    assert_eq!(req.local_ufrag(), b"evtj");
    assert_eq!(req.remote_ufrag(), b"h6vY");
    assert_eq!(req.priority, Some(0x6e00_01ff));
    assert_eq!(req.role, Some(PeerRole::Controlled(0x932f_f9b1_5126_3b36)));
    assert!(!req.use_candidate);
}

#[test]
fn rfc5769_sample_request_integrity_verifies_with_its_password() {
    let req = parse_binding_request(&RFC5769_REQUEST).unwrap();
    let key = IntegrityKey::new(RFC5769_PASSWORD.as_bytes());
    assert_eq!(req.verify_integrity(&key), Ok(()));
}

#[test]
fn wrong_password_is_rejected_as_bad_integrity() {
    let req = parse_binding_request(&RFC5769_REQUEST).unwrap();
    let key = IntegrityKey::new(b"VOkJxbRl1RmTxUk/WvJxBu");
    assert_eq!(req.verify_integrity(&key), Err(StunError::BadIntegrity));
    let empty = IntegrityKey::new(b"");
    assert_eq!(req.verify_integrity(&empty), Err(StunError::BadIntegrity));
}

#[test]
fn tampered_body_with_fixed_fingerprint_fails_integrity() {
    let mut pkt = RFC5769_REQUEST;
    pkt[47] ^= 0x01; // PRIORITY value, covered by MESSAGE-INTEGRITY
    refingerprint(&mut pkt);
    let req = parse_binding_request(&pkt).expect("structure still fine");
    let key = IntegrityKey::new(RFC5769_PASSWORD.as_bytes());
    assert_eq!(req.verify_integrity(&key), Err(StunError::BadIntegrity));
}

#[test]
fn bad_fingerprint_is_rejected() {
    let mut pkt = RFC5769_REQUEST;
    let last = pkt.len() - 1;
    pkt[last] ^= 0xff;
    assert_eq!(parse_binding_request(&pkt), Err(StunError::BadFingerprint));
}

#[test]
fn every_single_bit_flip_is_rejected_somewhere() {
    let key = IntegrityKey::new(RFC5769_PASSWORD.as_bytes());
    for i in 0..RFC5769_REQUEST.len() {
        for bit in 0..8 {
            let mut pkt = RFC5769_REQUEST;
            pkt[i] ^= 1 << bit;
            let accepted = parse_binding_request(&pkt)
                .and_then(|r| r.verify_integrity(&key))
                .is_ok();
            assert!(!accepted, "flip of byte {i} bit {bit} accepted");
        }
    }
}

#[test]
fn truncation_at_every_length_is_an_error_not_a_panic() {
    let key = IntegrityKey::new(RFC5769_PASSWORD.as_bytes());
    let full = Req::new("ours:theirs", "pw-pw-pw-pw-pw-pw-pw-pw")
        .nominate()
        .encode();
    for pkt in [&RFC5769_REQUEST[..], &full[..]] {
        for n in 0..pkt.len() {
            let cut = &pkt[..n];
            assert!(parse_binding_request(cut).is_err(), "prefix {n} accepted");
            let _ = username_ufrag(cut);
            // A prefix with a patched length field must fail too.
            if n >= 20 {
                let mut patched = cut.to_vec();
                let len = (n - 20) as u16;
                patched[2..4].copy_from_slice(&len.to_be_bytes());
                if let Ok(r) = parse_binding_request(&patched) {
                    assert!(r.verify_integrity(&key).is_err(), "patched prefix {n}");
                }
            }
        }
    }
}

#[test]
fn pseudo_random_garbage_never_panics() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut buf = [0u8; 200];
    for round in 0..20_000 {
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        // Make most inputs look like STUN so the attribute walk runs.
        let len = (round % 180) as usize;
        buf[0] = 0;
        buf[1] = 1;
        buf[2..4].copy_from_slice(&((len.saturating_sub(20)) as u16).to_be_bytes());
        buf[4..8].copy_from_slice(&0x2112_a442u32.to_be_bytes());
        let pkt = &buf[..len];
        let _ = parse_binding_request(pkt);
        let _ = username_ufrag(pkt);
    }
}

#[test]
fn username_ufrag_returns_our_half_of_username() {
    assert_eq!(username_ufrag(&RFC5769_REQUEST), Some(&b"evtj"[..]));
    let pkt = Req::new("abcd1234:remote", "x").encode();
    assert_eq!(username_ufrag(&pkt), Some(&b"abcd1234"[..]));
    // Not STUN / not a request.
    assert_eq!(username_ufrag(&[22, 254, 253, 0, 0]), None);
    assert_eq!(username_ufrag(&[]), None);
    let mut resp = [0u8; MAX_RESPONSE_LEN];
    let n = write_binding_success(&mut resp, &[1; 12], v4(), &IntegrityKey::new(b"x")).unwrap();
    assert_eq!(username_ufrag(&resp[..n]), None);
}

#[test]
fn stun_rs_encoded_check_parses_with_use_candidate_and_controlling() {
    let pkt = Req::new("ours:theirs", "the-password-1234567890")
        .nominate()
        .txid([3; 12])
        .encode();
    let req = parse_binding_request(&pkt).expect("parses");
    assert!(req.use_candidate);
    assert_eq!(req.role, Some(PeerRole::Controlling(0x1122_3344_5566_7788)));
    assert_eq!(req.transaction_id, [3; 12]);
    let key = IntegrityKey::new(b"the-password-1234567890");
    assert_eq!(req.verify_integrity(&key), Ok(()));
}

#[test]
fn request_without_integrity_or_fingerprint_is_rejected() {
    let mut no_mi = Req::new("a:b", "pw");
    no_mi.integrity = false;
    assert_eq!(
        parse_binding_request(&no_mi.encode()),
        Err(StunError::MissingIntegrity)
    );
    let mut no_fp = Req::new("a:b", "pw");
    no_fp.fingerprint = false;
    assert_eq!(
        parse_binding_request(&no_fp.encode()),
        Err(StunError::MissingFingerprint)
    );
}

#[test]
fn attribute_after_fingerprint_is_rejected() {
    let mut pkt = RFC5769_REQUEST.to_vec();
    pkt.extend_from_slice(&[0x80, 0x22, 0x00, 0x00]); // empty SOFTWARE
    let len = (pkt.len() - 20) as u16;
    pkt[2..4].copy_from_slice(&len.to_be_bytes());
    assert_eq!(
        parse_binding_request(&pkt),
        Err(StunError::AttributeAfterFingerprint)
    );
}

#[test]
fn non_request_messages_are_not_binding_requests() {
    let mut pkt = RFC5769_REQUEST;
    pkt[0..2].copy_from_slice(&0x0011u16.to_be_bytes()); // Binding Indication
    assert_eq!(
        parse_binding_request(&pkt),
        Err(StunError::NotBindingRequest(0x0011))
    );
    let mut bad_cookie = RFC5769_REQUEST;
    bad_cookie[4] ^= 1;
    assert_eq!(parse_binding_request(&bad_cookie), Err(StunError::NotStun));
}

#[test]
fn response_xor_mapped_address_matches_rfc5769_v4_and_v6() {
    let key = IntegrityKey::new(RFC5769_PASSWORD.as_bytes());
    let mut out = [0u8; MAX_RESPONSE_LEN];
    let n = write_binding_success(&mut out, &RFC5769_TXID, v4(), &key).unwrap();
    assert_eq!(n, binding_success_len(&v4()));
    assert_eq!(&out[20..32], &RFC5769_XMA_V4);
    let n = write_binding_success(&mut out, &RFC5769_TXID, v6(), &key).unwrap();
    assert_eq!(n, binding_success_len(&v6()));
    assert_eq!(&out[20..44], &RFC5769_XMA_V6);
}

#[test]
fn response_decodes_in_stun_rs_with_valid_integrity_and_fingerprint() {
    let key = IntegrityKey::new(b"server-password-0123456789");
    for from in [
        v4(),
        v6(),
        "10.1.2.3:1".parse().unwrap(),
        "[::1]:65535".parse().unwrap(),
    ] {
        let mut out = [0u8; MAX_RESPONSE_LEN];
        let n = write_binding_success(&mut out, &[9; 12], from, &key).unwrap();
        let (txid, mapped) =
            decode_success(&out[..n], "server-password-0123456789").expect("valid response");
        assert_eq!(txid, [9; 12]);
        assert_eq!(mapped, from);
        // The oracle can fail: a wrong password must not validate.
        assert!(decode_success(&out[..n], "another-password-0123456").is_err());
    }
}

#[test]
fn response_into_small_buffer_is_an_error() {
    let key = IntegrityKey::new(b"pw");
    let mut out = [0u8; 63];
    assert_eq!(
        write_binding_success(&mut out, &[0; 12], v4(), &key),
        Err(StunError::BufferTooSmall)
    );
    let mut out = [0u8; 64];
    assert_eq!(
        write_binding_success(&mut out, &[0; 12], v4(), &key),
        Ok(64)
    );
    let mut out = [0u8; 75];
    assert_eq!(
        write_binding_success(&mut out, &[0; 12], v6(), &key),
        Err(StunError::BufferTooSmall)
    );
}
