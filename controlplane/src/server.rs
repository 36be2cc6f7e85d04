//! Starting the server: shared state, HTTP listeners, shutdown.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ringcast_shared::config::{DataplaneConfig, DriverKind};
use ringcast_shared::records::Event;
use ringcast_shared::ring::{Consumer, ShmBacking, ShmRegion};

use crate::auth::KeyProvider;
use crate::config::Config;
use crate::media::{LocalMediaParams, MediaControl, NullSink, RingCommandSink};
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
    /// Room and participant events to `webhook.urls`.
    pub webhooks: Arc<crate::webhook::Notifier>,
    /// Data-channel forwarding: the data-out rings and their counters.
    pub data: Arc<crate::data::DataLink>,
    /// Active-speaker detection per room.
    pub speakers: Arc<crate::speakers::Speakers>,
    /// Loss and jitter per participant, for ConnectionQualityUpdate.
    pub quality: Arc<crate::quality::ConnectionQualities>,
}

/// Control-plane counters (rejected input and the like).
#[derive(Debug, Default)]
pub struct Counters {
    /// Signaling frames that did not decode.
    pub bad_signal_messages: AtomicU64,
    /// Set once a shutdown signal arrived: new joins are refused.
    pub shutting_down: std::sync::atomic::AtomicBool,
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
        let webhooks = Arc::new(crate::webhook::Notifier::from_config(&config));
        rooms.set_webhooks(webhooks.clone());
        Self {
            config: Arc::new(config),
            keys,
            rooms,
            live: Arc::new(LiveRooms::default()),
            media: Arc::new(media),
            counters: Arc::new(Counters::default()),
            node_id: crate::ids::guid("ND_"),
            webhooks,
            data: Arc::new(crate::data::DataLink::default()),
            speakers: Arc::new(crate::speakers::Speakers::default()),
            quality: Arc::new(crate::quality::ConnectionQualities::default()),
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
    #[error("dataplane: {0}")]
    Dataplane(String),
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

/// Pending connections the kernel keeps per HTTP listener while nobody
/// accepts (a control-plane restart behind a `ringcast dataplane` process):
/// enough for every client of a large room resuming at once.
const LISTEN_BACKLOG: i32 = 4096;

/// Binds the HTTP/WebSocket listeners of [`http_listen_addrs`]. A `[::1]`
/// that cannot be bound (IPv6 disabled) is skipped when other addresses
/// serve. Used by the server and by the `ringcast dataplane` process, which
/// holds them across control-plane restarts.
pub fn bind_http_listeners(config: &Config) -> Result<Vec<std::net::TcpListener>, ServerError> {
    let addrs = http_listen_addrs(config);
    let mut out = Vec::with_capacity(addrs.len());
    for addr in &addrs {
        match std::net::TcpListener::bind(addr) {
            Ok(l) => {
                // SAFETY: listen(2) again on a socket we own that already
                // listens: Linux only raises its backlog.
                unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&l), LISTEN_BACKLOG) };
                out.push(l);
            }
            Err(e) if addr.starts_with('[') && addrs.len() > 1 => {
                tracing::warn!(%addr, error = %e, "skipping listen address");
            }
            Err(source) => {
                return Err(ServerError::Bind {
                    addr: addr.clone(),
                    source,
                })
            }
        }
    }
    if out.is_empty() {
        return Err(ServerError::NoListeners);
    }
    Ok(out)
}

/// Starts the dataplane on a region and returns a guard that keeps it
/// running. The `ringcast` binary installs one (the in-process dataplane);
/// the control-plane library itself never links the dataplane.
pub type DataplaneStarter =
    fn(&DataplaneConfig, &ShmRegion) -> Result<Box<dyn std::any::Any + Send>, String>;

static DATAPLANE_STARTER: OnceLock<DataplaneStarter> = OnceLock::new();

/// Installs the function `run` uses to start the in-process dataplane.
pub fn install_dataplane(starter: DataplaneStarter) {
    let _ = DATAPLANE_STARTER.set(starter);
}

/// The installed dataplane starter (`ringcast dataplane` uses it too).
pub fn dataplane_starter() -> Option<DataplaneStarter> {
    DATAPLANE_STARTER.get().copied()
}

/// The dataplane settings that follow from the server config.
pub fn dataplane_config(config: &Config) -> DataplaneConfig {
    let mut dp = DataplaneConfig {
        udp_port: config.udp_port(),
        ..DataplaneConfig::default()
    };
    if config.dataplane.workers > 0 {
        dp.workers = usize::from(config.dataplane.workers);
    }
    let ips = crate::media::bind_ips(config);
    if !ips.is_empty() {
        dp.bind_addrs = ips;
    }
    if let Ok(kind) = config.dataplane.driver.parse::<DriverKind>() {
        dp.driver = kind;
    }
    dp
}

/// How long shutdown waits for queued webhooks.
const WEBHOOK_FLUSH: Duration = Duration::from_secs(2);

/// How long connections may take to close after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// How long the control plane waits for the dataplane to publish its info.
const DATAPLANE_READY: Duration = Duration::from_secs(10);

/// The link to a running dataplane.
struct MediaStart {
    media: MediaControl,
    events: Vec<Consumer<Event>>,
    /// Keeps an in-process dataplane running (nothing when attached).
    _guard: Box<dyn std::any::Any + Send>,
    region: ShmRegion,
    /// Listening sockets a `ringcast dataplane` process holds for us.
    listeners: Vec<std::net::TcpListener>,
    /// Attached to a separate dataplane process (restartable).
    attached: bool,
}

/// Waits for the dataplane to publish its info in `region`.
async fn wait_ready(
    region: &ShmRegion,
) -> Result<ringcast_shared::ring::DataplaneInfo, ServerError> {
    let deadline = tokio::time::Instant::now() + DATAPLANE_READY;
    loop {
        if let Some(info) = region.info() {
            return Ok(info);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(ServerError::Dataplane("dataplane did not start".into()));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Attaches to the region of a `ringcast dataplane` process at `path`
/// (waiting for it to appear), takes the control side over from a control
/// plane that died, and fetches the listeners it holds.
async fn attach_region(path: &std::path::Path) -> Result<ShmRegion, ServerError> {
    let deadline = tokio::time::Instant::now() + DATAPLANE_READY;
    loop {
        match ShmRegion::attach(path) {
            Ok(r) => return Ok(r),
            Err(e) if tokio::time::Instant::now() > deadline => {
                return Err(ServerError::Dataplane(format!(
                    "cannot attach to {}: {e}",
                    path.display()
                )))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Starts the in-process dataplane, or attaches to a dataplane process
/// (`dataplane.shm_path`); `None` when no dataplane is installed (library
/// tests).
async fn start_media(config: &Config) -> Result<Option<MediaStart>, ServerError> {
    let shm_path = config.dataplane.shm_path.trim();
    let (region, guard, listeners, attached): (_, Box<dyn std::any::Any + Send>, _, _) = if shm_path
        .is_empty()
    {
        let Some(starter) = DATAPLANE_STARTER.get() else {
            return Ok(None);
        };
        let dp = dataplane_config(config);
        let region = ShmRegion::create(
            &ShmBacking::Memfd("ringcast".into()),
            dp.workers,
            dp.ring_capacity,
        )
        .map_err(|e| ServerError::Dataplane(e.to_string()))?;
        let guard = starter(&dp, &region).map_err(ServerError::Dataplane)?;
        (region, guard, Vec::new(), false)
    } else {
        let path = std::path::Path::new(shm_path);
        let region = attach_region(path).await?;
        region
            .claim_control()
            .map_err(|e| ServerError::Dataplane(e.to_string()))?;
        let sock = crate::handover::listeners::socket_path(path);
        let listeners = match crate::handover::listeners::fetch(&sock) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(socket = %sock.display(), error = %e, "no listeners from the dataplane process: binding our own");
                Vec::new()
            }
        };
        (region, Box::new(()), listeners, true)
    };
    let info = wait_ready(&region).await?;
    let (sink, events) =
        RingCommandSink::attach(&region).map_err(|e| ServerError::Dataplane(e.to_string()))?;
    let params = LocalMediaParams {
        fingerprint: info.fingerprint_sha256,
        ips: crate::media::candidate_ips(config),
        port: info.udp_port,
    };
    tracing::info!(workers = region.workers(), udp_port = info.udp_port, candidates = ?params.ips, attached, dataplane_pid = info.pid, "dataplane ready");
    Ok(Some(MediaStart {
        media: MediaControl::new(Box::new(sink), params),
        events,
        _guard: guard,
        region,
        listeners,
        attached,
    }))
}

/// Runs the server until SIGINT/SIGTERM.
pub async fn run(config: Config) -> Result<(), ServerError> {
    let media = start_media(&config).await?;
    let mut handed_listeners = Vec::new();
    let mut attached_region = None;
    let (state, _dataplane_guard, region) = match media {
        Some(MediaStart {
            media,
            events,
            _guard: guard,
            region,
            listeners,
            attached,
        }) => {
            let state = AppState::with_media(config, media);
            handed_listeners = listeners;
            if attached {
                take_back_state(&state, &region);
                tokio::spawn(crate::handover::snapshot::keep_published(
                    state.clone(),
                    region.clone(),
                ));
                attached_region = Some(region.clone());
            }
            let for_events = state.clone();
            tokio::spawn(crate::media::pump_events(events, move |ev| {
                for_events.data.note_event(&ev);
                crate::signal::transport_events::on_event(&for_events, ev)
            }));
            let (data_out, data_in) = crate::media::attach_data_rings(&region)
                .map_err(|e| ServerError::Dataplane(e.to_string()))?;
            state.data.attach(data_out);
            tokio::spawn(crate::data::pump(state.clone(), data_in));
            tokio::spawn(crate::speakers::run(state.clone()));
            tokio::spawn(crate::quality::run(state.clone()));
            tokio::spawn(crate::subscription::run_offer_timeouts(state.clone()));
            tokio::spawn(crate::signal::resume::run_expiry(state.clone()));
            (state, Some(guard), Some(region))
        }
        None => (AppState::new(config), None, None),
    };
    let app = crate::http::router(state.clone());
    // One signal for every listener: on SIGINT/SIGTERM, stop accepting,
    // tell every participant (Leave SERVER_SHUTDOWN), then let the sockets close.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let shutdown_state = state.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        if let Some(region) = attached_region {
            // A separate dataplane keeps serving: leave everyone connected
            // to it and hand the state to the next control plane. Their
            // signaling drops with this process and they resume there.
            let mut last = Vec::new();
            crate::handover::snapshot::publish_if_changed(&shutdown_state, &region, &mut last);
            region.release_control();
            tracing::info!("control plane stopped; the dataplane keeps forwarding");
            std::process::exit(0);
        }
        shutdown_state
            .counters
            .shutting_down
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let rooms = shutdown_state.rooms.list(&[]);
        tracing::info!(
            rooms = rooms.len(),
            "shutting down: disconnecting participants"
        );
        for room in rooms {
            crate::signal::lobby::close_room(
                &shutdown_state,
                &room.name,
                livekit_protocol::DisconnectReason::ServerShutdown,
            );
        }
        // Give queued webhooks (participant_left of everyone) a bounded
        // moment to go out before the listeners stop.
        let urls = shutdown_state.config.webhook.urls.len() as u64;
        let flush_until = tokio::time::Instant::now() + WEBHOOK_FLUSH;
        while shutdown_state.webhooks.is_enabled() && tokio::time::Instant::now() < flush_until {
            let st = shutdown_state.webhooks.stats();
            if st.delivered + st.failed >= st.queued * urls {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = stop_tx.send(true);
    });
    if let Some(port) = state.config.prometheus_port {
        let source = crate::metrics::MetricsSource {
            app: state.clone(),
            region,
        };
        crate::metrics::start(port, source, stop_rx.clone()).await?;
    }
    // Listeners a `ringcast dataplane` process holds for us, else our own.
    let (listeners, held) = if handed_listeners.is_empty() {
        (bind_http_listeners(&state.config)?, false)
    } else {
        (handed_listeners, true)
    };
    let mut tasks = Vec::new();
    for l in listeners {
        let addr = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let l = match l
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpListener::from_std(l))
        {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(%addr, error = %e, "listener unusable");
                continue;
            }
        };
        tracing::info!(%addr, held_by_dataplane = held, "listening for HTTP/WebSocket");
        let app = app.clone();
        let mut stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            axum::serve(l, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        }));
    }
    if tasks.is_empty() {
        return Err(ServerError::NoListeners);
    }
    let all = async {
        for t in tasks {
            match t.await {
                Ok(r) => r?,
                Err(e) => tracing::error!(error = %e, "listener task failed"),
            }
        }
        Ok::<(), ServerError>(())
    };
    tokio::pin!(all);
    let mut stopping = stop_rx.clone();
    tokio::select! {
        r = &mut all => r?,
        _ = async {
            let _ = stopping.wait_for(|s| *s).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => tracing::warn!("connections still open after the grace period; exiting"),
    }
    tracing::info!("server stopped");
    Ok(())
}

/// Takes back what the previous control plane left in the region: its
/// rooms and participants (waiting for their resume) and its transports.
fn take_back_state(state: &AppState, region: &ShmRegion) {
    let Some(bytes) = region.control_state() else {
        tracing::info!("no control state in the region: starting empty");
        return;
    };
    match crate::handover::snapshot::restore(state, &bytes, std::time::Instant::now()) {
        Ok(r) => tracing::info!(
            rooms = r.rooms,
            participants = r.participants,
            transports = r.transports,
            "took back the previous control plane's state"
        ),
        Err(e) => tracing::warn!(error = %e, "control state not taken back"),
    }
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
