//! LiveKit's data forwarding rules (LIVEKIT_PROTOCOL.md §5.6, §5.8, §11.15)
//! as the control plane applies them, and the data-out link's bounds.

use std::sync::Arc;

use livekit_protocol as proto;
use prost::Message;
use proto::data_packet::Value;
use ringcast_controlplane::data::{
    pick_recipients, route_participant_packet, server_packet, DataLink, DropReason, Member,
    SendDataError, SenderInfo, SequenceTracker,
};
use ringcast_shared::data_ring::{ChannelKind, DataRecord};
use ringcast_shared::records::{Event, TransportId, WireAddr};

fn alice() -> SenderInfo<'static> {
    SenderInfo {
        room: "r",
        sid: "PA_alice",
        identity: "alice",
        hidden: false,
        can_publish_data: true,
        is_agent: false,
    }
}

#[allow(deprecated)]
fn user_packet(payload: &[u8]) -> proto::UserPacket {
    proto::UserPacket {
        payload: payload.to_vec(),
        topic: Some("chat".into()),
        ..Default::default()
    }
}

fn packet(value: Value, sequence: u32) -> proto::DataPacket {
    proto::DataPacket {
        value: Some(value),
        sequence,
        ..Default::default()
    }
}

fn decode(bytes: &[u8]) -> proto::DataPacket {
    proto::DataPacket::decode(bytes).expect("forwarded bytes decode")
}

fn route(
    sender: &SenderInfo<'_>,
    kind: ChannelKind,
    dp: &proto::DataPacket,
    seq: &mut SequenceTracker,
) -> Result<proto::DataPacket, DropReason> {
    route_participant_packet(sender, kind, &dp.encode_to_vec(), seq).map(|r| decode(&r.bytes))
}

#[test]
fn sender_without_can_publish_data_is_dropped() {
    let mut seq = SequenceTracker::default();
    let sender = SenderInfo {
        can_publish_data: false,
        ..alice()
    };
    let dp = packet(Value::User(user_packet(b"hi")), 1);
    assert_eq!(
        route(&sender, ChannelKind::Reliable, &dp, &mut seq).err(),
        Some(DropReason::NoPermission)
    );
}

#[test]
#[allow(deprecated)]
fn forwarded_packet_is_stamped_with_sender_and_channel_kind_even_if_forged() {
    let mut seq = SequenceTracker::default();
    let mut dp = packet(Value::User(user_packet(b"hi")), 0);
    dp.participant_identity = "mallory".into();
    dp.participant_sid = "PA_mallory".into();
    if let Some(Value::User(u)) = dp.value.as_mut() {
        u.participant_identity = "mallory".into();
        u.participant_sid = "PA_mallory".into();
    }
    let out = route(&alice(), ChannelKind::Lossy, &dp, &mut seq).expect("forwarded");
    assert_eq!(out.participant_identity, "alice");
    assert_eq!(out.participant_sid, "PA_alice");
    assert_eq!(out.kind, proto::data_packet::Kind::Lossy as i32);
    let Some(Value::User(u)) = out.value else {
        panic!("user packet lost")
    };
    assert_eq!(u.participant_identity, "alice");
    assert_eq!(u.participant_sid, "PA_alice");
    assert_eq!(u.payload, b"hi");
    assert_eq!(u.topic.as_deref(), Some("chat"));

    let out = route(&alice(), ChannelKind::Reliable, &dp, &mut seq).expect("forwarded");
    assert_eq!(out.kind, proto::data_packet::Kind::Reliable as i32);
}

#[test]
#[allow(deprecated)]
fn destinations_are_synced_between_data_packet_and_user_packet_both_ways() {
    let mut seq = SequenceTracker::default();
    // JS: inside the UserPacket.
    let mut js = user_packet(b"x");
    js.destination_identities = vec!["carol".into()];
    let r = route_participant_packet(
        &alice(),
        ChannelKind::Reliable,
        &packet(Value::User(js), 0).encode_to_vec(),
        &mut seq,
    )
    .expect("forwarded");
    assert_eq!(r.destinations.identities, vec!["carol".to_string()]);
    assert_eq!(decode(&r.bytes).destination_identities, vec!["carol"]);
    // Rust: on the DataPacket.
    let mut rs = packet(Value::User(user_packet(b"x")), 0);
    rs.destination_identities = vec!["dave".into()];
    let r = route_participant_packet(
        &alice(),
        ChannelKind::Reliable,
        &rs.encode_to_vec(),
        &mut seq,
    )
    .expect("forwarded");
    assert_eq!(r.destinations.identities, vec!["dave".to_string()]);
    let Some(Value::User(u)) = decode(&r.bytes).value else {
        panic!("user packet lost")
    };
    assert_eq!(u.destination_identities, vec!["dave"]);
}

#[test]
#[allow(deprecated)]
fn hidden_sender_is_never_named_to_the_others() {
    let mut seq = SequenceTracker::default();
    let sender = SenderInfo {
        hidden: true,
        ..alice()
    };
    let out = route(
        &sender,
        ChannelKind::Reliable,
        &packet(Value::User(user_packet(b"x")), 0),
        &mut seq,
    )
    .expect("forwarded");
    assert_eq!(out.participant_identity, "");
    assert_eq!(out.participant_sid, "");
    let Some(Value::User(u)) = out.value else {
        panic!("user packet lost")
    };
    assert_eq!(u.participant_identity, "");
    assert_eq!(u.participant_sid, "");
}

#[test]
fn reliable_packet_not_above_the_last_sequence_is_dropped_lossy_is_not_checked() {
    let mut seq = SequenceTracker::default();
    let p = |n| packet(Value::User(user_packet(b"x")), n);
    assert!(route(&alice(), ChannelKind::Reliable, &p(1), &mut seq).is_ok());
    assert!(route(&alice(), ChannelKind::Reliable, &p(2), &mut seq).is_ok());
    assert_eq!(
        route(&alice(), ChannelKind::Reliable, &p(2), &mut seq).err(),
        Some(DropReason::StaleSequence)
    );
    assert_eq!(
        route(&alice(), ChannelKind::Reliable, &p(1), &mut seq).err(),
        Some(DropReason::StaleSequence)
    );
    assert!(route(&alice(), ChannelKind::Lossy, &p(1), &mut seq).is_ok());
    // Unnumbered packets always pass; another sender has its own count.
    assert!(route(&alice(), ChannelKind::Reliable, &p(0), &mut seq).is_ok());
    let bob = SenderInfo {
        sid: "PA_bob",
        identity: "bob",
        ..alice()
    };
    assert!(route(&bob, ChannelKind::Reliable, &p(1), &mut seq).is_ok());
    assert_eq!(seq.last("r", "PA_alice"), 2);
}

#[test]
fn data_track_frames_are_not_forwarded() {
    let mut seq = SequenceTracker::default();
    assert_eq!(
        route_participant_packet(&alice(), ChannelKind::DataTrack, b"\x01\x02", &mut seq).err(),
        Some(DropReason::DataTrack)
    );
}

#[test]
fn malformed_packets_are_dropped_never_panic() {
    let mut seq = SequenceTracker::default();
    let good = packet(Value::User(user_packet(&[7; 300])), 0).encode_to_vec();
    let mut malformed = 0;
    for n in 0..good.len() {
        if route_participant_packet(&alice(), ChannelKind::Lossy, &good[..n], &mut seq).err()
            == Some(DropReason::Malformed)
        {
            malformed += 1;
        }
    }
    assert!(malformed > 0, "truncations must be refused");
    for bytes in [&[0xff_u8; 16][..], &[0x12, 0x7f][..], &[0x0b][..]] {
        assert_eq!(
            route_participant_packet(&alice(), ChannelKind::Lossy, bytes, &mut seq).err(),
            Some(DropReason::Malformed)
        );
    }
}

#[test]
fn rpc_and_stream_packets_pass_through_intact() {
    let mut seq = SequenceTracker::default();
    let values = vec![
        Value::RpcRequest(proto::RpcRequest {
            id: "req-1".into(),
            method: "greet".into(),
            payload: "{\"a\":1}".into(),
            response_timeout_ms: 10_000,
            version: 1,
            ..Default::default()
        }),
        Value::RpcAck(proto::RpcAck {
            request_id: "req-1".into(),
        }),
        Value::StreamChunk(proto::data_stream::Chunk {
            stream_id: "s1".into(),
            chunk_index: 3,
            content: vec![9; 1000],
            ..Default::default()
        }),
    ];
    for (i, v) in values.into_iter().enumerate() {
        let mut dp = packet(v.clone(), i as u32 + 1);
        dp.destination_identities = vec!["bob".into()];
        let out = route(&alice(), ChannelKind::Reliable, &dp, &mut seq).expect("forwarded");
        assert_eq!(out.value, Some(v));
        assert_eq!(out.destination_identities, vec!["bob"]);
        assert_eq!(out.sequence, i as u32 + 1);
    }
}

#[test]
fn fields_this_build_does_not_know_survive_forwarding() {
    let mut seq = SequenceTracker::default();
    let mut bytes = packet(Value::User(user_packet(b"x")), 0).encode_to_vec();
    // Field 99, length-delimited "new".
    bytes.extend_from_slice(&[0x9a, 0x06, 3, b'n', b'e', b'w']);
    let r = route_participant_packet(&alice(), ChannelKind::Reliable, &bytes, &mut seq)
        .expect("forwarded");
    assert!(
        r.bytes
            .windows(6)
            .any(|w| w == [0x9a, 0x06, 3, b'n', b'e', b'w']),
        "unknown field dropped"
    );
}

#[test]
fn transcripts_and_metrics_only_from_agents_and_agent_chat_keeps_its_identity() {
    let mut seq = SequenceTracker::default();
    let transcript = packet(
        Value::Transcription(proto::Transcription {
            transcribed_participant_identity: "alice".into(),
            ..Default::default()
        }),
        0,
    );
    assert_eq!(
        route(&alice(), ChannelKind::Reliable, &transcript, &mut seq).err(),
        Some(DropReason::NotForwarded)
    );
    let agent = SenderInfo {
        sid: "PA_agent",
        identity: "agent",
        is_agent: true,
        ..alice()
    };
    let mut chat = packet(
        Value::ChatMessage(proto::ChatMessage {
            id: "c1".into(),
            message: "hello".into(),
            ..Default::default()
        }),
        0,
    );
    chat.participant_identity = "alice".into();
    let out = route(&agent, ChannelKind::Reliable, &chat, &mut seq).expect("forwarded");
    assert_eq!(out.participant_identity, "alice");
    assert_eq!(out.participant_sid, "PA_agent");
    // The same chat from a non-agent is attributed to its sender.
    let out = route(&alice(), ChannelKind::Reliable, &chat, &mut seq).expect("forwarded");
    assert_eq!(out.participant_identity, "alice");
    let bob = SenderInfo {
        sid: "PA_bob",
        identity: "bob",
        ..alice()
    };
    let out = route(&bob, ChannelKind::Reliable, &chat, &mut seq).expect("forwarded");
    assert_eq!(out.participant_identity, "bob");
}

#[test]
fn oversize_packet_is_refused() {
    let mut seq = SequenceTracker::default();
    let dp = packet(Value::User(user_packet(&vec![1; 65_600])), 0);
    assert_eq!(
        route(&alice(), ChannelKind::Reliable, &dp, &mut seq).err(),
        Some(DropReason::TooLarge)
    );
}

fn members() -> Vec<Member<'static>> {
    vec![
        Member {
            sid: "PA_alice",
            identity: "alice",
            transport: Some(TransportId(1)),
            active: true,
        },
        Member {
            sid: "PA_carol",
            identity: "carol",
            transport: Some(TransportId(3)),
            active: true,
        },
        Member {
            sid: "PA_dave",
            identity: "dave",
            transport: Some(TransportId(4)),
            active: false,
        },
        Member {
            sid: "PA_erin",
            identity: "erin",
            transport: None,
            active: true,
        },
    ]
}

#[test]
fn recipients_are_everyone_but_the_sender_filtered_by_destinations() {
    let mut seq = SequenceTracker::default();
    let all = route_participant_packet(
        &alice(),
        ChannelKind::Reliable,
        &packet(Value::User(user_packet(b"x")), 0).encode_to_vec(),
        &mut seq,
    )
    .expect("forwarded");
    let (to, dropped) = pick_recipients(Some("PA_alice"), &all, members());
    assert_eq!(to, vec![TransportId(3), TransportId(4)]);
    assert_eq!(dropped, vec![DropReason::NoTransport]);

    let mut only_carol = packet(Value::User(user_packet(b"x")), 0);
    only_carol.destination_identities = vec!["carol".into()];
    let r = route_participant_packet(
        &alice(),
        ChannelKind::Reliable,
        &only_carol.encode_to_vec(),
        &mut seq,
    )
    .expect("forwarded");
    let (to, dropped) = pick_recipients(Some("PA_alice"), &r, members());
    assert_eq!(to, vec![TransportId(3)]);
    assert!(dropped.is_empty());

    // Naming yourself does not echo back.
    let mut me = packet(Value::User(user_packet(b"x")), 0);
    me.destination_identities = vec!["alice".into()];
    let r = route_participant_packet(
        &alice(),
        ChannelKind::Reliable,
        &me.encode_to_vec(),
        &mut seq,
    )
    .expect("forwarded");
    assert!(pick_recipients(Some("PA_alice"), &r, members())
        .0
        .is_empty());
}

#[test]
fn lossy_packets_skip_recipients_that_are_not_active_yet() {
    let mut seq = SequenceTracker::default();
    let r = route_participant_packet(
        &alice(),
        ChannelKind::Lossy,
        &packet(Value::User(user_packet(b"x")), 0).encode_to_vec(),
        &mut seq,
    )
    .expect("forwarded");
    let (to, dropped) = pick_recipients(Some("PA_alice"), &r, members());
    assert_eq!(to, vec![TransportId(3)]);
    assert!(dropped.contains(&DropReason::NotActive));
}

#[test]
#[allow(deprecated)]
fn server_send_data_has_no_sender_and_checks_the_nonce() {
    let mut req = proto::SendDataRequest {
        room: "r".into(),
        data: b"from server".to_vec(),
        kind: proto::data_packet::Kind::Reliable as i32,
        destination_identities: vec!["carol".into()],
        topic: Some("t".into()),
        ..Default::default()
    };
    let r = server_packet(&req).expect("built");
    assert_eq!(r.kind, ChannelKind::Reliable);
    let dp = decode(&r.bytes);
    assert_eq!(dp.participant_identity, "");
    assert_eq!(dp.participant_sid, "");
    assert_eq!(dp.sequence, 0);
    assert_eq!(dp.destination_identities, vec!["carol"]);
    let Some(Value::User(u)) = dp.value else {
        panic!("no user packet")
    };
    assert_eq!(u.payload, b"from server");
    assert_eq!(u.topic.as_deref(), Some("t"));
    // Everyone but carol is filtered out; the server is nobody's sender.
    let (to, _) = pick_recipients(None, &r, members());
    assert_eq!(to, vec![TransportId(3)]);

    req.nonce = vec![1; 16];
    assert!(server_packet(&req).is_ok());
    req.nonce = vec![1; 5];
    assert_eq!(server_packet(&req).err(), Some(SendDataError::BadNonce));
    req.nonce.clear();
    req.data = vec![0; 70_000];
    assert!(matches!(
        server_packet(&req).err(),
        Some(SendDataError::TooLarge(_))
    ));
}

fn connected(id: u64, worker: u16) -> Event {
    Event::IceConnected {
        id: TransportId(id),
        worker,
        remote: WireAddr::from("127.0.0.1:9".parse::<std::net::SocketAddr>().unwrap()),
    }
}

#[test]
fn link_sends_to_the_worker_holding_the_transport_or_to_all_when_unknown() {
    let link = DataLink::default();
    let (p0, mut c0) = ringcast_shared::ring::channel::<DataRecord>(4).unwrap();
    let (p1, mut c1) = ringcast_shared::ring::channel::<DataRecord>(4).unwrap();
    link.attach(vec![p0, p1]);
    link.note_event(&connected(7, 1));
    let bytes: Arc<[u8]> = Arc::from(&b"hello"[..]);
    assert!(link.send(TransportId(7), ChannelKind::Lossy, &bytes));
    assert!(c0.try_pop().is_none());
    let rec = c1.try_pop().expect("worker 1 got it");
    assert_eq!(rec.transport(), TransportId(7));
    assert_eq!(rec.kind(), Some(ChannelKind::Lossy));
    assert_eq!(rec.payload(), b"hello");

    assert!(link.send(TransportId(8), ChannelKind::Reliable, &bytes));
    assert!(c0.try_pop().is_some());
    assert!(c1.try_pop().is_some());
}

#[test]
fn full_ring_backlogs_in_order_then_drops_and_counts() {
    let link = DataLink::default();
    let (p0, mut c0) = ringcast_shared::ring::channel::<DataRecord>(2).unwrap();
    link.attach(vec![p0]);
    let n = 2 + ringcast_controlplane::data::link::OUT_BACKLOG;
    for i in 0..n {
        let bytes: Arc<[u8]> = Arc::from((i as u32).to_be_bytes().to_vec());
        assert!(
            link.send(TransportId(1), ChannelKind::Reliable, &bytes),
            "{i}"
        );
    }
    let bytes: Arc<[u8]> = Arc::from(&b"one too many"[..]);
    assert!(!link.send(TransportId(1), ChannelKind::Reliable, &bytes));
    assert_eq!(link.counters.dropped(DropReason::RingFull), 1);
    let mut got = Vec::new();
    while got.len() < n {
        link.flush();
        while let Some(r) = c0.try_pop() {
            got.push(u32::from_be_bytes(r.payload().try_into().unwrap()));
        }
    }
    assert_eq!(got, (0..n as u32).collect::<Vec<_>>());
}

#[test]
fn link_without_rings_drops_and_counts() {
    let link = DataLink::default();
    let bytes: Arc<[u8]> = Arc::from(&b"x"[..]);
    assert!(!link.send(TransportId(1), ChannelKind::Reliable, &bytes));
    assert_eq!(link.counters.dropped(DropReason::RingFull), 1);
}

#[test]
fn agent_text_stream_keeps_the_identity_it_speaks_for_other_streams_do_not() {
    let mut seq = SequenceTracker::default();
    let agent = SenderInfo {
        sid: "PA_agent",
        identity: "agent",
        is_agent: true,
        ..alice()
    };
    let header = |text: bool| proto::data_stream::Header {
        stream_id: "s".into(),
        topic: "lk.transcription".into(),
        content_header: Some(if text {
            proto::data_stream::header::ContentHeader::TextHeader(Default::default())
        } else {
            proto::data_stream::header::ContentHeader::ByteHeader(Default::default())
        }),
        ..Default::default()
    };
    let mut dp = packet(Value::StreamHeader(header(true)), 0);
    dp.participant_identity = "alice".into();
    let out = route(&agent, ChannelKind::Reliable, &dp, &mut seq).expect("forwarded");
    assert_eq!(out.participant_identity, "alice");
    let mut dp = packet(Value::StreamHeader(header(false)), 0);
    dp.participant_identity = "alice".into();
    let out = route(&agent, ChannelKind::Reliable, &dp, &mut seq).expect("forwarded");
    assert_eq!(out.participant_identity, "agent");
}

#[test]
fn a_refused_payload_still_advances_the_senders_sequence() {
    let mut seq = SequenceTracker::default();
    let transcript = packet(Value::Transcription(proto::Transcription::default()), 5);
    assert_eq!(
        route(&alice(), ChannelKind::Reliable, &transcript, &mut seq).err(),
        Some(DropReason::NotForwarded)
    );
    assert_eq!(
        route(
            &alice(),
            ChannelKind::Reliable,
            &packet(Value::User(user_packet(b"x")), 5),
            &mut seq
        )
        .err(),
        Some(DropReason::StaleSequence)
    );
}
