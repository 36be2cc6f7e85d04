//! Parsing client SDP (Chrome / libwebrtc) into the model, and never
//! panicking on malformed input.

use ringcast_controlplane::sdp::{
    self, Direction, Fingerprint, MediaKind, RidDirection, SdpError, Setup,
};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/sdp/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const FIXTURES: [&str; 4] = [
    "chrome_single_pc_offer.sdp",
    "chrome_simulcast_vp8_offer.sdp",
    "libwebrtc_python_offer.sdp",
    "chrome_subscriber_answer.sdp",
];

#[test]
fn single_pc_offer_parses_sections_mids_and_directions() {
    let sd = sdp::parse(&fixture("chrome_single_pc_offer.sdp")).expect("parse");
    assert_eq!(sd.origin_session_id.as_deref(), Some("4611731400430051336"));
    assert_eq!(sd.bundle, ["0", "1", "2", "3", "4", "5", "6", "7"]);
    assert!(sd.extmap_allow_mixed);
    assert!(!sd.ice_lite);
    let kinds: Vec<&str> = sd.media.iter().map(|m| m.kind.as_str()).collect();
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
    let dirs: Vec<Direction> = sd.media.iter().map(|m| m.direction).collect();
    use Direction::*;
    assert_eq!(
        dirs,
        [SendRecv, RecvOnly, RecvOnly, RecvOnly, RecvOnly, RecvOnly, RecvOnly, SendOnly]
    );
    for (i, m) in sd.media.iter().enumerate() {
        assert_eq!(m.mid.as_deref(), Some(i.to_string().as_str()));
        assert_eq!(m.port, 9);
        assert_eq!(m.ice_ufrag.as_deref(), Some("Xk3P"));
        assert_eq!(sd.ice_pwd_for(m), Some("6Z3DFKPZ8dVuDLwBb1OBaP3Q"));
        assert_eq!(m.setup, Some(Setup::ActPass));
        let fp = m
            .fingerprint
            .as_ref()
            .and_then(Fingerprint::sha256)
            .expect("sha-256");
        assert_eq!(fp[0], 0x9D);
        assert_eq!(fp[31], 0xE8);
    }
}

#[test]
fn single_pc_offer_parses_data_section() {
    let sd = sdp::parse(&fixture("chrome_single_pc_offer.sdp")).expect("parse");
    let data = &sd.media[0];
    assert_eq!(data.kind, MediaKind::Application);
    assert_eq!(data.protocol, "UDP/DTLS/SCTP");
    assert_eq!(data.formats, ["webrtc-datachannel"]);
    assert_eq!(data.sctp_port, Some(5000));
    assert_eq!(data.max_message_size, Some(262144));
    assert!(data.codecs.is_empty());
}

#[test]
fn audio_codecs_keep_offer_order_with_fmtp_and_feedback() {
    let sd = sdp::parse(&fixture("chrome_single_pc_offer.sdp")).expect("parse");
    let a = &sd.media[7];
    let pts: Vec<u8> = a.codecs.iter().map(|c| c.payload_type).collect();
    assert_eq!(pts, [111, 63, 9, 0, 8, 13, 110, 126]);
    let opus = a.codec(111).expect("opus");
    assert_eq!(
        (opus.name.as_str(), opus.clock_rate, opus.channels),
        ("opus", 48000, Some(2))
    );
    assert_eq!(opus.fmtp.as_deref(), Some("minptime=10;useinbandfec=1"));
    assert_eq!(opus.fmtp_param("useinbandfec"), Some("1"));
    assert_eq!(opus.rtcp_fb, ["transport-cc"]);
    assert_eq!(
        a.extmap_id("urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
        Some(1)
    );
    assert_eq!(a.extmap_id("urn:ietf:params:rtp-hdrext:sdes:mid"), Some(4));
    assert!(a.rtcp_mux && a.rtcp_rsize);
}

#[test]
fn sendonly_audio_has_msid_and_ssrc() {
    let sd = sdp::parse(&fixture("chrome_single_pc_offer.sdp")).expect("parse");
    let a = &sd.media[7];
    let msid = a.msid().expect("msid");
    assert_eq!(msid.stream_id, "f0c1e2d3-aaaa-4bbb-8ccc-0123456789ab");
    assert_eq!(msid.track_key(), "7c0a5d5e-1e0b-4a39-9f3e-2b1f4c6d8e90");
    assert_eq!(a.ssrcs.len(), 1);
    assert_eq!(a.ssrcs[0].ssrc, 3735928559);
    assert_eq!(a.ssrcs[0].cname.as_deref(), Some("k2bBpVxA4u1yrVbu"));
    assert_eq!(a.ssrcs[0].msid.as_ref(), Some(msid));
}

#[test]
fn video_rtx_is_tied_to_its_codec() {
    let sd = sdp::parse(&fixture("chrome_single_pc_offer.sdp")).expect("parse");
    let v = &sd.media[4];
    let rtx = v.codec(97).expect("rtx");
    assert!(rtx.is_rtx());
    assert_eq!(rtx.apt(), Some(96));
    let vp9 = v.codec(100).expect("vp9 p2");
    assert_eq!(vp9.fmtp_param("profile-id"), Some("2"));
    let vp8 = v.codec(96).expect("vp8");
    assert_eq!(
        vp8.rtcp_fb,
        ["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"]
    );
    assert_eq!(
        v.extmap_id("https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension"),
        Some(12)
    );
}

#[test]
fn simulcast_offer_has_send_rids_and_simulcast_list() {
    let sd = sdp::parse(&fixture("chrome_simulcast_vp8_offer.sdp")).expect("parse");
    let v = &sd.media[1];
    let rids: Vec<&str> = v.send_rids().map(|r| r.id.as_str()).collect();
    assert_eq!(rids, ["q", "h", "f"]);
    assert!(v.rids.iter().all(|r| r.direction == RidDirection::Send));
    let sc = v.simulcast.as_ref().expect("simulcast");
    let send: Vec<&str> = sc.send.iter().map(|alts| alts[0].rid.as_str()).collect();
    assert_eq!(send, ["q", "h", "f"]);
    assert!(sc.recv.is_empty());
}

#[test]
fn libwebrtc_offer_msid_without_stream_keys_on_track_id() {
    let sd = sdp::parse(&fixture("libwebrtc_python_offer.sdp")).expect("parse");
    let a = &sd.media[1];
    let msid = a.msid().expect("msid");
    assert_eq!(msid.stream_id, "-");
    assert_eq!(msid.track_key(), "TR_AMkRr3pQpHrV");
    assert_eq!(a.ssrcs[0].cname.as_deref(), Some("fDq3Rc0k/LhMtw5Z"));
    let v = &sd.media[2];
    assert_eq!(v.msid().map(|m| m.track_key()), Some("TR_VCw8ZkTgJb3L"));
    let rids: Vec<&str> = v.send_rids().map(|r| r.id.as_str()).collect();
    assert_eq!(rids, ["f", "h", "q"]);
}

#[test]
fn session_level_credentials_apply_to_media() {
    let text = "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\na=ice-ufrag:sess\na=ice-pwd:sesspwd\n\
        a=fingerprint:SHA-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F\n\
        a=setup:actpass\nm=audio 9 UDP/TLS/RTP/SAVPF 0\na=mid:a\n";
    let sd = sdp::parse(text).expect("parse");
    let m = &sd.media[0];
    assert_eq!(sd.ice_ufrag_for(m), Some("sess"));
    assert_eq!(sd.ice_pwd_for(m), Some("sesspwd"));
    assert_eq!(sd.setup_for(m), Some(Setup::ActPass));
    let fp = sd
        .fingerprint_for(m)
        .and_then(Fingerprint::sha256)
        .expect("fp");
    assert_eq!(fp[31], 0x1F);
    // Static payload type 0 without rtpmap is still known.
    assert_eq!(m.codecs[0].name, "PCMU");
}

#[test]
fn ssrc_groups_and_candidates_are_read() {
    let text = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=rtpmap:96 VP8/90000\r\n\
        a=ssrc-group:FID 11 12\r\na=ssrc-group:SIM 11 21 31\r\na=ssrc:11 cname:c\r\na=ssrc:12 cname:c\r\n\
        a=candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host generation 0 ufrag Xk3P network-id 1\r\n\
        a=candidate:842163049 1 udp 1677729535 198.51.100.7 61000 typ srflx raddr 192.0.2.1 rport 54321 generation 0\r\n\
        a=candidate:3 1 udp 2122194687 8f2c7a63-1b2c-4d5e-8f90-123456789abc.local 50000 typ host\r\n\
        a=end-of-candidates\r\n";
    let sd = sdp::parse(text).expect("parse");
    let m = &sd.media[0];
    assert_eq!(m.ssrc_groups.len(), 2);
    assert_eq!(m.rtx_ssrc_for(11), Some(12));
    assert_eq!(m.primary_ssrcs(), [11]);
    assert_eq!(m.candidates.len(), 3);
    assert_eq!(m.candidates[0].port, 54321);
    assert_eq!(m.candidates[0].ip(), "192.0.2.1".parse().ok());
    assert_eq!(m.candidates[1].typ, "srflx");
    assert_eq!(m.candidates[1].related_port, Some(54321));
    assert_eq!(m.candidates[2].ip(), None);
    assert!(m.end_of_candidates);
}

#[test]
fn lf_and_crlf_endings_give_the_same_model() {
    let crlf = fixture("chrome_single_pc_offer.sdp");
    let lf = crlf.replace("\r\n", "\n");
    assert_eq!(sdp::parse(&crlf), sdp::parse(&lf));
}

#[test]
fn malformed_lines_are_typed_errors() {
    let head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
    let cases: [(&str, SdpError); 9] = [
        ("garbage\r\n", SdpError::BadLine { line: 5 }),
        ("m=audio\r\n", SdpError::BadMediaLine { line: 5 }),
        (
            "m=audio 9x UDP/TLS/RTP/SAVPF 111\r\n",
            SdpError::BadMediaLine { line: 5 },
        ),
        (
            "m=audio 9 UDP/TLS/RTP/SAVPF\r\n",
            SdpError::BadMediaLine { line: 5 },
        ),
        (
            "a=fingerprint:sha-256 ZZ:00\r\n",
            SdpError::BadAttribute {
                line: 5,
                attribute: "fingerprint",
            },
        ),
        (
            "a=fingerprint:sha-256 00:01\r\n",
            SdpError::BadAttribute {
                line: 5,
                attribute: "fingerprint",
            },
        ),
        (
            "a=setup:sideways\r\n",
            SdpError::BadAttribute {
                line: 5,
                attribute: "setup",
            },
        ),
        (
            "m=audio 9 RTP/SAVPF 111\r\na=rtpmap:111 opus\r\n",
            SdpError::BadAttribute {
                line: 6,
                attribute: "rtpmap",
            },
        ),
        (
            "m=audio 9 RTP/SAVPF 111\r\na=extmap:0 urn:x\r\n",
            SdpError::BadAttribute {
                line: 6,
                attribute: "extmap",
            },
        ),
    ];
    for (tail, want) in cases {
        assert_eq!(sdp::parse(&format!("{head}{tail}")), Err(want), "{tail:?}");
    }
    assert_eq!(
        sdp::parse(&format!("{head}a=mid:0\rx\r\n")),
        Err(SdpError::BadLine { line: 5 }),
        "a lone CR inside a value would split a line we echo"
    );
    assert_eq!(sdp::parse(""), Err(SdpError::MissingVersion));
    assert_eq!(sdp::parse("s=-\r\n"), Err(SdpError::MissingVersion));
}

/// The large single-PC offer repeats the line kinds of the smaller ones, so
/// the exhaustive sweeps use it with a stride to keep debug test time low.
fn stride(name: &str) -> usize {
    if name == "chrome_single_pc_offer.sdp" {
        7
    } else {
        1
    }
}

#[test]
fn truncation_at_every_byte_never_panics() {
    for name in FIXTURES {
        let text = fixture(name);
        let step = stride(name);
        for cut in (0..=text.len())
            .step_by(step)
            .filter(|&i| text.is_char_boundary(i))
        {
            let _ = sdp::parse(&text[..cut]);
        }
    }
}

#[test]
fn truncating_any_single_line_never_panics() {
    for name in FIXTURES.iter().filter(|n| stride(n) == 1) {
        let text = fixture(name);
        let lines: Vec<&str> = text.split("\r\n").collect();
        for (i, line) in lines.iter().enumerate() {
            for cut in (0..line.len()).filter(|&c| line.is_char_boundary(c)) {
                let mut mutated = lines.clone();
                mutated[i] = &line[..cut];
                let _ = sdp::parse(&mutated.join("\r\n"));
            }
        }
    }
}

#[test]
fn noise_bytes_in_values_never_panic() {
    let text = fixture("chrome_simulcast_vp8_offer.sdp");
    let noise = [
        "",
        " ",
        ":",
        "/",
        "~",
        ";",
        ",",
        "\u{00e9}",
        "=",
        "-1",
        "99999999999",
    ];
    let lines: Vec<&str> = text.split("\r\n").collect();
    for (i, line) in lines.iter().enumerate() {
        for n in noise {
            let mut mutated: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            mutated[i] = format!("{line}{n}");
            let _ = sdp::parse(&mutated.join("\r\n"));
            if let Some((k, _)) = line.split_once(':') {
                mutated[i] = format!("{k}:{n}");
                let _ = sdp::parse(&mutated.join("\r\n"));
            }
        }
    }
}
