//! Prometheus metrics on `prometheus_port` (livekit-server's key): `GET
//! /metrics` in the text exposition format.
//!
//! Control-plane numbers (rooms, participants, malformed signaling) come
//! from [`AppState`]. Dataplane numbers cross the planes through the shared
//! region only: every worker copies its counters into its stats block
//! (`ringcast_shared::stats`) about every 100 ms, and the ring headers
//! already count depth and full refusals; a scrape reads both with relaxed
//! loads. The control plane never links the dataplane crate.
//!
//! `render.rs` turns a [`Snapshot`] into text; this file collects the
//! snapshot and serves it.

pub mod data;
pub mod render;

pub use render::{render, Snapshot, WorkerSample, CONTENT_TYPE};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use ringcast_shared::ring::ShmRegion;

use crate::server::{AppState, ServerError};

/// What the metrics handler reads.
#[derive(Clone)]
pub struct MetricsSource {
    pub app: AppState,
    /// The region shared with the dataplane; `None` without one.
    pub region: Option<ShmRegion>,
}

impl MetricsSource {
    /// Reads everything one scrape reports.
    pub fn collect(&self) -> Snapshot {
        let rooms = self.app.rooms.list(&[]);
        let participants = rooms.iter().map(|r| u64::from(r.num_participants)).sum();
        let workers = self.region.as_ref().map_or_else(Vec::new, |region| {
            (0..region.workers())
                .map(|w| {
                    // `w` is in range, so these cannot fail; a default
                    // sample keeps the worker's series continuous anyway.
                    let stats = region.read_worker_stats(w).unwrap_or_default();
                    let (commands, events) = region.ring_stats(w).unwrap_or_default();
                    WorkerSample {
                        stats,
                        commands,
                        events,
                    }
                })
                .collect()
        });
        let tracks_published = rooms
            .iter()
            .flat_map(|r| r.participants.values())
            .map(|p| p.info.tracks.len() as u64)
            .sum();
        let tracks_subscribed = self
            .app
            .live
            .names()
            .iter()
            .filter_map(|room| {
                self.app.live.read(room, |set| {
                    set.iter()
                        .flat_map(|p| p.subscriptions.subs.values())
                        .filter(|s| s.state == crate::subscription::SubState::Programmed)
                        .count() as u64
                })
            })
            .sum();
        let wh = self.app.webhooks.stats();
        Snapshot {
            tracks_published,
            tracks_subscribed,
            webhooks: (wh.queued, wh.delivered, wh.failed, wh.dropped),
            node_id: self.app.node_id.clone(),
            rooms: rooms.len() as u64,
            participants,
            signal_malformed: self
                .app
                .counters
                .bad_signal_messages
                .load(std::sync::atomic::Ordering::Relaxed),
            workers,
        }
    }
}

/// `GET /metrics`.
pub fn router(source: MetricsSource) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(source)
}

async fn scrape(State(source): State<MetricsSource>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], {
        let mut body = render(&source.collect());
        let rings: Vec<_> = source.region.as_ref().map_or_else(Vec::new, |r| {
            (0..r.workers())
                .map(|w| r.data_ring_stats(w).unwrap_or_default())
                .collect()
        });
        data::render_into(&mut body, &source.app.data.counters.snapshot(), &rings);
        body
    })
}

/// Binds `0.0.0.0:port` (as livekit-server does) and serves [`router`]
/// until `stop` turns true. Binding happens before this returns, so a port
/// in use is a start-up error.
pub async fn start(
    port: u16,
    source: MetricsSource,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, ServerError> {
    let addr = format!("0.0.0.0:{port}");
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: addr.clone(),
            source,
        })?;
    tracing::info!(%addr, "serving Prometheus metrics on /metrics");
    let app = router(source);
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "metrics server failed");
        }
    }))
}
