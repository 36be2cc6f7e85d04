//! Our subscriber-PC offers (dual-PC `/rtc`).

use std::collections::HashMap;
use std::net::IpAddr;

use ringcast_controlplane::sdp::{
    self, dtls_role_from_answer, remote_transport, Direction, DtlsRole, HostCandidate,
    LocalTransport, MediaKind, OutgoingTrack, SdpError, Setup, SubscriberSession,
};

fn local() -> LocalTransport {
    let ips: Vec<IpAddr> = vec!["192.0.2.10".parse().unwrap()];
    LocalTransport {
        ice_ufrag: "subUfrag".into(),
        ice_pwd: "subPasswordOf24Chars0000".into(),
        fingerprint_sha256: [0x5C; 32],
        candidates: HostCandidate::for_addresses(&ips, 7882),
    }
}

fn track(tr: &str, mime: &str, ssrc: u32, rtx: Option<u32>) -> OutgoingTrack {
    OutgoingTrack {
        participant_sid: "PA_publisher01".into(),
        track_sid: tr.into(),
        ssrc,
        rtx_ssrc: rtx,
        cname: "ringcast".into(),
        codec_mime: mime.into(),
        codec_fmtp: None,
    }
}

fn oracle_accepts(text: &str) {
    if let Err(e) = webrtc_sdp::parse_sdp(text, true) {
        panic!("webrtc-sdp rejects our offer: {e:?}\n{text}");
    }
}

#[test]
fn first_offer_has_only_the_data_section() {
    let mut s = SubscriberSession::new(77);
    let text = s.create_offer(&local());
    let p = sdp::parse(&text).expect("parses");
    assert!(p.ice_lite);
    assert_eq!(p.bundle, ["0"]);
    assert_eq!(p.media.len(), 1);
    let d = &p.media[0];
    assert_eq!(d.kind, MediaKind::Application);
    assert_eq!((d.port, d.protocol.as_str()), (9, "UDP/DTLS/SCTP"));
    assert_eq!(d.formats, ["webrtc-datachannel"]);
    assert_eq!(d.sctp_port, Some(5000));
    assert_eq!(d.max_message_size, Some(65536));
    assert_eq!(d.setup, Some(Setup::ActPass));
    assert_eq!(d.ice_ufrag.as_deref(), Some("subUfrag"));
    assert_eq!(
        d.fingerprint.as_ref().and_then(|f| f.sha256()),
        Some(&[0x5C; 32])
    );
    assert_eq!(d.candidates.len(), 1);
    assert!(d.end_of_candidates);
    assert!(s.mid_to_track_id().is_empty());
    assert!(text.starts_with("v=0\r\no=- 77 1 IN IP4 127.0.0.1\r\n"));
    oracle_accepts(&text);
}

#[test]
fn subscribed_tracks_become_sendonly_sections_with_livekit_msid() {
    let mut s = SubscriberSession::new(1);
    let _ = s.create_offer(&local());
    let a = s
        .add_track(track("TR_AMic0000001", "audio/opus", 100, None))
        .unwrap();
    let v = s
        .add_track(track("TR_VCam0000001", "video/VP8", 200, Some(201)))
        .unwrap();
    assert_eq!((a.as_str(), v.as_str()), ("1", "2"));
    let text = s.create_offer(&local());
    oracle_accepts(&text);
    let p = sdp::parse(&text).expect("parses");
    assert_eq!(p.bundle, ["0", "1", "2"]);
    assert!(
        text.contains("o=- 1 2 IN IP4"),
        "version increases per offer"
    );

    let am = p.media_by_mid("1").unwrap();
    assert_eq!(am.kind, MediaKind::Audio);
    assert_eq!(am.direction, Direction::SendOnly);
    assert_eq!(am.formats, ["111"]);
    assert_eq!(
        am.codec(111).map(|c| (c.name.as_str(), c.channels)),
        Some(("opus", Some(2)))
    );
    let msid = am.msid().unwrap();
    assert_eq!(msid.stream_id, "PA_publisher01|TR_AMic0000001");
    assert_eq!(msid.track_id.as_deref(), Some("TR_AMic0000001"));
    assert_eq!(am.primary_ssrcs(), [100]);
    assert!(am.rtcp_mux);

    let vm = p.media_by_mid("2").unwrap();
    assert_eq!(vm.direction, Direction::SendOnly);
    assert_eq!(vm.formats, ["96", "97"]);
    assert_eq!(vm.codec(97).and_then(|c| c.apt()), Some(96));
    assert_eq!(vm.rtx_ssrc_for(200), Some(201));
    assert_eq!(vm.ssrcs.iter().filter_map(|s| s.msid.as_ref()).count(), 2);
    assert!(vm.rtcp_rsize);
    assert_eq!(vm.setup, Some(Setup::ActPass));
    assert!(vm.extmap_id("https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension").is_some());

    assert_eq!(
        s.mid_to_track_id(),
        HashMap::from([
            ("1".to_string(), "TR_AMic0000001".to_string()),
            ("2".to_string(), "TR_VCam0000001".to_string()),
        ])
    );
}

#[test]
fn mids_stay_stable_and_freed_sections_are_reused_after_being_offered() {
    let mut s = SubscriberSession::new(1);
    s.add_track(track("TR_V1", "video/VP8", 1, Some(2)))
        .unwrap();
    s.add_track(track("TR_V2", "video/VP8", 3, Some(4)))
        .unwrap();
    let _ = s.create_offer(&local());
    assert_eq!(s.remove_track("TR_V1").as_deref(), Some("1"));
    // Not yet offered inactive: a new track must not take mid 1.
    assert_eq!(
        s.add_track(track("TR_V3", "video/VP8", 5, Some(6)))
            .unwrap(),
        "3"
    );
    let text = s.create_offer(&local());
    let p = sdp::parse(&text).unwrap();
    let mids: Vec<&str> = p.media.iter().filter_map(|m| m.mid.as_deref()).collect();
    assert_eq!(mids, ["0", "1", "2", "3"]);
    let freed = p.media_by_mid("1").unwrap();
    assert_eq!(freed.direction, Direction::Inactive);
    assert!(freed.ssrcs.is_empty() && freed.msid().is_none());
    assert_eq!(freed.port, 9, "kept in the bundle, not rejected");
    assert_eq!(p.media_by_mid("2").unwrap().direction, Direction::SendOnly);
    oracle_accepts(&text);

    // Audio cannot take a video section; video can once it was offered inactive.
    assert_eq!(
        s.add_track(track("TR_A1", "audio/opus", 7, None)).unwrap(),
        "4"
    );
    assert_eq!(
        s.add_track(track("TR_V4", "video/VP8", 8, Some(9)))
            .unwrap(),
        "1"
    );
    assert_eq!(s.mid_of("TR_V4"), Some("1"));
    assert_eq!(
        s.mid_to_track_id().get("1").map(String::as_str),
        Some("TR_V4")
    );
    // Adding the same track twice keeps its mid.
    assert_eq!(
        s.add_track(track("TR_V4", "video/VP8", 8, Some(9)))
            .unwrap(),
        "1"
    );
}

#[test]
fn payload_types_follow_livekit_table() {
    let mut s = SubscriberSession::new(1);
    let mut h264 = track("TR_H", "video/H264", 10, Some(11));
    h264.codec_fmtp =
        Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".into());
    s.add_track(h264).unwrap();
    let mut vp9 = track("TR_9", "video/VP9", 12, Some(13));
    vp9.codec_fmtp = Some("profile-id=0".into());
    s.add_track(vp9).unwrap();
    s.add_track(track("TR_AV1", "video/AV1", 14, None)).unwrap();
    let p = sdp::parse(&s.create_offer(&local())).unwrap();
    assert_eq!(p.media_by_mid("1").unwrap().formats, ["108", "109"]);
    assert_eq!(
        p.media_by_mid("1")
            .unwrap()
            .codec(108)
            .and_then(|c| c.fmtp_param("profile-level-id").map(str::to_owned)),
        Some("42e01f".into())
    );
    assert_eq!(p.media_by_mid("2").unwrap().formats, ["98", "99"]);
    let av1 = p.media_by_mid("3").unwrap();
    assert_eq!(av1.formats, ["35", "36"]);
    // No RTX SSRC given: no FID group.
    assert!(av1.ssrc_groups.is_empty());
}

#[test]
fn unsupported_codec_is_refused() {
    let mut s = SubscriberSession::new(1);
    assert_eq!(
        s.add_track(track("TR_X", "video/H265", 1, None)),
        Err(SdpError::UnsupportedCodec {
            mime: "video/H265".into()
        })
    );
}

#[test]
fn client_answer_to_our_offer_makes_us_dtls_server() {
    let path = format!(
        "{}/tests/fixtures/sdp/chrome_subscriber_answer.sdp",
        env!("CARGO_MANIFEST_DIR")
    );
    let answer = sdp::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(dtls_role_from_answer(&answer), DtlsRole::Server);
    let remote = remote_transport(&answer).unwrap();
    assert_eq!(remote.ice_ufrag, "Zq1x");
    assert_eq!(remote.fingerprint[0], 0x9D);
    assert_eq!(answer.media[1].direction, Direction::RecvOnly);
}
