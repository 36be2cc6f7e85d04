//! Participant webhooks from the signaling code, driven in memory (no
//! dataplane, so nobody becomes ACTIVE unless the test says so): which of
//! participant_left / participant_connection_aborted a departure sends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use livekit_protocol as proto;
use ringcast_controlplane::auth::{Claims, VideoGrant};
use ringcast_controlplane::config::Config;
use ringcast_controlplane::http::JoinGrant;
use ringcast_controlplane::server::AppState;
use ringcast_controlplane::signal::join_request::{from_v0_query, ConnectParams};
use ringcast_controlplane::signal::lobby;

const ROOM: &str = "hook-room";

type Seen = Arc<Mutex<Vec<proto::WebhookEvent>>>;

async fn hook(State(seen): State<Seen>, body: Bytes) -> &'static str {
    if let Ok(ev) = serde_json::from_slice(&body) {
        seen.lock().unwrap().push(ev);
    }
    "ok"
}

/// Server state whose webhooks go to a fresh local receiver.
async fn state_with_receiver() -> (AppState, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut config = Config::default();
    config.keys.insert("devkey".into(), "secret".into());
    config.webhook.api_key = "devkey".into();
    config.webhook.urls = vec![url];
    (AppState::new(config), seen)
}

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

fn params() -> ConnectParams {
    let mut q = HashMap::new();
    q.insert("protocol".to_string(), "17".to_string());
    from_v0_query(&q)
}

async fn events_after(state: &AppState, seen: &Seen, n: u64) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while state.webhooks.stats().delivered < n {
        assert!(Instant::now() < deadline, "{:?}", state.webhooks.stats());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    seen.lock()
        .unwrap()
        .iter()
        .map(|e| {
            let who = e.participant.as_ref().map(|p| p.sid.clone());
            (e.event.clone(), who.unwrap_or_default())
        })
        .collect()
}

#[tokio::test]
async fn leaving_without_becoming_active_is_connection_aborted() {
    let (state, seen) = state_with_receiver().await;
    let j = lobby::join(&state, &grant("alice"), params()).unwrap();
    lobby::leave(
        &state,
        ROOM,
        &j.sid,
        proto::DisconnectReason::ClientInitiated,
    );
    let got = events_after(&state, &seen, 2).await;
    assert_eq!(
        got,
        [
            ("room_started".to_string(), String::new()),
            ("participant_connection_aborted".to_string(), j.sid.clone()),
        ]
    );
}

#[tokio::test]
async fn active_participant_leaving_is_participant_left_with_room_and_info() {
    let (state, seen) = state_with_receiver().await;
    let j = lobby::join(&state, &grant("alice"), params()).unwrap();
    let info = lobby::live_info(&state, ROOM, "alice").unwrap();
    ringcast_controlplane::webhook::on_participant_active(&state, ROOM, info);
    lobby::leave(
        &state,
        ROOM,
        &j.sid,
        proto::DisconnectReason::ClientInitiated,
    );
    let got = events_after(&state, &seen, 3).await;
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["room_started", "participant_joined", "participant_left"]
    );
    let left = seen.lock().unwrap()[2].clone();
    let room = left.room.unwrap();
    assert_eq!(room.name, ROOM);
    assert!(room.sid.starts_with("RM_"));
    let p = left.participant.unwrap();
    assert_eq!(
        (p.identity.as_str(), p.sid.as_str()),
        ("alice", j.sid.as_str())
    );
    assert_eq!(p.state, proto::participant_info::State::Disconnected as i32);
    assert_eq!(
        p.disconnect_reason,
        proto::DisconnectReason::ClientInitiated as i32
    );
}

#[tokio::test]
async fn duplicate_identity_reports_the_evicted_session_gone() {
    let (state, seen) = state_with_receiver().await;
    let first = lobby::join(&state, &grant("alice"), params()).unwrap();
    let info = lobby::live_info(&state, ROOM, "alice").unwrap();
    ringcast_controlplane::webhook::on_participant_active(&state, ROOM, info);
    let second = lobby::join(&state, &grant("alice"), params()).unwrap();
    // The evicted session's socket ends later; that must not report it twice.
    lobby::leave(
        &state,
        ROOM,
        &first.sid,
        proto::DisconnectReason::ClientInitiated,
    );
    let got = events_after(&state, &seen, 3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(seen.lock().unwrap().len(), 3);
    assert_eq!(got[2], ("participant_left".to_string(), first.sid.clone()));
    assert_ne!(first.sid, second.sid);
}
