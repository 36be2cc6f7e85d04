//! The signaling session driven in memory: joins, the JoinResponse and what
//! follows it, participant updates, duplicate identities, ping/pong, leave,
//! offer/answer and metadata permission. No sockets: the outbox receivers
//! are what a WebSocket writer would send.

use std::collections::HashMap;

use livekit_protocol as proto;
use proto::signal_request::Message as Req;
use proto::signal_response::Message as Resp;
use ringcast_controlplane::auth::{Claims, VideoGrant};
use ringcast_controlplane::config::Config;
use ringcast_controlplane::http::JoinGrant;
use ringcast_controlplane::participant::{OutboxRx, Outgoing};
use ringcast_controlplane::server::AppState;
use ringcast_controlplane::signal::dispatch::{self, Next};
use ringcast_controlplane::signal::join_request::{from_v0_query, ConnectParams, SignalVariant};
use ringcast_controlplane::signal::lobby::{self, Joined};

const ROOM: &str = "mem-room";

fn grant(identity: &str, can_update_meta: bool) -> JoinGrant {
    JoinGrant {
        claims: Claims {
            sub: identity.into(),
            name: identity.to_uppercase(),
            video: Some(VideoGrant {
                room_join: true,
                room: ROOM.into(),
                can_update_own_metadata: Some(can_update_meta),
                ..Default::default()
            }),
            ..Default::default()
        },
        room: ROOM.into(),
        identity: identity.into(),
    }
}

fn v0_params() -> ConnectParams {
    let mut q = HashMap::new();
    q.insert("protocol".to_string(), "17".to_string());
    q.insert("sdk".to_string(), "python".to_string());
    from_v0_query(&q)
}

fn v1_params() -> ConnectParams {
    let mut p = v0_params();
    p.variant = SignalVariant::SinglePc;
    p
}

fn drain(rx: &mut OutboxRx) -> Vec<Outgoing> {
    std::iter::from_fn(|| rx.try_recv()).collect()
}

fn signals(out: &[Outgoing]) -> Vec<&Resp> {
    out.iter()
        .filter_map(|o| match o {
            Outgoing::Signal(s) => s.message.as_ref(),
            Outgoing::Close => None,
        })
        .collect()
}

fn request(state: &AppState, sid: &str, msg: Req) -> Next {
    let codecs = lobby::enabled_codecs(state);
    lobby::with_room(state, ROOM, |set| {
        dispatch::handle_request(
            set,
            &state.media,
            &codecs,
            sid,
            proto::SignalRequest { message: Some(msg) },
        )
    })
    .unwrap_or(Next::Leave)
}

#[tokio::test]
async fn join_response_comes_first_then_self_update_then_subscriber_offer() {
    let state = AppState::new(Config::default());
    let Joined {
        sid, mut outbox_rx, ..
    } = lobby::join(&state, &grant("alice", false), v0_params()).unwrap();
    let out = drain(&mut outbox_rx);
    let msgs = signals(&out);
    let Resp::Join(jr) = msgs[0] else {
        panic!("first message must be the JoinResponse: {msgs:?}")
    };
    let me = jr.participant.as_ref().unwrap();
    assert_eq!(me.sid, sid);
    assert!(me.sid.starts_with("PA_"));
    assert_eq!(me.identity, "alice");
    assert_eq!(me.state, proto::participant_info::State::Joining as i32);
    assert!(jr.room.as_ref().unwrap().sid.starts_with("RM_"));
    assert_eq!((jr.ping_interval, jr.ping_timeout), (5, 15));
    assert_eq!(jr.server_info.as_ref().unwrap().version, "1.13.5");
    assert!(
        jr.subscriber_primary,
        "dual PC with protocol 17 is subscriber-primary"
    );
    assert!(jr.fast_publish);
    assert!(jr.other_participants.is_empty());
    let Resp::Update(u) = msgs[1] else {
        panic!("then the self update: {msgs:?}")
    };
    assert_eq!(
        u.participants[0].state,
        proto::participant_info::State::Joined as i32
    );
    assert!(u.participants[0].version > me.version, "versions only grow");
    let Resp::Offer(offer) = msgs[2] else {
        panic!("then the subscriber offer: {msgs:?}")
    };
    assert_eq!(offer.r#type, "offer");
    assert!(offer.id >= 1);
    assert!(
        offer.sdp.contains("m=application"),
        "first subscriber offer carries the data channels"
    );
    assert!(offer.sdp.contains("a=setup:actpass"));
}

#[tokio::test]
async fn single_pc_join_is_not_subscriber_primary_and_sends_no_offer() {
    let state = AppState::new(Config::default());
    let mut j = lobby::join(&state, &grant("alice", false), v1_params()).unwrap();
    let out = drain(&mut j.outbox_rx);
    let msgs = signals(&out);
    let Resp::Join(jr) = msgs[0] else {
        panic!("{msgs:?}")
    };
    assert!(!jr.subscriber_primary);
    assert!(
        !msgs.iter().any(|m| matches!(m, Resp::Offer(_))),
        "the server never offers in /rtc/v1"
    );
}

#[tokio::test]
async fn others_hear_of_a_newcomer_and_of_its_leave() {
    let state = AppState::new(Config::default());
    let mut alice = lobby::join(&state, &grant("alice", false), v1_params()).unwrap();
    drain(&mut alice.outbox_rx);
    let mut bob = lobby::join(&state, &grant("bob", false), v1_params()).unwrap();
    let bob_out = drain(&mut bob.outbox_rx);
    let Resp::Join(jr) = signals(&bob_out)[0] else {
        panic!()
    };
    assert_eq!(
        jr.other_participants
            .iter()
            .map(|p| p.identity.as_str())
            .collect::<Vec<_>>(),
        ["alice"]
    );

    let alice_out = drain(&mut alice.outbox_rx);
    let updates: Vec<&proto::ParticipantInfo> = signals(&alice_out)
        .into_iter()
        .filter_map(|m| match m {
            Resp::Update(u) => Some(&u.participants[0]),
            _ => None,
        })
        .collect();
    assert!(
        updates
            .iter()
            .any(|p| p.identity == "bob" && p.name == "BOB"),
        "{updates:?}"
    );
    assert_eq!(state.rooms.get(ROOM).unwrap().num_participants, 2);

    assert_eq!(
        request(&state, &bob.sid, Req::Leave(proto::LeaveRequest::default())),
        Next::Leave
    );
    lobby::leave(
        &state,
        ROOM,
        &bob.sid,
        proto::DisconnectReason::ClientInitiated,
    );
    let alice_out = drain(&mut alice.outbox_rx);
    let gone = signals(&alice_out)
        .into_iter()
        .find_map(|m| match m {
            Resp::Update(u) if u.participants[0].identity == "bob" => {
                Some(u.participants[0].clone())
            }
            _ => None,
        })
        .expect("alice is told bob left");
    assert_eq!(
        gone.state,
        proto::participant_info::State::Disconnected as i32
    );
    assert_eq!(
        gone.disconnect_reason,
        proto::DisconnectReason::ClientInitiated as i32
    );
    assert_eq!(state.rooms.get(ROOM).unwrap().num_participants, 1);
}

#[tokio::test]
async fn duplicate_identity_evicts_the_older_session() {
    let state = AppState::new(Config::default());
    let mut first = lobby::join(&state, &grant("carol", false), v1_params()).unwrap();
    drain(&mut first.outbox_rx);
    let mut second = lobby::join(&state, &grant("carol", false), v1_params()).unwrap();
    let out = drain(&mut first.outbox_rx);
    let leave = signals(&out)
        .into_iter()
        .find_map(|m| match m {
            Resp::Leave(l) => Some(l.clone()),
            _ => None,
        })
        .expect("the older session gets a Leave");
    assert_eq!(
        leave.reason,
        proto::DisconnectReason::DuplicateIdentity as i32
    );
    assert!(
        matches!(out.last(), Some(Outgoing::Close)),
        "and its socket is closed after it"
    );
    let Resp::Join(jr) = signals(&drain(&mut second.outbox_rx))[0].clone() else {
        panic!()
    };
    assert!(
        jr.other_participants.is_empty(),
        "the evicted session is not listed"
    );
    // The evicted socket closing later must not remove the new session.
    lobby::leave(
        &state,
        ROOM,
        &first.sid,
        proto::DisconnectReason::SignalClose,
    );
    assert_eq!(state.rooms.get(ROOM).unwrap().num_participants, 1);
}

#[tokio::test]
async fn pings_are_answered_with_unix_millis() {
    let state = AppState::new(Config::default());
    let mut a = lobby::join(&state, &grant("alice", false), v1_params()).unwrap();
    drain(&mut a.outbox_rx);
    request(&state, &a.sid, Req::Ping(123));
    request(
        &state,
        &a.sid,
        Req::PingReq(proto::Ping {
            timestamp: 456,
            rtt: 0,
        }),
    );
    let out = drain(&mut a.outbox_rx);
    let msgs = signals(&out);
    let Resp::Pong(ms) = msgs[0] else {
        panic!("{msgs:?}")
    };
    assert!(*ms > 1_600_000_000_000, "pong is unix milliseconds");
    let Resp::PongResp(p) = msgs[1] else {
        panic!("{msgs:?}")
    };
    assert_eq!(p.last_ping_timestamp, 456);
}

#[tokio::test]
async fn client_offer_is_answered_as_dtls_client_with_the_same_id() {
    let state = AppState::new(Config::default());
    let mut a = lobby::join(&state, &grant("alice", false), v1_params()).unwrap();
    drain(&mut a.outbox_rx);
    let sdp = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sdp/chrome_single_pc_offer.sdp"
    ))
    .unwrap();
    request(
        &state,
        &a.sid,
        Req::Offer(proto::SessionDescription {
            r#type: "offer".into(),
            sdp,
            id: 7,
            ..Default::default()
        }),
    );
    let out = drain(&mut a.outbox_rx);
    let Resp::Answer(ans) = signals(&out)[0] else {
        panic!("{:?}", signals(&out))
    };
    assert_eq!(ans.id, 7, "the answer echoes the offer id");
    assert_eq!(ans.r#type, "answer");
    assert!(ans.sdp.contains("a=ice-lite"));
    assert!(ans.sdp.contains("a=setup:active"));
    // A broken offer is refused, not answered, and the session goes on.
    request(
        &state,
        &a.sid,
        Req::Offer(proto::SessionDescription {
            r#type: "offer".into(),
            sdp: "garbage".into(),
            id: 8,
            ..Default::default()
        }),
    );
    let out = drain(&mut a.outbox_rx);
    assert!(matches!(signals(&out)[0], Resp::RequestResponse(_)));
    assert_eq!(request(&state, &a.sid, Req::Ping(1)), Next::Continue);
}

#[tokio::test]
async fn metadata_update_needs_the_grant_and_reaches_everyone() {
    let state = AppState::new(Config::default());
    let mut a = lobby::join(&state, &grant("alice", false), v1_params()).unwrap();
    let mut b = lobby::join(&state, &grant("bob", true), v1_params()).unwrap();
    drain(&mut a.outbox_rx);
    drain(&mut b.outbox_rx);
    let upd = |id| proto::UpdateParticipantMetadata {
        metadata: "m1".into(),
        request_id: id,
        ..Default::default()
    };
    request(&state, &a.sid, Req::UpdateMetadata(upd(3)));
    let out = drain(&mut a.outbox_rx);
    let Resp::RequestResponse(rr) = signals(&out)[0] else {
        panic!()
    };
    assert_eq!(
        (rr.request_id, rr.reason),
        (3, proto::request_response::Reason::NotAllowed as i32)
    );

    request(&state, &b.sid, Req::UpdateMetadata(upd(4)));
    let out = drain(&mut b.outbox_rx);
    let Resp::RequestResponse(rr) = signals(&out)[0] else {
        panic!()
    };
    assert_eq!(
        (rr.request_id, rr.reason),
        (4, proto::request_response::Reason::Ok as i32)
    );
    let seen_by_alice = signals(&drain(&mut a.outbox_rx))
        .into_iter()
        .any(|m| matches!(m, Resp::Update(u) if u.participants[0].identity == "bob" && u.participants[0].metadata == "m1"));
    assert!(seen_by_alice);
}
