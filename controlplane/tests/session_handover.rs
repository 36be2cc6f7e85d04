//! Resume and control-plane handover driven in memory: a participant whose
//! socket dropped is kept detached and resumed by sid (ReconnectResponse
//! first, then the room), a resume for an unknown sid or another identity is
//! refused, an expired detached participant leaves, and a snapshot taken
//! from one control plane's state restores rooms, participants (detached,
//! same sids, same subscriber m-lines) and transport ids in another.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use livekit_protocol as proto;
use proto::signal_response::Message as Resp;
use ringcast_controlplane::auth::{Claims, VideoGrant};
use ringcast_controlplane::config::Config;
use ringcast_controlplane::handover::snapshot;
use ringcast_controlplane::http::JoinGrant;
use ringcast_controlplane::media::TransportOwner;
use ringcast_controlplane::participant::{OutboxRx, Outgoing, PcRole};
use ringcast_controlplane::server::AppState;
use ringcast_controlplane::signal::join_request::{from_v0_query, ConnectParams};
use ringcast_controlplane::signal::lobby;
use ringcast_controlplane::signal::resume::{self, ResumeError, RESUME_GRACE};

const ROOM: &str = "handover-room";

fn grant(identity: &str) -> JoinGrant {
    JoinGrant {
        claims: Claims {
            sub: identity.into(),
            video: Some(VideoGrant {
                room_join: true,
                room: ROOM.into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        room: ROOM.into(),
        identity: identity.into(),
    }
}

fn params(resume_sid: Option<&str>) -> ConnectParams {
    let mut q = HashMap::new();
    q.insert("protocol".to_string(), "17".to_string());
    q.insert("sdk".to_string(), "python".to_string());
    if let Some(sid) = resume_sid {
        q.insert("reconnect".to_string(), "1".to_string());
        q.insert("sid".to_string(), sid.to_string());
    }
    from_v0_query(&q)
}

fn drain(rx: &mut OutboxRx) -> Vec<Resp> {
    std::iter::from_fn(|| rx.try_recv())
        .filter_map(|o| match o {
            Outgoing::Signal(s) => s.message,
            Outgoing::Close => None,
        })
        .collect()
}

#[tokio::test]
async fn a_detached_participant_resumes_with_reconnect_response_first() {
    let state = AppState::new(Config::default());
    let alice = lobby::join(&state, &grant("alice"), params(None)).unwrap();
    let mut bob = lobby::join(&state, &grant("bob"), params(None)).unwrap();
    drain(&mut bob.outbox_rx);
    let now = Instant::now();
    assert!(resume::detach(
        &state,
        ROOM,
        &alice.sid,
        alice.generation,
        now
    ));
    // Still in the room for the others while detached.
    assert!(lobby::live_info(&state, ROOM, "alice").is_some());
    assert!(drain(&mut bob.outbox_rx)
        .iter()
        .all(|m| !matches!(m, Resp::Update(u) if u.participants.iter().any(|p| p.state == proto::participant_info::State::Disconnected as i32))));

    let mut again = resume::resume(&state, &grant("alice"), &params(Some(&alice.sid))).unwrap();
    assert_eq!(again.sid, alice.sid);
    assert!(again.generation > alice.generation);
    let msgs = drain(&mut again.outbox_rx);
    assert!(
        matches!(msgs.first(), Some(Resp::Reconnect(_))),
        "ReconnectResponse first: {msgs:?}"
    );
    let everyone: Vec<String> = msgs
        .iter()
        .filter_map(|m| match m {
            Resp::Update(u) => Some(u.participants.iter().map(|p| p.identity.clone())),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(everyone.contains(&"bob".to_string()) && everyone.contains(&"alice".to_string()));
    assert!(msgs.iter().any(|m| matches!(m, Resp::RoomUpdate(_))));
    // The old socket closing now must not detach the resumed session.
    assert!(!resume::detach(
        &state,
        ROOM,
        &alice.sid,
        alice.generation,
        now
    ));
    assert!(resume::expired(&state, now + RESUME_GRACE * 2).is_empty());
}

#[tokio::test]
async fn resumes_for_unknown_sids_or_other_identities_are_refused() {
    let state = AppState::new(Config::default());
    let alice = lobby::join(&state, &grant("alice"), params(None)).unwrap();
    assert_eq!(
        resume::resume(&state, &grant("alice"), &params(Some("PA_nobody"))).err(),
        Some(ResumeError::Unknown("PA_nobody".into()))
    );
    assert!(matches!(
        resume::resume(&state, &grant("mallory"), &params(Some(&alice.sid))).err(),
        Some(ResumeError::OtherIdentity { .. })
    ));
}

#[tokio::test]
async fn a_participant_that_never_resumes_expires_after_the_grace() {
    let state = AppState::new(Config::default());
    let alice = lobby::join(&state, &grant("alice"), params(None)).unwrap();
    let now = Instant::now();
    assert!(resume::detach(
        &state,
        ROOM,
        &alice.sid,
        alice.generation,
        now
    ));
    assert!(resume::expired(&state, now + RESUME_GRACE - Duration::from_millis(1)).is_empty());
    assert_eq!(
        resume::expired(&state, now + RESUME_GRACE),
        vec![(ROOM.to_string(), alice.sid.clone())]
    );
}

#[tokio::test]
async fn a_snapshot_restores_rooms_participants_and_transport_ids_elsewhere() {
    let old = AppState::new(Config::default());
    let alice = lobby::join(&old, &grant("alice"), params(None)).unwrap();
    let bob = lobby::join(&old, &grant("bob"), params(None)).unwrap();
    let extra = old.media.create(TransportOwner {
        room: ROOM.into(),
        participant_sid: bob.sid.clone(),
        pc: PcRole::Publisher,
    });
    let bytes = snapshot::take(&old).unwrap();
    let room_sid = old.rooms.get(ROOM).unwrap().sid;

    let new = AppState::new(Config::default());
    let now = Instant::now();
    let restored = snapshot::restore(&new, &bytes, now).unwrap();
    assert_eq!((restored.rooms, restored.participants), (1, 2));
    assert_eq!(
        new.rooms.get(ROOM).unwrap().sid,
        room_sid,
        "the same room, not a new one"
    );
    for (who, sid) in [("alice", &alice.sid), ("bob", &bob.sid)] {
        let info = lobby::live_info(&new, ROOM, who).unwrap();
        assert_eq!(&info.sid, sid);
    }
    // Detached until they resume; gone if they never do.
    assert_eq!(resume::expired(&new, now + RESUME_GRACE).len(), 2);
    let mut resumed = resume::resume(&new, &grant("bob"), &params(Some(&bob.sid))).unwrap();
    assert!(matches!(
        drain(&mut resumed.outbox_rx).first(),
        Some(Resp::Reconnect(_))
    ));
    // The dataplane still serves the old transports: new ids go past them.
    assert_eq!(
        new.media.owner(extra.id).map(|o| o.participant_sid),
        Some(bob.sid.clone())
    );
    let next = new.media.create(TransportOwner {
        room: ROOM.into(),
        participant_sid: "PA_new".into(),
        pc: PcRole::Publisher,
    });
    assert!(next.id.0 > extra.id.0, "transport ids are never reused");
}

#[tokio::test]
async fn a_corrupt_snapshot_is_refused_and_changes_nothing() {
    let new = AppState::new(Config::default());
    assert!(snapshot::restore(&new, b"{not json", Instant::now()).is_err());
    assert!(snapshot::restore(
        &new,
        br#"{"format":99,"next_transport_id":1,"owners":[],"rooms":[],"live":[]}"#,
        Instant::now()
    )
    .is_err());
    assert!(new.rooms.list(&[]).is_empty());
}

#[tokio::test]
async fn reading_a_room_is_not_a_change_but_taking_it_is() {
    let state = AppState::new(Config::default());
    let _alice = lobby::join(&state, &grant("alice"), params(None)).unwrap();
    let before = state.live.changes();
    // The snapshot itself reads every room: it must not count as a change,
    // or the snapshot would be rewritten on every tick.
    snapshot::take(&state).unwrap();
    assert_eq!(state.live.changes(), before);
    state.live.with(ROOM, |_| ());
    assert!(state.live.changes() > before);
}

fn fail_transport_of(state: &AppState, sid: &str) {
    let t = state.media.create(TransportOwner {
        room: ROOM.into(),
        participant_sid: sid.into(),
        pc: PcRole::Publisher,
    });
    ringcast_controlplane::signal::transport_events::on_event(
        state,
        ringcast_shared::records::Event::TransportFailed {
            id: t.id,
            reason: ringcast_shared::records::FailReason::Closed,
        },
    );
}

#[tokio::test]
async fn a_client_that_closed_its_peer_connection_is_not_kept_for_a_resume() {
    // The SDK closed its PeerConnection (DTLS close_notify), then its socket
    // dropped without a Leave reaching us: it is gone, not resuming.
    let state = AppState::new(Config::default());
    let alice = lobby::join(&state, &grant("alice"), params(None)).unwrap();
    fail_transport_of(&state, &alice.sid);
    assert!(
        lobby::live_info(&state, ROOM, "alice").is_some(),
        "signaling still up"
    );
    assert!(!resume::detach(
        &state,
        ROOM,
        &alice.sid,
        alice.generation,
        Instant::now()
    ));
    assert!(
        lobby::live_info(&state, ROOM, "alice").is_none(),
        "left at once"
    );

    // The other order: detached first, then its transport fails.
    let bob = lobby::join(&state, &grant("bob"), params(None)).unwrap();
    assert!(resume::detach(
        &state,
        ROOM,
        &bob.sid,
        bob.generation,
        Instant::now()
    ));
    assert!(
        lobby::live_info(&state, ROOM, "bob").is_some(),
        "kept for a resume"
    );
    fail_transport_of(&state, &bob.sid);
    assert!(
        lobby::live_info(&state, ROOM, "bob").is_none(),
        "left once its transport failed"
    );
}
