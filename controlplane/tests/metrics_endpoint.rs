//! `GET /metrics` over a real shared region: what a worker writes into its
//! stats block shows up in the scrape, next to the control plane's state.

use axum::body::Body;
use axum::http::Request;
use ringcast_controlplane::config::Config;
use ringcast_controlplane::metrics::{router, MetricsSource, CONTENT_TYPE};
use ringcast_controlplane::rooms::CreateOptions;
use ringcast_controlplane::server::AppState;
use ringcast_shared::records::Command;
use ringcast_shared::ring::{ShmBacking, ShmRegion};
use ringcast_shared::stats::WorkerStat;
use tower::ServiceExt;

async fn scrape(source: MetricsSource) -> (u16, String, String) {
    let resp = router(source)
        .oneshot(
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("router is infallible");
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, ctype, String::from_utf8_lossy(&body).into_owned())
}

fn value(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn scrape_reads_worker_blocks_and_ring_headers_from_the_region() {
    let region =
        ShmRegion::create(&ShmBacking::Memfd("metrics-endpoint".into()), 2, 4).expect("region");
    // What a worker does from its on_tick.
    let slot = region.worker_stats(1).expect("slot");
    slot.block().set(WorkerStat::PacketsIn, 21);
    slot.block().set(WorkerStat::LoopTurns, 300);
    slot.block().set(WorkerStat::StunRejected, 2);
    // The control plane's command ring to worker 0 overflows.
    let mut tx = region.command_producer(0).expect("producer");
    for _ in 0..5 {
        let _ = tx.try_push(Command::Shutdown);
    }

    let app = AppState::new(Config::default());
    app.rooms.create("a", CreateOptions::default());
    let source = MetricsSource {
        app,
        region: Some(region),
    };
    let (status, ctype, text) = scrape(source).await;
    assert_eq!(status, 200);
    assert_eq!(ctype, CONTENT_TYPE);
    assert_eq!(
        value(
            &text,
            r#"ringcast_worker_packets_total{worker="1",direction="incoming"}"#
        ),
        Some(21)
    );
    assert_eq!(
        value(&text, r#"ringcast_worker_loop_turns_total{worker="1"}"#),
        Some(300)
    );
    assert_eq!(
        value(&text, r#"ringcast_worker_loop_turns_total{worker="0"}"#),
        Some(0)
    );
    assert_eq!(
        value(
            &text,
            r#"ringcast_dropped_packets_total{reason="stun_rejected"}"#
        ),
        Some(2)
    );
    assert_eq!(
        value(&text, r#"ringcast_ring_full_total{ring="commands"}"#),
        Some(1)
    );
    assert_eq!(
        value(&text, r#"ringcast_ring_depth{ring="commands",worker="0"}"#),
        Some(4)
    );
    let rooms = text
        .lines()
        .find(|l| l.starts_with("livekit_room_total{"))
        .expect("room gauge");
    assert!(rooms.ends_with(" 1"), "{rooms}");
}

#[tokio::test]
async fn scrape_without_a_dataplane_still_reports_the_control_plane() {
    let app = AppState::new(Config::default());
    app.counters
        .bad_signal_messages
        .store(4, std::sync::atomic::Ordering::Relaxed);
    let (status, _, text) = scrape(MetricsSource { app, region: None }).await;
    assert_eq!(status, 200);
    assert_eq!(value(&text, "ringcast_signal_malformed_total"), Some(4));
}
