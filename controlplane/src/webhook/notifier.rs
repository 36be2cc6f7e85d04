//! The webhook notifier: `notify` queues an event and returns at once; a
//! dispatcher task encodes and signs each event once and hands it to one
//! task per URL, which delivers in order with retries (LIVEKIT_PROTOCOL.md 9.6).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use livekit_protocol as proto;
use rustls::pki_types::CertificateDer;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::events::{
    self, PARTICIPANT_CONNECTION_ABORTED, PARTICIPANT_JOINED, PARTICIPANT_LEFT, ROOM_STARTED,
};
use super::http_post::{self, HttpUrl, PostRequest, Scheme};
use super::queue::{BoundedQueue, StatsSnapshot, WebhookStats};
use super::retry::{backoff, Outcome, RetryPolicy};
use super::sign::{sign_body, SignedBody, WEBHOOK_CONTENT_TYPE};
use super::tls::WebhookTls;
use crate::config::Config;

/// Where and how to deliver.
#[derive(Debug, Clone)]
pub struct NotifierConfig {
    /// The webhook API key (`iss` of the token) and its secret.
    pub api_key: String,
    pub secret: String,
    /// Receivers; each gets every event.
    pub urls: Vec<String>,
    /// Events waiting for the dispatcher, and per URL (LiveKit: 200).
    pub queue_capacity: usize,
    /// Older events are dropped instead of sent (LiveKit: 30 s).
    pub max_age: Duration,
    pub retry: RetryPolicy,
    /// One attempt's limit: connect, TLS handshake, send, and read the
    /// status line.
    pub request_timeout: Duration,
    /// Roots trusted for `https://` receivers besides the system store and
    /// `SSL_CERT_FILE`: a private CA or a self-signed receiver given in code.
    pub extra_roots: Vec<CertificateDer<'static>>,
}

impl NotifierConfig {
    /// Settings with LiveKit's defaults for `urls`, signed with `api_key`.
    pub fn new(api_key: &str, secret: &str, urls: Vec<String>) -> Self {
        Self {
            api_key: api_key.to_string(),
            secret: secret.to_string(),
            urls,
            queue_capacity: 200,
            max_age: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(10),
            extra_roots: Vec::new(),
        }
    }

    /// The settings from `webhook:`; `None` (webhooks off) when there are no
    /// URLs or the API key has no secret in `keys` (logged).
    pub fn from_config(config: &Config) -> Option<Self> {
        let w = &config.webhook;
        if w.urls.is_empty() {
            return None;
        }
        let Some(secret) = config.keys.get(&w.api_key) else {
            tracing::error!(api_key = %w.api_key, "webhook.api_key is not in keys; webhooks disabled");
            return None;
        };
        Some(Self::new(&w.api_key, secret, w.urls.clone()))
    }
}

/// One event waiting for the dispatcher.
struct Pending {
    event: proto::WebhookEvent,
    at: Instant,
}

/// One signed event waiting for a URL's worker.
struct Signed {
    body: Arc<SignedBody>,
    at: Instant,
}

/// The queue and the not-yet-started delivery side.
struct Enabled {
    cfg: Arc<NotifierConfig>,
    queue: BoundedQueue<Pending>,
    /// Taken when the dispatcher starts (inside a tokio runtime).
    rx: Mutex<Option<mpsc::Receiver<Pending>>>,
    started: AtomicBool,
}

/// Sends webhook events. Cheap to share (`Arc`); a disabled notifier
/// ignores everything.
pub struct Notifier {
    enabled: Option<Enabled>,
    stats: Arc<WebhookStats>,
    /// Sids of participants whose `participant_joined` was sent, so their
    /// departure is `participant_left` and not `..._connection_aborted`.
    joined: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("urls", &self.enabled.as_ref().map(|e| &e.cfg.urls))
            .field("stats", &self.stats.snapshot())
            .finish()
    }
}

impl Notifier {
    /// A notifier that sends nothing.
    pub fn disabled() -> Self {
        Self {
            enabled: None,
            stats: Arc::default(),
            joined: Mutex::default(),
        }
    }

    /// A notifier for `cfg`. Delivery starts with the first event sent
    /// inside a tokio runtime (the server state may be built before one runs).
    pub fn new(cfg: NotifierConfig) -> Self {
        let stats = Arc::new(WebhookStats::default());
        let (queue, rx) = BoundedQueue::new(cfg.queue_capacity, stats.clone());
        Self {
            enabled: Some(Enabled {
                cfg: Arc::new(cfg),
                queue,
                rx: Mutex::new(Some(rx)),
                started: AtomicBool::new(false),
            }),
            stats,
            joined: Mutex::default(),
        }
    }

    /// From the server config: disabled unless `webhook.urls` is set and
    /// `webhook.api_key` has a secret.
    pub fn from_config(config: &Config) -> Self {
        match NotifierConfig::from_config(config) {
            Some(cfg) => {
                tracing::info!(urls = ?cfg.urls, api_key = %cfg.api_key, "webhooks enabled");
                Self::new(cfg)
            }
            None => Self::disabled(),
        }
    }

    /// Whether events are sent anywhere.
    pub fn is_enabled(&self) -> bool {
        self.enabled.is_some()
    }

    /// The counters (queued, delivered, failed, dropped).
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Queues `event` for every URL and returns at once. An empty `id` or
    /// zero `created_at` is filled in. When the queue is full the event is
    /// dropped and counted.
    pub fn notify(&self, mut event: proto::WebhookEvent) {
        let Some(en) = &self.enabled else { return };
        if event.id.is_empty() {
            event.id = events::event_id();
        }
        if event.created_at == 0 {
            event.created_at = i64::try_from(crate::auth::unix_now()).unwrap_or(i64::MAX);
        }
        tracing::debug!(event = %event.event, id = %event.id, "webhook queued");
        if en.queue.push(Pending {
            event,
            at: Instant::now(),
        }) {
            self.stats.queued.fetch_add(1, Ordering::Relaxed);
        } else {
            tracing::warn!("webhook queue full; event dropped");
        }
        self.start(en);
    }

    /// `room_started` for `room`.
    pub fn room_started(&self, room: &proto::Room) {
        if self.is_enabled() {
            self.notify(events::event(ROOM_STARTED, Some(room.clone()), None));
        }
    }

    /// `room_finished` for `room`.
    pub fn room_finished(&self, room: &proto::Room, reason: proto::RoomEndReason) {
        if self.is_enabled() {
            self.notify(events::room_finished_event(room.clone(), reason));
        }
    }

    /// `participant_joined`: the participant became ACTIVE.
    pub fn participant_joined(&self, room: proto::Room, participant: proto::ParticipantInfo) {
        if !self.is_enabled() {
            return;
        }
        self.joined_set().insert(participant.sid.clone());
        self.notify(events::event(
            PARTICIPANT_JOINED,
            Some(room),
            Some(participant),
        ));
    }

    /// The participant is gone: `participant_left` if it had joined (was
    /// ACTIVE), else `participant_connection_aborted`.
    pub fn participant_left(&self, room: proto::Room, participant: proto::ParticipantInfo) {
        if !self.is_enabled() {
            return;
        }
        let was_active = self.joined_set().remove(&participant.sid);
        let name = if was_active {
            PARTICIPANT_LEFT
        } else {
            PARTICIPANT_CONNECTION_ABORTED
        };
        self.notify(events::event(name, Some(room), Some(participant)));
    }

    fn joined_set(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A plain set: data left by a panicking holder is still usable.
        self.joined.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Spawns the dispatcher once, if a tokio runtime is running.
    fn start(&self, en: &Enabled) {
        if en.started.load(Ordering::Acquire) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let rx = en.rx.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(rx) = rx else { return };
        en.started.store(true, Ordering::Release);
        handle.spawn(dispatch(rx, en.cfg.clone(), self.stats.clone()));
    }
}

/// Encodes and signs each event once, then hands it to every URL's worker.
async fn dispatch(
    mut rx: mpsc::Receiver<Pending>,
    cfg: Arc<NotifierConfig>,
    stats: Arc<WebhookStats>,
) {
    let mut urls = Vec::new();
    for raw in &cfg.urls {
        match HttpUrl::parse(raw) {
            Ok(url) => urls.push((url, raw.clone())),
            Err(e) => tracing::error!(url = %raw, error = %e, "webhook URL skipped"),
        }
    }
    let tls = if urls.iter().any(|(u, _)| u.scheme == Scheme::Https) {
        tls_client(&cfg).await
    } else {
        None
    };
    let mut workers = Vec::new();
    for (url, raw) in urls {
        let (q, wrx) = BoundedQueue::new(cfg.queue_capacity, stats.clone());
        tokio::spawn(deliver_to(
            url,
            raw,
            tls.clone(),
            wrx,
            cfg.clone(),
            stats.clone(),
        ));
        workers.push(q);
    }
    while let Some(p) = rx.recv().await {
        let body = match sign_body(&cfg.api_key, &cfg.secret, &p.event) {
            Ok(b) => Arc::new(b),
            Err(e) => {
                tracing::error!(event = %p.event.event, error = %e, "webhook not signed");
                stats.add_failed();
                continue;
            }
        };
        for w in &workers {
            let item = Signed {
                body: body.clone(),
                at: p.at,
            };
            if !w.push(item) {
                tracing::warn!(event = %p.event.event, "webhook URL queue full; dropped");
            }
        }
    }
}

/// The TLS client for `https://` URLs, built once: reading the system
/// store is blocking file I/O, so it runs off the async threads. `None`
/// (logged) if it cannot be built; `https://` deliveries then fail and count.
async fn tls_client(cfg: &NotifierConfig) -> Option<WebhookTls> {
    let extra = cfg.extra_roots.clone();
    match tokio::task::spawn_blocking(move || WebhookTls::new(&extra)).await {
        Ok(Ok(tls)) => {
            tracing::info!(roots = tls.root_count(), "webhook TLS client ready");
            Some(tls)
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "webhook TLS unavailable; https:// deliveries will fail");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "webhook TLS setup panicked; https:// deliveries will fail");
            None
        }
    }
}

/// Delivers the events of one URL, one at a time and in order.
async fn deliver_to(
    url: HttpUrl,
    raw: String,
    tls: Option<WebhookTls>,
    mut rx: mpsc::Receiver<Signed>,
    cfg: Arc<NotifierConfig>,
    stats: Arc<WebhookStats>,
) {
    while let Some(item) = rx.recv().await {
        deliver_one(&url, &raw, tls.as_ref(), &item, &cfg, &stats).await;
    }
}

async fn deliver_one(
    url: &HttpUrl,
    raw: &str,
    tls: Option<&WebhookTls>,
    item: &Signed,
    cfg: &NotifierConfig,
    stats: &WebhookStats,
) {
    let headers = [
        ("Content-Type", WEBHOOK_CONTENT_TYPE),
        ("Authorization", item.body.authorization.as_str()),
        ("User-Agent", "LiveKit"),
    ];
    let req = PostRequest {
        url,
        headers: &headers,
        body: &item.body.body,
    };
    let mut retry = 0;
    loop {
        if item.at.elapsed() > cfg.max_age {
            tracing::warn!(url = %raw, "webhook older than max age; dropped");
            stats.add_dropped();
            return;
        }
        // The error goes into the final log line too: a TLS certificate
        // problem would otherwise be visible at debug level only.
        let (outcome, error) = match http_post::post(&req, cfg.request_timeout, tls).await {
            Ok(status) => (Outcome::Status(status), None),
            Err(e) => {
                tracing::debug!(url = %raw, error = %e, "webhook attempt failed");
                (Outcome::ConnectionError, Some(e.to_string()))
            }
        };
        if outcome.delivered() {
            stats.add_delivered();
            return;
        }
        if !outcome.retryable() || retry >= cfg.retry.max_retries {
            tracing::warn!(
                url = %raw,
                ?outcome,
                retries = retry,
                error = error.as_deref().unwrap_or(""),
                "webhook delivery failed"
            );
            stats.add_failed();
            return;
        }
        tokio::time::sleep(backoff(&cfg.retry, retry)).await;
        retry += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(capacity: usize) -> NotifierConfig {
        NotifierConfig {
            queue_capacity: capacity,
            ..NotifierConfig::new("k", "s", vec!["http://127.0.0.1:9/".into()])
        }
    }

    #[test]
    fn notify_outside_a_runtime_queues_until_full_then_drops_and_counts() {
        let n = Notifier::new(cfg(3));
        for _ in 0..5 {
            n.room_started(&proto::Room::default());
        }
        let s = n.stats();
        assert_eq!(s.queued, 3);
        assert_eq!(s.dropped, 2);
    }

    #[test]
    fn disabled_notifier_counts_nothing() {
        let n = Notifier::disabled();
        n.room_started(&proto::Room::default());
        assert_eq!(n.stats(), StatsSnapshot::default());
    }

    #[test]
    fn config_without_secret_for_key_disables() {
        let mut c = Config::default();
        c.webhook.urls = vec!["http://127.0.0.1:1/".into()];
        c.webhook.api_key = "nokey".into();
        assert!(NotifierConfig::from_config(&c).is_none());
        c.keys.insert("nokey".into(), "sec".into());
        let n = NotifierConfig::from_config(&c).unwrap();
        assert_eq!(n.secret, "sec");
    }

    #[test]
    fn leave_without_active_is_connection_aborted() {
        let n = Notifier::new(cfg(10));
        let p = proto::ParticipantInfo {
            sid: "PA_1".into(),
            ..Default::default()
        };
        n.participant_joined(proto::Room::default(), p.clone());
        n.participant_left(proto::Room::default(), p.clone());
        n.participant_left(proto::Room::default(), p);
        let en = n.enabled.as_ref().unwrap();
        let mut rx = en.rx.lock().unwrap().take().unwrap();
        let names: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|p| p.event.event)
            .collect();
        assert_eq!(
            names,
            [
                PARTICIPANT_JOINED,
                PARTICIPANT_LEFT,
                PARTICIPANT_CONNECTION_ABORTED
            ]
        );
    }
}
