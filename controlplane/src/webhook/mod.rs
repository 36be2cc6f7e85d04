//! LiveKit webhooks: room and participant events POSTed to the URLs in
//! `webhook.urls`, signed so the official `WebhookReceiver`s accept them
//! (LIVEKIT_PROTOCOL.md section 9).
//!
//! - `events.rs` builds the `WebhookEvent`s (names, ids, timestamps);
//! - `sign.rs` makes the body and the `Authorization` JWT with its `sha256` claim;
//! - `queue.rs` is the bounded hand-off from callers and the delivery counters;
//! - `retry.rs` is the retry rule (which outcomes retry, the backoff);
//! - `http_post.rs` is a minimal HTTP/1.1 client (`http://` and `https://`);
//! - `tls.rs` is its TLS client for `https://`: rustls, system roots plus
//!   `SSL_CERT_FILE`;
//! - `notifier.rs` ties them together: `Notifier::notify` never blocks, one
//!   task per URL delivers in order;
//! - `hooks.rs` are the one-line calls the signaling code makes.
//!
//! Which events fire when:
//! - `room_started`: a room is created (CreateRoom or the first join), from
//!   the room registry;
//! - `room_finished`: DeleteRoom or the empty/departure-timeout sweep;
//! - `participant_joined`: the participant became ACTIVE (its primary
//!   PeerConnection connected), as LiveKit does;
//! - `participant_left`: a participant that had been ACTIVE left, was
//!   removed, evicted by a duplicate identity or its room deleted;
//! - `participant_connection_aborted`: the same for one that never became
//!   ACTIVE.

mod events;
mod hooks;
mod http_post;
mod notifier;
mod queue;
mod retry;
mod sign;
mod tls;

pub use events::*;
pub use hooks::*;
pub use http_post::{post, HttpUrl, PostError, PostRequest, Scheme};
pub use notifier::{Notifier, NotifierConfig};
pub use queue::{StatsSnapshot, WebhookStats};
pub use retry::{backoff, Outcome, RetryPolicy};
/// The DER certificate type of `NotifierConfig::extra_roots`.
pub use rustls::pki_types::CertificateDer;
pub use sign::{body_sha256, sign_body, SignedBody, WEBHOOK_CONTENT_TYPE, WEBHOOK_TOKEN_TTL};
pub use tls::{TlsSetupError, WebhookTls};
