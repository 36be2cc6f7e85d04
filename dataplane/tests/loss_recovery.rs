//! Loss recovery against a publisher whose NACK answers may be lost, built
//! from our own sans-IO peers (STUN check, DTLS client, SRTP) connected to a
//! worker in memory, as in `media_forwarding.rs`. The publisher here has no
//! RTX (the LiveKit Rust/Python SDKs offer only the primary codec), so it
//! answers a NACK by sending the original packet again on the media SSRC.
//! Proves: an unanswered NACK to the publisher is repeated until the packet
//! arrives; the repair is forwarded, cached and counted; a packet never
//! repaired (padding, which libwebrtc does not keep) is given up after a
//! bounded number of NACKs, without a keyframe request.

mod ice_support;
mod media_support;

use std::time::{Duration, Instant};

use ringcast_dataplane::dtls::DtlsCertificate;
use ringcast_dataplane::forward::{MAX_RESENDS, NACK_MAX_TRIES};
use ringcast_dataplane::rtcp::{self, Feedback};
use ringcast_dataplane::rtp::RtpHeader;
use ringcast_shared::records::{CodecId, Command, MediaKind, TransportId};

use media_support::*;

/// The NACKed sequence numbers in RTCP sent to the publisher.
fn nacked(rtcp_pkts: &[Vec<u8>]) -> Vec<u16> {
    let mut v = Vec::new();
    for p in rtcp_pkts {
        rtcp::for_each_feedback(p, |fb| {
            if let Feedback::Nack {
                media_ssrc,
                pid,
                blp,
            } = fb
            {
                assert_eq!(media_ssrc, VIDEO_SSRC);
                v.push(pid);
                for b in 0..16 {
                    if blp & (1 << b) != 0 {
                        v.push(pid.wrapping_add(b + 1));
                    }
                }
            }
        })
        .unwrap();
    }
    v
}

fn frame(seq: u16, key: bool) -> Vec<u8> {
    rtp_packet(
        VIDEO_SSRC,
        96,
        seq,
        u32::from(seq) * 3000,
        &vp8(key, true, seq as u8),
        None,
    )
}

fn subscribe_video(now: Instant, w: &mut Worker, publisher: &mut Peer) {
    let mut out = Out::default();
    w.command(
        now,
        spec(
            VIDEO_SSRC,
            96,
            OUT_VIDEO_SSRC,
            96,
            MediaKind::Video,
            CodecId::Vp8,
        ),
        &mut out,
    );
    // The PLI asked on subscription.
    publisher.take(&mut out);
}

/// Our NACK, or the publisher's answer to it, was lost: we ask again a
/// retry interval later (not at every packet), the repair sent on the media
/// SSRC reaches the subscriber and is cached, and nothing more is asked.
#[test]
fn an_unanswered_publisher_nack_is_repeated_until_the_packet_arrives() {
    let (t0, mut ws, mut publisher, mut subscriber, _) = setup(1);
    let w = &mut ws[0];
    subscribe_video(t0, w, &mut publisher);
    let mut out = Out::default();
    for seq in [200u16, 201, 203] {
        publisher.send_rtp(t0, w, &frame(seq, seq == 200), &mut out);
    }
    let (_, to_pub) = publisher.take(&mut out);
    assert_eq!(nacked(&to_pub), [202], "the gap is NACKed at once");
    let (got, _) = subscriber.take(&mut out);
    assert_eq!(got.len(), 3);
    let first_out = RtpHeader::parse(&got[0]).unwrap().sequence;

    // Packets keep coming; within the retry interval nothing is asked again.
    publisher.send_rtp(
        t0 + Duration::from_millis(30),
        w,
        &frame(204, false),
        &mut out,
    );
    let (_, to_pub) = publisher.take(&mut out);
    assert_eq!(
        nacked(&to_pub),
        [] as [u16; 0],
        "not NACKed at every packet"
    );

    // No answer came: the next packet after the interval brings a retry.
    let t1 = t0 + Duration::from_millis(150);
    publisher.send_rtp(t1, w, &frame(205, false), &mut out);
    let (_, to_pub) = publisher.take(&mut out);
    assert_eq!(nacked(&to_pub), [202], "the unanswered NACK is repeated");
    assert_eq!(w.core.forward_counters().nack_out, 2);

    // The publisher resends 202 as it was (no RTX negotiated).
    publisher.send_rtp(
        t1 + Duration::from_millis(5),
        w,
        &frame(202, false),
        &mut out,
    );
    let (got, _) = subscriber.take(&mut out);
    assert_eq!(got.len(), 3, "204, 205, then the repaired 202");
    let repaired = RtpHeader::parse(&got[2]).unwrap();
    assert_eq!(repaired.sequence, first_out.wrapping_add(2));
    assert_eq!(repaired.payload(&got[2]), &vp8(false, true, 202)[..]);
    assert_eq!(w.core.forward_counters().nack_repaired, 1);

    // Repaired: not asked for any more.
    for (i, seq) in (206u16..212).enumerate() {
        let t = t1 + Duration::from_millis(100 * (i as u64 + 1));
        publisher.send_rtp(t, w, &frame(seq, false), &mut out);
    }
    let (_, to_pub) = publisher.take(&mut out);
    assert_eq!(nacked(&to_pub), [] as [u16; 0]);

    // The repair was cached: a subscriber that lost it too gets it resent.
    subscriber.take(&mut out);
    subscriber.rx.as_mut().unwrap().set_replay_protection(false);
    let mut nack = [0u8; 64];
    let n = rtcp::write_nack(&mut nack, 0x5555, OUT_VIDEO_SSRC, &[(repaired.sequence, 0)]);
    subscriber.send_rtcp(t1, w, &nack[..n], &mut out);
    let (again, _) = subscriber.take(&mut out);
    assert_eq!(
        again,
        [got[2].clone()],
        "the repaired packet is resent from the cache"
    );
    assert_eq!(w.core.forward_counters().nack_miss, 0);
}

/// A packet the publisher never repairs is NACKed a bounded number of
/// times, then given up. Such packets are mostly padding (libwebrtc keeps
/// none in its history), so no keyframe is asked for: a keyframe per lost
/// padding packet would multiply the publisher's bitrate.
#[test]
fn a_publisher_packet_never_repaired_is_given_up_after_bounded_nacks() {
    let (t0, mut ws, mut publisher, _subscriber, _) = setup(1);
    let w = &mut ws[0];
    subscribe_video(t0, w, &mut publisher);
    let mut out = Out::default();
    let mut asked = 0;
    let mut plis = 0;
    for i in 0..20u16 {
        let seq = 300 + i;
        if seq == 302 {
            continue; // lost, and so is every answer
        }
        let t = t0 + Duration::from_millis(110 * u64::from(i));
        publisher.send_rtp(t, w, &frame(seq, i == 0), &mut out);
        let (_, to_pub) = publisher.take(&mut out);
        asked += nacked(&to_pub).iter().filter(|&&s| s == 302).count();
        plis += plis_for(&to_pub, VIDEO_SSRC);
    }
    assert_eq!(
        asked,
        usize::from(NACK_MAX_TRIES),
        "NACKed a bounded number of times"
    );
    let c = w.core.forward_counters();
    assert_eq!(c.nack_given_up, 1);
    assert_eq!(c.nack_repaired, 0);
    assert_eq!(plis, 0, "giving up asks for no keyframe");
}

/// Two subscribers behind one lossy link lose the same packet: each gets
/// its own [`MAX_RESENDS`] resends, not one budget shared by both.
#[test]
fn each_subscriber_gets_its_own_resends_of_a_packet() {
    const SUB2: TransportId = TransportId(3);
    const OUT2: u32 = 0xAAAA_0002;
    let t0 = Instant::now();
    let server = DtlsCertificate::generate().unwrap();
    let mut ws = workers(&server, 1);
    let w = &mut ws[0];
    let mut out = Out::default();
    let (mut publisher, pub_cert) = Peer::new(t0, &server, 40000, "pubA");
    let (mut subscriber, sub_cert) = Peer::new(t0, &server, 40001, "subB");
    let (mut second, cert2) = Peer::new(t0, &server, 40002, "subC");
    w.command(t0, publisher.add_command(PUB, &pub_cert), &mut out);
    w.command(t0, subscriber.add_command(SUB, &sub_cert), &mut out);
    w.command(t0, second.add_command(SUB2, &cert2), &mut out);
    publisher.connect(t0, w);
    subscriber.connect(t0, w);
    second.connect(t0, w);
    subscribe_video(t0, w, &mut publisher);
    let Command::AddDownTrack { mut spec } =
        spec(VIDEO_SSRC, 96, OUT2, 96, MediaKind::Video, CodecId::Vp8)
    else {
        unreachable!()
    };
    spec.sink = SUB2;
    w.command(t0, Command::AddDownTrack { spec }, &mut out);
    for seq in 400..404u16 {
        publisher.send_rtp(t0, w, &frame(seq, seq == 400), &mut out);
    }
    let (got1, _) = subscriber.take(&mut out);
    let (got2, _) = second.take(&mut out);
    assert_eq!((got1.len(), got2.len()), (4, 4));
    subscriber.rx.as_mut().unwrap().set_replay_protection(false);
    second.rx.as_mut().unwrap().set_replay_protection(false);
    let lost1 = RtpHeader::parse(&got1[2]).unwrap().sequence;
    let lost2 = RtpHeader::parse(&got2[2]).unwrap().sequence;
    let mut resent = [0usize; 2];
    for _ in 0..5 {
        for (k, (peer, ssrc, seq)) in [
            (&mut subscriber, OUT_VIDEO_SSRC, lost1),
            (&mut second, OUT2, lost2),
        ]
        .into_iter()
        .enumerate()
        {
            let mut nack = [0u8; 64];
            let n = rtcp::write_nack(&mut nack, 0x5555, ssrc, &[(seq, 0)]);
            peer.send_rtcp(t0, w, &nack[..n], &mut out);
            let (again, _) = peer.take(&mut out);
            resent[k] += again.len();
        }
    }
    let max = usize::from(MAX_RESENDS);
    assert_eq!(resent, [max, max], "each subscriber's own resend budget");
    assert_eq!(w.core.forward_counters().nack_miss, 4);
}
