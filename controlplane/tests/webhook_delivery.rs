//! Webhook delivery against real local HTTP receivers: retries, ordering,
//! signing as the SDK receivers check it, and that `notify` never waits.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use livekit_protocol as proto;
use ringcast_controlplane::auth::KeyProvider;
use ringcast_controlplane::config::Config;
use ringcast_controlplane::server::AppState;
use ringcast_controlplane::webhook::{body_sha256, Notifier, NotifierConfig, RetryPolicy};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    headers: HeaderMap,
    body: Bytes,
}

/// A receiver answering with `script` in turn (then 200), recording requests.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<Vec<u16>>>,
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.seen.lock().unwrap().push(Seen { headers, body });
    let mut script = r.script.lock().unwrap();
    let code = if script.is_empty() {
        200
    } else {
        script.remove(0)
    };
    StatusCode::from_u16(code).unwrap()
}

impl Receiver {
    async fn start(script: Vec<u16>) -> (Self, String) {
        let r = Receiver {
            script: Arc::new(Mutex::new(script)),
            ..Default::default()
        };
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, url)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn events(&self) -> Vec<proto::WebhookEvent> {
        self.seen()
            .iter()
            .map(|s| serde_json::from_slice(&s.body).unwrap())
            .collect()
    }
}

fn fast(urls: Vec<String>) -> NotifierConfig {
    NotifierConfig {
        retry: RetryPolicy {
            max_retries: 4,
            base: Duration::from_millis(20),
            max: Duration::from_millis(200),
        },
        request_timeout: Duration::from_millis(500),
        ..NotifierConfig::new("webkey", "websecret", urls)
    }
}

fn room(name: &str) -> proto::Room {
    proto::Room {
        sid: "RM_test".into(),
        name: name.into(),
        ..Default::default()
    }
}

async fn wait_until(mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "condition not met in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn server_errors_are_retried_and_the_event_delivered_once() {
    let (rx, url) = Receiver::start(vec![500, 500]).await;
    let n = Notifier::new(fast(vec![url]));
    n.room_started(&room("a"));
    wait_until(|| n.stats().delivered == 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let seen = rx.seen();
    assert_eq!(seen.len(), 3, "two 500s then one 200");
    assert!(seen.windows(2).all(|w| w[0].body == w[1].body));
    let s = n.stats();
    assert_eq!((s.queued, s.delivered, s.failed, s.dropped), (1, 1, 0, 0));
}

#[tokio::test]
async fn delivery_is_signed_as_livekit_receivers_verify_it() {
    let (rx, url) = Receiver::start(vec![]).await;
    let n = Notifier::new(fast(vec![url]));
    n.room_started(&room("signed"));
    wait_until(|| n.stats().delivered == 1).await;
    let seen = rx.seen().remove(0);
    let h = |k: &str| seen.headers.get(k).unwrap().to_str().unwrap().to_string();
    assert_eq!(h("content-type"), "application/webhook+json");
    assert_eq!(h("user-agent"), "LiveKit");
    let auth = h("authorization");
    assert!(!auth.starts_with("Bearer"), "raw JWT, no Bearer prefix");
    let keys = KeyProvider::new([("webkey".to_string(), "websecret".to_string())].into());
    let claims = keys.verify(&auth).unwrap();
    assert_eq!(claims.iss, "webkey");
    assert_eq!(claims.sha256, body_sha256(&seen.body));
    let ev: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(ev["event"], "room_started");
    assert_eq!(ev["room"]["name"], "signed");
    assert!(ev["id"].as_str().unwrap().starts_with("EV_"));
    assert!(ev["createdAt"].is_string(), "int64 as a JSON string");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let (rx, url) = Receiver::start(vec![400]).await;
    let n = Notifier::new(fast(vec![url]));
    n.room_started(&room("a"));
    wait_until(|| n.stats().failed == 1).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(rx.seen().len(), 1);
    assert_eq!(n.stats().delivered, 0);
}

#[tokio::test]
async fn retries_stop_after_four() {
    let (rx, url) = Receiver::start(vec![503; 10]).await;
    let n = Notifier::new(fast(vec![url]));
    n.room_started(&room("a"));
    wait_until(|| n.stats().failed == 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.seen().len(), 5, "first attempt + 4 retries");
}

#[tokio::test]
async fn events_reach_each_url_in_order_despite_retries() {
    let (a, url_a) = Receiver::start(vec![500]).await;
    let (b, url_b) = Receiver::start(vec![]).await;
    let n = Notifier::new(fast(vec![url_a, url_b]));
    let names: Vec<String> = (0..5).map(|i| format!("r{i}")).collect();
    for name in &names {
        n.room_started(&room(name));
    }
    wait_until(|| n.stats().delivered == 10).await;
    for rx in [&a, &b] {
        let mut got: Vec<String> = rx
            .events()
            .into_iter()
            .map(|e| e.room.unwrap().name)
            .collect();
        got.dedup();
        assert_eq!(got, names);
    }
}

#[tokio::test]
async fn events_older_than_max_age_are_dropped() {
    let (rx, url) = Receiver::start(vec![500; 10]).await;
    let cfg = NotifierConfig {
        max_age: Duration::from_millis(50),
        retry: RetryPolicy {
            max_retries: 4,
            base: Duration::from_millis(100),
            max: Duration::from_millis(100),
        },
        ..fast(vec![url])
    };
    let n = Notifier::new(cfg);
    n.room_started(&room("old"));
    wait_until(|| n.stats().dropped == 1).await;
    assert_eq!(rx.seen().len(), 1);
    assert_eq!(n.stats().failed, 0);
}

#[tokio::test]
async fn silent_receiver_does_not_delay_notify() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let cfg = NotifierConfig {
        request_timeout: Duration::from_secs(30),
        ..fast(vec![url])
    };
    let n = Notifier::new(cfg);
    let start = Instant::now();
    for i in 0..300 {
        n.room_started(&room(&format!("r{i}")));
    }
    assert!(
        start.elapsed() < Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
    let s = n.stats();
    assert_eq!(s.queued + s.dropped, 300);
    assert!(s.dropped > 0, "the bounded queue overflowed and counted it");
}

#[tokio::test]
async fn unreachable_url_is_a_connection_error_and_retried() {
    // Bind then drop: nothing listens there any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let n = Notifier::new(fast(vec![format!("http://127.0.0.1:{port}/hook")]));
    let start = Instant::now();
    n.room_started(&room("a"));
    wait_until(|| n.stats().failed == 1).await;
    // 20 + 40 + 80 + 160 ms of backoff at least.
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn room_registry_sends_room_started_and_finished() {
    let (rx, url) = Receiver::start(vec![]).await;
    let mut config = Config::default();
    config.keys.insert("devkey".into(), "secret".into());
    config.webhook.api_key = "devkey".into();
    config.webhook.urls = vec![url];
    let state = AppState::new(config);
    assert!(state.webhooks.is_enabled());
    let (r, created) = state.rooms.create("lobby", Default::default());
    assert!(created);
    state.rooms.create("lobby", Default::default());
    state.rooms.delete("lobby");
    wait_until(|| state.webhooks.stats().delivered == 2).await;
    let events = rx.events();
    assert_eq!(events[0].event, "room_started");
    assert_eq!(events[0].room.as_ref().unwrap().sid, r.sid);
    assert_eq!(events[1].event, "room_finished");
    assert_eq!(
        events[1].room_end_reason,
        proto::RoomEndReason::RoomEndApiDelete as i32
    );
    let keys = KeyProvider::new([("devkey".to_string(), "secret".to_string())].into());
    let seen = rx.seen();
    let auth = seen[1]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(
        keys.verify(auth).unwrap().sha256,
        body_sha256(&seen[1].body)
    );
}

#[test]
fn webhooks_are_off_without_urls_or_secret() {
    let mut config = Config::default();
    assert!(!Notifier::from_config(&config).is_enabled());
    config.webhook.urls = vec!["http://127.0.0.1:1/".into()];
    config.webhook.api_key = "missing".into();
    assert!(!Notifier::from_config(&config).is_enabled());
}
