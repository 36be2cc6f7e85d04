//! The load generator's video: packets the forwarder's own keyframe
//! detection reads as VP8 keyframes and delta frames, the stamp found
//! behind the VP8 prefix, the rid extension the dataplane reads for
//! simulcast, the bitrate's packet pattern, and offers the control plane
//! answers with a VP8 send line (single SSRC or rid simulcast).

use ringcast_benches::load::args::parse_bitrate;
use ringcast_benches::load::payload::{
    stamp_of_media, write_vp8_rtp, Stamp, VideoPattern, Vp8Part, STAMP_LEN, VP8_PREFIX, VP8_PT,
};
use ringcast_benches::load::sdp::{offer, LocalTransport, OfferSetup, Section, RID_EXT_ID};
use ringcast_benches::load::stats::{split_stream_id, stream_id};
use ringcast_controlplane::sdp::{self as cp, AnswerOptions, HostCandidate, MediaKind};
use ringcast_dataplane::rtp::{extension_value, is_keyframe_start, RtpHeader, VideoCodec};

fn packet(part: Vp8Part, ext: &[(u8, &[u8])]) -> Vec<u8> {
    let mut buf = vec![0u8; 1500];
    let stamp = Stamp {
        seq: 7,
        sent_ns: 123_456_789,
        publisher: stream_id(3, 2),
    };
    let n = write_vp8_rtp(&mut buf, 100, 9000, 0xabcd, ext, part, &stamp, 1000).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn keyframes_and_delta_frames_look_like_vp8_to_the_forwarder() {
    let key = Vp8Part {
        first: true,
        keyframe: true,
        last: false,
    };
    let delta = Vp8Part {
        first: true,
        keyframe: false,
        last: true,
    };
    let middle = Vp8Part {
        first: false,
        keyframe: true,
        last: false,
    };
    for (part, is_key) in [(key, true), (delta, false), (middle, false)] {
        let pkt = packet(part, &[]);
        let h = RtpHeader::parse(&pkt).unwrap();
        assert_eq!(h.payload_type, VP8_PT);
        assert_eq!(h.marker, part.last, "{part:?}");
        assert_eq!(h.payload(&pkt).len(), 1000);
        assert_eq!(
            is_keyframe_start(VideoCodec::Vp8, h.payload(&pkt)),
            is_key,
            "{part:?}"
        );
        let stamp = stamp_of_media(&pkt, VP8_PT).unwrap();
        assert_eq!((stamp.seq, stamp.sent_ns), (7, 123_456_789));
        assert_eq!(split_stream_id(stamp.publisher), (3, 2));
    }
    // Too small for prefix and stamp.
    let mut buf = [0u8; 200];
    let stamp = Stamp {
        seq: 0,
        sent_ns: 0,
        publisher: 0,
    };
    assert!(write_vp8_rtp(
        &mut buf,
        0,
        0,
        1,
        &[],
        key,
        &stamp,
        VP8_PREFIX + STAMP_LEN - 1
    )
    .is_none());
}

#[test]
fn simulcast_packets_carry_the_rid_the_dataplane_reads() {
    let pkt = packet(
        Vp8Part {
            first: true,
            keyframe: true,
            last: true,
        },
        &[(4, b"0"), (RID_EXT_ID, b"f")],
    );
    let h = RtpHeader::parse(&pkt).unwrap();
    assert_eq!(extension_value(&pkt, &h, RID_EXT_ID), Some(&b"f"[..]));
    assert_eq!(extension_value(&pkt, &h, 4), Some(&b"0"[..]));
    assert!(is_keyframe_start(VideoCodec::Vp8, h.payload(&pkt)));
    assert!(stamp_of_media(&pkt, VP8_PT).is_some());
}

#[test]
fn bitrates_become_30_fps_frames_of_mtu_sized_packets() {
    assert_eq!(parse_bitrate("1.5M"), Ok(1_500_000));
    assert_eq!(parse_bitrate("500k"), Ok(500_000));
    assert_eq!(parse_bitrate("800000"), Ok(800_000));
    assert!(parse_bitrate("fast").is_err());
    assert!(parse_bitrate("0").is_err());
    // 1.5 Mbit/s: 6250 bytes a frame, 6 packets of 1041 bytes, 180/s.
    let p = VideoPattern::for_bitrate(1_500_000);
    assert_eq!((p.packets_per_frame, p.payload_bytes), (6, 1041));
    assert_eq!(p.packets_per_second(), 180);
    // 150 kbit/s: one 625-byte packet a frame.
    let q = VideoPattern::for_bitrate(150_000);
    assert_eq!((q.packets_per_frame, q.payload_bytes), (1, 625));
}

fn server() -> cp::LocalTransport {
    cp::LocalTransport {
        ice_ufrag: "srvUfrag1234".into(),
        ice_pwd: "serverPassword0123456789abcd".into(),
        fingerprint_sha256: [0xcd; 32],
        candidates: HostCandidate::for_addresses(&["127.0.0.1".parse().unwrap()], 7882),
    }
}

fn local() -> LocalTransport {
    LocalTransport {
        ice_ufrag: "cliU".into(),
        ice_pwd: "clientPassword0123456789".into(),
        fingerprint: ringcast_dataplane::dtls::format_fingerprint(&[0xab; 32]),
        setup: OfferSetup::Actpass,
    }
}

#[test]
fn video_send_lines_are_answered_with_vp8_and_simulcast_rids() {
    for simulcast in [false, true] {
        let sdp = offer(
            &local(),
            &[
                Section::SendVideo {
                    ssrc: 0x0bad_cafe,
                    cid: "load-video-pub-0-0".into(),
                    simulcast,
                },
                Section::RecvVideo,
            ],
            42,
            1,
        );
        let parsed = cp::parse(&sdp).unwrap();
        let srv = server();
        let answer = cp::build_answer(&parsed, &AnswerOptions::new(&srv, 9, 1)).unwrap();
        let m = &answer.media[0];
        assert!(m.accepted);
        assert_eq!(m.kind, MediaKind::Video);
        assert!(m.codecs.iter().any(|c| c.payload_type == VP8_PT));
        let rx = m.receiving.as_ref().expect("server receives our video");
        assert_eq!(rx.track_key.as_deref(), Some("load-video-pub-0-0"));
        if simulcast {
            assert!(rx.ssrcs.is_empty(), "{sdp}");
            assert_eq!(rx.rids, vec!["q", "h", "f"], "{sdp}");
            assert!(
                answer.sdp.contains("a=simulcast:recv q;h;f"),
                "{}",
                answer.sdp
            );
            assert!(m.extmaps.iter().any(|e| e.id == RID_EXT_ID));
        } else {
            assert_eq!(rx.ssrcs, vec![(0x0bad_cafe, None)]);
            assert!(rx.rids.is_empty());
        }
        let recv = &answer.media[1];
        assert!(recv.accepted && recv.kind == MediaKind::Video);
        assert!(recv.receiving.is_none());
    }
}
