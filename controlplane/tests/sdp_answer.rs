//! Our answer to client offers (the `/rtc` publisher PC and the `/rtc/v1`
//! single PC).

use std::collections::HashMap;
use std::net::IpAddr;

use ringcast_controlplane::sdp::{
    self, build_answer, Answer, AnswerOptions, Direction, DtlsRole, HostCandidate, LocalTransport,
    MediaKind, OutgoingTrack, SdpError, SessionDescription, Setup,
};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/sdp/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn local() -> LocalTransport {
    let ips: Vec<IpAddr> = vec![
        "192.0.2.10".parse().unwrap(),
        "2001:db8::10".parse().unwrap(),
    ];
    LocalTransport {
        ice_ufrag: "srvUfrag".into(),
        ice_pwd: "srvPasswordOf24Chars0000".into(),
        fingerprint_sha256: [0xAB; 32],
        candidates: HostCandidate::for_addresses(&ips, 7882),
    }
}

fn answer_with(
    offer: &str,
    enabled: &[String],
    tracks: &HashMap<String, OutgoingTrack>,
) -> (Answer, SessionDescription) {
    let offer = sdp::parse(offer).expect("offer parses");
    let local = local();
    let opts = AnswerOptions {
        local: &local,
        session_id: 42,
        session_version: 2,
        enabled_codecs: enabled,
        send_tracks: tracks,
        max_message_size: 65536,
        opus: &HashMap::new(),
    };
    let answer = build_answer(&offer, &opts).expect("answer");
    let parsed = sdp::parse(&answer.sdp).expect("our answer parses with our parser");
    (answer, parsed)
}

fn answer(offer: &str) -> (Answer, SessionDescription) {
    answer_with(offer, &[], &HashMap::new())
}

fn vp8_track() -> OutgoingTrack {
    OutgoingTrack {
        participant_sid: "PA_pub1234567ab".into(),
        track_sid: "TR_VCam12345678".into(),
        ssrc: 1111,
        rtx_ssrc: Some(2222),
        cname: "ringcast".into(),
        codec_mime: "video/VP8".into(),
        codec_fmtp: None,
    }
}

/// Firefox's SDP parser (webrtc-sdp) must accept what we write.
fn oracle_accepts(text: &str) {
    if let Err(e) = webrtc_sdp::parse_sdp(text, true) {
        panic!("webrtc-sdp rejects our SDP: {e:?}\n{text}");
    }
}

#[test]
fn single_pc_answer_keeps_mids_order_and_bundles_them() {
    let (a, p) = answer(&fixture("chrome_single_pc_offer.sdp"));
    let mids: Vec<&str> = p.media.iter().filter_map(|m| m.mid.as_deref()).collect();
    assert_eq!(mids, ["0", "1", "2", "3", "4", "5", "6", "7"]);
    assert_eq!(p.bundle, mids);
    let kinds: Vec<&str> = p.media.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "application",
            "audio",
            "audio",
            "audio",
            "video",
            "video",
            "video",
            "audio"
        ]
    );
    assert!(a.media.iter().all(|m| m.accepted));
    oracle_accepts(&a.sdp);
}

#[test]
fn answer_is_ice_lite_dtls_active_with_our_credentials() {
    let (a, p) = answer(&fixture("chrome_single_pc_offer.sdp"));
    assert!(p.ice_lite);
    assert_eq!(a.dtls_role, DtlsRole::Client);
    assert_eq!(a.remote.ice_ufrag, "Xk3P");
    assert_eq!(a.remote.fingerprint[0], 0x9D);
    for m in &p.media {
        assert_eq!(p.setup_for(m), Some(Setup::Active));
        assert_eq!(p.ice_ufrag_for(m), Some("srvUfrag"));
        assert_eq!(p.ice_pwd_for(m), Some("srvPasswordOf24Chars0000"));
        assert_eq!(
            p.fingerprint_for(m).and_then(|f| f.sha256()),
            Some(&[0xAB; 32])
        );
    }
}

#[test]
fn answer_has_one_host_candidate_per_address_and_end_of_candidates() {
    let (_, p) = answer(&fixture("chrome_single_pc_offer.sdp"));
    for m in &p.media {
        assert_eq!(m.candidates.len(), 2);
        assert!(m.end_of_candidates);
        let c = &m.candidates[0];
        assert_eq!(
            (c.transport.as_str(), c.port, c.typ.as_str()),
            ("udp", 7882, "host")
        );
        assert_eq!(c.ip(), "192.0.2.10".parse().ok());
        assert_eq!(m.candidates[1].ip(), "2001:db8::10".parse().ok());
        assert!(c.priority > m.candidates[1].priority);
    }
}

#[test]
fn directions_mirror_the_offer() {
    let (a, p) = answer(&fixture("chrome_single_pc_offer.sdp"));
    use Direction::*;
    let dirs: Vec<Direction> = p.media.iter().map(|m| m.direction).collect();
    // Client recvonly with nothing to send -> inactive; client sendonly -> recvonly.
    assert_eq!(
        dirs,
        [SendRecv, Inactive, Inactive, Inactive, Inactive, Inactive, Inactive, RecvOnly]
    );
    assert!(a.mid_to_track_id().is_empty());
}

#[test]
fn audio_answer_keeps_only_opus_with_client_payload_type() {
    let (a, p) = answer(&fixture("chrome_single_pc_offer.sdp"));
    let mic = &p.media[7];
    assert_eq!(mic.formats, ["111"]);
    let opus = mic.codec(111).expect("opus");
    assert_eq!(opus.fmtp.as_deref(), Some("minptime=10;useinbandfec=1"));
    assert_eq!(opus.rtcp_fb, ["transport-cc"]);
    assert!(mic.rtcp_mux);
    assert!(!mic.rtcp_rsize, "rtcp-rsize is only answered on video");
    assert_eq!(a.media[7].codecs.len(), 1);
}

#[test]
fn audio_answer_echoes_supported_extensions_with_client_ids() {
    let (a, p) = answer(&fixture("chrome_single_pc_offer.sdp"));
    let mic = &p.media[7];
    let ids: Vec<(u8, &str)> = mic.extmaps.iter().map(|e| (e.id, e.uri.as_str())).collect();
    assert_eq!(
        ids,
        [
            (1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
            (
                2,
                "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
            ),
            (
                3,
                "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
            ),
            (4, "urn:ietf:params:rtp-hdrext:sdes:mid"),
        ]
    );
    assert_eq!(a.media[7].extmaps.len(), 4);
}

#[test]
fn video_answer_keeps_supported_codecs_with_rtx_and_drops_the_rest() {
    let (_, p) = answer(&fixture("chrome_single_pc_offer.sdp"));
    let v = &p.media[4];
    let names: Vec<(u8, &str)> = v
        .codecs
        .iter()
        .map(|c| (c.payload_type, c.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (96, "VP8"),
            (97, "rtx"),
            (102, "H264"),
            (103, "rtx"),
            (104, "H264"),
            (105, "rtx"),
            (106, "H264"),
            (107, "rtx"),
            (108, "H264"),
            (109, "rtx"),
            (127, "H264"),
            (125, "rtx"),
            (39, "H264"),
            (40, "rtx"),
            (98, "VP9"),
            (99, "rtx"),
            (100, "VP9"),
            (101, "rtx"),
            (45, "AV1"),
            (46, "rtx"),
            (112, "H264"),
            (113, "rtx"),
        ]
    );
    assert_eq!(v.codec(97).and_then(|c| c.apt()), Some(96));
    assert!(v.rtcp_rsize);
    assert_eq!(
        v.codec(96).map(|c| c.rtcp_fb.clone()),
        Some(vec![
            "goog-remb".into(),
            "transport-cc".into(),
            "ccm fir".into(),
            "nack".into(),
            "nack pli".into()
        ])
    );
    let uris: Vec<(u8, &str)> = v.extmaps.iter().map(|e| (e.id, e.uri.as_str())).collect();
    assert_eq!(
        uris,
        [
            (2, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
            (3, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"),
            (4, "urn:ietf:params:rtp-hdrext:sdes:mid"),
            (10, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"),
            (11, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"),
            (12, "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension"),
        ]
    );
}

#[test]
fn enabled_codecs_list_restricts_the_answer() {
    let enabled = vec!["video/vp8".to_string(), "audio/opus".to_string()];
    let (_, p) = answer_with(
        &fixture("chrome_single_pc_offer.sdp"),
        &enabled,
        &HashMap::new(),
    );
    assert_eq!(p.media[4].formats, ["96", "97"]);
    assert_eq!(p.media[7].formats, ["111"]);
    let only_h264 = vec!["video/H264".to_string()];
    let (a, p) = answer_with(
        &fixture("chrome_single_pc_offer.sdp"),
        &only_h264,
        &HashMap::new(),
    );
    assert!(p.media[4]
        .codecs
        .iter()
        .filter(|c| !c.is_rtx())
        .all(|c| c.name == "H264"));
    // No allowed audio codec: audio m-lines are rejected and left out of BUNDLE.
    assert!(!a.media[7].accepted);
    assert_eq!(p.media[7].port, 0);
    assert!(!p.bundle.contains(&"7".to_string()));
}

#[test]
fn data_section_is_answered_with_sctp_port_and_max_message_size() {
    let (_, p) = answer(&fixture("chrome_single_pc_offer.sdp"));
    let d = &p.media[0];
    assert_eq!(d.kind, MediaKind::Application);
    assert_eq!(d.port, 9);
    assert_eq!(d.protocol, "UDP/DTLS/SCTP");
    assert_eq!(d.formats, ["webrtc-datachannel"]);
    assert_eq!(d.sctp_port, Some(5000));
    assert_eq!(d.max_message_size, Some(65536));
}

#[test]
fn recvonly_slot_with_a_track_turns_sendonly_with_msid_and_ssrcs() {
    let tracks = HashMap::from([("4".to_string(), vp8_track())]);
    let (a, p) = answer_with(&fixture("chrome_single_pc_offer.sdp"), &[], &tracks);
    let v = &p.media[4];
    assert_eq!(v.direction, Direction::SendOnly);
    assert_eq!(
        v.formats,
        ["96", "97"],
        "exactly the publisher's codec and its RTX"
    );
    let msid = v.msid().expect("msid");
    assert_eq!(msid.stream_id, "PA_pub1234567ab|TR_VCam12345678");
    assert_eq!(msid.track_id.as_deref(), Some("TR_VCam12345678"));
    assert_eq!(v.primary_ssrcs(), [1111]);
    assert_eq!(v.rtx_ssrc_for(1111), Some(2222));
    assert_eq!(v.ssrcs[0].cname.as_deref(), Some("ringcast"));
    assert_eq!(
        a.mid_to_track_id(),
        HashMap::from([("4".to_string(), "TR_VCam12345678".to_string())])
    );
    assert_eq!(p.media[5].direction, Direction::Inactive);
    oracle_accepts(&a.sdp);
}

#[test]
fn track_whose_codec_the_client_did_not_offer_is_not_placed() {
    let mut t = vp8_track();
    t.codec_mime = "video/H265".into();
    let tracks = HashMap::from([("4".to_string(), t)]);
    let (a, p) = answer_with(&fixture("chrome_single_pc_offer.sdp"), &[], &tracks);
    assert!(a.mid_to_track_id().is_empty());
    assert_ne!(p.media[4].direction, Direction::SendOnly);
}

#[test]
fn h264_track_picks_the_client_payload_type_of_the_same_profile() {
    let mut t = vp8_track();
    t.codec_mime = "video/H264".into();
    t.codec_fmtp =
        Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".into());
    let tracks = HashMap::from([("5".to_string(), t)]);
    let (_, p) = answer_with(&fixture("chrome_single_pc_offer.sdp"), &[], &tracks);
    assert_eq!(p.media[5].formats, ["106", "107"]);
}

#[test]
fn simulcast_offer_is_answered_with_recv_rids() {
    let (a, p) = answer(&fixture("chrome_simulcast_vp8_offer.sdp"));
    let v = &p.media[1];
    assert_eq!(v.direction, Direction::RecvOnly);
    let rids: Vec<(&str, bool)> = v
        .rids
        .iter()
        .map(|r| (r.id.as_str(), r.direction == sdp::RidDirection::Recv))
        .collect();
    assert_eq!(rids, [("q", true), ("h", true), ("f", true)]);
    let sc = v.simulcast.as_ref().expect("simulcast");
    assert!(sc.send.is_empty());
    let recv: Vec<&str> = sc.recv.iter().map(|alts| alts[0].rid.as_str()).collect();
    assert_eq!(recv, ["q", "h", "f"]);
    assert_eq!(a.media[1].recv_rids, ["q", "h", "f"]);
    assert!(a.sdp.contains("a=simulcast:recv q;h;f\r\n"));
    oracle_accepts(&a.sdp);
}

#[test]
fn libwebrtc_offer_is_answered() {
    let (a, p) = answer(&fixture("libwebrtc_python_offer.sdp"));
    assert_eq!(p.bundle, ["0", "1", "2"]);
    assert_eq!(p.media[1].direction, Direction::RecvOnly);
    assert_eq!(p.media[2].direction, Direction::RecvOnly);
    assert_eq!(a.media[2].recv_rids, ["f", "h", "q"]);
    oracle_accepts(&a.sdp);
}

#[test]
fn answer_uses_crlf_line_endings_only() {
    let (a, _) = answer(&fixture("chrome_single_pc_offer.sdp"));
    assert!(a.sdp.ends_with("\r\n"));
    assert_eq!(a.sdp.matches('\n').count(), a.sdp.matches("\r\n").count());
    assert!(a
        .sdp
        .starts_with("v=0\r\no=- 42 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite\r\n"));
}

const TINY_HEAD: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n";
const CREDS: &str = "a=ice-ufrag:uf\r\na=ice-pwd:pwpwpwpwpwpwpwpwpwpwpwpw\r\n\
    a=fingerprint:sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F\r\n";

#[test]
fn unsupported_kinds_and_codecs_are_rejected_with_port_zero() {
    let offer = format!(
        "{TINY_HEAD}m=audio 9 UDP/TLS/RTP/SAVPF 0 8\r\n{CREDS}a=setup:actpass\r\na=mid:0\r\na=sendonly\r\n\
         m=text 9 UDP/TLS/RTP/SAVPF 98\r\n{CREDS}a=mid:1\r\na=rtpmap:98 t140/1000\r\n\
         m=video 9 UDP/TLS/RTP/SAVPF 96\r\n{CREDS}a=mid:2\r\na=rtpmap:96 VP8/90000\r\na=sendonly\r\n"
    );
    let (a, p) = answer(&offer);
    assert_eq!(p.media.len(), 3);
    assert_eq!((p.media[0].port, p.media[0].mid.as_deref()), (0, Some("0")));
    assert_eq!((p.media[1].port, p.media[1].kind.as_str()), (0, "text"));
    assert_eq!(p.media[2].port, 9);
    assert_eq!(p.bundle, ["2"]);
    assert_eq!(
        a.media.iter().map(|m| m.accepted).collect::<Vec<_>>(),
        [false, false, true]
    );
    oracle_accepts(&a.sdp);
}

#[test]
fn client_that_wants_to_be_dtls_client_gets_passive() {
    let offer = format!("{TINY_HEAD}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n{CREDS}a=setup:active\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n");
    let (a, p) = answer(&offer);
    assert_eq!(a.dtls_role, DtlsRole::Server);
    assert_eq!(p.setup_for(&p.media[0]), Some(Setup::Passive));
}

#[test]
fn offer_without_fingerprint_or_credentials_is_an_error() {
    let local = local();
    let tracks = HashMap::new();
    let opts = AnswerOptions {
        local: &local,
        session_id: 1,
        session_version: 1,
        enabled_codecs: &[],
        send_tracks: &tracks,
        max_message_size: 65536,
        opus: &HashMap::new(),
    };
    let no_fp = sdp::parse(&format!(
        "{TINY_HEAD}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=mid:0\r\n"
    ))
    .unwrap();
    assert_eq!(
        build_answer(&no_fp, &opts),
        Err(SdpError::MissingFingerprint { index: 0 })
    );
    let no_ice = sdp::parse(&format!(
        "{TINY_HEAD}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"
    ))
    .unwrap();
    assert_eq!(
        build_answer(&no_ice, &opts),
        Err(SdpError::MissingIceCredentials { index: 0 })
    );
    let dup = sdp::parse(&format!(
        "{TINY_HEAD}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n{CREDS}a=mid:0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"
    ))
    .unwrap();
    assert_eq!(
        build_answer(&dup, &opts),
        Err(SdpError::DuplicateMid { mid: "0".into() })
    );
    let no_mid = sdp::parse(&format!(
        "{TINY_HEAD}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n{CREDS}"
    ))
    .unwrap();
    assert_eq!(
        build_answer(&no_mid, &opts),
        Err(SdpError::MissingMid { index: 0 })
    );
}

#[test]
fn answering_any_line_truncation_of_an_offer_never_panics() {
    let local = local();
    let tracks = HashMap::from([("4".to_string(), vp8_track())]);
    let opts = AnswerOptions {
        local: &local,
        session_id: 1,
        session_version: 1,
        enabled_codecs: &[],
        send_tracks: &tracks,
        max_message_size: 65536,
        opus: &HashMap::new(),
    };
    for name in [
        "chrome_simulcast_vp8_offer.sdp",
        "libwebrtc_python_offer.sdp",
    ] {
        let text = fixture(name);
        let lines: Vec<&str> = text.split("\r\n").collect();
        for i in 0..lines.len() {
            let line = lines[i];
            for cut in (0..line.len())
                .step_by(3)
                .filter(|&c| line.is_char_boundary(c))
            {
                let mut mutated = lines.clone();
                mutated[i] = &line[..cut];
                let Ok(offer) = sdp::parse(&mutated.join("\r\n")) else {
                    continue;
                };
                if let Ok(a) = build_answer(&offer, &opts) {
                    sdp::parse(&a.sdp).expect("our answer to a damaged offer still parses");
                }
            }
        }
    }
}

#[test]
fn published_media_reports_track_key_ssrcs_and_rids() {
    let (a, _) = answer(&fixture("libwebrtc_python_offer.sdp"));
    let mic = a.media[1].receiving.as_ref().expect("client sends audio");
    assert_eq!(mic.track_key.as_deref(), Some("TR_AMkRr3pQpHrV"));
    assert_eq!(mic.stream_id.as_deref(), Some("-"));
    assert_eq!(mic.ssrcs, [(1829385521, None)]);
    let cam = a.media[2].receiving.as_ref().expect("client sends video");
    assert_eq!(cam.rids, ["f", "h", "q"]);
    assert!(cam.ssrcs.is_empty());
    assert_eq!(a.media[0].remote_max_message_size, Some(262144));

    let (a, _) = answer(&fixture("chrome_single_pc_offer.sdp"));
    assert!(
        a.media[1].receiving.is_none(),
        "recvonly slot publishes nothing"
    );
    let mic = a.media[7].receiving.as_ref().expect("sendonly mic");
    assert_eq!(
        mic.track_key.as_deref(),
        Some("7c0a5d5e-1e0b-4a39-9f3e-2b1f4c6d8e90")
    );
}

#[test]
fn opus_answer_asks_for_dtx_and_stereo_per_mid() {
    let offer = sdp::parse(&fixture("chrome_single_pc_offer.sdp")).unwrap();
    let local = local();
    let opus = HashMap::from([(
        "7".to_string(),
        sdp::OpusAnswer {
            dtx: true,
            stereo: true,
        },
    )]);
    let opts = AnswerOptions {
        opus: &opus,
        ..AnswerOptions::new(&local, 9, 1)
    };
    let a = build_answer(&offer, &opts).unwrap();
    let p = sdp::parse(&a.sdp).unwrap();
    let fmtp = p.media[7].codec(111).and_then(|c| c.fmtp.clone());
    assert_eq!(
        fmtp.as_deref(),
        Some("minptime=10;useinbandfec=1;usedtx=1;stereo=1;maxaveragebitrate=510000")
    );
    // Other mids keep the client's fmtp; the defaults echo it too.
    let plain = build_answer(&offer, &AnswerOptions::new(&local, 9, 1)).unwrap();
    let p = sdp::parse(&plain.sdp).unwrap();
    assert_eq!(
        p.media[7]
            .codec(111)
            .and_then(|c| c.fmtp.clone())
            .as_deref(),
        Some("minptime=10;useinbandfec=1")
    );
    let no_dtx = sdp::OpusAnswer {
        dtx: false,
        stereo: false,
    };
    assert_eq!(
        no_dtx.apply(Some("minptime=10;usedtx=1;stereo=1")),
        "minptime=10"
    );
}
