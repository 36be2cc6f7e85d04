//! Starting the server: shared state, HTTP listeners, shutdown.

use std::sync::Arc;

use crate::auth::KeyProvider;
use crate::config::Config;
use crate::media::{LocalMediaParams, MediaControl, NullSink};
use crate::participant::LiveRooms;
use crate::rooms::RoomRegistry;
use std::sync::atomic::AtomicU64;

/// Everything a request handler may need. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub keys: Arc<KeyProvider>,
    pub rooms: Arc<RoomRegistry>,
    /// Who is connected in each room.
    pub live: Arc<LiveRooms>,
    /// Transports and the link to the dataplane.
    pub media: Arc<MediaControl>,
    pub counters: Arc<Counters>,
    /// This node's id (`ND_...`), reported in ServerInfo.
    pub node_id: String,
}

/// Control-plane counters (rejected input and the like).
#[derive(Debug, Default)]
pub struct Counters {
    /// Signaling frames that did not decode.
    pub bad_signal_messages: AtomicU64,
}

impl AppState {
    /// State with no dataplane attached (commands are dropped): for tests and
    /// for the HTTP-only parts.
    pub fn new(config: Config) -> Self {
        let params = LocalMediaParams {
            fingerprint: [0; 32],
            ips: Vec::new(),
            port: 0,
        };
        Self::with_media(config, MediaControl::new(Box::new(NullSink), params))
    }

    pub fn with_media(config: Config, media: MediaControl) -> Self {
        let keys = Arc::new(KeyProvider::new(config.keys.clone()));
        let rooms = Arc::new(RoomRegistry::new(&config));
        Self {
            config: Arc::new(config),
            keys,
            rooms,
            live: Arc::new(LiveRooms::default()),
            media: Arc::new(media),
            counters: Arc::new(Counters::default()),
            node_id: crate::ids::guid("ND_"),
        }
    }
}

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("no address to listen on")]
    NoListeners,
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// The addresses the HTTP server listens on: `bind_addresses` x `port`,
/// or every interface when none are given.
pub fn http_listen_addrs(config: &Config) -> Vec<String> {
    if config.bind_addresses.is_empty() {
        vec![format!("0.0.0.0:{}", config.port)]
    } else {
        config
            .bind_addresses
            .iter()
            .map(|a| {
                if a.contains(':') && !a.starts_with('[') {
                    format!("[{a}]:{}", config.port)
                } else {
                    format!("{a}:{}", config.port)
                }
            })
            .collect()
    }
}

/// Runs the server until SIGINT/SIGTERM.
pub async fn run(config: Config) -> Result<(), ServerError> {
    let state = AppState::new(config);
    let app = crate::http::router(state.clone());
    let addrs = http_listen_addrs(&state.config);
    let mut tasks = Vec::new();
    for addr in &addrs {
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) if addr.starts_with('[') && addrs.len() > 1 => {
                // ::1 may be missing (IPv6 disabled); the other addresses serve.
                tracing::warn!(%addr, error = %e, "skipping listen address");
                continue;
            }
            Err(source) => {
                return Err(ServerError::Bind {
                    addr: addr.clone(),
                    source,
                })
            }
        };
        tracing::info!(%addr, "listening for HTTP/WebSocket");
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown_signal())
                .await
        }));
    }
    if tasks.is_empty() {
        return Err(ServerError::NoListeners);
    }
    for t in tasks {
        match t.await {
            Ok(r) => r?,
            Err(e) => tracing::error!(error = %e, "listener task failed"),
        }
    }
    tracing::info!("server stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received");
}
