//! The signaling WebSocket (`/rtc` and `/rtc/v1`): checks the join before the
//! upgrade so errors surface as HTTP statuses (as LiveKit does), then moves
//! protobuf frames between the socket and the participant's session.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};

/// Bytes of the signaling WebSocket's read buffer per connection.
const SIGNAL_READ_BUFFER: usize = 8 * 1024;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use livekit_protocol as proto;
use prost::Message as _;
use proto::signal_response::Message as Resp;

use super::dispatch::{self, Next};
use super::join_request::{self, ConnectParams, SignalVariant};
use super::lobby::{self, Joined};
use crate::server::AppState;

/// A client silent for longer than this is gone (ping timeout plus slack).
const SILENCE_LIMIT: Duration = Duration::from_secs(20);

/// `GET /rtc`: dual PeerConnection signaling.
pub async fn rtc_v0(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    serve(state, headers, q, ws, SignalVariant::DualPc).await
}

/// `GET /rtc/v1`: single PeerConnection signaling.
pub async fn rtc_v1(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    serve(state, headers, q, ws, SignalVariant::SinglePc).await
}

async fn serve(
    state: AppState,
    headers: HeaderMap,
    q: HashMap<String, String>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    variant: SignalVariant,
) -> Response {
    // A plain GET is not a signaling request: 404 with an empty body.
    let Ok(ws) = ws else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    let grant = match crate::http::join_check::check_join(
        &state,
        auth,
        q.get("access_token").map(String::as_str),
    ) {
        Ok(g) => g,
        Err((status, msg)) => return (status, msg).into_response(),
    };
    let params = match variant {
        SignalVariant::DualPc => join_request::from_v0_query(&q),
        SignalVariant::SinglePc => match join_request::from_v1_query(&q) {
            Ok(p) => p,
            Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        },
    };
    if (!params.metadata.is_empty() || !params.attributes.is_empty())
        && !grant
            .claims
            .video
            .as_ref()
            .is_some_and(|v| v.can_update_own_metadata())
    {
        return (StatusCode::UNAUTHORIZED, "permissions denied").into_response();
    }
    let max = state.config.limit.signal_message_size_limit as usize;
    // tungstenite allocates its read buffer up front (128 KiB by default):
    // with thousands of participants that alone was ~128 MiB. Signaling
    // messages are small and larger ones are read in several chunks.
    let ws = ws
        .max_message_size(max)
        .read_buffer_size(SIGNAL_READ_BUFFER);
    if params.reconnect {
        return ws
            .on_upgrade(move |socket| resume_session(state, socket, grant, params))
            .into_response();
    }
    if let Err((status, msg)) = lobby::admit(&state, &grant) {
        return (status, msg).into_response();
    }
    ws.on_upgrade(move |socket| session(state, socket, grant, params))
}

/// A resume: the participant gets this socket, or (unknown here) is told
/// to rejoin.
async fn resume_session(
    state: AppState,
    socket: WebSocket,
    grant: crate::http::join_check::JoinGrant,
    params: ConnectParams,
) {
    match super::resume::resume(&state, &grant, &params) {
        Ok(joined) => run_session(state, socket, joined).await,
        Err(e) => {
            tracing::info!(error = %e, "resume refused: asking for a rejoin");
            refuse_resume(socket).await;
        }
    }
}

async fn refuse_resume(mut socket: WebSocket) {
    let leave = proto::SignalResponse {
        message: Some(Resp::Leave(proto::LeaveRequest {
            can_reconnect: true,
            reason: proto::DisconnectReason::StateMismatch as i32,
            action: proto::leave_request::Action::Reconnect as i32,
            regions: None,
        })),
    };
    let _ = socket
        .send(Message::Binary(leave.encode_to_vec().into()))
        .await;
    let _ = socket.send(Message::Close(None)).await;
}

/// Decodes a client frame: binary protobuf, or protojson in a text frame.
fn decode_request(msg: &Message) -> Option<Result<proto::SignalRequest, String>> {
    match msg {
        Message::Binary(b) => {
            Some(proto::SignalRequest::decode(b.as_ref()).map_err(|e| e.to_string()))
        }
        Message::Text(t) => Some(serde_json::from_str(t.as_str()).map_err(|e| e.to_string())),
        _ => None,
    }
}

async fn session(
    state: AppState,
    mut socket: WebSocket,
    grant: crate::http::join_check::JoinGrant,
    params: ConnectParams,
) {
    let joined = match lobby::join(&state, &grant, params) {
        Ok(j) => j,
        Err(e) => {
            tracing::warn!(error = %e, "join failed after upgrade");
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    };
    run_session(state, socket, joined).await;
}

/// Moves frames between the socket and the participant until either ends.
async fn run_session(state: AppState, mut socket: WebSocket, joined: Joined) {
    let Joined {
        room,
        sid,
        mut outbox_rx,
        generation,
    } = joined;
    let codecs = lobby::enabled_codecs(&state);
    let mut left_by_client = false;
    loop {
        tokio::select! {
            out = outbox_rx.recv() => match out {
                Some(crate::participant::Outgoing::Signal(resp)) => {
                    if socket.send(Message::Binary(resp.encode_to_vec().into())).await.is_err() {
                        break;
                    }
                }
                Some(crate::participant::Outgoing::Close) | None => {
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            },
            incoming = tokio::time::timeout(SILENCE_LIMIT, socket.recv()) => {
                let msg = match incoming {
                    Err(_) => { tracing::info!(%room, participant = %sid, "signal timed out"); break; }
                    Ok(None) | Ok(Some(Err(_))) => break,
                    Ok(Some(Ok(Message::Close(_)))) => break,
                    Ok(Some(Ok(m))) => m,
                };
                let Some(decoded) = decode_request(&msg) else { continue };
                let req = match decoded {
                    Ok(r) => r,
                    Err(e) => {
                        state.counters.bad_signal_messages.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tracing::debug!(participant = %sid, error = %e, "malformed signal message dropped");
                        continue;
                    }
                };
                let next = lobby::with_room(&state, &room, |set| {
                    dispatch::handle_request(set, &state.media, &codecs, &sid, req)
                }).unwrap_or(Next::Leave);
                lobby::flush_track_changes(&state, &room, &sid);
                if next == Next::Leave {
                    left_by_client = true;
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            }
        }
    }
    let shutting_down = state
        .counters
        .shutting_down
        .load(std::sync::atomic::Ordering::Relaxed);
    if left_by_client || shutting_down {
        let reason = if left_by_client {
            proto::DisconnectReason::ClientInitiated
        } else {
            proto::DisconnectReason::SignalClose
        };
        lobby::leave_when(&state, &room, &sid, reason, |p| {
            p.signal_generation == generation
        });
    } else {
        // No Leave: the client will try to resume.
        super::resume::detach(&state, &room, &sid, generation, std::time::Instant::now());
    }
}
