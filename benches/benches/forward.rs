//! The per-subscriber step of forwarding — copy the decrypted packet, drop
//! its header extensions, write the down-track's SSRC/sequence/timestamp/
//! payload type, SRTP-encrypt — with our in-place code
//! (`forward::rewrite` + `SrtpContext::protect_rtp`) against the same step
//! built from webrtc-rs (`rtp::Packet` unmarshal/edit/marshal, then
//! `webrtc-srtp` `encrypt_rtp`), and one packet fanned out to 100
//! subscribers, each with its own SRTP context (what a worker does for a
//! broadcast room). AES_CM_128_HMAC_SHA1_80 (what libwebrtc negotiates with
//! our server by default) and AEAD_AES_128_GCM.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ringcast_dataplane::dtls::{SrtpKeySalt, SrtpProfile};
use ringcast_dataplane::forward::rewrite;
use ringcast_dataplane::rtp::RtpHeader;
use ringcast_dataplane::srtp::SrtpContext;
use webrtc_srtp::context::Context;
use webrtc_srtp::protection_profile::ProtectionProfile;
use webrtc_util::marshal::{Marshal, Unmarshal};

const PROFILES: [(&str, SrtpProfile, ProtectionProfile); 2] = [
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
];
const PAYLOADS: [usize; 2] = [160, 1200];
const FANOUT: usize = 100;

/// A publisher packet as it arrives: one-byte header extensions (mid,
/// audio level, transport-cc), then the payload.
fn publisher_packet(payload: usize) -> Vec<u8> {
    let mut p = vec![0x90, 111];
    p.extend_from_slice(&4242u16.to_be_bytes());
    p.extend_from_slice(&960_000u32.to_be_bytes());
    p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    p.extend_from_slice(&[0xBE, 0xDE, 0x00, 0x02]);
    p.extend_from_slice(&[0x10, b'0', 0x20, 0x8a, 0x31, 0x00, 0x07, 0x00]);
    p.extend((0..payload).map(|i| (i * 7 + 3) as u8));
    p
}

fn keys(profile: SrtpProfile) -> (Vec<u8>, Vec<u8>) {
    (
        vec![0x11; profile.key_len()],
        vec![0x22; profile.salt_len()],
    )
}

fn ours(profile: SrtpProfile, i: u8) -> SrtpContext {
    let (mut key, salt) = keys(profile);
    key[0] = i;
    SrtpContext::new(
        profile,
        SrtpKeySalt {
            key: &key,
            salt: &salt,
        },
    )
    .expect("valid key")
}

fn theirs(profile: SrtpProfile, pp: ProtectionProfile, i: u8) -> Context {
    let (mut key, salt) = keys(profile);
    key[0] = i;
    Context::new(&key, &salt, pp, None, None).expect("valid key")
}

/// webrtc-rs' way of rewriting a packet for one subscriber.
fn theirs_step(ctx: &mut Context, pkt: &[u8], seq: u16) -> Option<Bytes> {
    let mut buf = Bytes::copy_from_slice(pkt);
    let mut p = rtp::packet::Packet::unmarshal(&mut buf).ok()?;
    p.header.ssrc = 0xAAAA_0001;
    p.header.sequence_number = seq;
    p.header.timestamp = p.header.timestamp.wrapping_add(1234);
    p.header.payload_type = 109;
    p.header.extension = false;
    p.header.extensions.clear();
    let plain = p.marshal().ok()?;
    ctx.encrypt_rtp(&plain).ok()
}

fn one_subscriber(c: &mut Criterion) {
    let mut g = c.benchmark_group("rewrite_encrypt");
    for (name, profile, pp) in PROFILES {
        for size in PAYLOADS {
            let pkt = publisher_packet(size);
            let h = RtpHeader::parse(&pkt).expect("valid packet");
            g.throughput(Throughput::Elements(1));
            let mut ctx = ours(profile, 1);
            let mut out = vec![0u8; pkt.len() + 64];
            let mut seq = 0u16;
            g.bench_function(BenchmarkId::new(format!("ours/{name}"), size), |b| {
                b.iter(|| {
                    seq = seq.wrapping_add(1);
                    let n = rewrite(
                        &mut out,
                        black_box(&pkt),
                        &h,
                        109,
                        seq,
                        961_234,
                        0xAAAA_0001,
                    )
                    .expect("fits");
                    black_box(ctx.protect_rtp(&mut out, n).ok())
                })
            });
            let mut tctx = theirs(profile, pp, 1);
            let mut seq = 0u16;
            g.bench_function(BenchmarkId::new(format!("webrtc-rs/{name}"), size), |b| {
                b.iter(|| {
                    seq = seq.wrapping_add(1);
                    black_box(theirs_step(&mut tctx, black_box(&pkt), seq))
                })
            });
        }
    }
    g.finish();
}

fn fan_out(c: &mut Criterion) {
    let mut g = c.benchmark_group("fan_out_100");
    let (name, profile, pp) = PROFILES[0];
    for size in PAYLOADS {
        let pkt = publisher_packet(size);
        let h = RtpHeader::parse(&pkt).expect("valid packet");
        g.throughput(Throughput::Elements(FANOUT as u64));
        let mut ctxs: Vec<SrtpContext> = (0..FANOUT).map(|i| ours(profile, i as u8)).collect();
        let mut out = vec![0u8; pkt.len() + 64];
        let mut seq = 0u16;
        g.bench_function(BenchmarkId::new(format!("ours/{name}"), size), |b| {
            b.iter(|| {
                seq = seq.wrapping_add(1);
                for (i, ctx) in ctxs.iter_mut().enumerate() {
                    let n = rewrite(
                        &mut out,
                        &pkt,
                        &h,
                        109,
                        seq,
                        961_234,
                        0xAAAA_0000 + i as u32,
                    )
                    .expect("fits");
                    black_box(ctx.protect_rtp(&mut out, n).ok());
                }
            })
        });
        let mut tctxs: Vec<Context> = (0..FANOUT).map(|i| theirs(profile, pp, i as u8)).collect();
        let mut seq = 0u16;
        g.bench_function(BenchmarkId::new(format!("webrtc-rs/{name}"), size), |b| {
            b.iter(|| {
                seq = seq.wrapping_add(1);
                for ctx in tctxs.iter_mut() {
                    black_box(theirs_step(ctx, &pkt, seq));
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, one_subscriber, fan_out);
criterion_main!(benches);
