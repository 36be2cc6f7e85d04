//! Per-packet SRTP protect and unprotect cost of our in-place `SrtpContext`
//! against `webrtc-srtp` (the crate our oracle test compares bytes with), for
//! every negotiated profile and two payload sizes: 160 B (one 20 ms Opus
//! frame) and 1200 B (a typical video packet).
//!
//! Both sides do the same work per iteration: copy the input packet into a
//! reused working buffer, then transform it. Our side never allocates;
//! `webrtc-srtp` returns a fresh `Bytes`, which is part of what is measured.
//! Unprotect replays one pre-protected packet, so replay protection is
//! switched off on both receivers.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ringcast_dataplane::dtls::{SrtpKeySalt, SrtpProfile};
use ringcast_dataplane::srtp::SrtpContext;
use webrtc_srtp::context::Context;
use webrtc_srtp::option::srtp_no_replay_protection;
use webrtc_srtp::protection_profile::ProtectionProfile;

const PROFILES: [(&str, SrtpProfile, ProtectionProfile); 3] = [
    (
        "AES_CM_128_HMAC_SHA1_80",
        SrtpProfile::Aes128CmHmacSha1_80,
        ProtectionProfile::Aes128CmHmacSha1_80,
    ),
    (
        "AEAD_AES_128_GCM",
        SrtpProfile::AeadAes128Gcm,
        ProtectionProfile::AeadAes128Gcm,
    ),
    (
        "AEAD_AES_256_GCM",
        SrtpProfile::AeadAes256Gcm,
        ProtectionProfile::AeadAes256Gcm,
    ),
];

/// Payload bytes after the 12-byte RTP header.
const PAYLOADS: [usize; 2] = [160, 1200];
/// Room for the largest tag (16 bytes for GCM, 10 for HMAC-SHA1-80).
const TAG_ROOM: usize = 16;

/// A plain RTP packet: V=2, PT 111, fixed seq/timestamp/SSRC, patterned payload.
fn rtp_packet(payload: usize) -> Vec<u8> {
    let mut p = vec![0x80, 111];
    p.extend_from_slice(&4242u16.to_be_bytes());
    p.extend_from_slice(&960_000u32.to_be_bytes());
    p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    p.extend((0..payload).map(|i| (i * 7 + 3) as u8));
    p
}

fn ours(profile: SrtpProfile, key: &[u8], salt: &[u8]) -> SrtpContext {
    SrtpContext::new(profile, SrtpKeySalt { key, salt }).expect("valid key and salt lengths")
}

fn theirs(profile: ProtectionProfile, key: &[u8], salt: &[u8], replay: bool) -> Context {
    let opt = (!replay).then(srtp_no_replay_protection);
    Context::new(key, salt, profile, opt, None).expect("valid key and salt lengths")
}

fn protect(c: &mut Criterion) {
    for (name, ours_p, theirs_p) in PROFILES {
        let key: Vec<u8> = (0..ours_p.key_len()).map(|i| i as u8 ^ 0x5a).collect();
        let salt: Vec<u8> = (0..ours_p.salt_len()).map(|i| i as u8 ^ 0xa5).collect();
        let mut g = c.benchmark_group(format!("srtp/protect_rtp/{name}"));
        g.throughput(Throughput::Elements(1));
        for payload in PAYLOADS {
            let plain = rtp_packet(payload);
            let len = plain.len();
            let mut work = vec![0u8; len + TAG_ROOM];

            let mut tx = ours(ours_p, &key, &salt);
            g.bench_function(BenchmarkId::new("ours", payload), |b| {
                b.iter(|| {
                    work[..len].copy_from_slice(&plain);
                    black_box(tx.protect_rtp(black_box(&mut work), len).ok())
                })
            });

            let mut otx = theirs(theirs_p, &key, &salt, true);
            g.bench_function(BenchmarkId::new("webrtc-srtp", payload), |b| {
                b.iter(|| {
                    work[..len].copy_from_slice(&plain);
                    black_box(otx.encrypt_rtp(black_box(&work[..len])).ok())
                })
            });
        }
        g.finish();
    }
}

fn unprotect(c: &mut Criterion) {
    for (name, ours_p, theirs_p) in PROFILES {
        let key: Vec<u8> = (0..ours_p.key_len()).map(|i| i as u8 ^ 0x5a).collect();
        let salt: Vec<u8> = (0..ours_p.salt_len()).map(|i| i as u8 ^ 0xa5).collect();
        let mut g = c.benchmark_group(format!("srtp/unprotect_rtp/{name}"));
        g.throughput(Throughput::Elements(1));
        for payload in PAYLOADS {
            let plain = rtp_packet(payload);
            let mut sealed = plain.clone();
            sealed.resize(plain.len() + TAG_ROOM, 0);
            let n = ours(ours_p, &key, &salt)
                .protect_rtp(&mut sealed, plain.len())
                .expect("protect a well-formed packet");
            sealed.truncate(n);
            let mut work = vec![0u8; n];

            let mut rx = ours(ours_p, &key, &salt);
            rx.set_replay_protection(false);
            // Both sides must accept the repeated packet, or the bench
            // measures the error path.
            for _ in 0..2 {
                work.copy_from_slice(&sealed);
                assert_eq!(rx.unprotect_rtp(&mut work).ok(), Some(plain.len()));
            }
            g.bench_function(BenchmarkId::new("ours", payload), |b| {
                b.iter(|| {
                    work.copy_from_slice(&sealed);
                    black_box(rx.unprotect_rtp(black_box(&mut work)).ok())
                })
            });

            let mut orx = theirs(theirs_p, &key, &salt, false);
            for _ in 0..2 {
                work.copy_from_slice(&sealed);
                assert_eq!(
                    orx.decrypt_rtp(&work).ok().as_deref(),
                    Some(&plain[..]),
                    "webrtc-srtp must accept our packet"
                );
            }
            g.bench_function(BenchmarkId::new("webrtc-srtp", payload), |b| {
                b.iter(|| {
                    work.copy_from_slice(&sealed);
                    black_box(orx.decrypt_rtp(black_box(&work)).ok())
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, protect, unprotect);
criterion_main!(benches);
