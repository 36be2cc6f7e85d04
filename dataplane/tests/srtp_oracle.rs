//! Our in-place SRTP must be byte-identical to webrtc-srtp (the oracle).
use ringcast_dataplane::dtls::{SrtpKeySalt, SrtpProfile};
use ringcast_dataplane::srtp::{SrtpContext, SrtpError};
use webrtc_srtp::context::Context;
use webrtc_srtp::protection_profile::ProtectionProfile;

const PROFILES: [(SrtpProfile, ProtectionProfile); 3] = [
    (
        SrtpProfile::Aes128CmHmacSha1_80,
        ProtectionProfile::Aes128CmHmacSha1_80,
    ),
    (SrtpProfile::AeadAes128Gcm, ProtectionProfile::AeadAes128Gcm),
    (SrtpProfile::AeadAes256Gcm, ProtectionProfile::AeadAes256Gcm),
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn keys(p: SrtpProfile, rng: &mut Rng) -> (Vec<u8>, Vec<u8>) {
    let k = (0..p.key_len()).map(|_| rng.next() as u8).collect();
    let s = (0..p.salt_len()).map(|_| rng.next() as u8).collect();
    (k, s)
}

fn rtp(rng: &mut Rng, seq: u16, ssrc: u32) -> Vec<u8> {
    let cc = (rng.next() % 3) as u8;
    let ext = rng.next().is_multiple_of(2);
    let mut p = vec![0x80 | cc | if ext { 0x10 } else { 0 }, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(rng.next() as u32).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    for _ in 0..cc {
        p.extend_from_slice(&(rng.next() as u32).to_be_bytes());
    }
    if ext {
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0]);
    }
    let n = 1 + rng.next() as usize % 1200;
    p.extend((0..n).map(|_| rng.next() as u8));
    p
}

#[test]
fn rtp_protect_matches_webrtc_srtp_across_seq_wrap() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for (ours, theirs) in PROFILES {
        let (k, s) = keys(ours, &mut rng);
        let mut tx = SrtpContext::new(ours, SrtpKeySalt { key: &k, salt: &s }).unwrap();
        let mut rx = SrtpContext::new(ours, SrtpKeySalt { key: &k, salt: &s }).unwrap();
        let mut otx = Context::new(&k, &s, theirs, None, None).unwrap();
        let mut orx = Context::new(&k, &s, theirs, None, None).unwrap();
        let mut seq: u16 = 65500;
        for _ in 0..100 {
            let plain = rtp(&mut rng, seq, 0xcafe_babe);
            let want = otx.encrypt_rtp(&plain).unwrap();
            let mut buf = plain.clone();
            buf.resize(plain.len() + 16, 0);
            let n = tx.protect_rtp(&mut buf, plain.len()).unwrap();
            assert_eq!(&buf[..n], &want[..], "{ours:?} seq {seq}");
            let mut theirs_buf = want.to_vec();
            let m = rx.unprotect_rtp(&mut theirs_buf).unwrap();
            assert_eq!(&theirs_buf[..m], &plain[..]);
            assert_eq!(&orx.decrypt_rtp(&buf[..n]).unwrap()[..], &plain[..]);
            seq = seq.wrapping_add(1);
        }
    }
}

#[test]
fn rtcp_protect_matches_webrtc_srtp() {
    let mut rng = Rng(0x0bad_cafe_1234_5678);
    for (ours, theirs) in PROFILES {
        let (k, s) = keys(ours, &mut rng);
        let mut tx = SrtpContext::new(ours, SrtpKeySalt { key: &k, salt: &s }).unwrap();
        let mut rx = SrtpContext::new(ours, SrtpKeySalt { key: &k, salt: &s }).unwrap();
        let mut otx = Context::new(&k, &s, theirs, None, None).unwrap();
        for _ in 0..20 {
            let words = 1 + rng.next() as usize % 20;
            let mut plain = vec![0x81, 200];
            plain.extend_from_slice(&(words as u16).to_be_bytes());
            plain.extend_from_slice(&0x1122_3344u32.to_be_bytes());
            plain.extend((0..words * 4).map(|_| rng.next() as u8));
            let want = otx.encrypt_rtcp(&plain).unwrap();
            let mut buf = plain.clone();
            buf.resize(plain.len() + 20, 0);
            let n = tx.protect_rtcp(&mut buf, plain.len()).unwrap();
            assert_eq!(&buf[..n], &want[..], "{ours:?}");
            let mut b = want.to_vec();
            let m = rx.unprotect_rtcp(&mut b).unwrap();
            assert_eq!(&b[..m], &plain[..]);
        }
    }
}

#[test]
fn tampered_replayed_and_truncated_packets_are_rejected_without_panic() {
    let mut rng = Rng(42);
    for (ours, _) in PROFILES {
        let (k, s) = keys(ours, &mut rng);
        let mut tx = SrtpContext::new(ours, SrtpKeySalt { key: &k, salt: &s }).unwrap();
        let mut rx = SrtpContext::new(ours, SrtpKeySalt { key: &k, salt: &s }).unwrap();
        let plain = rtp(&mut rng, 7, 1);
        let mut buf = plain.clone();
        buf.resize(plain.len() + 16, 0);
        let n = tx.protect_rtp(&mut buf, plain.len()).unwrap();
        let prot = buf[..n].to_vec();
        let mut bad = prot.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(rx.unprotect_rtp(&mut bad), Err(SrtpError::AuthFailed));
        assert!(rx.unprotect_rtp(&mut prot.clone()).is_ok());
        assert_eq!(
            rx.unprotect_rtp(&mut prot.clone()),
            Err(SrtpError::Replayed)
        );
        assert_eq!(rx.replays, 1);
        for len in 0..prot.len() {
            let _ = rx.unprotect_rtp(&mut prot[..len].to_vec());
            let _ = rx.unprotect_rtcp(&mut prot[..len].to_vec());
            let mut b = prot[..len].to_vec();
            let _ = tx.protect_rtp(&mut b, len);
            let _ = tx.protect_rtcp(&mut b, len);
        }
    }
}
