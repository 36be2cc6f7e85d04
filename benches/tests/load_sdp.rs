//! Our offers are what the Ringcast control plane expects from a `/rtc/v1`
//! client, and we read its answers: the publisher m-line is matched by
//! msid/SSRC, receive m-lines become subscription slots, the server takes
//! the DTLS server role, and its candidates reach us.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use ringcast_benches::load::sdp::{
    offer, parse_answer, parse_candidate, parse_candidate_init, AnswerError, LocalTransport,
    OfferSetup, Section,
};
use ringcast_controlplane::sdp::{self as cp, AnswerOptions, Direction, HostCandidate, MediaKind};
use ringcast_shared::records::DtlsRole;

fn local(setup: OfferSetup) -> LocalTransport {
    LocalTransport {
        ice_ufrag: "cliU".into(),
        ice_pwd: "clientPassword0123456789".into(),
        fingerprint: ringcast_dataplane::dtls::format_fingerprint(&[0xab; 32]),
        setup,
    }
}

fn server() -> cp::LocalTransport {
    let ips: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
    cp::LocalTransport {
        ice_ufrag: "srvUfrag1234".into(),
        ice_pwd: "serverPassword0123456789abcd".into(),
        fingerprint_sha256: [0xcd; 32],
        candidates: HostCandidate::for_addresses(&ips, 7882),
    }
}

#[test]
fn publisher_offer_is_answered_and_its_ssrc_is_received_in_either_dtls_role() {
    for (setup, server_role, our_role) in [
        (OfferSetup::Actpass, cp::DtlsRole::Client, DtlsRole::Server),
        (OfferSetup::Active, cp::DtlsRole::Server, DtlsRole::Client),
    ] {
        let sdp = offer(
            &local(setup),
            &[Section::SendAudio {
                ssrc: 0x1234_5678,
                cid: "load-audio-pub-0-0".into(),
            }],
            42,
            1,
        );
        let parsed = cp::parse(&sdp).unwrap();
        let srv = server();
        let answer = cp::build_answer(&parsed, &AnswerOptions::new(&srv, 9, 1)).unwrap();
        assert_eq!(answer.dtls_role, server_role, "{setup:?}");
        assert_eq!(answer.remote.ice_ufrag, "cliU");
        assert_eq!(answer.remote.fingerprint, [0xab; 32]);
        let m = &answer.media[0];
        assert!(m.accepted);
        assert_eq!(m.kind, MediaKind::Audio);
        let rx = m.receiving.as_ref().expect("server receives our audio");
        assert_eq!(rx.track_key.as_deref(), Some("load-audio-pub-0-0"));
        assert_eq!(rx.ssrcs, vec![(0x1234_5678, None)]);
        assert!(m.codecs.iter().any(|c| c.payload_type == 111));

        let remote = parse_answer(&answer.sdp, setup).unwrap();
        assert_eq!(remote.our_role, our_role);
        assert_eq!(remote.ice_ufrag, "srvUfrag1234");
        assert_eq!(remote.ice_pwd, "serverPassword0123456789abcd");
        assert_eq!(remote.fingerprint, [0xcd; 32]);
        let v4: SocketAddr = "127.0.0.1:7882".parse().unwrap();
        assert!(remote.candidates.contains(&v4), "{:?}", remote.candidates);
    }
}

#[test]
fn subscriber_recv_lines_carry_the_tracks_the_server_places() {
    let sdp = offer(
        &local(OfferSetup::Actpass),
        &[Section::RecvAudio, Section::RecvAudio],
        42,
        2,
    );
    let parsed = cp::parse(&sdp).unwrap();
    assert_eq!(parsed.media.len(), 2);
    assert!(parsed
        .media
        .iter()
        .all(|m| m.direction == Direction::RecvOnly && m.kind == MediaKind::Audio));
    let srv = server();
    let mut send = HashMap::new();
    send.insert(
        "1".to_string(),
        cp::OutgoingTrack {
            participant_sid: "PA_pub".into(),
            track_sid: "TR_AMabc".into(),
            ssrc: 777,
            rtx_ssrc: None,
            cname: "PA_pub".into(),
            codec_mime: "audio/opus".into(),
            codec_fmtp: None,
        },
    );
    let opts = AnswerOptions {
        send_tracks: &send,
        ..AnswerOptions::new(&srv, 9, 2)
    };
    let answer = cp::build_answer(&parsed, &opts).unwrap();
    assert_eq!(
        answer.media[1]
            .sending
            .as_ref()
            .map(|t| t.track_sid.as_str()),
        Some("TR_AMabc")
    );
    assert_eq!(answer.media[1].direction, Direction::SendOnly);
    assert!(answer.media[0].sending.is_none());
    assert!(parse_answer(&answer.sdp, OfferSetup::Actpass).is_ok());
}

#[test]
fn an_answer_taking_a_role_we_did_not_leave_or_lacking_credentials_is_refused() {
    let base = "v=0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\n\
                a=fingerprint:sha-256 AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB\r\n";
    let passive = format!("{base}a=setup:passive\r\n");
    let active = format!("{base}a=setup:active\r\n");
    assert_eq!(
        parse_answer(&passive, OfferSetup::Active).map(|r| r.our_role),
        Ok(DtlsRole::Client)
    );
    assert_eq!(
        parse_answer(&active, OfferSetup::Actpass).map(|r| r.our_role),
        Ok(DtlsRole::Server)
    );
    assert_eq!(
        parse_answer(&active, OfferSetup::Active),
        Err(AnswerError::WrongSetup(Some("active".into())))
    );
    assert_eq!(
        parse_answer(base, OfferSetup::Actpass),
        Err(AnswerError::WrongSetup(None))
    );
    assert_eq!(
        parse_answer("v=0\r\na=ice-ufrag:u\r\n", OfferSetup::Actpass),
        Err(AnswerError::NoIceCredentials)
    );
    assert_eq!(
        parse_answer(
            "v=0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\n",
            OfferSetup::Actpass
        ),
        Err(AnswerError::NoFingerprint)
    );
}

#[test]
fn candidates_are_read_from_sdp_lines_and_trickle_json() {
    let a = parse_candidate("1 1 udp 2130706431 127.0.0.1 7882 typ host generation 0");
    assert_eq!(a, Some("127.0.0.1:7882".parse().unwrap()));
    let b = parse_candidate("candidate:2 1 UDP 2130706430 ::1 7882 typ host");
    assert_eq!(b, Some("[::1]:7882".parse().unwrap()));
    // RTCP component and TCP candidates are not for us; garbage is None.
    assert_eq!(parse_candidate("1 2 udp 1 127.0.0.1 9 typ host"), None);
    assert_eq!(parse_candidate("1 1 tcp 1 127.0.0.1 9 typ host"), None);
    assert_eq!(parse_candidate("1 1 udp 1 nonsense 9 typ host"), None);
    assert_eq!(parse_candidate(""), None);
    let json = r#"{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 7882 typ host","sdpMid":"0","sdpMLineIndex":0}"#;
    assert_eq!(parse_candidate_init(json), a);
    assert_eq!(parse_candidate_init("{}"), None);
}
