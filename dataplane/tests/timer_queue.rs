//! The worker's timer queue against a full scan of its transports: after
//! handshakes, media (with transport-cc and the stall check arming timers)
//! and timeouts, the deadline a worker would sleep until is the earliest
//! `poll_timeout` of all its transports, and the background sweep never
//! had to repair a timer some path forgot to re-read.

mod ice_support;
mod media_support;

use std::time::Duration;

use ringcast_shared::records::{CodecId, Command, MediaKind};

use media_support::*;

fn assert_agrees(ws: &mut [Worker], when: &str) {
    for (i, w) in ws.iter_mut().enumerate() {
        w.core.end_turn();
        let scan = w.core.transports().poll_timeout();
        assert_eq!(
            w.core.next_deadline(),
            scan,
            "worker {i} {when}: queue and full scan disagree"
        );
        assert_eq!(
            w.core.counters().timer_repairs,
            0,
            "worker {i} {when}: a timer moved without a touch"
        );
    }
}

#[test]
fn queue_matches_a_full_scan_through_handshake_media_and_timeouts() {
    let (mut now, mut ws, mut publisher, _subscriber, sub_worker) = setup(2);
    assert_agrees(&mut ws, "after the handshakes");
    let mut out = Out::default();
    for w in ws.iter_mut() {
        w.command(
            now,
            Command::SetRtpExtensions {
                id: PUB,
                audio_level: 2,
                mid: 1,
                rid: 0,
                repaired_rid: 0,
                transport_cc: 3,
                abs_send_time: 0,
            },
            &mut out,
        );
    }
    ws[sub_worker].command(
        now,
        spec(
            VIDEO_SSRC,
            96,
            OUT_VIDEO_SSRC,
            102,
            MediaKind::Video,
            CodecId::Vp8,
        ),
        &mut out,
    );
    assert_agrees(&mut ws, "after transport-cc was switched on");
    for seq in 0..50u16 {
        let p = rtp_packet(
            VIDEO_SSRC,
            96,
            seq,
            u32::from(seq) * 3000,
            &vp8(seq % 10 == 0, true, seq as u8),
            None,
        );
        publisher.send_rtp(now, &mut ws[0], &p, &mut out);
        assert_agrees(&mut ws, "after a media packet");
        now += Duration::from_millis(10);
        for w in ws.iter_mut() {
            w.core.on_tick(now, &mut out);
        }
    }
    // Quiet: stall checks, consent and transport-cc timers run and re-arm.
    let mut ran_to = None;
    for _ in 0..40 {
        now += Duration::from_millis(250);
        for w in ws.iter_mut() {
            w.core.on_tick(now, &mut out);
        }
        assert_agrees(&mut ws, "after timeouts");
        ran_to = ws[0].core.next_deadline();
    }
    assert!(
        ran_to.is_some_and(|t| t > now),
        "worker 0 keeps a future deadline ({ran_to:?})"
    );
}
